/* tcp_assembler.c — segment handling for the TCP assembler: starts halves, delivers in-order bytes
 * straight from the capture buffer, queues early bytes in pages, skips gaps, closes on FIN/RST,
 * flushes on capture time and keeps the per-half accounting exact:
 *   bytes_seen == bytes_delivered + bytes_overlap + bytes_discarded + (bytes queued right now)
 * (bytes_skipped counts bytes never seen, so it is outside the identity). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp_internal.h"

/* ---- names, defaults, lifetime --------------------------------------------------------- */

const char *ms_tcp_close_reason_name(ms_tcp_close_reason r)
{
    switch (r) {
    case MS_TCP_CLOSE_NONE: return "none";
    case MS_TCP_CLOSE_FIN: return "fin";
    case MS_TCP_CLOSE_RST: return "rst";
    case MS_TCP_CLOSE_IDLE: return "idle";
    case MS_TCP_CLOSE_FLUSH: return "flush";
    case MS_TCP_CLOSE_EVICTED: return "evicted";
    case MS_TCP_CLOSE_MEMORY: return "memory";
    }
    return "unknown";
}

void ms_tcp_opts_default(ms_tcp_opts *opts)
{
    opts->max_pages_per_conn = 4096;
    opts->max_pages_total = 16384;
    opts->max_conns = 262144;
    opts->uid_seed = 0x6d6f6f6e736861ULL;
    opts->lru_granularity_ns = 100000000ULL;
    opts->reuse_after_ns = 5000000000ULL;
}

ms_tcp_assembler *ms_tcp_assembler_new(const ms_tcp_opts *opts, const ms_tcp_stream_ops *ops, void *factory)
{
    ms_tcp_assembler *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (opts)
        a->opts = *opts;
    else
        ms_tcp_opts_default(&a->opts);
    if (a->opts.max_conns == 0)
        a->opts.max_conns = 1;
    if (a->opts.max_pages_per_conn == 0)
        a->opts.max_pages_per_conn = 1;
    if (ops)
        a->ops = *ops;
    a->factory = factory;
    ms_tcp_pages_init(&a->pages, a->opts.max_pages_total);
    if (ms_tcp_table_init(a) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

static void free_page_list(ms_tcp_assembler *a, ms_tcp_page *p)
{
    while (p) {
        ms_tcp_page *next = p->next;
        ms_tcp_page_put(&a->pages, p);
        p = next;
    }
}

void ms_tcp_assembler_free(ms_tcp_assembler *a)
{
    if (!a)
        return;
    ms_tcp_pages_free_all(&a->pages);
    ms_tcp_table_free(a);
    free(a->scratch);
    free(a);
}

const ms_tcp_stats *ms_tcp_assembler_stats(const ms_tcp_assembler *a)
{
    ms_tcp_assembler *m = (ms_tcp_assembler *)a;
    m->stats.pages_in_use = a->pages.in_use;
    m->stats.pages_peak = a->pages.peak;
    m->stats.pages_allocated = a->pages.allocated;
    return &a->stats;
}

const ms_tcp_conn_info *ms_tcp_conn_get_info(const ms_tcp_conn *conn)
{
    return &conn->info;
}

void *ms_tcp_conn_user(const ms_tcp_conn *conn)
{
    return conn->user;
}

void ms_tcp_set_removed_hook(ms_tcp_assembler *a, ms_tcp_removed_fn removed)
{
    a->removed = removed;
}

/* Takes a (completed) connection out of the table, telling the removed hook first. */
static void remove_conn(ms_tcp_assembler *a, ms_tcp_conn *c)
{
    if (a->removed) {
        a->depth++;
        a->removed(a->factory, c);
        a->depth--;
    }
    ms_tcp_table_remove(a, c);
}

/* ---- accounting -------------------------------------------------------------------------- */

/* The identity for one half (debug builds). */
static void check_half(const ms_tcp_conn *c, int d)
{
#ifndef NDEBUG
    const ms_tcp_half_stats *s = &c->info.half[d];
    assert(s->bytes_seen == s->bytes_delivered + s->bytes_overlap + s->bytes_discarded + c->half[d].queued_bytes);
#else
    (void)c;
    (void)d;
#endif
}

static void check_accounting(const ms_tcp_assembler *a, const ms_tcp_conn *c)
{
    (void)a;
    check_half(c, 0);
    check_half(c, 1);
}

static void count_overlap(ms_tcp_assembler *a, ms_tcp_conn *c, int dir, uint64_t n)
{
    c->info.half[dir].bytes_overlap += n;
    a->stats.bytes_overlap += n;
}

static void count_discard(ms_tcp_assembler *a, ms_tcp_conn *c, int dir, uint64_t n)
{
    c->info.half[dir].bytes_discarded += n;
    a->stats.bytes_discarded += n;
}

static void count_skip(ms_tcp_assembler *a, ms_tcp_conn *c, int dir, uint64_t n)
{
    ms_tcp_half *h = &c->half[dir];
    c->info.half[dir].bytes_skipped += n;
    c->info.half[dir].gaps++;
    a->stats.bytes_skipped += n;
    a->stats.gaps++;
    h->advanced += n;
    if (h->pending_skip >= 0)
        h->pending_skip += (int64_t)n;
}

/* Bytes that lie before next_seq: overlap when this half delivered them, discarded when they lie
 * before the half's start (never delivered). `back` = next_seq - seq of the first byte. */
static void count_old(ms_tcp_assembler *a, ms_tcp_conn *c, int dir, uint64_t back, uint64_t n)
{
    uint64_t advanced = c->half[dir].advanced;
    uint64_t before_start = back > advanced ? MS_MIN(n, back - advanced) : 0;
    count_discard(a, c, dir, before_start);
    count_overlap(a, c, dir, n - before_start);
}

/* Records a Zeek history letter once per direction (uppercase client, lowercase server). */
static void history(ms_tcp_conn *c, int dir, char letter)
{
    ms_tcp_half *h = &c->half[dir];
    uint32_t bit = 1u << (letter - 'A');
    if (h->hist_mask & bit)
        return;
    h->hist_mask |= bit;
    size_t m = c->hist_len;
    if (m + 1 >= sizeof c->info.history)
        return;
    c->info.history[m] = dir == MS_TCP_CLIENT ? letter : (char)(letter - 'A' + 'a');
    c->info.history[m + 1] = '\0';
    c->hist_len++;
}

static void update_qlist(ms_tcp_assembler *a, ms_tcp_conn *c)
{
    bool waiting = false;
    for (int d = 0; d < 2; d++)
        if (!c->half[d].closed && (c->half[d].queue || c->half[d].fin_pending))
            waiting = true;
    if (waiting && !c->completed)
        ms_tcp_qlist_add(a, c);
    else
        ms_tcp_qlist_remove(a, c);
}

/* ---- the view ---------------------------------------------------------------------------- */

static ms_tcp_delivery *delivery_of(ms_tcp_view *view)
{
    return (ms_tcp_delivery *)(void *)((char *)view - offsetof(ms_tcp_delivery, view));
}

void ms_tcp_keep_from(ms_tcp_view *view, uint64_t offset)
{
    ms_tcp_delivery *d = delivery_of(view);
    d->keep_offset = MS_MIN(offset, view->len);
}

uint64_t ms_tcp_view_copy(const ms_tcp_view *view, uint64_t offset, void *buf, uint64_t size)
{
    uint8_t *out = buf;
    uint64_t done = 0, pos = 0;
    for (int i = 0; i < view->nchunks && done < size; i++) {
        const ms_tcp_chunk *ch = &view->chunks[i];
        if (offset < pos + ch->len) {
            uint64_t from = offset > pos ? offset - pos : 0;
            uint64_t n = MS_MIN((uint64_t)ch->len - from, size - done);
            memcpy(out + done, ch->data + from, (size_t)n);
            done += n;
            offset += n;
        }
        pos += ch->len;
    }
    return done;
}

const uint8_t *ms_tcp_view_fetch(ms_tcp_view *view, uint64_t n)
{
    if (n > view->len)
        return NULL;
    if (n == 0)
        return view->nchunks ? view->chunks[0].data : (const uint8_t *)"";
    if (view->chunks[0].len >= n)
        return view->chunks[0].data;
    ms_tcp_assembler *a = delivery_of(view)->a;
    if (n > a->scratch_cap) {
        size_t cap = a->scratch_cap ? a->scratch_cap : 4096;
        while (cap < n)
            cap *= 2;
        uint8_t *s = realloc(a->scratch, cap);
        if (!s)
            return NULL;
        a->scratch = s;
        a->scratch_cap = cap;
    }
    ms_tcp_view_copy(view, 0, a->scratch, n);
    return a->scratch;
}

uint64_t ms_tcp_view_ts(const ms_tcp_view *view, uint64_t offset)
{
    uint64_t pos = 0;
    for (int i = 0; i < view->nchunks; i++) {
        if (offset < pos + view->chunks[i].len)
            return view->chunks[i].ts_ns;
        pos += view->chunks[i].len;
    }
    return view->nchunks ? view->chunks[view->nchunks - 1].ts_ns : 0;
}

/* ---- delivery ---------------------------------------------------------------------------- */

/* After data(): replaces the half's kept pages with copies of view bytes [keep, len).
 * Kept bytes are capped at MS_TCP_MAX_KEPT_PAGES pages (the oldest are dropped, counted). */
static void keep_tail(ms_tcp_assembler *a, ms_tcp_half *h, const ms_tcp_view *v, uint64_t keep)
{
    ms_tcp_page *old = h->kept;
    h->kept = h->kept_tail = NULL;
    h->nkept = 0;
    h->kept_bytes = 0;
    uint64_t want = v->len - keep;
    uint64_t cap = (uint64_t)MS_TCP_MAX_KEPT_PAGES * MS_TCP_PAGE_BYTES;
    if (want > cap) {
        a->stats.keep_dropped += want - cap;
        keep += want - cap;
        want = cap;
    }
    uint64_t pos = keep;
    while (want > 0) {
        /* kept pages may go over the total page limit (bounded per half by the cap above) */
        ms_tcp_page *p = ms_tcp_page_get(&a->pages);
        if (!p) {
            uint64_t saved = a->pages.limit;
            a->pages.limit = UINT64_MAX;
            p = ms_tcp_page_get(&a->pages);
            a->pages.limit = saved;
        }
        if (!p) {
            a->stats.keep_dropped += want;
            break;
        }
        uint64_t n = MS_MIN(want, (uint64_t)MS_TCP_PAGE_BYTES);
        p->len = (uint32_t)ms_tcp_view_copy(v, pos, p->data, n);
        p->ts_ns = ms_tcp_view_ts(v, pos);
        if (h->kept_tail)
            h->kept_tail->next = p;
        else
            h->kept = p;
        h->kept_tail = p;
        h->nkept++;
        h->kept_bytes += p->len;
        pos += n;
        want -= n;
    }
    free_page_list(a, old);
}

static void close_half_pages(ms_tcp_assembler *a, ms_tcp_conn *c, int dir)
{
    ms_tcp_half *h = &c->half[dir];
    /* queued bytes after the end are discarded */
    if (h->queue) {
        count_discard(a, c, dir, h->queued_bytes);
        free_page_list(a, h->queue);
        h->queue = NULL;
        h->nqueued = 0;
        h->queued_bytes = 0;
    }
    free_page_list(a, h->kept);
    h->kept = h->kept_tail = NULL;
    h->nkept = 0;
    h->kept_bytes = 0;
}

/* The common delivery: one in-order segment (sseq == next_seq, slen > 0) on a half with nothing
 * queued, kept or pending (no FIN): handed over as one chunk straight from the capture buffer. */
static inline void deliver_one(ms_tcp_assembler *a, ms_tcp_conn *c, int dir, const uint8_t *sp, uint32_t slen,
                               uint64_t sts)
{
    ms_tcp_half *h = &c->half[dir];
    h->next_seq += slen;
    h->advanced += slen;
    c->info.half[dir].bytes_delivered += slen;
    a->stats.bytes_delivered += slen;
    if (c->stream && a->ops.data) {
        ms_tcp_delivery d;
        d.chunks[0] = (ms_tcp_chunk){ sp, slen, sts };
        d.view = (ms_tcp_view){ .dir = dir, .chunks = d.chunks, .nchunks = 1, .len = slen,
                                .skip = h->pending_skip, .start = h->report_start,
                                .queued_bytes = h->since_queued_bytes,
                                .queued_packets = h->since_queued_packets,
                                .overlap_bytes = h->since_overlap_bytes,
                                .overlap_packets = h->since_overlap_packets };
        d.a = a;
        d.keep_offset = slen;
        h->since_queued_bytes = h->since_queued_packets = 0;
        h->since_overlap_bytes = h->since_overlap_packets = 0;
        h->pending_skip = 0;
        h->report_start = false;
        a->depth++;
        a->ops.data(c->stream, &d.view);
        a->depth--;
        if (d.keep_offset < slen)
            keep_tail(a, h, &d.view, d.keep_offset);
    } else {
        h->pending_skip = 0;
        h->report_start = false;
    }
}

/* Hands in-order bytes of half `dir` to data(): kept bytes first, then the segment bytes
 * [seq, seq+len) (borrowed; seq == next_seq or before it) merged with queued pages, as far as
 * they are contiguous. Reports end (and closes the half) when next_seq reaches a pending FIN, or
 * when force_end is set (RST). Calls data() several times when chunks run out. */
static void deliver(ms_tcp_assembler *a, ms_tcp_conn *c, int dir, const uint8_t *sp, uint32_t sseq,
                    uint32_t slen, uint64_t sts, bool force_end)
{
    ms_tcp_half *h = &c->half[dir];
    ms_tcp_half_stats *st = &c->info.half[dir];
    ms_tcp_delivery d;
    if (slen > 0 && sseq == h->next_seq && !h->queue && !h->kept && !h->fin_pending && !force_end) {
        deliver_one(a, c, dir, sp, slen, sts);
        return;
    }
    for (;;) {
        int n = 0;
        uint64_t kept = 0;
        for (ms_tcp_page *p = h->kept; p && n < MS_TCP_MAX_CHUNKS; p = p->next) {
            d.chunks[n++] = (ms_tcp_chunk){ p->data, p->len, p->ts_ns };
            kept += p->len;
        }
        ms_tcp_page *done = NULL, *done_tail = NULL;
        uint64_t fresh = 0;
        bool more = false;
        for (;;) {
            uint32_t cur = h->next_seq;
            if (slen > 0 && ms_seq_diff(sseq, cur) > 0) {
                /* segment bytes before cur were covered by queued pages that came first */
                uint32_t off = (uint32_t)ms_seq_diff(sseq, cur);
                uint32_t k = MS_MIN(off, slen);
                count_overlap(a, c, dir, k);
                sp += k;
                sseq += k;
                slen -= k;
            }
            ms_tcp_page *q = h->queue;
            if (h->fin_pending && ms_seq_diff(h->fin_seq, cur) >= 0)
                break; /* nothing is delivered past the FIN */
            if (n == MS_TCP_MAX_CHUNKS) {
                more = (q && ms_seq_diff(q->seq, cur) >= 0) || (slen > 0 && sseq == cur);
                break;
            }
            if (q && ms_seq_diff(q->seq, cur) >= 0) {
                uint32_t off = (uint32_t)ms_seq_diff(q->seq, cur);
                h->queue = q->next;
                h->nqueued--;
                h->queued_bytes -= q->len;
                q->next = NULL;
                if (done_tail)
                    done_tail->next = q;
                else
                    done = q;
                done_tail = q;
                if (off >= q->len) {
                    count_overlap(a, c, dir, q->len);
                    continue;
                }
                count_overlap(a, c, dir, off);
                uint32_t take = q->len - off;
                if (h->fin_pending) {
                    uint32_t to_fin = (uint32_t)ms_seq_diff(cur, h->fin_seq);
                    if (take > to_fin) {
                        count_discard(a, c, dir, take - to_fin);
                        take = to_fin;
                    }
                }
                if (take == 0)
                    continue;
                d.chunks[n++] = (ms_tcp_chunk){ q->data + off, take, q->ts_ns };
                h->next_seq += take;
                h->advanced += take;
                fresh += take;
                continue;
            }
            if (slen > 0 && sseq == cur) {
                uint32_t take = slen;
                if (q) {
                    uint32_t gap = (uint32_t)ms_seq_diff(cur, q->seq);
                    take = MS_MIN(take, gap);
                }
                if (h->fin_pending) {
                    uint32_t to_fin = (uint32_t)ms_seq_diff(cur, h->fin_seq);
                    if (take > to_fin) {
                        count_discard(a, c, dir, slen - to_fin);
                        slen = to_fin;
                        take = to_fin;
                    }
                }
                if (take == 0)
                    break;
                d.chunks[n++] = (ms_tcp_chunk){ sp, take, sts };
                sp += take;
                sseq += take;
                slen -= take;
                h->next_seq += take;
                h->advanced += take;
                fresh += take;
                continue;
            }
            break;
        }
        bool end = force_end && !more;
        if (!more && h->fin_pending && h->next_seq == h->fin_seq)
            end = true;
        st->bytes_delivered += fresh;
        a->stats.bytes_delivered += fresh;
        if (c->stream && a->ops.data && (fresh > 0 || end)) {
            d.view.dir = dir;
            d.view.chunks = d.chunks;
            d.view.nchunks = n;
            d.view.len = kept + fresh;
            d.view.kept = kept;
            d.view.skip = h->pending_skip;
            d.view.start = h->report_start;
            d.view.end = end;
            d.view.queued_bytes = h->since_queued_bytes;
            d.view.queued_packets = h->since_queued_packets;
            d.view.overlap_bytes = h->since_overlap_bytes;
            d.view.overlap_packets = h->since_overlap_packets;
            d.a = a;
            d.keep_offset = d.view.len;
            h->pending_skip = 0;
            h->report_start = false;
            h->since_queued_bytes = h->since_queued_packets = 0;
            h->since_overlap_bytes = h->since_overlap_packets = 0;
            a->depth++;
            a->ops.data(c->stream, &d.view);
            a->depth--;
            if (!end && (d.keep_offset < d.view.len || h->kept))
                keep_tail(a, h, &d.view, d.keep_offset);
        } else if (fresh > 0 || end) {
            h->pending_skip = 0;
            h->report_start = false;
        }
        free_page_list(a, done);
        if (end) {
            h->closed = true;
            h->fin_pending = false;
            close_half_pages(a, c, dir);
            break;
        }
        if (!more)
            break;
    }
    update_qlist(a, c);
}

/* Gives up on the bytes missing before the first queued page (or before a pending FIN) of half
 * `dir`, reports them as skip and delivers what follows. Returns false when nothing waits. */
static bool skip_gap(ms_tcp_assembler *a, ms_tcp_conn *c, int dir)
{
    ms_tcp_half *h = &c->half[dir];
    if (h->closed)
        return false;
    uint32_t target;
    if (h->queue)
        target = h->queue->seq;
    else if (h->fin_pending)
        target = h->fin_seq;
    else
        return false;
    if (h->fin_pending && ms_seq_diff(h->fin_seq, target) > 0)
        target = h->fin_seq;
    int32_t gap = ms_seq_diff(h->next_seq, target);
    if (gap > 0) {
        count_skip(a, c, dir, (uint64_t)gap);
        history(c, dir, 'G');
        h->next_seq = target;
    }
    deliver(a, c, dir, NULL, 0, 0, 0, false);
    return true;
}

/* Completes a connection once: delivers what is queued in both halves (skipping gaps; RST marks
 * the end), calls complete(). The connection stays in the table (completed) until removed. */
static void finish(ms_tcp_assembler *a, ms_tcp_conn *c, ms_tcp_close_reason reason)
{
    if (c->completed)
        return;
    for (int d = 0; d < 2; d++) {
        ms_tcp_half *h = &c->half[d];
        while (!h->closed && skip_gap(a, c, d)) {
        }
        if (!h->closed) {
            if (reason == MS_TCP_CLOSE_RST && h->started)
                deliver(a, c, d, NULL, 0, 0, 0, true);
            h->closed = true;
            h->fin_pending = false;
            close_half_pages(a, c, d);
        }
    }
    c->completed = true;
    c->closed_ts_ns = c->info.last_ts_ns;
    c->info.close_reason = reason;
    update_qlist(a, c);
    a->stats.conns_closed++;
    if (reason == MS_TCP_CLOSE_EVICTED)
        a->stats.conns_evicted++;
    if (c->stream && a->ops.complete) {
        a->depth++;
        a->ops.complete(c->stream, c, reason);
        a->depth--;
    }
    c->stream = NULL;
}

static void finish_if_done(ms_tcp_assembler *a, ms_tcp_conn *c)
{
    if (!c->completed && c->half[0].closed && c->half[1].closed)
        finish(a, c, c->info.half[0].rst || c->info.half[1].rst ? MS_TCP_CLOSE_RST : MS_TCP_CLOSE_FIN);
}

/* ---- queueing early bytes --------------------------------------------------------------- */

/* Copies the bytes of [seq, seq+len) that no queued page holds yet into new pages, in order.
 * Returns the number of bytes that could not be queued (a page limit); they start at
 * seq + len - returned. */
static uint32_t queue_bytes(ms_tcp_assembler *a, ms_tcp_conn *c, int dir, const uint8_t *p, uint32_t seq,
                            uint32_t len, uint64_t ts)
{
    ms_tcp_half *h = &c->half[dir];
    ms_tcp_page *prev = NULL, *q = h->queue;
    while (len > 0) {
        /* advance to the first page that ends after seq */
        while (q && ms_seq_diff(q->seq + q->len, seq) >= 0) {
            prev = q;
            q = q->next;
        }
        if (q && ms_seq_diff(q->seq, seq) >= 0) {
            /* covered by a page that came first */
            uint32_t k = MS_MIN(len, (uint32_t)ms_seq_diff(seq, q->seq + q->len));
            count_overlap(a, c, dir, k);
            h->since_overlap_bytes += k;
            p += k;
            seq += k;
            len -= k;
            continue;
        }
        uint32_t room = q ? (uint32_t)ms_seq_diff(seq, q->seq) : len;
        uint32_t k = MS_MIN(MS_MIN(len, room), (uint32_t)MS_TCP_PAGE_BYTES);
        if (h->nqueued >= a->opts.max_pages_per_conn)
            return len;
        ms_tcp_page *np = ms_tcp_page_get(&a->pages);
        if (!np)
            return len;
        memcpy(np->data, p, k);
        np->seq = seq;
        np->len = k;
        np->ts_ns = ts;
        np->next = q;
        if (prev)
            prev->next = np;
        else
            h->queue = np;
        prev = np;
        h->nqueued++;
        h->queued_bytes += k;
        h->since_queued_bytes += k;
        p += k;
        seq += k;
        len -= k;
    }
    return 0;
}

/* For the total page limit: skips the gap of the half that waits longest on queued bytes.
 * Returns false when nothing is queued anywhere, or when that half is (self, self_dir) and its
 * gap ends at the bytes at self_seq being queued (the caller skips to them instead). */
static bool skip_oldest_gap(ms_tcp_assembler *a, ms_tcp_conn *self, int self_dir, uint32_t self_seq)
{
    for (ms_tcp_conn *v = a->q_head; v; v = v->q_next) {
        int best = -1;
        for (int d = 0; d < 2; d++)
            if (!v->half[d].closed && v->half[d].queue &&
                (best < 0 || v->half[d].queue->ts_ns < v->half[best].queue->ts_ns))
                best = d;
        if (best < 0)
            continue;
        if (v == self && best == self_dir && ms_seq_diff(self_seq, v->half[best].queue->seq) > 0)
            return false;
        skip_gap(a, v, best);
        finish_if_done(a, v);
        return true;
    }
    return false;
}

/* ---- one segment --------------------------------------------------------------------------- */

/* Payload bytes of half `dir` at data_seq: delivered now when they continue the stream, queued
 * when they come early, counted as overlap when old. */
static void payload(ms_tcp_assembler *a, ms_tcp_conn *c, int dir, const uint8_t *p, uint32_t seq,
                    uint32_t len, uint64_t ts)
{
    ms_tcp_half *h = &c->half[dir];
    for (int round = 0; len > 0; round++) {
        if (h->closed) {
            count_discard(a, c, dir, len);
            return;
        }
        if (h->fin_pending) {
            int32_t room = ms_seq_diff(seq, h->fin_seq);
            if (room <= 0) {
                count_discard(a, c, dir, len);
                return;
            }
            if ((uint32_t)room < len) {
                count_discard(a, c, dir, len - (uint32_t)room);
                len = (uint32_t)room;
            }
        }
        int32_t off = ms_seq_diff(h->next_seq, seq);
        if (off < 0) {
            uint32_t back = (uint32_t)-(int64_t)off;
            uint32_t k = MS_MIN(back, len);
            count_old(a, c, dir, back, k);
            h->since_overlap_bytes += k;
            h->since_overlap_packets++;
            history(c, dir, 'T');
            p += k;
            seq += k;
            len -= k;
            if (len == 0)
                return;
        }
        if (seq == h->next_seq) {
            deliver(a, c, dir, p, seq, len, ts, false);
            return;
        }
        /* early bytes: queue them */
        if (round == 0) {
            c->info.half[dir].packets_out_of_order++;
            h->since_queued_packets++;
        }
        uint32_t left = queue_bytes(a, c, dir, p, seq, len, ts);
        update_qlist(a, c);
        if (left == 0)
            return;
        uint32_t done = len - left;
        p += done;
        seq += done;
        len = left;
        /* a page limit: give up on the oldest gap so queued bytes can go and pages come free.
         * For this half that gap ends at its first queued page or at these bytes, whichever
         * comes first (skipping past these bytes would lose them). */
        a->stats.page_limit_skips++;
        bool own = h->nqueued >= a->opts.max_pages_per_conn || !skip_oldest_gap(a, c, dir, seq);
        if (!own)
            continue;
        if (h->queue && ms_seq_diff(h->queue->seq, seq) > 0) {
            skip_gap(a, c, dir);
            continue;
        }
        int32_t gap = ms_seq_diff(h->next_seq, seq);
        if (gap > 0) {
            count_skip(a, c, dir, (uint64_t)gap);
            history(c, dir, 'G');
            h->next_seq = seq;
        }
    }
}

static void start_half(ms_tcp_half *h, uint32_t seq, bool start, int64_t skip)
{
    h->started = true;
    h->next_seq = seq;
    h->report_start = start;
    h->pending_skip = skip;
}

static ms_tcp_conn *new_conn(ms_tcp_assembler *a, const ms_flow_key *key, uint64_t hash, int key_dir,
                             const ms_tcp_segment *seg)
{
    ms_tcp_conn *c;
    while (!(c = ms_tcp_table_insert(a, key, hash))) {
        ms_tcp_conn *victim = a->lru_head;
        if (!victim)
            return NULL;
        if (!victim->completed)
            finish(a, victim, MS_TCP_CLOSE_EVICTED);
        remove_conn(a, victim);
    }
    int sender = key_dir == MS_DIR_A_TO_B ? 0 : 1;
    bool syn = seg->flags & MS_TCP_SYN, ack = seg->flags & MS_TCP_ACK;
    if (syn && !ack) {
        c->client_side = sender;
    } else if (syn && ack) {
        c->client_side = 1 - sender;
    } else {
        c->client_side = sender;
        c->info.client_guessed = true;
    }
    c->info.client = ms_flow_endpoint(key, c->client_side);
    c->info.server = ms_flow_endpoint(key, 1 - c->client_side);
    ms_uid_format(a->opts.uid_seed, ms_uid_id(key, seg->frame_index), c->info.uid, sizeof c->info.uid);
    c->info.first_ts_ns = seg->ts_ns;
    c->lru_ts_ns = seg->ts_ns;
    a->stats.conns_created++;
    int dir = sender == c->client_side ? MS_TCP_CLIENT : MS_TCP_SERVER;
    if (a->ops.new_stream) {
        a->depth++;
        c->stream = a->ops.new_stream(a->factory, c, seg, dir);
        c->user = c->stream;
        a->depth--;
    }
    return c;
}

/* Whether a segment on the tuple of a completed (lingering) connection starts a new connection
 * instead of being counted as a late packet of the old one:
 * - a SYN whose ISN is not the one the half already had (port reuse);
 * - payload without SYN or RST, sent at least reuse_after_ns after the close, reaching outside the
 *   sequence range its half covered (its bytes, and its FIN): a client that never saw the reset,
 *   or a capture that lost the new handshake. The new connection then starts like any connection
 *   without a SYN (client = this segment's sender, guessed).
 * Retransmissions (inside the range), bare ACKs, FIN and RST stragglers, and data still in flight
 * when the connection closed stay with the old connection, counted and discarded there. */
static bool starts_new_conn(const ms_tcp_assembler *a, const ms_tcp_conn *c, int sender, const ms_tcp_segment *seg)
{
    int d = sender == c->client_side ? MS_TCP_CLIENT : MS_TCP_SERVER;
    const ms_tcp_half *h = &c->half[d];
    const ms_tcp_half_stats *st = &c->info.half[d];
    uint8_t fl = seg->flags;
    if ((fl & (MS_TCP_SYN | MS_TCP_ACK | MS_TCP_RST)) == MS_TCP_SYN)
        return !(st->syn && seg->seq + 1 == h->next_seq - (uint32_t)h->advanced);
    if ((fl & (MS_TCP_SYN | MS_TCP_RST)) || !seg->payload || seg->len == 0)
        return false;
    if (seg->ts_ns < c->closed_ts_ns || seg->ts_ns - c->closed_ts_ns < a->opts.reuse_after_ns)
        return false;
    if (!h->started)
        return true;
    /* offset from the half's first byte (before it: a huge unsigned offset, i.e. outside) */
    uint32_t start = h->next_seq - (uint32_t)h->advanced;
    uint64_t off = (uint32_t)(seg->seq - start);
    uint64_t covered = h->advanced + (st->fin ? 1u : 0u);
    return off + seg->len > covered;
}

void ms_tcp_assemble(ms_tcp_assembler *a, const ms_flow_key *key, int key_dir, const ms_tcp_segment *seg)
{
    ms_tcp_assemble_hashed(a, key, ms_tcp_key_hash(a, key), key_dir, seg);
}

/* The per-direction counters and times every segment updates, on the quick path and the general one. */
static inline void count_segment(ms_tcp_assembler *a, ms_tcp_conn *c, ms_tcp_half_stats *st,
                                 const ms_tcp_segment *seg, uint32_t len)
{
    st->packets++;
    st->bytes_seen += len;
    st->ip_bytes += seg->ip_len;
    a->stats.bytes_seen += len;
    if (!st->first_ts_ns)
        st->first_ts_ns = seg->ts_ns;
    st->last_ts_ns = seg->ts_ns;
    c->info.last_ts_ns = seg->ts_ns;
}

void ms_tcp_assemble_hashed(ms_tcp_assembler *a, const ms_flow_key *key, uint64_t hash, int key_dir,
                            const ms_tcp_segment *seg)
{
    a->stats.segments++;
    if (seg->ts_ns > a->now_ns)
        a->now_ns = seg->ts_ns;
    ms_tcp_conn *c = ms_tcp_table_find(a, key, hash);
    int sender = key_dir == MS_DIR_A_TO_B ? 0 : 1;
    if (c && c->completed && starts_new_conn(a, c, sender, seg)) {
        /* a new SYN, or new data long after the close, on a finished connection's tuple */
        remove_conn(a, c);
        c = NULL;
    }
    if (!c) {
        c = new_conn(a, key, hash, key_dir, seg);
        if (!c) {
            a->stats.segments_ignored++;
            return;
        }
    } else if (seg->ts_ns - c->lru_ts_ns >= a->opts.lru_granularity_ns || seg->ts_ns < c->lru_ts_ns) {
        /* moving in the LRU list touches two other connections: at most once per granule */
        ms_tcp_lru_touch(a, c);
        c->lru_ts_ns = seg->ts_ns;
    }
    int dir = sender == c->client_side ? MS_TCP_CLIENT : MS_TCP_SERVER;
    ms_tcp_half *h = &c->half[dir];
    ms_tcp_half_stats *st = &c->info.half[dir];
    uint32_t len = seg->payload ? seg->len : 0;
    uint8_t fl = seg->flags;

    if (!c->completed && !(fl & (MS_TCP_SYN | MS_TCP_FIN | MS_TCP_RST)) && h->started && !h->has_alt &&
        !(c->stream && a->ops.accept)) {
        /* The common segment: an ACK or in-sequence data on a started half, no SYN/FIN/RST, no
         * accept callback, its history letter already recorded. The general path below would
         * take exactly these steps (its other branches all test what is excluded here). */
        uint32_t letter = len > 0 ? 1u << ('D' - 'A') : (fl & MS_TCP_ACK) ? 1u << ('A' - 'A') : 0;
        if (!(letter & ~h->hist_mask)) {
            count_segment(a, c, st, seg, len);
            bool own_half_only = true;
            if (len > 0) {
                if (!h->closed && !h->fin_pending && seg->seq == h->next_seq) {
                    /* as payload() would: deliver() */
                    if (!h->queue && !h->kept)
                        deliver_one(a, c, dir, seg->payload, len, seg->ts_ns);
                    else
                        deliver(a, c, dir, seg->payload, seg->seq, len, seg->ts_ns, false);
                } else {
                    payload(a, c, dir, seg->payload, seg->seq, len, seg->ts_ns);
                    own_half_only = false; /* a page limit may skip a gap of the other half */
                }
            }
            if (!h->closed && h->fin_pending && h->next_seq == h->fin_seq)
                deliver(a, c, dir, NULL, 0, 0, 0, false);
            if (c->in_queued_list || h->queue || h->fin_pending)
                update_qlist(a, c);
            if (h->closed) /* else finish_if_done does nothing: the other half need not be read */
                finish_if_done(a, c);
            if (own_half_only)
                check_half(c, dir);
            else
                check_accounting(a, c);
            return;
        }
    }

    count_segment(a, c, st, seg, len);
    if ((fl & (MS_TCP_SYN | MS_TCP_ACK)) == MS_TCP_SYN)
        history(c, dir, 'S');
    else if ((fl & (MS_TCP_SYN | MS_TCP_ACK)) == (MS_TCP_SYN | MS_TCP_ACK))
        history(c, dir, 'H');
    else if ((fl & (MS_TCP_ACK | MS_TCP_FIN | MS_TCP_RST)) == MS_TCP_ACK && len == 0)
        history(c, dir, 'A');
    if (len > 0)
        history(c, dir, 'D');
    if (fl & MS_TCP_FIN)
        history(c, dir, 'F');
    if (fl & MS_TCP_RST)
        history(c, dir, 'R');

    if (c->completed) {
        count_discard(a, c, dir, len);
        a->stats.segments_ignored++;
        check_accounting(a, c);
        return;
    }
    uint32_t data_seq = (fl & MS_TCP_SYN) ? seg->seq + 1 : seg->seq;
    bool force = false;
    if (c->stream && a->ops.accept) {
        a->depth++;
        bool ok = a->ops.accept(c->stream, seg, dir, h->started ? h->next_seq : 0, &force);
        a->depth--;
        if (!ok) {
            count_discard(a, c, dir, len);
            a->stats.segments_ignored++;
            check_accounting(a, c);
            return;
        }
    }
    if (fl & MS_TCP_SYN)
        st->syn = true;
    if ((fl & MS_TCP_SYN) && h->started && h->advanced == 0 && !h->queue && !h->fin_pending &&
        h->next_seq != data_seq) {
        /* a SYN with another ISN before any byte moved this half (SYN-ACKs with two ISNs are
         * seen): the newer SYN wins, the other stays the alternative the data may follow */
        h->alt_seq = h->next_seq;
        h->has_alt = true;
        start_half(h, data_seq, true, 0);
    } else if (h->has_alt && len > 0 && h->advanced == 0 && !h->queue && data_seq == h->alt_seq &&
               data_seq != h->next_seq) {
        uint32_t other = h->next_seq;
        start_half(h, data_seq, true, 0);
        h->alt_seq = other;
    }
    if (!h->started) {
        if (fl & MS_TCP_SYN)
            start_half(h, data_seq, true, 0);
        else if (force)
            start_half(h, data_seq, true, 0);
        else
            start_half(h, data_seq, false, -1);
    }
    if (fl & MS_TCP_RST) {
        st->rst = true;
        count_discard(a, c, dir, len);
        finish(a, c, MS_TCP_CLOSE_RST);
        check_accounting(a, c);
        return;
    }
    if ((fl & MS_TCP_FIN) && !h->closed) {
        st->fin = true;
        uint32_t fin_seq = data_seq + len;
        if (!h->fin_pending) {
            /* a FIN at or before bytes already delivered ends the half where it stands */
            h->fin_pending = true;
            h->fin_seq = ms_seq_diff(h->next_seq, fin_seq) < 0 ? h->next_seq : fin_seq;
        }
    }
    if (len > 0)
        payload(a, c, dir, seg->payload, data_seq, len, seg->ts_ns);
    if (!h->closed && h->fin_pending && h->next_seq == h->fin_seq)
        deliver(a, c, dir, NULL, 0, 0, 0, false);
    if (c->in_queued_list || h->queue || h->fin_pending)
        update_qlist(a, c);
    finish_if_done(a, c);
    check_accounting(a, c);
}

/* ---- flushing ---------------------------------------------------------------------------- */

int ms_tcp_flush(ms_tcp_assembler *a, uint64_t older_than_ns, uint64_t close_older_than_ns)
{
    int closed = 0;
    ms_tcp_conn *c = a->q_head;
    while (c) {
        ms_tcp_conn *next = c->q_next;
        for (int d = 0; d < 2; d++) {
            ms_tcp_half *h = &c->half[d];
            while (!h->closed && ((h->queue && h->queue->ts_ns < older_than_ns) ||
                                  (!h->queue && h->fin_pending && c->info.half[d].last_ts_ns < older_than_ns)))
                skip_gap(a, c, d);
        }
        if (!c->completed && c->half[0].closed && c->half[1].closed) {
            finish_if_done(a, c);
            closed++;
        }
        check_accounting(a, c);
        c = next;
    }
    uint64_t horizon = MS_MAX(older_than_ns, close_older_than_ns);
    c = a->lru_head;
    while (c && c->info.last_ts_ns < horizon) {
        ms_tcp_conn *next = c->lru_next;
        if (c->completed) {
            remove_conn(a, c);
        } else if (c->info.last_ts_ns < close_older_than_ns) {
            finish(a, c, MS_TCP_CLOSE_IDLE);
            remove_conn(a, c);
            closed++;
        }
        c = next;
    }
    return closed;
}

void ms_tcp_flush_all(ms_tcp_assembler *a)
{
    while (a->lru_head) {
        ms_tcp_conn *c = a->lru_head;
        finish(a, c, MS_TCP_CLOSE_FLUSH);
        check_accounting(a, c);
        remove_conn(a, c);
    }
}
