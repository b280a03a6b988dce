/* pktbuild.c — packet builders for tests (see pktbuild.h). */
#include "pktbuild.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

enum { OPEN_IPV4 = 1, OPEN_IPV6, OPEN_UDP, OPEN_PPPOE };

void pb_init(pb *b)
{
    b->len = 0;
    b->nopen = 0;
}

void pb_bytes(pb *b, const void *p, size_t n)
{
    if (b->len + n > PB_MAX)
        abort();
    memcpy(b->buf + b->len, p, n);
    b->len += (uint32_t)n;
}

void pb_text(pb *b, const char *s)
{
    pb_bytes(b, s, strlen(s));
}

void pb_u8(pb *b, uint8_t v)
{
    pb_bytes(b, &v, 1);
}

void pb_be16(pb *b, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    pb_bytes(b, x, 2);
}

void pb_be32(pb *b, uint32_t v)
{
    pb_be16(b, (uint16_t)(v >> 16));
    pb_be16(b, (uint16_t)v);
}

void pb_zeros(pb *b, size_t n)
{
    if (b->len + n > PB_MAX)
        abort();
    memset(b->buf + b->len, 0, n);
    b->len += (uint32_t)n;
}

static void mark(pb *b, uint8_t kind)
{
    if (b->nopen >= PB_MAX_OPEN)
        abort();
    b->open[b->nopen].off = b->len;
    b->open[b->nopen].kind = kind;
    b->nopen++;
}

int pb_addr(const char *s, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, s, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, out) == 1)
        return 6;
    abort();
}

void pb_eth(pb *b, uint16_t type)
{
    static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
    pb_bytes(b, macs, 12);
    pb_be16(b, type);
}

void pb_vlan(pb *b, uint16_t vid, uint16_t type)
{
    pb_be16(b, vid & 0x0fff);
    pb_be16(b, type);
}

void pb_mpls(pb *b, uint32_t label, int bottom)
{
    pb_be32(b, label << 12 | (bottom ? 0x100u : 0u) | 64u);
}

void pb_pppoe(pb *b, uint16_t ppp_proto)
{
    mark(b, OPEN_PPPOE);
    pb_u8(b, 0x11);
    pb_u8(b, 0);
    pb_be16(b, 0x1234);
    pb_be16(b, 0); /* length: pb_finish */
    pb_be16(b, ppp_proto);
}

void pb_sll(pb *b, uint16_t proto)
{
    pb_be16(b, 0);     /* to us */
    pb_be16(b, 1);     /* ARPHRD_ETHER */
    pb_be16(b, 6);
    static const uint8_t addr[8] = { 2, 0, 0, 0, 0, 1, 0, 0 };
    pb_bytes(b, addr, 8);
    pb_be16(b, proto);
}

void pb_sll2(pb *b, uint16_t proto)
{
    pb_be16(b, proto);
    pb_be16(b, 0);
    pb_be32(b, 2);     /* ifindex */
    pb_be16(b, 1);     /* ARPHRD_ETHER */
    pb_u8(b, 0);
    pb_u8(b, 6);
    static const uint8_t addr[8] = { 2, 0, 0, 0, 0, 1, 0, 0 };
    pb_bytes(b, addr, 8);
}

void pb_ipv4_frag(pb *b, const char *src, const char *dst, uint8_t proto, uint16_t id, uint32_t offset, int more)
{
    uint8_t s[16], d[16];
    pb_addr(src, s);
    pb_addr(dst, d);
    mark(b, OPEN_IPV4);
    pb_u8(b, 0x45);
    pb_u8(b, 0);
    pb_be16(b, 0); /* total length: pb_finish */
    pb_be16(b, id);
    pb_be16(b, (uint16_t)((offset / 8) | (more ? 0x2000u : 0u)));
    pb_u8(b, 64);
    pb_u8(b, proto);
    pb_be16(b, 0); /* checksum: pb_finish */
    pb_bytes(b, s, 4);
    pb_bytes(b, d, 4);
}

void pb_ipv4(pb *b, const char *src, const char *dst, uint8_t proto)
{
    pb_ipv4_frag(b, src, dst, proto, 1, 0, 0);
}

void pb_ipv6(pb *b, const char *src, const char *dst, uint8_t next)
{
    uint8_t s[16], d[16];
    pb_addr(src, s);
    pb_addr(dst, d);
    mark(b, OPEN_IPV6);
    pb_be32(b, 0x60000000u);
    pb_be16(b, 0); /* payload length: pb_finish */
    pb_u8(b, next);
    pb_u8(b, 64);
    pb_bytes(b, s, 16);
    pb_bytes(b, d, 16);
}

void pb_ipv6_ext(pb *b, uint8_t next, uint8_t len8)
{
    pb_u8(b, next);
    pb_u8(b, len8);
    pb_u8(b, 1); /* PadN option filling the rest */
    pb_u8(b, (uint8_t)((len8 + 1u) * 8u - 4u));
    pb_zeros(b, (len8 + 1u) * 8u - 4u);
}

void pb_ipv6_frag(pb *b, uint8_t next, uint32_t id, uint32_t offset, int more)
{
    pb_u8(b, next);
    pb_u8(b, 0);
    pb_be16(b, (uint16_t)((offset & 0xfff8u) | (more ? 1u : 0u)));
    pb_be32(b, id);
}

void pb_gre(pb *b, uint16_t flags, uint16_t proto)
{
    pb_be16(b, flags);
    pb_be16(b, proto);
    if (flags & 0xc000)
        pb_be32(b, 0);
    if (flags & 0x2000)
        pb_be32(b, 0x00000042);
    if (flags & 0x1000)
        pb_be32(b, 7);
    if ((flags & 7) == 1 && (flags & 0x0080))
        pb_be32(b, 6);
}

void pb_tcp_opts(pb *b, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                 const uint8_t *opts, size_t optlen)
{
    size_t padded = (optlen + 3) / 4 * 4;
    pb_be16(b, sport);
    pb_be16(b, dport);
    pb_be32(b, seq);
    pb_be32(b, ack);
    pb_u8(b, (uint8_t)((20 + padded) / 4) << 4);
    pb_u8(b, flags);
    pb_be16(b, 65535);
    pb_be16(b, 0);
    pb_be16(b, 0);
    if (optlen)
        pb_bytes(b, opts, optlen);
    for (size_t i = optlen; i < padded; i++)
        pb_u8(b, 1);
}

void pb_tcp(pb *b, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
    pb_tcp_opts(b, sport, dport, seq, ack, flags, NULL, 0);
}

void pb_udp(pb *b, uint16_t sport, uint16_t dport)
{
    mark(b, OPEN_UDP);
    pb_be16(b, sport);
    pb_be16(b, dport);
    pb_be16(b, 0); /* length: pb_finish */
    pb_be16(b, 0);
}

void pb_icmp(pb *b, uint8_t type, uint8_t code)
{
    pb_u8(b, type);
    pb_u8(b, code);
    pb_be16(b, 0);
    pb_be32(b, 0);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void pb_finish(pb *b)
{
    for (int i = b->nopen - 1; i >= 0; i--) {
        uint32_t off = b->open[i].off;
        uint8_t *h = b->buf + off;
        uint32_t rest = b->len - off;
        switch (b->open[i].kind) {
        case OPEN_IPV4: {
            put16(h + 2, rest);
            put16(h + 10, 0);
            uint32_t sum = 0;
            for (int k = 0; k < 20; k += 2)
                sum += (uint32_t)(h[k] << 8 | h[k + 1]);
            while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
            put16(h + 10, ~sum & 0xffff);
            break;
        }
        case OPEN_IPV6:
            put16(h + 4, rest - 40);
            break;
        case OPEN_UDP:
            put16(h + 4, rest);
            break;
        case OPEN_PPPOE:
            put16(h + 4, rest - 6);
            break;
        default:
            break;
        }
    }
    b->nopen = 0;
}

void pb_pad(pb *b, size_t n)
{
    pb_zeros(b, n);
}

ms_frame pb_frame(const pb *b, int linktype)
{
    ms_frame f;
    memset(&f, 0, sizeof(f));
    f.data = b->buf;
    f.caplen = b->len;
    f.wirelen = b->len;
    f.linktype = linktype;
    f.number = 1;
    return f;
}

const char *pb_stack(ms_decode_ctx *ctx, const pb *b, int linktype, ms_packet *pkt)
{
    static char stack[1024];
    ms_frame f = pb_frame(b, linktype);
    ms_packet_start(pkt, ctx, &f);
    ms_packet_decode_all(pkt);
    ms_packet_stack(pkt, stack, sizeof(stack));
    return stack;
}

static int layers_within(const ms_packet *p, const uint8_t *start, uint32_t n, const uint8_t *alt, uint32_t alt_n)
{
    for (unsigned i = 0; i < p->nlayers; i++) {
        const ms_layer *l = &p->layers[i];
        int in_frame = l->data >= start && l->data + l->len <= start + n;
        int in_alt = alt && l->data >= alt && l->data + l->len <= alt + alt_n;
        if (!in_frame && !in_alt && l->len)
            return 0;
        if (l->hdr_len > l->len)
            return 0;
    }
    if (p->payload && p->payload_len && !(p->payload >= start && p->payload + p->payload_len <= start + n))
        return alt != NULL; /* reassembled payloads live in the defragmenter */
    return 1;
}

int pb_decode_every_prefix(const pb *b, int linktype)
{
    static ms_packet pe, pl;
    int bad = 0;
    ms_decode_opts eo, lo;
    ms_decode_opts_default(&eo);
    lo = eo;
    lo.eager = false;
    for (uint32_t n = 0; n <= b->len; n++) {
        ms_decode_ctx *e = ms_decode_ctx_new(&eo), *l = ms_decode_ctx_new(&lo);
        uint8_t *copy = malloc(n ? n : 1);
        if (!e || !l || !copy)
            abort();
        memcpy(copy, b->buf, n);
        ms_frame f = pb_frame(b, linktype);
        f.data = copy;
        f.caplen = n;
        ms_packet_start(&pe, e, &f);
        ms_packet_start(&pl, l, &f);
        ms_packet_layer(&pl, MS_LAYER_TCP);
        ms_packet_decode_all(&pl);
        char se[1024], sl[1024];
        ms_packet_stack(&pe, se, sizeof(se));
        ms_packet_stack(&pl, sl, sizeof(sl));
        if (strcmp(se, sl) != 0 || !layers_within(&pe, copy, n, NULL, 0) ||
            pe.payload_len != pl.payload_len)
            bad++;
        free(copy);
        ms_decode_ctx_free(e);
        ms_decode_ctx_free(l);
    }
    return bad;
}
