/* icmp.c — ICMP and ICMPv6. Error messages quote the offending IP header; like tshark we decode
 * the quote (marked by pkt->in_icmp_error so it never replaces the packet's own addresses). */
#include "decode/layers/layers.h"

static ms_decoder_id decode_icmp_common(ms_packet *pkt, ms_layer_type t, const uint8_t *data, uint32_t len,
                                        bool is_error, ms_decoder_id quoted)
{
    ms_cursor c = ms_cursor_make(data, len);
    ms_skip(&c, 8); /* type, code, checksum, rest of header */
    if (c.short_read)
        return ms_packet_truncated(pkt, t, data, len);
    if (!ms_packet_push(pkt, t, data, 8, len))
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + 8, len - 8);
    if (is_error && len > 8) {
        pkt->in_icmp_error++;
        return quoted;
    }
    return MS_DEC_DATA;
}

ms_decoder_id ms_decode_icmp(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    uint8_t type = len ? data[0] : 0;
    /* unreachable, source quench, redirect, time exceeded, parameter problem */
    bool is_error = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    return decode_icmp_common(pkt, MS_LAYER_ICMP, data, len, is_error, MS_DEC_IPV4);
}

/* Redirect (137): after target and destination addresses come ND options; option 4 (redirected
 * header) quotes the packet that caused the redirect, 8 bytes after the option start. */
static ms_decoder_id decode_redirect(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    ms_skip(&c, 40);
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_ICMPV6, data, len);
    if (!ms_packet_push(pkt, MS_LAYER_ICMPV6, data, 40, len))
        return MS_DEC_NONE;
    while (c.left >= 2) {
        const uint8_t *opt = c.p;
        uint8_t type = ms_get_u8(&c);
        uint32_t olen = (uint32_t)ms_get_u8(&c) * 8;
        if (olen < 8 || olen - 2 > c.left)
            break;
        if (type == 4) {
            pkt->in_icmp_error++;
            ms_packet_set_next(pkt, opt + 8, olen - 8);
            return MS_DEC_IPV6;
        }
        ms_skip(&c, olen - 2);
    }
    ms_packet_set_next(pkt, data + 40, len - 40);
    return MS_DEC_DATA;
}

ms_decoder_id ms_decode_icmpv6(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    uint8_t type = len ? data[0] : 0;
    if (type == 137)
        return decode_redirect(pkt, data, len);
    /* unreachable, packet too big, time exceeded, parameter problem */
    bool is_error = type >= 1 && type <= 4;
    return decode_icmp_common(pkt, MS_LAYER_ICMPV6, data, len, is_error, MS_DEC_IPV6);
}
