/* ring.c — the single-producer single-consumer message ring (see ring.h). Positions are 64-bit
 * byte counts that only grow; a message never wraps: when it does not fit before the end, a
 * padding message fills the end and it starts again at offset 0. */
#include "pipeline/ring.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"

#define RELEASE_BATCH 32   /* the consumer gives space back every this many messages */
#define SPINS 100          /* polls before sleeping */
#define SLEEP_NS 10000000  /* longest sleep before looking again (a missed or held-back wake-up) */
/* A sleeping side is woken only once there is much for it to do (an eighth of the ring to read,
 * half of it free to write), or at a flush: a wake-up per message cost 40,000 context switches
 * a gigabyte on two cores. */
#define WAKE_FILL(r) ((r)->cap / 8)
#define WAKE_FREE(r) ((r)->cap / 2)

int ms_ring_init(ms_ring *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    uint64_t c = 4096;
    while (c < cap)
        c <<= 1;
    r->buf = malloc(c);
    if (!r->buf)
        return MS_ENOMEM;
    r->cap = c;
    atomic_init(&r->tail, 0);
    atomic_init(&r->head, 0);
    atomic_init(&r->consumer_sleeps, 0);
    atomic_init(&r->producer_sleeps, 0);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    return 0;
}

void ms_ring_free(ms_ring *r)
{
    if (!r->buf)
        return;
    free(r->buf);
    r->buf = NULL;
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
}

size_t ms_ring_max_payload(const ms_ring *r)
{
    return (size_t)(r->cap / 2 - sizeof(ms_ring_msg));
}

/* Sleeps until woken or SLEEP_NS passed, announcing it in *flag. */
static void nap(ms_ring *r, _Atomic int *flag)
{
    pthread_mutex_lock(&r->lock);
    atomic_store(flag, 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += SLEEP_NS;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    atomic_store(flag, 0);
    pthread_mutex_unlock(&r->lock);
}

static void wake(ms_ring *r, _Atomic int *flag)
{
    if (atomic_load_explicit(flag, memory_order_relaxed)) {
        pthread_mutex_lock(&r->lock);
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
    }
}

/* Waits until `need` bytes are free after the producer's position. */
static void wait_room(ms_ring *r, uint64_t need)
{
    for (unsigned spin = 0;; spin++) {
        if (r->cap - (r->p_tail - r->p_head) >= need)
            return;
        r->p_head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (r->cap - (r->p_tail - r->p_head) >= need)
            return;
        if (spin >= SPINS)
            nap(r, &r->producer_sleeps);
    }
}

void *ms_ring_reserve(ms_ring *r, uint32_t kind, size_t len)
{
    uint64_t size = (sizeof(ms_ring_msg) + len + 7) & ~(uint64_t)7;
    uint64_t off = r->p_tail & (r->cap - 1);
    if (off + size > r->cap) {
        /* pad to the end, then start over at 0 */
        uint64_t pad = r->cap - off;
        wait_room(r, pad);
        ms_ring_msg *m = (ms_ring_msg *)(void *)(r->buf + off);
        m->size = (uint32_t)pad;
        m->kind = 0;
        r->p_tail += pad;
        off = 0;
    }
    wait_room(r, size);
    ms_ring_msg *m = (ms_ring_msg *)(void *)(r->buf + off);
    m->size = (uint32_t)size;
    m->kind = kind;
    r->p_tail += size;
    return m + 1;
}

void ms_ring_publish(ms_ring *r)
{
    atomic_store_explicit(&r->tail, r->p_tail, memory_order_release);
    if (atomic_load_explicit(&r->consumer_sleeps, memory_order_relaxed) &&
        r->p_tail - atomic_load_explicit(&r->head, memory_order_relaxed) >= WAKE_FILL(r))
        wake(r, &r->consumer_sleeps);
}

void ms_ring_flush(ms_ring *r)
{
    atomic_store_explicit(&r->tail, r->p_tail, memory_order_release);
    wake(r, &r->consumer_sleeps);
}

const ms_ring_msg *ms_ring_next(ms_ring *r)
{
    for (unsigned spin = 0;; spin++) {
        if (r->c_tail == r->c_head) {
            if (r->c_unreleased) {
                /* nothing more at hand: give back what was read before waiting */
                atomic_store_explicit(&r->head, r->c_head, memory_order_release);
                r->c_unreleased = 0;
                wake(r, &r->producer_sleeps);
            }
            r->c_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
            if (r->c_tail == r->c_head) {
                if (spin >= SPINS)
                    nap(r, &r->consumer_sleeps);
                continue;
            }
        }
        const ms_ring_msg *m = (const ms_ring_msg *)(const void *)(r->buf + (r->c_head & (r->cap - 1)));
        if (m->kind != 0)
            return m;
        r->c_head += m->size; /* padding */
    }
}

void ms_ring_release(ms_ring *r)
{
    const ms_ring_msg *m = (const ms_ring_msg *)(const void *)(r->buf + (r->c_head & (r->cap - 1)));
    r->c_head += m->size;
    if (++r->c_unreleased >= RELEASE_BATCH) {
        atomic_store_explicit(&r->head, r->c_head, memory_order_release);
        r->c_unreleased = 0;
        if (atomic_load_explicit(&r->producer_sleeps, memory_order_relaxed) &&
            r->cap - (atomic_load_explicit(&r->tail, memory_order_relaxed) - r->c_head) >= WAKE_FREE(r))
            wake(r, &r->producer_sleeps);
    }
}
