/* udp.c — UDP: ports, payload clamped to the UDP length, then a port table lookup (lower port
 * first, as tshark does) for tunnels carried over UDP (VXLAN, GRE, MPLS). */
#include "decode/layers/layers.h"

ms_decoder_id ms_decode_udp(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint16_t sport = ms_get_be16(&c);
    uint16_t dport = ms_get_be16(&c);
    uint16_t ulen = ms_get_be16(&c);
    ms_skip(&c, 2); /* checksum */
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_UDP, data, len);
    uint32_t body = len - 8;
    if (ulen >= 8)
        body = MS_MIN((uint32_t)ulen - 8, body);
    if (!ms_packet_push(pkt, MS_LAYER_UDP, data, 8, 8 + body))
        return MS_DEC_NONE;
    if (pkt->in_icmp_error)
        return MS_DEC_NONE;
    pkt->net.sport = sport;
    pkt->net.dport = dport;
    pkt->payload = data + 8;
    pkt->payload_len = body;
    ms_packet_set_next(pkt, data + 8, body);
    if (ulen < 8) /* bogus (or jumbogram) length: like tshark, no tunnel decoding on top */
        return MS_DEC_PAYLOAD;
    uint16_t lo = MS_MIN(sport, dport), hi = MS_MAX(sport, dport);
    ms_decoder_id next = ms_decoder_for_udp_port(lo);
    if (next == MS_DEC_DATA)
        next = ms_decoder_for_udp_port(hi);
    return next == MS_DEC_DATA ? MS_DEC_PAYLOAD : next;
}
