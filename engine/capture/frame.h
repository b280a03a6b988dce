/* frame.h — one captured frame as a source hands it over: borrowed bytes plus capture info.
 * The only type the capture stage passes down to decoding. */
#ifndef MS_FRAME_H
#define MS_FRAME_H

#include <stdint.h>

/* One frame as a source hands it over. */
typedef struct ms_frame {
    const uint8_t *data; /* borrowed until the next read from the same source */
    uint32_t caplen;     /* bytes captured */
    uint32_t wirelen;    /* bytes on the wire */
    uint64_t ts_ns;      /* capture time, nanoseconds since the epoch */
    int linktype;        /* DLT_/LINKTYPE_ value from libpcap */
    uint32_t ifindex;    /* interface index (pcapng), 0 otherwise */
    uint64_t number;     /* 1-based frame number within its file */
    uint64_t index;      /* 0-based position in the whole run (every input, in read order), set by
                          * the read loop: a connection's uid derives from its first frame's index,
                          * so uids do not depend on how the work is split */
} ms_frame;

#endif
