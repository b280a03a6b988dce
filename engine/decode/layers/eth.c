/* eth.c — Ethernet II / 802.3 frames and 802.2 LLC (with SNAP), the usual first layer. */
#include "decode/layers/layers.h"

/* Ethernet: destination, source, then a type (>= 0x0600, an ethertype) or an 802.3 length. */
ms_decoder_id ms_decode_eth(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    ms_skip(&c, 12);
    uint16_t type = ms_get_be16(&c);
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_ETH, data, len);
    ms_layer *l = ms_packet_push(pkt, MS_LAYER_ETH, data, 14, len);
    if (!l)
        return MS_DEC_NONE;
    if (type == 0x8903) { /* Cisco FabricPath: tshark decodes it in place of the ethertype */
        ms_packet_set_next(pkt, data + 14, len - 14);
        return MS_DEC_DATA;
    }
    if (type >= 0x0600) {
        l->flags |= MS_LF_ETHERTYPE;
        ms_packet_set_next(pkt, data + 14, len - 14);
        return ms_next_by_ethertype(type);
    }
    uint32_t body = MS_MIN((uint32_t)type, len - 14);
    ms_packet_set_next(pkt, data + 14, body);
    if (type > 1500)
        return MS_DEC_DATA;
    /* Novell "raw 802.3": IPX right after the length, recognised by its 0xffff checksum. */
    if (body >= 2 && data[14] == 0xff && data[15] == 0xff)
        return MS_DEC_DATA;
    return MS_DEC_LLC;
}

/* 802.2 LLC: DSAP, SSAP, control (1 byte for U frames, 2 otherwise); SNAP with OUI 0 carries
 * an ethertype. Anything else stops here. */
ms_decoder_id ms_decode_llc(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t dsap = ms_get_u8(&c);
    uint8_t ssap = ms_get_u8(&c);
    uint8_t ctrl = ms_get_u8(&c);
    uint32_t hdr = 3;
    if ((ctrl & 3) != 3) {
        ms_skip(&c, 1);
        hdr = 4;
    }
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_LLC, data, len);
    if (dsap == 0xaa && ssap == 0xaa && hdr == 3) {
        uint32_t oui = (uint32_t)ms_get_u8(&c) << 16;
        oui |= ms_get_be16(&c);
        uint16_t type = ms_get_be16(&c);
        if (c.short_read)
            return ms_packet_truncated(pkt, MS_LAYER_LLC, data, len);
        if (!ms_packet_push(pkt, MS_LAYER_LLC, data, 8, len))
            return MS_DEC_NONE;
        ms_packet_set_next(pkt, data + 8, len - 8);
        if (oui == 0 || oui == 0x0000f8)
            return ms_next_by_ethertype(type);
        return MS_DEC_DATA;
    }
    if (!ms_packet_push(pkt, MS_LAYER_LLC, data, hdr, len))
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + hdr, len - hdr);
    return MS_DEC_DATA;
}
