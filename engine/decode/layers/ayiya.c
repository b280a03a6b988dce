/* ayiya.c — AYIYA, "Anything In Anything" (SixXS tunnels, UDP 5072): 8 bytes (identity length
 * and type, signature length and hash method, authentication method and opcode, next header,
 * epoch time), then the identity (2^n bytes) and the signature (4n bytes). Only the forward
 * opcode carries a packet, whose IP protocol is the next header (41: IPv6, 4: IPv4); heartbeats
 * and other opcodes stop after the header, as in tshark. */
#include "decode/layers/layers.h"

enum { AYIYA_OP_FORWARD = 1 };

ms_decoder_id ms_decode_ayiya(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t id = ms_get_u8(&c);
    uint8_t sig = ms_get_u8(&c);
    uint8_t op = ms_get_u8(&c);
    uint8_t next = ms_get_u8(&c);
    uint32_t hdr = 8u + (1u << (id >> 4)) + 4u * (sig >> 4);
    ms_skip(&c, hdr - 4);
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_AYIYA, data, len);
    if (!ms_packet_push(pkt, MS_LAYER_AYIYA, data, hdr, len))
        return MS_DEC_NONE;
    if ((op & 0x0f) != AYIYA_OP_FORWARD)
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + hdr, len - hdr);
    switch (next) {
    case 4:
        return MS_DEC_IPV4;
    case 41:
        return MS_DEC_IPV6;
    default: /* tshark tries its IP protocol table; we decode IP in IP only */
        return MS_DEC_DATA;
    }
}
