/* test_defrag.c — IPv4/IPv6 fragment reassembly through the decode pipeline: in order, out of
 * order, overlaps (first arrival wins), duplicates, timeouts, every limit, IPv6, and fragments
 * that tshark would not reassemble either (bad checksum). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/defrag.h"
#include "helpers/pktbuild.h"

#define SEC 1000000000ull

static pb b;
static ms_packet pkt;
static ms_decode_ctx *ctx;
static uint8_t datagram[4000]; /* a UDP header + payload, cut into fragments by the tests */
static uint32_t datagram_len;

static void make_datagram(uint32_t payload)
{
    datagram_len = 8 + payload;
    datagram[0] = 0x13;
    datagram[1] = 0x88; /* 5000 */
    datagram[2] = 0x00;
    datagram[3] = 0x35; /* 53 */
    datagram[4] = (uint8_t)(datagram_len >> 8);
    datagram[5] = (uint8_t)datagram_len;
    datagram[6] = datagram[7] = 0;
    for (uint32_t i = 0; i < payload; i++)
        datagram[8 + i] = (uint8_t)('a' + i % 26);
}

static int setup_with(ms_decode_opts *o)
{
    ctx = ms_decode_ctx_new(o);
    make_datagram(100);
    return ctx ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    return setup_with(&o);
}

static int teardown(void **state)
{
    (void)state;
    ms_decode_ctx_free(ctx);
    return 0;
}

/* Decodes an IPv4 fragment carrying datagram[off, off+n) (or the given bytes). */
static const char *v4_frag(uint16_t id, uint32_t off, const uint8_t *bytes, uint32_t n, int more, uint64_t ts)
{
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4_frag(&b, "10.0.0.1", "10.0.0.2", 17, id, off, more);
    pb_bytes(&b, bytes ? bytes : datagram + off, n);
    pb_finish(&b);
    ms_frame f = pb_frame(&b, 1);
    f.ts_ns = ts;
    static char stack[256];
    ms_packet_start(&pkt, ctx, &f);
    ms_packet_stack(&pkt, stack, sizeof(stack));
    return stack;
}

static void assert_whole_datagram(void)
{
    assert_int_equal(pkt.payload_len, datagram_len - 8);
    assert_memory_equal(pkt.payload, datagram + 8, datagram_len - 8);
    assert_int_equal(pkt.net.sport, 5000);
    assert_true(pkt.layers[1].flags & MS_LF_REASSEMBLED);
}

static void test_in_order_fragments_reassemble_on_the_last(void **state)
{
    (void)state;
    assert_string_equal(v4_frag(7, 0, NULL, 40, 1, 0), "eth:ethertype:ip:data");
    assert_true(pkt.layers[1].flags & MS_LF_FRAGMENT);
    assert_string_equal(v4_frag(7, 40, NULL, 40, 1, 0), "eth:ethertype:ip:data");
    assert_string_equal(v4_frag(7, 80, NULL, 28, 0, 0), "eth:ethertype:ip:udp");
    assert_whole_datagram();
    const ms_decode_stats *s = ms_decode_ctx_stats(ctx);
    assert_int_equal(s->frag_fragments, 3);
    assert_int_equal(s->frag_reassembled, 1);
    assert_int_equal(s->frag_dropped, 0);
    assert_int_equal(ms_defrag_held_datagrams(ms_decode_ctx_defrag_handle(ctx)), 0);
    assert_int_equal(ms_defrag_held_bytes(ms_decode_ctx_defrag_handle(ctx)), 0);
}

static void test_out_of_order_completes_when_the_hole_fills(void **state)
{
    (void)state;
    assert_string_equal(v4_frag(7, 80, NULL, 28, 0, 0), "eth:ethertype:ip:data");
    assert_string_equal(v4_frag(7, 0, NULL, 40, 1, 0), "eth:ethertype:ip:data");
    assert_string_equal(v4_frag(7, 40, NULL, 40, 1, 0), "eth:ethertype:ip:udp");
    assert_whole_datagram();
}

static void test_overlap_keeps_the_bytes_that_arrived_first(void **state)
{
    (void)state;
    uint8_t evil[48];
    memset(evil, 'X', sizeof(evil));
    v4_frag(9, 0, NULL, 48, 1, 0);        /* genuine bytes 0..47 */
    v4_frag(9, 40, evil, 48, 1, 0);       /* overlapping 40..87: only 48..87 are new */
    assert_string_equal(v4_frag(9, 88, NULL, 20, 0, 0), "eth:ethertype:ip:udp");
    assert_int_equal(pkt.payload_len, 100);
    assert_memory_equal(pkt.payload, datagram + 8, 40);   /* 0..47 of the datagram untouched */
    assert_memory_equal(pkt.payload + 40, evil, 40);      /* 48..87 came from the second */
    assert_memory_equal(pkt.payload + 80, datagram + 88, 20);
}

static void test_duplicate_fragment_changes_nothing(void **state)
{
    (void)state;
    v4_frag(3, 0, NULL, 40, 1, 0);
    v4_frag(3, 0, NULL, 40, 1, 0);
    v4_frag(3, 40, NULL, 40, 1, 0);
    assert_string_equal(v4_frag(3, 80, NULL, 28, 0, 0), "eth:ethertype:ip:udp");
    assert_whole_datagram();
    assert_int_equal(ms_decode_ctx_stats(ctx)->frag_reassembled, 1);
}

static void test_partial_datagram_expires_after_the_timeout(void **state)
{
    (void)state;
    v4_frag(4, 0, NULL, 40, 1, 1 * SEC);
    v4_frag(4, 40, NULL, 40, 1, 2 * SEC);
    assert_string_equal(v4_frag(4, 80, NULL, 28, 0, 40 * SEC), "eth:ethertype:ip:data");
    const ms_decode_stats *s = ms_decode_ctx_stats(ctx);
    assert_int_equal(s->frag_expired, 1);
    assert_int_equal(s->frag_reassembled, 0);
    assert_int_equal(ms_defrag_held_datagrams(ms_decode_ctx_defrag_handle(ctx)), 1); /* the new one */
}

static void test_datagram_limit_evicts_the_oldest(void **state)
{
    (void)state;
    ms_decode_ctx_free(ctx);
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    o.frag_max_datagrams = 2;
    setup_with(&o);
    v4_frag(1, 0, NULL, 40, 1, 0);
    v4_frag(2, 0, NULL, 40, 1, 0);
    v4_frag(3, 0, NULL, 40, 1, 0); /* evicts id 1 */
    assert_int_equal(ms_decode_ctx_stats(ctx)->frag_dropped, 1);
    v4_frag(1, 40, NULL, 40, 1, 0);
    assert_string_equal(v4_frag(1, 80, NULL, 28, 0, 0), "eth:ethertype:ip:data"); /* id 1 lost its head */
    v4_frag(3, 40, NULL, 40, 1, 0);
    assert_int_equal(ms_defrag_held_datagrams(ms_decode_ctx_defrag_handle(ctx)), 2);
}

static void test_fragments_per_datagram_limit_drops_the_excess(void **state)
{
    (void)state;
    ms_decode_ctx_free(ctx);
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    o.frag_max_per_datagram = 2;
    setup_with(&o);
    v4_frag(5, 0, NULL, 40, 1, 0);
    v4_frag(5, 40, NULL, 40, 1, 0);
    assert_string_equal(v4_frag(5, 80, NULL, 28, 0, 0), "eth:ethertype:ip:data");
    assert_int_equal(ms_decode_ctx_stats(ctx)->frag_dropped, 1);
    assert_int_equal(ms_decode_ctx_stats(ctx)->frag_reassembled, 0);
}

static void test_bytes_limit_bounds_what_is_held(void **state)
{
    (void)state;
    ms_decode_ctx_free(ctx);
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    o.frag_max_bytes = 100;
    setup_with(&o);
    v4_frag(1, 0, NULL, 48, 1, 0);
    v4_frag(2, 0, NULL, 48, 1, 0);
    v4_frag(3, 0, NULL, 48, 1, 0); /* would hold 144 bytes: the oldest goes */
    assert_true(ms_defrag_held_bytes(ms_decode_ctx_defrag_handle(ctx)) <= 100);
    assert_int_equal(ms_decode_ctx_stats(ctx)->frag_dropped, 1);
}

static void test_bad_checksum_first_fragment_is_decoded_unreassembled(void **state)
{
    (void)state;
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4_frag(&b, "10.0.0.1", "10.0.0.2", 17, 8, 0, 1);
    pb_bytes(&b, datagram, 40);
    pb_finish(&b);
    b.buf[14 + 10] ^= 0x55;
    ms_frame f = pb_frame(&b, 1);
    ms_packet_start(&pkt, ctx, &f);
    char stack[128];
    ms_packet_stack(&pkt, stack, sizeof(stack));
    assert_string_equal(stack, "eth:ethertype:ip:udp"); /* as tshark: not held, decoded as it stands */
    assert_int_equal(ms_decode_ctx_stats(ctx)->frag_fragments, 0);
}

static void test_ipv6_fragments_reassemble_after_the_fragment_header(void **state)
{
    (void)state;
    static const uint32_t cut[3][2] = { { 0, 48 }, { 48, 48 }, { 96, 12 } };
    for (int i = 0; i < 3; i++) {
        pb_init(&b);
        pb_eth(&b, 0x86dd);
        pb_ipv6(&b, "2001:db8::1", "2001:db8::2", 44);
        pb_ipv6_frag(&b, 17, 0xabcdef, cut[i][0], i < 2);
        pb_bytes(&b, datagram + cut[i][0], cut[i][1]);
        pb_finish(&b);
        ms_frame f = pb_frame(&b, 1);
        ms_packet_start(&pkt, ctx, &f);
        char stack[128];
        ms_packet_stack(&pkt, stack, sizeof(stack));
        assert_string_equal(stack, i < 2 ? "eth:ethertype:ipv6:ipv6.fraghdr:data"
                                         : "eth:ethertype:ipv6:ipv6.fraghdr:udp");
    }
    assert_int_equal(pkt.payload_len, 100);
    assert_memory_equal(pkt.payload, datagram + 8, 100);
    assert_true(pkt.layers[2].flags & MS_LF_REASSEMBLED);
    assert_int_equal(pkt.net.proto, 17);
}

static void test_without_defrag_the_first_fragment_is_decoded(void **state)
{
    (void)state;
    ms_decode_ctx_free(ctx);
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    o.defrag = false;
    setup_with(&o);
    assert_string_equal(v4_frag(7, 0, NULL, 40, 1, 0), "eth:ethertype:ip:udp");
    assert_string_equal(v4_frag(7, 40, NULL, 40, 1, 0), "eth:ethertype:ip:data");
    assert_string_equal(v4_frag(7, 80, NULL, 28, 0, 0), "eth:ethertype:ip:data");
}

static void test_oversized_datagram_is_reassembled_like_tshark(void **state)
{
    (void)state;
    /* 65,612 bytes in all: more than an IP datagram may hold ("ping of death") */
    static uint8_t big[65512];
    memcpy(big, datagram, 8);
    big[4] = big[5] = 0; /* a UDP length cannot say it either */
    memset(big + 8, 'z', sizeof(big) - 8);
    v4_frag(11, 0, big, sizeof(big), 1, 0);
    assert_string_equal(v4_frag(11, 65512, datagram + 8, 100, 0, 0), "eth:ethertype:ip:udp");
    assert_int_equal(pkt.payload_len, 65612 - 8);
    assert_memory_equal(pkt.payload + 65504, datagram + 8, 100);
    assert_int_equal(ms_decode_ctx_stats(ctx)->frag_reassembled, 1);
}

static void test_end_of_input_drops_partial_datagrams(void **state)
{
    (void)state;
    v4_frag(7, 0, NULL, 40, 1, 0);
    v4_frag(7, 40, NULL, 40, 1, 0);
    ms_decode_ctx_end_input(ctx); /* the next capture must not complete this datagram */
    assert_int_equal(ms_decode_ctx_stats(ctx)->frag_expired, 1);
    assert_int_equal(ms_defrag_held_bytes(ms_decode_ctx_defrag_handle(ctx)), 0);
    assert_string_equal(v4_frag(7, 80, NULL, 28, 0, 0), "eth:ethertype:ip:data");
}

static void test_every_truncation_of_a_completing_fragment_is_safe(void **state)
{
    (void)state;
    v4_frag(7, 0, NULL, 40, 1, 0);
    v4_frag(7, 40, NULL, 40, 1, 0);
    pb_init(&b);
    pb_eth(&b, 0x0800);
    pb_ipv4_frag(&b, "10.0.0.1", "10.0.0.2", 17, 7, 80, 0);
    pb_bytes(&b, datagram + 80, 28);
    pb_finish(&b);
    assert_int_equal(pb_decode_every_prefix(&b, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order_fragments_reassemble_on_the_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_completes_when_the_hole_fills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlap_keeps_the_bytes_that_arrived_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_fragment_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_datagram_expires_after_the_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_datagram_limit_evicts_the_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragments_per_datagram_limit_drops_the_excess, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bytes_limit_bounds_what_is_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_checksum_first_fragment_is_decoded_unreassembled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_fragments_reassemble_after_the_fragment_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_defrag_the_first_fragment_is_decoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_datagram_is_reassembled_like_tshark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_of_input_drops_partial_datagrams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_truncation_of_a_completing_fragment_is_safe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
