/* test_tcp_pcaps.c — the assembler fed from real captures in ../shared/pcaps through the pcap
 * source and the decoder (ms_tcp_assemble_packet): byte counts and first bytes against tcpflow's
 * reading of the same files, and the packet → key and hash path against ms_flow_key_of and
 * ms_tcp_key_hash (the key API's). Skips when the shared captures are absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode/decode.h"
#include "capture/source.h"
#include "tcp/tcp_internal.h" /* ms_tcp_table_find, ms_tcp_key_hash */

#define PCAPS "../shared/pcaps"

/* Connections whose client port is `port` (other than the first connection): counted, their
 * client bytes collected. */
typedef struct cap_watch {
    uint16_t port;
    int conns, completes;
    char client[128];
    size_t nclient;
    bool guessed;               /* client_guessed of the latest one */
} cap_watch;

typedef struct cap_run {
    char first[2][64];          /* first bytes of each direction of the first connection */
    size_t nfirst[2];
    uint64_t bytes[2];          /* of the first connection */
    int conns, completes;
    ms_tcp_conn *first_conn;
    ms_packet *pkt;             /* packet being assembled */
    ms_flow_key first_key;      /* ms_flow_key_of of each connection's first packet */
    int key_mismatches;
    int hash_mismatches;        /* connections the key API's hash (ms_tcp_assemble) would miss */
    ms_tcp_assembler *a;
    ms_tcp_close_reason reason;
    cap_watch watch;
    struct cap_ref { struct cap_run *r; bool watch; } ref_first, ref_watch; /* the streams given out */
} cap_run;

static void *cr_new(void *factory, ms_tcp_conn *conn, const ms_tcp_segment *first, int dir)
{
    cap_run *r = factory;
    ms_flow_key k;
    int d;
    assert_int_equal(ms_flow_key_of(r->pkt, &k, &d), 0);
    if (memcmp(&k, &ms_tcp_conn_get_info(conn)->key, sizeof k) != 0)
        r->key_mismatches++;
    /* ms_tcp_assemble_packet hashes the key it builds itself: ms_tcp_assemble must find the same
     * connection from ms_flow_key_of's key */
    if (ms_tcp_table_find(r->a, &k, ms_tcp_key_hash(r->a, &k)) != conn)
        r->hash_mismatches++;
    const ms_tcp_conn_info *in = ms_tcp_conn_get_info(conn);
    if (r->conns++ == 0) {
        r->first_conn = conn;
        return &r->ref_first;
    }
    if (r->watch.port && in->client.port == r->watch.port) {
        r->watch.conns++;
        r->watch.guessed = in->client_guessed;
        return &r->ref_watch;
    }
    return (void *)1; /* other connections: counted only */
}

static void cr_data(void *stream, ms_tcp_view *v)
{
    if (stream == (void *)1)
        return;
    const struct cap_ref *ref = stream;
    cap_run *r = ref->r;
    if (ref->watch) {
        cap_watch *w = &r->watch;
        if (v->dir == MS_TCP_CLIENT)
            w->nclient += (size_t)ms_tcp_view_copy(v, 0, w->client + w->nclient,
                                                   MS_MIN(sizeof w->client - 1 - w->nclient, v->len));
        return;
    }
    size_t room = sizeof r->first[0] - 1 - r->nfirst[v->dir];
    r->nfirst[v->dir] += (size_t)ms_tcp_view_copy(v, 0, r->first[v->dir] + r->nfirst[v->dir], MS_MIN(room, v->len));
    r->bytes[v->dir] += v->len;
}

static void cr_complete(void *stream, ms_tcp_conn *conn, ms_tcp_close_reason reason)
{
    if (stream == (void *)1)
        return;
    const struct cap_ref *ref = stream;
    cap_run *r = ref->r;
    if (ref->watch) {
        r->watch.completes++;
        return;
    }
    r->completes++;
    r->reason = reason;
}

/* Reads one capture into a fresh assembler. Returns false (and skips) when it is absent. */
static bool run_capture_watching(const char *path, cap_run *r, ms_tcp_stats *stats, uint16_t watch_port)
{
    if (access(path, R_OK) != 0)
        return false;
    memset(r, 0, sizeof *r);
    r->watch.port = watch_port;
    r->ref_first = (struct cap_ref){ r, false };
    r->ref_watch = (struct cap_ref){ r, true };
    ms_err err;
    int code;
    ms_source_opts so;
    memset(&so, 0, sizeof so);
    ms_source *src = ms_source_open_file(path, &so, &err, &code);
    assert_non_null(src);
    ms_decode_opts dopts;
    ms_decode_opts_default(&dopts);
    dopts.eager = false;
    ms_decode_ctx *ctx = ms_decode_ctx_new(&dopts);
    ms_tcp_stream_ops ops = { cr_new, NULL, cr_data, cr_complete };
    ms_tcp_assembler *a = ms_tcp_assembler_new(NULL, &ops, r);
    r->a = a;
    ms_frame f;
    ms_packet pkt;
    while (ms_source_next(src, &f, &err) == 1) {
        ms_packet_start(&pkt, ctx, &f);
        r->pkt = &pkt;
        ms_tcp_assemble_packet(a, &pkt);
    }
    ms_tcp_flush_all(a);
    *stats = *ms_tcp_assembler_stats(a);
    ms_tcp_assembler_free(a);
    ms_decode_ctx_free(ctx);
    ms_source_close(src);
    return true;
}

static bool run_capture(const char *path, cap_run *r, ms_tcp_stats *stats)
{
    return run_capture_watching(path, r, stats, 0);
}

static void test_http_100_continue_capture_matches_tcpflow(void **state)
{
    cap_run r;
    ms_tcp_stats st;
    if (!run_capture(PCAPS "/zeek/http/100-continue.pcap", &r, &st)) {
        skip();
        return;
    }
    /* tcpflow 1.6.1 writes 2222 bytes client → server and 61102 bytes back */
    assert_int_equal(r.conns, 1);
    assert_int_equal(r.bytes[MS_TCP_CLIENT], 2222);
    assert_int_equal(r.bytes[MS_TCP_SERVER], 61102);
    assert_int_equal(r.completes, 1);
    assert_int_equal(r.reason, MS_TCP_CLOSE_FIN);
    assert_memory_equal(r.first[MS_TCP_CLIENT], "POST ", 5);
    assert_memory_equal(r.first[MS_TCP_SERVER], "HTTP/1.1 100 Continue", 21);
    assert_int_equal(st.bytes_seen, st.bytes_delivered + st.bytes_overlap + st.bytes_discarded);
    assert_int_equal(st.bytes_skipped, 0);
    assert_int_equal(r.key_mismatches, 0);
}

static void test_packet_keys_and_hashes_equal_the_key_api_for_ipv4_and_ipv6(void **state)
{
    static const char *caps[] = {
        PCAPS "/zeek/http/pipelined-requests.pcap",  /* IPv4 */
        PCAPS "/zeek/port4242.pcap",                  /* IPv6 */
        PCAPS "/zeek/tcp/reassembly.pcap",            /* IPv4, retransmissions with other bytes */
    };
    int ran = 0;
    for (size_t i = 0; i < MS_ARRAY_LEN(caps); i++) {
        cap_run r;
        ms_tcp_stats st;
        if (!run_capture(caps[i], &r, &st))
            continue;
        ran++;
        assert_true(r.conns > 0);
        assert_int_equal(r.key_mismatches, 0);
        assert_int_equal(r.hash_mismatches, 0);
        assert_int_equal(st.bytes_seen, st.bytes_delivered + st.bytes_overlap + st.bytes_discarded);
        assert_int_equal(st.conns_closed, st.conns_created);
    }
    if (!ran)
        skip();
}

/* zeek modbus-and-non-modbus-p502.pcap, 198.74.56.135:60293 -> 192.168.10.111:502: SYN, SYN-ACK,
 * the client resets; 16 s later it sends a GET (109 bytes) without a SYN, the server resets again.
 * tshark shows the GET; the assembler makes it a second connection, client guessed, and delivers it. */
static void test_get_sent_after_a_reset_on_the_same_ports_is_a_new_connection(void **state)
{
    cap_run r;
    ms_tcp_stats st;
    if (!run_capture_watching(PCAPS "/zeek/modbus/modbus-and-non-modbus-p502.pcap", &r, &st, 60293)) {
        skip();
        return;
    }
    assert_int_equal(r.watch.conns, 2);
    assert_int_equal(r.watch.completes, 2);
    assert_true(r.watch.guessed);       /* the second one: no SYN */
    assert_int_equal(r.watch.nclient, 109);
    assert_memory_equal(r.watch.client, "GET / HTTP/1.1\r\nHost: 160.97.70.34\r\n", 36);
    assert_int_equal(st.bytes_seen, st.bytes_delivered + st.bytes_overlap + st.bytes_discarded);
    assert_int_equal(st.conns_closed, st.conns_created);
    assert_int_equal(r.key_mismatches, 0);
}

int main(void)
{
    if (access(PCAPS, R_OK) != 0)
        fprintf(stderr, "test_tcp_pcaps: SKIP: %s not found (the shared captures live beside the checkout)\n", PCAPS);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_100_continue_capture_matches_tcpflow),
        cmocka_unit_test(test_packet_keys_and_hashes_equal_the_key_api_for_ipv4_and_ipv6),
        cmocka_unit_test(test_get_sent_after_a_reset_on_the_same_ports_is_a_new_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
