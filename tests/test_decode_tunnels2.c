/* test_decode_tunnels2.c — 802.11 frames in Aruba GRE, AYIYA, GTP-U, Geneve, and the NFLOG and
 * ARCNET link types: each carries an HTTP request to the TCP payload, names tshark's stack, and
 * records a truncation error on its own layer at every length that cuts its header (every
 * prefix is also decoded eagerly and lazily in an exact-size buffer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "helpers/decode_fixture.h"
#include "helpers/pktbuild.h"

static const char GET[] = "GET / HTTP/1.1\r\n";

/* Every cut of the frame at lengths from..to-1 (inside the header under test) records
 * MS_DERR_TRUNCATED on layer t. The cut frame sits in a buffer of exactly that size. */
static void expect_truncated(int linktype, uint32_t from, uint32_t to, ms_layer_type t)
{
    for (uint32_t n = from; n < to; n++) {
        ms_decode_ctx *c = ms_decode_ctx_new(NULL);
        uint8_t *copy = malloc(n ? n : 1);
        assert_non_null(c);
        assert_non_null(copy);
        memcpy(copy, b.buf, n);
        ms_frame f = pb_frame(&b, linktype);
        f.data = copy;
        f.caplen = n;
        ms_packet_start(&pkt, c, &f);
        ms_packet_decode_all(&pkt);
        assert_int_equal(pkt.error, MS_DERR_TRUNCATED);
        assert_int_equal(pkt.error_layer, t);
        free(copy);
        ms_decode_ctx_free(c);
    }
}

/* The frame's innermost TCP payload is the request. */
static void expect_get(void)
{
    assert_int_equal(pkt.error, MS_DERR_NONE);
    assert_int_equal(pkt.net.proto, 6);
    assert_int_equal(pkt.net.dport, 80);
    assert_int_equal(pkt.payload_len, strlen(GET));
    assert_memory_equal(pkt.payload, GET, strlen(GET));
}

static void inner_ipv4_get(void)
{
    pb_ipv4(&b, "192.168.1.2", "10.9.9.9", 6);
    pb_tcp(&b, 40000, 80, 1, 1, MS_TCP_ACK | MS_TCP_PSH);
    pb_text(&b, GET);
}

static void inner_ipv6_get(void)
{
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 6);
    pb_tcp(&b, 40000, 80, 1, 1, MS_TCP_ACK | MS_TCP_PSH);
    pb_text(&b, GET);
}

static const size_t L_UDP = 14 + 20 + 8, L_GRE = 14 + 20 + 4;

static void snap_ipv4(void)
{
    static const uint8_t snap[] = { 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00 };
    pb_bytes(&b, snap, sizeof(snap));
}

static void wlan_addrs(int n)
{
    for (int i = 0; i < n; i++) {
        static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x10 };
        pb_bytes(&b, mac, 6);
    }
}

/* ---- 802.11 in Aruba GRE ----------------------------------------------------------------- */

static void aruba_qos_data(uint16_t gre_proto)
{
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.3.34.171", "10.33.10.23", 47);
    pb_gre(&b, 0, gre_proto);
    pb_u8(&b, 0x88); /* data, subtype QoS data */
    pb_u8(&b, 0x01); /* to DS */
    pb_be16(&b, 0);  /* duration */
    wlan_addrs(3);
    pb_be16(&b, 0x807d); /* sequence control */
    pb_be16(&b, 0x0000); /* QoS control */
    snap_ipv4();
    inner_ipv4_get();
    pb_finish(&b);
}

static void test_aruba_gre_qos_data_frame_carries_llc_ip_tcp(void **state)
{
    (void)state;
    aruba_qos_data(0x8200);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:wlan:llc:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[3].type, MS_LAYER_WLAN);
    assert_int_equal(pkt.layers[3].hdr_len, 26);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
    expect_truncated(1, L_GRE, L_GRE + 26, MS_LAYER_WLAN);
}

static void test_every_aruba_gre_type_is_wlan_and_others_are_not(void **state)
{
    (void)state;
    aruba_qos_data(0x8370);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:wlan:llc:ip:tcp");
    pb_init(&b);
    aruba_qos_data(0x9000);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:wlan:llc:ip:tcp");
    pb_init(&b);
    aruba_qos_data(0x8201);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:data");
    pb_init(&b);
    aruba_qos_data(0x8380);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:data");
}

static void test_wlan_four_addresses_and_ht_control_lengthen_the_header(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 47);
    pb_gre(&b, 0, 0x8210);
    pb_u8(&b, 0x88);
    pb_u8(&b, 0x83); /* to DS, from DS, order */
    pb_be16(&b, 0);
    wlan_addrs(3);
    pb_be16(&b, 0);
    wlan_addrs(1);
    pb_be16(&b, 0);     /* QoS */
    pb_be32(&b, 0);     /* HT control */
    snap_ipv4();
    inner_ipv4_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:wlan:llc:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[3].hdr_len, 24 + 6 + 2 + 4);
    expect_truncated(1, L_GRE, L_GRE + 36, MS_LAYER_WLAN);
}

static void test_wlan_plain_data_with_order_bit_has_no_ht_control(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 47);
    pb_gre(&b, 0, 0x8200);
    pb_u8(&b, 0x08); /* data, subtype 0: no QoS */
    pb_u8(&b, 0x82); /* from DS, order */
    pb_be16(&b, 0);
    wlan_addrs(3);
    pb_be16(&b, 0);
    snap_ipv4();
    inner_ipv4_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:wlan:llc:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[3].hdr_len, 24);
}

static void test_wlan_amsdu_decodes_its_first_subframe(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 47);
    pb_gre(&b, 0, 0x8200);
    pb_u8(&b, 0x88);
    pb_u8(&b, 0x01);
    pb_be16(&b, 0);
    wlan_addrs(3);
    pb_be16(&b, 0);
    pb_be16(&b, 0x8000); /* QoS control: A-MSDU present (bit 7, first byte on the wire) */
    wlan_addrs(2);
    pb_be16(&b, 8 + 20 + 20 + (uint16_t)strlen(GET)); /* subframe length */
    snap_ipv4();
    inner_ipv4_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:wlan:llc:ip:tcp");
    expect_get();
    /* the subframe header belongs to the wlan layer: cutting it is a wlan truncation */
    expect_truncated(1, L_GRE, L_GRE + 26 + 14, MS_LAYER_WLAN);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_wlan_protected_null_and_bad_version_frames_stop(void **state)
{
    (void)state;
    uint8_t fc[][2] = { { 0x88, 0x41 }, { 0xc8, 0x01 }, { 0x89, 0x01 } }; /* protected, QoS null, version 1 */
    const char *want[] = { "eth:ethertype:ip:gre:wlan:data", "eth:ethertype:ip:gre:wlan",
                           "eth:ethertype:ip:gre:wlan:_malformed" };
    for (int i = 0; i < 3; i++) {
        pb_init(&b);
        pb_eth(&b, 0x0800);
        pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 47);
        pb_gre(&b, 0, 0x8200);
        pb_bytes(&b, fc[i], 2);
        pb_be16(&b, 0);
        wlan_addrs(3);
        pb_be16(&b, 0);
        pb_be16(&b, 0);
        if (i != 1)
            pb_zeros(&b, 40);
        pb_finish(&b);
        assert_string_equal(pb_stack(ctx, &b, 1, &pkt), want[i]);
        assert_null(pkt.payload);
    }
    assert_int_equal(pkt.error, MS_DERR_MALFORMED);
    assert_int_equal(pkt.error_layer, MS_LAYER_WLAN);
}

/* ---- AYIYA ------------------------------------------------------------------------------- */

static void ayiya_header(uint8_t id, uint8_t sig, uint8_t op, uint8_t next)
{
    pb_u8(&b, id);
    pb_u8(&b, sig);
    pb_u8(&b, op);
    pb_u8(&b, next);
    pb_be32(&b, 0x4af64bfd); /* epoch time */
    pb_zeros(&b, (1u << (id >> 4)) + 4u * (sig >> 4));
}

static void test_ayiya_forward_carries_ipv6(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.168.3.101", "216.14.98.22", 17);
    pb_udp(&b, 53859, 5072);
    ayiya_header(0x41, 0x52, 0x11, 41); /* 16-byte identity, 20-byte SHA-1 signature */
    inner_ipv6_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:ayiya:ipv6:tcp");
    expect_get();
    assert_int_equal(pkt.net.family, 6);
    assert_int_equal(pkt.layers[3].hdr_len, 44);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
    expect_truncated(1, L_UDP, L_UDP + 44, MS_LAYER_AYIYA);
}

static void test_ayiya_large_identity_and_ipv4_inside(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 12345, 5072);
    ayiya_header(0x81, 0x52, 0x11, 4); /* 256-byte identity */
    inner_ipv4_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:ayiya:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[3].hdr_len, 8 + 256 + 20);
    expect_truncated(1, L_UDP, L_UDP + 284, MS_LAYER_AYIYA);
}

static void test_ayiya_heartbeat_stops_after_the_header(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 5072, 40000);
    ayiya_header(0x41, 0x52, 0x10, 59); /* opcode 0: no operation, no next header */
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:ayiya");
    assert_int_equal(pkt.error, MS_DERR_NONE);
}

/* ---- GTP-U ------------------------------------------------------------------------------- */

static uint32_t gtp_at; /* offset of the GTP header, for gtp_fix_length */

static void gtp_udp(uint8_t flags, uint8_t type)
{
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.155.148.149", "10.155.148.157", 17);
    pb_udp(&b, 2152, 2152);
    gtp_at = b.len;
    pb_u8(&b, flags);
    pb_u8(&b, type);
    pb_be16(&b, 0); /* length: gtp_fix_length */
    pb_be32(&b, 0x00100657); /* tunnel id */
}

static void gtp_fix_length(uint32_t extra_after)
{
    uint32_t n = b.len - gtp_at - 8 - extra_after;
    b.buf[gtp_at + 2] = (uint8_t)(n >> 8);
    b.buf[gtp_at + 3] = (uint8_t)n;
}

static void test_gtp_gpdu_carries_ipv4(void **state)
{
    (void)state;
    gtp_udp(0x30, 0xff);
    inner_ipv4_get();
    gtp_fix_length(0);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:gtp:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[3].hdr_len, 8);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
    expect_truncated(1, L_UDP, L_UDP + 8, MS_LAYER_GTP);
}

static void test_gtp_sequence_and_extension_headers_are_skipped(void **state)
{
    (void)state;
    gtp_udp(0x36, 0xff); /* E and S */
    pb_be16(&b, 7);      /* sequence */
    pb_u8(&b, 0);        /* N-PDU */
    pb_u8(&b, 0x85);     /* next extension: PDU session container */
    pb_u8(&b, 1);        /* 4 bytes */
    pb_u8(&b, 0x00);
    pb_u8(&b, 0x09);
    pb_u8(&b, 0xc0);     /* next extension: another one */
    pb_u8(&b, 2);        /* 8 bytes */
    pb_zeros(&b, 6);
    pb_u8(&b, 0);        /* no more */
    inner_ipv6_get();
    gtp_fix_length(0);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:gtp:ipv6:tcp");
    expect_get();
    assert_int_equal(pkt.layers[3].hdr_len, 8 + 4 + 4 + 8);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
    expect_truncated(1, L_UDP, L_UDP + 24, MS_LAYER_GTP);
}

static void test_gtp_length_field_bounds_the_user_packet(void **state)
{
    (void)state;
    gtp_udp(0x30, 0xff);
    inner_ipv4_get();
    pb_zeros(&b, 6); /* trailing bytes inside UDP, outside GTP's length */
    gtp_fix_length(6);
    pb_finish(&b);
    pb_stack(ctx, &b, 1, &pkt);
    expect_get();
    assert_int_equal(pkt.layers[3].len, 8 + 20 + 20 + strlen(GET));
}

static void test_gtp_bad_lengths_are_malformed(void **state)
{
    (void)state;
    gtp_udp(0x34, 0xff); /* E */
    pb_be16(&b, 0);
    pb_u8(&b, 0);
    pb_u8(&b, 0x85);
    pb_u8(&b, 0);        /* extension of length 0 */
    pb_zeros(&b, 40);
    gtp_fix_length(0);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:gtp:_malformed");
    assert_int_equal(pkt.error, MS_DERR_MALFORMED);
    assert_int_equal(pkt.error_layer, MS_LAYER_GTP);

    pb_init(&b);
    gtp_udp(0x32, 0xff); /* S: 4 optional bytes that the length must cover */
    pb_be32(&b, 0);
    pb_finish(&b);      /* length field left 0 */
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:gtp:_malformed");
}

static void test_gtp_signalling_stops_and_non_gtp_stays_udp_payload(void **state)
{
    (void)state;
    gtp_udp(0x32, 0x1a); /* error indication */
    pb_zeros(&b, 8);
    gtp_fix_length(0);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:gtp");
    assert_int_equal(pkt.error, MS_DERR_NONE);

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 2152, 2152);
    pb_text(&b, "\xd5\x07 not GTP version 1");
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp");
    assert_int_equal(pkt.error, MS_DERR_NONE);
    assert_int_equal(pkt.payload_len, 20);
}

/* ---- Geneve ------------------------------------------------------------------------------ */

static void test_geneve_with_options_carries_ethernet(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.168.33.179", "192.168.179.33", 17);
    pb_udp(&b, 6667, 6081);
    pb_u8(&b, 0x03);     /* version 0, 3 words of options */
    pb_u8(&b, 0x00);
    pb_be16(&b, 0x6558);
    pb_be32(&b, 0x0c012e00);
    pb_zeros(&b, 12);
    pb_eth(&b, 0x0800);
    inner_ipv4_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:geneve:eth:ethertype:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[3].hdr_len, 20);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
    expect_truncated(1, L_UDP, L_UDP + 20, MS_LAYER_GENEVE);
}

static void test_geneve_protocol_type_is_an_ethertype(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 6081, 6081);
    pb_be16(&b, 0);
    pb_be16(&b, 0x86dd);
    pb_be32(&b, 0);
    inner_ipv6_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:geneve:ipv6:tcp");
    expect_get();
}

/* ---- NFLOG ------------------------------------------------------------------------------- */

static void nflog_tlv_le(uint16_t type, const void *v, uint16_t n)
{
    pb_u8(&b, (uint8_t)(n + 4));
    pb_u8(&b, (uint8_t)((n + 4) >> 8));
    pb_u8(&b, (uint8_t)type);
    pb_u8(&b, (uint8_t)(type >> 8));
    pb_bytes(&b, v, n);
    pb_zeros(&b, (4 - n % 4) % 4);
}

static void test_nflog_payload_tlv_carries_ipv4(void **state)
{
    (void)state;
    static const uint8_t hw[4] = { 0x08, 0x00, 0x01, 0x00 }, prefix[5] = "drop";
    pb_u8(&b, 2);     /* AF_INET */
    pb_u8(&b, 0);     /* version */
    pb_be16(&b, 42);  /* resource id */
    nflog_tlv_le(1, hw, 4);
    nflog_tlv_le(10, prefix, 5); /* padded to 12 */
    uint32_t hdr = b.len + 4;
    pb_u8(&b, (uint8_t)(4 + 20 + 20 + strlen(GET)));
    pb_u8(&b, 0);
    pb_u8(&b, 9);
    pb_u8(&b, 0);
    inner_ipv4_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 239, &pkt), "nflog:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[0].hdr_len, hdr);
    assert_int_equal(pb_decode_every_prefix(&b, 239), 0);
    expect_truncated(239, 0, hdr, MS_LAYER_NFLOG);
    /* a payload TLV longer than what was captured is a truncation too */
    expect_truncated(239, hdr, b.len, MS_LAYER_NFLOG);
}

static void test_nflog_big_endian_tlvs_and_ipv6(void **state)
{
    (void)state;
    pb_u8(&b, 10);    /* AF_INET6 */
    pb_u8(&b, 0);
    pb_be16(&b, 0);
    pb_be16(&b, 8);
    pb_be16(&b, 1);
    pb_be32(&b, 0x86dd0100);
    pb_be16(&b, (uint16_t)(4 + 40 + 20 + strlen(GET)));
    pb_be16(&b, 9);
    inner_ipv6_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 239, &pkt), "nflog:ipv6:tcp");
    expect_get();
}

static void test_nflog_short_tlv_is_malformed_and_no_payload_stops(void **state)
{
    (void)state;
    static const uint8_t bad[] = { 2, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0 }; /* TLV length 1 */
    pb_bytes(&b, bad, sizeof(bad));
    assert_string_equal(pb_stack(ctx, &b, 239, &pkt), "nflog:_malformed");
    assert_int_equal(pkt.error, MS_DERR_MALFORMED);
    assert_int_equal(pkt.error_layer, MS_LAYER_NFLOG);

    pb_init(&b);
    static const uint8_t hw[4] = { 0x08, 0x00, 0x01, 0x00 };
    pb_u8(&b, 2);
    pb_u8(&b, 0);
    pb_be16(&b, 0);
    nflog_tlv_le(1, hw, 4);
    assert_string_equal(pb_stack(ctx, &b, 239, &pkt), "nflog");
    assert_int_equal(pkt.error, MS_DERR_NONE);
}

/* ---- ARCNET ------------------------------------------------------------------------------ */

static void test_arcnet_linux_rfc1201_ip(void **state)
{
    (void)state;
    static const uint8_t h[] = { 0xbe, 0x50, 0xa8, 0xe7, 0xd4, 0x00, 0x01, 0x66 };
    pb_bytes(&b, h, sizeof(h));
    inner_ipv4_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 129, &pkt), "arcnet:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[0].hdr_len, 8);
    assert_int_equal(pb_decode_every_prefix(&b, 129), 0);
    expect_truncated(129, 0, 8, MS_LAYER_ARCNET);
}

static void test_arcnet_linux_rfc1051_has_no_split_flag(void **state)
{
    (void)state;
    static const uint8_t h[] = { 0xbe, 0x50, 0xab, 0x08, 0xf0 };
    pb_bytes(&b, h, sizeof(h));
    inner_ipv4_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 129, &pkt), "arcnet:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[0].hdr_len, 5);
    expect_truncated(129, 0, 5, MS_LAYER_ARCNET);

    pb_init(&b);
    static const uint8_t arp[] = { 0xbe, 0x00, 0xed, 0x08, 0xf1, 0x00, 0x07, 0x08, 0x00, 0x01, 0x04, 0x00, 0x01,
                                   0xbe, 0x0a, 0x50, 0x83, 0x01, 0x00, 0x0a, 0x50, 0x83, 0xfe };
    pb_bytes(&b, arp, sizeof(arp));
    assert_string_equal(pb_stack(ctx, &b, 129, &pkt), "arcnet:arp");
}

static void test_arcnet_bsd_header_and_exception_packet(void **state)
{
    (void)state;
    static const uint8_t h[] = { 0xbe, 0x50, 0xd4, 0x00, 0x00, 0x01 };
    pb_bytes(&b, h, sizeof(h));
    inner_ipv4_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 7, &pkt), "arcnet:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[0].hdr_len, 6);
    expect_truncated(7, 0, 6, MS_LAYER_ARCNET);

    pb_init(&b);
    static const uint8_t x[] = { 0xbe, 0x50, 0xd4, 0xff, 0xff, 0xff, 0xd4, 0x00, 0x00, 0x01 };
    pb_bytes(&b, x, sizeof(x));
    inner_ipv4_get();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 7, &pkt), "arcnet:ip:tcp");
    expect_get();
    assert_int_equal(pkt.layers[0].hdr_len, 10);
    assert_int_equal(pb_decode_every_prefix(&b, 7), 0);
    expect_truncated(7, 0, 10, MS_LAYER_ARCNET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_aruba_gre_qos_data_frame_carries_llc_ip_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_aruba_gre_type_is_wlan_and_others_are_not, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wlan_four_addresses_and_ht_control_lengthen_the_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wlan_plain_data_with_order_bit_has_no_ht_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wlan_amsdu_decodes_its_first_subframe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wlan_protected_null_and_bad_version_frames_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ayiya_forward_carries_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ayiya_large_identity_and_ipv4_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ayiya_heartbeat_stops_after_the_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gtp_gpdu_carries_ipv4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gtp_sequence_and_extension_headers_are_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gtp_length_field_bounds_the_user_packet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gtp_bad_lengths_are_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gtp_signalling_stops_and_non_gtp_stays_udp_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_geneve_with_options_carries_ethernet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_geneve_protocol_type_is_an_ethertype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nflog_payload_tlv_carries_ipv4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nflog_big_endian_tlvs_and_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nflog_short_tlv_is_malformed_and_no_payload_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arcnet_linux_rfc1201_ip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arcnet_linux_rfc1051_has_no_split_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arcnet_bsd_header_and_exception_packet, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
