/* test_tcp_assembler.c — scenario tests for the TCP assembler: each test feeds segments and
 * compares the exact sequence of callbacks (new, data with its flags and bytes, complete). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp/tcp_internal.h"
#include "test_tcp_harness.h"

static void expect_log(rec *r, const char *want)
{
    assert_string_equal(r->log, want);
}

static void test_in_order_segments_arrive_as_sent(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 101, PSH, "GET / ");
    seg(r, 'c', 107, PSH, "HTTP/1.0\r\n\r\n");
    seg(r, 's', 501, PSH, "HTTP/1.0 200 OK\r\n");
    seg(r, 's', 518, FIN, NULL);
    seg(r, 'c', 119, FIN, NULL);
    seg(r, 's', 519, ACK, NULL);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'GET / '\n"
                  "c skip=0 kept=0 'HTTP/1.0\r\n\r\n'\n"
                  "s start skip=0 kept=0 'HTTP/1.0 200 OK\r\n'\n"
                  "s end skip=0 kept=0 ''\n"
                  "c end skip=0 kept=0 ''\n"
                  "complete fin\n");
    assert_string_equal(r->info.history, "ShADdfF"); /* the server never sent a pure ACK before the end */
    assert_int_equal(r->info.half[0].bytes_delivered, 18);
    assert_int_equal(r->info.half[1].bytes_delivered, 17);
    assert_int_equal(r->info.half[0].bytes_overlap, 0);
    assert_false(r->info.client_guessed);
    /* the late ACK hits the finished connection: counted, no callbacks */
    assert_int_equal(ms_tcp_assembler_stats(r->a)->segments_ignored, 1);
    assert_int_equal(ms_tcp_assembler_stats(r->a)->conns_created, 1);
    rec_free(r);
}

static void test_reversed_segments_are_delivered_in_order_once_the_first_arrives(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 107, PSH, "ghi");
    seg(r, 'c', 104, PSH, "def");
    seg(r, 'c', 101, PSH, "abc");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'abcdefghi'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].packets_out_of_order, 2);
    assert_int_equal(r->info.half[0].bytes_skipped, 0);
    assert_true(rec_identity_holds(&r->info.half[0]));
    rec_free(r);
}

static void test_duplicate_segment_is_counted_as_overlap_and_not_delivered_twice(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 101, PSH, "hello");
    seg(r, 'c', 101, PSH, "hello");
    seg(r, 'c', 106, PSH, "!");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'hello'\n"
                  "c skip=0 kept=0 '!'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].bytes_seen, 11);
    assert_int_equal(r->info.half[0].bytes_overlap, 5);
    assert_int_equal(r->info.half[0].bytes_delivered, 6);
    assert_true(strchr(r->info.history, 'T') != NULL);
    rec_free(r);
}

static void test_overlap_never_rewrites_delivered_bytes(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 101, PSH, "abcdef");
    seg(r, 'c', 104, PSH, "DEFGHI"); /* first three bytes were delivered: only GHI is new */
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'abcdef'\n"
                  "c skip=0 kept=0 'GHI'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].bytes_overlap, 3);
    rec_free(r);
}

static void test_overlap_with_queued_bytes_keeps_the_first_arrival(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 101, PSH, "abc");
    seg(r, 'c', 110, PSH, "jkl");      /* queued */
    seg(r, 'c', 104, PSH, "defghiJKLmn"); /* fills the hole, overlaps the queued page, runs past it */
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'abc'\n"
                  "c skip=0 kept=0 'defghijklmn'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].bytes_overlap, 3);
    assert_int_equal(r->info.half[0].bytes_delivered, 14);
    rec_free(r);
}

static void test_segment_inside_queued_bytes_changes_nothing(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 105, PSH, "efghij");  /* queued */
    seg(r, 'c', 107, PSH, "GH");      /* inside the queued bytes */
    seg(r, 'c', 103, PSH, "cdEF");    /* before, overlapping the front of the queued bytes */
    seg(r, 'c', 101, PSH, "ab");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'abcdefghij'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].bytes_overlap, 4);
    assert_int_equal(r->info.half[0].bytes_seen, 14);
    rec_free(r);
}

static void test_overlap_spanning_several_queued_pages_fills_only_the_holes(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 103, PSH, "cd");
    seg(r, 'c', 107, PSH, "gh");
    seg(r, 'c', 102, PSH, "BCDEFGHIJ"); /* covers 102..110: only b, e, f, i, j are new */
    seg(r, 'c', 101, PSH, "a");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'aBcdEFghIJ'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].bytes_overlap, 4);
    rec_free(r);
}

static void test_gap_is_skipped_by_flush_and_reported(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 101, PSH, "abc");
    uint64_t t_queued = r->now;
    seg(r, 'c', 110, PSH, "xyz");
    ms_tcp_flush(r->a, t_queued, 0); /* queued bytes are not older than t_queued: nothing */
    seg(r, 'c', 113, PSH, "!");
    ms_tcp_flush(r->a, t_queued + 1, 0);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'abc'\n"
                  "c skip=6 kept=0 'xyz!'\n");
    ms_tcp_flush_all(r->a);
    assert_int_equal(r->info.half[0].bytes_skipped, 6);
    assert_int_equal(r->info.half[0].gaps, 1);
    assert_true(strchr(r->info.history, 'G') != NULL);
    assert_int_equal(ms_tcp_assembler_stats(r->a)->bytes_skipped, 6);
    rec_free(r);
}

static void test_flush_skips_gaps_one_at_a_time_by_age(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 101, PSH, "a");
    seg(r, 'c', 105, PSH, "e");   /* older */
    uint64_t t_second = r->now;
    seg(r, 'c', 110, PSH, "j");   /* newer */
    ms_tcp_flush(r->a, t_second, 0);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'a'\n"
                  "c skip=3 kept=0 'e'\n");
    ms_tcp_flush(r->a, t_second + 1, 0);
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'a'\n"
                  "c skip=3 kept=0 'e'\n"
                  "c skip=4 kept=0 'j'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].gaps, 2);
    rec_free(r);
}

static void test_sequence_numbers_wrap_around_2_to_the_32(void **state)
{
    rec *r = rec_new(NULL);
    seg(r, 'c', 0xfffffffaU, SYN, NULL);              /* data starts at 0xfffffffb */
    seg(r, 's', 7, SYN | ACK, NULL);
    seg(r, 'c', 0x00000003U, PSH, "WXYZ");            /* after the wrap: queued */
    seg(r, 'c', 0xfffffffbU, PSH, "abcdefgh");        /* 0xfffffffb .. 0x00000002 */
    seg(r, 'c', 0xfffffffdU, PSH, "cdefghWX");        /* old bytes across the wrap */
    seg(r, 'c', 0x00000007U, FIN, NULL);
    seg(r, 's', 8, FIN, NULL);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'abcdefghWXYZ'\n"
                  "c end skip=0 kept=0 ''\n"
                  "s start end skip=0 kept=0 ''\n"
                  "complete fin\n");
    assert_int_equal(r->info.half[0].bytes_overlap, 8);
    rec_free(r);
}

static void test_retransmitted_syn_starts_the_half_once(void **state)
{
    rec *r = rec_new(NULL);
    seg(r, 'c', 100, SYN, NULL);
    seg(r, 'c', 100, SYN, NULL);
    seg(r, 's', 500, SYN | ACK, NULL);
    seg(r, 's', 500, SYN | ACK, NULL);
    seg(r, 'c', 101, PSH, "hi");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'hi'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].packets, 3);
    assert_int_equal(r->info.half[1].packets, 2);
    assert_string_equal(r->info.history, "ShD");
    assert_int_equal(ms_tcp_assembler_stats(r->a)->conns_created, 1);
    rec_free(r);
}

static void test_data_on_syn_is_delivered_first(void **state)
{
    rec *r = rec_new(NULL);
    seg(r, 'c', 100, SYN, "hi");   /* bytes 101..102 */
    seg(r, 's', 500, SYN | ACK, NULL);
    seg(r, 'c', 103, PSH, "!");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'hi'\n"
                  "c skip=0 kept=0 '!'\n"
                  "complete flush\n");
    rec_free(r);
}

static void test_midstream_start_without_forcing_reports_unknown_skip(void **state)
{
    rec *r = rec_new(NULL);
    seg(r, 'c', 5000, PSH, "mid");
    seg(r, 's', 9000, PSH, "reply");
    seg(r, 'c', 5003, PSH, "dle");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c skip=-1 kept=0 'mid'\n"
                  "s skip=-1 kept=0 'reply'\n"
                  "c skip=0 kept=0 'dle'\n"
                  "complete flush\n");
    assert_true(r->info.client_guessed);
    assert_string_equal(r->info.history, "Dd");
    rec_free(r);
}

static void test_midstream_start_with_forcing_reports_a_start(void **state)
{
    rec *r = rec_new(NULL);
    r->force_start = true;
    seg(r, 'c', 5000, PSH, "mid");
    seg(r, 's', 9000, PSH, "reply");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'mid'\n"
                  "s start skip=0 kept=0 'reply'\n"
                  "complete flush\n");
    rec_free(r);
}

static void test_syn_ack_first_makes_its_receiver_the_client(void **state)
{
    rec *r = rec_new(NULL);
    seg(r, 's', 500, SYN | ACK, NULL);
    seg(r, 'c', 101, PSH, "x");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new s\n"
                  "c skip=-1 kept=0 'x'\n"
                  "complete flush\n");
    assert_false(r->info.client_guessed);
    assert_int_equal(r->info.client.addr[3], 1);
    assert_int_equal(r->info.server.port, 80);
    rec_free(r);
}

static void test_fin_each_way_completes_after_all_data(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 101, FIN, "bye");       /* client done after 3 bytes: FIN at 104 */
    seg(r, 's', 506, FIN, NULL);        /* server FIN before its data arrived */
    seg(r, 'c', 105, PSH, "late");      /* after the client's FIN: discarded */
    seg(r, 's', 501, PSH, "hello");     /* fills the server half up to its FIN */
    expect_log(r, "new c\n"
                  "c start end skip=0 kept=0 'bye'\n"
                  "s start end skip=0 kept=0 'hello'\n"
                  "complete fin\n");
    assert_int_equal(r->reason, MS_TCP_CLOSE_FIN);
    assert_int_equal(r->info.half[0].bytes_discarded, 4);
    assert_true(r->info.half[0].fin && r->info.half[1].fin);
    assert_true(rec_identity_holds(&r->info.half[0]));
    assert_true(rec_identity_holds(&r->info.half[1]));
    rec_free(r);
}

static void test_fin_with_gap_waits_for_flush(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 101, PSH, "a");
    seg(r, 'c', 103, FIN, "c");          /* 102 missing */
    seg(r, 's', 501, FIN, NULL);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'a'\n"
                  "s start end skip=0 kept=0 ''\n");
    ms_tcp_flush(r->a, r->now, 0);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'a'\n"
                  "s start end skip=0 kept=0 ''\n"
                  "c end skip=1 kept=0 'c'\n"
                  "complete fin\n");
    rec_free(r);
}

static void test_rst_closes_both_halves_delivering_what_is_queued(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 101, PSH, "abc");
    seg(r, 'c', 106, PSH, "fg");         /* queued behind a 2-byte gap */
    seg(r, 's', 501, RST, NULL);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'abc'\n"
                  "c skip=2 kept=0 'fg'\n"
                  "c end skip=0 kept=0 ''\n"
                  "s start end skip=0 kept=0 ''\n"
                  "complete rst\n");
    seg(r, 'c', 108, PSH, "after");      /* connection finished: counted, ignored */
    assert_int_equal(r->completes, 1);
    assert_string_equal(r->info.history, "ShADrG"); /* G: the client's gap was skipped at the RST */
    assert_true(r->info.half[1].rst);
    rec_free(r);
}

static void test_keep_from_nothing_delivers_each_byte_once(void **state)
{
    rec *r = rec_new(NULL);
    r->keep = KEEP_LAST_N;
    r->keep_n = 0;
    handshake(r);
    seg(r, 'c', 101, PSH, "ab");
    seg(r, 'c', 103, PSH, "cd");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'ab'\n"
                  "c skip=0 kept=0 'cd'\n"
                  "complete flush\n");
    rec_free(r);
}

static void test_keep_from_some_bytes_sees_them_again_first(void **state)
{
    rec *r = rec_new(NULL);
    r->keep = KEEP_LAST_N;
    r->keep_n = 2;
    handshake(r);
    seg(r, 'c', 101, PSH, "abcd");
    seg(r, 'c', 105, PSH, "ef");
    seg(r, 'c', 107, PSH, "g");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'abcd'\n"
                  "c skip=0 kept=2 'cdef'\n"
                  "c skip=0 kept=2 'efg'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].bytes_delivered, 7);
    assert_int_equal(r->nbytes[0], 7);
    assert_memory_equal(r->bytes[0], "abcdefg", 7);
    assert_int_equal(ms_tcp_assembler_stats(r->a)->pages_in_use, 0);
    rec_free(r);
}

static void test_keep_from_all_bytes_accumulates_across_calls(void **state)
{
    rec *r = rec_new(NULL);
    r->keep = KEEP_ALL_UNTIL;
    r->keep_n = 9;
    handshake(r);
    seg(r, 'c', 101, PSH, "GET");
    seg(r, 'c', 104, PSH, " / ");
    seg(r, 'c', 107, PSH, "HTTP");
    seg(r, 'c', 111, PSH, "!");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'GET'\n"
                  "c skip=0 kept=3 'GET / '\n"
                  "c skip=0 kept=6 'GET / HTTP'\n"
                  "c skip=0 kept=0 '!'\n"
                  "complete flush\n");
    rec_free(r);
}

static void test_kept_bytes_come_back_before_queued_bytes(void **state)
{
    rec *r = rec_new(NULL);
    r->keep = KEEP_LAST_N;
    r->keep_n = 1;
    handshake(r);
    seg(r, 'c', 101, PSH, "ab");
    seg(r, 'c', 105, PSH, "ef");   /* queued */
    seg(r, 'c', 103, PSH, "cd");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'ab'\n"
                  "c skip=0 kept=1 'bcdef'\n"
                  "complete flush\n");
    rec_free(r);
}

static void test_view_fetch_copies_only_across_chunks(void **state)
{
    rec *r = rec_new(NULL);
    r->log_data = false;
    handshake(r);
    seg(r, 'c', 104, PSH, "def");
    seg(r, 'c', 101, PSH, "abc");   /* delivered as two chunks: "abc" (capture) + "def" (page) */
    ms_tcp_flush_all(r->a);
    assert_int_equal(r->nbytes[0], 6);
    assert_memory_equal(r->bytes[0], "abcdef", 6);
    /* fetch and ts, on a hand-made view */
    ms_tcp_delivery d;
    memset(&d, 0, sizeof d);
    d.a = r->a;
    d.chunks[0] = (ms_tcp_chunk){ (const uint8_t *)"abc", 3, 10 };
    d.chunks[1] = (ms_tcp_chunk){ (const uint8_t *)"def", 3, 20 };
    d.view.chunks = d.chunks;
    d.view.nchunks = 2;
    d.view.len = 6;
    const uint8_t *p = ms_tcp_view_fetch(&d.view, 2);
    assert_ptr_equal(p, d.chunks[0].data);
    p = ms_tcp_view_fetch(&d.view, 5);
    assert_non_null(p);
    assert_memory_equal(p, "abcde", 5);
    assert_null(ms_tcp_view_fetch(&d.view, 7));
    assert_int_equal(ms_tcp_view_ts(&d.view, 2), 10);
    assert_int_equal(ms_tcp_view_ts(&d.view, 3), 20);
    rec_free(r);
}

static void test_page_limit_per_connection_forces_a_skip(void **state)
{
    ms_tcp_opts o;
    ms_tcp_opts_default(&o);
    o.max_pages_per_conn = 2;
    rec *r = rec_new(&o);
    handshake(r);
    seg(r, 'c', 101, PSH, "a");
    seg(r, 'c', 103, PSH, "c");   /* page 1 */
    seg(r, 'c', 105, PSH, "e");   /* page 2 */
    seg(r, 'c', 107, PSH, "g");   /* no page left: the oldest gap (102) is skipped */
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'a'\n"
                  "c skip=1 kept=0 'c'\n");
    assert_int_equal(ms_tcp_assembler_stats(r->a)->page_limit_skips, 1);
    seg(r, 'c', 104, PSH, "d");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'a'\n"
                  "c skip=1 kept=0 'c'\n"
                  "c skip=0 kept=0 'de'\n"
                  "c skip=1 kept=0 'g'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].bytes_skipped, 2);
    rec_free(r);
}

static void test_page_limit_never_skips_past_the_bytes_being_queued(void **state)
{
    ms_tcp_opts o;
    ms_tcp_opts_default(&o);
    o.max_pages_per_conn = 2;
    rec *r = rec_new(&o);
    handshake(r);
    seg(r, 'c', 101, PSH, "a");
    seg(r, 'c', 110, PSH, "j");   /* page 1 */
    seg(r, 'c', 120, PSH, "t");   /* page 2 */
    seg(r, 'c', 105, PSH, "e");   /* no page left, and it lies before the queued pages */
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'a'\n"
                  "c skip=3 kept=0 'e'\n");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'a'\n"
                  "c skip=3 kept=0 'e'\n"
                  "c skip=4 kept=0 'j'\n"
                  "c skip=9 kept=0 't'\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].bytes_overlap, 0);
    assert_int_equal(r->info.half[0].bytes_delivered, 4);
    rec_free(r);
}

static void test_total_page_limit_skips_the_oldest_gap_of_any_connection(void **state)
{
    ms_tcp_opts o;
    ms_tcp_opts_default(&o);
    o.max_pages_total = 1;
    rec *r = rec_new(&o);
    handshake(r);
    seg(r, 'c', 103, PSH, "c");      /* takes the only page */
    rec_key(&r->key, 2, 2222);       /* a second connection */
    seg(r, 'c', 100, SYN, NULL);
    seg(r, 'c', 105, PSH, "X");      /* needs a page: connection 1's gap is skipped */
    expect_log(r, "new c\n"
                  "new c\n"
                  "c start skip=2 kept=0 'c'\n");
    assert_int_equal(ms_tcp_assembler_stats(r->a)->page_limit_skips, 1);
    assert_int_equal(ms_tcp_assembler_stats(r->a)->pages_in_use, 1);
    ms_tcp_flush_all(r->a);
    rec_free(r);
}

static void test_page_limit_with_nothing_queued_skips_to_the_segment(void **state)
{
    ms_tcp_opts o;
    ms_tcp_opts_default(&o);
    o.max_pages_per_conn = 1;
    rec *r = rec_new(&o);
    handshake(r);
    char big[4001];
    memset(big, 'z', 4000);
    big[4000] = '\0';
    seg(r, 'c', 111, PSH, big);      /* needs 3 pages, 1 allowed */
    assert_int_equal(r->nbytes[0], 4000);
    assert_int_equal(ms_tcp_assembler_stats(r->a)->pages_in_use, 0);
    ms_tcp_flush_all(r->a);
    assert_int_equal(r->info.half[0].bytes_skipped, 10);
    assert_int_equal(r->info.half[0].bytes_delivered, 4000);
    rec_free(r);
}

static void test_connection_limit_evicts_the_least_recently_seen(void **state)
{
    ms_tcp_opts o;
    ms_tcp_opts_default(&o);
    o.max_conns = 2;
    o.lru_granularity_ns = 0; /* exact order: these segments are 1 ms apart */
    rec *r = rec_new(&o);
    r->quiet_new = true;
    rec_key(&r->key, 1, 1001);
    seg(r, 'c', 100, SYN, "one");
    rec_key(&r->key, 2, 1002);
    seg(r, 'c', 100, SYN, "two");
    rec_key(&r->key, 1, 1001);
    seg(r, 'c', 104, PSH, "!");       /* connection 1 is now the most recent */
    rec_key(&r->key, 3, 1003);
    seg(r, 'c', 100, SYN, "three");   /* evicts connection 2 */
    expect_log(r, "c start skip=0 kept=0 'one'\n"
                  "c start skip=0 kept=0 'two'\n"
                  "c skip=0 kept=0 '!'\n"
                  "complete evicted\n"
                  "c start skip=0 kept=0 'three'\n");
    assert_int_equal(r->info.client.port, 1002);
    const ms_tcp_stats *s = ms_tcp_assembler_stats(r->a);
    assert_int_equal(s->conns_evicted, 1);
    assert_int_equal(s->conns_created, 3);
    ms_tcp_flush_all(r->a);
    assert_int_equal(r->completes, 3);
    rec_free(r);
}

static void test_idle_connections_close_on_flush(void **state)
{
    rec *r = rec_new(NULL);
    handshake(r);
    seg(r, 'c', 101, PSH, "x");
    uint64_t later = r->now;
    rec_key(&r->key, 2, 4444);
    seg(r, 'c', 100, SYN, NULL);      /* a second, more recent connection */
    assert_int_equal(ms_tcp_flush(r->a, 0, later), 1);
    assert_int_equal(r->reason, MS_TCP_CLOSE_IDLE);
    assert_int_equal(r->completes, 1);
    ms_tcp_flush_all(r->a);
    assert_int_equal(r->completes, 2);
    rec_free(r);
}

static void test_new_syn_on_a_finished_tuple_is_a_new_connection(void **state)
{
    rec *r = rec_new(NULL);
    r->quiet_new = true;
    handshake(r);
    seg(r, 'c', 101, RST, NULL);
    seg(r, 'c', 100, SYN, NULL);      /* retransmitted old SYN: still the finished connection */
    seg(r, 'c', 9000, SYN, "new");    /* new ISN: a new connection */
    ms_tcp_flush_all(r->a);
    expect_log(r, "c start end skip=0 kept=0 ''\n"
                  "s start end skip=0 kept=0 ''\n"
                  "complete rst\n"
                  "c start skip=0 kept=0 'new'\n"
                  "complete flush\n");
    assert_int_equal(ms_tcp_assembler_stats(r->a)->conns_created, 2);
    rec_free(r);
}

static void test_rejected_segments_are_discarded_and_counted(void **state)
{
    rec *r = rec_new(NULL);
    r->reject_payload = true;
    handshake(r);
    seg(r, 'c', 101, PSH, "nope");
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "complete flush\n");
    assert_int_equal(r->info.half[0].bytes_discarded, 4);
    assert_int_equal(ms_tcp_assembler_stats(r->a)->segments_ignored, 1);
    rec_free(r);
}

/* 200 connections, segments of all of them interleaved and each half out of order in places:
 * every connection gets exactly its own bytes. */
typedef struct multi {
    char got[200][2][64];
} multi;

static void *multi_new(void *factory, ms_tcp_conn *conn, const ms_tcp_segment *first, int dir)
{
    multi *m = factory;
    const ms_tcp_conn_info *in = ms_tcp_conn_get_info(conn);
    return &m->got[in->client.port - 10000];
}

static void multi_data(void *stream, ms_tcp_view *v)
{
    char(*got)[64] = stream;
    size_t cur = strlen(got[v->dir]);
    if (cur + v->len < 64)
        ms_tcp_view_copy(v, 0, got[v->dir] + cur, v->len);
}

static void multi_complete(void *stream, ms_tcp_conn *conn, ms_tcp_close_reason reason)
{
    char(*got)[64] = stream;
    strcat(got[0], reason == MS_TCP_CLOSE_FIN ? "|fin" : "|other");
}

static void test_many_interleaved_connections_keep_their_own_bytes(void **state)
{
    multi *m = calloc(1, sizeof *m);
    ms_tcp_stream_ops ops = { multi_new, NULL, multi_data, multi_complete };
    ms_tcp_assembler *a = ms_tcp_assembler_new(NULL, &ops, m);
    ms_flow_key k;
    /* rounds: SYN, out-of-order second half, first half, FINs, server reply */
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 200; i++) {
            rec_key(&k, 1, (uint16_t)(10000 + i));
            char msg[32];
            snprintf(msg, sizeof msg, "conn%03d", i); /* 7 bytes */
            uint32_t isn = (uint32_t)i * 0x01000193U;
            ms_tcp_segment s = { .ts_ns = (uint64_t)round * 1000 + (uint64_t)i };
            int dir = MS_DIR_A_TO_B;
            if (round == 0) {
                s.seq = isn;
                s.flags = MS_TCP_SYN;
            } else if (round == 1) {
                s.seq = isn + 5;
                s.flags = PSH;
                s.payload = (const uint8_t *)msg + 4;
                s.len = 3;
            } else if (round == 2) {
                s.seq = isn + 1;
                s.flags = PSH;
                s.payload = (const uint8_t *)msg;
                s.len = 4;
            } else if (round == 3) {
                s.seq = 77;
                s.flags = FIN;
                s.payload = (const uint8_t *)"ok";
                s.len = 2;
                dir = MS_DIR_B_TO_A;
            } else {
                s.seq = isn + 8;
                s.flags = FIN;
            }
            ms_tcp_assemble(a, &k, dir, &s);
        }
    }
    for (int i = 0; i < 200; i++) {
        char want[32];
        snprintf(want, sizeof want, "conn%03d|fin", i);
        assert_string_equal(m->got[i][0], want);
        assert_string_equal(m->got[i][1], "ok");
    }
    const ms_tcp_stats *s = ms_tcp_assembler_stats(a);
    assert_int_equal(s->conns_created, 200);
    assert_int_equal(s->conns_closed, 200);
    assert_int_equal(s->bytes_delivered, 200 * 9);
    assert_int_equal(s->pages_in_use, 0);
    ms_tcp_flush_all(a);
    ms_tcp_assembler_free(a);
    free(m);
}

static void test_stream_null_still_counts_the_connection(void **state)
{
    ms_tcp_stream_ops ops = { NULL, NULL, NULL, NULL };
    ms_tcp_assembler *a = ms_tcp_assembler_new(NULL, &ops, NULL);
    ms_flow_key k;
    rec_key(&k, 1, 1);
    ms_tcp_segment s = { .seq = 1, .flags = PSH, .payload = (const uint8_t *)"abc", .len = 3, .ts_ns = 1 };
    ms_tcp_assemble(a, &k, MS_DIR_A_TO_B, &s);
    ms_tcp_flush_all(a);
    const ms_tcp_stats *st = ms_tcp_assembler_stats(a);
    assert_int_equal(st->conns_created, 1);
    assert_int_equal(st->bytes_delivered, 3);
    ms_tcp_assembler_free(a);
}

static int removed_calls;
static ms_tcp_conn_info removed_info;

static void on_removed(void *factory, const ms_tcp_conn *conn)
{
    removed_calls++;
    removed_info = *ms_tcp_conn_get_info(conn);
}

static void test_removed_hook_sees_late_packets_after_the_linger(void **state)
{
    rec *r = rec_new(NULL);
    removed_calls = 0;
    ms_tcp_set_removed_hook(r->a, on_removed);
    handshake(r);
    seg(r, 'c', 101, FIN, NULL);
    seg(r, 's', 501, FIN, NULL);
    assert_int_equal(r->completes, 1);
    uint64_t t_last = r->now;
    seg(r, 'c', 102, ACK, NULL);          /* the last ACK: after complete, before removal */
    ms_tcp_flush(r->a, t_last, 0);        /* not idle long enough: still lingering */
    assert_int_equal(removed_calls, 0);
    ms_tcp_flush(r->a, t_last + 1, 0);
    assert_int_equal(removed_calls, 1);
    assert_int_equal(removed_info.half[MS_TCP_CLIENT].packets, 4); /* SYN, ACK, FIN, late ACK */
    assert_int_equal(removed_info.half[MS_TCP_SERVER].packets, 2);
    assert_int_equal(removed_info.close_reason, MS_TCP_CLOSE_FIN);
    ms_tcp_flush_all(r->a);
    assert_int_equal(removed_calls, 1);
    assert_int_equal(ms_tcp_assembler_stats(r->a)->conns_closed, 1);
    rec_free(r);
}

/* zeek modbus-and-non-modbus-p502.pcap: handshake, the client resets, and 16 s later sends a GET on
 * the same ports without a new SYN. The GET is a new connection (its own uid, client guessed from
 * it, start never seen); the old one is removed, reported with only its own packets. */
static void test_data_long_after_a_rst_starts_a_new_connection(void **state)
{
    rec *r = rec_new(NULL);
    removed_calls = 0;
    ms_tcp_set_removed_hook(r->a, on_removed);
    handshake(r);
    seg(r, 'c', 101, RST, NULL);
    char old_uid[24];
    memcpy(old_uid, r->info.uid, sizeof old_uid);
    r->now += 16000000000ULL;
    seg(r, 'c', 101, PSH, "GET / HTTP/1.1\r\n\r\n");
    assert_int_equal(removed_calls, 1);                  /* the old connection left the table */
    assert_string_equal(removed_info.uid, old_uid);
    assert_int_equal(removed_info.half[MS_TCP_CLIENT].packets, 3);  /* SYN, ACK, RST */
    assert_int_equal(removed_info.half[MS_TCP_CLIENT].bytes_seen, 0);
    seg(r, 's', 501, RST, NULL);                         /* the server resets the new one */
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start end skip=0 kept=0 ''\n"
                  "s start end skip=0 kept=0 ''\n"
                  "complete rst\n"
                  "new c\n"
                  "c skip=-1 kept=0 'GET / HTTP/1.1\r\n\r\n'\n"
                  "c end skip=0 kept=0 ''\n"
                  "s end skip=-1 kept=0 ''\n"
                  "complete rst\n");
    assert_int_equal(r->completes, 2);
    assert_int_equal(removed_calls, 2);
    assert_string_not_equal(r->info.uid, old_uid);
    assert_true(r->info.client_guessed);
    assert_string_equal(r->info.history, "Dr");
    const ms_tcp_half_stats *c = &r->info.half[MS_TCP_CLIENT];
    assert_int_equal(c->packets, 1);
    assert_int_equal(c->bytes_seen, 18);
    assert_int_equal(c->bytes_delivered, 18);
    assert_true(rec_identity_holds(c));
    const ms_tcp_stats *st = ms_tcp_assembler_stats(r->a);
    assert_int_equal(st->conns_created, 2);
    assert_int_equal(st->bytes_seen, 18);
    assert_int_equal(st->bytes_delivered, 18);
    assert_int_equal(st->bytes_discarded + st->bytes_overlap, 0);
    assert_int_equal(st->segments_ignored, 0);
    rec_free(r);
}

/* After a RST: a retransmission of bytes the connection had, a bare ACK, a late RST, and data that
 * was still in flight at the close (new bytes, but sent within reuse_after_ns) all stay with the
 * old connection, counted and discarded there; no new connection is made. */
static void test_retransmission_and_stragglers_after_a_rst_stay_with_the_old_connection(void **state)
{
    rec *r = rec_new(NULL);
    removed_calls = 0;
    ms_tcp_set_removed_hook(r->a, on_removed);
    handshake(r);
    seg(r, 'c', 101, PSH, "hello");
    seg(r, 's', 501, PSH, "world");
    seg(r, 'c', 106, RST, NULL);
    seg(r, 's', 506, PSH, "late!");                      /* in flight at the RST: 1 ms after */
    r->now += 16000000000ULL;
    seg(r, 'c', 101, PSH, "hello");                      /* retransmission, 16 s later */
    seg(r, 'c', 103, PSH, "llo");                        /* part of it */
    seg(r, 's', 501, PSH, "world");
    seg(r, 'c', 106, ACK, NULL);                         /* bare ACK */
    seg(r, 's', 506, RST, NULL);                         /* late RST */
    ms_tcp_flush_all(r->a);
    expect_log(r, "new c\n"
                  "c start skip=0 kept=0 'hello'\n"
                  "s start skip=0 kept=0 'world'\n"
                  "c end skip=0 kept=0 ''\n"
                  "s end skip=0 kept=0 ''\n"
                  "complete rst\n");
    assert_int_equal(removed_calls, 1);                  /* removed at flush_all, not before */
    const ms_tcp_half_stats *c = &removed_info.half[MS_TCP_CLIENT], *sv = &removed_info.half[MS_TCP_SERVER];
    assert_int_equal(c->packets, 7);                     /* SYN ACK hello RST hello llo ACK */
    assert_int_equal(c->bytes_seen, 13);
    assert_int_equal(c->bytes_delivered, 5);
    assert_int_equal(c->bytes_discarded, 8);
    assert_int_equal(sv->packets, 5);                    /* SYN-ACK world late! world RST */
    assert_int_equal(sv->bytes_seen, 15);
    assert_int_equal(sv->bytes_delivered, 5);
    assert_int_equal(sv->bytes_discarded, 10);
    assert_true(rec_identity_holds(c));
    assert_true(rec_identity_holds(sv));
    const ms_tcp_stats *st = ms_tcp_assembler_stats(r->a);
    assert_int_equal(st->conns_created, 1);
    assert_int_equal(st->segments_ignored, 6);
    rec_free(r);
}

/* The same after a full FIN close: the last data with its FIN retransmitted 6 s later stays with
 * the old connection; data 6 s later at a sequence number outside everything the half covered
 * (here before its start, as a new ISN may well be) is a new connection. */
static void test_data_long_after_a_fin_close_outside_the_old_range_starts_a_new_connection(void **state)
{
    rec *r = rec_new(NULL);
    r->quiet_new = true;
    handshake(r);
    seg(r, 'c', 101, PSH, "ab");
    seg(r, 'c', 103, FIN, NULL);
    seg(r, 's', 501, FIN, NULL);
    r->now += 6000000000ULL;
    seg(r, 'c', 101, FIN, "ab");                         /* retransmission with the FIN: old */
    seg(r, 'c', 50, PSH, "xyz");                         /* before the old start: new */
    ms_tcp_flush_all(r->a);
    expect_log(r, "c start skip=0 kept=0 'ab'\n"
                  "c end skip=0 kept=0 ''\n"
                  "s start end skip=0 kept=0 ''\n"
                  "complete fin\n"
                  "c skip=-1 kept=0 'xyz'\n"
                  "complete flush\n");
    const ms_tcp_stats *st = ms_tcp_assembler_stats(r->a);
    assert_int_equal(st->conns_created, 2);
    assert_int_equal(st->bytes_seen, 7);
    assert_int_equal(st->bytes_delivered, 5);
    assert_int_equal(st->bytes_discarded, 2);
    rec_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_segments_arrive_as_sent),
        cmocka_unit_test(test_reversed_segments_are_delivered_in_order_once_the_first_arrives),
        cmocka_unit_test(test_duplicate_segment_is_counted_as_overlap_and_not_delivered_twice),
        cmocka_unit_test(test_overlap_never_rewrites_delivered_bytes),
        cmocka_unit_test(test_overlap_with_queued_bytes_keeps_the_first_arrival),
        cmocka_unit_test(test_segment_inside_queued_bytes_changes_nothing),
        cmocka_unit_test(test_overlap_spanning_several_queued_pages_fills_only_the_holes),
        cmocka_unit_test(test_gap_is_skipped_by_flush_and_reported),
        cmocka_unit_test(test_flush_skips_gaps_one_at_a_time_by_age),
        cmocka_unit_test(test_sequence_numbers_wrap_around_2_to_the_32),
        cmocka_unit_test(test_retransmitted_syn_starts_the_half_once),
        cmocka_unit_test(test_data_on_syn_is_delivered_first),
        cmocka_unit_test(test_midstream_start_without_forcing_reports_unknown_skip),
        cmocka_unit_test(test_midstream_start_with_forcing_reports_a_start),
        cmocka_unit_test(test_syn_ack_first_makes_its_receiver_the_client),
        cmocka_unit_test(test_fin_each_way_completes_after_all_data),
        cmocka_unit_test(test_fin_with_gap_waits_for_flush),
        cmocka_unit_test(test_rst_closes_both_halves_delivering_what_is_queued),
        cmocka_unit_test(test_keep_from_nothing_delivers_each_byte_once),
        cmocka_unit_test(test_keep_from_some_bytes_sees_them_again_first),
        cmocka_unit_test(test_keep_from_all_bytes_accumulates_across_calls),
        cmocka_unit_test(test_kept_bytes_come_back_before_queued_bytes),
        cmocka_unit_test(test_view_fetch_copies_only_across_chunks),
        cmocka_unit_test(test_page_limit_per_connection_forces_a_skip),
        cmocka_unit_test(test_page_limit_never_skips_past_the_bytes_being_queued),
        cmocka_unit_test(test_total_page_limit_skips_the_oldest_gap_of_any_connection),
        cmocka_unit_test(test_page_limit_with_nothing_queued_skips_to_the_segment),
        cmocka_unit_test(test_connection_limit_evicts_the_least_recently_seen),
        cmocka_unit_test(test_idle_connections_close_on_flush),
        cmocka_unit_test(test_new_syn_on_a_finished_tuple_is_a_new_connection),
        cmocka_unit_test(test_rejected_segments_are_discarded_and_counted),
        cmocka_unit_test(test_many_interleaved_connections_keep_their_own_bytes),
        cmocka_unit_test(test_stream_null_still_counts_the_connection),
        cmocka_unit_test(test_removed_hook_sees_late_packets_after_the_linger),
        cmocka_unit_test(test_data_long_after_a_rst_starts_a_new_connection),
        cmocka_unit_test(test_retransmission_and_stragglers_after_a_rst_stay_with_the_old_connection),
        cmocka_unit_test(test_data_long_after_a_fin_close_outside_the_old_range_starts_a_new_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
