/* test_decode_ip.c — IPv4 (options, checksum flag, length clamp, TSO zero length, bad version),
 * IPv6 and its extension headers, AH, ICMP/ICMPv6 errors quoting headers, IP-in-IP; each also
 * decoded at every truncated length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "decode/decode.h"
#include "helpers/decode_fixture.h"
#include "helpers/pktbuild.h"

static void test_ipv4_fills_innermost_addresses(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.1", "198.51.100.7", 17);
    pb_udp(&b, 5000, 53);
    pb_text(&b, "query");
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:udp");
    static const uint8_t src[4] = { 192, 0, 2, 1 }, dst[4] = { 198, 51, 100, 7 };
    assert_int_equal(pkt.net.family, 4);
    assert_int_equal(pkt.net.proto, 17);
    assert_memory_equal(pkt.net.src, src, 4);
    assert_memory_equal(pkt.net.dst, dst, 4);
    assert_int_equal(pkt.net.sport, 5000);
    assert_int_equal(pkt.net.dport, 53);
    assert_int_equal(pkt.payload_len, 5);
    assert_false(pkt.layers[1].flags & MS_LF_BAD_CHECKSUM);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_ipv4_options_are_skipped_by_header_length(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    uint32_t ip = b.len;
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    static const uint8_t opts[8] = { 0x94, 0x04, 0, 0, 1, 1, 1, 0 }; /* router alert, NOPs, EOL */
    pb_bytes(&b, opts, 8);
    b.buf[ip] = 0x47;
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:tcp");
    assert_int_equal(pkt.layers[1].hdr_len, 28);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_ipv4_bad_checksum_is_a_flag_not_a_drop(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&b);
    b.buf[14 + 10] ^= 0xff;
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:tcp");
    assert_true(pkt.layers[1].flags & MS_LF_BAD_CHECKSUM);
}

static void test_ipv4_total_length_beyond_capture_is_flagged_truncated(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_text(&b, "0123456789");
    pb_finish(&b);
    b.len -= 4; /* snap length cut the payload */
    pb_stack(ctx, &b, 1, &pkt);
    assert_true(pkt.layers[1].flags & MS_LF_TRUNCATED);
    assert_int_equal(pkt.payload_len, 6);
}

static void test_ipv4_zero_total_length_uses_captured_bytes(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_text(&b, "abcd");
    pb_finish(&b);
    b.buf[16] = b.buf[17] = 0; /* segmentation offload */
    pb_stack(ctx, &b, 1, &pkt);
    assert_int_equal(pkt.payload_len, 4);
}

static void test_ipv4_header_length_below_20_is_malformed(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&b);
    b.buf[14] = 0x44;
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:_malformed");
    assert_int_equal(pkt.error, MS_DERR_MALFORMED);
}

static void test_ipv6_extension_headers_each_a_layer(void **state)
{
    (void)state;
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 0);
    pb_ipv6_ext(&b, 43, 0);  /* hop-by-hop → routing */
    pb_ipv6_ext(&b, 60, 1);  /* routing → destination options */
    pb_ipv6_ext(&b, 44, 0);  /* destination options → fragment */
    pb_ipv6_frag(&b, 6, 7, 0, 0); /* atomic fragment */
    pb_tcp(&b, 443, 50000, 1, 2, MS_TCP_ACK);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt),
                        "eth:ethertype:ipv6:ipv6.hopopts:ipv6.routing:ipv6.dstopts:ipv6.fraghdr:tcp");
    assert_int_equal(pkt.net.proto, 6);
    assert_int_equal(pkt.net.sport, 443);
    assert_int_equal(pkt.layers[3].hdr_len, 16);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_ipv6_hop_by_hop_after_another_header_stops(void **state)
{
    (void)state;
    pb_ipv6(&b, "::1", "::2", 60);
    pb_ipv6_ext(&b, 0, 0);
    pb_ipv6_ext(&b, 17, 0);
    pb_zeros(&b, 8);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 229, &pkt), "ipv6:ipv6.dstopts:data");
}

static void test_ipv6_ah_then_icmpv6(void **state)
{
    (void)state;
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "fe80::1", "ff02::5", 51);
    pb_u8(&b, 58);  /* next header */
    pb_u8(&b, 4);   /* (4 + 2) * 4 = 24 bytes */
    pb_zeros(&b, 22);
    pb_icmp(&b, 128, 0);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ipv6:ah:icmpv6");
    assert_int_equal(pkt.layers[2].hdr_len, 24);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_ipv6_bad_version_is_data(void **state)
{
    (void)state;
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "::1", "::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    b.buf[14] = 0x30;
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:data");
}

static void test_icmp_error_quote_is_decoded_but_keeps_outer_addresses(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "192.0.2.254", "10.0.0.1", 1);
    pb_icmp(&b, 3, 3); /* port unreachable */
    pb_ipv4(&b, "10.0.0.1", "192.0.2.9", 17);
    pb_udp(&b, 40000, 53);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:icmp:ip:udp");
    static const uint8_t outer_src[4] = { 192, 0, 2, 254 };
    assert_memory_equal(pkt.net.src, outer_src, 4);
    assert_int_equal(pkt.net.proto, 1);
    assert_int_equal(pkt.net.sport, 0);
    assert_null(pkt.payload);
    assert_int_equal(pkt.error, MS_DERR_NONE);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_icmp_echo_is_not_a_quote(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 1);
    pb_icmp(&b, 8, 0);
    pb_text(&b, "ping data");
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:icmp:data");
}

static void test_icmpv6_error_quotes_ipv6(void **state)
{
    (void)state;
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::ff", "2001:db8::1", 58);
    pb_icmp(&b, 1, 4);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_SYN);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ipv6:icmpv6:ipv6:tcp");
    assert_int_equal(pkt.net.proto, 58);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_ipv4_header_saying_version_6_continues_as_ipv6(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv6(&b, "::1", "::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:ipv6:udp");
    assert_true(pkt.layers[1].flags & MS_LF_MALFORMED);
    assert_int_equal(pkt.net.family, 6);
}

static void test_icmpv6_redirect_quotes_the_redirected_header(void **state)
{
    (void)state;
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "fe80::1", "fe80::2", 58);
    pb_icmp(&b, 137, 0);
    pb_zeros(&b, 32);         /* target and destination addresses */
    pb_u8(&b, 1);             /* source link-layer address option */
    pb_u8(&b, 1);
    pb_zeros(&b, 6);
    pb_u8(&b, 4);             /* redirected header: 8 + 40 + 8 bytes */
    pb_u8(&b, 7);
    pb_zeros(&b, 6);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 17);
    pb_udp(&b, 1, 2);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ipv6:icmpv6:ipv6:udp");
    assert_int_equal(pkt.net.proto, 58);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

static void test_ip_in_ip_innermost_wins(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "203.0.113.1", "203.0.113.2", 41);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 4);
    pb_ipv4(&b, "10.1.1.1", "10.2.2.2", 6);
    pb_tcp(&b, 1111, 80, 1, 0, MS_TCP_SYN);
    pb_finish(&b);
    assert_string_equal(pb_stack(ctx, &b, 1, &pkt), "eth:ethertype:ip:ipv6:ip:tcp");
    static const uint8_t inner[4] = { 10, 1, 1, 1 };
    assert_int_equal(pkt.net.family, 4);
    assert_memory_equal(pkt.net.src, inner, 4);
    assert_int_equal(pkt.net.sport, 1111);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ipv4_fills_innermost_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_options_are_skipped_by_header_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_bad_checksum_is_a_flag_not_a_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_total_length_beyond_capture_is_flagged_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_zero_total_length_uses_captured_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_header_length_below_20_is_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_extension_headers_each_a_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_hop_by_hop_after_another_header_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_ah_then_icmpv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_bad_version_is_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_error_quote_is_decoded_but_keeps_outer_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_echo_is_not_a_quote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmpv6_error_quotes_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_header_saying_version_6_continues_as_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmpv6_redirect_quotes_the_redirected_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ip_in_ip_innermost_wins, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
