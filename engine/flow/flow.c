/* flow.c — symmetric flow keys, endpoint formatting and connection uids. */
#include "flow/flow.h"

#include <arpa/inet.h>
#include <string.h>

int ms_flow_key_of(const ms_packet *pkt, ms_flow_key *key, int *dir)
{
    const ms_packet_net *n = &pkt->net;
    if ((n->family != 4 && n->family != 6) || (n->proto != 6 && n->proto != 17))
        return MS_EINVAL;
    size_t alen = n->family == 4 ? 4 : 16;
    int c = memcmp(n->src, n->dst, alen);
    bool src_first = c < 0 || (c == 0 && n->sport <= n->dport);
    memset(key, 0, sizeof *key);
    key->family = n->family;
    key->proto = n->proto;
    if (src_first) {
        memcpy(key->a_addr, n->src, alen);
        memcpy(key->b_addr, n->dst, alen);
        key->a_port = n->sport;
        key->b_port = n->dport;
    } else {
        memcpy(key->a_addr, n->dst, alen);
        memcpy(key->b_addr, n->src, alen);
        key->a_port = n->dport;
        key->b_port = n->sport;
    }
    *dir = src_first ? MS_DIR_A_TO_B : MS_DIR_B_TO_A;
    return 0;
}

uint32_t ms_flow_ip_bytes(const ms_packet *pkt)
{
    const ms_layer *ip = NULL, *chosen = NULL;
    for (unsigned i = 0; i < pkt->nlayers; i++) {
        const ms_layer *l = &pkt->layers[i];
        if (l->type == MS_LAYER_IPV4 || l->type == MS_LAYER_IPV6)
            ip = l;
        else if (l->type == MS_LAYER_TCP || l->type == MS_LAYER_UDP)
            chosen = ip;
        else if (l->type == MS_LAYER_ICMP || l->type == MS_LAYER_ICMPV6) {
            chosen = ip;
            break; /* what follows is the quoted packet of an error, or data */
        }
    }
    if (!chosen)
        return 0;
    if (chosen->type == MS_LAYER_IPV4 && chosen->hdr_len >= 20)
        return (uint32_t)chosen->data[2] << 8 | chosen->data[3];
    if (chosen->type == MS_LAYER_IPV6 && chosen->hdr_len >= 40)
        return 40u + ((uint32_t)chosen->data[4] << 8 | chosen->data[5]);
    return 0;
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t ms_flow_hash(const ms_flow_key *key)
{
    uint64_t w[5];
    memcpy(w, key, sizeof w); /* 40 bytes: both addresses, ports, family, proto, pad */
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < 5; i++)
        h = mix64(h ^ w[i]) + 0x9e3779b97f4a7c15ULL;
    return h;
}

ms_endpoint ms_flow_endpoint(const ms_flow_key *key, int side)
{
    ms_endpoint e;
    memset(&e, 0, sizeof e);
    memcpy(e.addr, side == 0 ? key->a_addr : key->b_addr, 16);
    e.port = side == 0 ? key->a_port : key->b_port;
    e.family = key->family;
    return e;
}

char *ms_addr_format(const uint8_t *addr, int family, char *buf, size_t size)
{
    if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)size) && size)
        buf[0] = '\0';
    return buf;
}

uint64_t ms_uid_id(const ms_flow_key *key, uint64_t frame_index)
{
    return mix64(ms_flow_hash(key) ^ mix64(frame_index + 0x632be59bd9b4e019ULL));
}

void ms_uid_format(uint64_t seed, uint64_t id, char *buf, size_t size)
{
    static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t v = mix64(seed ^ mix64(id + 1));
    char tmp[24];
    size_t n = 0;
    tmp[n++] = 'C';
    for (int i = 0; i < 17 && n < sizeof tmp - 1; i++) {
        tmp[n++] = digits[v % 62];
        v /= 62;
        if (v == 0)
            v = mix64(id ^ (uint64_t)i ^ seed);
    }
    tmp[n] = '\0';
    if (size) {
        size_t k = MS_MIN(n, size - 1);
        memcpy(buf, tmp, k);
        buf[k] = '\0';
    }
}
