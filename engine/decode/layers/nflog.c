/* nflog.c — Linux netfilter log messages (LINKTYPE_NFLOG, 239): address family, version,
 * resource id, then TLVs (length including its 4-byte header, type; both in the capturing
 * host's byte order, so the first TLV's length picks the order; each TLV padded to 4 bytes).
 * The payload TLV (type 9) holds the packet, IPv4 or IPv6 by the family byte. The header and the
 * TLVs before the payload are one layer; a capture without a payload TLV stops after them. */
#include "decode/layers/layers.h"

enum { NFULA_PAYLOAD = 9, NF_AF_INET = 2, NF_AF_INET6 = 10 };

static uint16_t get16(ms_cursor *c, bool be)
{
    return be ? ms_get_be16(c) : ms_get_le16(c);
}

ms_decoder_id ms_decode_nflog(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t family = ms_get_u8(&c);
    ms_skip(&c, 3); /* version, resource id */
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_NFLOG, data, len);
    /* Byte order: little-endian unless that makes the first length impossible and big-endian
     * does not. */
    bool be = false;
    if (len >= 8) {
        uint32_t le_len = (uint32_t)data[4] | (uint32_t)data[5] << 8;
        uint32_t be_len = (uint32_t)data[4] << 8 | data[5];
        be = (le_len < 4 || le_len > len - 4) && be_len >= 4 && be_len <= len - 4;
    }
    uint32_t at = 4;
    while (at < len) {
        ms_cursor t = ms_cursor_make(data + at, len - at);
        uint16_t tlen = get16(&t, be);
        uint16_t type = get16(&t, be) & 0x7fff; /* top bit: nested attribute */
        if (t.short_read || tlen > len - at)
            return ms_packet_truncated(pkt, MS_LAYER_NFLOG, data, len);
        if (tlen < 4) { /* a TLV shorter than its own header: no way to the next one */
            ms_layer *l = ms_packet_push(pkt, MS_LAYER_NFLOG, data, len, len);
            if (l)
                l->flags |= MS_LF_MALFORMED;
            return ms_packet_fail(pkt, MS_DERR_MALFORMED, MS_LAYER_NFLOG);
        }
        if (type == NFULA_PAYLOAD) {
            if (!ms_packet_push(pkt, MS_LAYER_NFLOG, data, at + 4, len))
                return MS_DEC_NONE;
            ms_packet_set_next(pkt, data + at + 4, (uint32_t)tlen - 4);
            if (family == NF_AF_INET)
                return MS_DEC_IPV4;
            if (family == NF_AF_INET6)
                return MS_DEC_IPV6;
            return MS_DEC_DATA;
        }
        uint32_t step = ((uint32_t)tlen + 3u) & ~3u; /* the last TLV may lack its padding */
        at += MS_MIN(step, len - at);
    }
    /* no payload TLV: a whole message without one, or one cut short by the snap length */
    if (pkt->frame.wirelen > pkt->frame.caplen)
        return ms_packet_truncated(pkt, MS_LAYER_NFLOG, data, len);
    ms_packet_push(pkt, MS_LAYER_NFLOG, data, len, len);
    return MS_DEC_NONE;
}
