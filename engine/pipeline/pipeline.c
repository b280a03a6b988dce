/* pipeline.c — the reader's routing (flow hash, fragments put together first), the messages of
 * the rings (frame, tick, end of input, end) and the worker threads (see pipeline.h). */
#include "pipeline/pipeline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode/decode.h"
#include "dispatch/quick.h"
#include "capture/pcap_fast.h"
#include "capture/source.h"
#include "flow/flow.h"
#include "pipeline/ring.h"

enum { MSG_FRAME = 1, MSG_SEGMENT, MSG_SEGREF, MSG_BLOCK_DONE, MSG_TICK, MSG_INPUT_END, MSG_END };

#define MAX_BLOCKS 32 /* read blocks in flight (16 MiB): the reader waits when workers lag more */

/* A read block of the capture (capture/pcap_fast.h block mode): frames are handed to workers in
 * place, and the block is read into again once every worker that got some said it is done. */
typedef struct read_block {
    uint8_t *mem;
    size_t size;
    _Atomic int refs;      /* workers still to say MSG_BLOCK_DONE */
    bool in_reader;        /* being read into, or its frames still being routed */
    uint64_t mask;         /* workers that got frames of it (reader side) */
} read_block;

/* A frame in a ring: its capture info, then caplen bytes. */
typedef struct frame_msg {
    uint64_t ts_ns, number, index;
    uint32_t caplen, wirelen;
    int32_t linktype;
    uint32_t ifindex;
} frame_msg;

/* A TCP segment the reader cut out of a plain frame (quick_route): the assembler's input, then
 * len payload bytes. The worker hands it to its dispatcher without decoding the frame again. */
typedef struct seg_msg {
    ms_flow_key key;
    uint64_t ts_ns, index;
    uint32_t seq, ack, len;
    uint8_t flags, key_dir;
    const uint8_t *payload;   /* MSG_SEGREF: the payload in a read block (MSG_SEGMENT: after this) */
} seg_msg;

typedef struct worker {
    ms_pipeline *p;
    int id;
    pthread_t thread;
    bool started;          /* the thread runs */
    ms_ring ring;
    ms_parser parser;
    ms_decode_ctx *ctx;
    ms_dispatch *d;
    int rc;                /* open's result, then finish's */
    ms_err err;
    uint64_t frames;       /* frames sent to it (reader side) */
    uint64_t cpu_ns;       /* CPU time of its thread, read when it ends */
} worker;

struct ms_pipeline {
    ms_pipeline_opts opts;
    ms_pipeline_factory factory;
    int n;
    worker *w;
    pthread_mutex_t lock;  /* start-up only: workers report they are ready */
    pthread_cond_t ready_cond;
    int ready;
    bool abort;            /* start-up failed: workers stop without reading */
    uint64_t held_frames;  /* fragments the reader held or dropped (no flow to send them to) */
    uint64_t quick_frames; /* frames routed from their headers, without the decoder */
    uint64_t frames, bytes; /* every frame the reader saw */
    uint8_t synth[65536 + 64]; /* an unfragmented IP packet built from a reassembled datagram */
    read_block blocks[MAX_BLOCKS];
    int nblocks;
    read_block *cur;       /* the block the reader's frames come from now */
};

/* ---- the worker thread ---------------------------------------------------------------------- */

static void worker_loop(worker *w)
{
    ms_packet pkt;
    for (;;) {
        const ms_ring_msg *m = ms_ring_next(&w->ring);
        switch (m->kind) {
        case MSG_FRAME: {
            const frame_msg *fm = (const frame_msg *)(const void *)(m + 1);
            ms_frame f;
            memset(&f, 0, sizeof f);
            f.data = (const uint8_t *)(fm + 1);
            f.caplen = fm->caplen;
            f.wirelen = fm->wirelen;
            f.ts_ns = fm->ts_ns;
            f.linktype = fm->linktype;
            f.ifindex = fm->ifindex;
            f.number = fm->number;
            f.index = fm->index;
            ms_packet_start(&pkt, w->ctx, &f);
            ms_dispatch_packet(w->d, &pkt);
            break;
        }
        case MSG_SEGMENT:
        case MSG_SEGREF: {
            const seg_msg *sm = (const seg_msg *)(const void *)(m + 1);
            ms_tcp_segment seg = { .seq = sm->seq, .ack = sm->ack, .flags = sm->flags,
                                   .payload = m->kind == MSG_SEGREF ? sm->payload : (const uint8_t *)(sm + 1),
                                   .len = sm->len, .ts_ns = sm->ts_ns, .frame_index = sm->index };
            ms_dispatch_segment(w->d, &sm->key, sm->key_dir, &seg);
            break;
        }
        case MSG_BLOCK_DONE: {
            read_block *b;
            memcpy(&b, m + 1, sizeof b);
            atomic_fetch_sub_explicit(&b->refs, 1, memory_order_release);
            break;
        }
        case MSG_TICK: {
            uint64_t now;
            memcpy(&now, m + 1, sizeof now);
            ms_dispatch_tick(w->d, now);
            break;
        }
        case MSG_INPUT_END:
            ms_decode_ctx_end_input(w->ctx);
            break;
        case MSG_END:
            ms_ring_release(&w->ring);
            return;
        default:
            break;
        }
        ms_ring_release(&w->ring);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    ms_pipeline *p = w->p;
    w->err.msg[0] = '\0';
    w->rc = p->factory.open(p->factory.ud, w->id, &w->parser, &w->err);
    if (w->rc == 0) {
        ms_decode_opts dopts;
        ms_decode_opts_default(&dopts);
        dopts.eager = false;
        dopts.verify_checksums = false;
        w->ctx = ms_decode_ctx_new(&dopts);
        w->d = w->ctx ? ms_dispatch_new(&w->parser, &p->opts.dispatch, &w->err) : NULL;
        if (!w->d)
            w->rc = ms_fail(&w->err, MS_ENOMEM, "out of memory starting worker %d", w->id);
    }
    pthread_mutex_lock(&p->lock);
    p->ready++;
    pthread_cond_broadcast(&p->ready_cond);
    while (p->ready < p->n && !p->abort)
        pthread_cond_wait(&p->ready_cond, &p->lock);
    bool abort = p->abort;
    pthread_mutex_unlock(&p->lock);
    if (abort || w->rc != 0)
        return NULL;
    worker_loop(w);
    ms_dispatch_finish(w->d);
    w->rc = p->factory.finish ? p->factory.finish(p->factory.ud, w->id) : 0;
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        w->cpu_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    return NULL;
}

/* ---- start and end ------------------------------------------------------------------------- */

ms_pipeline *ms_pipeline_new(const ms_pipeline_opts *opts, const ms_pipeline_factory *factory, ms_err *err,
                             int *code)
{
    int dummy;
    if (!code)
        code = &dummy;
    if (opts->workers < 1 || opts->workers > MS_PIPELINE_MAX_WORKERS) {
        *code = ms_fail(err, MS_EINVAL, "--threads: %d workers (1 to %d)", opts->workers, MS_PIPELINE_MAX_WORKERS);
        return NULL;
    }
    ms_pipeline *p = calloc(1, sizeof *p);
    worker *ws = p ? calloc((size_t)opts->workers, sizeof *ws) : NULL;
    if (!ws) {
        free(p);
        *code = ms_fail(err, MS_ENOMEM, "out of memory starting %d workers", opts->workers);
        return NULL;
    }
    p->opts = *opts;
    p->factory = *factory;
    p->n = opts->workers;
    p->w = ws;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->ready_cond, NULL);
    size_t ring = opts->ring_bytes ? opts->ring_bytes : (1u << 20);
    int started = 0;
    for (int i = 0; i < p->n; i++) {
        worker *w = &p->w[i];
        w->p = p;
        w->id = i;
        if (ms_ring_init(&w->ring, ring) != 0)
            break;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            ms_ring_free(&w->ring);
            break;
        }
        w->started = true;
        started++;
    }
    pthread_mutex_lock(&p->lock);
    if (started < p->n)
        p->abort = true;
    else
        while (p->ready < p->n)
            pthread_cond_wait(&p->ready_cond, &p->lock);
    for (int i = 0; i < started && !p->abort; i++)
        if (p->w[i].rc != 0)
            p->abort = true;
    pthread_cond_broadcast(&p->ready_cond);
    bool abort = p->abort;
    pthread_mutex_unlock(&p->lock);
    if (!abort)
        return p;
    *code = MS_ENOMEM;
    ms_fail(err, MS_ENOMEM, "cannot start %d worker threads", p->n);
    for (int i = 0; i < started; i++) {
        pthread_join(p->w[i].thread, NULL);
        p->w[i].started = false;
    }
    for (int i = 0; i < started; i++) {
        if (p->w[i].rc != 0) {
            *code = p->w[i].rc;
            *err = p->w[i].err;
            break;
        }
    }
    ms_pipeline_free(p);
    return NULL;
}

static void send_all(ms_pipeline *p, uint32_t kind, const void *data, size_t len)
{
    for (int i = 0; i < p->n; i++) {
        void *dst = ms_ring_reserve(&p->w[i].ring, kind, len);
        if (len)
            memcpy(dst, data, len);
        ms_ring_flush(&p->w[i].ring);
    }
}

int ms_pipeline_finish(ms_pipeline *p)
{
    send_all(p, MSG_END, NULL, 0);
    int rc = 0;
    for (int i = 0; i < p->n; i++) {
        if (!p->w[i].started)
            continue;
        pthread_join(p->w[i].thread, NULL);
        p->w[i].started = false;
        if (p->w[i].rc && !rc)
            rc = p->w[i].rc;
    }
    return rc;
}

void ms_pipeline_free(ms_pipeline *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++) {
        worker *w = &p->w[i];
        if (w->started) { /* not finished: tell it to stop */
            void *dst = ms_ring_reserve(&w->ring, MSG_END, 0);
            (void)dst;
            ms_ring_flush(&w->ring);
            pthread_join(w->thread, NULL);
        }
        ms_dispatch_free(w->d);
        ms_decode_ctx_free(w->ctx);
        ms_ring_free(&w->ring);
    }
    for (int i = 0; i < p->nblocks; i++)
        free(p->blocks[i].mem);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->ready_cond);
    free(p->w);
    free(p);
}

/* ---- the reader's side ---------------------------------------------------------------------- */

static void send_frame(ms_pipeline *p, int wi, const ms_frame *f, const uint8_t *data, uint32_t caplen,
                       int linktype)
{
    worker *w = &p->w[wi];
    frame_msg *fm = ms_ring_reserve(&w->ring, MSG_FRAME, sizeof *fm + caplen);
    fm->ts_ns = f->ts_ns;
    fm->number = f->number;
    fm->index = f->index;
    fm->caplen = caplen;
    fm->wirelen = caplen == f->caplen ? f->wirelen : caplen;
    fm->linktype = linktype;
    fm->ifindex = f->ifindex;
    memcpy(fm + 1, data, caplen);
    ms_ring_publish(&w->ring);
    w->frames++;
}

/* The packet's datagram was put together by the reader's defragmenter: builds the unfragmented
 * IP packet (a plain header, the datagram's bytes) a worker decodes as raw IP. Returns its
 * length and sets *linktype, or 0 when the layers do not show it. */
static uint32_t synthesize(ms_pipeline *p, const ms_packet *pkt, int *linktype)
{
    int i = -1;
    for (int k = 0; k < pkt->nlayers; k++)
        if (pkt->layers[k].flags & MS_LF_REASSEMBLED)
            i = k;
    if (i < 0 || i + 1 >= pkt->nlayers)
        return 0;
    const ms_layer *ip = &pkt->layers[i], *inner = &pkt->layers[i + 1];
    uint32_t len = inner->len;
    uint8_t *o = p->synth;
    if (ip->type == MS_LAYER_IPV4) {
        if (ip->hdr_len < 20 || len > 65535 - 20)
            return 0;
        uint32_t total = 20 + len;
        memset(o, 0, 20);
        o[0] = 0x45;
        o[2] = (uint8_t)(total >> 8);
        o[3] = (uint8_t)total;
        o[8] = ip->data[8];          /* TTL */
        o[9] = ip->data[9];          /* protocol */
        memcpy(o + 12, ip->data + 12, 8); /* addresses */
        memcpy(o + 20, inner->data, len);
        *linktype = 228;             /* LINKTYPE_IPV4 */
        return total;
    }
    if (ip->type == MS_LAYER_IPV6_FRAG) {
        const ms_layer *base = NULL;
        for (int k = i - 1; k >= 0 && !base; k--)
            if (pkt->layers[k].type == MS_LAYER_IPV6)
                base = &pkt->layers[k];
        if (!base || base->hdr_len < 40 || len > 65535)
            return 0;
        memset(o, 0, 40);
        o[0] = 0x60;
        o[4] = (uint8_t)(len >> 8);
        o[5] = (uint8_t)len;
        o[6] = ip->data[0];          /* the fragment header's next header */
        o[7] = base->data[7];        /* hop limit */
        memcpy(o + 8, base->data + 8, 32);
        memcpy(o + 40, inner->data, len);
        *linktype = 229;             /* LINKTYPE_IPV6 */
        return 40 + len;
    }
    return 0;
}

/* The worker of a flow: both directions of a connection hash alike (the two endpoints' hashes
 * are combined with an addition), so no canonical key has to be built. */
static inline uint64_t endpoint_hash(const uint8_t *addr, size_t alen, uint16_t port)
{
    uint64_t a = 0, b = 0;
    memcpy(&a, addr, alen < 8 ? alen : 8);
    if (alen > 8)
        memcpy(&b, addr + 8, 8);
    uint64_t h = (a ^ 0x9e3779b97f4a7c15ULL) * 0xff51afd7ed558ccdULL + (b ^ port) * 0xc4ceb9fe1a85ec53ULL + port;
    return h ^ h >> 29;
}

static inline int route(const ms_pipeline *p, const uint8_t *src, const uint8_t *dst, size_t alen,
                        uint16_t sport, uint16_t dport)
{
    uint64_t h = endpoint_hash(src, alen, sport) + endpoint_hash(dst, alen, dport);
    h ^= h >> 31;
    h *= 0x94d049bb133111ebULL;
    return (int)((h >> 32) % (uint64_t)p->n);
}

/* ---- read blocks (the reader's side; workers only count down refs) ---------------------------- */

static uint8_t *block_get(void *ud, size_t size)
{
    ms_pipeline *p = ud;
    for (unsigned spin = 0;; spin++) {
        for (int i = 0; i < p->nblocks; i++) {
            read_block *b = &p->blocks[i];
            if (!b->in_reader && b->size >= size && atomic_load_explicit(&b->refs, memory_order_acquire) == 0) {
                b->in_reader = true;
                b->mask = 0;
                p->cur = b;
                return b->mem;
            }
        }
        if (p->nblocks < MAX_BLOCKS) {
            read_block *b = &p->blocks[p->nblocks];
            b->mem = malloc(size);
            if (!b->mem)
                return NULL;
            b->size = size;
            atomic_init(&b->refs, 0);
            p->nblocks++;
            continue;
        }
        /* every block waits for workers: make sure they are awake, then give them time */
        if (spin == 0)
            for (int i = 0; i < p->n; i++)
                ms_ring_flush(&p->w[i].ring);
        struct timespec ts = { 0, 20000 };
        nanosleep(&ts, NULL);
    }
}

static void block_put(void *ud, uint8_t *mem)
{
    ms_pipeline *p = ud;
    read_block *b = NULL;
    for (int i = 0; i < p->nblocks && !b; i++)
        if (p->blocks[i].mem == mem)
            b = &p->blocks[i];
    if (!b)
        return;
    if (p->cur == b)
        p->cur = NULL;
    atomic_store_explicit(&b->refs, __builtin_popcountll(b->mask), memory_order_relaxed);
    b->in_reader = false;
    for (int i = 0; i < p->n; i++) {
        if (!(b->mask >> i & 1))
            continue;
        void *dst = ms_ring_reserve(&p->w[i].ring, MSG_BLOCK_DONE, sizeof b);
        memcpy(dst, &b, sizeof b);
        ms_ring_publish(&p->w[i].ring);
    }
}

void ms_pipeline_source(ms_pipeline *p, ms_source *src)
{
    ms_pcap_blocks blocks = { block_get, block_put, p };
    ms_source_set_blocks(src, &blocks);
}

void ms_pipeline_packet(ms_pipeline *p, ms_packet *pkt)
{
    p->frames++;
    p->bytes += pkt->frame.caplen;
    /* a plain TCP frame leaves the defragmenter alone (its clock is kept by ms_packet_start,
     * which the read loop runs on every frame): its segment goes as is */
    {
        ms_quick_tcp q;
        if (ms_quick_tcp_of(&pkt->frame, &q)) {
            int wi = route(p, q.src, q.dst, q.key.family == 4 ? 4 : 16, q.sport, q.dport);
            worker *w = &p->w[wi];
            read_block *b = p->cur;
            bool in_block = b && pkt->frame.data >= b->mem && pkt->frame.data < b->mem + b->size;
            /* in a read block: the payload is read there (no copy); else it travels in the ring */
            size_t copy = in_block ? 0 : q.seg.len;
            seg_msg *sm = ms_ring_reserve(&w->ring, in_block ? MSG_SEGREF : MSG_SEGMENT, sizeof *sm + copy);
            if (in_block)
                b->mask |= (uint64_t)1 << wi;
            sm->payload = q.seg.payload;
            sm->key = q.key;
            sm->key_dir = (uint8_t)q.key_dir;
            sm->seq = q.seg.seq;
            sm->ack = q.seg.ack;
            sm->flags = q.seg.flags;
            sm->len = q.seg.len;
            sm->ts_ns = q.seg.ts_ns;
            sm->index = q.seg.frame_index;
            memcpy(sm + 1, q.seg.payload, copy);
            ms_ring_publish(&w->ring);
            w->frames++;
            p->quick_frames++;
            return;
        }
    }
    /* the dispatcher's own test (ms_dispatch_packet): TCP first, then UDP; innermost headers */
    bool tcp = ms_packet_layer(pkt, MS_LAYER_TCP) && pkt->net.proto == 6;
    bool flow = tcp || (pkt->net.proto == 17 && ms_packet_layer(pkt, MS_LAYER_UDP));
    bool frag = false, reasm = false;
    for (int k = 0; k < pkt->nlayers; k++) {
        frag |= (pkt->layers[k].flags & MS_LF_FRAGMENT) != 0;
        reasm |= (pkt->layers[k].flags & MS_LF_REASSEMBLED) != 0;
    }
    int wi;
    if (flow && (pkt->net.family == 4 || pkt->net.family == 6)) {
        wi = route(p, pkt->net.src, pkt->net.dst, pkt->net.family == 4 ? 4 : 16, pkt->net.sport, pkt->net.dport);
    } else if (frag || reasm) {
        /* held by the reader's defragmenter (or dropped by it): one thread counts it as an
         * other packet, and so do we */
        p->held_frames++;
        return;
    } else {
        wi = (int)(pkt->frame.index % (uint64_t)p->n); /* no flow: any worker counts it */
    }
    if (reasm) {
        int lt;
        uint32_t n = synthesize(p, pkt, &lt);
        if (n) {
            send_frame(p, wi, &pkt->frame, p->synth, n, lt);
            return;
        }
    }
    send_frame(p, wi, &pkt->frame, pkt->frame.data, pkt->frame.data ? pkt->frame.caplen : 0,
               pkt->frame.linktype);
}

void ms_pipeline_tick(ms_pipeline *p, uint64_t now_ns)
{
    send_all(p, MSG_TICK, &now_ns, sizeof now_ns);
}

void ms_pipeline_input_end(ms_pipeline *p)
{
    send_all(p, MSG_INPUT_END, NULL, 0);
}

/* ---- counters -------------------------------------------------------------------------------- */

_Static_assert(sizeof(ms_dispatch_stats) % sizeof(uint64_t) == 0, "dispatch counters are uint64_t");
_Static_assert(sizeof(ms_tcp_stats) % sizeof(uint64_t) == 0, "assembler counters are uint64_t");

/* Adds every uint64_t field of a counter struct made only of them. */
static void add_counters(uint64_t *sum, const uint64_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sum[i] += x[i];
}

void ms_pipeline_stats(const ms_pipeline *p, ms_dispatch_stats *d, ms_tcp_stats *t)
{
    memset(d, 0, sizeof *d);
    memset(t, 0, sizeof *t);
    for (int i = 0; i < p->n; i++) {
        if (!p->w[i].d)
            continue;
        add_counters((uint64_t *)(void *)d, (const uint64_t *)(const void *)ms_dispatch_get_stats(p->w[i].d),
                     sizeof *d / sizeof(uint64_t));
        add_counters((uint64_t *)(void *)t, (const uint64_t *)(const void *)ms_dispatch_tcp_stats(p->w[i].d),
                     sizeof *t / sizeof(uint64_t));
    }
    d->other_packets += p->held_frames;
}

void ms_pipeline_reader_counts(const ms_pipeline *p, uint64_t *frames, uint64_t *bytes, uint64_t *quick)
{
    *frames = p->frames;
    *bytes = p->bytes;
    *quick = p->quick_frames;
}

uint64_t ms_pipeline_worker_frames(const ms_pipeline *p, int wi)
{
    return wi >= 0 && wi < p->n ? p->w[wi].frames : 0;
}

uint64_t ms_pipeline_worker_cpu_ns(const ms_pipeline *p, int wi)
{
    return wi >= 0 && wi < p->n ? p->w[wi].cpu_ns : 0;
}
