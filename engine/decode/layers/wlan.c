/* wlan.c — an 802.11 MAC header without FCS, as Aruba access points tunnel it in GRE.
 * Data frames: frame control, duration, three addresses, sequence control, a fourth address
 * when both DS bits are set, QoS control in QoS subtypes, HT control when a QoS frame has the
 * order bit; then 802.2 LLC/SNAP (the first subframe of an A-MSDU). Protected (encrypted) frames
 * stop as data, "no data" subtypes stop; management frames stop as data after their 24 bytes
 * (28 with HT control), control and extension frames after frame control, duration and the
 * first address. */
#include "decode/layers/layers.h"

enum {
    FC_TO_DS = 0x01, FC_FROM_DS = 0x02, FC_PROTECTED = 0x40, FC_ORDER = 0x80,
    TYPE_MGMT = 0, TYPE_CTRL = 1, TYPE_DATA = 2,
    SUBTYPE_NO_DATA = 0x4, SUBTYPE_QOS = 0x8,
    QOS_AMSDU = 0x80,
};

ms_decoder_id ms_decode_wlan(ms_packet *pkt, const uint8_t *data, uint32_t len)
{
    ms_cursor c = ms_cursor_make(data, len);
    uint8_t fc0 = ms_get_u8(&c);
    uint8_t fc1 = ms_get_u8(&c);
    unsigned version = fc0 & 3, type = (fc0 >> 2) & 3, subtype = fc0 >> 4;
    uint32_t hdr;
    bool amsdu = false;
    switch (type) {
    case TYPE_DATA:
        hdr = 24;
        if ((fc1 & (FC_TO_DS | FC_FROM_DS)) == (FC_TO_DS | FC_FROM_DS))
            hdr += 6; /* fourth address */
        ms_skip(&c, hdr - 2);
        if (subtype & SUBTYPE_QOS) {
            uint8_t qos = ms_get_u8(&c);
            ms_skip(&c, 1);
            hdr += 2;
            amsdu = qos & QOS_AMSDU;
            if (fc1 & FC_ORDER) {
                ms_skip(&c, 4);
                hdr += 4;
            }
        }
        break;
    case TYPE_MGMT:
        hdr = (fc1 & FC_ORDER) ? 28 : 24; /* HT control after the sequence control */
        ms_skip(&c, hdr - 2);
        break;
    default: /* control, extension: duration and the receiver address at least */
        hdr = 10;
        ms_skip(&c, hdr - 2);
        break;
    }
    bool payload = type == TYPE_DATA && !(fc1 & FC_PROTECTED) && !(subtype & SUBTYPE_NO_DATA);
    uint16_t sublen = 0;
    if (payload && amsdu) { /* first A-MSDU subframe: destination, source, length, then LLC */
        ms_skip(&c, 12);
        sublen = ms_get_be16(&c);
    }
    if (c.short_read)
        return ms_packet_truncated(pkt, MS_LAYER_WLAN, data, len);
    if (!ms_packet_push(pkt, MS_LAYER_WLAN, data, hdr, len))
        return MS_DEC_NONE;
    if (version != 0)
        return ms_packet_fail(pkt, MS_DERR_MALFORMED, MS_LAYER_WLAN);
    ms_packet_set_next(pkt, data + hdr, len - hdr);
    if (type == TYPE_MGMT || (type == TYPE_DATA && (fc1 & FC_PROTECTED)))
        return MS_DEC_DATA;
    if (!payload)
        return MS_DEC_NONE;
    if (amsdu)
        ms_packet_set_next(pkt, data + hdr + 14, MS_MIN((uint32_t)sublen, len - hdr - 14));
    return MS_DEC_LLC;
}
