/* defrag.h — IPv4 and IPv6 fragment reassembly for the decode pipeline.
 * Fragments are held per (family, src, dst, id, proto) until the datagram is complete, then the
 * reassembled payload (the bytes after the IP header / fragment header) is handed back in an output
 * buffer owned by the defragmenter and valid until ms_defrag_packet_begin (the next packet).
 * Overlaps: the bytes that arrived first win. Limits: fragments per datagram, datagrams held,
 * bytes held, a timeout in capture time; what a limit drops is counted in ms_decode_stats.
 * Memory: two output buffers and the datagram table are allocated at creation; a fragment's
 * bytes are copied (one allocation) only when it is held, and freed when its datagram ends. */
#ifndef MS_DEFRAG_H
#define MS_DEFRAG_H

#include <stdint.h>

#include "decode/decode.h"

typedef struct ms_defrag ms_defrag;

/* One fragment as the IP decoders see it. All pointers are borrowed for the call. */
typedef struct ms_frag {
    uint8_t family;       /* 4 or 6 */
    uint8_t proto;        /* protocol of the fragmented payload */
    const uint8_t *src;   /* 4 or 16 bytes */
    const uint8_t *dst;
    uint32_t id;          /* IPv4 identification or IPv6 fragment id */
    uint32_t offset;      /* byte offset of data in the datagram */
    int more;             /* more fragments follow (MF / M flag) */
    const uint8_t *data;  /* this fragment's payload bytes */
    uint32_t len;
    uint64_t ts_ns;       /* capture time of the frame */
} ms_frag;

/* Creates a defragmenter with the limits in opts; counters go to *stats (which must outlive it).
 * NULL when allocation fails. Caller frees with ms_defrag_free. */
ms_defrag *ms_defrag_new(const ms_decode_opts *opts, ms_decode_stats *stats);
void ms_defrag_free(ms_defrag *d);

/* Called once per frame: releases the output buffers of the previous frame and drops partial
 * datagrams older than the timeout (counted in frag_expired). */
void ms_defrag_packet_begin(ms_defrag *d, uint64_t now_ns);

/* Adds a fragment. Returns 1 when it completed its datagram: *out / *out_len then hold the
 * reassembled payload (owned by the defragmenter, valid until the next ms_defrag_packet_begin);
 * 0 when the fragment is held; MS_ELIMIT or MS_EFORMAT when it was dropped (counted). */
int ms_defrag_add(ms_defrag *d, const ms_frag *f, const uint8_t **out, uint32_t *out_len);

/* The defragmenter of a decode context (NULL when defragmentation is off); owned by the context. */
ms_defrag *ms_decode_ctx_defrag_handle(ms_decode_ctx *ctx);

/* Drops every partial datagram (end of an input): they count as expired. */
void ms_defrag_flush(ms_defrag *d);

/* Datagrams and bytes currently held (for tests and stats). */
uint32_t ms_defrag_held_datagrams(const ms_defrag *d);
uint64_t ms_defrag_held_bytes(const ms_defrag *d);

#endif
