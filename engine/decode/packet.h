/* packet.h — one captured frame and the layers decoded from it.
 * A packet never owns bytes: layers point into the capture buffer (borrowed until the next frame)
 * or into a defragmentation buffer (owned by the decode context, valid until the next packet).
 * The layer array is fixed-size so decoding a packet allocates nothing. */
#ifndef MS_PACKET_H
#define MS_PACKET_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/frame.h"
#include "common/common.h"

typedef enum ms_layer_type {
    MS_LAYER_NONE = 0,
    /* link */
    MS_LAYER_ETH,          /* Ethernet II or 802.3 header */
    MS_LAYER_LLC,          /* 802.2 LLC (decoding stops after it) */
    MS_LAYER_VLAN,         /* 802.1Q tag */
    MS_LAYER_QINQ,         /* 802.1ad service tag */
    MS_LAYER_MPLS,         /* one MPLS label stack (all labels) */
    MS_LAYER_PPPOE,        /* PPPoE session header */
    MS_LAYER_PPP,          /* PPP protocol field */
    MS_LAYER_SLL,          /* Linux cooked capture v1 */
    MS_LAYER_SLL2,         /* Linux cooked capture v2 */
    MS_LAYER_NULL,         /* BSD null (host byte order family) */
    MS_LAYER_LOOP,         /* OpenBSD loop (network byte order family) */
    MS_LAYER_RAW,          /* raw IP link type: no link header */
    MS_LAYER_ARP,
    MS_LAYER_ECTP,         /* Ethernet configuration testing protocol, ethertype 0x9000 (tshark "loop") */
    /* network */
    MS_LAYER_IPV4,
    MS_LAYER_IPV6,
    MS_LAYER_IPV6_HOPOPTS,
    MS_LAYER_IPV6_ROUTING,
    MS_LAYER_IPV6_FRAG,
    MS_LAYER_IPV6_DSTOPTS,
    MS_LAYER_AH,
    MS_LAYER_GRE,
    MS_LAYER_VXLAN,
    /* transport */
    MS_LAYER_TCP,
    MS_LAYER_UDP,
    MS_LAYER_ICMP,
    MS_LAYER_ICMPV6,
    /* above transport, or bytes we do not decode */
    MS_LAYER_PAYLOAD,      /* application bytes (TCP/UDP payload) */
    MS_LAYER_DATA,         /* undecoded bytes of a protocol we stop at (tshark's "data") */
    /* tunnels and link types added later (engine/decode/layers/{wlan,ayiya,gtp,geneve,nflog,arcnet}.c) */
    MS_LAYER_WLAN,         /* 802.11 frame header (Aruba GRE) */
    MS_LAYER_AYIYA,        /* AYIYA (UDP 5072) */
    MS_LAYER_GTP,          /* GTPv1-U header and extension headers (UDP 2152) */
    MS_LAYER_GENEVE,       /* Geneve header and options (UDP 6081) */
    MS_LAYER_NFLOG,        /* Linux NFLOG header and TLVs (link type 239) */
    MS_LAYER_ARCNET,       /* ARCNET (link types 7 and 129) */
    MS_LAYER_COUNT
} ms_layer_type;

/* Layer flags. */
enum {
    MS_LF_TRUNCATED = 1 << 0,    /* the header or its declared payload ran past the captured bytes */
    MS_LF_MALFORMED = 1 << 1,    /* a field made no sense (bad length, bad version) */
    MS_LF_BAD_CHECKSUM = 1 << 2, /* checksum verified and wrong (a flag, never a drop) */
    MS_LF_FRAGMENT = 1 << 3,     /* IP fragment held for reassembly (payload not decoded here) */
    MS_LF_REASSEMBLED = 1 << 4,  /* this layer's payload is a reassembled datagram */
    MS_LF_ETHERTYPE = 1 << 5,    /* next protocol chosen by an ethertype field (tshark shows "ethertype") */
};

typedef struct ms_layer {
    const uint8_t *data; /* first byte of this layer's header (borrowed) */
    uint32_t hdr_len;    /* header bytes */
    uint32_t len;        /* header + payload bytes available to this layer (clamped to captured) */
    uint16_t type;       /* ms_layer_type */
    uint16_t flags;      /* MS_LF_* */
} ms_layer;

#define MS_MAX_LAYERS 32

/* Decode errors: the first one recorded on a packet stops decoding. */
typedef enum ms_decode_error {
    MS_DERR_NONE = 0,
    MS_DERR_TRUNCATED,  /* a header was cut by the snap length or file end */
    MS_DERR_MALFORMED,  /* a header field was invalid */
    MS_DERR_TOO_DEEP,   /* more layers than MS_MAX_LAYERS (e.g. endless tunnels) */
} ms_decode_error;

/* Addresses and ports of the innermost IP and transport header, filled while decoding. */
typedef struct ms_packet_net {
    uint8_t family;       /* 0 none, 4 or 6 */
    uint8_t proto;        /* IP protocol of the transport (6 TCP, 17 UDP, ...) */
    uint8_t ttl;          /* TTL / hop limit */
    uint8_t src[16];      /* IPv4 uses the first 4 bytes */
    uint8_t dst[16];
    uint16_t sport;       /* TCP/UDP ports, 0 when not TCP/UDP */
    uint16_t dport;
} ms_packet_net;

/* TCP header fields the assembler needs. */
enum {
    MS_TCP_FIN = 0x01, MS_TCP_SYN = 0x02, MS_TCP_RST = 0x04, MS_TCP_PSH = 0x08,
    MS_TCP_ACK = 0x10, MS_TCP_URG = 0x20, MS_TCP_ECE = 0x40, MS_TCP_CWR = 0x80,
};

typedef struct ms_packet_tcp {
    uint32_t seq;
    uint32_t ack;
    uint16_t window;
    uint8_t flags;        /* MS_TCP_* */
    uint8_t wscale;       /* window scale option, 0xff when absent */
    uint16_t mss;         /* MSS option, 0 when absent */
    uint8_t sack_ok;      /* SACK-permitted option seen */
    uint8_t nsack;        /* SACK blocks in the option (not stored) */
    uint32_t ts_val;      /* timestamp option values, 0 when absent */
    uint32_t ts_ecr;
    uint8_t has_ts;
} ms_packet_tcp;

typedef struct ms_decode_ctx ms_decode_ctx;

typedef struct ms_packet {
    ms_frame frame;                 /* capture info and the borrowed frame bytes */
    ms_layer layers[MS_MAX_LAYERS]; /* decoded so far, outermost first */
    uint8_t nlayers;
    uint8_t next_decoder;           /* lazy state: decoder to run next (0 = done) */
    uint8_t error;                  /* ms_decode_error, first one seen */
    uint8_t error_layer;            /* layer type that failed (ms_layer_type) */
    const uint8_t *next_data;       /* lazy state: bytes for next_decoder */
    uint32_t next_len;
    ms_packet_net net;              /* innermost IP + ports */
    ms_packet_tcp tcp;              /* valid when net.proto == 6 and a TCP layer was decoded */
    const uint8_t *payload;         /* innermost TCP/UDP payload, NULL when none (borrowed: the
                                     * frame, or a reassembly buffer valid until the next packet) */
    uint32_t payload_len;           /* clamped to the IP length and the captured bytes */
    ms_decode_ctx *ctx;             /* defragmenter, stats, tables */
    uint8_t in_icmp_error;          /* >0 while decoding the header quoted inside an ICMP error:
                                     * such layers never touch net, tcp or payload */
    uint8_t nreasm;                 /* reassembly buffers used by this packet */
    uint8_t next_proto;             /* IP protocol number that chose next_decoder (IPv6 ext) */
    uint64_t *layer_counts;         /* the context's per-type layer counters (borrowed) */
} ms_packet;

#endif
