/* check.h — the segmentation check behind `moonshark check` and `moonshark test`: each recorded
 * connection is replayed at several segmentations (replay.h), each into its own runtime that has
 * seen the same connections before, and the records are compared with those of the replay as
 * captured. Two records are the same when every column is equal, except time and interval
 * columns (unless strict_time), with set items compared in any order; a connection's records are
 * the same when each log holds the same records, in any order. Also found: a parser that raises,
 * and one that stalls (bytes presented again and again without being consumed, to the end). */
#ifndef MS_CLI_CHECK_H
#define MS_CLI_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/record.h"
#include "cli/records.h"

#define MS_CHECK_KEEP_MAX 106400u /* bytes the assembler keeps for a parser (tcp.h: keep_dropped) */

typedef struct ms_check_opts {
    ms_records_opts rt;        /* scripts, sandbox, memory (the format is TSV whatever is set) */
    uint64_t seed;             /* random segmentations; printed to reproduce a finding */
    uint64_t byte_limit;       /* bytes of each direction given one at a time (default 65536) */
    unsigned segs;             /* 1u << MS_SEG_*: the segmentations to run (captured always runs) */
    bool strict_time;          /* compare time and interval columns too */
    uint64_t stall_calls;      /* presentations without progress, to the end, that make a stall (8) */
    int max_reports;           /* connections whose finding is printed in full (default 1; <0 all) */
    FILE *report;              /* findings (default stdout) */
    const char *name;          /* what is checked, for messages ("http.lua") */
} ms_check_opts;

typedef struct ms_check_stats {
    uint64_t conns;            /* connections and UDP flows recorded */
    uint64_t claimed;          /* of which a protocol claimed */
    uint64_t udp;              /* claimed UDP flows (replayed as captured only) */
    uint64_t replays;          /* replays run */
    uint64_t records;          /* records of the replays as captured */
    uint64_t differ;           /* connections whose records depend on the segmentation */
    uint64_t raised;           /* connections on which the parser raised */
    uint64_t stalled;          /* connections with a stalled direction */
    uint64_t truncated;        /* connections not checked: left out of the recording */
} ms_check_stats;

void ms_check_opts_default(ms_check_opts *o);

typedef struct ms_check ms_check;

/* One runtime per segmentation, the scripts loaded in each. NULL with err filled. */
ms_check *ms_check_new(const ms_check_opts *o, ms_err *err);
void ms_check_free(ms_check *ck);

/* Checks one connection. Returns 0 when every segmentation agrees, 1 on a finding (printed when
 * within max_reports), or a negative code (out of memory). */
int ms_check_conn(ms_check *ck, const ms_rec_conn *rc);

/* The runtime of the replays as captured (port table, names of protocols). */
ms_lua *ms_check_lua(ms_check *ck);

const ms_check_stats *ms_check_get_stats(const ms_check *ck);

/* True when nothing was found so far. */
bool ms_check_ok(const ms_check *ck);

/* The one-line summary ("ok: ..." or "FAIL: ..."), without a newline. */
void ms_check_summary(const ms_check *ck, char *buf, size_t size);

#endif
