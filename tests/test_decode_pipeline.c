/* test_decode_pipeline.c — the pipeline itself: lazy decoding stops at the asked layer and
 * resumes, lazy equals eager, stack names, the layer limit, counters, and no heap allocation per
 * packet (malloc is counted by interposition in non-sanitizer builds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "helpers/pktbuild.h"

#if defined(__SANITIZE_ADDRESS__)
#define MS_NO_MALLOC_COUNT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MS_NO_MALLOC_COUNT 1
#endif
#endif

#ifndef MS_NO_MALLOC_COUNT
/* Count every allocation of the process by interposing malloc & co. over glibc's. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static unsigned long allocations;
void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void *malloc(size_t n)
{
    allocations++;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
    allocations++;
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
    allocations++;
    return __libc_realloc(p, n);
}
#endif

static pb b;
static ms_packet pkt;
static ms_decode_ctx *ctx;

static int setup_lazy(void **state)
{
    (void)state;
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    o.eager = false;
    ctx = ms_decode_ctx_new(&o);
    pb_init(&b);
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ms_decode_ctx_free(ctx);
    return 0;
}

static void vlan_ip_tcp(void)
{
    pb_eth(&b, 0x8100);
    pb_vlan(&b, 5, 0x0800);
    pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&b, 1, 2, 3, 4, MS_TCP_ACK);
    pb_text(&b, "payload");
    pb_finish(&b);
}

static void test_lazy_decodes_nothing_until_asked(void **state)
{
    (void)state;
    vlan_ip_tcp();
    ms_frame f = pb_frame(&b, 1);
    ms_packet_start(&pkt, ctx, &f);
    assert_int_equal(pkt.nlayers, 0);
    const ms_layer *ip = ms_packet_layer(&pkt, MS_LAYER_IPV4);
    assert_non_null(ip);
    assert_int_equal(ip->type, MS_LAYER_IPV4);
    assert_int_equal(pkt.nlayers, 3); /* eth, vlan, ip: nothing past what was asked */
    assert_null(pkt.payload);
    const ms_layer *tcp = ms_packet_layer(&pkt, MS_LAYER_TCP);
    assert_non_null(tcp);
    assert_int_equal(pkt.nlayers, 5); /* TCP pushes its payload layer with it */
    assert_int_equal(pkt.layers[4].type, MS_LAYER_PAYLOAD);
    assert_int_equal(pkt.payload_len, 7);
    assert_null(ms_packet_layer(&pkt, MS_LAYER_IPV6)); /* decodes to the end, finds none */
    assert_int_equal(pkt.nlayers, 5);
    assert_int_equal(pkt.next_decoder, MS_DEC_NONE);
}

static void test_lazy_and_eager_give_the_same_layers(void **state)
{
    (void)state;
    vlan_ip_tcp();
    ms_frame f = pb_frame(&b, 1);
    static ms_packet eager;
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    ms_decode_ctx *ectx = ms_decode_ctx_new(&o);
    ms_packet_start(&eager, ectx, &f);
    ms_packet_start(&pkt, ctx, &f);
    ms_packet_layer(&pkt, MS_LAYER_VLAN);
    ms_packet_decode_all(&pkt);
    assert_int_equal(pkt.nlayers, eager.nlayers);
    for (unsigned i = 0; i < pkt.nlayers; i++) {
        assert_int_equal(pkt.layers[i].type, eager.layers[i].type);
        assert_int_equal(pkt.layers[i].len, eager.layers[i].len);
        assert_ptr_equal(pkt.layers[i].data, eager.layers[i].data);
    }
    assert_ptr_equal(pkt.payload, eager.payload);
    assert_memory_equal(&pkt.net, &eager.net, sizeof(pkt.net));
    ms_decode_ctx_free(ectx);
}

static void test_layer_names_follow_tshark(void **state)
{
    (void)state;
    assert_string_equal(ms_layer_name(MS_LAYER_IPV4), "ip");
    assert_string_equal(ms_layer_name(MS_LAYER_QINQ), "ieee8021ad");
    assert_string_equal(ms_layer_name(MS_LAYER_PPPOE), "pppoes");
    assert_string_equal(ms_layer_name(MS_LAYER_IPV6_FRAG), "ipv6.fraghdr");
    assert_string_equal(ms_layer_name(MS_LAYER_SLL2), "sll");
    assert_string_equal(ms_layer_name((ms_layer_type)999), "");
}

static void test_stack_is_cut_to_the_buffer(void **state)
{
    (void)state;
    vlan_ip_tcp();
    ms_frame f = pb_frame(&b, 1);
    ms_packet_start(&pkt, ctx, &f);
    ms_packet_decode_all(&pkt);
    char small[8];
    size_t n = ms_packet_stack(&pkt, small, sizeof(small));
    assert_int_equal(n, 7);
    assert_string_equal(small, "eth:eth");
}

static void test_endless_tunnels_stop_at_the_layer_limit(void **state)
{
    (void)state;
    pb_eth(&b, 0x0800);
    for (int i = 0; i < 40; i++)
        pb_ipv4(&b, "10.0.0.1", "10.0.0.2", 4);
    pb_finish(&b);
    ms_frame f = pb_frame(&b, 1);
    ms_packet_start(&pkt, ctx, &f);
    ms_packet_decode_all(&pkt);
    assert_int_equal(pkt.nlayers, MS_MAX_LAYERS);
    assert_int_equal(pkt.error, MS_DERR_TOO_DEEP);
    assert_int_equal(ms_decode_ctx_stats(ctx)->errors[MS_DERR_TOO_DEEP], 1);
}

static void test_counters_count_frames_bytes_layers(void **state)
{
    (void)state;
    vlan_ip_tcp();
    ms_frame f = pb_frame(&b, 1);
    for (int i = 0; i < 3; i++) {
        ms_packet_start(&pkt, ctx, &f);
        ms_packet_decode_all(&pkt);
    }
    const ms_decode_stats *s = ms_decode_ctx_stats(ctx);
    assert_int_equal(s->frames, 3);
    assert_int_equal(s->bytes, 3ull * b.len);
    assert_int_equal(s->layers[MS_LAYER_TCP], 3);
    assert_int_equal(s->layers[MS_LAYER_VLAN], 3);
    assert_int_equal(s->errors[MS_DERR_TRUNCATED], 0);
}

static void test_decoding_allocates_nothing_per_packet(void **state)
{
    (void)state;
#ifdef MS_NO_MALLOC_COUNT
    skip();
#else
    /* a mix: tunnels, IPv6 extension headers, ICMP quotes, truncations */
    static pb frames[4];
    for (int i = 0; i < 4; i++)
        pb_init(&frames[i]);
    pb_eth(&frames[0], 0x0800);
    pb_ipv4(&frames[0], "192.0.2.1", "192.0.2.2", 17);
    pb_udp(&frames[0], 1, 4789);
    pb_zeros(&frames[0], 8);
    pb_eth(&frames[0], 0x0800);
    pb_ipv4(&frames[0], "10.0.0.1", "10.0.0.2", 6);
    pb_tcp(&frames[0], 1, 2, 3, 4, MS_TCP_ACK);
    pb_finish(&frames[0]);
    pb_eth(&frames[1], 0x86dd);
    pb_ipv6(&frames[1], "::1", "::2", 0);
    pb_ipv6_ext(&frames[1], 58, 0);
    pb_icmp(&frames[1], 1, 0);
    pb_ipv6(&frames[1], "::2", "::3", 17);
    pb_udp(&frames[1], 5, 6);
    pb_finish(&frames[1]);
    pb_eth(&frames[2], 0x0800);
    pb_ipv4(&frames[2], "10.0.0.1", "10.0.0.2", 6);
    pb_finish(&frames[2]);
    frames[3] = frames[0];
    frames[3].len = 40;
    ms_decode_opts o;
    ms_decode_opts_default(&o);
    unsigned long at_start = allocations;
    ms_decode_ctx *ectx = ms_decode_ctx_new(&o);
    assert_true(allocations > at_start); /* the counter sees the context's own allocations */
    unsigned long before = allocations;
    for (int n = 0; n < 10000; n++) {
        ms_frame f = pb_frame(&frames[n % 4], 1);
        ms_packet_start(&pkt, ectx, &f);
        char stack[256];
        ms_packet_stack(&pkt, stack, sizeof(stack));
    }
    assert_int_equal(allocations - before, 0);
    ms_decode_ctx_free(ectx);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lazy_decodes_nothing_until_asked, setup_lazy, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_and_eager_give_the_same_layers, setup_lazy, teardown),
        cmocka_unit_test_setup_teardown(test_layer_names_follow_tshark, setup_lazy, teardown),
        cmocka_unit_test_setup_teardown(test_stack_is_cut_to_the_buffer, setup_lazy, teardown),
        cmocka_unit_test_setup_teardown(test_endless_tunnels_stop_at_the_layer_limit, setup_lazy, teardown),
        cmocka_unit_test_setup_teardown(test_counters_count_frames_bytes_layers, setup_lazy, teardown),
        cmocka_unit_test_setup_teardown(test_decoding_allocates_nothing_per_packet, setup_lazy, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
