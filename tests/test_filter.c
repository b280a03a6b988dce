/* test_filter.c — the display filter (-Y) and the views of a log (-e columns, live output, the
 * narrow table, #open/#close): syntax errors say where, comparisons follow the documented rules
 * (numbers as numbers, sets by any item, unset fields compare false), and the sinks write only
 * what the view keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/filter.h"
#include "output/output.h"

static const ms_field_def fields[] = {
    { "ts", MS_FIELD_TIME },      { "uid", MS_FIELD_STRING },        { "id.resp_p", MS_FIELD_PORT },
    { "tags", MS_FIELD_SET },     { "ok", MS_FIELD_BOOL },           { "host", MS_FIELD_STRING },
    { "status_code", MS_FIELD_COUNT }, { "rtt", MS_FIELD_DOUBLE },    { "delta", MS_FIELD_INT },
};
enum { TS, UID, PORT, TAGS, OK, HOST, STATUS, RTT, DELTA, NF };

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
    s->out = ms_output_open("web", fields, NF, fmt, s->fp, NULL, &err);
    assert_non_null(s->out);
}

static char *sink_close(sink *s)
{
    assert_int_equal(ms_output_close(s->out), 0);
    fclose(s->fp);
    return s->buf;
}

/* The record every match test looks at: a 404 from example.com on port 8080. */
static void one_record(ms_output *o)
{
    ms_output_begin(o);
    ms_output_time(o, TS, 1700000000500000000ULL);
    ms_output_cstr(o, UID, "Cabc");
    ms_output_uint(o, PORT, 8080);
    ms_output_set_add(o, TAGS, "gap", 3);
    ms_output_set_add(o, TAGS, "tunnel", 6);
    ms_output_bool(o, OK, false);
    ms_output_cstr(o, HOST, "api.example.com");
    ms_output_uint(o, STATUS, 404);
    ms_output_int(o, DELTA, -3);
}

/* Whether expr accepts one_record. */
static bool matches(const char *expr)
{
    sink s;
    sink_open(&s, MS_FMT_JSON);
    ms_err err;
    ms_filter *f = ms_filter_new(expr, fields, NF, "web", &err);
    if (!f)
        fail_msg("'%s' did not compile: %s", expr, err.msg);
    one_record(s.out);
    bool m = ms_filter_match(f, s.out);
    ms_output_end(s.out);
    ms_filter_free(f);
    free(sink_close(&s));
    return m;
}

static void test_numbers_compare_as_numbers_and_text_as_text(void **state)
{
    (void)state;
    assert_true(matches("status_code >= 400"));
    assert_true(matches("status_code == 404 && id.resp_p == 8080"));
    assert_false(matches("status_code < 400"));
    assert_true(matches("status_code != 200"));
    assert_true(matches("delta < 0 and delta > -4"));
    assert_true(matches("ts >= 1700000000.5 and ts < 1700000000.6")); /* times in seconds */
    assert_true(matches("host == \"api.example.com\""));
    assert_true(matches("host > 'api' and host < 'b'"));    /* byte order */
    assert_true(matches("id.resp_p == \"8080\""));           /* a number field against text: its TSV text */
    assert_true(matches("ok == false and not ok == true"));
    assert_true(matches("uid eq 'Cabc' and status_code ge 404 and status_code le 404"));
}

static void test_regex_contains_and_sets_match_by_any_item(void **state)
{
    (void)state;
    assert_true(matches("host ~ \"^api\\\\.\""));
    assert_false(matches("host ~ '^www'"));
    assert_true(matches("host !~ '^www'"));
    assert_true(matches("host contains \"example\""));
    assert_true(matches("host matches 'EXAMPLE|example'"));
    assert_true(matches("tags == \"tunnel\""));
    assert_true(matches("tags contains 'gap'"));
    assert_false(matches("tags == \"socks\""));
    assert_true(matches("tags != \"socks\""));      /* no item is socks */
    assert_false(matches("tags != \"gap\""));       /* one item is gap */
}

static void test_unset_fields_compare_false_and_lone_fields_test_presence(void **state)
{
    (void)state;
    assert_false(matches("rtt > 0"));
    assert_false(matches("rtt != 1"));   /* unset: false whatever the operator */
    assert_false(matches("rtt == 1"));
    assert_true(matches("not rtt"));
    assert_true(matches("host and status_code"));
    assert_false(matches("rtt or not host"));
}

static void test_and_binds_tighter_than_or_and_parentheses_group(void **state)
{
    (void)state;
    assert_true(matches("status_code == 200 and host == 'x' or status_code == 404"));
    assert_false(matches("status_code == 200 and (host == 'x' or status_code == 404)"));
    assert_true(matches("!(status_code == 200) && (id.resp_p == 80 || id.resp_p == 8080)"));
    assert_true(matches("not not host"));
}

/* ms_filter_new's error for expr, against no fields when syntax_only. */
static const char *error_of(const char *expr, bool syntax_only)
{
    static ms_err err;
    ms_filter *f = ms_filter_new(expr, syntax_only ? NULL : fields, syntax_only ? 0 : NF, "web", &err);
    if (f) {
        ms_filter_free(f);
        fail_msg("'%s' compiled", expr);
    }
    return err.msg;
}

static void test_syntax_errors_say_what_and_where(void **state)
{
    (void)state;
    assert_non_null(strstr(error_of("status_code >= ", true), "column 16"));
    assert_non_null(strstr(error_of("(host == 'a'", true), "'(' without its ')'"));
    assert_non_null(strstr(error_of("host == 'a')", true), "')' without its '('"));
    assert_non_null(strstr(error_of("host == 'a", true), "closing quote"));
    assert_non_null(strstr(error_of("host = = 1", true), "expected a field or a value"));
    assert_non_null(strstr(error_of("host # 1", true), "unexpected '#'"));
    assert_non_null(strstr(error_of("", true), "empty"));
    assert_non_null(strstr(error_of("'a'", true), "a value alone"));
    assert_non_null(strstr(error_of("host ~ status_code", true), "quoted regular expression"));
    assert_non_null(strstr(error_of("host ~ '('", true), "bad regular expression"));
    assert_non_null(strstr(error_of("host == 1 1", true), "expected and, or or the end"));
    const char *e = error_of("hots == 'a'", false);
    assert_non_null(strstr(e, "no field 'hots'"));
    assert_non_null(strstr(e, "its fields: ts uid"));
}

static void test_a_view_writes_the_chosen_columns_of_the_kept_records(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_TSV);
    const char *sel[] = { "status_code", "host", "tags" };
    ms_err err;
    assert_int_equal(ms_output_set_view(s.out, "status_code >= 400", sel, 3, &err), 0);
    one_record(s.out);
    ms_output_end(s.out);
    ms_output_begin(s.out); /* a 200: filtered out */
    ms_output_uint(s.out, STATUS, 200);
    ms_output_end(s.out);
    ms_output_begin(s.out); /* a 500 with an empty set */
    ms_output_uint(s.out, STATUS, 500);
    ms_output_cstr(s.out, HOST, "b");
    ms_output_set_add(s.out, TAGS, "x", 1);
    ms_output_end(s.out);
    assert_int_equal(ms_output_records(s.out), 3);
    assert_int_equal(ms_output_filtered(s.out), 1);
    char *text = sink_close(&s);
    assert_non_null(strstr(text, "#fields\tstatus_code\thost\ttags\n#types\tcount\tstring\tset[string]\n"));
    assert_non_null(strstr(text, "\n404\tapi.example.com\tgap,tunnel\n500\tb\tx\n#close\t"));
    assert_null(strstr(text, "200"));
    assert_non_null(strstr(text, "#path\tweb\n#open\t"));
    free(text);
}

static void test_a_view_refuses_unknown_columns_and_comes_before_records(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_JSON);
    ms_err err;
    const char *bad[] = { "host", "nope" };
    assert_int_equal(ms_output_set_view(s.out, NULL, bad, 2, &err), MS_EINVAL);
    assert_non_null(strstr(err.msg, "-e: the web log has no field 'nope'"));
    free(sink_close(&s));
    sink_open(&s, MS_FMT_JSON);
    one_record(s.out);
    ms_output_end(s.out);
    assert_int_equal(ms_output_set_view(s.out, "host", NULL, 0, &err), MS_EINVAL);
    free(sink_close(&s));
}

static void test_json_view_keeps_types_and_leaves_unset_out(void **state)
{
    (void)state;
    sink s;
    sink_open(&s, MS_FMT_JSON);
    const char *sel[] = { "id.resp_p", "rtt", "ok", "ts" };
    ms_err err;
    assert_int_equal(ms_output_set_view(s.out, "", sel, 4, &err), 0);
    one_record(s.out);
    ms_output_end(s.out);
    char *text = sink_close(&s);
    assert_string_equal(text, "{\"id.resp_p\":8080,\"ok\":false,\"ts\":1700000000.500000}\n");
    free(text);
}

static void test_a_narrow_table_keeps_the_named_columns_and_cuts_with_an_ellipsis(void **state)
{
    (void)state;
    setenv("COLUMNS", "44", 1);
    setenv("LANG", "C.UTF-8", 1);
    sink s;
    sink_open(&s, MS_FMT_TABLE);
    const char *keep[] = { "ts", "host", "status_code" };
    assert_int_equal(ms_output_set_table_keep(s.out, keep, 3), 0);
    for (int i = 0; i < 3; i++) {
        one_record(s.out);
        ms_output_cstr(s.out, HOST, i ? "a-long-host-name.example.com" : "api.example.com");
        ms_output_end(s.out);
    }
    char *text = sink_close(&s);
    unsetenv("COLUMNS");
    /* 23 (a dated time) + 2 + the host cut to 13 + 2 + 4 (a column name is cut to 4 at least) */
    assert_string_equal(text, "ts                       host           sta\xe2\x80\xa6\n"
                              "2023-11-14 22:13:20.500  api.example.\xe2\x80\xa6  404\n"
                              "2023-11-14 22:13:20.500  a-long-host-\xe2\x80\xa6  404\n"
                              "2023-11-14 22:13:20.500  a-long-host-\xe2\x80\xa6  404\n");
    free(text);
}

static void test_a_live_table_writes_each_row_as_it_comes(void **state)
{
    (void)state;
    unsetenv("COLUMNS");
    sink s;
    sink_open(&s, MS_FMT_TABLE);
    ms_output_set_live(s.out, true);
    one_record(s.out);
    ms_output_end(s.out);
    /* the header and the first row are out before any other record or the close */
    assert_non_null(s.buf);
    assert_non_null(strstr(s.buf, "api.example.com"));
    assert_non_null(strstr(s.buf, "host"));
    free(sink_close(&s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_compare_as_numbers_and_text_as_text),
        cmocka_unit_test(test_regex_contains_and_sets_match_by_any_item),
        cmocka_unit_test(test_unset_fields_compare_false_and_lone_fields_test_presence),
        cmocka_unit_test(test_and_binds_tighter_than_or_and_parentheses_group),
        cmocka_unit_test(test_syntax_errors_say_what_and_where),
        cmocka_unit_test(test_a_view_writes_the_chosen_columns_of_the_kept_records),
        cmocka_unit_test(test_a_view_refuses_unknown_columns_and_comes_before_records),
        cmocka_unit_test(test_json_view_keeps_types_and_leaves_unset_out),
        cmocka_unit_test(test_a_narrow_table_keeps_the_named_columns_and_cuts_with_an_ellipsis),
        cmocka_unit_test(test_a_live_table_writes_each_row_as_it_comes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
