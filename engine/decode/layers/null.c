/* null.c — BSD loopback encapsulations: DLT_NULL (address family in the capturing host's byte
 * order, so both orders are accepted), DLT_LOOP (network byte order), and raw IP link types
 * (no link header at all). */
#include "decode/layers/layers.h"

static ms_decoder_id family_next(uint32_t family)
{
    switch (family) {
    case 2:                      /* AF_INET everywhere */
        return MS_DEC_IPV4;
    case 10: case 24: case 28: case 30: /* AF_INET6: Linux, NetBSD/OpenBSD, FreeBSD, macOS */
        return MS_DEC_IPV6;
    default:
        return MS_DEC_DATA;
    }
}

static ms_decoder_id decode_family(ms_packet *pkt, ms_layer_type t, const uint8_t *data, uint32_t len,
                                   bool network_order)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint32_t family = network_order ? ms_get_be32(&c) : ms_get_le32(&c);
    if (c.short_read)
        return ms_packet_truncated(pkt, t, data, len);
    /* A host-order value written by a big-endian host reads with its low half empty. */
    if (!network_order && (family & 0xffff0000u) && !(family & 0xffffu))
        family = (family >> 24) | ((family >> 8) & 0xff00u);
    if (!ms_packet_push(pkt, t, data, 4, len))
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + 4, len - 4);
    return family_next(family);
}

ms_decoder_id ms_decode_null(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    return decode_family(pkt, MS_LAYER_NULL, data, len, false);
}

ms_decoder_id ms_decode_loop(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    return decode_family(pkt, MS_LAYER_LOOP, data, len, true);
}

/* Raw IP: an empty layer (tshark's "raw"), then IPv4 or IPv6 by the version nibble. */
ms_decoder_id ms_decode_raw(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    if (!ms_packet_push(pkt, MS_LAYER_RAW, data, 0, len))
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data, len);
    return MS_DEC_IP_GUESS;
}
