/* record.h — connections as captured, kept for replays (moonshark check, test, --stream).
 * The recorder is a parser (dispatch/parser.h) that consumes every byte the dispatcher delivers,
 * so each byte is seen once, and keeps per connection: both directions' bytes, the boundaries at
 * which they came (one event per data call), the gaps, the ends, the datagrams, and the capture
 * time of every byte. A closed connection is handed to a callback, then freed. Byte files make a
 * recording without a capture (ms_rec_conn_new + ms_rec_add). */
#ifndef MS_CLI_RECORD_H
#define MS_CLI_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dispatch/parser.h"

typedef enum ms_rec_kind {
    MS_REC_DATA = 0,   /* in-order bytes of a direction */
    MS_REC_LAST,       /* the last bytes of a direction (len may be 0): it ends after them */
    MS_REC_GAP,        /* len bytes of a direction were lost at off */
    MS_REC_DATAGRAM,   /* one UDP datagram */
} ms_rec_kind;

/* One call the dispatcher made, in capture order. */
typedef struct ms_rec_event {
    uint8_t kind;      /* ms_rec_kind */
    uint8_t dir;       /* MS_PARSER_CLIENT or MS_PARSER_SERVER */
    uint64_t off;      /* where the event's bytes start in the direction's bytes (a gap: where the hole is) */
    uint64_t len;      /* bytes delivered, or bytes lost (gap) */
    uint64_t ts_ns;    /* capture time of the first byte */
} ms_rec_event;

/* The bytes of one direction (gaps hold no bytes: offsets run on across a hole). */
typedef struct ms_rec_dir {
    uint8_t *bytes;
    uint64_t len, cap;
    uint64_t *ts_off;  /* byte ts_off[i] and those after it, up to ts_off[i+1], came at ts_ns[i] */
    uint64_t *ts_ns;
    size_t nts, ts_cap;
    bool ended;        /* a MS_REC_LAST event was recorded */
} ms_rec_dir;

typedef struct ms_rec_conn {
    ms_parser_conn_info info;  /* info.uid points at uid; info.protocol is NULL */
    char uid[24];
    ms_rec_event *ev;
    size_t nev, ev_cap;
    ms_rec_dir dir[2];
    const char *reason;        /* why it closed ("fin", "rst", ...: a static string) */
    bool truncated;            /* bytes were left out (recording limit, memory): not replayable */
    uint64_t bytes;            /* bytes held (both directions) */
} ms_rec_conn;

/* The toolkit's growable arrays: makes *p (elements of size sz, *cap of them) hold at least need,
 * doubling. 0, or MS_ENOMEM with *p unchanged. */
int ms_cli_grow(void **p, size_t sz, size_t *cap, size_t need);

/* Capture time of byte off of a direction (the time of the last byte when off is past the end). */
uint64_t ms_rec_ts_at(const ms_rec_dir *d, uint64_t off);

/* A recording made by hand (byte files). info is copied (uid too). Caller frees with ms_rec_conn_free. */
ms_rec_conn *ms_rec_conn_new(const ms_parser_conn_info *info);

/* Appends an event of kind (MS_REC_*) with its bytes (none for a gap: len is the bytes lost).
 * Returns 0, or MS_ENOMEM (the connection is then marked truncated). */
int ms_rec_add(ms_rec_conn *rc, int kind, int dir, const uint8_t *bytes, uint64_t len, uint64_t ts_ns);

void ms_rec_conn_free(ms_rec_conn *rc);

/* Called once per connection when it closes; rc is borrowed for the call. */
typedef void (*ms_rec_done_fn)(void *ud, const ms_rec_conn *rc);

typedef struct ms_recorder ms_recorder;

/* A recorder holding at most max_bytes of open connections' bytes in all (0 = 1 GiB); a
 * connection that would pass it is dropped from the recording (marked truncated, counted).
 * NULL when out of memory. Caller frees with ms_recorder_free, after the dispatcher. */
ms_recorder *ms_recorder_new(uint64_t max_bytes, ms_rec_done_fn done, void *ud);
void ms_recorder_free(ms_recorder *r);

/* The recorder as the dispatcher's parser. */
ms_parser ms_recorder_parser(ms_recorder *r);

/* The parser whose UDP ports decide which side of a new UDP flow is the client (as in a run of
 * that parser: a response seen first does not make its sender the client). */
void ms_recorder_claims(ms_recorder *r, ms_parser claims);

/* Connections left out at the limit so far. */
uint64_t ms_recorder_truncated(const ms_recorder *r);

#endif
