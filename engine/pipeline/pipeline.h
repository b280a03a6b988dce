/* pipeline.h — several cores on one capture (moonshark --threads N): the reading thread decodes
 * each frame just far enough to know its flow, and copies it into the ring of the worker that
 * flow hashes to (symmetric: both directions meet on one worker). Each worker thread owns a decode
 * context, a dispatcher (flow table, TCP assembler) and the parser the factory makes for it in
 * that thread: nothing is shared between workers, no lock is taken per packet.
 * IP fragments are put together before the hash, by the reader's own defragmenter: a datagram
 * whose fragments are all in goes to its flow's worker as one unfragmented IP packet (fragments
 * that complete nothing are counted as the one-thread path counts them, as other packets).
 * Capture-time ticks and the end of each input reach every worker, in order with the frames. */
#ifndef MS_PIPELINE_H
#define MS_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "capture/source.h"
#include "common/common.h"
#include "decode/packet.h"
#include "dispatch/dispatch.h"
#include "dispatch/parser.h"

#define MS_PIPELINE_MAX_WORKERS 64

typedef struct ms_pipeline ms_pipeline;

/* Makes and ends the parsers: called in each worker's own thread. */
typedef struct ms_pipeline_factory {
    /* Before the worker's first packet: fills *parser (its impl lives until the pipeline is
     * freed). 0, or an error code with err filled (the pipeline then does not start). */
    int (*open)(void *ud, int worker, ms_parser *parser, ms_err *err);
    /* After the worker's dispatcher finished (every connection closed): the parser writes out
     * what it holds (logs). Returns 0 or an error code. */
    int (*finish)(void *ud, int worker);
    void *ud;
} ms_pipeline_factory;

typedef struct ms_pipeline_opts {
    int workers;                 /* 1 to MS_PIPELINE_MAX_WORKERS */
    ms_dispatch_opts dispatch;   /* every worker's dispatcher */
    size_t ring_bytes;           /* per worker; 0 = 1 MiB (4 MiB measured no faster, and costs RSS) */
} ms_pipeline_opts;

/* Starts the workers and waits until each has its parser. NULL with err filled (the first
 * worker's error, its code in *code) when one could not start. Caller frees with ms_pipeline_free. */
ms_pipeline *ms_pipeline_new(const ms_pipeline_opts *opts, const ms_pipeline_factory *factory, ms_err *err,
                             int *code);

/* The reader's side, one thread: a packet of the reader's decode context (decoded here as far
 * as its flow), a capture-time tick, the end of an input. */
void ms_pipeline_packet(ms_pipeline *p, ms_packet *pkt);
/* An input was opened: its classic pcap records are read into the pipeline's blocks, so plain TCP
 * payloads go to workers in place instead of copied (each worker says when it is done with a
 * block). Other inputs are copied frame by frame. */
void ms_pipeline_source(ms_pipeline *p, ms_source *src);
void ms_pipeline_tick(ms_pipeline *p, uint64_t now_ns);
void ms_pipeline_input_end(ms_pipeline *p);

/* End of input: every worker finishes (dispatcher, then factory->finish) and its thread ends.
 * Returns 0 or the first non-zero factory->finish result. */
int ms_pipeline_finish(ms_pipeline *p);

/* The dispatchers' counters summed (tcp.pages_peak: the sum of the workers' peaks), with the
 * fragments the reader held counted as other packets; after ms_pipeline_finish. */
void ms_pipeline_stats(const ms_pipeline *p, ms_dispatch_stats *d, ms_tcp_stats *t);

/* Frames and captured bytes the reader saw, and how many it routed from their headers alone. */
void ms_pipeline_reader_counts(const ms_pipeline *p, uint64_t *frames, uint64_t *bytes, uint64_t *quick);

/* What each stage cost, for --stats: frames routed to each worker. */
uint64_t ms_pipeline_worker_frames(const ms_pipeline *p, int worker);
/* CPU time the worker's thread used (start-up, frames, finish); after ms_pipeline_finish. */
uint64_t ms_pipeline_worker_cpu_ns(const ms_pipeline *p, int worker);

void ms_pipeline_free(ms_pipeline *p);

#endif
