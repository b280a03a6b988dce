/* test_tcp_property.c — property test: any segmentation, order, duplication and overlap of a
 * random byte string (both halves, random ISNs including ones about to wrap) delivers exactly that
 * string once per half, with no gap, and the accounting identity holds. Thousands of seeds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_tcp_harness.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static uint32_t rnd_below(uint32_t n)
{
    return n ? rnd() % n : 0;
}

typedef struct piece {
    uint32_t off, len;
    int dir;
} piece;

#define MAX_LEN 6000
#define MAX_PIECES 1024

/* Runs one seed; returns nothing, fails the test on a mismatch. */
static void run_seed(uint64_t seed, keep_policy keep)
{
    rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
    static uint8_t text[2][MAX_LEN];
    uint32_t len[2];
    uint32_t isn[2];
    for (int d = 0; d < 2; d++) {
        len[d] = 1 + rnd_below(d == 0 ? MAX_LEN : MAX_LEN / 4);
        for (uint32_t i = 0; i < len[d]; i++)
            text[d][i] = (uint8_t)rnd();
        /* a third of the seeds start just before the 2^32 wrap */
        isn[d] = rnd_below(3) == 0 ? 0xffffffffU - rnd_below(3000) : rnd();
    }
    static piece pieces[MAX_PIECES];
    int np = 0;
    for (int d = 0; d < 2; d++) {
        /* a covering segmentation */
        uint32_t off = 0;
        while (off < len[d] && np < MAX_PIECES / 2) {
            uint32_t n = 1 + rnd_below(rnd_below(4) == 0 ? 3000 : 200);
            n = MS_MIN(n, len[d] - off);
            pieces[np++] = (piece){ off, n, d };
            off += n;
        }
        if (off < len[d])
            pieces[np++] = (piece){ off, len[d] - off, d };
        /* duplicates and overlapping pieces anywhere */
        int extra = (int)rnd_below(20);
        for (int i = 0; i < extra && np < MAX_PIECES; i++) {
            uint32_t o = rnd_below(len[d]);
            uint32_t n = 1 + rnd_below(MS_MIN(len[d] - o, 2500U));
            pieces[np++] = (piece){ o, n, d };
        }
    }
    /* shuffle: sometimes fully, sometimes only nearby swaps */
    bool full = rnd_below(2) == 0;
    for (int i = np - 1; i > 0; i--) {
        int back = (int)rnd_below(4);
        int j = full ? (int)rnd_below((uint32_t)i + 1) : (i >= back ? i - back : 0);
        piece t = pieces[i];
        pieces[i] = pieces[j];
        pieces[j] = t;
    }

    rec *r = rec_new(NULL);
    r->log_data = false;
    r->quiet_new = true;
    r->keep = keep;
    r->keep_n = 1 + rnd_below(3000);
    seg_n(r, 'c', isn[0], SYN, NULL, 0);
    seg_n(r, 's', isn[1], SYN | ACK, NULL, 0);
    for (int i = 0; i < np; i++) {
        piece *p = &pieces[i];
        seg_n(r, p->dir == 0 ? 'c' : 's', isn[p->dir] + 1 + p->off, PSH, text[p->dir] + p->off, p->len);
    }
    seg_n(r, 'c', isn[0] + 1 + len[0], FIN, NULL, 0);
    seg_n(r, 's', isn[1] + 1 + len[1], FIN, NULL, 0);
    if (r->completes == 0)
        ms_tcp_flush_all(r->a);
    if (r->completes != 1 || r->reason != MS_TCP_CLOSE_FIN)
        fail_msg("seed %llu: completes=%d reason=%s", (unsigned long long)seed, r->completes,
                 ms_tcp_close_reason_name(r->reason));
    for (int d = 0; d < 2; d++) {
        const ms_tcp_half_stats *s = &r->info.half[d];
        if (r->nbytes[d] != len[d] || memcmp(r->bytes[d], text[d], len[d]) != 0)
            fail_msg("seed %llu dir %d: delivered %zu bytes, want %u (or content differs)", (unsigned long long)seed,
                     d, r->nbytes[d], len[d]);
        if (s->bytes_skipped != 0 || s->bytes_delivered != len[d] || !rec_identity_holds(s))
            fail_msg("seed %llu dir %d: skipped=%llu delivered=%llu identity=%d", (unsigned long long)seed, d,
                     (unsigned long long)s->bytes_skipped, (unsigned long long)s->bytes_delivered,
                     rec_identity_holds(s));
    }
    const ms_tcp_stats *st = ms_tcp_assembler_stats(r->a);
    if (st->pages_in_use != 0)
        fail_msg("seed %llu: %llu pages still in use", (unsigned long long)seed,
                 (unsigned long long)st->pages_in_use);
    rec_free(r);
}

static void test_any_segmentation_order_and_overlap_delivers_the_exact_string(void **state)
{
    for (uint64_t seed = 1; seed <= 3000; seed++)
        run_seed(seed, KEEP_NONE);
}

static void test_keep_from_never_changes_the_delivered_string(void **state)
{
    for (uint64_t seed = 10001; seed <= 10500; seed++)
        run_seed(seed, seed % 2 ? KEEP_LAST_N : KEEP_ALL_UNTIL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_any_segmentation_order_and_overlap_delivers_the_exact_string),
        cmocka_unit_test(test_keep_from_never_changes_the_delivered_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
