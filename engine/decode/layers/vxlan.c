/* vxlan.c — VXLAN (RFC 7348, UDP 4789): 8 bytes of flags and network id, then Ethernet. */
#include "decode/layers/layers.h"

ms_decoder_id ms_decode_vxlan(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    ms_skip(&c, 8);
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_VXLAN, data, len);
    if (!ms_packet_push(pkt, MS_LAYER_VXLAN, data, 8, len))
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + 8, len - 8);
    return MS_DEC_ETH;
}
