/* tcp_packet.c — feeds a decoded packet to the TCP assembler (kept apart from tcp_assembler.c so
 * the assembler links without the decode pipeline, e.g. in unit tests and the fuzz target). */
#include <string.h>

#include "decode.h"
#include "tcp.h"

bool ms_tcp_assemble_packet(ms_tcp_assembler *a, ms_packet *pkt)
{
    if (!ms_packet_layer(pkt, MS_LAYER_TCP) || pkt->net.proto != 6)
        return false;
    ms_flow_key key;
    int dir;
    if (pkt->net.family == 4) {
        /* ms_flow_key_of's canonical order, without its libc calls (the per-packet path) */
        const uint8_t *s = pkt->net.src, *d = pkt->net.dst;
        uint32_t sa = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
        uint32_t da = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
        bool src_first = sa < da || (sa == da && pkt->net.sport <= pkt->net.dport);
        memset(&key, 0, sizeof key);
        key.family = 4;
        key.proto = 6;
        memcpy(key.a_addr, src_first ? s : d, 4);
        memcpy(key.b_addr, src_first ? d : s, 4);
        key.a_port = src_first ? pkt->net.sport : pkt->net.dport;
        key.b_port = src_first ? pkt->net.dport : pkt->net.sport;
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
    };
    ms_tcp_assemble(a, &key, dir, &seg);
    return true;
}
