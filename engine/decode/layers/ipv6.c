/* ipv6.c — IPv6 and its extension headers (hop-by-hop, routing, fragment, destination options)
 * and the authentication header (IPv4 and IPv6). Each extension header is one layer. */
#include "decode/layers/layers.h"

ms_decoder_id ms_decode_ipv6(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t v = ms_get_u8(&c);
    ms_skip(&c, 3); /* traffic class, flow label */
    uint16_t plen = ms_get_be16(&c);
    uint8_t nh = ms_get_u8(&c);
    uint8_t hlim = ms_get_u8(&c);
    const uint8_t *src = c.p;
    ms_skip(&c, 16);
    const uint8_t *dst = c.p;
    ms_skip(&c, 16);
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_IPV6, data, len);
    if ((v >> 4) != 6) { /* not IPv6 at all: tshark shows the bytes as data */
        ms_packet_set_next(pkt, data, len);
        return MS_DEC_DATA;
    }
    /* Payload length 0 is a jumbogram or segmentation offload: take what was captured. */
    uint32_t body = len - 40;
    bool cut = false;
    if (plen) {
        cut = plen > body;
        body = MS_MIN((uint32_t)plen, body);
    }
    ms_layer *l = ms_packet_push(pkt, MS_LAYER_IPV6, data, 40, 40 + body);
    if (!l)
        return MS_DEC_NONE;
    if (cut)
        l->flags |= MS_LF_TRUNCATED;
    ms_layers_set_net(pkt, 6, nh, hlim, src, dst);
    pkt->next_proto = nh;
    ms_packet_set_next(pkt, data + 40, body);
    return ms_next_by_ipproto(nh);
}

/* Records the protocol after an extension header as the transport of the innermost IP. */
static ms_decoder_id ext_next(ms_packet *pkt, uint8_t nh, const uint8_t *data, uint32_t len)
{
    if (!pkt->in_icmp_error && pkt->net.family)
        pkt->net.proto = nh;
    pkt->next_proto = nh;
    ms_packet_set_next(pkt, data, len);
    return ms_next_by_ipproto(nh);
}

/* The IPv6 header an extension header belongs to (the innermost one). */
static const ms_layer *ip6_of(const ms_packet *pkt)
{
    for (int i = pkt->nlayers - 1; i >= 0; i--) {
        if (pkt->layers[i].type == MS_LAYER_IPV6)
            return &pkt->layers[i];
        if (pkt->layers[i].type == MS_LAYER_IPV4)
            return NULL;
    }
    return NULL;
}

ms_decoder_id ms_decode_ipv6_ext(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    uint8_t which = pkt->next_proto;
    ms_layer_type t = which == 0 ? MS_LAYER_IPV6_HOPOPTS
                    : which == 43 ? MS_LAYER_IPV6_ROUTING
                    : which == 44 ? MS_LAYER_IPV6_FRAG : MS_LAYER_IPV6_DSTOPTS;
    /* Hop-by-hop options are only valid right after the IPv6 header. */
    if (t == MS_LAYER_IPV6_HOPOPTS && (pkt->nlayers == 0 || pkt->layers[pkt->nlayers - 1].type != MS_LAYER_IPV6)) {
        ms_packet_set_next(pkt, data, len);
        return MS_DEC_DATA;
    }
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t nh = ms_get_u8(&c);
    uint8_t hlen = ms_get_u8(&c);
    if (t == MS_LAYER_IPV6_FRAG) {
        uint16_t offfl = ms_get_be16(&c);
        uint32_t id = ms_get_be32(&c);
        if (c.short_read)
            return ms_packet_truncated(pkt, t, data, len);
        ms_layer *l = ms_packet_push(pkt, t, data, 8, len);
        if (!l)
            return MS_DEC_NONE;
        uint32_t offset = offfl & 0xfff8u;
        bool more = offfl & 1;
        if (offset == 0 && !more) /* atomic fragment: the payload is whole */
            return ext_next(pkt, nh, data + 8, len - 8);
        if (!pkt->in_icmp_error)
            pkt->net.proto = nh;
        pkt->next_proto = nh;
        const ms_layer *ip = ip6_of(pkt);
        ms_frag f = { 6, nh, ip ? ip->data + 8 : NULL, ip ? ip->data + 24 : NULL, id, offset, more,
                      data + 8, len - 8, pkt->frame.ts_ns };
        bool eligible = ip && !(ip->flags & MS_LF_TRUNCATED);
        if (pkt->in_icmp_error) { /* a quoted fragment is not decoded further (tshark) */
            l->flags |= MS_LF_FRAGMENT;
            ms_packet_set_next(pkt, data + 8, len - 8);
            return MS_DEC_DATA;
        }
        return ms_layers_fragment(pkt, l, &f, eligible);
    }
    uint32_t hdr = ((uint32_t)hlen + 1) * 8;
    if (c.short_read || hdr > len) {
        /* like tshark: a cut routing or destination options header is shown, a cut hop-by-hop
         * header is not */
        if (t != MS_LAYER_IPV6_HOPOPTS)
            return ms_packet_truncated(pkt, t, data, len);
        return pkt->in_icmp_error ? MS_DEC_NONE : ms_packet_fail(pkt, MS_DERR_TRUNCATED, t);
    }
    if (!ms_packet_push(pkt, t, data, hdr, len))
        return MS_DEC_NONE;
    return ext_next(pkt, nh, data + hdr, len - hdr);
}

/* Authentication header: next header, length in 4-byte units minus 2, SPI, sequence, ICV. */
ms_decoder_id ms_decode_ah(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t nh = ms_get_u8(&c);
    uint8_t plen = ms_get_u8(&c);
    uint32_t hdr = ((uint32_t)plen + 2) * 4;
    if (c.short_read || hdr > len) /* like tshark, a cut AH is not shown */
        return pkt->in_icmp_error ? MS_DEC_NONE : ms_packet_fail(pkt, MS_DERR_TRUNCATED, MS_LAYER_AH);
    if (!ms_packet_push(pkt, MS_LAYER_AH, data, hdr, len))
        return MS_DEC_NONE;
    return ext_next(pkt, nh, data + hdr, len - hdr);
}
