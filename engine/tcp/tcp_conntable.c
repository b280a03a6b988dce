/* tcp_conntable.c — the assembler's connection table: a chained hash over the symmetric flow key,
 * a pool of connection structs grown in slabs up to max_conns, the LRU list (least recently seen
 * first, for eviction and idle close) and the list of connections holding queued pages. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "tcp/tcp_internal.h"

#ifndef MAP_POPULATE
#define MAP_POPULATE 0 /* pages faulted in on first use instead */
#endif
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif

#define INITIAL_BUCKETS 4096

uint64_t ms_tcp_key_hash(const ms_tcp_assembler *a, const ms_flow_key *key)
{
    return ms_tcp_key_hash_seeded(a->hash_seed, key);
}

int ms_tcp_table_init(ms_tcp_assembler *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    a->hash_seed = ((uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)a) * 0x9e3779b97f4a7c15ULL;
    a->buckets = calloc(INITIAL_BUCKETS, sizeof *a->buckets);
    if (!a->buckets)
        return MS_ENOMEM;
    a->nbuckets = INITIAL_BUCKETS;
    return 0;
}

void ms_tcp_table_free(ms_tcp_assembler *a)
{
    /* every slab holds MS_TCP_CONNS_PER_SLAB connections but a last one cut by max_conns */
    for (size_t i = 0; i < a->nconn_slabs; i++) {
        uint64_t n = MS_MIN((uint64_t)MS_TCP_CONNS_PER_SLAB, a->opts.max_conns - (uint64_t)i * MS_TCP_CONNS_PER_SLAB);
        munmap(a->conn_slabs[i], n * sizeof(ms_tcp_conn));
    }
    free(a->conn_slabs);
    free(a->buckets);
    a->conn_slabs = NULL;
    a->buckets = NULL;
    a->nconn_slabs = a->cap_conn_slabs = 0;
    a->nbuckets = 0;
}

/* Doubles the bucket array (rare: amortised over many new connections). Keeps the old one on
 * malloc failure: chains just get longer. */
static void rehash(ms_tcp_assembler *a)
{
    size_t n = a->nbuckets * 2;
    ms_tcp_conn **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < a->nbuckets; i++) {
        ms_tcp_conn *c = a->buckets[i];
        while (c) {
            ms_tcp_conn *next = c->hnext;
            size_t j = c->hash & (n - 1);
            c->hnext = b[j];
            b[j] = c;
            c = next;
        }
    }
    free(a->buckets);
    a->buckets = b;
    a->nbuckets = n;
}

static bool grow_pool(ms_tcp_assembler *a)
{
    if (a->conns_allocated >= a->opts.max_conns)
        return false;
    if (a->nconn_slabs == a->cap_conn_slabs) {
        size_t cap = a->cap_conn_slabs ? a->cap_conn_slabs * 2 : 16;
        void **s = realloc(a->conn_slabs, cap * sizeof *s);
        if (!s)
            return false;
        a->conn_slabs = s;
        a->cap_conn_slabs = cap;
    }
    uint64_t n = MS_MIN((uint64_t)MS_TCP_CONNS_PER_SLAB, a->opts.max_conns - a->conns_allocated);
    /* mapped with its pages present: faulting them in one by one (a trap per 4 KiB, 2,400 on a
     * capture whose completed connections linger in their thousands) cost more than the rest of
     * creating a connection */
    ms_tcp_conn *slab = mmap(NULL, n * sizeof *slab, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                             -1, 0);
    if (slab == MAP_FAILED)
        return false;
    a->conn_slabs[a->nconn_slabs++] = slab;
    for (uint64_t i = 0; i < n; i++) {
        slab[i].hnext = a->free_conns;
        a->free_conns = &slab[i];
    }
    a->conns_allocated += n;
    return true;
}

static void lru_unlink(ms_tcp_assembler *a, ms_tcp_conn *c)
{
    if (c->lru_prev)
        c->lru_prev->lru_next = c->lru_next;
    else
        a->lru_head = c->lru_next;
    if (c->lru_next)
        c->lru_next->lru_prev = c->lru_prev;
    else
        a->lru_tail = c->lru_prev;
    c->lru_prev = c->lru_next = NULL;
}

static void lru_append(ms_tcp_assembler *a, ms_tcp_conn *c)
{
    c->lru_next = NULL;
    c->lru_prev = a->lru_tail;
    if (a->lru_tail)
        a->lru_tail->lru_next = c;
    else
        a->lru_head = c;
    a->lru_tail = c;
}

void ms_tcp_lru_touch(ms_tcp_assembler *a, ms_tcp_conn *c)
{
    if (a->lru_tail == c)
        return;
    lru_unlink(a, c);
    lru_append(a, c);
}

ms_tcp_conn *ms_tcp_table_insert(ms_tcp_assembler *a, const ms_flow_key *key, uint64_t hash)
{
    if (!a->free_conns && !grow_pool(a))
        return NULL;
    ms_tcp_conn *c = a->free_conns;
    a->free_conns = c->hnext;
    memset(c, 0, sizeof *c);
    c->info.key = *key;
    c->hash = hash;
    if (a->nconns >= a->nbuckets)
        rehash(a);
    size_t j = hash & (a->nbuckets - 1);
    c->hnext = a->buckets[j];
    a->buckets[j] = c;
    a->nconns++;
    lru_append(a, c);
    return c;
}

void ms_tcp_qlist_add(ms_tcp_assembler *a, ms_tcp_conn *c)
{
    if (c->in_queued_list)
        return;
    c->in_queued_list = true;
    c->q_next = NULL;
    c->q_prev = a->q_tail;
    if (a->q_tail)
        a->q_tail->q_next = c;
    else
        a->q_head = c;
    a->q_tail = c;
}

void ms_tcp_qlist_remove(ms_tcp_assembler *a, ms_tcp_conn *c)
{
    if (!c->in_queued_list)
        return;
    if (c->q_prev)
        c->q_prev->q_next = c->q_next;
    else
        a->q_head = c->q_next;
    if (c->q_next)
        c->q_next->q_prev = c->q_prev;
    else
        a->q_tail = c->q_prev;
    c->q_prev = c->q_next = NULL;
    c->in_queued_list = false;
}

void ms_tcp_table_remove(ms_tcp_assembler *a, ms_tcp_conn *c)
{
    ms_tcp_conn **pp = &a->buckets[c->hash & (a->nbuckets - 1)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = c->hnext;
    a->nconns--;
    lru_unlink(a, c);
    ms_tcp_qlist_remove(a, c);
    c->hnext = a->free_conns;
    a->free_conns = c;
}
