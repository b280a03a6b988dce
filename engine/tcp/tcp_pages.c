/* tcp_pages.c — the assembler's page pool: fixed-size pages for out-of-order and kept bytes.
 * Pages come from slabs malloc'ed MS_TCP_PAGES_PER_SLAB at a time and return to a free list;
 * nothing is freed until the pool is. The per-packet path never calls malloc once the pool is warm. */
#include <stdlib.h>

#include "tcp/tcp_internal.h"

void ms_tcp_pages_init(ms_tcp_page_pool *pool, uint64_t limit)
{
    pool->free = NULL;
    pool->slabs = NULL;
    pool->nslabs = pool->cap_slabs = 0;
    pool->in_use = pool->peak = pool->allocated = 0;
    pool->limit = limit;
}

void ms_tcp_pages_free_all(ms_tcp_page_pool *pool)
{
    for (size_t i = 0; i < pool->nslabs; i++)
        free(pool->slabs[i]);
    free(pool->slabs);
    ms_tcp_pages_init(pool, pool->limit);
}

/* Adds one slab of pages to the free list; false when malloc fails. */
static bool grow(ms_tcp_page_pool *pool)
{
    if (pool->nslabs == pool->cap_slabs) {
        size_t cap = pool->cap_slabs ? pool->cap_slabs * 2 : 16;
        void **s = realloc(pool->slabs, cap * sizeof *s);
        if (!s)
            return false;
        pool->slabs = s;
        pool->cap_slabs = cap;
    }
    ms_tcp_page *slab = malloc(MS_TCP_PAGES_PER_SLAB * sizeof *slab);
    if (!slab)
        return false;
    pool->slabs[pool->nslabs++] = slab;
    for (size_t i = 0; i < MS_TCP_PAGES_PER_SLAB; i++) {
        slab[i].next = pool->free;
        pool->free = &slab[i];
    }
    pool->allocated += MS_TCP_PAGES_PER_SLAB;
    return true;
}

/* Returns a page owned by the caller until ms_tcp_page_put, or NULL at the limit. */
ms_tcp_page *ms_tcp_page_get(ms_tcp_page_pool *pool)
{
    if (pool->in_use >= pool->limit)
        return NULL;
    if (!pool->free && !grow(pool))
        return NULL;
    ms_tcp_page *p = pool->free;
    pool->free = p->next;
    p->next = NULL;
    p->len = 0;
    p->seq = 0;
    p->ts_ns = 0;
    pool->in_use++;
    if (pool->in_use > pool->peak)
        pool->peak = pool->in_use;
    return p;
}

void ms_tcp_page_put(ms_tcp_page_pool *pool, ms_tcp_page *p)
{
    if (!p)
        return;
    p->next = pool->free;
    pool->free = p;
    pool->in_use--;
}
