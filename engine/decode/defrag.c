/* defrag.c — IPv4/IPv6 fragment reassembly (see defrag.h for the contract).
 * Datagrams live in a slot array allocated at creation, found through a hash of their key and
 * kept on an age list (oldest first) for timeouts and eviction. A held fragment is one
 * allocation holding its bytes, kept in a list sorted by offset (so the completeness check is one
 * walk); reassembly copies fragments newest first into an output buffer so the bytes that arrived
 * first are the ones that remain. */
#include "decode/defrag.h"

#include <stdlib.h>
#include <string.h>

#define MS_DEFRAG_MAX_PER 8192u  /* hard cap on fragments per datagram (65535 / 8) */
#define MS_DEFRAG_OUT_BUFS 2     /* reassemblies per packet (a tunnel inside a reassembly) */
/* Largest reassembled payload. A valid datagram stays under 65536 bytes, but the last fragment
 * may start at 65528 and carry up to a jumbo-free 65535 bytes ("ping of death"); like tshark we
 * reassemble such oversized datagrams rather than hide them. */
#define MS_DEFRAG_MAX_LEN (65528u + 65535u)

typedef struct frag_piece {
    struct frag_piece *next; /* next by offset (ties: arrival order) */
    uint32_t offset;
    uint32_t len;
    uint32_t seq;            /* arrival order within its datagram, 0-based */
    uint8_t data[];          /* the fragment's bytes (owned) */
} frag_piece;

typedef struct datagram {
    uint8_t used;
    uint8_t family;
    uint8_t proto;
    uint8_t have_last;       /* the fragment without "more" arrived: total is known */
    uint8_t src[16];
    uint8_t dst[16];
    uint32_t id;
    uint32_t total;          /* datagram payload length, when have_last */
    uint32_t nfrags;
    uint64_t bytes;          /* bytes held by its fragments */
    uint64_t first_ts;       /* capture time of its first fragment */
    frag_piece *head;        /* sorted by offset, owned */
    uint32_t bucket;         /* its hash bucket */
    int32_t hnext;           /* hash chain, or free list when unused */
    int32_t older;           /* age list */
    int32_t newer;
} datagram;

struct ms_defrag {
    ms_decode_stats *stats;  /* borrowed: the decode context's counters */
    uint32_t max_per;
    uint32_t max_dgrams;
    uint64_t max_bytes;
    uint64_t timeout_ns;
    datagram *slots;         /* max_dgrams slots, owned */
    int32_t *buckets;        /* nbuckets chain heads, owned */
    uint32_t nbuckets;       /* power of two */
    int32_t free_head;
    int32_t oldest;
    int32_t newest;
    uint32_t held;
    uint64_t held_bytes;
    uint8_t *out[MS_DEFRAG_OUT_BUFS]; /* reassembly outputs, owned */
    const frag_piece **order;  /* max_per slots: pieces by arrival while reassembling, owned */
    unsigned out_used;       /* outputs handed out for the current packet */
};

ms_defrag *ms_defrag_new(const ms_decode_opts *opts, ms_decode_stats *stats)
{
    ms_defrag *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->stats = stats;
    d->max_per = MS_MIN(MS_MAX(opts->frag_max_per_datagram, 1u), MS_DEFRAG_MAX_PER);
    d->max_dgrams = MS_MAX(opts->frag_max_datagrams, 1u);
    d->max_bytes = opts->frag_max_bytes;
    d->timeout_ns = opts->frag_timeout_ns;
    d->nbuckets = 16;
    while (d->nbuckets < d->max_dgrams && d->nbuckets < (1u << 24))
        d->nbuckets <<= 1;
    d->slots = calloc(d->max_dgrams, sizeof(*d->slots));
    d->buckets = malloc(d->nbuckets * sizeof(*d->buckets));
    for (unsigned i = 0; i < MS_DEFRAG_OUT_BUFS; i++)
        d->out[i] = malloc(MS_DEFRAG_MAX_LEN);
    d->order = malloc(d->max_per * sizeof(*d->order));
    if (!d->slots || !d->buckets || !d->out[0] || !d->out[1] || !d->order) {
        ms_defrag_free(d);
        return NULL;
    }
    for (uint32_t i = 0; i < d->nbuckets; i++)
        d->buckets[i] = -1;
    for (uint32_t i = 0; i < d->max_dgrams; i++)
        d->slots[i].hnext = i + 1 < d->max_dgrams ? (int32_t)(i + 1) : -1;
    d->free_head = 0;
    d->oldest = d->newest = -1;
    return d;
}

static void free_pieces(datagram *g)
{
    frag_piece *p = g->head;
    while (p) {
        frag_piece *next = p->next;
        free(p);
        p = next;
    }
    g->head = NULL;
}

void ms_defrag_free(ms_defrag *d)
{
    if (!d)
        return;
    if (d->slots)
        for (uint32_t i = 0; i < d->max_dgrams; i++)
            if (d->slots[i].used)
                free_pieces(&d->slots[i]);
    free(d->slots);
    free(d->buckets);
    for (unsigned i = 0; i < MS_DEFRAG_OUT_BUFS; i++)
        free(d->out[i]);
    free(d->order);
    free(d);
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Mixes the key 8 bytes at a time; only the low bits (the bucket index) are used. */
static uint32_t key_hash(int family, const uint8_t *src, const uint8_t *dst, uint32_t id, uint8_t proto)
{
    uint64_t h = ((uint64_t)id << 16 | (uint64_t)proto << 8 | (uint64_t)family) * 0x9e3779b97f4a7c15ull;
    if (family == 4) {
        uint32_t s, t;
        memcpy(&s, src, 4);
        memcpy(&t, dst, 4);
        h ^= ((uint64_t)s << 32 | t);
        h *= 0xff51afd7ed558ccdull;
    } else {
        h = (h ^ load64(src)) * 0xff51afd7ed558ccdull;
        h = (h ^ load64(src + 8)) * 0xc4ceb9fe1a85ec53ull;
        h = (h ^ load64(dst)) * 0xff51afd7ed558ccdull;
        h = (h ^ load64(dst + 8)) * 0xc4ceb9fe1a85ec53ull;
    }
    /* finalizer (murmur3 fmix64): every key bit reaches the low bits used as the bucket;
     * fragment ids often differ only in their high bytes */
    h ^= (uint64_t)id * 0x9e3779b97f4a7c15ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* Unlinks slot i from its hash chain and the age list, frees its fragments, returns it to the
 * free list. */
static void release(ms_defrag *d, int32_t i)
{
    datagram *g = &d->slots[i];
    int32_t *link = &d->buckets[g->bucket];
    while (*link != -1 && *link != i)
        link = &d->slots[*link].hnext;
    if (*link == i)
        *link = g->hnext;
    if (g->older != -1)
        d->slots[g->older].newer = g->newer;
    else
        d->oldest = g->newer;
    if (g->newer != -1)
        d->slots[g->newer].older = g->older;
    else
        d->newest = g->older;
    d->held--;
    d->held_bytes -= g->bytes;
    free_pieces(g);
    g->used = 0;
    g->hnext = d->free_head;
    d->free_head = i;
}

/* Drops the oldest datagram at a limit: its fragments count as dropped. */
static void evict_oldest(ms_defrag *d)
{
    int32_t i = d->oldest;
    if (i < 0)
        return;
    d->stats->frag_dropped += d->slots[i].nfrags;
    release(d, i);
}

void ms_defrag_packet_begin(ms_defrag *d, uint64_t now_ns)
{
    d->out_used = 0;
    while (d->oldest >= 0) {
        datagram *g = &d->slots[d->oldest];
        if (now_ns < g->first_ts || now_ns - g->first_ts <= d->timeout_ns)
            break;
        d->stats->frag_expired++;
        release(d, d->oldest);
    }
}

static int32_t find(ms_defrag *d, const ms_frag *f, uint32_t b)
{
    size_t n = f->family == 4 ? 4 : 16;
    for (int32_t i = d->buckets[b]; i != -1; i = d->slots[i].hnext) {
        datagram *g = &d->slots[i];
        if (g->id == f->id && g->family == f->family && g->proto == f->proto &&
            memcmp(g->src, f->src, n) == 0 && memcmp(g->dst, f->dst, n) == 0)
            return i;
    }
    return -1;
}

static int32_t create(ms_defrag *d, const ms_frag *f, uint32_t b)
{
    if (d->free_head < 0)
        evict_oldest(d);
    int32_t i = d->free_head;
    if (i < 0)
        return -1;
    datagram *g = &d->slots[i];
    d->free_head = g->hnext;
    size_t n = f->family == 4 ? 4 : 16;
    memset(g, 0, sizeof(*g));
    g->used = 1;
    g->family = f->family;
    g->proto = f->proto;
    memcpy(g->src, f->src, n);
    memcpy(g->dst, f->dst, n);
    g->id = f->id;
    g->first_ts = f->ts_ns;
    g->bucket = b;
    g->hnext = d->buckets[b];
    d->buckets[b] = i;
    g->newer = -1;
    g->older = d->newest;
    if (d->newest >= 0)
        d->slots[d->newest].newer = i;
    else
        d->oldest = i;
    d->newest = i;
    d->held++;
    return i;
}

/* True when the fragments (sorted by offset) cover [0, total) without a hole. */
static bool complete(const datagram *g)
{
    uint32_t covered = 0;
    for (const frag_piece *p = g->head; p && covered < g->total; p = p->next) {
        if (p->offset > covered)
            return false;
        covered = MS_MAX(covered, p->offset + p->len);
    }
    return covered >= g->total;
}

int ms_defrag_add(ms_defrag *d, const ms_frag *f, const uint8_t **out, uint32_t *out_len)
{
    d->stats->frag_fragments++;
    uint64_t end = (uint64_t)f->offset + f->len;
    if ((f->len == 0 && f->more) || end > MS_DEFRAG_MAX_LEN || (f->family != 4 && f->family != 6)) {
        d->stats->frag_dropped++;
        return MS_EFORMAT;
    }
    uint32_t b = key_hash(f->family, f->src, f->dst, f->id, f->proto) & (d->nbuckets - 1);
    int32_t i = find(d, f, b);
    if (i < 0)
        i = create(d, f, b);
    if (i < 0) {
        d->stats->frag_dropped++;
        return MS_ELIMIT;
    }
    datagram *g = &d->slots[i];
    if (!f->more) {
        if (g->have_last && g->total != end) {
            d->stats->frag_dropped++; /* a second, different end: keep the first */
            return MS_EFORMAT;
        }
        g->have_last = 1;
        g->total = (uint32_t)end;
    } /* a fragment running past the known end is kept; its excess is ignored (as tshark does) */
    if (g->nfrags >= d->max_per) {
        d->stats->frag_dropped++;
        return MS_ELIMIT;
    }
    while (d->held_bytes + f->len > d->max_bytes && d->oldest >= 0 && d->oldest != i)
        evict_oldest(d);
    if (d->held_bytes + f->len > d->max_bytes) {
        d->stats->frag_dropped++;
        return MS_ELIMIT;
    }
    frag_piece *p = malloc(sizeof(*p) + f->len);
    if (!p) {
        d->stats->frag_dropped++;
        return MS_ENOMEM;
    }
    p->offset = f->offset;
    p->len = f->len;
    p->seq = g->nfrags;
    if (f->len)
        memcpy(p->data, f->data, f->len);
    frag_piece **link = &g->head;
    while (*link && (*link)->offset <= p->offset)
        link = &(*link)->next;
    p->next = *link;
    *link = p;
    g->nfrags++;
    g->bytes += f->len;
    d->held_bytes += f->len;

    if (!g->have_last || !complete(g))
        return 0;
    if (d->out_used >= MS_DEFRAG_OUT_BUFS) {
        d->stats->frag_dropped += g->nfrags;
        release(d, i);
        return MS_ELIMIT;
    }
    uint8_t *buf = d->out[d->out_used++];
    /* Newest first, so the earliest arrival is written last and wins every overlap. */
    for (const frag_piece *q = g->head; q; q = q->next)
        d->order[q->seq] = q;
    for (uint32_t n = g->nfrags; n--;) {
        const frag_piece *q = d->order[n];
        if (q->offset >= g->total)
            continue;
        memcpy(buf + q->offset, q->data, MS_MIN(q->len, g->total - q->offset));
    }
    *out = buf;
    *out_len = g->total;
    d->stats->frag_reassembled++;
    release(d, i);
    return 1;
}

void ms_defrag_flush(ms_defrag *d)
{
    while (d->oldest >= 0) {
        d->stats->frag_expired++;
        release(d, d->oldest);
    }
}

uint32_t ms_defrag_held_datagrams(const ms_defrag *d)
{
    return d->held;
}

uint64_t ms_defrag_held_bytes(const ms_defrag *d)
{
    return d->held_bytes;
}
