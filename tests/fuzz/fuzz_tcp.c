/* fuzz_tcp.c — libFuzzer target for the TCP assembler: the input is a sequence of segments
 * (connection, direction, flags, sequence number, payload) and flush calls fed into one assembler
 * with small limits (4 connections, 6 pages per connection, 12 pages in all), so eviction, page
 * limits, wrap-around, overlaps, FIN/RST and keep_from all happen. After every segment the
 * accounting identity is checked on every live connection and on the totals; the consumer checks
 * the callback contract (complete once, nothing after it, kept bytes come back first).
 *
 * Record format (little-endian), repeated until the input ends:
 *   op u8: low 2 bits connection, bit 2 direction, bit 3..7 selects an action
 *   action flush (op>>3 == 31): u8 seconds back for gaps, u8 for idle
 *   otherwise: flags u8, seq u32 (relative to a per-direction base when op bit 7 is clear),
 *              len u8, then len payload bytes (fewer if the input ends) */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp_internal.h"

#define MAX_STREAMS 4096

typedef struct fz_stream {
    bool live;
    bool completed;
    uint64_t kept_expect;  /* bytes we asked to keep: the next view starts with them */
    uint8_t keep_mode;
} fz_stream;

static fz_stream streams[MAX_STREAMS];
static int nstreams;

static void *fz_new(void *factory, ms_tcp_conn *conn, const ms_tcp_segment *first, int dir)
{
    if (nstreams >= MAX_STREAMS)
        return NULL;
    fz_stream *s = &streams[nstreams++];
    memset(s, 0, sizeof *s);
    s->live = true;
    s->keep_mode = (uint8_t)(first->seq & 3);
    return s;
}

static bool fz_accept(void *stream, const ms_tcp_segment *seg, int dir, uint32_t next_seq, bool *force)
{
    fz_stream *s = stream;
    assert(!s->completed);
    if ((seg->flags & 0xc0) == 0xc0)
        return false; /* ECE+CWR: rejected, to reach the discard path */
    if (seg->flags & MS_TCP_URG)
        *force = true;
    return true;
}

static void fz_data(void *stream, ms_tcp_view *v)
{
    fz_stream *s = stream;
    assert(!s->completed);
    assert(v->len >= v->kept);
    uint64_t sum = 0;
    for (int i = 0; i < v->nchunks; i++)
        sum += v->chunks[i].len;
    assert(sum == v->len);
    if (v->len) {
        const uint8_t *p = ms_tcp_view_fetch(v, v->len);
        assert(p != NULL);
        uint8_t last;
        assert(ms_tcp_view_copy(v, v->len - 1, &last, 1) == 1);
        assert(last == p[v->len - 1]);
        (void)ms_tcp_view_ts(v, v->len / 2);
    }
    switch (s->keep_mode) {
    case 1:
        ms_tcp_keep_from(v, v->len / 2);
        break;
    case 2:
        if (v->len < 5000)
            ms_tcp_keep_from(v, 0);
        break;
    default:
        break;
    }
}

static void fz_complete(void *stream, ms_tcp_conn *conn, ms_tcp_close_reason reason)
{
    fz_stream *s = stream;
    assert(!s->completed);
    assert(reason != MS_TCP_CLOSE_NONE);
    s->completed = true;
}

/* Every live connection: seen = delivered + overlap + discarded + queued; totals likewise. */
static void check_all(ms_tcp_assembler *a)
{
    uint64_t queued = 0;
    for (ms_tcp_conn *c = a->lru_head; c; c = c->lru_next) {
        for (int d = 0; d < 2; d++) {
            const ms_tcp_half_stats *st = &c->info.half[d];
            uint64_t q = 0;
            for (ms_tcp_page *p = c->half[d].queue; p; p = p->next)
                q += p->len;
            if (q != c->half[d].queued_bytes)
                abort();
            if (st->bytes_seen != st->bytes_delivered + st->bytes_overlap + st->bytes_discarded + q)
                abort();
            if (c->half[d].nqueued > a->opts.max_pages_per_conn)
                abort();
            queued += q;
        }
    }
    const ms_tcp_stats *t = ms_tcp_assembler_stats(a);
    if (t->bytes_seen != t->bytes_delivered + t->bytes_overlap + t->bytes_discarded + queued)
        abort();
    if (a->nconns > a->opts.max_conns)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_tcp_opts o;
    ms_tcp_opts_default(&o);
    o.max_conns = 4;
    o.max_pages_per_conn = 6;
    o.max_pages_total = 12;
    ms_tcp_stream_ops ops = { fz_new, fz_accept, fz_data, fz_complete };
    nstreams = 0;
    ms_tcp_assembler *a = ms_tcp_assembler_new(&o, &ops, NULL);
    if (!a)
        return 0;
    uint32_t base[8];
    for (int i = 0; i < 8; i++)
        base[i] = 0xfffff000u + (uint32_t)i * 0x100000u; /* near the wrap */
    static uint8_t payload[255];
    uint64_t now = 1000000000ULL;
    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++];
        int conn = op & 3, dir = (op >> 2) & 1;
        if ((op >> 3) == 31) {
            uint8_t g = i < size ? data[i++] : 0, idle = i < size ? data[i++] : 0;
            uint64_t gns = (uint64_t)g * 1000000ULL, ins = (uint64_t)idle * 100000000ULL;
            ms_tcp_flush(a, now > gns ? now - gns : 0, now > ins ? now - ins : 0);
            check_all(a);
            continue;
        }
        if (size - i < 6)
            break;
        ms_tcp_segment s;
        memset(&s, 0, sizeof s);
        s.flags = data[i];
        uint32_t seq = (uint32_t)data[i + 1] | (uint32_t)data[i + 2] << 8 | (uint32_t)data[i + 3] << 16 |
                       (uint32_t)data[i + 4] << 24;
        s.seq = (op & 0x80) ? seq : base[conn * 2 + dir] + (seq & 0xffff);
        uint8_t len = data[i + 5];
        i += 6;
        size_t avail = MS_MIN((size_t)len, size - i);
        memcpy(payload, data + i, avail);
        i += avail;
        s.payload = payload;
        s.len = (uint32_t)avail;
        now += 1000000ULL * (1 + (op >> 5));
        s.ts_ns = now;
        ms_flow_key k;
        memset(&k, 0, sizeof k);
        k.family = 4;
        k.proto = 6;
        k.a_addr[0] = 10;
        k.a_addr[3] = 1;
        k.b_addr[0] = 10;
        k.b_addr[3] = 2;
        k.a_port = (uint16_t)(1000 + conn);
        k.b_port = 80;
        ms_tcp_assemble(a, &k, dir ? MS_DIR_B_TO_A : MS_DIR_A_TO_B, &s);
        check_all(a);
    }
    ms_tcp_flush_all(a);
    check_all(a);
    const ms_tcp_stats *t = ms_tcp_assembler_stats(a);
    if (t->pages_in_use != 0 || t->conns_closed != t->conns_created)
        abort();
    for (int j = 0; j < nstreams; j++)
        if (!streams[j].completed)
            abort();
    ms_tcp_assembler_free(a);
    return 0;
}
