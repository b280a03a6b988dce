/* arcnet.c — ARCNET link types: DLT_ARCNET (7, BSD: source, destination, protocol id) and
 * LINKTYPE_ARCNET_LINUX (129: source, destination, a 2-byte offset, protocol id). RFC 1201
 * protocol ids are followed by a split flag and a sequence number (BSD exception packets, split
 * flag 0xff, repeat the header after 2 bytes of padding); RFC 1051 ids, diagnostics and BACnet
 * are not. IP (212, 240), ARP (213, 241), RARP (214), IPv6 (196), BACnet over LLC (205). */
#include "decode/layers/layers.h"

static ms_decoder_id decode_arcnet(ms_packet *pkt, const uint8_t *data, uint32_t len, bool linux_hdr)
{
    ms_cursor c = ms_cursor_make(data, len);
    ms_skip(&c, linux_hdr ? 4 : 2); /* source, destination (Linux: offset) */
    uint8_t proto = ms_get_u8(&c);
    uint32_t hdr = linux_hdr ? 5 : 3;
    switch (proto) {
    case 240: case 241: case 128: case 205: /* RFC 1051 IP/ARP, diagnose, BACnet: no split flag */
        break;
    default: {
        uint8_t split = ms_get_u8(&c);
        if (!linux_hdr && split == 0xff) { /* exception packet: 2 bytes padding, id and flag again */
            ms_skip(&c, 4);
            hdr += 4;
        }
        ms_skip(&c, 2); /* sequence number */
        hdr += 3;
        break;
    }
    }
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_ARCNET, data, len);
    if (!ms_packet_push(pkt, MS_LAYER_ARCNET, data, hdr, len))
        return MS_DEC_NONE;
    ms_packet_set_next(pkt, data + hdr, len - hdr);
    switch (proto) {
    case 212: case 240:
        return MS_DEC_IPV4;
    case 213: case 214: case 241:
        return MS_DEC_ARP;
    case 196:
        return MS_DEC_IPV6;
    case 205:
        return MS_DEC_LLC;
    default:
        return MS_DEC_DATA;
    }
}

ms_decoder_id ms_decode_arcnet_bsd(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    return decode_arcnet(pkt, data, len, false);
}

ms_decoder_id ms_decode_arcnet_linux(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    return decode_arcnet(pkt, data, len, true);
}
