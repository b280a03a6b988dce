/* ipv4.c — IPv4: options skipped by the header length, payload clamped to the total length
 * (Ethernet padding is not payload), header checksum checked as a flag, fragments handed to the
 * defragmenter. Also the helpers every IP decoder shares (innermost addresses, fragments). */
#include "decode/layers/layers.h"

#include <string.h>

void ms_layers_set_net(ms_packet *pkt, int family, uint8_t proto, uint8_t ttl,
                       const uint8_t *src, const uint8_t *dst)
{
    if (pkt->in_icmp_error)
        return;
    size_t n = family == 4 ? 4 : 16;
    pkt->net.family = (uint8_t)family;
    pkt->net.proto = proto;
    pkt->net.ttl = ttl;
    memcpy(pkt->net.src, src, n);
    memcpy(pkt->net.dst, dst, n);
    if (n == 4) {
        memset(pkt->net.src + 4, 0, 12);
        memset(pkt->net.dst + 4, 0, 12);
    }
    pkt->net.sport = 0;
    pkt->net.dport = 0;
    pkt->payload = NULL;
    pkt->payload_len = 0;
}

ms_decoder_id ms_layers_fragment(ms_packet *pkt, ms_layer *l, const ms_frag *f, bool eligible)
{
    ms_defrag *d = pkt->ctx ? ms_decode_ctx_defrag(pkt->ctx) : NULL;
    l->flags |= MS_LF_FRAGMENT;
    if (!d || !eligible || pkt->in_icmp_error) {
        /* Not reassembled: a first fragment still starts with the transport header. */
        ms_packet_set_next(pkt, f->data, f->len);
        return f->offset == 0 ? ms_next_by_ipproto(f->proto) : MS_DEC_DATA;
    }
    {
        const uint8_t *out;
        uint32_t out_len;
        if (ms_defrag_add(d, f, &out, &out_len) == 1) {
            l->flags = (uint16_t)((l->flags & ~MS_LF_FRAGMENT) | MS_LF_REASSEMBLED);
            pkt->nreasm++;
            pkt->next_proto = f->proto;
            ms_packet_set_next(pkt, out, out_len);
            return ms_next_by_ipproto(f->proto);
        }
    }
    ms_packet_set_next(pkt, f->data, f->len);
    return MS_DEC_DATA;
}

/* True when the header's one's complement sum checks out. n is the header length (a multiple of
 * 4, at most 60, all captured). The sum is taken over 32-bit words in host order and folded:
 * one's complement addition does not care about word size or byte order, and 0xffff reads the
 * same both ways. */
static bool header_checksum_ok(const uint8_t *p, uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i + 4 <= n; i += 4) {
        uint32_t w;
        memcpy(&w, p + i, 4);
        sum += w;
    }
    /* fold without a loop: at most 15 words, so sum < 2^36 */
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return sum == 0xffff;
}

ms_decoder_id ms_decode_ipv4(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t vihl = ms_get_u8(&c);
    ms_skip(&c, 1); /* DSCP, ECN */
    uint16_t total = ms_get_be16(&c);
    uint16_t id = ms_get_be16(&c);
    uint16_t frag = ms_get_be16(&c);
    uint8_t ttl = ms_get_u8(&c);
    uint8_t proto = ms_get_u8(&c);
    ms_skip(&c, 2); /* checksum */
    const uint8_t *src = c.p;
    ms_skip(&c, 4);
    const uint8_t *dst = c.p;
    ms_skip(&c, 4);
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_IPV4, data, len);
    uint32_t ihl = (uint32_t)(vihl & 0x0f) * 4;
    if ((vihl >> 4) != 4) {
        /* tshark's "ip" dissector hands version 6 to IPv6 and gives up on anything else */
        ms_layer *bad = ms_packet_push(pkt, MS_LAYER_IPV4, data, 0, len);
        if (!bad)
            return MS_DEC_NONE;
        bad->flags |= MS_LF_MALFORMED;
        if ((vihl >> 4) == 6) {
            ms_packet_set_next(pkt, data, len);
            return MS_DEC_IPV6;
        }
        return ms_packet_fail(pkt, MS_DERR_MALFORMED, MS_LAYER_IPV4);
    }
    if (ihl < 20) {
        ms_layer *bad = ms_packet_push(pkt, MS_LAYER_IPV4, data, MS_MIN(20u, len), len);
        if (bad)
            bad->flags |= MS_LF_MALFORMED;
        return ms_packet_fail(pkt, MS_DERR_MALFORMED, MS_LAYER_IPV4);
    }
    if (ihl > len)
        return ms_packet_truncated(pkt, MS_LAYER_IPV4, data, len);
    uint32_t tlen = total;
    if (tlen == 0) /* segmentation offload: the length was left to the NIC */
        tlen = len;
    if (tlen < ihl) {
        ms_layer *bad = ms_packet_push(pkt, MS_LAYER_IPV4, data, ihl, len);
        if (bad)
            bad->flags |= MS_LF_MALFORMED;
        return ms_packet_fail(pkt, MS_DERR_MALFORMED, MS_LAYER_IPV4);
    }
    uint32_t avail = MS_MIN(tlen, len);
    ms_layer *l = ms_packet_push(pkt, MS_LAYER_IPV4, data, ihl, avail);
    if (!l)
        return MS_DEC_NONE;
    if (tlen > len)
        l->flags |= MS_LF_TRUNCATED;
    uint32_t offset = (uint32_t)(frag & 0x1fff) * 8;
    bool more = (frag & 0x2000) != 0;
    bool bad_sum = false;
    if (!pkt->in_icmp_error && (offset || more ||
                                (pkt->ctx && ms_decode_ctx_opts(pkt->ctx)->verify_checksums))) {
        bad_sum = !header_checksum_ok(data, ihl);
        if (bad_sum)
            l->flags |= MS_LF_BAD_CHECKSUM;
    }
    ms_layers_set_net(pkt, 4, proto, ttl, src, dst);
    pkt->next_proto = proto;

    if (offset || more) {
        /* Like tshark: only a fragment with a good checksum whose bytes were all captured is
         * reassembled; another first fragment is decoded as it stands, later ones are data. */
        ms_frag f = { 4, proto, src, dst, id, offset, more, data + ihl, avail - ihl, pkt->frame.ts_ns };
        bool eligible = !bad_sum && tlen <= len && tlen > ihl;
        return ms_layers_fragment(pkt, l, &f, eligible);
    }
    ms_packet_set_next(pkt, data + ihl, avail - ihl);
    return ms_next_by_ipproto(proto);
}
