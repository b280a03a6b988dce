/* test_dispatch_quick.c — the quick TCP reading of plain frames (dispatch/quick.c) gives the
 * decoder's segment (key, direction, seq/ack/flags, payload) on every frame it takes, at every
 * captured length, and leaves tunnels, fragments, extension headers and odd headers to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "decode/decode.h"
#include "dispatch/quick.h"
#include "flow/flow.h"
#include "helpers/pktbuild.h"

/* Checks frame f against the decoder: when quick takes it, the decoded packet is TCP with the
 * same key, direction, header fields and payload. Returns whether quick took it. */
static bool quick_agrees(const ms_frame *f)
{
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    o.eager = false;
    ms_decode_ctx *ctx = ms_decode_ctx_new(&o);
    assert_non_null(ctx);
    ms_packet pkt;
    ms_packet_start(&pkt, ctx, f);
    bool tcp = ms_packet_layer(&pkt, MS_LAYER_TCP) && pkt.net.proto == 6;
    ms_quick_tcp q;
    bool took = ms_quick_tcp_of(f, &q);
    if (took) {
        assert_true(tcp);
        ms_flow_key key;
        int dir;
        assert_int_equal(ms_flow_key_of(&pkt, &key, &dir), 0);
        assert_memory_equal(&key, &q.key, sizeof key);
        assert_int_equal(dir, q.key_dir);
        assert_int_equal(q.seg.seq, pkt.tcp.seq);
        assert_int_equal(q.seg.ack, pkt.tcp.ack);
        assert_int_equal(q.seg.flags, pkt.tcp.flags);
        assert_int_equal(q.seg.len, pkt.payload_len);
        assert_ptr_equal(q.seg.payload, pkt.payload);
    }
    ms_decode_ctx_free(ctx);
    return took;
}

/* Every prefix of the frame (a capture cut at each length) agrees too. */
static int takes_at_every_length(const pb *b)
{
    int took = 0;
    for (uint32_t n = 0; n <= b->len; n++) {
        ms_frame f = pb_frame(b, 1);
        f.caplen = n;
        took += quick_agrees(&f);
    }
    return took;
}

static void test_plain_ipv4_tcp_with_padding_and_options_is_the_decoders_segment(void **state)
{
    (void)state;
    static const uint8_t opts[] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
    pb b;
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.9", "10.0.0.2", 6);
    pb_tcp_opts(&b, 80, 40000, 7, 9, MS_TCP_ACK | MS_TCP_PSH, opts, sizeof opts);
    pb_text(&b, "HTTP/1.1 200 OK\r\n");
    pb_finish(&b);
    pb_pad(&b, 6); /* Ethernet padding: not payload */
    ms_frame f = pb_frame(&b, 1);
    assert_true(quick_agrees(&f));
    assert_true(takes_at_every_length(&b) > 0);
}

static void test_vlan_and_ipv6_are_taken_with_the_same_key(void **state)
{
    (void)state;
    pb b;
    pb_init(&b);
    pb_eth(&b, 0x8100);
    pb_vlan(&b, 7, 0x86dd);
    pb_ipv6(&b, "2001:db8::2", "2001:db8::1", 6);
    pb_tcp(&b, 443, 50000, 1, 2, MS_TCP_ACK);
    pb_text(&b, "x");
    pb_finish(&b);
    ms_frame f = pb_frame(&b, 1);
    assert_true(quick_agrees(&f));
    takes_at_every_length(&b);
}

static void test_fragments_extension_headers_and_udp_go_to_the_decoder(void **state)
{
    (void)state;
    pb b;
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4_frag(&b, "10.0.0.1", "10.0.0.2", 6, 5, 0, 1);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&b);
    ms_frame f = pb_frame(&b, 1);
    assert_false(quick_agrees(&f));

    pb_init(&b);
    pb_eth(&b, 0x86dd);
    pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 60);
    pb_ipv6_ext(&b, 6, 0);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&b);
    f = pb_frame(&b, 1);
    assert_false(quick_agrees(&f));

    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 17);
    pb_udp(&b, 53, 53);
    pb_finish(&b);
    f = pb_frame(&b, 1);
    assert_false(quick_agrees(&f));
    assert_int_equal(takes_at_every_length(&b), 0);
}

static void test_ipv4_total_length_zero_takes_what_was_captured(void **state)
{
    (void)state;
    pb b;
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1000, 80, 3, 4, MS_TCP_ACK);
    pb_text(&b, "GET / HTTP/1.1\r\n");
    pb_finish(&b);
    b.buf[14 + 2] = 0; /* segmentation offload: total length left to the NIC */
    b.buf[14 + 3] = 0;
    ms_frame f = pb_frame(&b, 1);
    assert_true(quick_agrees(&f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_ipv4_tcp_with_padding_and_options_is_the_decoders_segment),
        cmocka_unit_test(test_vlan_and_ipv6_are_taken_with_the_same_key),
        cmocka_unit_test(test_fragments_extension_headers_and_udp_go_to_the_decoder),
        cmocka_unit_test(test_ipv4_total_length_zero_takes_what_was_captured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
