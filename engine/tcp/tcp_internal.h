/* tcp_internal.h — the TCP assembler's private structures, shared by tcp_assembler.c (segment
 * handling and delivery), tcp_pages.c (the page pool) and tcp_conntable.c (hash table, pool of
 * connections, LRU). Nothing outside engine/tcp/tcp_*.c includes this file. */
#ifndef MS_TCP_INTERNAL_H
#define MS_TCP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tcp/tcp.h"

#define MS_TCP_PAGE_BYTES 1900          /* payload bytes per page */
#define MS_TCP_PAGES_PER_SLAB 64        /* pages malloc'ed at once when the pool grows */
#define MS_TCP_CONNS_PER_SLAB 256       /* connections malloc'ed at once when the pool grows */
#define MS_TCP_MAX_KEPT_PAGES (MS_TCP_MAX_CHUNKS - 8) /* kept bytes beyond this are dropped */

/* 32-bit serial arithmetic: how far b lies after a (negative: before). */
static inline int32_t ms_seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(b - a);
}

/* A page of copied payload bytes: out-of-order bytes waiting in a half's queue, or kept bytes. */
typedef struct ms_tcp_page {
    struct ms_tcp_page *next;  /* next page in the queue / kept list / free list */
    uint32_t seq;              /* sequence number of data[0] (queue pages) */
    uint32_t len;              /* bytes used in data */
    uint64_t ts_ns;            /* capture time of the packet the bytes came in */
    uint8_t data[MS_TCP_PAGE_BYTES];
} ms_tcp_page;

/* The page pool: slabs of pages, a free list, counters. Owned by the assembler. */
typedef struct ms_tcp_page_pool {
    ms_tcp_page *free;          /* free pages */
    void **slabs;               /* every slab malloc'ed (freed with the pool) */
    size_t nslabs, cap_slabs;
    uint64_t in_use, peak, allocated;
    uint64_t limit;             /* pages in use at most (max_pages_total) */
} ms_tcp_page_pool;

/* Pool functions (tcp_pages.c). get returns NULL at the limit or when malloc fails. */
void ms_tcp_pages_init(ms_tcp_page_pool *pool, uint64_t limit);
void ms_tcp_pages_free_all(ms_tcp_page_pool *pool);
ms_tcp_page *ms_tcp_page_get(ms_tcp_page_pool *pool);
void ms_tcp_page_put(ms_tcp_page_pool *pool, ms_tcp_page *p);

/* One direction of a connection. What the common segment reads and writes comes first. */
typedef struct ms_tcp_half {
    bool started;              /* next_seq is valid */
    bool closed;               /* FIN delivered or RST: no more data */
    bool fin_pending;          /* a FIN was seen at fin_seq, bytes before it not all delivered */
    bool report_start;         /* next data() carries start = true */
    bool has_alt;              /* alt_seq is valid */
    uint32_t hist_mask;        /* history letters already recorded for this half (bit letter-'A') */
    uint32_t next_seq;         /* next byte expected */
    ms_tcp_page *queue;        /* out-of-order pages, sorted by seq, never overlapping */
    ms_tcp_page *kept;         /* kept bytes (keep_from), in order */
    uint64_t advanced;         /* bytes next_seq moved since the start (delivered + skipped) */
    int64_t pending_skip;      /* skip to report with the next data() */
    /* stats since the last data() */
    uint32_t since_queued_bytes, since_queued_packets, since_overlap_bytes, since_overlap_packets;
    uint64_t queued_bytes;     /* payload bytes in queue */
    uint32_t nqueued;          /* pages in queue */
    uint32_t fin_seq;          /* sequence number of the FIN (when fin_pending) */
    uint32_t alt_seq;          /* start after another SYN's ISN, while no byte has moved */
    uint32_t nkept;            /* pages in kept */
    ms_tcp_page *kept_tail;
    uint64_t kept_bytes;
} ms_tcp_half;

struct ms_tcp_conn {
    /* lookup and per-packet fields first: they share the first cache lines with the key */
    uint64_t hash;
    ms_tcp_conn *hnext;        /* hash chain */
    void *stream;              /* what new_stream returned (NULL once completed) */
    void *user;                /* what new_stream returned, kept until removal (ms_tcp_conn_user) */
    uint64_t lru_ts_ns;        /* capture time of the last move to the LRU tail */
    int client_side;           /* key side (0 = a, 1 = b) of the client */
    bool completed;            /* complete() was called: lingering to absorb late packets */
    bool in_queued_list;
    uint8_t hist_len;          /* letters in info.history */
    ms_tcp_conn_info info;     /* public facts (key first, times, stats, then the rest) */
    ms_tcp_half half[2];       /* by MS_TCP_CLIENT / MS_TCP_SERVER */
    ms_tcp_conn *lru_prev, *lru_next;     /* least recently seen first */
    ms_tcp_conn *q_prev, *q_next;         /* connections holding queued pages, oldest first */
    uint64_t closed_ts_ns;     /* capture time of complete() (when completed) */
};

/* A data() delivery in progress: the public view and what keep_from/fetch need. */
typedef struct ms_tcp_delivery {
    ms_tcp_view view;          /* must stay first: the consumer gets &delivery->view */
    ms_tcp_chunk chunks[MS_TCP_MAX_CHUNKS];
    struct ms_tcp_assembler *a;
    uint64_t keep_offset;      /* set by ms_tcp_keep_from (view.len = keep nothing) */
} ms_tcp_delivery;

struct ms_tcp_assembler {
    ms_tcp_opts opts;
    ms_tcp_stream_ops ops;
    void *factory;
    ms_tcp_removed_fn removed; /* optional hook (ms_tcp_set_removed_hook) */
    ms_tcp_stats stats;
    ms_tcp_page_pool pages;
    /* connection table (tcp_conntable.c) */
    ms_tcp_conn **buckets;
    size_t nbuckets;           /* power of two */
    uint64_t nconns;           /* in the table */
    ms_tcp_conn *free_conns;   /* free list through hnext */
    void **conn_slabs;
    size_t nconn_slabs, cap_conn_slabs;
    uint64_t conns_allocated;
    ms_tcp_conn *lru_head, *lru_tail;
    ms_tcp_conn *q_head, *q_tail;
    uint64_t hash_seed;        /* per-assembler seed of ms_tcp_key_hash */
    uint64_t now_ns;           /* latest capture time seen */
    /* delivery scratch */
    uint8_t *scratch;          /* ms_tcp_view_fetch copies */
    size_t scratch_cap;
    int depth;                 /* nesting of callbacks (for debug checks) */
};

/* The table's hash of a (canonical) key: five independent multiplies and one final mix, cheaper
 * than ms_flow_hash on the per-packet path. Seeded per assembler so chains are not predictable.
 * Inline so ms_tcp_assemble_packet computes it from the key it just built. */
/* Word i of a 40-byte key (scalar loads: copying the key into an array costs stack round trips). */
static inline uint64_t ms_tcp_key_word(const ms_flow_key *key, int i)
{
    uint64_t w;
    memcpy(&w, (const unsigned char *)key + 8 * i, sizeof w);
    return w;
}

static inline uint64_t ms_tcp_key_hash_seeded(uint64_t seed, const ms_flow_key *key)
{
    /* 40 bytes, pad always zero */
    uint64_t h = (ms_tcp_key_word(key, 0) ^ seed) * 0x9e3779b97f4a7c15ULL +
                 (ms_tcp_key_word(key, 1) ^ 0x2545f4914f6cdd1dULL) * 0xc2b2ae3d27d4eb4fULL +
                 (ms_tcp_key_word(key, 2) ^ seed) * 0x165667b19e3779f9ULL +
                 ms_tcp_key_word(key, 3) * 0xd6e8feb86659fd93ULL + ms_tcp_key_word(key, 4) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    return h;
}

/* ms_tcp_assemble with the key's hash already computed (== ms_tcp_key_hash(a, key)). */
void ms_tcp_assemble_hashed(ms_tcp_assembler *a, const ms_flow_key *key, uint64_t hash, int key_dir,
                            const ms_tcp_segment *seg);

/* Connection table (tcp_conntable.c). */
int ms_tcp_table_init(ms_tcp_assembler *a);
uint64_t ms_tcp_key_hash(const ms_tcp_assembler *a, const ms_flow_key *key);
void ms_tcp_table_free(ms_tcp_assembler *a);

/* Keys are 40 bytes with zeroed padding: compare as five words (no libc call per packet). */
static inline bool ms_tcp_key_equal(const ms_flow_key *x, const ms_flow_key *y)
{
    return ((ms_tcp_key_word(x, 0) ^ ms_tcp_key_word(y, 0)) | (ms_tcp_key_word(x, 1) ^ ms_tcp_key_word(y, 1)) |
            (ms_tcp_key_word(x, 2) ^ ms_tcp_key_word(y, 2)) | (ms_tcp_key_word(x, 3) ^ ms_tcp_key_word(y, 3)) |
            (ms_tcp_key_word(x, 4) ^ ms_tcp_key_word(y, 4))) == 0;
}

/* The connection of key (hash == ms_tcp_key_hash(a, key)), NULL when none. */
static inline ms_tcp_conn *ms_tcp_table_find(ms_tcp_assembler *a, const ms_flow_key *key, uint64_t hash)
{
    for (ms_tcp_conn *c = a->buckets[hash & (a->nbuckets - 1)]; c; c = c->hnext)
        if (c->hash == hash && ms_tcp_key_equal(&c->info.key, key))
            return c;
    return NULL;
}
/* Takes a zeroed connection from the pool and links it into the table and LRU (most recent).
 * NULL when the pool is at max_conns or malloc fails (caller evicts and retries). */
ms_tcp_conn *ms_tcp_table_insert(ms_tcp_assembler *a, const ms_flow_key *key, uint64_t hash);
/* Unlinks from table, LRU and queued list; returns the struct to the pool. */
void ms_tcp_table_remove(ms_tcp_assembler *a, ms_tcp_conn *c);
void ms_tcp_lru_touch(ms_tcp_assembler *a, ms_tcp_conn *c);
void ms_tcp_qlist_add(ms_tcp_assembler *a, ms_tcp_conn *c);
void ms_tcp_qlist_remove(ms_tcp_assembler *a, ms_tcp_conn *c);

#endif
