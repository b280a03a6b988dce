/* ring.h — a single-producer single-consumer ring of variable-size messages (the reader thread
 * to one worker). Messages are copied in and read in place; the hot path is two atomic stores
 * and no lock. A side that finds the ring full (producer) or empty (consumer) sleeps on a
 * condition variable with a short timeout, so a missed wake-up costs a millisecond, never a hang. */
#ifndef MS_RING_H
#define MS_RING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ms_ring {
    uint8_t *buf;                  /* cap bytes (owned) */
    uint64_t cap;                  /* power of two */
    /* producer's line */
    _Alignas(64) _Atomic uint64_t tail;   /* bytes written (published) */
    uint64_t p_head;               /* producer's copy of head (refreshed when the ring looks full) */
    uint64_t p_tail;               /* producer's reserved end */
    /* consumer's line */
    _Alignas(64) _Atomic uint64_t head;   /* bytes released */
    uint64_t c_tail;               /* consumer's copy of tail */
    uint64_t c_head;               /* consumer's read position (released in batches) */
    unsigned c_unreleased;         /* messages read since the last release */
    /* sleeping */
    _Alignas(64) _Atomic int consumer_sleeps, producer_sleeps;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} ms_ring;

/* Message header: size (bytes including this header, a multiple of 8) and kind (the caller's;
 * kind 0 is reserved for padding at the wrap). */
typedef struct ms_ring_msg {
    uint32_t size;
    uint32_t kind;
} ms_ring_msg;

/* cap is rounded up to a power of two; 0 or MS_ENOMEM. */
int ms_ring_init(ms_ring *r, size_t cap);
void ms_ring_free(ms_ring *r);

/* Producer: room for a message with `len` bytes after its header; blocks while the ring is full.
 * Returns a pointer to the bytes after the header (valid until ms_ring_publish). */
void *ms_ring_reserve(ms_ring *r, uint32_t kind, size_t len);
/* Makes the reserved message visible to the consumer (a sleeping consumer is woken once an
 * eighth of the ring waits for it; it looks by itself every 10 ms). */
void ms_ring_publish(ms_ring *r);
/* The same, waking the consumer now (ticks, the end). */
void ms_ring_flush(ms_ring *r);

/* Consumer: the next message (blocks while the ring is empty), valid until ms_ring_release. */
const ms_ring_msg *ms_ring_next(ms_ring *r);
/* Done with the message ms_ring_next returned. */
void ms_ring_release(ms_ring *r);

/* Largest message payload a ring of capacity cap takes. */
size_t ms_ring_max_payload(const ms_ring *r);

#endif
