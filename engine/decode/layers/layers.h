/* layers.h — the decoders of engine/decode/layers/ (one file per layer family) (internal to the decode pipeline).
 * Each decoder has the ms_decode_fn shape: it decodes its header from data[0..len) through a
 * cursor, pushes one layer, sets the next bytes and returns the next decoder id. */
#ifndef MS_LAYERS_H
#define MS_LAYERS_H

#include "common/cursor.h"
#include "decode/decode.h"
#include "decode/defrag.h"

/* link (eth.c, vlan.c, mpls.c, ppp.c, sll.c, null.c) */
ms_decoder_id ms_decode_eth(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_llc(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_vlan(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_qinq(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_mpls(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_pppoe(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_ppp(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_ppp_hdlc(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_sll(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_sll2(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_null(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_loop(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_raw(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_ip_guess(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_arp(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_ectp(ms_packet *pkt, const uint8_t *data, uint32_t len);
/* network (ipv4.c, ipv6.c, gre.c, vxlan.c) */
ms_decoder_id ms_decode_ipv4(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_ipv6(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_ipv6_ext(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_ah(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_gre(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_vxlan(ms_packet *pkt, const uint8_t *data, uint32_t len);
/* transport (tcp.c, udp.c, icmp.c) and leftovers (data.c) */
ms_decoder_id ms_decode_tcp(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_udp(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_icmp(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_icmpv6(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_payload(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_data(ms_packet *pkt, const uint8_t *data, uint32_t len);
/* tunnels and link types (wlan.c, ayiya.c, gtp.c, geneve.c, nflog.c, arcnet.c) */
ms_decoder_id ms_decode_wlan(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_ayiya(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_gtp(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_geneve(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_nflog(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_arcnet_bsd(ms_packet *pkt, const uint8_t *data, uint32_t len);
ms_decoder_id ms_decode_arcnet_linux(ms_packet *pkt, const uint8_t *data, uint32_t len);

/* Table lookups for the hot path (the tables live in decode.c). Unknown values go to MS_DEC_DATA. */
extern const uint8_t ms_ethertype_map[65536];
extern const uint8_t ms_ipproto_map[256];

static inline ms_decoder_id ms_next_by_ethertype(uint16_t type)
{
    uint8_t d = ms_ethertype_map[type];
    return d ? (ms_decoder_id)d : MS_DEC_DATA;
}

static inline ms_decoder_id ms_next_by_ipproto(uint8_t proto)
{
    uint8_t d = ms_ipproto_map[proto];
    return d ? (ms_decoder_id)d : MS_DEC_DATA;
}

/* Context internals the IP decoders need (decode.c). */
const ms_decode_opts *ms_decode_ctx_opts(const ms_decode_ctx *ctx);
ms_defrag *ms_decode_ctx_defrag(ms_decode_ctx *ctx);

/* Shared by the IP decoders (ipv4.c): records an IP header as the innermost one in pkt->net
 * (unless inside an ICMP error quote) and forgets ports/payload of outer layers. */
void ms_layers_set_net(ms_packet *pkt, int family, uint8_t proto, uint8_t ttl,
                       const uint8_t *src, const uint8_t *dst);

/* Shared by the IP decoders: hands a fragment to the defragmenter. Returns the decoder for the
 * reassembled payload (and sets the next bytes, flags the layer) when the datagram completed,
 * otherwise returns MS_DEC_DATA for the fragment's bytes. A fragment that is not eligible for
 * reassembly (bad checksum, cut by the snap length, inside an ICMP quote) is decoded as it stands
 * when it is the first one (offset 0), as data otherwise. */
ms_decoder_id ms_layers_fragment(ms_packet *pkt, ms_layer *l, const ms_frag *f, bool eligible);

#endif
