/* ppp.c — PPPoE session headers and PPP (protocol field, optionally after the HDLC-like
 * 0xff 0x03 address and control bytes of DLT_PPP and PPTP). */
#include "decode/layers/layers.h"

/* PPPoE session: version/type, code, session id, payload length; PPP follows. */
ms_decoder_id ms_decode_pppoe(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t vt = ms_get_u8(&c);
    ms_skip(&c, 3); /* code, session id */
    uint16_t plen = ms_get_be16(&c);
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_PPPOE, data, len);
    uint32_t body = MS_MIN((uint32_t)plen, len - 6);
    ms_layer *l = ms_packet_push(pkt, MS_LAYER_PPPOE, data, 6, 6 + body);
    if (!l)
        return MS_DEC_NONE;
    if (vt != 0x11) {
        l->flags |= MS_LF_MALFORMED;
        return ms_packet_fail(pkt, MS_DERR_MALFORMED, MS_LAYER_PPPOE);
    }
    ms_packet_set_next(pkt, data + 6, body);
    return MS_DEC_PPP;
}

static ms_decoder_id decode_ppp_at(ms_packet *pkt, const uint8_t *data, uint32_t len, uint32_t skip)
{
    ms_cursor c = ms_cursor_make(data, len);
    ms_skip(&c, skip);
    uint16_t proto = ms_get_u8(&c);
    uint32_t hdr = skip + 1;
    if (!(proto & 1)) { /* an uncompressed (two byte) protocol field ends with an odd byte */
        proto = (uint16_t)(proto << 8 | ms_get_u8(&c));
        hdr++;
    }
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_PPP, data, len);
    if (!ms_packet_push(pkt, MS_LAYER_PPP, data, hdr, len))
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + hdr, len - hdr);
    switch (proto) {
    case 0x0021:
        return MS_DEC_IPV4;
    case 0x0057:
        return MS_DEC_IPV6;
    case 0x0281:
    case 0x0283:
        return MS_DEC_MPLS;
    default:
        return MS_DEC_DATA;
    }
}

ms_decoder_id ms_decode_ppp(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    return decode_ppp_at(pkt, data, len, 0);
}

ms_decoder_id ms_decode_ppp_hdlc(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    uint32_t skip = (len >= 2 && data[0] == 0xff && data[1] == 0x03) ? 2 : 0;
    return decode_ppp_at(pkt, data, len, skip);
}
