/* gtp.c — GTPv1-U (3GPP TS 29.281, UDP 2152): flags, message type, length, tunnel id; sequence
 * number, N-PDU number and next extension type when any of E, S, PN is set; then the chain of
 * extension headers (length in 4-byte words, the last byte naming the next one), all one layer.
 * A G-PDU (type 255) carries a user packet, IPv4 or IPv6 by its first nibble, bounded by the
 * length field; other messages stop after the header. Bytes that are not GTPv1 with the GTP
 * protocol type bit are left as UDP payload (tshark: "data"). */
#include "decode/layers/layers.h"

enum { GTP_E = 0x04, GTP_S = 0x02, GTP_PN = 0x01, GTP_GPDU = 0xff };

ms_decoder_id ms_decode_gtp(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    if (len && ((data[0] >> 5) != 1 || !(data[0] & 0x10))) /* not GTPv1 (GTPv2, GTP') */
        return MS_DEC_PAYLOAD;
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t flags = ms_get_u8(&c);
    uint8_t msg = ms_get_u8(&c);
    uint16_t length = ms_get_be16(&c);
    ms_skip(&c, 4); /* tunnel endpoint id */
    uint32_t hdr = 8;
    bool bad = false;
    if (flags & (GTP_E | GTP_S | GTP_PN)) {
        ms_skip(&c, 3); /* sequence number, N-PDU number */
        uint8_t next = ms_get_u8(&c);
        hdr += 4;
        if (!(flags & GTP_E))
            next = 0;
        while (next && !c.short_read) {
            uint8_t words = ms_get_u8(&c);
            if (c.short_read)
                break;
            if (words == 0) { /* an extension header of no length: malformed */
                bad = true;
                break;
            }
            ms_skip(&c, 4u * words - 2);
            next = ms_get_u8(&c);
            hdr += 4u * words;
        }
    }
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_GTP, data, len);
    if ((uint32_t)length < hdr - 8) /* the length must cover the optional words */
        bad = true;
    ms_layer *l = ms_packet_push(pkt, MS_LAYER_GTP, data, hdr, len);
    if (!l)
        return MS_DEC_NONE;
    if (bad) {
        l->flags |= MS_LF_MALFORMED;
        return ms_packet_fail(pkt, MS_DERR_MALFORMED, MS_LAYER_GTP);
    }
    if (msg != GTP_GPDU)
        return MS_DEC_NONE;
    uint32_t body = MS_MIN((uint32_t)length - (hdr - 8), len - hdr);
    l->len = hdr + body;
    if (body == 0)
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + hdr, body);
    switch (data[hdr] >> 4) {
    case 4:
        return MS_DEC_IPV4;
    case 6:
        return MS_DEC_IPV6;
    default: /* tshark tries PPP here and shows nothing */
        return MS_DEC_NONE;
    }
}
