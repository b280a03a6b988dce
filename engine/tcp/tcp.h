/* tcp.h — the TCP assembler: rebuilds both halves of every connection, gopacket `reassembly` style.
 * It owns the connection table, the page pool for out-of-order bytes and the limits. In-order
 * payload is handed to the stream straight from the capture buffer (no copy); only bytes that
 * arrive early, or that a stream keeps with keep_from, are copied into pooled pages.
 * Callback order per connection: new_stream, then data* (bytes strictly in sequence order,
 * per half), then complete exactly once. Sequence numbers compare with 32-bit serial arithmetic. */
#ifndef MS_TCP_H
#define MS_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"
#include "flow/flow.h"
#include "decode/packet.h"

typedef struct ms_tcp_assembler ms_tcp_assembler;
typedef struct ms_tcp_conn ms_tcp_conn;

/* Directions of a connection: client = sender of the SYN without ACK; without a SYN seen, the
 * sender of the first packet (then ms_tcp_conn_info.client_guessed is true). */
enum { MS_TCP_CLIENT = 0, MS_TCP_SERVER = 1 };

typedef enum ms_tcp_close_reason {
    MS_TCP_CLOSE_NONE = 0,
    MS_TCP_CLOSE_FIN,       /* both halves sent FIN (and their data was delivered) */
    MS_TCP_CLOSE_RST,       /* a RST was seen */
    MS_TCP_CLOSE_IDLE,      /* no packet for close_older_than (flush) */
    MS_TCP_CLOSE_FLUSH,     /* end of input (flush_all) */
    MS_TCP_CLOSE_EVICTED,   /* connection limit: least recently seen connection closed */
    MS_TCP_CLOSE_MEMORY,    /* page limit could not be met otherwise */
} ms_tcp_close_reason;

const char *ms_tcp_close_reason_name(ms_tcp_close_reason r); /* "fin", "rst", "idle", ... */

/* One TCP segment as the assembler sees it (built from a decoded packet). */
typedef struct ms_tcp_segment {
    uint32_t seq;
    uint32_t ack;
    uint8_t flags;           /* MS_TCP_* */
    const uint8_t *payload;  /* borrowed for the call */
    uint32_t len;
    uint64_t ts_ns;
    uint64_t frame_index;    /* ms_frame.index of the packet (names the connection it opens) */
    uint32_t ip_len;         /* IP-level bytes of the packet (total length; 0 when unknown) */
} ms_tcp_segment;

/* Per-half accounting: seen = delivered + overlap + discarded (+ queued), exactly. The fields
 * every segment updates come first (one cache line). */
typedef struct ms_tcp_half_stats {
    uint64_t packets;          /* segments seen on this half (with or without payload) */
    uint64_t bytes_seen;       /* payload bytes seen, counting every copy */
    uint64_t ip_bytes;         /* IP-level bytes of those segments (Zeek's orig_ip_bytes) */
    uint64_t first_ts_ns, last_ts_ns;
    uint64_t bytes_delivered;  /* bytes handed to data() (kept bytes count once) */
    uint64_t bytes_overlap;    /* bytes seen again (retransmissions, overlaps), dropped */
    uint64_t bytes_discarded;  /* bytes seen but dropped (limits, after close, rejected by accept) */
    uint64_t bytes_skipped;    /* bytes never seen, given up on at a gap */
    uint64_t gaps;             /* gaps skipped */
    uint64_t packets_out_of_order;
    bool fin, rst;             /* FIN / RST seen on this half */
    bool syn;                  /* SYN seen on this half */
} ms_tcp_half_stats;

/* A piece of in-order bytes. */
typedef struct ms_tcp_chunk {
    const uint8_t *data;  /* borrowed for the data() call */
    uint32_t len;
    uint64_t ts_ns;       /* capture time of the packet these bytes came in */
} ms_tcp_chunk;

#define MS_TCP_MAX_CHUNKS 64

/* What data() receives: in-order bytes of one half, scatter-gather. */
typedef struct ms_tcp_view {
    int dir;                /* MS_TCP_CLIENT or MS_TCP_SERVER */
    const ms_tcp_chunk *chunks;
    int nchunks;
    uint64_t len;           /* sum of chunk lengths */
    uint64_t kept;          /* bytes at the front that were kept from the previous call */
    int64_t skip;           /* bytes lost just before these (0 none, -1 start never seen) */
    bool start;             /* first bytes of the half (after SYN, or forced start) */
    bool end;               /* the half ended (FIN/RST) after these bytes */
    /* stats since the previous data() on this half */
    uint32_t queued_bytes, queued_packets, overlap_bytes, overlap_packets;
} ms_tcp_view;

/* Asks the assembler to keep view bytes [offset, len) and hand them again, first, with the
 * next data of this half (copied into pages). offset == len keeps nothing (the default). */
void ms_tcp_keep_from(ms_tcp_view *view, uint64_t offset);

/* Copies up to size bytes starting at offset of the view into buf; returns bytes copied. */
uint64_t ms_tcp_view_copy(const ms_tcp_view *view, uint64_t offset, void *buf, uint64_t size);

/* Contiguous access to the first n bytes: a chunk pointer when they lie in one chunk, else a
 * copy in a scratch buffer owned by the assembler (valid during the data() call).
 * NULL when n > view->len or the scratch buffer cannot grow. */
const uint8_t *ms_tcp_view_fetch(ms_tcp_view *view, uint64_t n);

/* Capture time of the byte at offset. */
uint64_t ms_tcp_view_ts(const ms_tcp_view *view, uint64_t offset);

/* Read-only facts about a connection, valid while the connection lives. */
typedef struct ms_tcp_conn_info {
    /* fields used on every packet first (cache locality), then the rest */
    ms_flow_key key;
    uint64_t first_ts_ns, last_ts_ns;
    ms_tcp_half_stats half[2]; /* by MS_TCP_CLIENT / MS_TCP_SERVER */
    ms_endpoint client;        /* orig_h / orig_p */
    ms_endpoint server;        /* resp_h / resp_p */
    bool client_guessed;       /* no SYN seen: client is the first packet's sender */
    char uid[24];              /* Zeek-style uid */
    char history[32];          /* Zeek conn.log history letters, e.g. "ShADadFf" */
    ms_tcp_close_reason close_reason; /* why complete() was called (NONE before) */
} ms_tcp_conn_info;

const ms_tcp_conn_info *ms_tcp_conn_get_info(const ms_tcp_conn *conn);

/* What new_stream returned for the connection, kept after complete() until the connection is
 * removed (for a removed hook that needs the consumer's own state; the consumer frees it there). */
void *ms_tcp_conn_user(const ms_tcp_conn *conn);

/* The consumer's side. `stream` is whatever new_stream returned; the assembler passes it back. */
typedef struct ms_tcp_stream_ops {
    /* A new connection: return the stream (may be NULL: then the connection is still tracked and
     * counted, but no data is delivered). */
    void *(*new_stream)(void *factory, ms_tcp_conn *conn, const ms_tcp_segment *first, int dir);
    /* Optional. Return false to ignore this segment; set *force_start to start a half without
     * having seen its SYN (otherwise such a half starts at its first segment with skip = -1). */
    bool (*accept)(void *stream, const ms_tcp_segment *seg, int dir, uint32_t next_seq, bool *force_start);
    /* In-order bytes of one half. */
    void (*data)(void *stream, ms_tcp_view *view);
    /* Exactly once per connection, after the last data(). */
    void (*complete)(void *stream, ms_tcp_conn *conn, ms_tcp_close_reason reason);
} ms_tcp_stream_ops;

typedef struct ms_tcp_opts {
    uint32_t max_pages_per_conn;   /* default 4096 pages (page = 1900 bytes of payload) */
    uint32_t max_pages_total;      /* default 16384 (31 MB) */
    uint32_t max_conns;            /* default 262144 */
    uint64_t uid_seed;             /* run seed of connection uids (default fixed, so the library's output is
                                    * deterministic; the command line draws one per run unless --seed) */
    uint64_t lru_granularity_ns;   /* a connection moves to the recent end of the LRU list at most once
                                    * per this much capture time (default 100 ms; 0 = every packet):
                                    * eviction and idle close are exact to this granularity */
    uint64_t reuse_after_ns;       /* payload without SYN on the tuple of a connection closed by FIN or
                                    * RST at least this long ago, reaching past every byte its half
                                    * saw, starts a new connection (default 5 s, Zeek's
                                    * tcp_close_delay / tcp_reset_delay); sooner, it is a straggler
                                    * of the old one (counted there, discarded) */
} ms_tcp_opts;

/* Totals across all connections, for --stats and the accounting checks. */
typedef struct ms_tcp_stats {
    uint64_t conns_created, conns_closed, conns_evicted;
    uint64_t segments, segments_ignored;      /* ignored: rejected by accept or after close */
    uint64_t bytes_seen, bytes_delivered, bytes_overlap, bytes_skipped, bytes_discarded;
    uint64_t gaps;
    uint64_t pages_in_use, pages_peak, pages_allocated;
    uint64_t page_limit_skips;                /* gaps skipped because a page limit was reached */
    uint64_t keep_dropped;                    /* kept bytes dropped: keep_from asked for more than
                                               * MS_TCP_MAX_CHUNKS - 8 pages (106,400 bytes) */
} ms_tcp_stats;

void ms_tcp_opts_default(ms_tcp_opts *opts);

/* Caller frees with ms_tcp_assembler_free (which does not call complete: call flush_all first). */
ms_tcp_assembler *ms_tcp_assembler_new(const ms_tcp_opts *opts, const ms_tcp_stream_ops *ops, void *factory);
void ms_tcp_assembler_free(ms_tcp_assembler *a);

/* Feeds one segment of the connection `key` sent in direction key_dir (MS_DIR_A_TO_B or
 * MS_DIR_B_TO_A of the flow key). Calls back synchronously. */
void ms_tcp_assemble(ms_tcp_assembler *a, const ms_flow_key *key, int key_dir, const ms_tcp_segment *seg);

/* Convenience: builds key and segment from a decoded TCP packet and assembles it.
 * Returns false when the packet is not TCP. */
bool ms_tcp_assemble_packet(ms_tcp_assembler *a, ms_packet *pkt);

/* Capture-time flush: halves waiting on a gap whose oldest queued bytes arrived before
 * older_than_ns skip the gap (reported as skip); connections with no packet since
 * close_older_than_ns are completed with MS_TCP_CLOSE_IDLE. Returns connections closed. */
int ms_tcp_flush(ms_tcp_assembler *a, uint64_t older_than_ns, uint64_t close_older_than_ns);

/* End of input: delivers everything queued (skipping gaps) and completes every connection
 * with MS_TCP_CLOSE_FLUSH. */
void ms_tcp_flush_all(ms_tcp_assembler *a);

const ms_tcp_stats *ms_tcp_assembler_stats(const ms_tcp_assembler *a);

/* Optional: `removed(factory, conn)` is called when a connection leaves the table — after its
 * complete() and the linger that absorbs late packets (removed at the flush once idle for
 * older_than), at eviction, at port reuse, or in flush_all — with its final counters, late packets
 * included (Zeek writes conn.log at this point). conn is borrowed for the call. */
typedef void (*ms_tcp_removed_fn)(void *factory, const ms_tcp_conn *conn);
void ms_tcp_set_removed_hook(ms_tcp_assembler *a, ms_tcp_removed_fn removed);

#endif
