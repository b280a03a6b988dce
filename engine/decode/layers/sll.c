/* sll.c — Linux cooked captures: v1 (DLT_LINUX_SLL, 16 bytes) and v2 (DLT_LINUX_SLL2, 20 bytes).
 * The protocol field is an ethertype except for a few Linux-internal values (802.2 → LLC). */
#include "decode/layers/layers.h"

#define ARPHRD_IPGRE 778

static ms_decoder_id sll_next(ms_layer *l, uint16_t hatype, uint16_t proto)
{
    if (hatype == ARPHRD_IPGRE) /* the protocol field is the GRE payload type */
        return ms_next_by_ethertype(proto);
    if (proto == 0x0004) /* LINUX_SLL_P_802_2 */
        return MS_DEC_LLC;
    if (proto < 0x0600)  /* other Linux pseudo protocols (802.3 raw, CAN, ...) */
        return MS_DEC_DATA;
    l->flags |= MS_LF_ETHERTYPE;
    return ms_next_by_ethertype(proto);
}

ms_decoder_id ms_decode_sll(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    ms_skip(&c, 2); /* packet type */
    uint16_t hatype = ms_get_be16(&c);
    ms_skip(&c, 10); /* address length, address */
    uint16_t proto = ms_get_be16(&c);
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_SLL, data, len);
    ms_layer *l = ms_packet_push(pkt, MS_LAYER_SLL, data, 16, len);
    if (!l)
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + 16, len - 16);
    return sll_next(l, hatype, proto);
}

ms_decoder_id ms_decode_sll2(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint16_t proto = ms_get_be16(&c);
    ms_skip(&c, 6); /* reserved, interface index */
    uint16_t hatype = ms_get_be16(&c);
    ms_skip(&c, 10); /* packet type, address length, address */
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_SLL2, data, len);
    ms_layer *l = ms_packet_push(pkt, MS_LAYER_SLL2, data, 20, len);
    if (!l)
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + 20, len - 20);
    return sll_next(l, hatype, proto);
}
