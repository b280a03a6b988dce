/* mpls.c — an MPLS label stack (all labels in one layer). After the bottom of stack the payload
 * has no type field: like tshark, the first nibble picks IPv4 (4) or IPv6 (6); pseudowires and
 * anything else stop as data. */
#include "decode/layers/layers.h"

ms_decoder_id ms_decode_mpls(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint32_t hdr = 0;
    for (;;) {
        uint32_t entry = ms_get_be32(&c);
        if (c.short_read)
            return ms_packet_truncated(pkt, MS_LAYER_MPLS, data, len);
        hdr += 4;
        if (entry & 0x100) /* bottom of stack */
            break;
    }
    if (!ms_packet_push(pkt, MS_LAYER_MPLS, data, hdr, len))
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + hdr, len - hdr);
    return MS_DEC_IP_GUESS;
}

/* No layer of its own: picks IPv4 or IPv6 by the version nibble. */
ms_decoder_id ms_decode_ip_guess(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    if (len == 0)
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data, len);
    switch (data[0] >> 4) {
    case 4:
        return MS_DEC_IPV4;
    case 6:
        return MS_DEC_IPV6;
    default:
        return MS_DEC_DATA;
    }
}
