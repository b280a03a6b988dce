/* replay.h — a recorded connection (record.h) presented again to a Lua runtime through the public
 * ms_lua_conn_* API, at a chosen segmentation: which byte ranges each call carries, and in what
 * order the two directions' calls come. Gaps stay where they were captured, and every byte keeps
 * its capture time (r:time() is exact in every segmentation). What the parser consumed is
 * watched, to tell a parser that stalls from one that waits. */
#ifndef MS_CLI_REPLAY_H
#define MS_CLI_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/record.h"
#include "cli/records.h"

/* The segmentations, in the order moonshark check runs them (MS_SEG_CAPTURED is the reference). */
typedef enum ms_seg {
    MS_SEG_CAPTURED = 0, /* the dispatcher's calls, in capture order */
    MS_SEG_WHOLE,        /* each direction in one call (cut only at gaps), the client's first */
    MS_SEG_BYTES,        /* one byte per call (up to byte_limit bytes of each direction) */
    MS_SEG_CRLF,         /* cut between every CR and LF and after every LF */
    MS_SEG_RANDOM,       /* random sizes, 1 to 4096 bytes, seeded */
    MS_SEG_RANDOM_LAG,   /* random sizes, the server's calls held back behind up to 8 more client calls */
    MS_SEG_SERVER_LATE,  /* the calls as captured, every client call before any server call */
    MS_SEG_SERVER_EARLY, /* random sizes, the server's bytes as early as they were captured (opt-in) */
    MS_SEG_COUNT
} ms_seg;

#define MS_SEG_DEFAULT_MASK ((1u << MS_SEG_SERVER_EARLY) - 1u) /* every one but server-early */

const char *ms_seg_name(int seg);   /* "captured", "whole", "bytes", ... */
const char *ms_seg_about(int seg);  /* one line saying what it does */
int ms_seg_by_name(const char *name, size_t len); /* -1 when unknown */

typedef struct ms_replay_opts {
    uint64_t seed;          /* random sizes and lags; mixed with the connection's uid */
    uint64_t byte_limit;    /* MS_SEG_BYTES: bytes of each direction given one at a time (then as captured) */
} ms_replay_opts;

/* What a replay saw of the parser, per direction. */
typedef struct ms_replay_dir {
    uint64_t bytes;          /* bytes of the direction */
    uint64_t max_held;       /* most bytes presented but not consumed at once */
    uint64_t end_held;       /* not consumed when the direction ended (or the connection closed) */
    uint64_t end_calls;      /* calls that presented those bytes again without the parser consuming any */
    uint64_t end_from;       /* offset of the first of them */
} ms_replay_dir;

typedef struct ms_replay_result {
    char protocol[64];       /* protocol that claimed the connection ("" when none did) */
    uint64_t calls;          /* calls into the runtime */
    uint64_t script_errors;  /* errors the replay raised */
    ms_replay_dir dir[2];
} ms_replay_result;

/* Replays rc into the runtime rt at segmentation seg (one open, the calls, one close with the
 * recorded reason). When r (rt's reader, ms_records_lua(r) == rt) is given, the records that came
 * out are appended to out, tagged with the offset they came out at; else they went wherever rt
 * writes. 0, or a negative code (out of memory: the replay is then incomplete). */
int ms_replay_run(ms_lua *rt, ms_records *r, const ms_rec_conn *rc, int seg, const ms_replay_opts *o,
                  ms_record_list *out, ms_replay_result *res);

#endif
