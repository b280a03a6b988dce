/* dispatch.c — decoded packets to protocol parsers: TCP through the assembler's stream callbacks
 * (data → the parser's data with keep_from for unconsumed bytes, skip → gap, complete → close),
 * UDP through a bounded flow table to the parser's datagram. Allocates at creation (UDP pool, buckets)
 * and once per TCP connection (a stream record, reused through a free list). */
#include "dispatch/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "dispatch/quick.h"

typedef struct tcp_stream {
    ms_dispatch *d;
    void *lc;                 /* the parser's handle; NULL when it could not open one */
    uint64_t held[2];         /* bytes we asked the assembler to keep, per direction */
    struct tcp_stream *next_free;
} tcp_stream;

typedef struct udp_flow {
    ms_flow_key key;
    uint64_t hash;
    void *lc;                 /* the parser's handle, NULL when none */
    int client_side;          /* side of the key (0 = a, 1 = b) that is the client */
    uint64_t last_ts;
    struct udp_flow *hnext;   /* bucket chain, or free list */
    struct udp_flow *older, *newer; /* recency list: d->udp_oldest ... d->udp_newest */
} udp_flow;

struct ms_dispatch {
    ms_parser parser;
    const ms_parser_ops *ops; /* parser.ops, read on every call */
    ms_dispatch_opts opts;
    ms_dispatch_stats stats;
    ms_tcp_assembler *tcp;
    tcp_stream *free_streams;
    /* UDP */
    udp_flow *pool;           /* max_udp_flows entries */
    uint32_t pool_used;       /* entries handed out at least once (the rest never touched) */
    udp_flow *free_flows;
    udp_flow **buckets;
    uint64_t nbuckets;        /* power of two */
    udp_flow *udp_oldest, *udp_newest;
    uint64_t udp_seed;
};

void ms_dispatch_opts_default(ms_dispatch_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    ms_tcp_opts_default(&opts->tcp);
    opts->max_udp_flows = 65536;
    opts->gap_timeout_ns = 30ull * 1000000000ull;
    opts->idle_timeout_ns = 300ull * 1000000000ull;
    opts->udp_idle_timeout_ns = 60ull * 1000000000ull;
}

/* ---- TCP ---------------------------------------------------------------------------------- */

static void *tcp_new_stream(void *factory, ms_tcp_conn *conn, const ms_tcp_segment *first, int dir)
{
    (void)dir;
    ms_dispatch *d = factory;
    const ms_tcp_conn_info *ci = ms_tcp_conn_get_info(conn);
    ms_parser_conn_info info;
    memset(&info, 0, sizeof info);
    info.uid = ci->uid;
    info.client = ci->client;
    info.server = ci->server;
    info.client_guessed = ci->client_guessed;
    info.ts_ns = first ? first->ts_ns : ci->first_ts_ns;
    void *lc = d->ops->open(d->parser.impl, &info);
    if (!lc) {
        d->stats.parser_conn_failures++;
        return NULL;
    }
    if (d->ops->done(lc)) {
        /* no parser wants it: do not have bytes delivered at all */
        d->ops->close(lc, "flush");
        return NULL;
    }
    tcp_stream *s = d->free_streams;
    if (s)
        d->free_streams = s->next_free;
    else if (!(s = malloc(sizeof *s))) {
        d->ops->close(lc, "memory");
        d->stats.parser_conn_failures++;
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->d = d;
    s->lc = lc;
    return s;
}

typedef struct view_time {
    const ms_tcp_view *view;
    uint64_t base;
} view_time;

static uint64_t view_ts(void *ud, uint64_t offset)
{
    view_time *vt = ud;
    return ms_tcp_view_ts(vt->view, vt->base + offset);
}

static void tcp_data(void *stream, ms_tcp_view *view)
{
    tcp_stream *s = stream;
    if (!s || !s->lc)
        return;
    int dir = view->dir & 1;
    uint64_t offset = 0;
    if (view->skip > 0) {
        /* bytes were lost after what we kept: the kept tail cannot be completed */
        s->d->ops->gap(s->lc, dir, (uint64_t)view->skip);
        offset = view->kept;
    } else if (view->kept != s->held[dir]) {
        /* the assembler could not keep all we asked for (its kept-page cap): the front is lost */
        uint64_t lost = s->held[dir] > view->kept ? s->held[dir] - view->kept : 0;
        s->d->stats.keep_truncated += lost;
        s->d->ops->gap(s->lc, dir, lost ? lost : 1);
    }
    s->held[dir] = 0;
    uint64_t len = view->len - offset;
    const uint8_t *p = NULL;
    if (len > 0) {
        /* one chunk: a pointer into the capture buffer; several: one copy into the scratch */
        p = ms_tcp_view_fetch(view, view->len);
        if (!p) {
            s->d->ops->gap(s->lc, dir, len);
            return;
        }
        p += offset;
    }
    view_time vt = { view, offset };
    if (view->end) {
        s->d->ops->last(s->lc, dir, p, (size_t)len, ms_tcp_view_ts(view, offset));
        return;
    }
    if (len == 0)
        return;
    /* one chunk (nearly every delivery) has one time: no per-offset lookups */
    size_t used = s->d->ops->data(s->lc, dir, p, (size_t)len, ms_tcp_view_ts(view, offset),
                                  view->nchunks > 1 ? view_ts : NULL, &vt);
    if (used < len) {
        ms_tcp_keep_from(view, offset + used);
        s->held[dir] = len - used;
    }
}

static void tcp_complete(void *stream, ms_tcp_conn *conn, ms_tcp_close_reason reason)
{
    (void)conn;
    tcp_stream *s = stream;
    if (!s)
        return;
    if (s->lc)
        s->d->ops->close(s->lc, ms_tcp_close_reason_name(reason));
    s->lc = NULL;
    s->next_free = s->d->free_streams;
    s->d->free_streams = s;
}

/* ---- UDP ---------------------------------------------------------------------------------- */

static void udp_unlink(ms_dispatch *d, udp_flow *f)
{
    if (f->older)
        f->older->newer = f->newer;
    else
        d->udp_oldest = f->newer;
    if (f->newer)
        f->newer->older = f->older;
    else
        d->udp_newest = f->older;
    f->older = f->newer = NULL;
}

static void udp_push_newest(ms_dispatch *d, udp_flow *f)
{
    f->older = d->udp_newest;
    f->newer = NULL;
    if (d->udp_newest)
        d->udp_newest->newer = f;
    else
        d->udp_oldest = f;
    d->udp_newest = f;
}

static void udp_close(ms_dispatch *d, udp_flow *f, const char *reason)
{
    udp_flow **pp = &d->buckets[f->hash & (d->nbuckets - 1)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    udp_unlink(d, f);
    if (f->lc)
        d->ops->close(f->lc, reason);
    f->lc = NULL;
    f->hnext = d->free_flows;
    d->free_flows = f;
}

/* Opens the parser's side of a new flow; NULL (counted) when it could not. */
static void *udp_open_parser(ms_dispatch *d, const udp_flow *f, uint64_t ts, uint64_t frame_index)
{
    ms_parser_conn_info info;
    memset(&info, 0, sizeof info);
    char uid[24];
    ms_uid_format(d->udp_seed, ms_uid_id(&f->key, frame_index), uid, sizeof uid);
    info.uid = uid;
    info.client = ms_flow_endpoint(&f->key, f->client_side);
    info.server = ms_flow_endpoint(&f->key, f->client_side ^ 1);
    info.udp = true;
    info.client_guessed = true;
    info.ts_ns = ts;
    void *lc = d->ops->open(d->parser.impl, &info); /* the parser copies what it keeps of info */
    if (!lc)
        d->stats.parser_conn_failures++;
    // cppcheck-suppress returnDanglingLifetime ; lc is the parser's handle, never &info
    return lc;
}

static void udp_packet(ms_dispatch *d, ms_packet *pkt)
{
    ms_flow_key key;
    int kdir;
    if (ms_flow_key_of(pkt, &key, &kdir) != 0) {
        d->stats.other_packets++;
        return;
    }
    d->stats.udp_packets++;
    uint64_t h = ms_flow_hash(&key);
    udp_flow *f = d->buckets[h & (d->nbuckets - 1)];
    while (f && (f->hash != h || memcmp(&f->key, &key, sizeof key) != 0))
        f = f->hnext;
    uint64_t ts = pkt->frame.ts_ns;
    if (!f) {
        if (!d->free_flows && d->pool_used < d->opts.max_udp_flows) {
            f = &d->pool[d->pool_used++];
        } else {
            if (!d->free_flows)
                udp_close(d, d->udp_oldest, "evicted"), d->stats.udp_flows_evicted++;
            f = d->free_flows;
            d->free_flows = f->hnext;
        }
        memset(f, 0, sizeof *f);
        f->key = key;
        f->hash = h;
        f->hnext = d->buckets[h & (d->nbuckets - 1)];
        d->buckets[h & (d->nbuckets - 1)] = f;
        udp_push_newest(d, f);
        d->stats.udp_flows++;
        /* client: the first sender, unless only the sender's port belongs to a protocol
         * (a response seen first) */
        int sender = kdir == MS_DIR_A_TO_B ? 0 : 1;
        ms_endpoint se = ms_flow_endpoint(&key, sender), re = ms_flow_endpoint(&key, sender ^ 1);
        bool s_known = d->ops->claims_udp_port(d->parser.impl, se.port);
        bool r_known = d->ops->claims_udp_port(d->parser.impl, re.port);
        f->client_side = (s_known && !r_known) ? sender ^ 1 : sender;
        f->lc = udp_open_parser(d, f, ts, pkt->frame.index);
    } else {
        udp_unlink(d, f);
        udp_push_newest(d, f);
    }
    f->last_ts = ts;
    if (!f->lc || d->ops->done(f->lc))
        return;
    int sender = kdir == MS_DIR_A_TO_B ? 0 : 1;
    int dir = sender == f->client_side ? MS_PARSER_CLIENT : MS_PARSER_SERVER;
    d->ops->datagram(f->lc, dir, pkt->payload ? pkt->payload : (const uint8_t *)"",
                    pkt->payload ? pkt->payload_len : 0, ts);
}

/* ---- the dispatcher ------------------------------------------------------------------------ */

ms_dispatch *ms_dispatch_new(const ms_parser *parser, const ms_dispatch_opts *opts, ms_err *err)
{
    ms_dispatch *d = calloc(1, sizeof *d);
    if (!d) {
        ms_fail(err, MS_ENOMEM, "out of memory creating the dispatcher");
        return NULL;
    }
    d->parser = *parser;
    d->ops = parser->ops;
    if (opts)
        d->opts = *opts;
    else
        ms_dispatch_opts_default(&d->opts);
    if (d->opts.max_udp_flows == 0)
        d->opts.max_udp_flows = 65536;
    static const ms_tcp_stream_ops ops = { tcp_new_stream, NULL, tcp_data, tcp_complete };
    d->tcp = ms_tcp_assembler_new(&d->opts.tcp, &ops, d);
    d->nbuckets = 1;
    while (d->nbuckets < (uint64_t)d->opts.max_udp_flows * 2)
        d->nbuckets <<= 1;
    d->buckets = calloc(d->nbuckets, sizeof *d->buckets);
    d->pool = calloc(d->opts.max_udp_flows, sizeof *d->pool);
    if (!d->tcp || !d->buckets || !d->pool) {
        ms_dispatch_free(d);
        ms_fail(err, MS_ENOMEM, "out of memory creating the dispatcher");
        return NULL;
    }
    /* the pool is handed out in order (pool_used) rather than linked up front: calloc'd pages
     * nobody touches cost nothing, and linking 64k entries cost ~10 ms at every start */
    d->udp_seed = ms_dispatch_udp_uid_seed(d->opts.tcp.uid_seed);
    return d;
}

uint64_t ms_dispatch_udp_uid_seed(uint64_t run_seed)
{
    return run_seed ^ 0x5544505544505550ull;
}

void ms_dispatch_packet(ms_dispatch *d, ms_packet *pkt)
{
    if (ms_tcp_assemble_packet(d->tcp, pkt)) {
        d->stats.tcp_packets++;
        return;
    }
    if (pkt->net.proto == 17 && ms_packet_layer(pkt, MS_LAYER_UDP)) {
        udp_packet(d, pkt);
        return;
    }
    d->stats.other_packets++;
}

void ms_dispatch_frame(ms_dispatch *d, ms_packet *pkt)
{
    ms_quick_tcp q;
    if (ms_quick_tcp_of(&pkt->frame, &q))
        ms_dispatch_segment(d, &q.key, q.key_dir, &q.seg);
    else
        ms_dispatch_packet(d, pkt);
}

void ms_dispatch_segment(ms_dispatch *d, const ms_flow_key *key, int key_dir, const ms_tcp_segment *seg)
{
    ms_tcp_assemble(d->tcp, key, key_dir, seg);
    d->stats.tcp_packets++;
}

void ms_dispatch_tick(ms_dispatch *d, uint64_t now_ns)
{
    ms_tcp_flush(d->tcp, ms_ns_before(now_ns, d->opts.gap_timeout_ns), ms_ns_before(now_ns, d->opts.idle_timeout_ns));
    uint64_t udp_before = ms_ns_before(now_ns, d->opts.udp_idle_timeout_ns);
    while (d->udp_oldest && d->udp_oldest->last_ts < udp_before) {
        d->stats.udp_flows_idle++;
        udp_close(d, d->udp_oldest, "idle");
    }
}

void ms_dispatch_finish(ms_dispatch *d)
{
    if (!d)
        return;
    if (d->tcp)
        ms_tcp_flush_all(d->tcp);
    while (d->udp_oldest)
        udp_close(d, d->udp_oldest, "flush");
}

void ms_dispatch_free(ms_dispatch *d)
{
    if (!d)
        return;
    ms_dispatch_finish(d);
    if (d->tcp)
        ms_tcp_assembler_free(d->tcp);
    while (d->free_streams) {
        tcp_stream *s = d->free_streams;
        d->free_streams = s->next_free;
        free(s);
    }
    free(d->buckets);
    free(d->pool);
    free(d);
}

const ms_dispatch_stats *ms_dispatch_get_stats(const ms_dispatch *d)
{
    return &d->stats;
}

const ms_tcp_stats *ms_dispatch_tcp_stats(const ms_dispatch *d)
{
    return ms_tcp_assembler_stats(d->tcp);
}

void ms_dispatch_print_stats(const ms_dispatch *d, FILE *fp)
{
    ms_dispatch_print_counters(&d->stats, ms_tcp_assembler_stats(d->tcp), fp);
}

void ms_dispatch_print_counters(const ms_dispatch_stats *s, const ms_tcp_stats *t, FILE *fp)
{
#define P(name, v) fprintf(fp, "%s %llu\n", name, (unsigned long long)(v))
    P("tcp.packets", s->tcp_packets);
    P("tcp.conns_created", t->conns_created);
    P("tcp.conns_closed", t->conns_closed);
    P("tcp.conns_evicted", t->conns_evicted);
    P("tcp.segments", t->segments);
    P("tcp.segments_ignored", t->segments_ignored);
    P("tcp.bytes_seen", t->bytes_seen);
    P("tcp.bytes_delivered", t->bytes_delivered);
    P("tcp.bytes_overlap", t->bytes_overlap);
    P("tcp.bytes_skipped", t->bytes_skipped);
    P("tcp.bytes_discarded", t->bytes_discarded);
    P("tcp.gaps", t->gaps);
    P("tcp.pages_peak", t->pages_peak);
    P("tcp.page_limit_skips", t->page_limit_skips);
    P("tcp.keep_truncated", s->keep_truncated);
    P("udp.packets", s->udp_packets);
    P("udp.flows", s->udp_flows);
    P("udp.flows_evicted", s->udp_flows_evicted);
    P("udp.flows_idle", s->udp_flows_idle);
    P("other.packets", s->other_packets);
    P("lua.conn_failures", s->parser_conn_failures);
#undef P
}
