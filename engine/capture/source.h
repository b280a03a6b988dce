/* source.h — packet sources over libpcap: capture files (pcap, pcapng, "-" for stdin) and live
 * interfaces, with an optional BPF filter. A source hands out one frame at a time; the frame's
 * bytes are libpcap's buffer, borrowed until the next ms_source_next. */
#ifndef MS_SOURCE_H
#define MS_SOURCE_H

#include <stdint.h>

#include "capture/frame.h"
#include "common/common.h"

typedef struct ms_source ms_source;

typedef struct ms_source_opts {
    const char *filter;   /* BPF expression, NULL for none */
    int snaplen;          /* live only; 0 means 262144 */
    bool promisc;         /* live only */
    int timeout_ms;       /* live only: read timeout, 0 means 100 */
} ms_source_opts;

/* Opens a capture file ("-" reads stdin); a gzip'd capture (.pcap.gz, or gzip bytes on stdin) is
 * read through zlib. NULL on failure with err filled:
 * MS_EFORMAT (not a capture) or MS_EIO (cannot open), code in *code when code is non-NULL. */
ms_source *ms_source_open_file(const char *path, const ms_source_opts *opts, ms_err *err, int *code);

/* Opens a live interface. NULL on failure with err filled. */
ms_source *ms_source_open_live(const char *iface, const ms_source_opts *opts, ms_err *err);

#define MS_SOURCE_IDLE 2 /* ms_source_next: a live read timed out with no frame */

/* Reads the next frame. Returns 1 with *frame filled, 0 at the end of input (or when
 * ms_source_break was called), MS_SOURCE_IDLE when a live read waited its timeout without a
 * frame (so the caller can look at the clock and at signals), or MS_ETRUNC / MS_EIO with err
 * naming the file and frame. */
int ms_source_next(ms_source *src, ms_frame *frame, ms_err *err);

/* Asks a live read loop to stop (safe from a signal handler). */
void ms_source_break(ms_source *src);

/* Bytes of the file consumed so far and its size (0 when unknown: stdin, live), for progress. */
uint64_t ms_source_offset(const ms_source *src);
uint64_t ms_source_size(const ms_source *src);

int ms_source_linktype(const ms_source *src);
const char *ms_source_name(const ms_source *src);

/* libpcap's received/dropped counters for a live source; returns 0 when available. */
int ms_source_live_stats(ms_source *src, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped);

/* Reads of a classic pcap file go into blocks from b from now on (capture/pcap_fast.h), so the
 * frames stay where they are until the block's owner frees it (moonshark --threads). False when
 * the file is not read by the quick reader (then frames are borrowed as usual). */
struct ms_pcap_blocks;
bool ms_source_set_blocks(ms_source *src, const struct ms_pcap_blocks *b);

void ms_source_close(ms_source *src);

/* An interface libpcap can capture on, as ms_source_interfaces hands it over (-D). */
enum {
    MS_IFACE_UP = 1 << 0, MS_IFACE_RUNNING = 1 << 1, MS_IFACE_LOOPBACK = 1 << 2, MS_IFACE_WIRELESS = 1 << 3,
    MS_IFACE_CONNECTED = 1 << 4, MS_IFACE_DISCONNECTED = 1 << 5,
    MS_IFACE_STATUS_NA = 1 << 6,  /* connection status does not apply (lo, any); none of the three: unknown */
};
typedef struct ms_iface {
    const char *name;         /* what -i takes */
    const char *description;  /* NULL when libpcap has none */
    unsigned flags;           /* MS_IFACE_* */
} ms_iface;

/* Calls fn once per interface, in libpcap's order (pcap_findalldevs). Returns the number of
 * interfaces, or MS_EIO with err filled. */
int ms_source_interfaces(void (*fn)(void *ud, const ms_iface *iface), void *ud, ms_err *err);

#endif
