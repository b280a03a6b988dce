/* test_source.c — capture sources: nanosecond timestamps from pcap and pcapng, truncated files
 * yield every frame before the cut, pcap seconds past 2038 stay unsigned, non-captures are told apart from missing files, and a BPF
 * filter keeps the file's frame numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/source.h"

static char tmpdir[] = "/tmp/ms_test_source_XXXXXX";

static void path_in_tmp(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* An Ethernet + IPv4 + UDP frame to port `dport`. */
static size_t make_udp_frame(uint8_t *f, uint16_t dport)
{
    memset(f, 0, 42);
    f[12] = 0x08; /* ethertype IPv4 */
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[3] = 28;   /* total length: 20 + 8 */
    ip[8] = 64;
    ip[9] = 17;
    ip[12] = 10, ip[15] = 1;
    ip[16] = 10, ip[19] = 2;
    uint8_t *udp = ip + 20;
    udp[1] = 53;
    udp[2] = (uint8_t)(dport >> 8), udp[3] = (uint8_t)dport;
    udp[5] = 8;
    return 42;
}

/* Writes n frames with timestamps sec=1000+i and sub-second i*7 in the given precision. */
static void write_pcap(const char *path, int n, int precision)
{
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, precision);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    assert_non_null(d);
    for (int i = 0; i < n; i++) {
        uint8_t frame[64];
        size_t len = make_udp_frame(frame, (uint16_t)(i % 2 ? 80 : 53));
        struct pcap_pkthdr h = { { 1000 + i, i * 7 }, (bpf_u_int32)len, (bpf_u_int32)len };
        pcap_dump((u_char *)d, &h, frame);
    }
    pcap_dump_close(d);
    pcap_close(dead);
}

static int count_frames(const char *path, const char *filter, uint64_t *numbers, int *rc_out, ms_err *err)
{
    ms_source_opts opts = { filter, 0, false, 0 };
    int code;
    ms_source *s = ms_source_open_file(path, &opts, err, &code);
    if (!s) {
        *rc_out = code;
        return -1;
    }
    ms_frame f;
    int n = 0, rc;
    while ((rc = ms_source_next(s, &f, err)) == 1) {
        if (numbers)
            numbers[n] = f.number;
        n++;
    }
    *rc_out = rc;
    ms_source_close(s);
    return n;
}

static void test_microsecond_pcap_timestamps_become_nanoseconds(void **state)
{
    (void)state;
    char path[256];
    path_in_tmp(path, sizeof path, "us.pcap");
    write_pcap(path, 3, PCAP_TSTAMP_PRECISION_MICRO);
    ms_err err;
    int code;
    ms_source *s = ms_source_open_file(path, NULL, &err, &code);
    assert_non_null(s);
    ms_frame f;
    assert_int_equal(ms_source_next(s, &f, &err), 1);
    assert_int_equal(ms_source_next(s, &f, &err), 1);
    assert_int_equal(f.ts_ns, 1001ULL * 1000000000ULL + 7000ULL);
    assert_int_equal(f.number, 2);
    assert_int_equal(f.caplen, 42);
    assert_int_equal(f.linktype, DLT_EN10MB);
    ms_source_close(s);
}

static void test_nanosecond_pcap_keeps_nanoseconds(void **state)
{
    (void)state;
    char path[256];
    path_in_tmp(path, sizeof path, "ns.pcap");
    write_pcap(path, 3, PCAP_TSTAMP_PRECISION_NANO);
    ms_err err;
    ms_source *s = ms_source_open_file(path, NULL, &err, NULL);
    assert_non_null(s);
    ms_frame f;
    for (int i = 0; i < 3; i++)
        assert_int_equal(ms_source_next(s, &f, &err), 1);
    assert_int_equal(f.ts_ns, 1002ULL * 1000000000ULL + 14ULL);
    assert_int_equal(ms_source_next(s, &f, &err), 0);
    ms_source_close(s);
}

/* pcap seconds are unsigned 32-bit: times between 2038 and 2106 (as in tcpdump's time_2106.pcap)
 * must not come back negative. The header is written by hand (pcap_dump takes a signed time_t
 * on some systems). */
static void test_pcap_seconds_past_2038_stay_unsigned(void **state)
{
    (void)state;
    char path[256];
    path_in_tmp(path, sizeof path, "y2106.pcap");
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    static const uint8_t header[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0xff, 0xff, 0, 0, 1, 0, 0, 0 };
    fwrite(header, 1, sizeof header, fp);
    uint8_t frame[64];
    size_t len = make_udp_frame(frame, 53);
    const uint32_t secs[2] = { 4291747200u, 2147483648u };   /* 2106-01-01, 2038-01-19 03:14:08 */
    for (int i = 0; i < 2; i++) {
        uint8_t rec[16] = { 0 };
        for (int k = 0; k < 4; k++)
            rec[k] = (uint8_t)(secs[i] >> (8 * k));
        rec[4] = 5;                                             /* 5 microseconds */
        rec[8] = rec[12] = (uint8_t)len;
        fwrite(rec, 1, sizeof rec, fp);
        fwrite(frame, 1, len, fp);
    }
    fclose(fp);
    ms_err err;
    ms_source *s = ms_source_open_file(path, NULL, &err, NULL);
    assert_non_null(s);
    ms_frame f;
    assert_int_equal(ms_source_next(s, &f, &err), 1);
    assert_int_equal(f.ts_ns, 4291747200ULL * 1000000000ULL + 5000ULL);
    assert_int_equal(ms_source_next(s, &f, &err), 1);
    assert_int_equal(f.ts_ns, 2147483648ULL * 1000000000ULL + 5000ULL);
    ms_source_close(s);
}

static void put32le(FILE *fp, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    fwrite(b, 1, 4, fp);
}

/* pcapng: section header, one Ethernet interface with if_tsresol = 9 (ns), one enhanced packet. */
static void test_pcapng_with_nanosecond_resolution_is_read(void **state)
{
    (void)state;
    char path[256];
    path_in_tmp(path, sizeof path, "ns.pcapng");
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    put32le(fp, 0x0A0D0D0A), put32le(fp, 28), put32le(fp, 0x1A2B3C4D);
    put32le(fp, 0x00000001), put32le(fp, 0xffffffff), put32le(fp, 0xffffffff), put32le(fp, 28);
    /* IDB: type, len, linktype 1 + reserved, snaplen, option if_tsresol(9) len 1 value 9 + pad, end */
    put32le(fp, 1), put32le(fp, 32), put32le(fp, 1), put32le(fp, 65535);
    put32le(fp, 0x00010009), put32le(fp, 9), put32le(fp, 0), put32le(fp, 32);
    uint8_t frame[64];
    size_t len = make_udp_frame(frame, 53);
    uint64_t ts = 1234ULL * 1000000000ULL + 567ULL;
    uint32_t blen = (uint32_t)(28 + ((len + 3) & ~3u) + 4);
    put32le(fp, 6), put32le(fp, blen), put32le(fp, 0);
    put32le(fp, (uint32_t)(ts >> 32)), put32le(fp, (uint32_t)ts);
    put32le(fp, (uint32_t)len), put32le(fp, (uint32_t)len);
    fwrite(frame, 1, len, fp);
    for (size_t i = len; i < ((len + 3) & ~3u); i++)
        fputc(0, fp);
    put32le(fp, blen);
    fclose(fp);
    ms_err err;
    ms_source *s = ms_source_open_file(path, NULL, &err, NULL);
    assert_non_null(s);
    ms_frame f;
    assert_int_equal(ms_source_next(s, &f, &err), 1);
    assert_int_equal(f.ts_ns, ts);
    assert_int_equal(f.caplen, len);
    assert_int_equal(ms_source_next(s, &f, &err), 0);
    ms_source_close(s);
}

static void test_truncated_file_yields_frames_before_the_cut_then_names_the_frame(void **state)
{
    (void)state;
    char path[256];
    path_in_tmp(path, sizeof path, "cut.pcap");
    write_pcap(path, 3, PCAP_TSTAMP_PRECISION_MICRO);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 10), 0); /* cut inside frame 3 */
    ms_err err;
    int rc;
    int n = count_frames(path, NULL, NULL, &rc, &err);
    assert_int_equal(n, 2);
    assert_int_equal(rc, MS_ETRUNC);
    assert_non_null(strstr(err.msg, "cut.pcap"));
    assert_non_null(strstr(err.msg, "frame 3"));
}

static void test_not_a_capture_is_a_format_error_and_missing_file_an_io_error(void **state)
{
    (void)state;
    char path[256];
    path_in_tmp(path, sizeof path, "notes.txt");
    FILE *fp = fopen(path, "w");
    fputs("this is not a capture file, just some text\n", fp);
    fclose(fp);
    ms_err err;
    int rc;
    assert_int_equal(count_frames(path, NULL, NULL, &rc, &err), -1);
    assert_int_equal(rc, MS_EFORMAT);
    assert_non_null(strstr(err.msg, "not a pcap"));
    path_in_tmp(path, sizeof path, "missing.pcap");
    assert_int_equal(count_frames(path, NULL, NULL, &rc, &err), -1);
    assert_int_equal(rc, MS_EIO);
    assert_non_null(strstr(err.msg, "cannot open"));
}

static void test_filter_keeps_the_file_frame_numbers(void **state)
{
    (void)state;
    char path[256];
    path_in_tmp(path, sizeof path, "filter.pcap");
    write_pcap(path, 6, PCAP_TSTAMP_PRECISION_MICRO);
    ms_err err;
    int rc;
    uint64_t numbers[8];
    int n = count_frames(path, "udp dst port 80", numbers, &rc, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 3);
    assert_int_equal(numbers[0], 2);
    assert_int_equal(numbers[1], 4);
    assert_int_equal(numbers[2], 6);
}

static void test_bad_filter_is_a_usage_error(void **state)
{
    (void)state;
    char path[256];
    path_in_tmp(path, sizeof path, "badfilter.pcap");
    write_pcap(path, 1, PCAP_TSTAMP_PRECISION_MICRO);
    ms_err err;
    int rc;
    assert_int_equal(count_frames(path, "tcp port banana", NULL, &rc, &err), -1);
    assert_int_equal(rc, MS_EINVAL);
    assert_non_null(strstr(err.msg, "bad filter"));
}

/* Writes a classic pcap by hand: byte order `big` (swapped on this host), nanosecond magic or
 * not, snaplen 2000, n frames of varying sizes; frame `oversize` (1-based, 0 = none) has a
 * caplen past the snaplen, which libpcap cuts and the quick reader leaves to it. */
static void write_raw_pcap(const char *path, int n, bool big, bool nano, int oversize)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    uint32_t w32;
    uint16_t w16;
#define PUT32(v) (w32 = big ? __builtin_bswap32((uint32_t)(v)) : (uint32_t)(v), fwrite(&w32, 4, 1, fp))
#define PUT16(v) (w16 = big ? __builtin_bswap16((uint16_t)(v)) : (uint16_t)(v), fwrite(&w16, 2, 1, fp))
    PUT32(nano ? 0xa1b23c4d : 0xa1b2c3d4);
    PUT16(2);
    PUT16(4);
    PUT32(0);
    PUT32(0);
    PUT32(2000);
    PUT32(1); /* Ethernet */
    uint8_t frame[4000];
    for (int i = 0; i < n; i++) {
        uint32_t len = 42 + (uint32_t)(i * 37 % 1400);
        if (i + 1 == oversize)
            len = 3000;
        for (uint32_t k = 0; k < len; k++)
            frame[k] = (uint8_t)(k * 7 + i);
        PUT32(1000 + i);
        PUT32(i * 13);
        PUT32(len);
        PUT32(len + 4);
        fwrite(frame, 1, len, fp);
    }
#undef PUT32
#undef PUT16
    fclose(fp);
}

/* Every frame of path as (number, time, lengths, a checksum of the bytes), read as the source
 * reads it, or with libpcap alone. Returns the count and the last return code in *rc. */
static int read_all(const char *path, bool libpcap_only, uint64_t *sig, int max, int *rc)
{
    if (libpcap_only)
        setenv("MOONSHARK_LIBPCAP_ONLY", "1", 1);
    ms_err err;
    int code;
    ms_source *s = ms_source_open_file(path, NULL, &err, &code);
    unsetenv("MOONSHARK_LIBPCAP_ONLY");
    assert_non_null(s);
    ms_frame f;
    int n = 0;
    while ((*rc = ms_source_next(s, &f, &err)) == 1 && n < max) {
        uint64_t h = f.number * 31 + f.ts_ns;
        for (uint32_t k = 0; k < f.caplen; k++)
            h = h * 1099511628211ULL ^ f.data[k];
        sig[n++] = h ^ (uint64_t)f.caplen << 48 ^ (uint64_t)f.wirelen << 32;
    }
    ms_source_close(s);
    return n;
}

static void test_quick_reader_gives_libpcaps_frames_in_both_byte_orders_and_across_blocks(void **state)
{
    (void)state;
    static uint64_t a[3000], b[3000];
    for (int variant = 0; variant < 4; variant++) {
        char path[256];
        path_in_tmp(path, sizeof path, "quick.pcap");
        /* 2500 frames of up to 1.4 KB: several 256 KiB read blocks, records cut at block ends */
        write_raw_pcap(path, 2500, variant & 1, variant & 2, 0);
        int rca, rcb;
        int na = read_all(path, false, a, 3000, &rca);
        int nb = read_all(path, true, b, 3000, &rcb);
        assert_int_equal(na, 2500);
        assert_int_equal(nb, 2500);
        assert_int_equal(rca, 0);
        assert_int_equal(rcb, 0);
        assert_memory_equal(a, b, sizeof a[0] * 2500);
    }
}

static void test_record_past_the_snaplen_hands_the_rest_of_the_file_to_libpcap(void **state)
{
    (void)state;
    static uint64_t a[600], b[600];
    char path[256];
    path_in_tmp(path, sizeof path, "oversize.pcap");
    write_raw_pcap(path, 500, false, false, 300);
    int rca, rcb;
    int na = read_all(path, false, a, 600, &rca);
    int nb = read_all(path, true, b, 600, &rcb);
    assert_int_equal(na, nb);
    assert_int_equal(rca, rcb);
    assert_true(na >= 299);
    assert_memory_equal(a, b, sizeof a[0] * (size_t)na);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_microsecond_pcap_timestamps_become_nanoseconds),
        cmocka_unit_test(test_nanosecond_pcap_keeps_nanoseconds),
        cmocka_unit_test(test_pcap_seconds_past_2038_stay_unsigned),
        cmocka_unit_test(test_pcapng_with_nanosecond_resolution_is_read),
        cmocka_unit_test(test_truncated_file_yields_frames_before_the_cut_then_names_the_frame),
        cmocka_unit_test(test_not_a_capture_is_a_format_error_and_missing_file_an_io_error),
        cmocka_unit_test(test_filter_keeps_the_file_frame_numbers),
        cmocka_unit_test(test_bad_filter_is_a_usage_error),
        cmocka_unit_test(test_quick_reader_gives_libpcaps_frames_in_both_byte_orders_and_across_blocks),
        cmocka_unit_test(test_record_past_the_snaplen_hands_the_rest_of_the_file_to_libpcap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
