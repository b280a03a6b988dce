/* tcp.c — TCP: ports, sequence numbers, flags and the options the assembler needs (MSS, window
 * scale, SACK, timestamps) into pkt->tcp; the segment payload into pkt->payload. */
#include "decode/layers/layers.h"

#include <string.h>

static void parse_options(ms_packet_tcp *t, const uint8_t *p, uint32_t n)
{
    ms_cursor c = ms_cursor_make(p, n);
    while (c.left) {
        uint8_t kind = ms_get_u8(&c);
        if (kind == 0) /* end of options */
            break;
        if (kind == 1) /* no-op */
            continue;
        uint8_t olen = ms_get_u8(&c);
        if (c.short_read || olen < 2 || olen - 2u > c.left)
            break; /* malformed option list: keep what was read */
        ms_cursor o = ms_cursor_make(c.p, olen - 2u);
        ms_skip(&c, olen - 2u);
        switch (kind) {
        case 2:
            if (olen == 4)
                t->mss = ms_get_be16(&o);
            break;
        case 3:
            if (olen == 3)
                t->wscale = ms_get_u8(&o);
            break;
        case 4:
            t->sack_ok = 1;
            break;
        case 5:
            t->nsack = (uint8_t)((olen - 2u) / 8);
            break;
        case 8:
            if (olen == 10) {
                t->ts_val = ms_get_be32(&o);
                t->ts_ecr = ms_get_be32(&o);
                t->has_ts = 1;
            }
            break;
        default:
            break;
        }
    }
}

ms_decoder_id ms_decode_tcp(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint16_t sport = ms_get_be16(&c);
    uint16_t dport = ms_get_be16(&c);
    uint32_t seq = ms_get_be32(&c);
    uint32_t ack = ms_get_be32(&c);
    uint8_t off = ms_get_u8(&c);
    uint8_t flags = ms_get_u8(&c);
    uint16_t window = ms_get_be16(&c);
    ms_skip(&c, 4); /* checksum, urgent pointer */
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_TCP, data, len);
    uint32_t hdr = (uint32_t)(off >> 4) * 4;
    if (hdr < 20) {
        ms_layer *bad = ms_packet_push(pkt, MS_LAYER_TCP, data, 20, len);
        if (bad)
            bad->flags |= MS_LF_MALFORMED;
        if (pkt->in_icmp_error)
            return MS_DEC_NONE;
        return ms_packet_fail(pkt, MS_DERR_MALFORMED, MS_LAYER_TCP);
    }
    if (hdr > len)
        return ms_packet_truncated(pkt, MS_LAYER_TCP, data, len);
    if (!ms_packet_push(pkt, MS_LAYER_TCP, data, hdr, len))
        return MS_DEC_NONE;
    if (pkt->in_icmp_error)
        return MS_DEC_NONE;
    pkt->net.sport = sport;
    pkt->net.dport = dport;
    ms_packet_tcp *t = &pkt->tcp;
    memset(t, 0, sizeof(*t));
    t->seq = seq;
    t->ack = ack;
    t->window = window;
    t->flags = flags;
    t->wscale = 0xff;
    if (hdr > 20)
        parse_options(t, data + 20, hdr - 20);
    pkt->payload = data + hdr;
    pkt->payload_len = len - hdr;
    /* the payload layer is pushed here rather than by a decoder step of its own (hot path) */
    if (len > hdr)
        ms_packet_push(pkt, MS_LAYER_PAYLOAD, data + hdr, 0, len - hdr);
    return MS_DEC_NONE;
}
