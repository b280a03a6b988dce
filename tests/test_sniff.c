/* test_sniff.c — body media types (lua/sniff.c): the text rules name what Zeek's signatures
 * name (text/json, not libmagic's application/json), binary bodies are typed by libmagic, short
 * or unknown bodies get none, and readers tell the type of a body they skip in C (r:skip,
 * r:skip_chunked, r:skip_all with a sniff argument), after undoing gzip or deflate, whatever the
 * segmentation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lua/ms_lua.h"
#include "lua/sniff.h"

static ms_lua *new_rt(FILE *out)
{
    ms_lua_opts o;
    ms_lua_opts_default(&o);
    o.format = MS_FMT_JSON;
    o.out = out;
    ms_err err;
    ms_lua *rt = ms_lua_new(&o, &err);
    if (!rt)
        fail_msg("ms_lua_new: %s", err.msg);
    return rt;
}

static const char *type_of(ms_lua *rt, const char *bytes, size_t n)
{
    const char *t = ms_lua_mime_type(rt, (const uint8_t *)bytes, n);
    return t ? t : "-";
}
#define TYPE(rt, lit) type_of(rt, lit, sizeof(lit) - 1)

static void test_text_bodies_get_zeeks_names(void **state)
{
    (void)state;
    ms_lua *rt = new_rt(NULL);
    assert_string_equal(TYPE(rt, "<!DOCTYPE html>\n<html><body>x</body></html>"), "text/html");
    assert_string_equal(TYPE(rt, "\n  <!-- a comment -->\n<HTML lang=en><p>hi"), "text/html");
    assert_string_equal(TYPE(rt, "<?xml version=\"1.0\"?>\n<html xmlns=\"x\">"), "text/html");
    assert_string_equal(TYPE(rt, "<head><title>t</title></head>"), "text/html");
    assert_string_equal(TYPE(rt, "<?xml version=\"1.0\"?><catalog/>"), "application/xml");
    assert_string_equal(TYPE(rt, "<?xml version=\"1.0\"?>\n<rss version=\"2.0\">"), "text/rss");
    assert_string_equal(TYPE(rt, "{\"name\": \"value\", \"n\": 1}"), "text/json");
    assert_string_equal(TYPE(rt, "\xef\xbb\xbf [1, 2, 3]"), "text/json");
    assert_string_equal(TYPE(rt, "[{\"a\":1}]"), "text/json");
    assert_string_equal(TYPE(rt, "{}"), "text/json");
    assert_string_equal(TYPE(rt, "#!/bin/sh\necho hi\n"), "text/x-shellscript");
    assert_string_equal(TYPE(rt, "#!/usr/bin/env python3\nprint(1)\n"), "text/x-python");
    assert_string_equal(TYPE(rt, "(function() {\n var a = 1; })();"), "application/javascript");
    assert_string_equal(TYPE(rt, "<script type=\"text/javascript\">var x;</script>"), "application/javascript");
    assert_string_equal(TYPE(rt, "<html><?php echo 1; ?>"), "text/html"); /* html (100) beats php (40) */
    assert_string_equal(TYPE(rt, "hello <?php echo 1; ?>"), "text/x-php");
    assert_string_equal(TYPE(rt, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), "application/pdf");
    assert_string_equal(TYPE(rt, "a=1&b=2&c=three"), "text/plain");
    assert_string_equal(TYPE(rt, "short"), "-"); /* fewer than 10 characters: no type, as Zeek */
    assert_string_equal(TYPE(rt, "{\"broken"), "-");
    ms_lua_free(rt);
}

static void test_binary_bodies_are_typed_by_libmagic(void **state)
{
    (void)state;
    ms_lua *rt = new_rt(NULL);
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xff\x61";
    static const char gif[] = "GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff\0\0\0!\xf9\x04\x01\0\0\0\0,\0\0\0\0";
    static const char jpeg[] = "\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xdb\0C\0\x08\x06\x06";
    assert_string_equal(TYPE(rt, png), "image/png");
    /* the same first 64 bytes again: the cache answers, libmagic is not asked again */
    uint64_t asked = ms_lua_get_stats(rt)->mime_libmagic;
    assert_string_equal(TYPE(rt, png), "image/png");
    assert_int_equal(ms_lua_get_stats(rt)->mime_libmagic, asked);
    assert_string_equal(TYPE(rt, gif), "image/gif");
    assert_string_equal(TYPE(rt, jpeg), "image/jpeg");
    assert_string_equal(TYPE(rt, "\x1f\x8b\x08\0\0\0\0\0\0\x03\xcb\x48\xcd\xc9\xc9\x07\0"), "application/x-gzip");
    assert_string_equal(TYPE(rt, "CWS\x0a\x10\0\0\0x\x9c"), "application/x-shockwave-flash");
    assert_string_equal(TYPE(rt, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"), "-");
    ms_lua_free(rt);
}

/* gzip (windowBits 31) or zlib (15) or raw deflate (-15) of s. */
static size_t pack(const char *s, uint8_t *out, size_t cap, int bits)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)s;
    z.avail_in = (uInt)strlen(s);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

/* A reader parser that skips one body of the length in the first line and logs its type. */
static const char *skip_script =
    "local p = moonshark.protocol{ name = 't', tcp_ports = {80} }\n"
    "function p.client(r)\n"
    "  local line = r:line(100)\n"
    "  local how, n, coding = line:match('^(%S+) (%d+) ?(%S*)$')\n"
    "  local sniff = coding ~= '' and coding or true\n"
    "  local got, mime, ended, problem\n"
    "  if how == 'skip' then got, mime = r:skip(tonumber(n), sniff)\n"
    "  elseif how == 'all' then got, mime = r:skip_all(sniff)\n"
    "  elseif how == 'chunked' then got, ended, problem, mime = r:skip_chunked(100, 100, sniff)\n"
    "  else got, mime = r:skip(tonumber(n)) end\n"
    "  moonshark.emit('t', { n = got, mime = mime or '-' })\n"
    "end\n";

/* Feeds line + body in pieces of step bytes, ends the stream, returns the JSON written. */
static char *run_skip(const char *line, const uint8_t *body, size_t n, size_t step)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ms_lua *rt = new_rt(out);
    ms_err err;
    assert_int_equal(ms_lua_load_string(rt, "t.lua", skip_script, strlen(skip_script), &err), 0);
    ms_lua_conn_info info;
    memset(&info, 0, sizeof info);
    info.uid = "Ctest";
    info.server.port = 80;
    ms_lua_conn *c = ms_lua_conn_open(rt, &info);
    assert_non_null(c);
    size_t total = strlen(line) + n;
    uint8_t *all = malloc(total);
    memcpy(all, line, strlen(line));
    memcpy(all + strlen(line), body, n);
    for (size_t off = 0; off < total; off += step)
        ms_lua_conn_feed(c, MS_LUA_CLIENT, all + off, MS_MIN(step, total - off), 1);
    ms_lua_conn_end(c, MS_LUA_CLIENT);
    ms_lua_conn_close(c, "fin");
    ms_lua_free(rt);
    fclose(out);
    free(all);
    return buf;
}

static void test_readers_type_the_bodies_they_skip_whatever_the_segmentation(void **state)
{
    (void)state;
    const char *html = "<!DOCTYPE html>\n<html><head><title>x</title></head><body>hello</body></html>\n";
    uint8_t gz[512], zl[512], raw[512];
    size_t ngz = pack(html, gz, sizeof gz, 31), nzl = pack(html, zl, sizeof zl, 15), nraw = pack(html, raw, sizeof raw, -15);
    size_t steps[] = { 1, 3, 7, 64, 4096 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char line[64];
        char *out;
        snprintf(line, sizeof line, "skip %zu\n", strlen(html));
        out = run_skip(line, (const uint8_t *)html, strlen(html), steps[i]);
        assert_non_null(strstr(out, "\"mime\":\"text/html\""));
        free(out);
        snprintf(line, sizeof line, "skip %zu gzip\n", ngz);
        out = run_skip(line, gz, ngz, steps[i]);
        assert_non_null(strstr(out, "\"mime\":\"text/html\""));
        free(out);
        snprintf(line, sizeof line, "skip %zu deflate\n", nzl);
        out = run_skip(line, zl, nzl, steps[i]);
        assert_non_null(strstr(out, "\"mime\":\"text/html\""));
        free(out);
        snprintf(line, sizeof line, "skip %zu deflate\n", nraw); /* deflate without the zlib header */
        out = run_skip(line, raw, nraw, steps[i]);
        assert_non_null(strstr(out, "\"mime\":\"text/html\""));
        free(out);
    }
    /* chunked: the type of the decoded body, across chunk boundaries */
    const char *chunked = "5\r\n{\"a\":\r\n6\r\n [1,2]\r\n1\r\n}\r\n0\r\n\r\n";
    char *out = run_skip("chunked 0\n", (const uint8_t *)chunked, strlen(chunked), 2);
    assert_non_null(strstr(out, "\"mime\":\"text/json\""));
    assert_non_null(strstr(out, "\"n\":12"));
    free(out);
    out = run_skip("all 0\n", (const uint8_t *)"plain words for a test", 22, 5);
    assert_non_null(strstr(out, "\"mime\":\"text/plain\""));
    free(out);
    /* without the sniff argument: the count only (no second result) */
    out = run_skip("none 22\n", (const uint8_t *)"plain words for a test", 22, 5);
    assert_non_null(strstr(out, "\"mime\":\"-\""));
    assert_non_null(strstr(out, "\"n\":22"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_bodies_get_zeeks_names),
        cmocka_unit_test(test_binary_bodies_are_typed_by_libmagic),
        cmocka_unit_test(test_readers_type_the_bodies_they_skip_whatever_the_segmentation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
