/* test_http_parser.c — protocols/http.lua through the runtime's per-connection API.
 * Every scenario is a script of steps (direction + bytes, a gap, an end) and runs once per
 * segmentation: whole steps, one byte at a time, cut inside every CRLF and after every ':',
 * 3-byte pieces, 7-byte pieces, and pieces of 1 to 40 bytes from a fixed-seed generator. Records come out as JSON lines (open_memstream) and each
 * expected record is checked field by field, including fields that must stay unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lua/ms_lua.h"

enum { C = MS_LUA_CLIENT, S = MS_LUA_SERVER };
enum { STEP_DATA, STEP_GAP, STEP_END, STEP_CLOSE };
enum { SEG_WHOLE, SEG_BYTES, SEG_CRLF, SEG_3, SEG_7, SEG_RANDOM, SEG_MODES };
static const char *const seg_names[SEG_MODES] = { "whole", "bytewise", "crlf-split", "3-byte", "7-byte",
                                                  "random 1-40 (fixed seed)" };

typedef struct step {
    int kind;
    int dir;
    const char *text;   /* STEP_DATA: bytes (len below, or strlen) */
    size_t len;         /* 0: strlen(text); STEP_GAP: bytes lost */
} step;

#define DATA(d, t) { STEP_DATA, (d), (t), 0 }
#define BIN(d, t) { STEP_DATA, (d), (t), sizeof(t) - 1 }
#define GAP(d, n) { STEP_GAP, (d), NULL, (n) }
#define END(d) { STEP_END, (d), NULL, 0 }
#define STEPS_END { STEP_CLOSE, 0, NULL, 0 }

typedef struct run_result {
    char *out;            /* all JSON lines */
    size_t out_len;
    char *lines[64];      /* each record line (pointers into out) */
    int nlines;
    uint64_t script_errors;
} run_result;

static bool by_detect; /* open connections on port 9999 with no protocol named: detect() decides */

static void conn_info(ms_lua_conn_info *info, bool guessed)
{
    memset(info, 0, sizeof *info);
    info->uid = "CHttpTest1";
    info->client.family = 4;
    info->client.addr[0] = 10; info->client.addr[3] = 1;
    info->client.port = 51000;
    info->server.family = 4;
    info->server.addr[0] = 10; info->server.addr[3] = 2;
    info->server.port = 80;
    info->protocol = "http";
    if (by_detect) {
        info->protocol = NULL;
        info->server.port = 9999;
    }
    info->client_guessed = guessed;
    info->ts_ns = 1000000000000ULL;
}

/* Feeds one data step cut as the segmentation says. */
static void feed_step(ms_lua_conn *c, const step *s, int mode, uint64_t ts, uint32_t *rng)
{
    size_t len = s->len ? s->len : strlen(s->text);
    const uint8_t *p = (const uint8_t *)s->text;
    size_t i = 0;
    while (i < len) {
        size_t n;
        switch (mode) {
        case SEG_BYTES: n = 1; break;
        case SEG_3: n = 3; break;
        case SEG_7: n = 7; break;
        case SEG_RANDOM:
            *rng = *rng * 1103515245u + 12345u;
            n = 1 + (*rng >> 16) % 40;
            break;
        case SEG_CRLF: {
            /* up to and including the next '\r' or ':' (so CR and LF land in different pieces) */
            n = 1;
            while (i + n < len && p[i + n - 1] != '\r' && p[i + n - 1] != ':')
                n++;
            break;
        }
        default: n = len; break;
        }
        if (n > len - i)
            n = len - i;
        assert_int_equal(ms_lua_conn_feed(c, s->dir, p + i, n, ts), 0);
        i += n;
    }
}

/* Runs the steps under one segmentation; the caller frees res->out. */
static void run_steps(const step *steps, int mode, bool guessed, run_result *res)
{
    memset(res, 0, sizeof *res);
    FILE *fp = open_memstream(&res->out, &res->out_len);
    assert_non_null(fp);
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    opts.format = MS_FMT_JSON;
    opts.out = fp;
    opts.quiet_errors = false;
    ms_err err;
    memset(&err, 0, sizeof err);
    ms_lua *rt = ms_lua_new(&opts, &err);
    assert_non_null(rt);
    assert_int_equal(ms_lua_load_builtin(rt, "http", &err), 0);
    ms_lua_conn_info info;
    conn_info(&info, guessed);
    ms_lua_conn *c = ms_lua_conn_open(rt, &info);
    assert_non_null(c);
    uint64_t ts = 1000000000000ULL;
    uint32_t rng = 20261123u;
    for (const step *s = steps; s->kind != STEP_CLOSE; s++) {
        ts += 1000000000ULL;
        if (s->kind == STEP_DATA)
            feed_step(c, s, mode, ts, &rng);
        else if (s->kind == STEP_GAP)
            ms_lua_conn_gap(c, s->dir, s->len);
        else
            ms_lua_conn_end(c, s->dir);
    }
    ms_lua_conn_close(c, "fin");
    res->script_errors = ms_lua_get_stats(rt)->script_errors;
    ms_lua_free(rt);
    fclose(fp);
    char *save = NULL;
    for (char *line = strtok_r(res->out, "\n", &save); line && res->nlines < 64;
         line = strtok_r(NULL, "\n", &save))
        if (line[0] == '{')
            res->lines[res->nlines++] = line;
}

/* Expected record: NULL-terminated lists of `"key":value` fragments that must appear and keys
 * that must be absent. */
typedef struct expect {
    const char *has[24];
    const char *unset[12];
} expect;

static void check_records(const step *steps, bool guessed, const expect *want, int nwant)
{
    for (int mode = 0; mode < SEG_MODES; mode++) {
        run_result res;
        run_steps(steps, mode, guessed, &res);
        if (res.nlines != nwant || res.script_errors != 0) {
            print_error("segmentation %s: %d records (want %d), %llu script errors:\n%s\n",
                        seg_names[mode], res.nlines, nwant, (unsigned long long)res.script_errors,
                        res.out ? res.out : "");
            free(res.out);
            fail();
        }
        for (int i = 0; i < nwant; i++) {
            for (int k = 0; want[i].has[k]; k++) {
                if (!strstr(res.lines[i], want[i].has[k])) {
                    print_error("segmentation %s, record %d: missing %s in\n%s\n", seg_names[mode], i,
                                want[i].has[k], res.lines[i]);
                    free(res.out);
                    fail();
                }
            }
            for (int k = 0; want[i].unset[k]; k++) {
                char key[64];
                snprintf(key, sizeof key, "\"%s\":", want[i].unset[k]);
                if (strstr(res.lines[i], key)) {
                    print_error("segmentation %s, record %d: %s should be unset in\n%s\n", seg_names[mode],
                                i, want[i].unset[k], res.lines[i]);
                    free(res.out);
                    fail();
                }
            }
        }
        free(res.out);
    }
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- requests and responses -------------------------------------------------------------- */

static void test_get_with_content_length_fills_zeek_fields(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.0\r\n"
                "Referer: http://a.example/\r\nOrigin: http://o.example\r\nAccept: */*\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: 11\r\n\r\n"
                "hello world"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"ts\":1001.000000", "\"uid\":\"CHttpTest1\"", "\"id.orig_h\":\"10.0.0.1\"", "\"id.orig_p\":51000",
            "\"id.resp_h\":\"10.0.0.2\"", "\"id.resp_p\":80", "\"trans_depth\":1", "\"method\":\"GET\"",
            "\"host\":\"www.example.com\"", "\"uri\":\"/index.html?q=1\"", "\"referrer\":\"http://a.example/\"",
            "\"version\":\"1.1\"", "\"user_agent\":\"curl/8.0\"", "\"origin\":\"http://o.example\"",
            "\"request_body_len\":0", "\"response_body_len\":11", "\"status_code\":200",
            "\"status_msg\":\"OK\"", "\"resp_mime_types\":[\"text/plain\"]", NULL }, /* from the bytes, as Zeek */
          { "info_code", "info_msg", "tags", "username", "proxied", "orig_mime_types", NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_keepalive_requests_count_trans_depth(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"),
        DATA(C, "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: 7\r\n\r\na=1&b=2"),
        DATA(S, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
        DATA(C, "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"trans_depth\":1", "\"uri\":\"/1\"", "\"response_body_len\":3", "\"status_code\":200", NULL }, { NULL } },
        { { "\"trans_depth\":2", "\"method\":\"POST\"", "\"uri\":\"/2\"", "\"request_body_len\":7",
            "\"orig_fuids\":[\"F", "\"status_code\":201",
            "\"status_msg\":\"Created\"", "\"response_body_len\":0", "\"ts\":1003.000000", NULL },
          { "orig_mime_types", "resp_fuids", NULL } }, /* 7 bytes: too short to type, as in Zeek */
        { { "\"trans_depth\":3", "\"uri\":\"/3\"", "\"status_code\":404", "\"response_body_len\":9", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_pipelined_requests_pair_responses_in_order(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /a HTTP/1.1\r\nHost: h\r\n\r\nHEAD /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\naaaa"
                "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 2\r\n\r\ncc"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"trans_depth\":1", "\"uri\":\"/a\"", "\"response_body_len\":4", "\"status_code\":200", NULL }, { NULL } },
        { { "\"trans_depth\":2", "\"method\":\"HEAD\"", "\"uri\":\"/b\"", "\"response_body_len\":0", NULL }, { NULL } },
        { { "\"trans_depth\":3", "\"uri\":\"/c\"", "\"status_code\":302", "\"status_msg\":\"Found\"",
            "\"response_body_len\":2", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

/* Request and status lines in shapes the quick forms (split at spaces + memo lookups) must hand
 * to the general grammar, or read exactly as it would. */
static void test_odd_request_and_status_lines_read_like_the_general_grammar(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /a\t HTTP/1.1\r\n\r\n"),       /* a tab after the target is trimmed */
        DATA(S, "HTTP/1.1 200  OK \r\nContent-Length: 0\r\n\r\n"),
        DATA(C, "get\t/b HTTP/1.0 \r\n\r\n"),       /* lower-case method, tab, blank at the end */
        DATA(S, "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n"),
        DATA(C, "GET /c d HTTP/1.1\r\n\r\n"),        /* a space inside the target */
        DATA(S, "http/1.1 204 \tNo Content\r\n\r\n"),
        DATA(C, "M-SEARCH  /e  http/1.1\r\n\r\n"),  /* repeated spaces, lower-case version */
        DATA(S, "HTTP/1.1 2000 Bad\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"), /* Zeek: 200 */
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"method\":\"GET\"", "\"uri\":\"/a\"", "\"version\":\"1.1\"", "\"status_code\":200",
            "\"status_msg\":\"OK\"", NULL }, { NULL } },
        { { "\"method\":\"get\"", "\"uri\":\"/b\"", "\"status_code\":404", "\"status_msg\":\"\"", NULL },
          { NULL } },
        { { "\"uri\":\"/c d\"", "\"status_code\":204", "\"status_msg\":\"No Content\"", NULL }, { NULL } },
        { { "\"method\":\"M-SEARCH\"", "\"uri\":\"/e\"", "\"status_code\":200", "\"status_msg\":\"Bad\"",
            NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_chunked_response_with_extensions_and_trailers(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /chunks HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 99\r\n\r\n"
                "5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: yes\r\nX-More: 1\r\n\r\n"),
        DATA(C, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/chunks\"", "\"response_body_len\":31", "\"status_code\":200", NULL }, { NULL } },
        { { "\"uri\":\"/next\"", "\"trans_depth\":2", "\"response_body_len\":1", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_chunked_request_body_counts_decoded_length(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                "GET /after HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"method\":\"PUT\"", "\"request_body_len\":3", "\"status_code\":204", "\"response_body_len\":0", NULL }, { NULL } },
        { { "\"uri\":\"/after\"", "\"status_code\":200", "\"response_body_len\":2", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_body_delimited_by_close_counts_to_the_end(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /old HTTP/1.0\r\n\r\n"),
        DATA(S, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n0123456789"),
        DATA(S, "abcdefghij"),
        END(S),
        END(C),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/old\"", "\"version\":\"1.0\"", "\"response_body_len\":20",
            "\"resp_mime_types\":[\"text/plain\"]", NULL }, { "host", NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_head_204_304_responses_have_no_body(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"),
        DATA(C, "GET /n HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"),
        DATA(C, "GET /c HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\n\r\n"),
        DATA(S, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
        DATA(C, "GET /last HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"method\":\"HEAD\"", "\"status_code\":200", "\"response_body_len\":0", NULL }, { NULL } },
        { { "\"uri\":\"/n\"", "\"status_code\":204", "\"response_body_len\":0", NULL }, { NULL } },
        { { "\"uri\":\"/c\"", "\"status_code\":304", "\"response_body_len\":0", NULL }, { NULL } },
        { { "\"uri\":\"/last\"", "\"status_code\":200", "\"response_body_len\":3", "\"trans_depth\":4", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_100_continue_sets_info_code_before_final_response(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "POST /form HTTP/1.1\r\nHost: www.osu.edu\r\nExpect: 100-continue\r\nContent-Length: 6\r\n\r\n"),
        DATA(S, "HTTP/1.1 100 Continue\r\n\r\n"),
        DATA(C, "abcdef"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"method\":\"POST\"", "\"request_body_len\":6", "\"info_code\":100", "\"info_msg\":\"Continue\"",
            "\"status_code\":200", "\"response_body_len\":2", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_connect_tunnel_stops_parsing_and_tags_tunnel(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "CONNECT secure.example.com:443 HTTP/1.1\r\nHost: secure.example.com:443\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 Connection Established\r\n\r\n"),
        BIN(C, "\x16\x03\x01\x00\x05GET / HTTP/1.1\r\n\r\n"),
        BIN(S, "\x16\x03\x03\x00\x02HTTP/1.1 200 OK\r\n\r\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"method\":\"CONNECT\"", "\"uri\":\"secure.example.com:443\"", "\"status_code\":200",
            "\"status_msg\":\"Connection Established\"", "\"tags\":[\"tunnel\"]", "\"response_body_len\":0", NULL },
          { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_refused_connect_keeps_parsing(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"),
        DATA(S, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\nnope"),
        DATA(C, "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\n\r\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"status_code\":407", "\"response_body_len\":4", NULL }, { "tags", NULL } },
        { { "\"trans_depth\":2", "\"status_code\":200", "\"tags\":[\"tunnel\"]", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_websocket_upgrade_stops_parsing_and_tags_upgrade(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        DATA(S, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
        BIN(S, "\x81\x05hello"),
        BIN(C, "\x81\x85\x01\x02\x03\x04GET / HTTP/1.1\r\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/chat\"", "\"status_code\":101", "\"status_msg\":\"Switching Protocols\"",
            "\"tags\":[\"upgrade\"]", NULL }, { "info_code", NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_unanswered_request_is_emitted_at_close(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /answered HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        DATA(C, "GET /lonely HTTP/1.1\r\nHost: h\r\n\r\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/answered\"", "\"status_code\":200", NULL }, { NULL } },
        { { "\"uri\":\"/lonely\"", "\"trans_depth\":2", "\"response_body_len\":0", NULL },
          { "status_code", "status_msg", "version", NULL } },
    };
    check_records(steps, false, want, N(want));
}

/* ---- tolerance ----------------------------------------------------------------------------- */

static void test_obsolete_line_folding_is_joined_with_a_space(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /fold HTTP/1.1\r\nHost: h\r\nUser-Agent: Mozilla/5.0\r\n  (folded; part)\r\n\tmore\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"user_agent\":\"Mozilla/5.0 (folded; part) more\"", "\"host\":\"h\"", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_bare_lf_line_endings_are_tolerated(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /lf HTTP/1.1\nHost: lf.example\nUser-Agent: x\n\nGET /lf2 HTTP/1.0\n\n"),
        DATA(S, "HTTP/1.1 200 OK\nContent-Length: 2\n\nokHTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/lf\"", "\"host\":\"lf.example\"", "\"response_body_len\":2", NULL }, { NULL } },
        { { "\"uri\":\"/lf2\"", "\"response_body_len\":2", "\"trans_depth\":2", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_garbage_before_request_line_is_skipped(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "\r\n\r\nthis is not http\r\nGET nope\r\n\x01\x02\x03\r\nGET /real HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/real\"", "\"trans_depth\":1", "\"status_code\":200", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_gap_in_headers_resyncs_at_next_request_line(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /before HTTP/1.1\r\nHost: h\r\nCookie: abc"),
        GAP(C, 1400),
        DATA(C, "def\r\nAccept: */*\r\n\r\nGET /after HTTP/1.1\r\nHost: h2\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nyy"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/before\"", "\"tags\":[\"gap\"]", "\"trans_depth\":1", NULL }, { NULL } },
        { { "\"uri\":\"/after\"", "\"host\":\"h2\"", "\"trans_depth\":2", "\"response_body_len\":2", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_header_limit_tags_the_request_and_resyncs(void **state)
{
    (void)state;
    static char big[80000];
    static step steps[] = {
        DATA(C, "GET /big HTTP/1.1\r\nHost: h\r\n"),
        DATA(C, big),
        DATA(C, "\r\nGET /small HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n"
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        STEPS_END,
    };
    /* 1000 header lines of 79 bytes: 79 KB of headers, over the 64 KiB limit */
    size_t off = 0;
    for (int i = 0; i < 1000; i++)
        off += (size_t)snprintf(big + off, sizeof big - off, "X-Filler-%04d: %062d\r\n", i, 0);
    static const expect want[] = {
        { { "\"uri\":\"/big\"", "\"tags\":[\"header_limit\"]", "\"status_code\":431", NULL }, { NULL } },
        { { "\"uri\":\"/small\"", "\"trans_depth\":2", "\"status_code\":200", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

/* On a port the table does not name, an extension method is recognised from a whole first line
 * that reads as a request line with an HTTP/1.x version (R1, R35); a SIP-like line is not HTTP. */
static void test_extension_method_on_another_port_is_detected(void **state)
{
    (void)state;
    static const step http[] = {
        DATA(C, "FROB-IT /thing HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        STEPS_END,
    };
    static const step other[] = {
        DATA(C, "FROB-IT /thing SIP/2.0\r\nHost: h\r\n\r\n"),
        DATA(S, "SIP/2.0 200 OK\r\n\r\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"method\":\"FROB-IT\"", "\"uri\":\"/thing\"", "\"id.resp_p\":9999", "\"status_code\":200", NULL },
          { NULL } },
    };
    /* detect() sees the first bytes at hand once (the first segment, as a capture delivers a
     * request line): whole steps only */
    by_detect = true;
    run_result res;
    run_steps(http, SEG_WHOLE, false, &res);
    bool ok = res.nlines == 1;
    for (int k = 0; ok && want[0].has[k]; k++)
        ok = strstr(res.lines[0], want[0].has[k]) != NULL;
    free(res.out);
    run_steps(other, SEG_WHOLE, false, &res);
    ok = ok && res.nlines == 0;
    free(res.out);
    by_detect = false;
    assert_true(ok);
}

/* A bare CR ends a line (rule R11, as Zeek and tshark read it), also in chunk size lines and
 * header blocks; a CR cut from its LF by a segment boundary still makes one CRLF. */
static void test_bare_cr_line_ends(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /cr HTTP/1.1\rHost: h\rUser-Agent: u\r\rPOST /p HTTP/1.1\rContent-Length: 2\r\rab"),
        DATA(S, "HTTP/1.1 200 OK\rTransfer-Encoding: chunked\r\r3\rabc\r0\r\r"
                "HTTP/1.1 201 Made\rContent-Length: 1\r\rz"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/cr\"", "\"host\":\"h\"", "\"user_agent\":\"u\"", "\"version\":\"1.1\"",
            "\"response_body_len\":3", "\"status_code\":200", NULL }, { "tags", NULL } },
        { { "\"uri\":\"/p\"", "\"request_body_len\":2", "\"status_code\":201", "\"status_msg\":\"Made\"",
            "\"response_body_len\":1", NULL }, { "tags", NULL } },
    };
    check_records(steps, false, want, N(want));
}

/* The framing rules of docs/http-log.md on the shapes they name: Transfer-Encoding's final coding
 * (parameters aside) decides chunked; a last chunk written with many zeros is 0; a Content-Length
 * without digits frames an empty body (also in a response, which would otherwise run to the
 * close); "12abc" is 12; crud after the request's version is ignored. */
static void test_framing_rules_on_odd_header_values(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /te-param HTTP/1.1 crud\r\n\r\n"
                "GET /te-list HTTP/1.1\r\n\r\n"
                "GET /cl-neg HTTP/1.1\r\n\r\n"
                "POST /cl-junk HTTP/1.1\r\nContent-Length: 3abc\r\n\r\nxyz"
                "GET /after HTTP/1.1\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked ;\r\n\r\n3\r\nabc\r\n000000000000000000000\r\n\r\n"
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
                "HTTP/1.1 200 OK\r\nContent-Length: -7\r\n\r\n"
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"
                "HTTP/1.1 20x odd\r\nContent-Length: 2\r\n\r\nok"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/te-param\"", "\"response_body_len\":3", "\"status_code\":200", NULL }, { "tags", NULL } },
        { { "\"uri\":\"/te-list\"", "\"response_body_len\":2", NULL }, { "tags", NULL } },
        { { "\"uri\":\"/cl-neg\"", "\"response_body_len\":0", NULL }, { NULL } },
        { { "\"uri\":\"/cl-junk\"", "\"request_body_len\":3", "\"response_body_len\":1", NULL }, { NULL } },
        { { "\"uri\":\"/after\"", "\"status_code\":0", "\"status_msg\":\"odd\"", "\"response_body_len\":2", NULL },
          { NULL } },
    };
    check_records(steps, false, want, N(want));
}

/* Request lines by Zeek's grammar: an extension method, OPTIONS *, a target ending at the first
 * "HTTP/" after the URI characters, and an HTTP/0.9 line later in a connection (logged; its
 * answer is not taken for a 0.9 body, the answer side having begun to wait for a status line). */
static void test_request_lines_by_the_target_grammar(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "FROB-IT /x HTTP/1.1\r\n\r\nOPTIONS * HTTP/1.1\r\n\r\nGET /a\"b HTTP/1.1\r\n\r\n"),
        DATA(S, "HTTP/1.1 405 No\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                "HTTP/1.1 404 No\r\nContent-Length: 0\r\n\r\n"),
        DATA(C, "GET /old\r\n"),
        DATA(S, "raw bytes"),
        END(C),
        END(S),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"method\":\"FROB-IT\"", "\"uri\":\"/x\"", "\"status_code\":405", NULL }, { NULL } },
        { { "\"method\":\"OPTIONS\"", "\"uri\":\"*\"", "\"status_code\":200", NULL }, { NULL } },
        { { "\"uri\":\"/a\\\"b\"", "\"status_code\":404", NULL }, { NULL } },
        { { "\"trans_depth\":4", "\"uri\":\"/old\"", "\"response_body_len\":0", NULL }, { "version", NULL } },
    };
    check_records(steps, false, want, N(want));
}

/* The 0.9 request's message (a header block may follow the line) is still open when the answer
 * ends with the server's close: as Zeek, its end at the client's close gets a record of its own. */
static void test_http09_simple_request_reads_body_to_close(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /zeek.html\n"),
        DATA(S, "<html>\n  hi\n</html>\n"),
        END(S),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"trans_depth\":1", "\"method\":\"GET\"", "\"uri\":\"/zeek.html\"", "\"version\":\"0.9\"",
            "\"response_body_len\":20", "\"status_code\":0", NULL },
          { "status_msg", NULL } },
        { { "\"trans_depth\":2", "\"request_body_len\":0", "\"response_body_len\":0", NULL },
          { "method", "uri", "status_code", "version", NULL } },
    };
    check_records(steps, false, want, N(want));
}

/* The client's message ends first (its header block's empty line, or its close): one record. */
static void test_http09_request_ended_before_its_answer_is_one_record(void **state)
{
    (void)state;
    static const step ended_by_line[] = {
        DATA(C, "GET /a\r\n\r\n"),
        DATA(S, "hello"),
        END(S),
        STEPS_END,
    };
    static const step ended_by_close[] = {
        DATA(C, "POST /b\n"),
        END(C),
        DATA(S, "hello"),
        END(S),
        STEPS_END,
    };
    static const expect want_a[] = {
        { { "\"trans_depth\":1", "\"uri\":\"/a\"", "\"version\":\"0.9\"", "\"response_body_len\":5", NULL }, { NULL } },
    };
    static const expect want_b[] = {
        { { "\"trans_depth\":1", "\"method\":\"POST\"", "\"version\":\"0.9\"", "\"response_body_len\":5", NULL }, { NULL } },
    };
    check_records(ended_by_line, false, want_a, N(want_a));
    check_records(ended_by_close, false, want_b, N(want_b));
}

/* A request body still arriving when the answer ends (a server that answers an upload early):
 * the record goes out with the answer, request_body_len 0; the body's end gets its own record. */
static void test_request_body_ending_after_its_answer_is_logged_apart(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n12345"),
        DATA(S, "HTTP/1.1 413 Too Large\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"),
        DATA(C, "67890"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"trans_depth\":1", "\"method\":\"POST\"", "\"request_body_len\":0", "\"status_code\":413",
            "\"response_body_len\":2", NULL }, { NULL } },
        { { "\"trans_depth\":2", "\"request_body_len\":10", NULL }, { "method", "status_code", NULL } },
    };
    check_records(steps, false, want, N(want));
}

/* gzip, x-gzip and deflate (zlib header or raw) bodies are counted decoded, as Zeek counts them;
 * a broken stream counts what decoded before the break and is tagged. Bodies built with zlib. */
static void test_coded_bodies_count_decoded_bytes(void **state)
{
    (void)state;
    /* "hello hello hello hello\n" (24 bytes) as gzip, zlib and raw deflate (Python's zlib module) */
    static const char gz[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xcb\x48\xcd\xc9\xc9\x57\xc8\x40"
                             "\x27\xb9\x00\x00\x88\x59\x0b\x18\x00\x00\x00";
    static const char zl[] = "\x78\x9c\xcb\x48\xcd\xc9\xc9\x57\xc8\x40\x27\xb9\x00\x70\xbe\x08\xbb";
    static const char raw[] = "\xcb\x48\xcd\xc9\xc9\x57\xc8\x40\x27\xb9\x00";
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
                     sizeof gz - 1);
    memcpy(buf + n, gz, sizeof gz - 1);
    size_t len = (size_t)n + sizeof gz - 1;
    n = snprintf(buf + len, sizeof buf - len, "HTTP/1.1 200 OK\r\nContent-Encoding: Deflate\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n", sizeof zl - 1);
    len += (size_t)n;
    memcpy(buf + len, zl, sizeof zl - 1);
    len += sizeof zl - 1;
    n = snprintf(buf + len, sizeof buf - len, "\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n"
                 "Content-Length: %zu\r\n\r\n", sizeof raw - 1);
    len += (size_t)n;
    memcpy(buf + len, raw, sizeof raw - 1);
    len += sizeof raw - 1;
    static const char broken[] = "HTTP/1.1 200 OK\r\nContent-Encoding: x-gzip\r\nContent-Length: 12\r\n\r\n"
                                 "\x1f\x8b\x09\x00garbage!"; /* method 9: not deflate */
    memcpy(buf + len, broken, sizeof broken - 1);
    len += sizeof broken - 1;
    step steps[] = {
        DATA(C, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\nGET /4 HTTP/1.1\r\n\r\n"),
        { STEP_DATA, S, buf, len },
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/1\"", "\"response_body_len\":24", NULL }, { "tags", NULL } },
        { { "\"uri\":\"/2\"", "\"response_body_len\":24", NULL }, { "tags", NULL } },
        { { "\"uri\":\"/3\"", "\"response_body_len\":24", NULL }, { "tags", NULL } },
        { { "\"uri\":\"/4\"", "\"response_body_len\":0", "\"tags\":[\"inflate_error\"]", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_auth_proxy_headers_and_mime_types(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "POST http://proxy.example/x HTTP/1.1\r\nHost: proxy.example\r\n"
                "Authorization: Basic YWxpY2U6c2VjcmV0\r\nX-Forwarded-For: 192.0.2.7\r\nVia: 1.1 squid\r\n"
                "Content-Type: Application/JSON ; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 4\r\n\r\n\x89PNG"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"username\":\"alice\"", "\"proxied\":[\"X-FORWARDED-FOR -> 192.0.2.7\",\"VIA -> 1.1 squid\"]",
            "\"orig_mime_types\":[\"text/json\"]", /* types come from the bytes: {} is Zeek's JSON */
            "\"uri\":\"http://proxy.example/x\"", "\"request_body_len\":2", NULL },
          { "password", "resp_mime_types", NULL } }, /* 4 bytes of a PNG header: no type */
    };
    check_records(steps, false, want, N(want));
}

static void test_content_length_past_the_end_counts_bytes_seen(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /bigfile HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 2200000000\r\n\r\n0123456789"),
        END(S),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"response_body_len\":10", "\"status_code\":200", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_guessed_client_that_answers_swaps_roles(void **state)
{
    (void)state;
    /* No SYN seen: the engine took the server for the client. */
    static const step steps[] = {
        DATA(S, "GET /late HTTP/1.1\r\nHost: q\r\n\r\n"),
        DATA(C, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/late\"", "\"id.orig_h\":\"10.0.0.2\"", "\"id.orig_p\":80", "\"id.resp_h\":\"10.0.0.1\"",
            "\"id.resp_p\":51000", "\"status_code\":200", "\"response_body_len\":2", NULL }, { NULL } },
    };
    check_records(steps, true, want, N(want));
}

static void test_response_before_request_still_pairs(void **state)
{
    (void)state;
    /* out-of-order capture: the answer's bytes are presented before the request's */
    static const step steps[] = {
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"),
        DATA(C, "GET /first HTTP/1.1\r\nHost: h\r\n\r\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/first\"", "\"status_code\":200", "\"response_body_len\":3", "\"ts\":1002.000000", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_gap_inside_a_body_is_absorbed_by_the_skip(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n0123456789"),
        GAP(C, 4000),
        DATA(C, "x"),
        GAP(C, 989),
        DATA(C, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/upload\"", "\"request_body_len\":5000", "\"status_code\":200", NULL }, { "tags", NULL } },
        { { "\"uri\":\"/next\"", "\"trans_depth\":2", "\"status_code\":200", NULL }, { "tags", NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_bad_chunk_size_resyncs_at_next_status_line(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\nzz-not-hex\r\nlost\r\n"
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/a\"", "\"response_body_len\":4", "\"tags\":[\"bad_chunk\"]", NULL }, { NULL } },
        { { "\"uri\":\"/b\"", "\"response_body_len\":2", NULL }, { "tags", NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_repeated_content_length_uses_the_last_value(void **state)
{
    (void)state;
    /* as Zeek and tshark read it: the last Content-Length frames the body */
    static const step steps[] = {
        DATA(C, "POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 4\r\n\r\nbody"
                "GET /then HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/cl\"", "\"request_body_len\":4", NULL }, { NULL } },
        { { "\"uri\":\"/then\"", "\"trans_depth\":2", "\"response_body_len\":1", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_plain_http_through_a_connect_tunnel_is_parsed(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "CONNECT 127.0.0.1:8002 HTTP/1.1\r\nHost: 127.0.0.1:8002\r\n\r\n"),
        DATA(S, "HTTP/1.0 200 Connection established\r\n\r\n"),
        DATA(C, "GET / HTTP/1.1\r\nHost: 127.0.0.1:8002\r\n\r\n"),
        DATA(S, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"method\":\"CONNECT\"", "\"tags\":[\"tunnel\"]", "\"status_code\":200", NULL }, { NULL } },
        { { "\"method\":\"GET\"", "\"uri\":\"/\"", "\"trans_depth\":2", "\"response_body_len\":5", NULL }, { "tags", NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_http2_preface_is_not_an_http1_request(void **state)
{
    (void)state;
    static const step steps[] = {
        BIN(C, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"),
        BIN(S, "\x00\x00\x00\x04\x00\x00\x00\x00\x00"),
        STEPS_END,
    };
    check_records(steps, false, NULL, 0);
}

static void test_chunk_size_past_2_to_60_runs_to_the_end(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "POST / HTTP/1.1\r\nHost: target\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n\r\n"
                "GET /smuggled-chunk-2pow64 HTTP/1.1\r\nHost: target\r\n\r\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"method\":\"POST\"", "\"request_body_len\":55", "\"tags\":[\"bad_chunk\"]", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_http_through_socks5_with_password_is_parsed(void **state)
{
    (void)state;
    static const step steps[] = {
        BIN(C, "\x05\x02\x00\x02"),
        BIN(S, "\x05\x02"),
        BIN(C, "\x01\x04user\x04pass"),
        BIN(S, "\x01\x00"),
        BIN(C, "\x05\x01\x00\x03\x0ewww.osnews.com\x00\x50"),
        BIN(S, "\x05\x00\x00\x01\xc0\xa8\x00\x1f\x0a\x80"),
        DATA(C, "GET /images/printer2.gif HTTP/1.1\r\nHost: www.osnews.com\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nGIF"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/images/printer2.gif\"", "\"host\":\"www.osnews.com\"", "\"status_code\":200",
            "\"response_body_len\":3", "\"tags\":[\"socks\"]", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_http_through_socks4_is_parsed(void **state)
{
    (void)state;
    static const step steps[] = {
        BIN(C, "\x04\x01\x00\x50\xc0\x96\xbb\x0c\x00"),
        BIN(S, "\x00\x5a\x00\x00\x00\x00\x00\x00"),
        DATA(C, "GET / HTTP/1.1\r\nUser-Agent: curl/7.16.3\r\nHost: www.icir.org\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/\"", "\"host\":\"www.icir.org\"", "\"status_code\":200", "\"tags\":[\"socks\"]", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_server_garbage_before_status_line_is_skipped(void **state)
{
    (void)state;
    static const step steps[] = {
        DATA(C, "GET /g HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "\x7f\x7fgarbage line\r\nHTTP/1.1 nope\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/g\"", "\"status_code\":200", "\"response_body_len\":4", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_capture_starting_mid_body_resyncs_at_next_request(void **state)
{
    (void)state;
    /* no SYN: the first bytes are the tail of an earlier request body and of its response */
    static const step steps[] = {
        DATA(C, "=tail-of-a-form-post&x=1GET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "</html>\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"),
        DATA(C, "GET /after HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        STEPS_END,
    };
    /* the first request line is glued to body bytes ("...x=1GET /next"): it is garbage, so the
     * first answer, found by resynchronising, has no request and is logged alone (no_request);
     * it must not take /after's place: /after pairs with the 404 */
    run_result res;
    run_steps(steps, SEG_WHOLE, true, &res);
    assert_int_equal(res.script_errors, 0);
    int found = 0;
    for (int i = 0; i < res.nlines; i++)
        if (strstr(res.lines[i], "\"uri\":\"/after\"") && strstr(res.lines[i], "\"status_code\":404"))
            found++;
        else if (strstr(res.lines[i], "\"tags\":[\"no_request\"]") && strstr(res.lines[i], "\"status_code\":200"))
            found += 10;
    free(res.out);
    assert_int_equal(found, 11);
}

static void test_ssdp_request_over_udp_is_logged(void **state)
{
    (void)state;
    char *out = NULL;
    size_t out_len = 0;
    FILE *fp = open_memstream(&out, &out_len);
    assert_non_null(fp);
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    opts.format = MS_FMT_JSON;
    opts.out = fp;
    ms_err err;
    memset(&err, 0, sizeof err);
    ms_lua *rt = ms_lua_new(&opts, &err);
    assert_non_null(rt);
    assert_int_equal(ms_lua_load_builtin(rt, "http", &err), 0);
    ms_lua_conn_info info;
    conn_info(&info, false);
    info.udp = true;
    info.server.addr[0] = 239; info.server.addr[1] = 255; info.server.addr[2] = 255; info.server.addr[3] = 250;
    info.server.port = 1900;
    ms_lua_conn *c = ms_lua_conn_open(rt, &info);
    assert_non_null(c);
    static const char msearch[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
                                  "MX: 1\r\nST: ssdp:all\r\nUSER-AGENT: Test/1.0 UPnP/1.1\r\n\r\n";
    ms_lua_datagram(c, MS_LUA_CLIENT, (const uint8_t *)msearch, sizeof msearch - 1, 1001000000000ULL);
    ms_lua_conn_close(c, "idle");
    ms_lua_free(rt);
    fclose(fp);
    assert_non_null(strstr(out, "\"method\":\"M-SEARCH\""));
    assert_non_null(strstr(out, "\"uri\":\"*\""));
    assert_non_null(strstr(out, "\"host\":\"239.255.255.250:1900\""));
    assert_non_null(strstr(out, "\"user_agent\":\"Test/1.0 UPnP/1.1\""));
    assert_non_null(strstr(out, "\"tags\":[\"udp\"]"));
    assert_non_null(strstr(out, "\"id.resp_p\":1900"));
    free(out);
}

static void test_answers_without_requests_stay_bounded(void **state)
{
    (void)state;
    /* 300 well-formed answers and no request: the first 256 wait for requests that never come,
     * the rest are logged at once; all 300 come out, none is lost */
    static char many[300 * 40];
    size_t off = 0;
    for (int i = 0; i < 300; i++)
        off += (size_t)snprintf(many + off, sizeof many - off, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
    static step steps[] = { DATA(S, many), STEPS_END };
    run_result res;
    run_steps(steps, SEG_WHOLE, false, &res);
    assert_int_equal(res.script_errors, 0);
    int n = 0;
    /* run_steps cut the output into lines (NUL-separated) */
    for (char *p = res.out; p < res.out + res.out_len; p += strlen(p) + 1)
        for (char *q = p; (q = strstr(q, "\"status_code\":200")) != NULL; q++)
            n++;
    free(res.out);
    assert_int_equal(n, 300);
}

static void test_answer_after_a_lost_answer_goes_to_the_latest_request(void **state)
{
    (void)state;
    /* a client that waits for each answer: the answer to /2 is lost in a gap, so the next
     * status line answers /3 (sent after /2's answer), not /2 */
    static const step steps[] = {
        DATA(C, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        DATA(C, "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
        GAP(S, 120),
        DATA(C, "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n"),
        DATA(S, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"uri\":\"/1\"", "\"status_code\":200", NULL }, { "tags", NULL } },
        { { "\"uri\":\"/2\"", "\"tags\":[\"gap\"]", NULL }, { "status_code", NULL } },
        { { "\"uri\":\"/3\"", "\"status_code\":404", "\"response_body_len\":3", NULL }, { NULL } },
    };
    check_records(steps, false, want, N(want));
}

static void test_request_line_cut_by_a_gap_is_logged_with_what_arrived(void **state)
{
    (void)state;
    /* a short snap length: the request line stops inside "HTTP/1.1" and the rest is lost; the
     * answer's status line arrived whole, its headers did not */
    static const step steps[] = {
        DATA(C, "GET /images/a.gif HTT"),
        GAP(C, 470),
        DATA(S, "HTTP/1.1 200 OK\r\nDate: Mon"),
        GAP(S, 1400),
        DATA(C, "GET /cut/inside/the/ur"),
        GAP(C, 300),
        DATA(C, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
        STEPS_END,
    };
    static const expect want[] = {
        { { "\"method\":\"GET\"", "\"uri\":\"/images/a.gif\"", "\"trans_depth\":1", "\"status_code\":200",
            "\"tags\":[\"gap\"]", NULL }, { "host", NULL } },
        { { "\"uri\":\"/next\"", "\"host\":\"h\"", "\"trans_depth\":2", NULL }, { "status_code", NULL } },
    };
    check_records(steps, false, want, N(want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_with_content_length_fills_zeek_fields),
        cmocka_unit_test(test_keepalive_requests_count_trans_depth),
        cmocka_unit_test(test_pipelined_requests_pair_responses_in_order),
        cmocka_unit_test(test_odd_request_and_status_lines_read_like_the_general_grammar),
        cmocka_unit_test(test_chunked_response_with_extensions_and_trailers),
        cmocka_unit_test(test_chunked_request_body_counts_decoded_length),
        cmocka_unit_test(test_body_delimited_by_close_counts_to_the_end),
        cmocka_unit_test(test_head_204_304_responses_have_no_body),
        cmocka_unit_test(test_100_continue_sets_info_code_before_final_response),
        cmocka_unit_test(test_connect_tunnel_stops_parsing_and_tags_tunnel),
        cmocka_unit_test(test_refused_connect_keeps_parsing),
        cmocka_unit_test(test_websocket_upgrade_stops_parsing_and_tags_upgrade),
        cmocka_unit_test(test_unanswered_request_is_emitted_at_close),
        cmocka_unit_test(test_obsolete_line_folding_is_joined_with_a_space),
        cmocka_unit_test(test_bare_lf_line_endings_are_tolerated),
        cmocka_unit_test(test_garbage_before_request_line_is_skipped),
        cmocka_unit_test(test_gap_in_headers_resyncs_at_next_request_line),
        cmocka_unit_test(test_header_limit_tags_the_request_and_resyncs),
        cmocka_unit_test(test_extension_method_on_another_port_is_detected),
        cmocka_unit_test(test_bare_cr_line_ends),
        cmocka_unit_test(test_framing_rules_on_odd_header_values),
        cmocka_unit_test(test_request_lines_by_the_target_grammar),
        cmocka_unit_test(test_http09_simple_request_reads_body_to_close),
        cmocka_unit_test(test_http09_request_ended_before_its_answer_is_one_record),
        cmocka_unit_test(test_request_body_ending_after_its_answer_is_logged_apart),
        cmocka_unit_test(test_coded_bodies_count_decoded_bytes),
        cmocka_unit_test(test_auth_proxy_headers_and_mime_types),
        cmocka_unit_test(test_content_length_past_the_end_counts_bytes_seen),
        cmocka_unit_test(test_guessed_client_that_answers_swaps_roles),
        cmocka_unit_test(test_response_before_request_still_pairs),
        cmocka_unit_test(test_gap_inside_a_body_is_absorbed_by_the_skip),
        cmocka_unit_test(test_bad_chunk_size_resyncs_at_next_status_line),
        cmocka_unit_test(test_repeated_content_length_uses_the_last_value),
        cmocka_unit_test(test_plain_http_through_a_connect_tunnel_is_parsed),
        cmocka_unit_test(test_http2_preface_is_not_an_http1_request),
        cmocka_unit_test(test_chunk_size_past_2_to_60_runs_to_the_end),
        cmocka_unit_test(test_http_through_socks5_with_password_is_parsed),
        cmocka_unit_test(test_http_through_socks4_is_parsed),
        cmocka_unit_test(test_server_garbage_before_status_line_is_skipped),
        cmocka_unit_test(test_capture_starting_mid_body_resyncs_at_next_request),
        cmocka_unit_test(test_ssdp_request_over_udp_is_logged),
        cmocka_unit_test(test_answers_without_requests_stay_bounded),
        cmocka_unit_test(test_answer_after_a_lost_answer_goes_to_the_latest_request),
        cmocka_unit_test(test_request_line_cut_by_a_gap_is_logged_with_what_arrived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
