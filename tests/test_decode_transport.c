/* test_decode_transport.c — TCP (header fields and options into pkt->tcp, payload), UDP (length
 * clamp, port table), and tunnels: GRE (keys, sequence, PPTP with PPP, Ethernet bridging, ERSPAN
 * stop), VXLAN; each also decoded at every truncated length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "decode/decode.h"
#include "helpers/decode_fixture.h"
#include "helpers/pktbuild.h"

static void test_tcp_syn_options_fill_packet_tcp(void **state)
{
    (void)state;
    static const uint8_t opts[] = {
        2, 4, 0x05, 0xb4,                     /* MSS 1460 */
        4, 2,                                 /* SACK permitted */
        8, 10, 0, 0, 0, 100, 0, 0, 0, 0,      /* timestamps 100, 0 */
        1,                                    /* NOP */
        3, 3, 7,                              /* window scale 7 */
    };
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp_opts(&b, 40000, 80, 1000, 0, MS_TCP_SYN, opts, sizeof(opts));
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:tcp");
    assert_int_equal(pkt.tcp.seq, 1000);
    assert_int_equal(pkt.tcp.flags, MS_TCP_SYN);
    assert_int_equal(pkt.tcp.mss, 1460);
    assert_int_equal(pkt.tcp.wscale, 7);
    assert_int_equal(pkt.tcp.sack_ok, 1);
    assert_int_equal(pkt.tcp.has_ts, 1);
    assert_int_equal(pkt.tcp.ts_val, 100);
    assert_int_equal(pkt.layers[2].hdr_len, 40);
    assert_int_equal(pkt.payload_len, 0);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_tcp_without_options_has_no_window_scale(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK | MS_TCP_PSH);
    pb_text(&b, "GET / HTTP/1.0\r\n\r\n");
    pb_finish(&b);
    pb_stack(ctx, &b, 1, &pkt);
    assert_int_equal(pkt.tcp.wscale, 0xff);
    assert_int_equal(pkt.tcp.mss, 0);
    assert_int_equal(pkt.tcp.ack, 4);
    assert_int_equal(pkt.payload_len, 18);
    assert_memory_equal(pkt.payload, "GET /", 5);
    assert_int_equal(pkt.layers[pkt.nlayers - 1].type, MS_LAYER_PAYLOAD);
}

static void test_tcp_option_with_bad_length_keeps_earlier_options(void **state)
{
    (void)state;
    static const uint8_t opts[] = { 2, 4, 0x02, 0x18, 8, 1, 0, 0 };
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp_opts(&b, 1, 2, 3, 4, MS_TCP_SYN, opts, sizeof(opts));
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:tcp");
    assert_int_equal(pkt.tcp.mss, 536);
    assert_int_equal(pkt.tcp.has_ts, 0);
}

static void test_tcp_data_offset_below_five_is_malformed(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&b);
    b.buf[14 + 20 + 12] = 0x30;
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:tcp:_malformed");
    assert_int_equal(pkt.error, MS_DERR_MALFORMED);
}

static void test_udp_payload_clamped_to_udp_length(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 1000, 2000);
    pb_text(&b, "abcdef");
    pb_finish(&b);
    b.buf[14 + 20 + 5] = 8 + 3; /* UDP says 3 bytes of payload */
    pb_stack(ctx, &b, 1, &pkt);
    assert_int_equal(pkt.payload_len, 3);
    assert_int_equal(pkt.net.sport, 1000);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_vxlan_carries_inner_ethernet_and_inner_flow(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 17);
    pb_udp(&b, 54321, 4789);
    pb_be32(&b, 0x08000000);
    pb_be32(&b, 0x00001200);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1234, 80, 1, 0, MS_TCP_SYN);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp");
    static const uint8_t inner[4] = { 10, 0, 0, 1 };
    assert_memory_equal(pkt.net.src, inner, 4);
    assert_int_equal(pkt.net.proto, 6);
    assert_int_equal(pkt.net.dport, 80);
    assert_int_equal(pkt.payload_len, 0);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_gre_with_key_and_sequence_to_ipv4(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 47);
    pb_gre(&b, 0x3000, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:ip:udp");
    assert_int_equal(pkt.layers[2].hdr_len, 12);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_pptp_gre_carries_ppp(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 47);
    pb_gre(&b, 0x3081, 0x880b); /* version 1, key, sequence, ack */
    pb_u8(&b, 0xff);
    pb_u8(&b, 0x03);
    pb_be16(&b, 0x0021);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 1);
    pb_icmp(&b, 8, 0);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:ppp:ip:icmp");
    assert_int_equal(pkt.layers[2].hdr_len, 16);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_gre_transparent_ethernet_bridging(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 47);
    pb_gre(&b, 0, 0x6558);
    pb_eth(&b, 0x0806);
    static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 2 };
    pb_bytes(&b, arp, 28);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:eth:ethertype:arp");
}

static void test_gre_erspan_stops_as_data(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 47);
    pb_gre(&b, 0x1000, 0x88be);
    pb_zeros(&b, 30);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:data");
}

static void test_wccp_redirect_header_is_skipped(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 47);
    pb_gre(&b, 0, 0x883e);
    pb_be32(&b, 0x00000000); /* WCCP v2 redirect header */
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 80, 1, 0, MS_TCP_SYN);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:gre:ip:tcp");
    assert_int_equal(pkt.net.dport, 80);
}

static void test_gre_and_mpls_over_udp_ports(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "192.0.2.2", 17);
    pb_udp(&b, 40000, 6635);
    pb_mpls(&b, 100, 1);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 1);
    pb_icmp(&b, 8, 0);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp:mpls:ip:icmp");
    assert_int_equal(pkt.net.proto, 1);
    assert_int_equal(pkt.net.sport, 0); /* ports belong to the innermost transport only */
    assert_null(pkt.payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tcp_syn_options_fill_packet_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_without_options_has_no_window_scale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_option_with_bad_length_keeps_earlier_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_data_offset_below_five_is_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_payload_clamped_to_udp_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vxlan_carries_inner_ethernet_and_inner_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gre_with_key_and_sequence_to_ipv4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pptp_gre_carries_ppp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gre_transparent_ethernet_bridging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gre_erspan_stops_as_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wccp_redirect_header_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gre_and_mpls_over_udp_ports, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
