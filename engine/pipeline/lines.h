/* lines.h — one output for many workers: each worker writes each log into a stream of its own
 * (a stdio FILE over a buffer); whole lines are handed in 64 KiB blocks to one writer thread,
 * which writes them to stdout or DIR/LOG.log, so lines of different workers never mix. A TSV
 * log's '#' header, which every worker's sink writes before its first record, is written once. */
#ifndef MS_LINES_H
#define MS_LINES_H

#include <stdbool.h>
#include <stdio.h>

#include "common/common.h"
#include "output/output.h"

typedef struct ms_lines ms_lines;

/* Records go to `out` (not closed), or to DIR/LOG.log when dir is set. Starts the writer thread.
 * With sort, each log's records are held and written in ts order (stable) at ms_lines_finish
 * (--sort: the memory is the output's size). NULL on failure with err filled. */
ms_lines *ms_lines_new(FILE *out, const char *dir, ms_out_format format, bool sort, ms_err *err);

/* The stream worker `worker` writes log `name` into (a sink opens it with this FILE). The stream
 * belongs to the lines object (closed by ms_lines_worker_done). NULL with err filled when
 * DIR/LOG.log cannot be written (the same message as a sink of its own would give). */
FILE *ms_lines_stream(ms_lines *w, int worker, const char *name, const ms_field_def *fields,
                      int nfields, ms_err *err);

/* A worker wrote its last record: its streams are flushed and closed (from the worker's thread). */
void ms_lines_worker_done(ms_lines *w, int worker);

/* Every worker is done: waits for the writer, writes the header of logs that got no record into
 * their DIR files (as a sink of its own does), closes the files. 0, or MS_EIO when a write
 * failed. Frees w. *writer_cpu_ns (when not NULL): the CPU time of the writer thread. */
int ms_lines_finish(ms_lines *w, uint64_t *writer_cpu_ns);

#endif
