/* quick.h — the TCP segment of a plain frame read straight off its headers: Ethernet (one
 * 802.1Q tag at most), IPv4 without fragments or IPv6 without extension headers, TCP. Gives what
 * the decoder and tcp/tcp_packet.c would give the assembler for that frame (same key, direction
 * and payload clamps; the checks are the decoders' own), for a quarter of the instructions; any
 * other frame is left to the decoder. Used for the packets of ms_dispatch_frame and by the
 * --threads reader (pipeline/). */
#ifndef MS_QUICK_H
#define MS_QUICK_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/frame.h"
#include "flow/flow.h"
#include "tcp/tcp.h"

typedef struct ms_quick_tcp {
    ms_flow_key key;        /* ms_flow_key_of's canonical key */
    int key_dir;            /* MS_DIR_A_TO_B when the sender is endpoint a */
    ms_tcp_segment seg;     /* payload points into the frame */
    const uint8_t *src, *dst; /* the sender's and receiver's addresses (4 or 16 bytes) */
    uint16_t sport, dport;
} ms_quick_tcp;

/* True with *q filled when f is such a frame; false for the decoder. */
bool ms_quick_tcp_of(const ms_frame *f, ms_quick_tcp *q);

#endif
