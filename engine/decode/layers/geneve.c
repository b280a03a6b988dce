/* geneve.c — Geneve (RFC 8926, UDP 6081): version and option length (in 4-byte words), flags,
 * a protocol type (an ethertype; 0x6558 is a whole Ethernet frame), the network id, then the
 * options, all one layer. Like tshark, the inner protocol is named without "ethertype". */
#include "decode/layers/layers.h"

ms_decoder_id ms_decode_geneve(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t ver_optlen = ms_get_u8(&c);
    ms_skip(&c, 1); /* O and C flags */
    uint16_t proto = ms_get_be16(&c);
    ms_skip(&c, 4); /* network id, reserved */
    uint32_t hdr = 8u + 4u * (ver_optlen & 0x3f);
    ms_skip(&c, hdr - 8);
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_GENEVE, data, len);
    if (!ms_packet_push(pkt, MS_LAYER_GENEVE, data, hdr, len))
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + hdr, len - hdr);
    if (proto == 0x6558)
        return MS_DEC_ETH;
    return ms_next_by_ethertype(proto);
}
