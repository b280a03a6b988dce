/* test_output.c — the record sinks: JSON lines jq can read, Zeek TSV headers and escaping,
 * unset fields, sets, the aligned table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"

static const ms_field_def fields[] = {
    { "ts", MS_FIELD_TIME }, { "uid", MS_FIELD_STRING }, { "id.orig_p", MS_FIELD_PORT },
    { "tags", MS_FIELD_SET }, { "ok", MS_FIELD_BOOL },
};

typedef struct sink {
    char *buf;
    size_t len;
    FILE *fp;
    ms_output *out;
} sink;

static void sink_open(sink *s, ms_out_format fmt)
{
    ms_err err;
    s->buf = NULL;
    s->len = 0;
    s->fp = open_memstream(&s->buf, &s->len);
    assert_non_null(s->fp);
    s->out = ms_output_open("test", fields, 5, fmt, s->fp, NULL, &err);
    assert_non_null(s->out);
}

static char *sink_close(sink *s)
{
    assert_int_equal(ms_output_close(s->out), 0);
    fclose(s->fp);
    return s->buf;
}

/* The text without the TSV's closing "#close<TAB>time" line (its time changes run to run). */
static char *drop_close(char *text)
{
    char *c = strstr(text, "\n#close\t");
    if (c)
        c[1] = '\0';
    return text;
}

static void test_json_leaves_unset_fields_out_and_types_numbers(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_JSON);
    ms_output_begin(s.out);
    ms_output_time(s.out, 0, 1700000000123456789ULL);
    ms_output_uint(s.out, 2, 8080);
    ms_output_bool(s.out, 4, true);
    assert_int_equal(ms_output_end(s.out), 0);
    char *text = sink_close(&s);
    assert_string_equal(text, "{\"ts\":1700000000.123457,\"id.orig_p\":8080,\"ok\":true}\n");
    free(text);
}

static void test_json_escapes_controls_quotes_and_invalid_utf8(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_JSON);
    ms_output_begin(s.out);
    const char raw[] = "a\"b\\c\n\x01\xff\xc3\xa9";
    ms_output_str(s.out, 1, raw, sizeof raw - 1);
    ms_output_set_add(s.out, 3, "x", 1);
    ms_output_set_add(s.out, 3, "y,z", 3);
    ms_output_end(s.out);
    char *text = sink_close(&s);
    assert_string_equal(text, "{\"uid\":\"a\\\"b\\\\c\\n\\u0001\\\\xff\xc3\xa9\",\"tags\":[\"x\",\"y,z\"]}\n");
    free(text);
}

static void test_tsv_writes_zeek_header_once_and_marks_unset_and_empty(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_TSV);
    for (int i = 0; i < 2; i++) {
        ms_output_begin(s.out);
        ms_output_str(s.out, 1, "", 0);
        ms_output_uint(s.out, 2, (uint64_t)i);
        ms_output_end(s.out);
    }
    char *text = sink_close(&s);
    assert_non_null(strstr(text, "#fields\tts\tuid\tid.orig_p\ttags\tok\n"));
    assert_non_null(strstr(text, "#types\ttime\tstring\tport\tset[string]\tbool\n"));
    assert_non_null(strstr(text, "\n-\t(empty)\t0\t-\t-\n-\t(empty)\t1\t-\t-\n"));
    const char *fields_line = strstr(text, "#fields");
    assert_null(strstr(fields_line + 1, "#fields")); /* header written once */
    free(text);
}

static void test_tsv_escapes_tabs_and_set_commas(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_TSV);
    ms_output_begin(s.out);
    ms_output_str(s.out, 1, "a\tb", 3);
    ms_output_set_add(s.out, 3, "p,q", 3);
    ms_output_set_add(s.out, 3, "r", 1);
    ms_output_end(s.out);
    char *text = sink_close(&s);
    assert_non_null(strstr(text, "\n-\ta\\x09b\t-\tp\\x2cq,r\t-\n"));
    free(text);
}

static void test_table_aligns_columns_and_hides_columns_never_set(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_TABLE);
    ms_output_begin(s.out);
    ms_output_cstr(s.out, 1, "Cabcdefgh");
    ms_output_bool(s.out, 4, true);
    ms_output_end(s.out);
    ms_output_begin(s.out);
    ms_output_cstr(s.out, 1, "C1");
    ms_output_time(s.out, 0, 1700000000123456789ULL);
    ms_output_end(s.out);
    char *text = sink_close(&s);
    assert_string_equal(text, "ts                       uid        ok\n"
                              "-                        Cabcdefgh  T\n"
                              "2023-11-14 22:13:20.123  C1         -\n");
    free(text);
}

static void test_two_sets_in_one_record_keep_their_own_items(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_JSON);
    static const ms_field_def two[] = { { "a", MS_FIELD_SET }, { "b", MS_FIELD_SET } };
    ms_err err;
    ms_output *o = ms_output_open("two", two, 2, MS_FMT_JSON, s.fp, NULL, &err);
    ms_output_begin(o);
    ms_output_set_add(o, 0, "x", 1);
    ms_output_set_add(o, 0, "y", 1);
    ms_output_set_add(o, 1, "text/html", 9);
    ms_output_end(o);
    ms_output_close(o);
    char *text = sink_close(&s);
    assert_string_equal(text, "{\"a\":[\"x\",\"y\"],\"b\":[\"text/html\"]}\n");
    free(text);
}

static void test_times_round_to_the_nearest_microsecond(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_TSV);
    ms_output_begin(s.out);
    ms_output_time(s.out, 0, 1299999999999999500ULL);
    ms_output_end(s.out);
    char *text = sink_close(&s);
    assert_non_null(strstr(text, "\n1300000000.000000\t"));
    free(text);
}

static void test_later_set_of_a_field_replaces_the_earlier(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_JSON);
    ms_output_begin(s.out);
    ms_output_cstr(s.out, 1, "first");
    ms_output_cstr(s.out, 1, "second");
    ms_output_end(s.out);
    ms_output_begin(s.out);
    ms_output_end(s.out);
    char *text = sink_close(&s);
    assert_string_equal(text, "{\"uid\":\"second\"}\n{}\n");
    free(text);
}

/* ---- escaping against a reference, at every length and position --------------------------- */

/* The rules, written out byte by byte: the sink finds plain runs 16 or 8 bytes at a time, so
 * every length around those sizes and every position of the special bytes is checked. */
static size_t ref_utf8_len(const unsigned char *s, size_t n)
{
    size_t need;
    uint32_t cp, min;
    if (s[0] >= 0xc0 && s[0] <= 0xdf) {
        need = 2, cp = s[0] & 0x1fu, min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        need = 3, cp = s[0] & 0x0fu, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf7) {
        need = 4, cp = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t k = 1; k < need; k++) {
        if (s[k] < 0x80 || s[k] > 0xbf)
            return 0;
        cp = cp * 64 + (s[k] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

static char *ref_json(const unsigned char *s, size_t n)
{
    char *out = malloc(n * 6 + 3), *d = out;
    assert_non_null(out);
    *d++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t u = c >= 0x80 ? ref_utf8_len(s + i, n - i) : 0;
        if (u) {
            memcpy(d, s + i, u);
            d += u;
            i += u;
            continue;
        }
        if (c == '"' || c == '\\')
            d += sprintf(d, "\\%c", c);
        else if (c == '\n')
            d += sprintf(d, "\\n");
        else if (c == '\r')
            d += sprintf(d, "\\r");
        else if (c == '\t')
            d += sprintf(d, "\\t");
        else if (c < 0x20 || c == 0x7f)
            d += sprintf(d, "\\u%04x", c);
        else if (c >= 0x80)
            d += sprintf(d, "\\\\x%02x", c);
        else
            *d++ = (char)c;
        i++;
    }
    *d++ = '"';
    *d = '\0';
    return out;
}

static char *ref_text(const unsigned char *s, size_t n, bool in_set)
{
    char *out = malloc(n * 4 + 8), *d = out;
    assert_non_null(out);
    if (n == 0)
        return strcpy(out, "(empty)");
    if (n == 1 && s[0] == '-')
        return strcpy(out, "\\x2d");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        size_t seq = c >= 0x80 ? ref_utf8_len(s + i, n - i) : 0;
        if (seq) {
            memcpy(d, s + i, seq);
            d += seq;
            i += seq - 1;
        } else if (c < 0x20 || c >= 0x7f || c == '\\' || (in_set && c == ','))
            d += sprintf(d, "\\x%02x", c);
        else
            *d++ = (char)c;
    }
    *d = '\0';
    return out;
}

/* One record with string column 1 ("uid") and one item in set column 3 ("tags") set to the
 * same bytes, lent from an exactly sized heap copy (ASan sees any read past it) or copied. */
static char *render_one(ms_out_format fmt, const unsigned char *bytes, size_t n, bool borrowed)
{
    sink s;
    sink_open(&s, fmt);
    unsigned char *exact = malloc(n ? n : 1);
    assert_non_null(exact);
    memcpy(exact, bytes, n);
    ms_output_begin(s.out);
    if (borrowed) {
        ms_output_str_borrowed(s.out, 1, (const char *)exact, n);
        ms_output_set_add_borrowed(s.out, 3, (const char *)exact, n);
    } else {
        ms_output_str(s.out, 1, (const char *)exact, n);
        ms_output_set_add(s.out, 3, (const char *)exact, n);
    }
    assert_int_equal(ms_output_end(s.out), 0);
    free(exact);
    return sink_close(&s);
}

static void check_both_formats(const unsigned char *bytes, size_t n, bool borrowed)
{
    char *j = ref_json(bytes, n);
    char *want = malloc(strlen(j) * 2 + 32);
    assert_non_null(want);
    sprintf(want, "{\"uid\":%s,\"tags\":[%s]}\n", j, j);
    char *got = render_one(MS_FMT_JSON, bytes, n, borrowed);
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(j);

    char *t = ref_text(bytes, n, false), *ts = ref_text(bytes, n, true);
    want = malloc(strlen(t) + strlen(ts) + 32);
    assert_non_null(want);
    sprintf(want, "\n-\t%s\t-\t%s\t-\n", t, ts);
    got = drop_close(render_one(MS_FMT_TSV, bytes, n, borrowed));
    const char *row = strstr(got, "#types");
    assert_non_null(row);
    row = strchr(row, '\n');
    assert_string_equal(row, want);
    free(got);
    free(want);
    free(t);
    free(ts);
}

static void test_escaping_matches_the_rules_at_every_length_and_position(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
    } specials[] = {
        { "\"", 1 }, { "\\", 1 }, { "\n", 1 }, { "\r", 1 }, { "\t", 1 }, { "\x01", 1 }, { "\x1f", 1 },
        { "\x7f", 1 }, { ",", 1 }, { "\x80", 1 }, { "\xff", 1 }, { "\xc3\xa9", 2 }, { "\xe2\x82\xac", 3 },
        { "\xf0\x9f\x98\x80", 4 }, { "\xc0\xaf", 2 }, { "\xed\xa0\x80", 3 }, { "\xf4\x90\x80\x80", 4 },
        { "\xe2\x82", 2 }, { "\x00", 1 },
    };
    unsigned char buf[80];
    for (size_t len = 0; len <= 40; len++) {
        memset(buf, 'a' + (int)(len % 26), len);
        check_both_formats(buf, len, len % 2 == 0);
        for (size_t k = 0; k < MS_ARRAY_LEN(specials); k++) {
            for (size_t pos = 0; pos + specials[k].len <= len; pos++) {
                memset(buf, 'b', len);
                memcpy(buf + pos, specials[k].bytes, specials[k].len);
                check_both_formats(buf, len, (pos + k) % 2 == 0);
            }
        }
    }
    /* two specials apart by every distance, in a string crossing two 16-byte blocks */
    for (size_t a = 0; a < 40; a++) {
        for (size_t b = a + 1; b < 40; b++) {
            memset(buf, 'c', 40);
            buf[a] = '"';
            buf[b] = 0x01;
            check_both_formats(buf, 40, (a + b) % 2 == 0);
        }
    }
}

static void test_json_writes_each_control_byte_and_del_as_zeek_does(void **state)
{
    (void)state;
    unsigned char ctl[33];
    for (int c = 0; c < 32; c++)
        ctl[c] = (unsigned char)c;
    ctl[32] = 0x7f;
    char *text = render_one(MS_FMT_JSON, ctl, sizeof ctl, true);
    const char *want_value = "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\u0008\\t\\n\\u000b\\u000c\\r"
                             "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019"
                             "\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\u007f\"";
    char want[512];
    snprintf(want, sizeof want, "{\"uid\":%s,\"tags\":[%s]}\n", want_value, want_value);
    assert_string_equal(text, want);
    free(text);
}

static void test_json_passes_valid_utf8_and_writes_invalid_bytes_as_text(void **state)
{
    (void)state;
    /* é, €, 😀 pass; a lone continuation, an overlong '/', a surrogate, a code point past
     * U+10FFFF and a sequence cut by the end do not */
    const char raw[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\x80|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82";
    sink s;
    sink_open(&s, MS_FMT_JSON);
    ms_output_begin(s.out);
    ms_output_str(s.out, 1, raw, sizeof raw - 1);
    ms_output_end(s.out);
    char *text = sink_close(&s);
    assert_string_equal(text, "{\"uid\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\\\\x80|\\\\xc0\\\\xaf|\\\\xed\\\\xa0\\\\x80|"
                              "\\\\xf4\\\\x90\\\\x80\\\\x80|\\\\xe2\\\\x82\"}\n");
    free(text);
}

static void test_tsv_escapes_controls_del_backslash_and_invalid_utf8_but_passes_valid_utf8(void **state)
{
    (void)state;
    const unsigned char raw[] = "a\x01\x7f\\\xc3\xa9\xff,b";
    char *text = render_one(MS_FMT_TSV, raw, sizeof raw - 1, true);
    assert_non_null(strstr(text, "\n-\ta\\x01\\x7f\\x5c\xc3\xa9\\xff,b\t-\ta\\x01\\x7f\\x5c\xc3\xa9\\xff\\x2cb\t-\n"));
    free(text);
    /* overlong, surrogate, past U+10FFFF, cut short, lone continuation; then a 4-byte one, in a
     * string long enough for the 16-byte scan */
    const unsigned char bad[] = "0123456789abcdef\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82|\x80\xf0\x9f\x98\x80";
    text = render_one(MS_FMT_TSV, bad, sizeof bad - 1, false);
    assert_non_null(strstr(text, "\t0123456789abcdef\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\\xe2\\x82|\\x80\xf0\x9f\x98\x80\t"));
    free(text);
    /* only a lone '-' reads as unset; the empty string is (empty) in both cells */
    text = render_one(MS_FMT_TSV, (const unsigned char *)"--", 2, false);
    assert_non_null(strstr(text, "\n-\t--\t-\t--\t-\n"));
    free(text);
    text = render_one(MS_FMT_TSV, (const unsigned char *)"", 0, true);
    assert_non_null(strstr(text, "\n-\t(empty)\t-\t(empty)\t-\n"));
    free(text);
    text = render_one(MS_FMT_JSON, (const unsigned char *)"", 0, true);
    assert_string_equal(text, "{\"uid\":\"\",\"tags\":[\"\"]}\n");
    free(text);
}

/* ---- numbers, keys, growth, lent values ------------------------------------------------- */

static void test_numbers_print_like_printf_at_their_limits(void **state)
{
    (void)state;
    static const ms_field_def nums[] = {
        { "c", MS_FIELD_COUNT }, { "i", MS_FIELD_INT }, { "d", MS_FIELD_DOUBLE }, { "t", MS_FIELD_TIME },
        { "iv", MS_FIELD_INTERVAL }, { "b", MS_FIELD_BOOL },
    };
    static const uint64_t counts[] = { 0, 9, 10, 99, 100, 4294967295ULL, 4294967296ULL, 9999999999ULL,
                                       10000000000ULL, 18446744073709551615ULL };
    static const int64_t ints[] = { 0, -1, 7, INT64_MIN, INT64_MAX };
    static const double doubles[] = { 0.0, -2.5, 1e300, 0.0 / 0.0 };
    static const uint64_t times[] = { 0, 999, 1000, 1500, 1700000000123456499ULL, 18446744073709551615ULL };
    sink s;
    sink_open(&s, MS_FMT_JSON);
    ms_err err;
    ms_output *o = ms_output_open("nums", nums, 6, MS_FMT_JSON, s.fp, NULL, &err);
    for (size_t k = 0; k < 10; k++) {
        ms_output_begin(o);
        ms_output_uint(o, 0, counts[k]);
        if (k < MS_ARRAY_LEN(ints))
            ms_output_int(o, 1, ints[k]);
        if (k < MS_ARRAY_LEN(doubles))
            ms_output_double(o, 2, doubles[k]);
        if (k < MS_ARRAY_LEN(times)) {
            ms_output_time(o, 3, times[k]);
            ms_output_int(o, 4, (int64_t)times[k]);
        }
        ms_output_bool(o, 5, k % 2 == 1);
        assert_int_equal(ms_output_end(o), 0);
    }
    ms_output_close(o);
    char *text = sink_close(&s);
    assert_string_equal(text,
        "{\"c\":0,\"i\":0,\"d\":0.000000,\"t\":0.000000,\"iv\":0.000000,\"b\":false}\n"
        "{\"c\":9,\"i\":-1,\"d\":-2.500000,\"t\":0.000001,\"iv\":0.000001,\"b\":true}\n"
        "{\"c\":10,\"i\":7,\"d\":100000000000000005250476025520442024870446858110815915491585411,"
        "\"t\":0.000001,\"iv\":0.000001,\"b\":false}\n"
        "{\"c\":99,\"i\":-9223372036854775808,\"d\":0,\"t\":0.000002,\"iv\":0.000002,\"b\":true}\n"
        "{\"c\":100,\"i\":9223372036854775807,\"t\":1700000000.123456,\"iv\":1700000000.123456,\"b\":false}\n"
        "{\"c\":4294967295,\"t\":18446744073.709552,\"iv\":0.000000,\"b\":true}\n"
        "{\"c\":4294967296,\"b\":false}\n"
        "{\"c\":9999999999,\"b\":true}\n"
        "{\"c\":10000000000,\"b\":false}\n"
        "{\"c\":18446744073709551615,\"b\":true}\n");
    free(text);
}

static void test_column_names_are_escaped_once_as_json_keys(void **state)
{
    (void)state;
    static const ms_field_def odd[] = {
        { "a\"b", MS_FIELD_COUNT }, { "tab\there", MS_FIELD_STRING },
        { "a_name_longer_than_thirty_two_bytes_for_the_key_copy", MS_FIELD_COUNT },
    };
    sink s;
    sink_open(&s, MS_FMT_JSON);
    ms_err err;
    ms_output *o = ms_output_open("odd", odd, 3, MS_FMT_JSON, s.fp, NULL, &err);
    for (int r = 0; r < 3; r++) {
        ms_output_begin(o);
        if (r != 1)
            ms_output_uint(o, 0, 1);
        ms_output_cstr(o, 1, "v");
        if (r != 0)
            ms_output_uint(o, 2, 2);
        ms_output_end(o);
    }
    ms_output_close(o);
    char *text = sink_close(&s);
    assert_string_equal(text,
        "{\"a\\\"b\":1,\"tab\\there\":\"v\"}\n"
        "{\"tab\\there\":\"v\",\"a_name_longer_than_thirty_two_bytes_for_the_key_copy\":2}\n"
        "{\"a\\\"b\":1,\"tab\\there\":\"v\",\"a_name_longer_than_thirty_two_bytes_for_the_key_copy\":2}\n");
    free(text);
}

static void test_long_values_grow_the_line_and_short_ones_follow_intact(void **state)
{
    (void)state;
    enum { BIG = 300000 };
    unsigned char *ctl = malloc(BIG);
    assert_non_null(ctl);
    memset(ctl, 0x01, BIG); /* six output bytes per input byte: the worst case */
    sink s;
    sink_open(&s, MS_FMT_JSON);
    ms_output_begin(s.out);
    ms_output_cstr(s.out, 1, "small");
    ms_output_end(s.out);
    ms_output_begin(s.out);
    ms_output_str_borrowed(s.out, 1, (const char *)ctl, BIG);
    for (int k = 0; k < 50; k++)
        ms_output_set_add(s.out, 3, (const char *)ctl, 1000);
    assert_int_equal(ms_output_end(s.out), 0);
    ms_output_begin(s.out);
    ms_output_cstr(s.out, 1, "small again");
    ms_output_end(s.out);
    free(ctl);
    char *text = sink_close(&s);
    assert_true(strncmp(text, "{\"uid\":\"small\"}\n{\"uid\":\"\\u0001\\u0001", 36) == 0);
    const char *second = strchr(text, '\n') + 1;
    const char *third = strchr(second, '\n') + 1;
    /* {"uid":"..."} with BIG escapes, ,"tags":[ and 50 items of 1000 escapes, quotes and commas */
    size_t want = 8 + (size_t)BIG * 6 + 1 + 9 + 50 * (1000 * 6 + 2) + 49 + 2 + 1;
    assert_int_equal((size_t)(third - second), want);
    for (size_t i = 8; i < 8 + (size_t)BIG * 6; i += 6)
        if (memcmp(second + i, "\\u0001", 6) != 0)
            fail_msg("escape %zu is wrong", (i - 8) / 6);
    assert_string_equal(third, "{\"uid\":\"small again\"}\n");
    free(text);
}

static void test_lent_and_copied_values_mix_in_one_record(void **state)
{
    (void)state;
    char lent[] = "lent";
    sink s;
    sink_open(&s, MS_FMT_TSV);
    ms_output_begin(s.out);
    ms_output_str_borrowed(s.out, 1, lent, 4);
    ms_output_cstr(s.out, 1, "copied"); /* the later set replaces the lent one */
    ms_output_set_add(s.out, 3, "one", 3);
    ms_output_set_add_borrowed(s.out, 3, lent, 4);
    ms_output_set_add(s.out, 3, "three", 5);
    ms_output_end(s.out);
    ms_output_begin(s.out);
    ms_output_str_borrowed(s.out, 1, lent, 2);
    ms_output_end(s.out);
    char *text = sink_close(&s);
    assert_non_null(strstr(text, "\n-\tcopied\t-\tone,lent,three\t-\n-\tle\t-\t-\t-\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_leaves_unset_fields_out_and_types_numbers),
        cmocka_unit_test(test_json_escapes_controls_quotes_and_invalid_utf8),
        cmocka_unit_test(test_tsv_writes_zeek_header_once_and_marks_unset_and_empty),
        cmocka_unit_test(test_tsv_escapes_tabs_and_set_commas),
        cmocka_unit_test(test_table_aligns_columns_and_hides_columns_never_set),
        cmocka_unit_test(test_later_set_of_a_field_replaces_the_earlier),
        cmocka_unit_test(test_two_sets_in_one_record_keep_their_own_items),
        cmocka_unit_test(test_times_round_to_the_nearest_microsecond),
        cmocka_unit_test(test_escaping_matches_the_rules_at_every_length_and_position),
        cmocka_unit_test(test_json_writes_each_control_byte_and_del_as_zeek_does),
        cmocka_unit_test(test_json_passes_valid_utf8_and_writes_invalid_bytes_as_text),
        cmocka_unit_test(test_tsv_escapes_controls_del_backslash_and_invalid_utf8_but_passes_valid_utf8),
        cmocka_unit_test(test_numbers_print_like_printf_at_their_limits),
        cmocka_unit_test(test_column_names_are_escaped_once_as_json_keys),
        cmocka_unit_test(test_long_values_grow_the_line_and_short_ones_follow_intact),
        cmocka_unit_test(test_lent_and_copied_values_mix_in_one_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
