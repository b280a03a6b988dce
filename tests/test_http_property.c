/* test_http_property.c — protocols/http.lua against a reference model of the documented rules
 * (docs/http-log.md, "Parsing rules"), on hostile request/response pairs built from a grammar:
 * random and extension methods, CONNECT and OPTIONS *, repeated blanks and tabs, CRLF, bare LF
 * or bare CR line ends, folded headers, repeated and conflicting Content-Length, Transfer-Encoding with
 * parameters and list values, leading zeros, chunk extensions, negative and huge lengths, 1xx
 * answers, HEAD/204/304, gzip bodies. Each generated connection runs at several segmentations
 * (whole, bytewise, 3-byte, 7-byte, random 1-40) and every record is compared field by field with
 * what the model says (method, uri, request and response body lengths, status). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "lua/ms_lua.h"

#define MAX_TX 4
#define BUF 65536

typedef struct model_tx {
    char method[16];
    char uri[64];
    long req_len, resp_len;
    int status;
} model_tx;

typedef struct conn_case {
    char *client, *server;   /* the two directions' bytes */
    size_t clen, slen;
    model_tx tx[MAX_TX];
    int ntx;
    char desc[512];          /* what was generated, for failure messages */
} conn_case;

static uint32_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (rng_state >> 8) % n;
}

typedef struct out {
    char *p;
    size_t len;
} out;

static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, BUF - o->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < BUF - o->len);
    o->len += (size_t)n;
}

static void put_bytes(out *o, const void *p, size_t n)
{
    assert_true(n < BUF - o->len);
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

static void note(conn_case *c, const char *what)
{
    size_t k = strlen(c->desc);
    snprintf(c->desc + k, sizeof c->desc - k, "%s; ", what);
}

/* A random extension method: 3 to 8 upper-case letters, sometimes with '-' or '_' inside. */
static void random_method(char *m)
{
    static const char *const known[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "PROPFIND", "TRACE",
                                         "M-SEARCH", "QUERY", "get", "Post" };
    if (rnd(3)) {
        strcpy(m, known[rnd(sizeof known / sizeof known[0])]);
        return;
    }
    int n = 3 + (int)rnd(6);
    for (int i = 0; i < n; i++)
        m[i] = (char)('A' + rnd(26));
    if (rnd(3) == 0)
        m[1 + rnd((uint32_t)n - 2)] = rnd(2) ? '-' : '_';
    m[n] = 0;
}

static void random_path(char *u, bool space_inside)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-._~%/?=&;:@!$'()*+,";
    int n = 1 + (int)rnd(20);
    u[0] = '/';
    for (int i = 1; i <= n; i++)
        u[i] = chars[rnd(sizeof chars - 1)];
    u[n + 1] = 0;
    if (space_inside) { /* Zeek (and we) keep a blank inside the target */
        u[1 + rnd((uint32_t)n)] = ' ';
        if (u[n] == ' ')
            u[n] = 'z';
    }
}

/* A body of n bytes; with gzip the wire form is its gzip coding (the model keeps n decoded). */
static size_t make_body(char *dst, size_t n, bool gzip)
{
    char plain[4096];
    for (size_t i = 0; i < n; i++)
        plain[i] = (char)(rnd(4) ? 'a' + rnd(26) : rnd(256));
    plain[0] = 'b'; /* after a bare CR line end, an LF first would make one CRLF with it */
    if (!gzip) {
        memcpy(dst, plain, n);
        return n;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)plain;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)dst;
    zs.avail_out = 8192;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t w = 8192 - zs.avail_out;
    deflateEnd(&zs);
    return w;
}

/* Writes a body framed by Content-Length or chunked (header lines, empty line, body); returns the
 * length the model expects. kind: 0 none, 1 CL, 2 chunked. */
static long frame_body(conn_case *c, out *o, const char *eol, int kind, bool request, bool gzip)
{
    char body[8192];
    size_t n = 1 + rnd(kind == 2 ? 3000 : 1500);
    size_t w = make_body(body, n, gzip);
    if (gzip)
        put(o, "Content-Encoding: %s%s", rnd(2) ? "gzip" : "x-gzip", eol);
    if (kind == 1) {
        switch (rnd(6)) {
        case 0: /* a conflicting earlier value: the last one frames the body */
            put(o, "Content-Length: %zu%sContent-Length: %zu%s", w + 7, eol, w, eol);
            note(c, "conflicting CL");
            break;
        case 1:
            put(o, "Content-Length: 000%zu%s", w, eol);
            note(c, "CL leading zeros");
            break;
        case 2:
            put(o, "Content-Length:  %zu \t%s", w, eol);
            break;
        default:
            put(o, "Content-Length: %zu%s", w, eol);
        }
        put(o, "%s", eol);
        put_bytes(o, body, w);
        return (long)n;
    }
    /* chunked: the final coding decides; a Content-Length beside it is ignored */
    static const char *const te[] = { "chunked", "Chunked", "gzip, chunked", "chunked;", "identity, chunked" };
    put(o, "Transfer-Encoding: %s%s", te[rnd(5)], eol);
    if (rnd(3) == 0) {
        put(o, "Content-Length: %u%s", 1 + rnd(99), eol);
        note(c, "TE+CL");
    }
    put(o, "%s", eol);
    size_t at = 0;
    while (at < w) {
        size_t k = 1 + rnd(700);
        if (k > w - at)
            k = w - at;
        while (at + k < w && body[at + k] == '\n') /* no LF right after a bare CR line end (make_body) */
            k++;
        switch (rnd(4)) {
        case 0: put(o, "%zX;ext=\"v\"%s", k, eol); break;
        case 1: put(o, "000%zx%s", k, eol); break;
        case 2: put(o, "%zx ; a=b%s", k, eol); break;
        default: put(o, "%zx%s", k, eol);
        }
        put_bytes(o, body + at, k);
        put(o, "%s", eol);
        at += k;
    }
    put(o, "%s%s", rnd(2) ? "0" : "00000000000000000000", eol);
    if (rnd(3) == 0)
        put(o, "X-Trailer: t%s", eol);
    put(o, "%s", eol);
    (void)request;
    return (long)n;
}

/* One request/response pair appended to the two directions; fills the model's transaction. */
static void gen_tx(conn_case *c, out *q, out *s, bool last)
{
    model_tx *m = &c->tx[c->ntx++];
    static const char *const eols[] = { "\r\n", "\r\n", "\r\n", "\n", "\r" }; /* CRLF, bare LF, bare CR */
    const char *qeol = eols[rnd(5)];
    const char *seol = eols[rnd(5)];
    int shape = (int)rnd(10);
    bool head = false, connect = false;
    if (shape == 0) {
        strcpy(m->method, "OPTIONS");
        strcpy(m->uri, "*");
    } else if (shape == 1) {
        strcpy(m->method, "CONNECT");
        snprintf(m->uri, sizeof m->uri, "host%u.example:443", rnd(100));
        connect = true;
    } else if (shape == 2) {
        strcpy(m->method, "HEAD");
        random_path(m->uri, false);
        head = true;
    } else {
        random_method(m->method);
        random_path(m->uri, rnd(8) == 0);
    }
    static const char *const gaps[] = { " ", "  ", "\t", " \t " };
    static const char *const versions[] = { "HTTP/1.1", "HTTP/1.0", "http/1.1" };
    put(q, "%s%s%s%s%s%s", m->method, gaps[rnd(4)], m->uri, gaps[rnd(2)], versions[rnd(3)], qeol);
    put(q, "Host: h%u.example%s", rnd(10), qeol);
    if (rnd(4) == 0) {
        put(q, "X-Folded: one%s two%s", qeol, qeol); /* obs-fold */
        note(c, "fold");
    }
    if (rnd(5) == 0) {
        put(q, "Content-Length: -%u%s", 1 + rnd(50), qeol); /* not a length: no body */
        note(c, "negative CL");
    }
    int rkind = connect || head ? 0 : (int)rnd(3);
    if (rkind && m->method[0] == 'G' && rnd(2))
        rkind = 0;
    if (rkind) {
        m->req_len = frame_body(c, q, qeol, rkind, true, rnd(5) == 0);
    } else {
        put(q, "%s", qeol);
        m->req_len = 0;
    }
    /* the answer */
    if (rnd(6) == 0)
        put(s, "HTTP/1.1 100 Continue%s%s", seol, seol);
    static const int codes[] = { 200, 200, 201, 204, 304, 404, 500, 302 };
    m->status = connect ? 407 : codes[rnd(8)];
    put(s, "HTTP/1.%c %d%s%s", rnd(4) ? '1' : '0', m->status, rnd(5) ? " Some Reason" : "", seol);
    put(s, "Server: t%s", seol);
    bool no_body = head || m->status == 204 || m->status == 304;
    if (no_body) {
        if (rnd(2))
            put(s, "Content-Length: %u%s", 10 + rnd(1000), seol); /* not sent: HEAD, 204, 304 */
        put(s, "%s", seol);
        m->resp_len = 0;
        return;
    }
    int kind = 1 + (int)rnd(2);
    if (last && rnd(4) == 0) { /* delimited by the close */
        char body[2048];
        size_t n = 1 + rnd(2000);
        make_body(body, n, false);
        put(s, "Connection: close%s%s", seol, seol);
        put_bytes(s, body, n);
        m->resp_len = (long)n;
        note(c, "to close");
        return;
    }
    m->resp_len = frame_body(c, s, seol, kind, false, rnd(4) == 0);
}

static void gen_case(conn_case *c, uint32_t seed)
{
    memset(c, 0, sizeof *c);
    rng_state = seed;
    out q = { malloc(BUF), 0 }, s = { malloc(BUF), 0 };
    int n = 1 + (int)rnd(MAX_TX);
    for (int i = 0; i < n; i++)
        gen_tx(c, &q, &s, i == n - 1);
    c->client = q.p;
    c->clen = q.len;
    c->server = s.p;
    c->slen = s.len;
}

/* ---- running moonshark ------------------------------------------------------------------- */

enum { SEG_WHOLE, SEG_BYTES, SEG_3, SEG_7, SEG_RANDOM, SEG_MODES };
static const char *const seg_names[SEG_MODES] = { "whole", "bytewise", "3-byte", "7-byte", "random 1-40" };

static void feed(ms_lua_conn *lc, int dir, const char *p, size_t len, int mode, uint64_t ts, uint32_t *r)
{
    size_t i = 0;
    while (i < len) {
        size_t n = mode == SEG_BYTES ? 1 : mode == SEG_3 ? 3 : mode == SEG_7 ? 7 : len;
        if (mode == SEG_RANDOM) {
            *r = *r * 1103515245u + 12345u;
            n = 1 + (*r >> 16) % 40;
        }
        if (n > len - i)
            n = len - i;
        assert_int_equal(ms_lua_conn_feed(lc, dir, (const uint8_t *)p + i, n, ts), 0);
        i += n;
    }
}

/* The value of "key": in a JSON line as a string (quotes dropped) or number; "" when absent. */
static void field(const char *line, const char *key, char *v, size_t size)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(line, k);
    v[0] = 0;
    if (!p)
        return;
    p += strlen(k);
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"' && n + 1 < size) {
            if (*p == '\\' && p[1]) { /* \t in a set or string: keep the escaped character */
                p++;
                v[n++] = *p == 't' ? '\t' : *p;
                p++;
                continue;
            }
            v[n++] = *p++;
        }
    } else {
        while (*p && *p != ',' && *p != '}' && n + 1 < size)
            v[n++] = *p++;
    }
    v[n] = 0;
}

static void check_case(const conn_case *c, int mode, uint32_t seed)
{
    char *buf = NULL;
    size_t blen = 0;
    FILE *fp = open_memstream(&buf, &blen);
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
    memset(&info, 0, sizeof info);
    info.uid = "CProp";
    info.client.family = info.server.family = 4;
    info.client.port = 40000;
    info.server.port = 80;
    info.protocol = "http";
    info.ts_ns = 1000000000000ULL;
    ms_lua_conn *lc = ms_lua_conn_open(rt, &info);
    uint32_t r = seed;
    /* every request first (pipelining), then every answer */
    feed(lc, MS_LUA_CLIENT, c->client, c->clen, mode, 1001000000000ULL, &r);
    ms_lua_conn_end(lc, MS_LUA_CLIENT); /* a bare CR last in the stream is a line end only at its end */
    feed(lc, MS_LUA_SERVER, c->server, c->slen, mode, 1002000000000ULL, &r);
    ms_lua_conn_end(lc, MS_LUA_SERVER);
    ms_lua_conn_close(lc, "fin");
    uint64_t errors = ms_lua_get_stats(rt)->script_errors;
    ms_lua_free(rt);
    fclose(fp);
    char *copy = strdup(buf ? buf : "");
    int k = 0;
    bool bad = errors != 0;
    char why[256] = "";
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] != '{')
            continue;
        char v[128];
        if (k >= c->ntx) {
            bad = true;
            snprintf(why, sizeof why, "extra record %s", line);
            break;
        }
        const model_tx *m = &c->tx[k++];
        char want[64];
        field(line, "method", v, sizeof v);
        if (strcmp(v, m->method)) { bad = true; snprintf(why, sizeof why, "method %s, model %s", v, m->method); }
        field(line, "uri", v, sizeof v);
        if (strcmp(v, m->uri)) { bad = true; snprintf(why, sizeof why, "uri '%s', model '%s'", v, m->uri); }
        field(line, "request_body_len", v, sizeof v);
        snprintf(want, sizeof want, "%ld", m->req_len);
        if (strcmp(v, want)) { bad = true; snprintf(why, sizeof why, "request_body_len %s, model %s", v, want); }
        field(line, "response_body_len", v, sizeof v);
        snprintf(want, sizeof want, "%ld", m->resp_len);
        if (strcmp(v, want)) { bad = true; snprintf(why, sizeof why, "response_body_len %s, model %s", v, want); }
        field(line, "status_code", v, sizeof v);
        snprintf(want, sizeof want, "%d", m->status);
        if (strcmp(v, want)) { bad = true; snprintf(why, sizeof why, "status_code %s, model %s", v, want); }
        if (bad) {
            snprintf(why + strlen(why), sizeof why - strlen(why), " (record %d)", k);
            break;
        }
    }
    if (!bad && k != c->ntx) {
        bad = true;
        snprintf(why, sizeof why, "%d records, model %d", k, c->ntx);
    }
    if (bad) {
        print_error("seed %u, segmentation %s: %s; %llu script errors; generated: %s\n", seed, seg_names[mode], why,
                    (unsigned long long)errors, c->desc);
        if (getenv("HTTP_PROPERTY_DUMP")) { /* the case's bytes and our records, to look at */
            FILE *d = fopen(getenv("HTTP_PROPERTY_DUMP"), "w");
            if (d) {
                fprintf(d, "== client\n%.*s\n== server\n%.*s\n== records\n%s\n", (int)c->clen, c->client, (int)c->slen,
                        c->server, copy);
                fclose(d);
            }
        }
        free(buf);
        free(copy);
        fail();
    }
    free(buf);
    free(copy);
}

static void test_generated_exchanges_match_the_rules_model(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 400; seed++) {
        conn_case c;
        gen_case(&c, seed * 2654435761u);
        for (int mode = 0; mode < SEG_MODES; mode++)
            check_case(&c, mode, seed);
        free(c.client);
        free(c.server);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_exchanges_match_the_rules_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
