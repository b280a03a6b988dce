/* test_dns_tls_parsers.c — protocols/tls.lua and protocols/dns.lua through the runtime's
 * per-connection API, on handshakes and DNS messages built here byte by byte. Each TCP scenario
 * runs under several segmentations (whole steps, one byte at a time, a cut at every offset of
 * every step, 3- and 7-byte pieces, random 1 to 40 bytes) and three interleavings of the two
 * directions (as captured, the client's bytes all first, the server's all first); every run must
 * give the same records, and those records must hold what the bytes say. Expected fingerprints
 * and names come from independent tools: JA3/JA4 hashes from Python's hashlib over strings
 * written out by hand from the JA3 and JA4 specs, the certificate's fingerprint from sha256sum and
 * its names from `openssl x509 -nameopt RFC2253`. */
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

/* ---- building bytes ------------------------------------------------------------------------ */

typedef struct bytes {
    uint8_t p[8192];
    size_t n;
} bytes;

static void put8(bytes *b, unsigned v)
{
    assert_true(b->n < sizeof b->p);
    b->p[b->n++] = (uint8_t)v;
}

static void put16(bytes *b, unsigned v)
{
    put8(b, v >> 8);
    put8(b, v & 0xff);
}

static void put24(bytes *b, unsigned v)
{
    put8(b, v >> 16);
    put16(b, v & 0xffff);
}

static void putmem(bytes *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->p);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void putfill(bytes *b, unsigned v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(b, v);
}

static void putb(bytes *b, const bytes *x)
{
    putmem(b, x->p, x->n);
}

/* A length prefix of `width` bytes (1, 2 or 3) in front of x. */
static void put_vec(bytes *b, int width, const bytes *x)
{
    if (width == 1)
        put8(b, (unsigned)x->n);
    else if (width == 2)
        put16(b, (unsigned)x->n);
    else
        put24(b, (unsigned)x->n);
    putb(b, x);
}

static void put_ext(bytes *b, unsigned type, const bytes *data)
{
    put16(b, type);
    put_vec(b, 2, data);
}

/* A handshake message: type, 3-byte length, body. */
static void put_hs(bytes *b, unsigned type, const bytes *body)
{
    put8(b, type);
    put_vec(b, 3, body);
}

/* A TLS record of content type `type` holding data[from .. from+n). */
static void put_record(bytes *b, unsigned type, unsigned version, const bytes *data, size_t from, size_t n)
{
    put8(b, type);
    put16(b, version);
    put16(b, (unsigned)n);
    putmem(b, data->p + from, n);
}

/* A self-signed certificate made with `openssl req -x509` (EC P-256), subject = issuer =
 * /C=SE/O=Moon, Shark+OU=Lab/CN=tëst.example: a multi-valued RDN, a comma to escape and a
 * non-ASCII letter. */
static const char cert_der[] =
    "\x30\x82\x01\xe4\x30\x82\x01\x89\xa0\x03\x02\x01\x02\x02\x14\x63\x5a\x5c\x9d\xdb\x16\x42\x95\xf6"
    "\x90\x17\xee\x76\x89\x36\xb3\x00\xad\x6a\xf0\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02\x30"
    "\x47\x31\x0b\x30\x09\x06\x03\x55\x04\x06\x13\x02\x53\x45\x31\x20\x30\x0a\x06\x03\x55\x04\x0b\x0c"
    "\x03\x4c\x61\x62\x30\x12\x06\x03\x55\x04\x0a\x0c\x0b\x4d\x6f\x6f\x6e\x2c\x20\x53\x68\x61\x72\x6b"
    "\x31\x16\x30\x14\x06\x03\x55\x04\x03\x0c\x0d\x74\xc3\xab\x73\x74\x2e\x65\x78\x61\x6d\x70\x6c\x65"
    "\x30\x1e\x17\x0d\x32\x36\x31\x32\x30\x34\x31\x39\x35\x39\x34\x31\x5a\x17\x0d\x33\x36\x31\x32\x30"
    "\x31\x31\x39\x35\x39\x34\x31\x5a\x30\x47\x31\x0b\x30\x09\x06\x03\x55\x04\x06\x13\x02\x53\x45\x31"
    "\x20\x30\x0a\x06\x03\x55\x04\x0b\x0c\x03\x4c\x61\x62\x30\x12\x06\x03\x55\x04\x0a\x0c\x0b\x4d\x6f"
    "\x6f\x6e\x2c\x20\x53\x68\x61\x72\x6b\x31\x16\x30\x14\x06\x03\x55\x04\x03\x0c\x0d\x74\xc3\xab\x73"
    "\x74\x2e\x65\x78\x61\x6d\x70\x6c\x65\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08"
    "\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00\x04\x4e\x17\xff\xac\xc2\x97\x14\xc4\xeb\x6d\x45\x22"
    "\xe6\x85\x9d\xc5\x2f\x6a\x55\x9f\x90\xe7\x5d\x64\x8e\xa7\x26\x89\x4f\xfd\xdf\x50\x46\x94\x74\x87"
    "\xf2\x33\x7d\x6e\x62\x05\x4e\x20\x8f\xd1\xcb\x3e\xa0\xa0\x63\x0a\x5c\xb5\xe4\xb8\x7a\xe9\x80\x8e"
    "\x20\x98\x60\x66\xa3\x53\x30\x51\x30\x1d\x06\x03\x55\x1d\x0e\x04\x16\x04\x14\x53\xaf\x5d\xf9\x2c"
    "\x80\xe6\x25\x17\x63\x93\x24\xf8\x5e\x2c\x83\xbf\x86\x94\x43\x30\x1f\x06\x03\x55\x1d\x23\x04\x18"
    "\x30\x16\x80\x14\x53\xaf\x5d\xf9\x2c\x80\xe6\x25\x17\x63\x93\x24\xf8\x5e\x2c\x83\xbf\x86\x94\x43"
    "\x30\x0f\x06\x03\x55\x1d\x13\x01\x01\xff\x04\x05\x30\x03\x01\x01\xff\x30\x0a\x06\x08\x2a\x86\x48"
    "\xce\x3d\x04\x03\x02\x03\x49\x00\x30\x46\x02\x21\x00\xab\x0d\xc7\xb4\xb1\xbe\x46\x43\x02\xa2\x73"
    "\xee\x74\x7c\xcc\x42\xda\x93\xfd\x3f\x06\x1b\x36\x59\xea\x12\xba\x1f\x9b\xe1\x4e\xa0\x02\x21\x00"
    "\xb8\xeb\x7d\xe4\xde\x4a\x19\x6e\x12\xfe\x38\x35\xb3\x9e\xd7\x4b\x99\xd8\xe7\x25\x1b\x2c\x8f\x20"
    "\x7e\x82\x45\x9b\xc7\xd3\xf7\x4a";
#define CERT_LEN 488
static const char cert_sha256[] = "f319010c8193242e11d59bf8240ed2c041c17297c00a63c624d86aee7cfa646e";
static const char cert_name[] = "CN=t\\\\C3\\\\ABst.example,O=Moon\\\\, Shark+OU=Lab,C=SE"; /* as JSON */

/* ---- running a scenario ------------------------------------------------------------------- */

#define MAX_STEPS 16

typedef struct scenario {
    const char *protocol;   /* bundled protocol: "tls" or "dns" */
    uint16_t port;
    bool udp;               /* steps are datagrams */
    int nsteps;
    int dir[MAX_STEPS];
    bytes data[MAX_STEPS];
} scenario;

enum { SEG_WHOLE, SEG_BYTES, SEG_3, SEG_7, SEG_RANDOM, SEG_CUT, SEG_MODES };
static const char *const seg_names[SEG_MODES] = { "whole", "bytewise", "3-byte", "7-byte",
                                                  "random 1-40 (fixed seed)", "one cut" };
enum { ORDER_CAPTURED, ORDER_CLIENT_FIRST, ORDER_SERVER_FIRST, ORDERS };
static const char *const order_names[ORDERS] = { "as captured", "client first", "server first" };

static int add_step(scenario *sc, int dir)
{
    assert_true(sc->nsteps < MAX_STEPS);
    sc->dir[sc->nsteps] = dir;
    sc->data[sc->nsteps].n = 0;
    return sc->nsteps++;
}

static void feed(ms_lua_conn *c, int dir, const bytes *b, int mode, size_t cut, uint64_t ts, uint32_t *rng)
{
    size_t i = 0;
    while (i < b->n) {
        size_t n;
        switch (mode) {
        case SEG_BYTES: n = 1; break;
        case SEG_3: n = 3; break;
        case SEG_7: n = 7; break;
        case SEG_RANDOM:
            *rng = *rng * 1103515245u + 12345u;
            n = 1 + (*rng >> 16) % 40;
            break;
        case SEG_CUT: n = i == 0 && cut > 0 ? cut : b->n - i; break;
        default: n = b->n; break;
        }
        if (n > b->n - i)
            n = b->n - i;
        assert_int_equal(ms_lua_conn_feed(c, dir, b->p + i, n, ts), 0);
        i += n;
    }
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the scenario once and returns its records as JSON lines, sorted (caller frees). The
 * capture time of step i is 1000 + i seconds whatever the order of feeding. */
static char *run(const scenario *sc, int mode, size_t cut, int order, uint64_t *script_errors)
{
    char *out = NULL;
    size_t out_len = 0;
    FILE *fp = open_memstream(&out, &out_len);
    assert_non_null(fp);
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    opts.format = MS_FMT_JSON;
    opts.out = fp;
    ms_err err;
    err.msg[0] = 0;
    ms_lua *rt = ms_lua_new(&opts, &err);
    assert_non_null(rt);
    assert_int_equal(ms_lua_load_builtin(rt, sc->protocol, &err), 0);
    ms_lua_conn_info info;
    memset(&info, 0, sizeof info);
    info.uid = "CTest";
    info.client.family = 4;
    info.client.addr[0] = 192; info.client.addr[1] = 0; info.client.addr[2] = 2; info.client.addr[3] = 10;
    info.client.port = 50000;
    info.server.family = 4;
    info.server.addr[0] = 192; info.server.addr[1] = 0; info.server.addr[2] = 2; info.server.addr[3] = 20;
    info.server.port = sc->port;
    info.udp = sc->udp;
    info.protocol = sc->protocol;
    info.ts_ns = 1000000000000ULL;
    ms_lua_conn *c = ms_lua_conn_open(rt, &info);
    assert_non_null(c);
    uint32_t rng = 20261204u;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < sc->nsteps; i++) {
            int d = sc->dir[i];
            bool now = order == ORDER_CAPTURED ? pass == 0
                     : order == ORDER_CLIENT_FIRST ? (pass == 0) == (d == C)
                     : (pass == 0) == (d == S);
            if (!now)
                continue;
            uint64_t ts = (1000ULL + (uint64_t)i) * 1000000000ULL;
            if (sc->udp)
                ms_lua_datagram(c, d, sc->data[i].p, sc->data[i].n, ts);
            else
                feed(c, d, &sc->data[i], mode, cut, ts, &rng);
        }
        if (!sc->udp && order != ORDER_CAPTURED)
            ms_lua_conn_end(c, order == ORDER_CLIENT_FIRST ? (pass == 0 ? C : S) : (pass == 0 ? S : C));
    }
    if (!sc->udp && order == ORDER_CAPTURED) {
        ms_lua_conn_end(c, C);
        ms_lua_conn_end(c, S);
    }
    ms_lua_conn_close(c, "fin");
    *script_errors = ms_lua_get_stats(rt)->script_errors;
    ms_lua_free(rt);
    fclose(fp);
    char *lines[64];
    int n = 0;
    char *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, (size_t)n, sizeof lines[0], cmp_lines);
    size_t total = 1;
    for (int i = 0; i < n; i++)
        total += strlen(lines[i]) + 1;
    char *sorted = malloc(total);
    assert_non_null(sorted);
    sorted[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(sorted, lines[i]);
        strcat(sorted, "\n");
    }
    free(out);
    return sorted;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Runs every segmentation and interleaving (UDP: each interleaving once) and checks that all give
 * the records of the captured order fed whole; returns those (caller frees). */
static char *run_all(const scenario *sc)
{
    uint64_t errs = 0;
    char *ref = run(sc, SEG_WHOLE, 0, ORDER_CAPTURED, &errs);
    assert_int_equal(errs, 0);
    size_t longest = 0;
    for (int i = 0; i < sc->nsteps; i++)
        longest = sc->data[i].n > longest ? sc->data[i].n : longest;
    for (int order = 0; order < (sc->udp ? 1 : ORDERS); order++) {
        for (int mode = 0; mode < (sc->udp ? 1 : SEG_MODES); mode++) {
            size_t cuts = mode == SEG_CUT ? longest : 1;
            for (size_t cut = 1; cut <= cuts; cut++) {
                if (mode == SEG_CUT && order != ORDER_CAPTURED && cut % 17 != 0)
                    continue; /* every offset as captured; a sample in the other orders */
                char *got = run(sc, mode, cut, order, &errs);
                if (strcmp(got, ref) != 0 || errs != 0) {
                    print_error("%s, %s (cut %zu), %llu script errors:\n%s\nbut fed whole:\n%s\n", seg_names[mode],
                                order_names[order], cut, (unsigned long long)errs, got, ref);
                    free(got);
                    free(ref);
                    fail();
                }
                free(got);
            }
        }
    }
    return ref;
}

/* The record line of out that has `key` (a JSON fragment), or fails. */
static const char *record_with(const char *out, const char *key)
{
    const char *at = strstr(out, key);
    if (!at) {
        print_error("no record with %s in\n%s\n", key, out);
        fail();
    }
    while (at > out && at[-1] != '\n')
        at--;
    return at;
}

/* Fails unless the record line starting at rec has every fragment (NULL-terminated). */
static void expect_fields(const char *rec, const char *const *frags)
{
    const char *end = strchr(rec, '\n');
    size_t len = end ? (size_t)(end - rec) : strlen(rec);
    for (int i = 0; frags[i]; i++) {
        const char *f = strstr(rec, frags[i]);
        if (!f || f >= rec + len) {
            print_error("missing %s in\n%.*s\n", frags[i], (int)len, rec);
            fail();
        }
    }
}

/* Fails when the record line at rec has the key (an unset field must be left out of JSON). */
static void expect_unset(const char *rec, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *end = strchr(rec, '\n');
    const char *f = strstr(rec, k);
    if (f && (!end || f < end)) {
        print_error("%s should be unset in\n%.*s\n", key, end ? (int)(end - rec) : (int)strlen(rec), rec);
        fail();
    }
}

/* ---- TLS ------------------------------------------------------------------------------------ */

static void client_hello(bytes *hs)
{
    bytes body = { .n = 0 }, v = { .n = 0 }, e = { .n = 0 }, exts = { .n = 0 };
    put16(&body, 0x0303);
    putfill(&body, 0x11, 32);                       /* random */
    put8(&body, 32);
    putfill(&body, 0x22, 32);                       /* session id */
    v.n = 0;
    put16(&v, 0x0a0a); put16(&v, 0x1301); put16(&v, 0x1302); put16(&v, 0xc02f); put16(&v, 0xc030);
    put16(&v, 0x00ff);
    put_vec(&body, 2, &v);
    put8(&body, 1); put8(&body, 0);                 /* compression: null */
    e.n = 0; put_ext(&exts, 0x1a1a, &e);            /* GREASE */
    v.n = 0; put8(&v, 0); put16(&v, 11); putmem(&v, "example.com", 11);
    e.n = 0; put_vec(&e, 2, &v); put_ext(&exts, 0x0000, &e);
    e.n = 0; put_ext(&exts, 0x0017, &e);            /* extended_master_secret */
    v.n = 0; put16(&v, 0x2a2a); put16(&v, 0x001d); put16(&v, 0x0017);
    e.n = 0; put_vec(&e, 2, &v); put_ext(&exts, 0x000a, &e);
    v.n = 0; put8(&v, 0);
    e.n = 0; put_vec(&e, 1, &v); put_ext(&exts, 0x000b, &e);
    v.n = 0; put16(&v, 0x0403); put16(&v, 0x0804); put16(&v, 0x0401);
    e.n = 0; put_vec(&e, 2, &v); put_ext(&exts, 0x000d, &e);
    v.n = 0; put8(&v, 2); putmem(&v, "h2", 2); put8(&v, 8); putmem(&v, "http/1.1", 8);
    e.n = 0; put_vec(&e, 2, &v); put_ext(&exts, 0x0010, &e);
    v.n = 0; put16(&v, 0x3a3a); put16(&v, 0x0304); put16(&v, 0x0303);
    e.n = 0; put_vec(&e, 1, &v); put_ext(&exts, 0x002b, &e);
    e.n = 0; put_ext(&exts, 0x0023, &e);            /* session_ticket, empty */
    put_vec(&body, 2, &exts);
    put_hs(hs, 1, &body);
}

static void server_flight(bytes *hs)
{
    bytes body = { .n = 0 }, v = { .n = 0 }, e = { .n = 0 }, exts = { .n = 0 }, chain = { .n = 0 };
    put16(&body, 0x0303);
    putfill(&body, 0x33, 32);
    put8(&body, 32);
    putfill(&body, 0x44, 32);                       /* another session id: not resumed */
    put16(&body, 0xc02f);
    put8(&body, 0);
    v.n = 0; put8(&v, 0); put_ext(&exts, 0xff01, &v);
    v.n = 0; put8(&v, 0); e.n = 0; put_vec(&e, 1, &v); put_ext(&exts, 0x000b, &e);
    v.n = 0; put8(&v, 2); putmem(&v, "h2", 2); e.n = 0; put_vec(&e, 2, &v); put_ext(&exts, 0x0010, &e);
    e.n = 0; put_ext(&exts, 0x0017, &e);
    put_vec(&body, 2, &exts);
    put_hs(hs, 2, &body);
    /* Certificate: one certificate */
    v.n = 0; putmem(&v, cert_der, CERT_LEN);
    chain.n = 0; put_vec(&chain, 3, &v);
    body.n = 0; put_vec(&body, 3, &chain);
    put_hs(hs, 11, &body);
    /* ServerKeyExchange: named curve x25519, a point, a signature */
    body.n = 0; put8(&body, 3); put16(&body, 0x001d); put8(&body, 32); putfill(&body, 0x55, 32);
    put16(&body, 0x0403); put16(&body, 4); putfill(&body, 0x66, 4);
    put_hs(hs, 12, &body);
    body.n = 0;
    put_hs(hs, 14, &body);                          /* ServerHelloDone */
}

/* A TLS 1.2 handshake: the ClientHello alone in a record; the server's flight in two records cut
 * inside the Certificate message (one message over two records, several messages in one); key
 * exchange, CCS and an encrypted Finished each way, a session ticket, application data. */
static void tls12_scenario(scenario *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->protocol = "tls";
    sc->port = 443;
    bytes hs = { .n = 0 }, b = { .n = 0 };
    client_hello(&hs);
    int i = add_step(sc, C);
    put_record(&sc->data[i], 22, 0x0301, &hs, 0, hs.n);
    hs.n = 0;
    server_flight(&hs);
    i = add_step(sc, S);
    size_t half = 200;
    put_record(&sc->data[i], 22, 0x0303, &hs, 0, half);
    put_record(&sc->data[i], 22, 0x0303, &hs, half, hs.n - half);
    i = add_step(sc, C);
    hs.n = 0; b.n = 0; put8(&b, 32); putfill(&b, 0x77, 32); put_hs(&hs, 16, &b);
    put_record(&sc->data[i], 22, 0x0303, &hs, 0, hs.n);
    b.n = 0; put8(&b, 1);
    put_record(&sc->data[i], 20, 0x0303, &b, 0, 1);
    b.n = 0; putfill(&b, 0x88, 40);                 /* encrypted Finished */
    put_record(&sc->data[i], 22, 0x0303, &b, 0, b.n);
    i = add_step(sc, S);
    hs.n = 0; b.n = 0; put16(&b, 0); put16(&b, 7200); put16(&b, 16); putfill(&b, 0x99, 16);
    put_hs(&hs, 4, &b);                             /* NewSessionTicket */
    put_record(&sc->data[i], 22, 0x0303, &hs, 0, hs.n);
    b.n = 0; put8(&b, 1);
    put_record(&sc->data[i], 20, 0x0303, &b, 0, 1);
    b.n = 0; putfill(&b, 0xaa, 40);
    put_record(&sc->data[i], 22, 0x0303, &b, 0, b.n);
    b.n = 0; putfill(&b, 0xbb, 300);
    put_record(&sc->data[i], 23, 0x0303, &b, 0, b.n);
    i = add_step(sc, C);
    b.n = 0; putfill(&b, 0xcc, 100);
    put_record(&sc->data[i], 23, 0x0303, &b, 0, b.n);
}

static void test_tls12_handshake_fields_under_every_segmentation(void **state)
{
    (void)state;
    scenario sc;
    tls12_scenario(&sc);
    char *out = run_all(&sc);
    assert_int_equal(count_lines(out), 1);
    char subject[160], issuer[160], fps[120];
    snprintf(subject, sizeof subject, "\"subject\":\"%s\"", cert_name);
    snprintf(issuer, sizeof issuer, "\"issuer\":\"%s\"", cert_name);
    snprintf(fps, sizeof fps, "\"cert_chain_fps\":[\"%s\"]", cert_sha256);
    const char *const want[] = {
        "\"ts\":1000.000000", "\"uid\":\"CTest\"", "\"id.orig_h\":\"192.0.2.10\"", "\"id.resp_p\":443",
        "\"version\":\"TLSv12\"", "\"cipher\":\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\"",
        "\"curve\":\"x25519\"", "\"server_name\":\"example.com\"", "\"resumed\":false",
        "\"next_protocol\":\"h2\"", "\"established\":true", "\"ssl_history\":\"CsxknGIti\"",
        fps, subject, issuer,
        /* md5("771,4865-4866-49199-49200-255,0-23-10-11-13-16-43-35,29-23,0"): GREASE left out */
        "\"ja3\":\"d20b13b1a02437764162584ed36f53b3\"",
        /* md5("771,49199,65281-11-16-23") */
        "\"ja3s\":\"27eabd2e03c903c0e38682b67d24b578\"",
        /* t13d0508h2: TLS 1.3 offered, SNI, 5 ciphers and 8 extensions without GREASE, ALPN h2;
         * sha256("00ff,1301,1302,c02f,c030") and sha256("000a,000b,000d,0017,0023,002b_0403,0804,0401") */
        "\"ja4\":\"t13d0508h2_8f1d35f4f097_4047f81a2e58\"",
        NULL,
    };
    expect_fields(out, want);
    expect_unset(out, "tags");
    expect_unset(out, "last_alert");
    expect_unset(out, "client_cert_chain_fps");
    free(out);
}

/* The server echoes the client's session id and sends no certificate: a resumed session, and a
 * fatal alert from the client before any CCS ends it unestablished. */
static void test_tls_resumption_and_alert(void **state)
{
    (void)state;
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.protocol = "tls";
    sc.port = 443;
    bytes hs = { .n = 0 }, body = { .n = 0 };
    client_hello(&hs);
    int i = add_step(&sc, C);
    put_record(&sc.data[i], 22, 0x0301, &hs, 0, hs.n);
    put16(&body, 0x0303);
    putfill(&body, 0x33, 32);
    put8(&body, 32);
    putfill(&body, 0x22, 32);                       /* the client's session id */
    put16(&body, 0xc030);
    put8(&body, 0);
    hs.n = 0;
    put_hs(&hs, 2, &body);
    i = add_step(&sc, S);
    put_record(&sc.data[i], 22, 0x0303, &hs, 0, hs.n);
    i = add_step(&sc, C);
    body.n = 0; put8(&body, 2); put8(&body, 40);   /* fatal handshake_failure */
    put_record(&sc.data[i], 21, 0x0303, &body, 0, body.n);
    char *out = run_all(&sc);
    assert_int_equal(count_lines(out), 1);
    const char *const want[] = {
        "\"cipher\":\"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\"", "\"resumed\":true",
        "\"last_alert\":\"handshake_failure\"", "\"established\":false", "\"ssl_history\":\"CsL\"",
        "\"ja3s\":", NULL,
    };
    expect_fields(out, want);
    expect_unset(out, "curve");
    expect_unset(out, "subject");
    free(out);
}

/* A TLS 1.3 ServerHello (legacy version 1.2, supported_versions 1.3, key_share group); with
 * hrr the HelloRetryRequest form (its fixed random, the group alone). */
static void tls13_server_hello(bytes *hs, bool hrr, unsigned group)
{
    static const uint8_t hrr_random[32] = {
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
        0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c };
    bytes body = { .n = 0 }, e = { .n = 0 }, exts = { .n = 0 };
    put16(&body, 0x0303);
    if (hrr)
        putmem(&body, hrr_random, 32);
    else
        putfill(&body, 0x5e, 32);
    put8(&body, 32);
    putfill(&body, 0x22, 32);                       /* the client's legacy session id, echoed */
    put16(&body, 0x1302);
    put8(&body, 0);
    e.n = 0; put16(&e, 0x0304); put_ext(&exts, 0x002b, &e);
    e.n = 0; put16(&e, group);
    if (!hrr) { put16(&e, 32); putfill(&e, 0x6b, 32); }
    put_ext(&exts, 0x0033, &e);
    put_vec(&body, 2, &exts);
    put_hs(hs, 2, &body);
}

/* TLS 1.3 with a HelloRetryRequest and the compatibility ChangeCipherSpecs (RFC 8446 D.4): the
 * hellos after a CCS are still in the clear, what follows the real ServerHello is ciphertext. The
 * session id is echoed, as TLS 1.3 always does: not a resumption. */
static void test_tls13_retry_request_and_compat_ccs(void **state)
{
    (void)state;
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.protocol = "tls";
    sc.port = 443;
    bytes hs = { .n = 0 }, b = { .n = 0 };
    client_hello(&hs);
    int i = add_step(&sc, C);
    put_record(&sc.data[i], 22, 0x0301, &hs, 0, hs.n);
    i = add_step(&sc, S);
    bytes srv = { .n = 0 };
    tls13_server_hello(&srv, true, 0x0017);
    put_record(&sc.data[i], 22, 0x0303, &srv, 0, srv.n);
    b.n = 0; put8(&b, 1);
    put_record(&sc.data[i], 20, 0x0303, &b, 0, 1);
    i = add_step(&sc, C);
    put_record(&sc.data[i], 20, 0x0303, &b, 0, 1);
    put_record(&sc.data[i], 22, 0x0303, &hs, 0, hs.n);   /* the second ClientHello */
    i = add_step(&sc, S);
    srv.n = 0;
    tls13_server_hello(&srv, false, 0x0017);
    put_record(&sc.data[i], 22, 0x0303, &srv, 0, srv.n);
    bytes enc = { .n = 0 };
    putfill(&enc, 0x01, 60);                         /* EncryptedExtensions ... Finished */
    put_record(&sc.data[i], 23, 0x0303, &enc, 0, enc.n);
    i = add_step(&sc, C);
    put_record(&sc.data[i], 23, 0x0303, &enc, 0, 40);
    char *out = run_all(&sc);
    assert_int_equal(count_lines(out), 1);
    const char *const want[] = {
        "\"version\":\"TLSv13\"", "\"cipher\":\"TLS_AES_256_GCM_SHA384\"", "\"curve\":\"secp256r1\"",
        "\"resumed\":false", "\"established\":true", "\"ssl_history\":\"CjiICs\"",
        "\"ja3\":\"d20b13b1a02437764162584ed36f53b3\"", NULL,
    };
    expect_fields(out, want);
    free(out);
}

/* Hostile bytes: a record header that is not TLS, a hello whose lengths run past its end, a
 * handshake message longer than its records. Tagged, never a script error (run_all checks). */
static void test_tls_malformed_input_is_tagged(void **state)
{
    (void)state;
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.protocol = "tls";
    sc.port = 443;
    int i = add_step(&sc, C);
    putmem(&sc.data[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);   /* not TLS */
    char *out = run_all(&sc);
    assert_int_equal(count_lines(out), 0);          /* no hello read: no record */
    free(out);

    memset(&sc, 0, sizeof sc);
    sc.protocol = "tls";
    sc.port = 443;
    bytes hs = { .n = 0 }, body = { .n = 0 };
    put16(&body, 0x0303);
    putfill(&body, 0x11, 32);
    put8(&body, 0);
    put16(&body, 400);                               /* a cipher list longer than the hello */
    put16(&body, 0x1301);
    put_hs(&hs, 1, &body);
    i = add_step(&sc, C);
    put_record(&sc.data[i], 22, 0x0301, &hs, 0, hs.n);
    hs.n = 0;
    body.n = 0;
    putfill(&body, 0x5a, 100);
    put8(&hs, 11);
    put24(&hs, 5000);                                /* a Certificate that never completes */
    putb(&hs, &body);
    i = add_step(&sc, S);
    put_record(&sc.data[i], 22, 0x0303, &hs, 0, hs.n);
    putmem(&sc.data[i], "\x16\x09\x09\x00\x10", 5);  /* then a record that is not TLS */
    out = run_all(&sc);
    assert_int_equal(count_lines(out), 1);
    const char *const want[] = { "\"tags\":[\"bad_hello\",\"bad_record\"]", "\"established\":false", NULL };
    expect_fields(out, want);
    expect_unset(out, "ja3");
    expect_unset(out, "version");
    free(out);
}

/* ---- DNS -------------------------------------------------------------------------------------- */

static void put_name(bytes *b, const char *dotted)
{
    const char *p = dotted;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        put8(b, (unsigned)l);
        putmem(b, p, l);
        p += l + (dot ? 1 : 0);
    }
    put8(b, 0);
}

static void dns_header(bytes *m, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
    put16(m, id); put16(m, flags); put16(m, qd); put16(m, an); put16(m, ns); put16(m, ar);
}

static void dns_query(bytes *m, unsigned id, const char *name, unsigned qtype)
{
    dns_header(m, id, 0x0100, 1, 0, 0, 0);
    put_name(m, name);
    put16(m, qtype);
    put16(m, 1);
}

/* A message with its TCP length prefix. */
static void put_tcp_msg(bytes *b, const bytes *m)
{
    put_vec(b, 2, m);
}

static void put_rr_head(bytes *m, unsigned name_ptr, unsigned type, uint32_t ttl, unsigned rdlen)
{
    put16(m, 0xc000 | name_ptr);
    put16(m, type);
    put16(m, 1);
    put16(m, ttl >> 16);
    put16(m, ttl & 0xffff);
    put16(m, rdlen);
}

static void dns_tcp_scenario(scenario *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->protocol = "dns";
    sc->port = 53;
    bytes m;
    int i = add_step(sc, C);                        /* two queries in one segment */
    m.n = 0; dns_query(&m, 0x1111, "www.example.com", 1); put_tcp_msg(&sc->data[i], &m);
    m.n = 0; dns_query(&m, 0x2222, "Example.COM", 15); put_tcp_msg(&sc->data[i], &m);
    i = add_step(sc, S);                            /* the second query answered first */
    m.n = 0;
    dns_header(&m, 0x2222, 0x8580, 1, 1, 0, 0);
    put_name(&m, "example.com");                    /* question name at offset 12 */
    put16(&m, 15); put16(&m, 1);
    put_rr_head(&m, 12, 15, 3600, 2 + 7);
    put16(&m, 10);
    put8(&m, 4); putmem(&m, "mail", 4); put16(&m, 0xc000 | 12);   /* mail.example.com */
    put_tcp_msg(&sc->data[i], &m);
    m.n = 0;
    dns_header(&m, 0x1111, 0x8180, 1, 2, 0, 0);
    put_name(&m, "www.example.com");
    put16(&m, 1); put16(&m, 1);
    put_rr_head(&m, 12, 5, 300, 6);                 /* CNAME web.example.com: "web" + pointer */
    put8(&m, 3); putmem(&m, "web", 3); put16(&m, 0xc000 | 16);
    size_t web = 12 + 17 + 4 + 12;                  /* offset of "web": header, question, RR head */
    put_rr_head(&m, (unsigned)web, 1, 60, 4);
    put8(&m, 192); put8(&m, 0); put8(&m, 2); put8(&m, 1);
    put_tcp_msg(&sc->data[i], &m);
    i = add_step(sc, C);
    m.n = 0; dns_query(&m, 0x3333, "loop.test", 1); put_tcp_msg(&sc->data[i], &m);
    i = add_step(sc, S);                            /* an answer whose name points at itself */
    m.n = 0;
    dns_header(&m, 0x3333, 0x8180, 1, 1, 0, 0);
    put_name(&m, "loop.test");
    put16(&m, 1); put16(&m, 1);
    put16(&m, 0xc000 | (unsigned)m.n);
    put16(&m, 1); put16(&m, 1); put16(&m, 0); put16(&m, 60); put16(&m, 4); putfill(&m, 1, 4);
    put_tcp_msg(&sc->data[i], &m);
    i = add_step(sc, C);                            /* a query cut by the end of the stream */
    m.n = 0; dns_query(&m, 0x4444, "cut.example", 28);
    put16(&sc->data[i], (unsigned)m.n + 20);
    putmem(&sc->data[i], m.p, m.n);
}

static void test_dns_over_tcp_pairs_and_tags_under_every_segmentation(void **state)
{
    (void)state;
    scenario sc;
    dns_tcp_scenario(&sc);
    char *out = run_all(&sc);
    assert_int_equal(count_lines(out), 4);
    const char *r1 = record_with(out, "\"trans_id\":4369");
    const char *const w1[] = { "\"ts\":1000.000000", "\"proto\":\"tcp\"", "\"rtt\":1.000000",
        "\"query\":\"www.example.com\"", "\"qtype\":1", "\"qtype_name\":\"A\"", "\"qclass_name\":\"C_INTERNET\"",
        "\"rcode\":0", "\"rcode_name\":\"NOERROR\"", "\"RD\":true", "\"RA\":true", "\"AA\":false",
        "\"answers\":[\"web.example.com\",\"192.0.2.1\"]", "\"TTLs\":[\"300.000000\",\"60.000000\"]",
        "\"rejected\":false", NULL };
    expect_fields(r1, w1);
    expect_unset(r1, "tags");
    const char *r2 = record_with(out, "\"trans_id\":8738");
    const char *const w2[] = { "\"query\":\"example.com\"", "\"qtype_name\":\"MX\"", "\"AA\":true",
        "\"answers\":[\"mail.example.com\"]", "\"TTLs\":[\"3600.000000\"]", NULL };
    expect_fields(r2, w2);
    const char *r3 = record_with(out, "\"trans_id\":13107");
    const char *const w3[] = { "\"query\":\"loop.test\"", "\"rcode\":0", "\"tags\":[\"bad_name\"]", NULL };
    expect_fields(r3, w3);
    expect_unset(r3, "answers");
    const char *r4 = record_with(out, "\"trans_id\":17476");
    const char *const w4[] = { "\"query\":\"cut.example\"", "\"qtype_name\":\"AAAA\"", "\"tags\":[\"truncated\"]",
        NULL };
    expect_fields(r4, w4);
    expect_unset(r4, "rcode");
    expect_unset(r4, "rtt");
    free(out);
}

static void test_dns_udp_answers_and_malformed_datagrams(void **state)
{
    (void)state;
    scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.protocol = "dns";
    sc.port = 53;
    sc.udp = true;
    int i = add_step(&sc, C);
    dns_query(&sc.data[i], 0x0101, "v6.example", 28);
    i = add_step(&sc, S);
    bytes *m = &sc.data[i];
    dns_header(m, 0x0101, 0x8180, 1, 2, 0, 0);
    put_name(m, "v6.example");
    put16(m, 28); put16(m, 1);
    put_rr_head(m, 12, 28, 30, 16);
    put16(m, 0x2001); put16(m, 0x0db8); putfill(m, 0, 11); put8(m, 1);      /* 2001:db8::1 */
    put_rr_head(m, 12, 16, 30, 12);
    put8(m, 5); putmem(m, "hello", 5); put8(m, 5); putmem(m, "world", 5);    /* TXT, two strings */
    i = add_step(&sc, C);
    putmem(&sc.data[i], "\x01\x02\x03\x04\x05", 5);                          /* not DNS */
    i = add_step(&sc, C);                                                    /* a forward pointer */
    dns_header(&sc.data[i], 0x0303, 0x0100, 1, 0, 0, 0);
    put16(&sc.data[i], 0xc000 | 40);
    put16(&sc.data[i], 1); put16(&sc.data[i], 1);
    i = add_step(&sc, S);                           /* a reply without records: rejected */
    dns_header(&sc.data[i], 0x0404, 0x8183, 1, 0, 0, 0);
    put_name(&sc.data[i], "gone.example");
    put16(&sc.data[i], 1); put16(&sc.data[i], 1);
    i = add_step(&sc, S);                           /* an answer whose data runs past the end */
    dns_header(&sc.data[i], 0x0505, 0x8180, 1, 1, 0, 0);
    put_name(&sc.data[i], "short.example");
    put16(&sc.data[i], 1); put16(&sc.data[i], 1);
    put_rr_head(&sc.data[i], 12, 1, 5, 200);
    put8(&sc.data[i], 1);
    i = add_step(&sc, S);                           /* a reply, and later a query of its id: */
    dns_header(&sc.data[i], 0, 0x8400, 1, 0, 0, 0); /* mDNS-like id 0; a reply cannot answer */
    put_name(&sc.data[i], "early.local");           /* a query sent after it */
    put16(&sc.data[i], 12); put16(&sc.data[i], 1);
    i = add_step(&sc, C);
    dns_query(&sc.data[i], 0, "late.local", 12);
    char *out = run_all(&sc);
    assert_int_equal(count_lines(out), 7);
    const char *r1 = record_with(out, "\"trans_id\":257");
    const char *const w1[] = { "\"proto\":\"udp\"", "\"query\":\"v6.example\"", "\"qtype_name\":\"AAAA\"",
        "\"answers\":[\"2001:db8::1\",\"TXT 5 hello TXT 5 world\"]", "\"TTLs\":[\"30.000000\",\"30.000000\"]",
        "\"rtt\":1.000000", NULL };
    expect_fields(r1, w1);
    const char *const w2[] = { "\"tags\":[\"not_dns\"]", NULL };
    expect_fields(record_with(out, "not_dns"), w2);
    const char *r3 = record_with(out, "\"trans_id\":771");
    const char *const w3[] = { "\"tags\":[\"bad_name\"]", NULL };
    expect_fields(r3, w3);
    expect_unset(r3, "query");
    const char *r4 = record_with(out, "\"trans_id\":1028");
    const char *const w4[] = { "\"query\":\"gone.example\"", "\"rcode_name\":\"NXDOMAIN\"", "\"rejected\":true", NULL };
    expect_fields(r4, w4);
    expect_unset(r4, "rtt");
    const char *r5 = record_with(out, "\"trans_id\":1285");
    const char *const w5[] = { "\"query\":\"short.example\"", "\"tags\":[\"truncated\"]", NULL };
    expect_fields(r5, w5);
    const char *r6 = record_with(out, "\"query\":\"early.local\"");
    const char *const w6[] = { "\"ts\":1006.000000", "\"rcode\":0", "\"AA\":true", NULL };
    expect_fields(r6, w6);
    expect_unset(r6, "rtt");
    const char *r7 = record_with(out, "\"query\":\"late.local\"");
    const char *const w7[] = { "\"ts\":1007.000000", NULL };
    expect_fields(r7, w7);
    expect_unset(r7, "rcode");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls12_handshake_fields_under_every_segmentation),
        cmocka_unit_test(test_tls_resumption_and_alert),
        cmocka_unit_test(test_tls13_retry_request_and_compat_ccs),
        cmocka_unit_test(test_tls_malformed_input_is_tagged),
        cmocka_unit_test(test_dns_over_tcp_pairs_and_tags_under_every_segmentation),
        cmocka_unit_test(test_dns_udp_answers_and_malformed_datagrams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
