/* test_digest.c — MD5 and SHA-256 (lua/digest.c) against the published vectors (RFC 1321
 * appendix A.5, FIPS 180-2 appendix B, the one-million-'a' message, hashlib at the padding
 * boundaries), the Lua functions moonshark.md5 / moonshark.sha256 against the C ones at every
 * length from 0 to 200, and the JA4 spec's worked example hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lua/digest.h"
#include "lua/ms_lua.h"

static void md5_hex(const char *s, size_t len, char out[33])
{
    uint8_t d[MS_MD5_LEN];
    ms_md5(s, len, d);
    ms_digest_hex(d, sizeof d, out);
}

static void sha256_hex(const char *s, size_t len, char out[65])
{
    uint8_t d[MS_SHA256_LEN];
    ms_sha256(s, len, d);
    ms_digest_hex(d, sizeof d, out);
}

static void test_md5_matches_rfc1321_vectors(void **state)
{
    (void)state;
    static const struct { const char *in, *hex; } v[] = {
        { "", "d41d8cd98f00b204e9800998ecf8427e" },
        { "a", "0cc175b9c0f1b6a831c399e269772661" },
        { "abc", "900150983cd24fb0d6963f7d28e17f72" },
        { "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
        { "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
        { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
          "d174ab98d277d9f5a5611c2c9f419d9f" },
        { "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
          "57edf4a22be3c955ac49da2e2107b67a" },
    };
    char hex[33];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        md5_hex(v[i].in, strlen(v[i].in), hex);
        assert_string_equal(hex, v[i].hex);
    }
}

static void test_sha256_matches_fips180_vectors(void **state)
{
    (void)state;
    static const struct { const char *in, *hex; } v[] = {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
          "mnopqrstnopqrstu",
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
    };
    char hex[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        sha256_hex(v[i].in, strlen(v[i].in), hex);
        assert_string_equal(hex, v[i].hex);
    }
}

/* Messages of n 'a's at the padding boundaries (one block, two blocks, a full block of padding);
 * expected digests from Python's hashlib, an independent implementation. */
static void test_padding_boundaries_match_hashlib(void **state)
{
    (void)state;
    static const struct { size_t n; const char *md5, *sha; } v[] = {
        { 55, "ef1772b6dff9a122358552954ad0df65", "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
        { 56, "3b0c8ac703f828b04c6c197006d17218", "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
        { 57, "652b906d60af96844ebd21b674f35e93", "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6" },
        { 63, "b06521f39153d618550606be297466d5", "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
        { 64, "014842d480b571495a4a0363793f7367", "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
        { 65, "c743a45e0d2e6a95cb859adae0248435", "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
        { 119, "8a7bd0732ed6a28ce75f6dabc90e1613", "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
        { 120, "5f61c0ccad4cac44c75ff505e1f1e537", "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
        { 128, "e510683b3f5ffe4093d021808bc6ff70", "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e" },
    };
    char a[128], md5[33], sha[65];
    memset(a, 'a', sizeof a);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        md5_hex(a, v[i].n, md5);
        sha256_hex(a, v[i].n, sha);
        assert_string_equal(md5, v[i].md5);
        assert_string_equal(sha, v[i].sha);
    }
}

static void test_one_million_a(void **state)
{
    (void)state;
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    char h1[33], h2[65];
    md5_hex(a, n, h1);
    sha256_hex(a, n, h2);
    free(a);
    assert_string_equal(h1, "7707d6ae4e027c70eea2a935c2296f21");
    assert_string_equal(h2, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* The JA4 spec's worked example: the sorted cipher list and the extension + signature list
 * hash to the b and c parts it prints (first 12 hex digits). */
static void test_ja4_spec_example_hashes(void **state)
{
    (void)state;
    const char *ciphers = "002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9";
    const char *exts = "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,"
                       "0401,0503,0805,0501,0806,0601";
    char hex[65];
    sha256_hex(ciphers, strlen(ciphers), hex);
    assert_memory_equal(hex, "8daaf6152771", 12);
    sha256_hex(exts, strlen(exts), hex);
    assert_string_equal(hex, "e5627efa2ab19723084c1033a96c694a45826ab5a460d2d3fd5ffcfe97161c95");
}

/* Lengths 0..200 cross the one- and two-block padding cases (55, 56, 63, 64, 119, 120 ...).
 * The Lua functions must agree with the C ones byte for byte, and every length must give a
 * different digest (a padding bug tends to make neighbours collide). */
static void test_lua_functions_agree_at_every_padding_length(void **state)
{
    (void)state;
    char *out = NULL;
    size_t out_len = 0;
    FILE *fp = open_memstream(&out, &out_len);
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    opts.format = MS_FMT_JSON;
    opts.out = fp;
    ms_err err;
    err.msg[0] = 0;
    ms_lua *rt = ms_lua_new(&opts, &err);
    assert_non_null(rt);
    const char *script =
        "moonshark.log{ name = 'd', fields = { {'n','count'}, {'md5','string'}, {'sha','string'} } }\n"
        "for n = 0, 200 do\n"
        "  local s = {}\n"
        "  for i = 1, n do s[i] = string.char((i * 7 + n) % 256) end\n"
        "  s = table.concat(s)\n"
        "  moonshark.emit('d', { n = n, md5 = moonshark.md5(s), sha = moonshark.sha256(s) })\n"
        "end\n";
    assert_int_equal(ms_lua_load_string(rt, "digests", script, strlen(script), &err), 0);
    ms_lua_free(rt);
    fclose(fp);
    char prev_md5[33] = "", prev_sha[65] = "";
    char *line = out;
    for (int n = 0; n <= 200; n++) {
        char buf[256];
        for (int i = 0; i < n; i++)
            buf[i] = (char)((i + 1) * 7 + n);
        char md5[33], sha[65], want[200];
        md5_hex(buf, (size_t)n, md5);
        sha256_hex(buf, (size_t)n, sha);
        snprintf(want, sizeof want, "{\"n\":%d,\"md5\":\"%s\",\"sha\":\"%s\"}", n, md5, sha);
        assert_non_null(line);
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        assert_string_equal(line, want);
        assert_string_not_equal(md5, prev_md5);
        assert_string_not_equal(sha, prev_sha);
        memcpy(prev_md5, md5, sizeof md5);
        memcpy(prev_sha, sha, sizeof sha);
        line = nl + 1;
    }
    free(out);
}

static void test_lua_rejects_non_strings(void **state)
{
    (void)state;
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    opts.quiet_errors = true;
    ms_err err;
    err.msg[0] = 0;
    ms_lua *rt = ms_lua_new(&opts, &err);
    assert_non_null(rt);
    const char *script = "moonshark.md5({})";
    assert_int_not_equal(ms_lua_load_string(rt, "bad", script, strlen(script), &err), 0);
    assert_non_null(strstr(err.msg, "string expected"));
    /* numbers are strings to Lua: 12 hashes as "12" */
    const char *num = "assert(moonshark.md5(12) == moonshark.md5('12'))";
    assert_int_equal(ms_lua_load_string(rt, "num", num, strlen(num), &err), 0);
    ms_lua_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_matches_rfc1321_vectors),
        cmocka_unit_test(test_sha256_matches_fips180_vectors),
        cmocka_unit_test(test_padding_boundaries_match_hashlib),
        cmocka_unit_test(test_one_million_a),
        cmocka_unit_test(test_ja4_spec_example_hashes),
        cmocka_unit_test(test_lua_functions_agree_at_every_padding_length),
        cmocka_unit_test(test_lua_rejects_non_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
