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

#include "output.h"

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
    assert_string_equal(text, "ts            uid        ok\n"
                              "-             Cabcdefgh  T\n"
                              "22:13:20.123  C1         -\n");
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
