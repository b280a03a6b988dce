/* test_lua_dispatch.c — packets → dispatch → TCP assembler / UDP table → Lua parsers: protocol
 * choice by port and by detect(), unconsumed bytes kept across segments, out-of-order segments,
 * gaps raised in the reader, bodies skipped without Lua calls, UDP flows and their idle close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/decode.h"
#include "dispatch/dispatch.h"
#include "lua/ms_lua.h"
#include "helpers/pktbuild.h"

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)

typedef struct world {
    ms_lua *rt;
    ms_dispatch *d;
    ms_decode_ctx *ctx;
    FILE *out;
    char *buf;
    size_t len;
    uint64_t now;
    uint32_t cseq, sseq;   /* next sequence numbers of client and server */
    uint16_t cport, sport;
} world;

static uint32_t max_udp_flows_for_next_world; /* 0 = default */

static void w_open(world *w, const char *script, uint16_t sport)
{
    memset(w, 0, sizeof *w);
    w->out = open_memstream(&w->buf, &w->len);
    ms_lua_opts lo;
    ms_lua_opts_default(&lo);
    lo.format = MS_FMT_JSON;
    lo.out = w->out;
    lo.quiet_errors = true;
    ms_err err;
    w->rt = ms_lua_new(&lo, &err);
    assert_non_null(w->rt);
    if (ms_lua_load_string(w->rt, "t.lua", script, strlen(script), &err) != 0)
        fail_msg("load: %s", err.msg);
    ms_dispatch_opts dopts;
    ms_dispatch_opts_default(&dopts);
    if (max_udp_flows_for_next_world)
        dopts.max_udp_flows = max_udp_flows_for_next_world;
    max_udp_flows_for_next_world = 0;
    ms_parser parser = ms_lua_parser(w->rt);
    w->d = ms_dispatch_new(&parser, &dopts, &err);
    assert_non_null(w->d);
    ms_decode_opts dec;
    ms_decode_opts_default(&dec);
    w->ctx = ms_decode_ctx_new(&dec);
    assert_non_null(w->ctx);
    w->now = T0;
    w->cseq = 1000;
    w->sseq = 5000;
    w->cport = 40001;
    w->sport = sport;
}

static const char *w_finish(world *w)
{
    ms_dispatch_finish(w->d);
    ms_dispatch_free(w->d);
    w->d = NULL;
    ms_lua_free(w->rt);
    w->rt = NULL;
    fclose(w->out);
    w->out = NULL;
    ms_decode_ctx_free(w->ctx);
    return w->buf ? w->buf : "";
}

static void w_free(world *w)
{
    free(w->buf);
}

static void send_frame(world *w, pb *b)
{
    pb_finish(b);
    ms_frame f = pb_frame(b, 1);
    f.ts_ns = w->now;
    w->now += 1000000; /* 1 ms per packet */
    ms_packet pkt;
    ms_packet_start(&pkt, w->ctx, &f);
    ms_dispatch_packet(w->d, &pkt);
}

/* A TCP segment from the client (from_client) or the server with payload bytes at seq. */
static void tcp_at(world *w, bool from_client, uint32_t seq, uint8_t flags, const char *data, size_t n)
{
    static pb b;
    pb_init(&b);
    pb_eth(&b, 0x0800);
    if (from_client) {
        pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
        pb_tcp(&b, w->cport, w->sport, seq, w->sseq, flags);
    } else {
        pb_ipv4(&b, "10.0.0.2", "10.0.0.1", 6);
        pb_tcp(&b, w->sport, w->cport, seq, w->cseq, flags);
    }
    if (n)
        pb_bytes(&b, data, n);
    send_frame(w, &b);
}

static void handshake(world *w)
{
    tcp_at(w, true, w->cseq - 1, MS_TCP_SYN, NULL, 0);
    tcp_at(w, false, w->sseq - 1, MS_TCP_SYN | MS_TCP_ACK, NULL, 0);
    tcp_at(w, true, w->cseq, MS_TCP_ACK, NULL, 0);
}

/* In-order data in pieces of `step` bytes. */
static void send_data(world *w, bool from_client, const char *text, size_t step)
{
    size_t len = strlen(text);
    for (size_t i = 0; i < len; i += step) {
        size_t n = MS_MIN(step, len - i);
        uint32_t *seq = from_client ? &w->cseq : &w->sseq;
        tcp_at(w, from_client, *seq, MS_TCP_ACK | MS_TCP_PSH, text + i, n);
        *seq += (uint32_t)n;
    }
}

static void close_both(world *w)
{
    tcp_at(w, true, w->cseq, MS_TCP_FIN | MS_TCP_ACK, NULL, 0);
    w->cseq++;
    tcp_at(w, false, w->sseq, MS_TCP_FIN | MS_TCP_ACK, NULL, 0);
    w->sseq++;
}

static const char line_script[] =
    "local p = moonshark.protocol{ name = 'lines', tcp_ports = {7777},\n"
    "  detect = function(b, dir) return b:sub(1, 5) == 'HELLO' end }\n"
    "function p.client(r)\n"
    "  while true do\n"
    "    local ok, l = pcall(r.line, r, 100)\n"
    "    if not ok then\n"
    "      if moonshark.is_gap(l) then moonshark.emit('gaps', { uid = r.conn.uid, gap = l.bytes })\n"
    "      else error(l) end\n"
    "    else\n"
    "      if not l then return end\n"
    "      moonshark.emit('lines', { uid = r.conn.uid, line = l, resp_p = r.conn.id.resp_p })\n"
    "    end\n"
    "  end\n"
    "end\n"
    "function p.on_close(conn, reason) moonshark.emit('closes', { reason = reason }) end\n";

static void test_lines_split_across_segments_arrive_whole(void **state)
{
    (void)state;
    world w;
    w_open(&w, line_script, 7777);
    handshake(&w);
    send_data(&w, true, "HELLO one\r\ntwo\nthree is a longer line\r\n", 3);
    close_both(&w);
    const char *out = w_finish(&w);
    assert_non_null(strstr(out, "\"line\":\"HELLO one\""));
    assert_non_null(strstr(out, "\"line\":\"two\""));
    assert_non_null(strstr(out, "\"line\":\"three is a longer line\""));
    assert_non_null(strstr(out, "{\"reason\":\"fin\"}"));
    w_free(&w);
}

static void test_detect_finds_protocol_on_other_port(void **state)
{
    (void)state;
    world w;
    w_open(&w, line_script, 31337);
    handshake(&w);
    send_data(&w, true, "HELLO there\n", 100);
    close_both(&w);
    const char *out = w_finish(&w);
    assert_non_null(strstr(out, "\"line\":\"HELLO there\",\"resp_p\":31337"));
    w_free(&w);
}

static void test_unknown_protocol_is_not_delivered_to_lua(void **state)
{
    (void)state;
    world w;
    w_open(&w, line_script, 31337);
    handshake(&w);
    uint64_t calls0 = ms_lua_get_stats(w.rt)->calls;
    send_data(&w, true, "SOMETHING ELSE entirely\n", 100);
    send_data(&w, true, "more\n", 100);
    close_both(&w);
    /* detect ran once on the first bytes, then nothing */
    assert_int_equal(ms_lua_get_stats(w.rt)->calls - calls0, 1);
    assert_int_equal(ms_lua_get_stats(w.rt)->conns_unparsed, 1);
    const char *out = w_finish(&w);
    assert_string_equal(out, "");
    w_free(&w);
}

static void test_out_of_order_segments_are_parsed_in_order(void **state)
{
    (void)state;
    world w;
    w_open(&w, line_script, 7777);
    handshake(&w);
    /* "HELLO a\n" then "bb\n" sent in reverse order */
    tcp_at(&w, true, w.cseq + 8, MS_TCP_ACK, "bb\n", 3);
    tcp_at(&w, true, w.cseq, MS_TCP_ACK, "HELLO a\n", 8);
    w.cseq += 11;
    close_both(&w);
    const char *out = w_finish(&w);
    const char *a = strstr(out, "\"line\":\"HELLO a\"");
    const char *b = strstr(out, "\"line\":\"bb\"");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    w_free(&w);
}

static void test_tcp_hole_raises_gap_in_reader(void **state)
{
    (void)state;
    world w;
    w_open(&w, line_script, 7777);
    handshake(&w);
    send_data(&w, true, "HELLO x\npart", 100);
    w.cseq += 50; /* 50 bytes never captured */
    send_data(&w, true, "after\n", 100);
    close_both(&w); /* the FIN makes the assembler give up on the hole */
    const char *out = w_finish(&w);
    assert_non_null(strstr(out, "\"line\":\"HELLO x\""));
    assert_non_null(strstr(out, "\"gap\":50"));
    assert_non_null(strstr(out, "\"line\":\"after\""));
    assert_null(strstr(out, "part"));
    w_free(&w);
}

static void test_body_skip_makes_no_lua_calls_per_segment(void **state)
{
    (void)state;
    world w;
    w_open(&w,
           "local p = moonshark.protocol{ name = 'len', tcp_ports = {7777} }\n"
           "function p.client(r)\n"
           "  while true do\n"
           "    local l = r:line(100); if not l then return end\n"
           "    local n = r:skip(tonumber(l))\n"
           "    moonshark.emit('len', { n = n })\n"
           "  end\n"
           "end\n",
           7777);
    handshake(&w);
    send_data(&w, true, "100000\n", 100);
    uint64_t calls0 = ms_lua_get_stats(w.rt)->calls;
    static char body[1001];
    memset(body, 'z', 1000);
    for (int i = 0; i < 99; i++)
        send_data(&w, true, body, 1000);
    assert_int_equal(ms_lua_get_stats(w.rt)->calls - calls0, 0);
    char last[1100];
    memset(last, 'z', 1000);
    strcpy(last + 1000, "5\nabcde");
    send_data(&w, true, last, 2000);
    close_both(&w);
    const char *out = w_finish(&w);
    assert_string_equal(out, "{\"n\":100000}\n{\"n\":5}\n");
    w_free(&w);
}

/* A read larger than any segment gathers kept bytes and new ones across many packets (the
 * assembler's kept pages plus the fetch scratch copy) and sees them in order, once. */
static void test_large_read_gathers_bytes_across_segments(void **state)
{
    (void)state;
    world w;
    w_open(&w,
           "local p = moonshark.protocol{ name = 'blob', tcp_ports = {7777} }\n"
           "function p.client(r)\n"
           "  local b = r:read(5000)\n"
           "  local sum = 0\n"
           "  for i = 1, #b do sum = (sum * 31 + b:byte(i)) % 1000000007 end\n"
           "  moonshark.emit('blob', { len = #b, sum = sum, head = b:sub(1, 6), tail = b:sub(-6), rest = r:line(100) })\n"
           "end\n",
           7777);
    handshake(&w);
    static char blob[5000 + 8];
    long long sum = 0;
    for (int i = 0; i < 5000; i++) {
        blob[i] = (char)('a' + (i * 7) % 26);
        sum = (sum * 31 + (unsigned char)blob[i]) % 1000000007;
    }
    memcpy(blob + 5000, "after\n", 7);
    send_data(&w, true, blob, 97);
    close_both(&w);
    const char *out = w_finish(&w);
    char want[256];
    snprintf(want, sizeof want, "{\"head\":\"%.6s\",\"len\":5000,\"rest\":\"after\",\"sum\":%lld,\"tail\":\"%.6s\"}\n",
             blob, sum, blob + 4994);
    assert_string_equal(out, want);
    w_free(&w);
}

static void test_idle_tcp_connection_is_closed_on_tick(void **state)
{
    (void)state;
    world w;
    w_open(&w, line_script, 7777);
    handshake(&w);
    send_data(&w, true, "HELLO idle\n", 100);
    w.now += 301 * SEC;
    ms_dispatch_tick(w.d, w.now);
    const char *out = w_finish(&w);
    const char *line = strstr(out, "\"line\":\"HELLO idle\"");
    const char *idle = strstr(out, "{\"reason\":\"idle\"}");
    assert_non_null(line);
    assert_non_null(idle);
    assert_true(line < idle);
    w_free(&w);
}

static void udp_at(world *w, const char *src, const char *dst, uint16_t sp, uint16_t dp, const char *data, size_t n)
{
    static pb b;
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, src, dst, 17);
    pb_udp(&b, sp, dp);
    pb_bytes(&b, data, n);
    send_frame(w, &b);
}

static void test_udp_flows_reach_on_datagram_and_close_when_idle(void **state)
{
    (void)state;
    world w;
    w_open(&w,
           "local p = moonshark.protocol{ name = 'dns', udp_ports = {53} }\n"
           "function p.on_datagram(conn, dir, b)\n"
           "  moonshark.emit('dg', { dir = dir, len = #b, orig_p = conn.id.orig_p, resp_p = conn.id.resp_p })\n"
           "end\n"
           "function p.on_close(conn, reason) moonshark.emit('close', { reason = reason }) end\n",
           53);
    /* the response is seen first: the client is still the side on the non-protocol port */
    udp_at(&w, "10.0.0.53", "10.0.0.1", 53, 5000, "resp", 4);
    udp_at(&w, "10.0.0.1", "10.0.0.53", 5000, 53, "q", 1);
    w.now += 120 * SEC;
    ms_dispatch_tick(w.d, w.now);
    assert_int_equal(ms_dispatch_get_stats(w.d)->udp_flows_idle, 1);
    const char *out = w_finish(&w);
    assert_string_equal(out, "{\"dir\":1,\"len\":4,\"orig_p\":5000,\"resp_p\":53}\n"
                             "{\"dir\":0,\"len\":1,\"orig_p\":5000,\"resp_p\":53}\n"
                             "{\"reason\":\"idle\"}\n");
    w_free(&w);
}

static void test_udp_table_full_closes_the_least_recent_flow(void **state)
{
    (void)state;
    world w;
    max_udp_flows_for_next_world = 2;
    w_open(&w,
           "local p = moonshark.protocol{ name = 'dns', udp_ports = {53} }\n"
           "function p.on_datagram(conn, dir, b) end\n"
           "function p.on_close(conn, reason) moonshark.emit('close', { port = conn.id.orig_p, reason = reason }) end\n",
           53);
    udp_at(&w, "10.0.0.1", "10.0.0.53", 5001, 53, "a", 1);
    udp_at(&w, "10.0.0.1", "10.0.0.53", 5002, 53, "b", 1);
    udp_at(&w, "10.0.0.1", "10.0.0.53", 5001, 53, "a", 1); /* 5001 is now the most recent */
    udp_at(&w, "10.0.0.1", "10.0.0.53", 5003, 53, "c", 1); /* evicts 5002 */
    assert_int_equal(ms_dispatch_get_stats(w.d)->udp_flows_evicted, 1);
    assert_int_equal(ms_dispatch_get_stats(w.d)->udp_flows, 3);
    const char *out = w_finish(&w);
    assert_non_null(strstr(out, "{\"port\":5002,\"reason\":\"evicted\"}"));
    assert_non_null(strstr(out, "{\"port\":5001,\"reason\":\"flush\"}"));
    assert_non_null(strstr(out, "{\"port\":5003,\"reason\":\"flush\"}"));
    w_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_split_across_segments_arrive_whole),
        cmocka_unit_test(test_detect_finds_protocol_on_other_port),
        cmocka_unit_test(test_unknown_protocol_is_not_delivered_to_lua),
        cmocka_unit_test(test_out_of_order_segments_are_parsed_in_order),
        cmocka_unit_test(test_tcp_hole_raises_gap_in_reader),
        cmocka_unit_test(test_body_skip_makes_no_lua_calls_per_segment),
        cmocka_unit_test(test_large_read_gathers_bytes_across_segments),
        cmocka_unit_test(test_idle_tcp_connection_is_closed_on_tick),
        cmocka_unit_test(test_udp_flows_reach_on_datagram_and_close_when_idle),
        cmocka_unit_test(test_udp_table_full_closes_the_least_recent_flow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
