/* decode.h — the layer decode pipeline: decoders registered in tables, lazy or eager.
 * Each decoder reads its own header through a cursor, records one layer on the packet and names
 * the next decoder, gopacket-style. Decoding never allocates and never reads past the captured
 * bytes; a short or bad header records a decode error on the packet and stops. */
#ifndef MS_DECODE_H
#define MS_DECODE_H

#include "decode/packet.h"

/* Decoder ids: index into the decoder table (engine/decode/decode.c). 0 means "stop". */
typedef enum ms_decoder_id {
    MS_DEC_NONE = 0,
    MS_DEC_ETH, MS_DEC_LLC, MS_DEC_VLAN, MS_DEC_QINQ, MS_DEC_MPLS, MS_DEC_PPPOE, MS_DEC_PPP,
    MS_DEC_SLL, MS_DEC_SLL2, MS_DEC_NULL, MS_DEC_LOOP, MS_DEC_RAW, MS_DEC_ARP,
    MS_DEC_IPV4, MS_DEC_IPV6, MS_DEC_IPV6_EXT, MS_DEC_AH, MS_DEC_GRE, MS_DEC_VXLAN,
    MS_DEC_TCP, MS_DEC_UDP, MS_DEC_ICMP, MS_DEC_ICMPV6,
    MS_DEC_PAYLOAD, MS_DEC_DATA,
    MS_DEC_PPP_HDLC,  /* PPP with optional 0xff 0x03 address/control (DLT_PPP, PPTP in GRE) */
    MS_DEC_IP_GUESS,  /* IPv4 or IPv6 by the version nibble (raw IP, MPLS bottom of stack) */
    MS_DEC_ECTP,      /* Ethernet loopback test frames (ethertype 0x9000) */
    MS_DEC_WLAN, MS_DEC_AYIYA, MS_DEC_GTP, MS_DEC_GENEVE, MS_DEC_NFLOG,
    MS_DEC_ARCNET_BSD, MS_DEC_ARCNET_LINUX,
    MS_DEC_COUNT
} ms_decoder_id;

/* A decoder: decodes the layer at data[0..len), pushes it with ms_packet_push, sets the next
 * bytes with ms_packet_set_next and returns the next decoder (MS_DEC_NONE to stop). data is
 * borrowed: the frame, or a reassembly buffer of the context valid until the next packet.
 * (TCP also pushes its payload layer itself, saving a step on the hot path.) */
typedef ms_decoder_id (*ms_decode_fn)(ms_packet *pkt, const uint8_t *data, uint32_t len);

typedef struct ms_decode_opts {
    bool eager;                 /* decode all layers in ms_packet_start (default true) */
    bool defrag;                /* reassemble IPv4/IPv6 fragments (default true) */
    bool verify_checksums;      /* set MS_LF_BAD_CHECKSUM on IPv4 headers (default true; fragments
                                 * are always checked: a bad one is not reassembled) */
    uint32_t frag_max_per_datagram; /* fragments held per datagram (default 1024, at most 8192) */
    uint32_t frag_max_datagrams;    /* datagrams held at once (default 1024) */
    uint64_t frag_max_bytes;        /* bytes held in all (default 16 MiB) */
    uint64_t frag_timeout_ns;       /* capture time after which a partial datagram is dropped (30 s) */
} ms_decode_opts;

/* Counters kept by a decode context; everything not decoded is counted somewhere here. */
typedef struct ms_decode_stats {
    uint64_t frames;
    uint64_t bytes;                       /* captured bytes */
    uint64_t layers[MS_LAYER_COUNT];      /* layers decoded, by type */
    uint64_t errors[4];                   /* by ms_decode_error */
    uint64_t unknown_linktype;            /* frames of a link type with no decoder */
    uint64_t frag_fragments;              /* fragments handed to the defragmenter */
    uint64_t frag_reassembled;            /* datagrams completed */
    uint64_t frag_dropped;                /* fragments dropped at a limit or as invalid */
    uint64_t frag_expired;                /* partial datagrams that timed out or were left
                                           * at the end of an input */
} ms_decode_stats;

void ms_decode_opts_default(ms_decode_opts *opts);

/* Creates a decode context (tables, defragmenter). Caller frees with ms_decode_ctx_free. */
ms_decode_ctx *ms_decode_ctx_new(const ms_decode_opts *opts);
void ms_decode_ctx_free(ms_decode_ctx *ctx);
const ms_decode_stats *ms_decode_ctx_stats(const ms_decode_ctx *ctx);

/* Ends an input (file): partial datagrams held for reassembly are dropped (counted as expired)
 * so fragments of one capture never complete datagrams of the next. */
void ms_decode_ctx_end_input(ms_decode_ctx *ctx);

/* Starts decoding a frame: resets pkt, picks the link decoder. In eager mode decodes every layer
 * now; in lazy mode decodes nothing yet. The frame bytes must stay valid while pkt is used. */
void ms_packet_start(ms_packet *pkt, ms_decode_ctx *ctx, const ms_frame *frame);

/* Lazy access: decodes until a layer of type t is found (resuming where decoding stopped) and
 * returns the innermost such layer decoded so far, or NULL if the packet has none. Fragments
 * reach the defragmenter only when decoding gets to their IP header, so a lazy user that never
 * asks that deep never reassembles. */
const ms_layer *ms_packet_layer(ms_packet *pkt, ms_layer_type t);

/* Decodes every remaining layer. Lazy and eager give the same layers. */
void ms_packet_decode_all(ms_packet *pkt);

/* Runs one decoder; returns false when decoding is finished. */
bool ms_packet_decode_step(ms_packet *pkt);

/* Records a decode error on the packet (first one wins) and returns MS_DEC_NONE. */
ms_decoder_id ms_packet_fail(ms_packet *pkt, ms_decode_error e, ms_layer_type where);

/* For decoders (inline: they run for every layer of every frame).
 * Pushes a layer; returns NULL (and records MS_DERR_TOO_DEEP) when the array is full. */
static inline ms_layer *ms_packet_push(ms_packet *pkt, ms_layer_type type, const uint8_t *data, uint32_t hdr_len,
                                       uint32_t len)
{
    if (pkt->nlayers >= MS_MAX_LAYERS) {
        ms_packet_fail(pkt, MS_DERR_TOO_DEEP, type);
        return NULL;
    }
    ms_layer *l = &pkt->layers[pkt->nlayers++];
    l->data = data;
    l->hdr_len = hdr_len;
    l->len = len;
    l->type = (uint16_t)type;
    l->flags = 0;
    if (pkt->layer_counts)
        pkt->layer_counts[type]++;
    return l;
}

/* Sets the bytes the next decoder will see. */
static inline void ms_packet_set_next(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    pkt->next_data = data;
    pkt->next_len = len;
}

/* Pushes a layer of type t over all of data[0..len) flagged truncated and records
 * MS_DERR_TRUNCATED, except inside an ICMP error quote (quoted headers are cut by design). */
ms_decoder_id ms_packet_truncated(ms_packet *pkt, ms_layer_type t, const uint8_t *data, uint32_t len);

/* Table lookups used by decoders: which decoder handles this link type / ethertype / IP protocol /
 * UDP port. MS_DEC_DATA (or NONE for link types) when nothing is registered. */
ms_decoder_id ms_decoder_for_linktype(int linktype);
ms_decoder_id ms_decoder_for_ethertype(uint16_t ethertype);
ms_decoder_id ms_decoder_for_ipproto(uint8_t proto);
ms_decoder_id ms_decoder_for_udp_port(uint16_t port);

/* Writes the frame's stack with tshark's protocol names joined by ':' (e.g.
 * "eth:ethertype:vlan:ethertype:ip:tcp"); undecoded bytes are "data", application payload above
 * TCP/UDP is not named, a decode error appends ":_malformed".
 * Returns the length written (at most size-1; the string is always NUL-terminated). */
size_t ms_packet_stack(const ms_packet *pkt, char *buf, size_t size);

/* tshark's name for a layer type ("eth", "ip", "ipv6.fraghdr", ...). */
const char *ms_layer_name(ms_layer_type t);

#endif
