/* arp.c — ARP / RARP (fixed header plus two address pairs) and the Ethernet loopback test
 * protocol: link-local protocols after which nothing is decoded. */
#include "decode/layers/layers.h"

ms_decoder_id ms_decode_arp(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    ms_skip(&c, 4); /* hardware type, protocol type */
    uint8_t hlen = ms_get_u8(&c);
    uint8_t plen = ms_get_u8(&c);
    ms_skip(&c, 2); /* operation */
    ms_skip(&c, 2u * ((uint32_t)hlen + plen));
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_ARP, data, len);
    uint32_t hdr = 8u + 2u * ((uint32_t)hlen + plen);
    ms_packet_push(pkt, MS_LAYER_ARP, data, hdr, len);
    return MS_DEC_NONE;
}

/* Ethernet configuration testing protocol (0x9000): skip count, then functions; stop here. */
ms_decoder_id ms_decode_ectp(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    ms_skip(&c, 2); /* skip count */
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_ECTP, data, len);
    if (!ms_packet_push(pkt, MS_LAYER_ECTP, data, 2, len))
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + 2, len - 2);
    return MS_DEC_DATA;
}
