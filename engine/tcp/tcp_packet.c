/* tcp_packet.c — feeds a decoded packet to the TCP assembler (kept apart from tcp_assembler.c so
 * the assembler links without the decode pipeline, e.g. in unit tests and the fuzz target). */
#include <string.h>

#include "decode/decode.h"
#include "tcp/tcp_internal.h"

/* An IPv4 address as a number in network order, for ms_flow_key_of's canonical order (memcmp of
 * the address bytes, then the ports). */
static inline uint32_t be32_of(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool ms_tcp_assemble_packet(ms_tcp_assembler *a, ms_packet *pkt)
{
    if (!ms_packet_layer(pkt, MS_LAYER_TCP) || pkt->net.proto != 6)
        return false;
    ms_flow_key key;
    int dir;
    if (pkt->net.family == 4) {
        /* ms_flow_key_of's key (tests/test_tcp_pcaps.c compares them), without libc calls */
        const uint8_t *s = pkt->net.src, *d = pkt->net.dst;
        uint32_t sa = be32_of(s), da = be32_of(d);
        uint16_t sp = pkt->net.sport, dp = pkt->net.dport;
        bool src_first = sa < da || (sa == da && sp <= dp);
        memset(&key, 0, sizeof key);
        memcpy(key.a_addr, src_first ? s : d, 4);
        memcpy(key.b_addr, src_first ? d : s, 4);
        key.a_port = src_first ? sp : dp;
        key.b_port = src_first ? dp : sp;
        key.family = 4;
        key.proto = 6;
        dir = src_first ? MS_DIR_A_TO_B : MS_DIR_B_TO_A;
    } else if (ms_flow_key_of(pkt, &key, &dir) != 0) {
        return false;
    }
    ms_tcp_segment seg = {
        .seq = pkt->tcp.seq,
        .ack = pkt->tcp.ack,
        .flags = pkt->tcp.flags,
        .payload = pkt->payload,
        .len = pkt->payload ? pkt->payload_len : 0,
        .ts_ns = pkt->frame.ts_ns,
        .frame_index = pkt->frame.index,
        .ip_len = ms_flow_ip_bytes(pkt),
    };
    ms_tcp_assemble_hashed(a, &key, ms_tcp_key_hash_seeded(a->hash_seed, &key), dir, &seg);
    return true;
}
