/* test_flow.c — flow keys are symmetric and say the direction; uids are stable and distinct. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"

static ms_packet packet(int family, const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport)
{
    ms_packet p;
    memset(&p, 0, sizeof p);
    size_t alen = family == 4 ? 4 : 16;
    p.net.family = (uint8_t)family;
    p.net.proto = 6;
    memcpy(p.net.src, src, alen);
    memcpy(p.net.dst, dst, alen);
    p.net.sport = sport;
    p.net.dport = dport;
    return p;
}

static void test_both_directions_map_to_one_key_with_opposite_dirs(void **state)
{
    (void)state;
    const uint8_t a[4] = { 10, 0, 0, 9 }, b[4] = { 10, 0, 0, 1 };
    ms_packet fwd = packet(4, a, b, 40000, 80), rev = packet(4, b, a, 80, 40000);
    ms_flow_key k1, k2;
    int d1, d2;
    assert_int_equal(ms_flow_key_of(&fwd, &k1, &d1), 0);
    assert_int_equal(ms_flow_key_of(&rev, &k2, &d2), 0);
    assert_memory_equal(&k1, &k2, sizeof k1);
    assert_int_not_equal(d1, d2);
    assert_int_equal(d2, MS_DIR_A_TO_B); /* 10.0.0.1 sorts first */
    assert_true(ms_flow_hash(&k1) == ms_flow_hash(&k2));
    ms_endpoint e = ms_flow_endpoint(&k1, 0);
    assert_int_equal(e.port, 80);
}

static void test_same_address_orders_by_port(void **state)
{
    (void)state;
    const uint8_t lo[4] = { 127, 0, 0, 1 };
    ms_packet p = packet(4, lo, lo, 5000, 80);
    ms_flow_key k;
    int dir;
    assert_int_equal(ms_flow_key_of(&p, &k, &dir), 0);
    assert_int_equal(k.a_port, 80);
    assert_int_equal(dir, MS_DIR_B_TO_A);
}

static void test_packet_without_transport_has_no_key(void **state)
{
    (void)state;
    ms_packet p;
    memset(&p, 0, sizeof p);
    ms_flow_key k;
    int dir;
    assert_int_equal(ms_flow_key_of(&p, &k, &dir), MS_EINVAL);
    p.net.family = 4;
    p.net.proto = 1; /* ICMP */
    assert_int_equal(ms_flow_key_of(&p, &k, &dir), MS_EINVAL);
}

static void test_addresses_format_like_inet_ntop(void **state)
{
    (void)state;
    uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
    v6[15] = 1;
    char buf[64];
    assert_string_equal(ms_addr_format(v6, 6, buf, sizeof buf), "2001:db8::1");
    const uint8_t v4[4] = { 192, 168, 1, 20 };
    assert_string_equal(ms_addr_format(v4, 4, buf, sizeof buf), "192.168.1.20");
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void test_uids_are_deterministic_and_distinct(void **state)
{
    (void)state;
    char a[24], b[24], c[24];
    ms_uid_format(7, 1, a, sizeof a);
    ms_uid_format(7, 1, b, sizeof b);
    ms_uid_format(7, 2, c, sizeof c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(a[0], 'C');
    assert_true(strlen(a) >= 12);
}

/* A connection is named by its key and the run-wide index of the frame that opened it: 4096 keys
 * times 64 frame indexes give as many distinct uids (no table or thread enters into it). */
static void test_uid_ids_differ_by_key_and_by_opening_frame(void **state)
{
    (void)state;
    enum { NKEYS = 4096, NFRAMES = 64 };
    static uint64_t ids[NKEYS * NFRAMES];
    size_t n = 0;
    for (int k = 0; k < NKEYS; k++) {
        ms_flow_key key;
        memset(&key, 0, sizeof key);
        key.family = 4;
        key.proto = 6;
        key.a_addr[3] = (uint8_t)(k & 0xff);
        key.b_addr[3] = 1;
        key.a_port = (uint16_t)(1024 + (k >> 8));
        key.b_port = 80;
        for (uint64_t f = 0; f < NFRAMES; f++)
            ids[n++] = ms_uid_id(&key, f * 1000003u);
    }
    qsort(ids, n, sizeof ids[0], cmp_u64);
    for (size_t i = 1; i < n; i++)
        assert_true(ids[i] != ids[i - 1]);
    char a[24], b[24];
    ms_uid_format(1, ids[0], a, sizeof a);
    ms_uid_format(2, ids[0], b, sizeof b);
    assert_string_not_equal(a, b); /* the run seed changes every uid */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_directions_map_to_one_key_with_opposite_dirs),
        cmocka_unit_test(test_same_address_orders_by_port),
        cmocka_unit_test(test_packet_without_transport_has_no_key),
        cmocka_unit_test(test_addresses_format_like_inet_ntop),
        cmocka_unit_test(test_uids_are_deterministic_and_distinct),
        cmocka_unit_test(test_uid_ids_differ_by_key_and_by_opening_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
