/* tcp_packet.c — feeds a decoded packet to the TCP assembler (kept apart from tcp_assembler.c so
 * the assembler links without the decode pipeline, e.g. in unit tests and the fuzz target). */
#include "decode.h"
#include "tcp.h"

bool ms_tcp_assemble_packet(ms_tcp_assembler *a, ms_packet *pkt)
{
    if (!ms_packet_layer(pkt, MS_LAYER_TCP) || pkt->net.proto != 6)
        return false;
    ms_flow_key key;
    int dir;
    if (ms_flow_key_of(pkt, &key, &dir) != 0)
        return false;
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
