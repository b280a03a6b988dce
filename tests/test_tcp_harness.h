/* test_tcp_harness.h — a recording stream for the TCP assembler tests: every callback appends a
 * line to a log the tests compare exactly, and delivered bytes pile up per direction.
 * Header-only (static inline) so each test_tcp_*.c binary carries its own copy. */
#ifndef TEST_TCP_HARNESS_H
#define TEST_TCP_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"
#include "tcp/tcp.h"

#define REC_LOG 16384
#define REC_BYTES (1 << 16)

typedef enum keep_policy {
    KEEP_NONE = 0,   /* consume everything */
    KEEP_LAST_N,     /* keep the last keep_n bytes of every view */
    KEEP_ALL_UNTIL,  /* keep everything until the view holds keep_n bytes, then consume all */
} keep_policy;

typedef struct rec {
    char log[REC_LOG];
    size_t loglen;
    uint8_t *bytes[2];          /* new bytes delivered per direction (kept bytes not repeated) */
    size_t nbytes[2];
    int news, completes, datas;
    ms_tcp_close_reason reason;
    keep_policy keep;
    uint64_t keep_n;
    bool force_start;           /* accept() forces a start */
    bool reject_payload;        /* accept() rejects segments with payload */
    bool log_data;              /* write data lines into the log (default on) */
    bool quiet_new;             /* leave "new" lines out of the log */
    uint64_t now;               /* capture time of the next segment */
    uint64_t frames;            /* segments fed so far: the next one's frame index (names connections) */
    ms_tcp_assembler *a;
    ms_flow_key key;            /* 10.0.0.1:1234 (client, side a) <-> 10.0.0.2:80 */
    ms_tcp_conn_info info;      /* copy of the connection facts at complete() */
} rec;

static inline void rec_logf(rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->log + r->loglen, REC_LOG - r->loglen, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->loglen = MS_MIN(r->loglen + (size_t)n, (size_t)REC_LOG - 1);
}

static inline void *rec_new_stream(void *factory, ms_tcp_conn *conn, const ms_tcp_segment *first, int dir)
{
    rec *r = factory;
    r->news++;
    if (!r->quiet_new)
        rec_logf(r, "new %c\n", dir == MS_TCP_CLIENT ? 'c' : 's');
    return r;
}

static inline bool rec_accept(void *stream, const ms_tcp_segment *seg, int dir, uint32_t next_seq, bool *force)
{
    rec *r = stream;
    if (r->reject_payload && seg->len > 0)
        return false;
    if (r->force_start)
        *force = true;
    return true;
}

static inline void rec_data(void *stream, ms_tcp_view *v)
{
    rec *r = stream;
    r->datas++;
    size_t n = (size_t)v->len;
    char *buf = malloc(n + 1);
    ms_tcp_view_copy(v, 0, buf, n);
    buf[n] = '\0';
    int d = v->dir;
    size_t fresh = (size_t)(v->len - v->kept);
    if (r->nbytes[d] + fresh <= REC_BYTES) {
        memcpy(r->bytes[d] + r->nbytes[d], buf + v->kept, fresh);
        r->nbytes[d] += fresh;
    }
    if (r->log_data)
        rec_logf(r, "%c%s%s skip=%lld kept=%llu '%s'\n", d == MS_TCP_CLIENT ? 'c' : 's', v->start ? " start" : "",
                 v->end ? " end" : "", (long long)v->skip, (unsigned long long)v->kept, buf);
    free(buf);
    if (r->keep == KEEP_LAST_N && v->len > r->keep_n)
        ms_tcp_keep_from(v, v->len - r->keep_n);
    else if (r->keep == KEEP_LAST_N)
        ms_tcp_keep_from(v, 0);
    else if (r->keep == KEEP_ALL_UNTIL && v->len < r->keep_n)
        ms_tcp_keep_from(v, 0);
}

static inline void rec_complete(void *stream, ms_tcp_conn *conn, ms_tcp_close_reason reason)
{
    rec *r = stream;
    r->completes++;
    r->reason = reason;
    r->info = *ms_tcp_conn_get_info(conn);
    rec_logf(r, "complete %s\n", ms_tcp_close_reason_name(reason));
}

static const ms_tcp_stream_ops rec_ops = { rec_new_stream, rec_accept, rec_data, rec_complete };

static inline void rec_key(ms_flow_key *k, uint8_t client_last_octet, uint16_t client_port)
{
    memset(k, 0, sizeof *k);
    k->family = 4;
    k->proto = 6;
    k->a_addr[0] = 10;
    k->a_addr[3] = client_last_octet; /* 10.0.0.1 sorts before 10.0.0.200 */
    k->b_addr[0] = 10;
    k->b_addr[3] = 200;
    k->a_port = client_port;
    k->b_port = 80;
}

static inline rec *rec_new(const ms_tcp_opts *opts)
{
    rec *r = calloc(1, sizeof *r);
    r->bytes[0] = malloc(REC_BYTES);
    r->bytes[1] = malloc(REC_BYTES);
    r->log_data = true;
    r->now = 1000000000ULL;
    r->a = ms_tcp_assembler_new(opts, &rec_ops, r);
    rec_key(&r->key, 1, 1234);
    return r;
}

static inline void rec_free(rec *r)
{
    ms_tcp_assembler_free(r->a);
    free(r->bytes[0]);
    free(r->bytes[1]);
    free(r);
}

/* Sends a segment from the client ('c') or server ('s') of r->key; time advances 1 ms each. */
static inline void seg_n(rec *r, char who, uint32_t seq, uint8_t flags, const void *data, size_t len)
{
    ms_tcp_segment s = { .seq = seq, .ack = 0, .flags = flags, .payload = data, .len = (uint32_t)len,
                         .ts_ns = r->now, .frame_index = r->frames++ };
    r->now += 1000000;
    ms_tcp_assemble(r->a, &r->key, who == 'c' ? MS_DIR_A_TO_B : MS_DIR_B_TO_A, &s);
}

static inline void seg(rec *r, char who, uint32_t seq, uint8_t flags, const char *data)
{
    seg_n(r, who, seq, flags, data, data ? strlen(data) : 0);
}

#define SYN MS_TCP_SYN
#define ACK MS_TCP_ACK
#define FIN (MS_TCP_FIN | MS_TCP_ACK)
#define RST MS_TCP_RST
#define PSH (MS_TCP_PSH | MS_TCP_ACK)

/* Client ISN 100, server ISN 500: data starts at 101 and 501. */
static inline void handshake(rec *r)
{
    seg(r, 'c', 100, SYN, NULL);
    seg(r, 's', 500, SYN | ACK, NULL);
    seg(r, 'c', 101, ACK, NULL);
}

/* The per-half identity after everything was flushed (nothing queued). */
static inline bool rec_identity_holds(const ms_tcp_half_stats *s)
{
    return s->bytes_seen == s->bytes_delivered + s->bytes_overlap + s->bytes_discarded;
}

#endif
