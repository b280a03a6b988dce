/* data.c — the end of decoding: application payload above TCP/UDP, or undecoded bytes of a
 * protocol we stop at (tshark's "data"). Empty remainders push nothing. */
#include "decode/layers/layers.h"

ms_decoder_id ms_decode_payload(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    if (len)
        ms_packet_push(pkt, MS_LAYER_PAYLOAD, data, 0, len);
    return MS_DEC_NONE;
}

ms_decoder_id ms_decode_data(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    if (len)
        ms_packet_push(pkt, MS_LAYER_DATA, data, 0, len);
    return MS_DEC_NONE;
}
