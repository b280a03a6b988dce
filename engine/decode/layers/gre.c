/* gre.c — GRE (RFC 2784/2890) and enhanced GRE of PPTP (version 1). The protocol field is an
 * ethertype; transparent Ethernet bridging carries a whole Ethernet frame, PPTP carries PPP.
 * Source routing (RFC 1701) and ERSPAN stop here as data. */
#include "decode/layers/layers.h"

ms_decoder_id ms_decode_gre(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint16_t flags = ms_get_be16(&c);
    uint16_t proto = ms_get_be16(&c);
    uint32_t hdr = 4;
    unsigned version = flags & 7;
    if (flags & 0xc000) /* checksum or routing present: checksum + offset word */
        hdr += 4;
    if (flags & 0x2000) /* key (PPTP: payload length + call id) */
        hdr += 4;
    if (flags & 0x1000) /* sequence number */
        hdr += 4;
    if (version == 1 && (flags & 0x0080)) /* acknowledgment number */
        hdr += 4;
    ms_skip(&c, hdr - 4);
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_GRE, data, len);
    ms_layer *l = ms_packet_push(pkt, MS_LAYER_GRE, data, hdr, len);
    if (!l)
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + hdr, len - hdr);
    if (version > 1 || (flags & 0x4000))
        return MS_DEC_DATA;
    if (proto == 0x883e) { /* WCCP: IPv4, after a 4-byte redirect header unless it starts right away */
        if (len - hdr > 4 && (data[hdr] >> 4) != 4)
            ms_packet_set_next(pkt, data + hdr + 4, len - hdr - 4);
        return MS_DEC_IPV4;
    }
    /* Aruba access points tunnel 802.11 frames: 0x8200..0x8370 in steps of 0x10, and 0x9000 */
    if ((proto >= 0x8200 && proto <= 0x8370 && (proto & 0xf) == 0) || proto == 0x9000)
        return MS_DEC_WLAN;
    switch (proto) {
    case 0x6558:
        return MS_DEC_ETH;
    case 0x880b:
        return MS_DEC_PPP_HDLC;
    case 0x88be: /* ERSPAN type II */
    case 0x22eb: /* ERSPAN type III */
        return MS_DEC_DATA;
    default:
        return ms_next_by_ethertype(proto);
    }
}
