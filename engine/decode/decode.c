/* decode.c — the decode pipeline: the decoder table, the registration tables (link type,
 * ethertype, IP protocol, UDP port → decoder), lazy and eager stepping, and tshark-style stack
 * names. Decoders live in engine/decode/layers/; adding a layer is one file plus one line here. */
#include "decode/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/defrag.h"
#include "decode/layers/layers.h"

struct ms_decode_ctx {
    ms_decode_opts opts;
    ms_decode_stats stats;
    ms_defrag *defrag;   /* NULL when defragmentation is off; owned */
    bool defrag_active;  /* fragments were handed to defrag since it was last idle */
    int last_linktype;   /* cache of the last link type lookup */
    uint8_t last_decoder;
};

/* ---- registration tables ------------------------------------------------------------------ */

static const ms_decode_fn decoders[MS_DEC_COUNT] = {
    [MS_DEC_ETH] = ms_decode_eth,
    [MS_DEC_LLC] = ms_decode_llc,
    [MS_DEC_VLAN] = ms_decode_vlan,
    [MS_DEC_QINQ] = ms_decode_qinq,
    [MS_DEC_MPLS] = ms_decode_mpls,
    [MS_DEC_PPPOE] = ms_decode_pppoe,
    [MS_DEC_PPP] = ms_decode_ppp,
    [MS_DEC_PPP_HDLC] = ms_decode_ppp_hdlc,
    [MS_DEC_SLL] = ms_decode_sll,
    [MS_DEC_SLL2] = ms_decode_sll2,
    [MS_DEC_NULL] = ms_decode_null,
    [MS_DEC_LOOP] = ms_decode_loop,
    [MS_DEC_RAW] = ms_decode_raw,
    [MS_DEC_IP_GUESS] = ms_decode_ip_guess,
    [MS_DEC_ARP] = ms_decode_arp,
    [MS_DEC_ECTP] = ms_decode_ectp,
    [MS_DEC_IPV4] = ms_decode_ipv4,
    [MS_DEC_IPV6] = ms_decode_ipv6,
    [MS_DEC_IPV6_EXT] = ms_decode_ipv6_ext,
    [MS_DEC_AH] = ms_decode_ah,
    [MS_DEC_GRE] = ms_decode_gre,
    [MS_DEC_VXLAN] = ms_decode_vxlan,
    [MS_DEC_TCP] = ms_decode_tcp,
    [MS_DEC_UDP] = ms_decode_udp,
    [MS_DEC_ICMP] = ms_decode_icmp,
    [MS_DEC_ICMPV6] = ms_decode_icmpv6,
    [MS_DEC_PAYLOAD] = ms_decode_payload,
    [MS_DEC_DATA] = ms_decode_data,
    [MS_DEC_WLAN] = ms_decode_wlan,
    [MS_DEC_AYIYA] = ms_decode_ayiya,
    [MS_DEC_GTP] = ms_decode_gtp,
    [MS_DEC_GENEVE] = ms_decode_geneve,
    [MS_DEC_NFLOG] = ms_decode_nflog,
    [MS_DEC_ARCNET_BSD] = ms_decode_arcnet_bsd,
    [MS_DEC_ARCNET_LINUX] = ms_decode_arcnet_linux,
};

static const struct { int linktype; uint8_t dec; } linktypes[] = {
    { 0, MS_DEC_NULL },        /* DLT_NULL */
    { 1, MS_DEC_ETH },         /* DLT_EN10MB */
    { 7, MS_DEC_ARCNET_BSD },  /* DLT_ARCNET */
    { 9, MS_DEC_PPP_HDLC },    /* DLT_PPP */
    { 12, MS_DEC_RAW },        /* DLT_RAW (most systems) */
    { 14, MS_DEC_RAW },        /* DLT_RAW (OpenBSD) */
    { 50, MS_DEC_PPP_HDLC },   /* LINKTYPE_PPP_HDLC */
    { 101, MS_DEC_RAW },       /* LINKTYPE_RAW */
    { 108, MS_DEC_LOOP },      /* DLT_LOOP */
    { 113, MS_DEC_SLL },       /* LINUX_SLL */
    { 129, MS_DEC_ARCNET_LINUX }, /* LINKTYPE_ARCNET_LINUX */
    { 228, MS_DEC_IPV4 },      /* LINKTYPE_IPV4 */
    { 229, MS_DEC_IPV6 },      /* LINKTYPE_IPV6 */
    { 239, MS_DEC_NFLOG },     /* LINKTYPE_NFLOG */
    { 276, MS_DEC_SLL2 },      /* LINUX_SLL2 */
};

/* The next three tables are indexed directly by the wire value (designated initializers: the
 * table is the lookup, built by the compiler, read-only and shared by every context).
 * Zero means "nothing registered" and reads as MS_DEC_DATA. */
const uint8_t ms_ethertype_map[65536] = {
    [0x0800] = MS_DEC_IPV4,
    [0x0806] = MS_DEC_ARP,
    [0x8035] = MS_DEC_ARP,     /* RARP */
    [0x8100] = MS_DEC_VLAN,
    [0x86dd] = MS_DEC_IPV6,
    [0x8847] = MS_DEC_MPLS,    /* unicast */
    [0x8848] = MS_DEC_MPLS,    /* multicast */
    [0x8864] = MS_DEC_PPPOE,   /* session stage */
    [0x88a8] = MS_DEC_QINQ,
    [0x9000] = MS_DEC_ECTP,
    [0x9100] = MS_DEC_VLAN,    /* pre-standard QinQ, decoded as a VLAN tag like tshark does */
};

const uint8_t ms_ipproto_map[256] = {
    [0] = MS_DEC_IPV6_EXT,     /* hop-by-hop options */
    [1] = MS_DEC_ICMP,
    [4] = MS_DEC_IPV4,         /* IP in IP */
    [6] = MS_DEC_TCP,
    [17] = MS_DEC_UDP,
    [41] = MS_DEC_IPV6,        /* IPv6 in IP */
    [43] = MS_DEC_IPV6_EXT,    /* routing */
    [44] = MS_DEC_IPV6_EXT,    /* fragment */
    [47] = MS_DEC_GRE,
    [51] = MS_DEC_AH,
    [58] = MS_DEC_ICMPV6,
    [60] = MS_DEC_IPV6_EXT,    /* destination options */
    [143] = MS_DEC_ETH,        /* Ethernet (segment routing, RFC 8986) */
};

static const uint8_t udp_port_map[65536] = {
    [2152] = MS_DEC_GTP,       /* GTPv1-U */
    [4754] = MS_DEC_GRE,       /* GRE in UDP (RFC 8086) */
    [5072] = MS_DEC_AYIYA,
    [4789] = MS_DEC_VXLAN,
    [6081] = MS_DEC_GENEVE,
    [6635] = MS_DEC_MPLS,      /* MPLS in UDP (RFC 7510) */
};

ms_decoder_id ms_decoder_for_linktype(int linktype)
{
    for (size_t i = 0; i < MS_ARRAY_LEN(linktypes); i++)
        if (linktypes[i].linktype == linktype)
            return (ms_decoder_id)linktypes[i].dec;
    return MS_DEC_NONE;
}

ms_decoder_id ms_decoder_for_ethertype(uint16_t ethertype)
{
    return ms_next_by_ethertype(ethertype);
}

ms_decoder_id ms_decoder_for_ipproto(uint8_t proto)
{
    return ms_next_by_ipproto(proto);
}

ms_decoder_id ms_decoder_for_udp_port(uint16_t port)
{
    uint8_t d = udp_port_map[port];
    return d ? (ms_decoder_id)d : MS_DEC_DATA;
}

/* ---- context -------------------------------------------------------------------------------- */

void ms_decode_opts_default(ms_decode_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->eager = true;
    opts->defrag = true;
    opts->verify_checksums = true;
    opts->frag_max_per_datagram = 1024;
    opts->frag_max_datagrams = 1024;
    opts->frag_max_bytes = 16u << 20;
    opts->frag_timeout_ns = 30ull * 1000000000ull;
}

ms_decode_ctx *ms_decode_ctx_new(const ms_decode_opts *opts)
{
    ms_decode_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return NULL;
    if (opts)
        ctx->opts = *opts;
    else
        ms_decode_opts_default(&ctx->opts);
    ctx->last_linktype = -1;
    if (ctx->opts.defrag) {
        ctx->defrag = ms_defrag_new(&ctx->opts, &ctx->stats);
        if (!ctx->defrag) {
            free(ctx);
            return NULL;
        }
    }
    return ctx;
}

void ms_decode_ctx_free(ms_decode_ctx *ctx)
{
    if (!ctx)
        return;
    ms_defrag_free(ctx->defrag);
    free(ctx);
}

const ms_decode_stats *ms_decode_ctx_stats(const ms_decode_ctx *ctx)
{
    return &ctx->stats;
}

void ms_decode_ctx_end_input(ms_decode_ctx *ctx)
{
    if (ctx->defrag)
        ms_defrag_flush(ctx->defrag);
}

const ms_decode_opts *ms_decode_ctx_opts(const ms_decode_ctx *ctx)
{
    return &ctx->opts;
}

ms_defrag *ms_decode_ctx_defrag(ms_decode_ctx *ctx)
{
    /* the caller is about to hand over a fragment: the defragmenter needs per-packet upkeep */
    if (ctx->defrag)
        ctx->defrag_active = true;
    return ctx->defrag;
}

ms_defrag *ms_decode_ctx_defrag_handle(ms_decode_ctx *ctx)
{
    return ctx->defrag;
}

/* ---- stepping ------------------------------------------------------------------------------- */

void ms_packet_start(ms_packet *pkt, ms_decode_ctx *ctx, const ms_frame *frame)
{
    /* Reset only what decoding reads; the layer array and addresses are overwritten as needed. */
    pkt->frame = *frame;
    pkt->nlayers = 0;
    pkt->error = MS_DERR_NONE;
    pkt->error_layer = MS_LAYER_NONE;
    pkt->net.family = 0;
    pkt->net.proto = 0;
    pkt->net.sport = 0;
    pkt->net.dport = 0;
    pkt->payload = NULL;
    pkt->payload_len = 0;
    pkt->ctx = ctx;
    pkt->layer_counts = ctx->stats.layers;
    pkt->in_icmp_error = 0;
    pkt->nreasm = 0;
    pkt->next_data = frame->data;
    pkt->next_len = frame->data ? frame->caplen : 0;

    ctx->stats.frames++;
    ctx->stats.bytes += frame->caplen;
    if (ctx->defrag_active) {
        ms_defrag_packet_begin(ctx->defrag, frame->ts_ns);
        ctx->defrag_active = ms_defrag_held_datagrams(ctx->defrag) > 0;
    }

    if (frame->linktype != ctx->last_linktype) {
        ctx->last_linktype = frame->linktype;
        ctx->last_decoder = (uint8_t)ms_decoder_for_linktype(frame->linktype);
    }
    if (ctx->last_decoder == MS_DEC_NONE)
        ctx->stats.unknown_linktype++;
    pkt->next_decoder = ctx->last_decoder;
    if (ctx->opts.eager)
        ms_packet_decode_all(pkt);
}

bool ms_packet_decode_step(ms_packet *pkt)
{
    unsigned id = pkt->next_decoder;
    if (id == MS_DEC_NONE || id >= MS_DEC_COUNT)
        return false;
    pkt->next_decoder = MS_DEC_NONE;
    ms_decoder_id next = decoders[id](pkt, pkt->next_data, pkt->next_len);
    pkt->next_decoder = pkt->error ? (uint8_t)MS_DEC_NONE : (uint8_t)next;
    return pkt->next_decoder != MS_DEC_NONE;
}

void ms_packet_decode_all(ms_packet *pkt)
{
    while (ms_packet_decode_step(pkt)) {
    }
}

const ms_layer *ms_packet_layer(ms_packet *pkt, ms_layer_type t)
{
    for (int i = pkt->nlayers - 1; i >= 0; i--)
        if (pkt->layers[i].type == t)
            return &pkt->layers[i];
    for (;;) {
        uint8_t before = pkt->nlayers;
        bool more = ms_packet_decode_step(pkt);
        for (int i = before; i < pkt->nlayers; i++)
            if (pkt->layers[i].type == t)
                return &pkt->layers[i];
        if (!more)
            return NULL;
    }
}

ms_decoder_id ms_packet_fail(ms_packet *pkt, ms_decode_error e, ms_layer_type where)
{
    if (pkt->error == MS_DERR_NONE) {
        pkt->error = (uint8_t)e;
        pkt->error_layer = (uint8_t)where;
        if (pkt->ctx && (unsigned)e < MS_ARRAY_LEN(pkt->ctx->stats.errors))
            pkt->ctx->stats.errors[e]++;
    }
    return MS_DEC_NONE;
}

ms_decoder_id ms_packet_truncated(ms_packet *pkt, ms_layer_type t, const uint8_t *data, uint32_t len)
{
    ms_layer *l = ms_packet_push(pkt, t, data, len, len);
    if (l)
        l->flags |= MS_LF_TRUNCATED;
    if (pkt->in_icmp_error)
        return MS_DEC_NONE;
    return ms_packet_fail(pkt, MS_DERR_TRUNCATED, t);
}

/* ---- names ---------------------------------------------------------------------------------- */

static const char *const layer_names[MS_LAYER_COUNT] = {
    [MS_LAYER_NONE] = "",
    [MS_LAYER_ETH] = "eth",
    [MS_LAYER_LLC] = "llc",
    [MS_LAYER_VLAN] = "vlan",
    [MS_LAYER_QINQ] = "ieee8021ad",
    [MS_LAYER_MPLS] = "mpls",
    [MS_LAYER_PPPOE] = "pppoes",
    [MS_LAYER_PPP] = "ppp",
    [MS_LAYER_SLL] = "sll",
    [MS_LAYER_SLL2] = "sll",
    [MS_LAYER_NULL] = "null",
    [MS_LAYER_LOOP] = "null",
    [MS_LAYER_RAW] = "raw",
    [MS_LAYER_ARP] = "arp",
    [MS_LAYER_ECTP] = "loop",
    [MS_LAYER_IPV4] = "ip",
    [MS_LAYER_IPV6] = "ipv6",
    [MS_LAYER_IPV6_HOPOPTS] = "ipv6.hopopts",
    [MS_LAYER_IPV6_ROUTING] = "ipv6.routing",
    [MS_LAYER_IPV6_FRAG] = "ipv6.fraghdr",
    [MS_LAYER_IPV6_DSTOPTS] = "ipv6.dstopts",
    [MS_LAYER_AH] = "ah",
    [MS_LAYER_GRE] = "gre",
    [MS_LAYER_VXLAN] = "vxlan",
    [MS_LAYER_TCP] = "tcp",
    [MS_LAYER_UDP] = "udp",
    [MS_LAYER_ICMP] = "icmp",
    [MS_LAYER_ICMPV6] = "icmpv6",
    [MS_LAYER_PAYLOAD] = "payload",
    [MS_LAYER_DATA] = "data",
    [MS_LAYER_WLAN] = "wlan",
    [MS_LAYER_AYIYA] = "ayiya",
    [MS_LAYER_GTP] = "gtp",
    [MS_LAYER_GENEVE] = "geneve",
    [MS_LAYER_NFLOG] = "nflog",
    [MS_LAYER_ARCNET] = "arcnet",
};

const char *ms_layer_name(ms_layer_type t)
{
    if ((unsigned)t >= MS_LAYER_COUNT || !layer_names[t])
        return "";
    return layer_names[t];
}

static size_t append(char *buf, size_t size, size_t at, const char *s)
{
    size_t n = strlen(s);
    if (at + 1 < size) {
        size_t room = size - 1 - at;
        memcpy(buf + at, s, MS_MIN(n, room));
        buf[at + MS_MIN(n, room)] = '\0';
    }
    return at + n;
}

size_t ms_packet_stack(const ms_packet *pkt, char *buf, size_t size)
{
    size_t at = 0;
    if (size)
        buf[0] = '\0';
    for (unsigned i = 0; i < pkt->nlayers; i++) {
        const ms_layer *l = &pkt->layers[i];
        if (l->type == MS_LAYER_PAYLOAD) /* application bytes: named by the protocol above */
            continue;
        if (at)
            at = append(buf, size, at, ":");
        at = append(buf, size, at, ms_layer_name((ms_layer_type)l->type));
        if (l->flags & MS_LF_ETHERTYPE)
            at = append(buf, size, at, ":ethertype");
    }
    if (pkt->error != MS_DERR_NONE)
        at = append(buf, size, at, at ? ":_malformed" : "_malformed");
    return MS_MIN(at, size ? size - 1 : 0);
}
