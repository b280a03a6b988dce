/* vlan.c — 802.1Q customer tags and 802.1ad service tags; stacks of any depth decode as one
 * tag per layer, each naming the next by its ethertype. */
#include "decode/layers/layers.h"

static ms_decoder_id decode_tag(ms_packet *pkt, ms_layer_type t, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    ms_skip(&c, 2); /* priority, DEI, VLAN id */
    uint16_t type = ms_get_be16(&c);
    if (c.short_read)
        return ms_packet_truncated(pkt, t, data, len);
    ms_layer *l = ms_packet_push(pkt, t, data, 4, len);
    if (!l)
        return MS_DEC_NONE;
    if (type >= 0x0600) {
        l->flags |= MS_LF_ETHERTYPE;
        ms_packet_set_next(pkt, data + 4, len - 4);
        return ms_next_by_ethertype(type);
    }
    ms_packet_set_next(pkt, data + 4, MS_MIN((uint32_t)type, len - 4));
    return type <= 1500 ? MS_DEC_LLC : MS_DEC_DATA;
}

ms_decoder_id ms_decode_vlan(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    return decode_tag(pkt, MS_LAYER_VLAN, data, len);
}

ms_decoder_id ms_decode_qinq(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    return decode_tag(pkt, MS_LAYER_QINQ, data, len);
}
