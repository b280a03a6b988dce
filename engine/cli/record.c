/* record.c — the recorder: a parser for the dispatcher that keeps every connection as captured
 * (bytes, delivery boundaries, gaps, ends, datagrams, per-byte capture times) and hands each one
 * over when it closes. It consumes every byte, so the assembler never keeps any for it. */
#include "cli/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

struct ms_recorder {
    uint64_t max_bytes;     /* bytes open recordings may hold in all */
    uint64_t held;          /* bytes they hold now */
    uint64_t truncated;     /* connections dropped at the limit */
    ms_rec_done_fn done;
    void *ud;
    ms_parser claims;       /* answers claims_udp_port (the parser being recorded for), or none */
};

int ms_cli_grow(void **p, size_t sz, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * sz);
    if (!np)
        return MS_ENOMEM;
    *p = np;
    *cap = ncap;
    return 0;
}

uint64_t ms_rec_ts_at(const ms_rec_dir *d, uint64_t off)
{
    if (d->nts == 0)
        return 0;
    size_t lo = 0, hi = d->nts; /* the last run starting at or before off */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->ts_off[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return d->ts_ns[lo];
}

static void drop_bytes(ms_rec_conn *rc)
{
    for (int i = 0; i < 2; i++) {
        free(rc->dir[i].bytes);
        free(rc->dir[i].ts_off);
        free(rc->dir[i].ts_ns);
        memset(&rc->dir[i], 0, sizeof rc->dir[i]);
    }
    free(rc->ev);
    rc->ev = NULL;
    rc->nev = rc->ev_cap = 0;
    rc->bytes = 0;
    rc->truncated = true;
}

ms_rec_conn *ms_rec_conn_new(const ms_parser_conn_info *info)
{
    ms_rec_conn *rc = calloc(1, sizeof *rc);
    if (!rc)
        return NULL;
    rc->info = *info;
    snprintf(rc->uid, sizeof rc->uid, "%s", info->uid ? info->uid : "-");
    rc->info.uid = rc->uid;
    rc->info.protocol = NULL;
    rc->reason = "flush";
    return rc;
}

void ms_rec_conn_free(ms_rec_conn *rc)
{
    if (!rc)
        return;
    drop_bytes(rc);
    free(rc);
}

/* Notes that byte off of d came at ts (a new run when the time changes). */
static int note_ts(ms_rec_dir *d, uint64_t off, uint64_t ts)
{
    if (d->nts && d->ts_ns[d->nts - 1] == ts)
        return 0;
    size_t cap = d->ts_cap;
    if (ms_cli_grow((void **)&d->ts_off, sizeof *d->ts_off, &cap, d->nts + 1))
        return MS_ENOMEM;
    cap = d->ts_cap;
    if (ms_cli_grow((void **)&d->ts_ns, sizeof *d->ts_ns, &cap, d->nts + 1))
        return MS_ENOMEM;
    d->ts_cap = cap;
    d->ts_off[d->nts] = off;
    d->ts_ns[d->nts] = ts;
    d->nts++;
    return 0;
}

/* Appends an event and its bytes; per-byte times from ts_fn when given. */
static int add_event(ms_rec_conn *rc, int kind, int dir, const uint8_t *bytes, uint64_t len, uint64_t ts_ns,
                     ms_parser_ts_fn ts_fn, void *ts_ud)
{
    if (rc->truncated)
        return MS_ENOMEM;
    ms_rec_dir *d = &rc->dir[dir & 1];
    if (ms_cli_grow((void **)&rc->ev, sizeof *rc->ev, &rc->ev_cap, rc->nev + 1))
        goto nomem;
    ms_rec_event *e = &rc->ev[rc->nev];
    e->kind = (uint8_t)kind;
    e->dir = (uint8_t)(dir & 1);
    e->off = d->len;
    e->len = len;
    e->ts_ns = ts_fn && len ? ts_fn(ts_ud, 0) : ts_ns;
    if (kind != MS_REC_GAP && len > 0) {
        if (d->len + len > d->cap) {
            uint64_t ncap = d->cap ? d->cap : 4096;
            while (ncap < d->len + len)
                ncap *= 2;
            uint8_t *nb = realloc(d->bytes, ncap);
            if (!nb)
                goto nomem;
            d->bytes = nb;
            d->cap = ncap;
        }
        memcpy(d->bytes + d->len, bytes, len);
        if (ts_fn) {
            for (uint64_t i = 0; i < len; i++)
                if (note_ts(d, d->len + i, ts_fn(ts_ud, i)))
                    goto nomem;
        } else if (note_ts(d, d->len, ts_ns)) {
            goto nomem;
        }
        d->len += len;
        rc->bytes += len;
    }
    if (kind == MS_REC_LAST)
        d->ended = true;
    rc->nev++;
    return 0;
nomem:
    drop_bytes(rc);
    return MS_ENOMEM;
}

int ms_rec_add(ms_rec_conn *rc, int kind, int dir, const uint8_t *bytes, uint64_t len, uint64_t ts_ns)
{
    return add_event(rc, kind, dir, bytes, len, ts_ns, NULL, NULL);
}

/* ---- the recorder as a parser -------------------------------------------------------------- */

typedef struct rec_handle {
    ms_recorder *r;
    ms_rec_conn *rc;
} rec_handle;

static void *op_open(void *impl, const ms_parser_conn_info *info)
{
    rec_handle *h = malloc(sizeof *h);
    ms_rec_conn *rc = ms_rec_conn_new(info);
    if (!h || !rc) {
        free(h);
        ms_rec_conn_free(rc);
        return NULL;
    }
    h->r = impl;
    h->rc = rc;
    return h;
}

/* Records an event unless it would pass the recorder's limit (then the connection is dropped). */
static void record(rec_handle *h, int kind, int dir, const uint8_t *bytes, uint64_t len, uint64_t ts_ns,
                   ms_parser_ts_fn ts_fn, void *ts_ud)
{
    ms_recorder *r = h->r;
    ms_rec_conn *rc = h->rc;
    if (rc->truncated)
        return;
    uint64_t add = kind == MS_REC_GAP ? 0 : len;
    uint64_t before = rc->bytes;
    if (r->held + add > r->max_bytes || add_event(rc, kind, dir, bytes, len, ts_ns, ts_fn, ts_ud) != 0) {
        r->held -= before;
        if (!rc->truncated)
            drop_bytes(rc);
        r->truncated++;
        return;
    }
    r->held += rc->bytes - before;
}

static size_t op_data(void *conn, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns,
                      ms_parser_ts_fn ts_fn, void *ts_ud)
{
    record(conn, MS_REC_DATA, dir, bytes, len, ts_ns, ts_fn, ts_ud);
    return len;
}

static void op_last(void *conn, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns)
{
    record(conn, MS_REC_LAST, dir, bytes, len, ts_ns, NULL, NULL);
}

static void op_gap(void *conn, int dir, uint64_t n)
{
    rec_handle *h = conn;
    const ms_rec_dir *d = &h->rc->dir[dir & 1];
    record(conn, MS_REC_GAP, dir, NULL, n, d->nts ? d->ts_ns[d->nts - 1] : h->rc->info.ts_ns, NULL, NULL);
}

static void op_datagram(void *conn, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns)
{
    record(conn, MS_REC_DATAGRAM, dir, bytes, len, ts_ns, NULL, NULL);
}

static bool op_done(const void *conn)
{
    (void)conn;
    return false;
}

static void op_close(void *conn, const char *reason)
{
    rec_handle *h = conn;
    ms_recorder *r = h->r;
    h->rc->reason = reason ? reason : "flush";
    if (r->done)
        r->done(r->ud, h->rc);
    r->held -= h->rc->bytes;
    ms_rec_conn_free(h->rc);
    free(h);
}

static bool op_claims_udp_port(const void *impl, uint16_t port)
{
    const ms_recorder *r = impl;
    return r->claims.ops && r->claims.ops->claims_udp_port(r->claims.impl, port);
}

static const ms_parser_ops recorder_ops = {
    .open = op_open,
    .data = op_data,
    .last = op_last,
    .gap = op_gap,
    .datagram = op_datagram,
    .done = op_done,
    .close = op_close,
    .claims_udp_port = op_claims_udp_port,
};

ms_recorder *ms_recorder_new(uint64_t max_bytes, ms_rec_done_fn done, void *ud)
{
    ms_recorder *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->max_bytes = max_bytes ? max_bytes : (1ull << 30);
    r->done = done;
    r->ud = ud;
    return r;
}

void ms_recorder_free(ms_recorder *r)
{
    free(r);
}

ms_parser ms_recorder_parser(ms_recorder *r)
{
    return (ms_parser){ &recorder_ops, r };
}

void ms_recorder_claims(ms_recorder *r, ms_parser claims)
{
    r->claims = claims;
}

uint64_t ms_recorder_truncated(const ms_recorder *r)
{
    return r->truncated;
}
