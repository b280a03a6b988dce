/* quick.c — a plain TCP frame's segment read off its headers (see quick.h). Every test mirrors one
 * of decode/layers/{eth,vlan,ipv4,ipv6,tcp}.c, so a frame those decoders would read differently
 * (tunnels, fragments, options past the captured bytes, LLC, ...) is refused here. */
#include "dispatch/quick.h"

#include <string.h>

static inline uint16_t be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t be32(const uint8_t *b)
{
    return (uint32_t)be16(b) << 16 | be16(b + 2);
}

bool ms_quick_tcp_of(const ms_frame *f, ms_quick_tcp *q)
{
    const uint8_t *d = f->data;
    uint32_t n = f->caplen;
    if (f->linktype != 1 || !d || n < 14)
        return false;
    uint32_t off = 14;
    uint16_t et = be16(d + 12);
    if (et == 0x8100) {
        if (n < 18)
            return false;
        et = be16(d + 16);
        off = 18;
    }
    uint32_t len = n - off;
    const uint8_t *ip = d + off, *tcp;
    uint32_t tl, alen;
    if (et == 0x0800) {
        if (len < 20 || ip[0] >> 4 != 4)
            return false;
        uint32_t ihl = (uint32_t)(ip[0] & 15) * 4;
        uint32_t tlen = be16(ip + 2);
        if (ihl < 20 || ihl > len || (be16(ip + 6) & 0x3fff) || ip[9] != 6)
            return false;
        if (tlen == 0) /* segmentation offload: the length was left to the NIC */
            tlen = len;
        if (tlen < ihl)
            return false;
        tl = (tlen < len ? tlen : len) - ihl; /* Ethernet padding is not payload */
        tcp = ip + ihl;
        q->src = ip + 12;
        q->dst = ip + 16;
        alen = 4;
    } else if (et == 0x86dd) {
        if (len < 40 || ip[0] >> 4 != 6 || ip[6] != 6)
            return false;
        uint32_t plen = be16(ip + 4), body = len - 40;
        tl = plen && plen < body ? plen : body; /* 0: a jumbogram or offload, take what is there */
        tcp = ip + 40;
        q->src = ip + 8;
        q->dst = ip + 24;
        alen = 16;
    } else {
        return false;
    }
    if (tl < 20)
        return false;
    uint32_t thl = (uint32_t)(tcp[12] >> 4) * 4;
    if (thl < 20 || thl > tl)
        return false;
    q->sport = be16(tcp);
    q->dport = be16(tcp + 2);
    /* memcmp order of the address bytes, as big-endian words (no libc call per frame) */
    int c;
    if (alen == 4) {
        uint32_t s4 = be32(q->src), d4 = be32(q->dst);
        c = (s4 > d4) - (s4 < d4);
    } else {
        uint64_t s0 = (uint64_t)be32(q->src) << 32 | be32(q->src + 4), d0 = (uint64_t)be32(q->dst) << 32 | be32(q->dst + 4);
        uint64_t s1 = (uint64_t)be32(q->src + 8) << 32 | be32(q->src + 12), d1 = (uint64_t)be32(q->dst + 8) << 32 | be32(q->dst + 12);
        c = s0 != d0 ? (s0 > d0) - (s0 < d0) : (s1 > d1) - (s1 < d1);
    }
    bool src_first = c < 0 || (c == 0 && q->sport <= q->dport);
    memset(&q->key, 0, sizeof q->key);
    if (alen == 4) {
        memcpy(q->key.a_addr, src_first ? q->src : q->dst, 4);
        memcpy(q->key.b_addr, src_first ? q->dst : q->src, 4);
    } else {
        memcpy(q->key.a_addr, src_first ? q->src : q->dst, 16);
        memcpy(q->key.b_addr, src_first ? q->dst : q->src, 16);
    }
    q->key.a_port = src_first ? q->sport : q->dport;
    q->key.b_port = src_first ? q->dport : q->sport;
    q->key.family = alen == 4 ? 4 : 6;
    q->key.proto = 6;
    q->key_dir = src_first ? MS_DIR_A_TO_B : MS_DIR_B_TO_A;
    q->seg.seq = be32(tcp + 4);
    q->seg.ack = be32(tcp + 8);
    q->seg.flags = tcp[13];
    q->seg.payload = tcp + thl;
    q->seg.len = tl - thl;
    q->seg.ts_ns = f->ts_ns;
    q->seg.frame_index = f->index;
    return true;
}
