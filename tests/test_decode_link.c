/* test_decode_link.c — link-layer decoders: Ethernet/802.3/LLC, VLAN and QinQ stacks, MPLS,
 * PPPoE/PPP, Linux cooked v1/v2, BSD null/loop, raw IP link types, ARP; each also decoded at
 * every truncated length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "decode/decode.h"
#include "helpers/decode_fixture.h"
#include "helpers/pktbuild.h"

static void eth_ipv4_tcp(void)
{
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1234, 80, 1, 0, MS_TCP_SYN);
}

static void test_ethernet_ipv4_tcp_names_ethertype(void **state)
{
    (void)state;
    eth_ipv4_tcp();
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:tcp");
    assert_int_equal(pkt.layers[0].hdr_len, 14);
    assert_true(pkt.layers[0].flags & MS_LF_ETHERTYPE);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_ethernet_padding_is_not_payload(void **state)
{
    (void)state;
    eth_ipv4_tcp();
    pb_text(&b, "hi");
    pb_finish(&b);
    pb_pad(&b, 10); /* short frames are padded to 60 bytes on the wire */
    pb_stack(ctx, &b, 1, &pkt);
    assert_int_equal(pkt.payload_len, 2);
    assert_memory_equal(pkt.payload, "hi", 2);
}

static void test_ethernet_unknown_ethertype_is_data(void **state)
{
    (void)state;
    pb_eth(&b, 0x88cc); /* LLDP */
    pb_zeros(&b, 20);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:data");
}

static void test_8023_length_frame_stops_at_llc(void **state)
{
    (void)state;
    pb_eth(&b, 38);
    pb_u8(&b, 0x42); /* STP */
    pb_u8(&b, 0x42);
    pb_u8(&b, 0x03);
    pb_zeros(&b, 35);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:llc:data");
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_llc_snap_with_ethertype_continues_to_ip(void **state)
{
    (void)state;
    pb_eth(&b, 0); /* length fixed below */
    uint32_t len_at = b.len - 2;
    static const uint8_t snap[8] = { 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00 };
    pb_bytes(&b, snap, 8);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    b.buf[len_at] = (uint8_t)((b.len - 14) >> 8);
    b.buf[len_at + 1] = (uint8_t)(b.len - 14);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:llc:ip:udp");
}

static void test_vlan_stack_of_three_then_ipv4(void **state)
{
    (void)state;
    pb_eth(&b, 0x88a8);
    pb_vlan(&b, 100, 0x8100);
    pb_vlan(&b, 200, 0x8100);
    pb_vlan(&b, 300, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt),
                        "eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:vlan:ethertype:ip:tcp");
    assert_int_equal(pkt.net.sport, 1);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_mpls_stack_guesses_ipv6_after_bottom(void **state)
{
    (void)state;
    pb_eth(&b, 0x8847);
    pb_mpls(&b, 16, 0);
    pb_mpls(&b, 17, 0);
    pb_mpls(&b, 18, 1);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 17);
    pb_udp(&b, 53, 5353);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:mpls:ipv6:udp");
    assert_int_equal(pkt.layers[1].hdr_len, 12);
    assert_int_equal(pkt.net.family, 6);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_mpls_pseudowire_stops_as_data(void **state)
{
    (void)state;
    pb_eth(&b, 0x8847);
    pb_mpls(&b, 16, 1);
    pb_be32(&b, 0); /* control word: first nibble 0 */
    pb_zeros(&b, 20);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:mpls:data");
}

static void test_pppoe_session_ppp_ipv4(void **state)
{
    (void)state;
    pb_eth(&b, 0x8864);
    pb_pppoe(&b, 0x0021);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:pppoes:ppp:ip:tcp");
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_linux_cooked_v1_and_v2(void **state)
{
    (void)state;
    pb_sll(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 113, &pkt), "sll:ethertype:ip:tcp");
    assert_int_equal(pb_decode_every_prefix(&b, 113), 0);
    pb_init(&b);
    pb_sll2(&b, 0x86dd);
    pb_ipv6(&b, "::1", "::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 276, &pkt), "sll:ethertype:ipv6:udp");
    assert_int_equal(pkt.layers[0].type, MS_LAYER_SLL2);
    assert_int_equal(pb_decode_every_prefix(&b, 276), 0);
}

static void test_bsd_null_accepts_both_byte_orders(void **state)
{
    (void)state;
    static const uint8_t le_inet[4] = { 2, 0, 0, 0 }, be_inet6[4] = { 0, 0, 0, 30 };
    pb_bytes(&b, le_inet, 4);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 0, &pkt), "null:ip:udp");
    pb_init(&b);
    pb_bytes(&b, be_inet6, 4);
    pb_ipv6(&b, "::1", "::2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 0, &pkt), "null:ipv6:tcp");
    assert_int_equal(pb_decode_every_prefix(&b, 0), 0);
}

static void test_loop_reads_family_in_network_order(void **state)
{
    (void)state;
    pb_be32(&b, 2);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 108, &pkt), "null:ip:udp");
    assert_int_equal(pkt.layers[0].type, MS_LAYER_LOOP);
}

static void test_raw_link_types(void **state)
{
    (void)state;
    pb_ipv6(&b, "::1", "::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 101, &pkt), "raw:ipv6:udp");
    assert_string_equal(pb_stack(ctx, &b, 12, &pkt), "raw:ipv6:udp");
    assert_string_equal(pb_stack(ctx, &b, 229, &pkt), "ipv6:udp");
    pb_init(&b);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 228, &pkt), "ip:udp");
    assert_int_equal(pb_decode_every_prefix(&b, 101), 0);
}

static void test_unknown_linktype_is_counted(void **state)
{
    (void)state;
    uint64_t before = ms_decode_ctx_stats(ctx)->unknown_linktype;
    pb_zeros(&b, 30);
    assert_string_equal(pb_stack(ctx, &b, 147, &pkt), "");
    assert_int_equal(ms_decode_ctx_stats(ctx)->unknown_linktype, before + 1);
}

static void test_arp_request(void **state)
{
    (void)state;
    pb_eth(&b, 0x0806);
    static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
    pb_bytes(&b, arp, 28);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:arp");
    assert_int_equal(pkt.layers[1].hdr_len, 28);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_dlt_ppp_with_and_without_address_control(void **state)
{
    (void)state;
    pb_u8(&b, 0xff);
    pb_u8(&b, 0x03);
    pb_be16(&b, 0x0057);
    pb_ipv6(&b, "::1", "::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 9, &pkt), "ppp:ipv6:udp");
    assert_int_equal(pkt.layers[0].hdr_len, 4);
    assert_int_equal(pb_decode_every_prefix(&b, 9), 0);
    pb_init(&b);
    pb_u8(&b, 0x21); /* compressed protocol field: IPv4 */
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 9, &pkt), "ppp:ip:udp");
    assert_int_equal(pkt.layers[0].hdr_len, 1);
}

static void test_sll_ipgre_protocol_is_a_gre_payload_type(void **state)
{
    (void)state;
    pb_sll(&b, 0x86dd);
    b.buf[2] = 778 >> 8; /* hatype ARPHRD_IPGRE */
    b.buf[3] = 778 & 0xff;
    pb_ipv6(&b, "::1", "::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 113, &pkt), "sll:ipv6:udp");
}

static void test_ethernet_loopback_test_frame_is_named_loop(void **state)
{
    (void)state;
    pb_eth(&b, 0x9000);
    pb_zeros(&b, 40);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:loop:data");
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_truncated_ethernet_header_is_malformed(void **state)
{
    (void)state;
    pb_zeros(&b, 10);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:_malformed");
    assert_int_equal(pkt.error, MS_DERR_TRUNCATED);
    assert_true(pkt.layers[0].flags & MS_LF_TRUNCATED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ethernet_ipv4_tcp_names_ethertype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ethernet_padding_is_not_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ethernet_unknown_ethertype_is_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_8023_length_frame_stops_at_llc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_llc_snap_with_ethertype_continues_to_ip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vlan_stack_of_three_then_ipv4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mpls_stack_guesses_ipv6_after_bottom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mpls_pseudowire_stops_as_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pppoe_session_ppp_ipv4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linux_cooked_v1_and_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bsd_null_accepts_both_byte_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_reads_family_in_network_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_link_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_linktype_is_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arp_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dlt_ppp_with_and_without_address_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sll_ipgre_protocol_is_a_gre_payload_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ethernet_loopback_test_frame_is_named_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_ethernet_header_is_malformed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
