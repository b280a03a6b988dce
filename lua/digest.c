/* digest.c — MD5 and SHA-256 over a whole byte string, and moonshark.md5(s) / moonshark.sha256(s)
 * for parsers (lower-case hex, as JA3, JA4 and Zeek's certificate fingerprints print them). */
#include "lua/digest.h"

#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <stdbool.h>

static uint32_t rol32(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t ror32(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}

/* Both hashes pad the same way: 0x80, zeros up to 56 mod 64, then the bit length as 8 bytes
 * (little-endian for MD5, big-endian for SHA-256). Fills the last one or two blocks; returns how
 * many (1 or 2). */
static int final_blocks(const uint8_t *tail, size_t tail_len, uint64_t total_len, bool big_endian,
                        uint8_t blocks[128])
{
    memset(blocks, 0, 128);
    memcpy(blocks, tail, tail_len);
    blocks[tail_len] = 0x80;
    int n = tail_len < 56 ? 1 : 2;
    uint64_t bits = total_len * 8;
    uint8_t *len_at = blocks + n * 64 - 8;
    for (int i = 0; i < 8; i++)
        len_at[big_endian ? 7 - i : i] = (uint8_t)(bits >> (8 * i));
    return n;
}

typedef void (*block_fn)(uint32_t *h, const uint8_t *block);

/* Runs the compression function over every 64-byte block of the padded message. */
static void hash_all(uint32_t *h, block_fn block, const void *data, size_t len, bool big_endian)
{
    const uint8_t *p = data;
    size_t full = len & ~(size_t)63;
    for (size_t off = 0; off < full; off += 64)
        block(h, p + off);
    uint8_t last[128];
    int n = final_blocks(p + full, len - full, len, big_endian, last);
    for (int i = 0; i < n; i++)
        block(h, last + 64 * i);
}

/* The 32-bit word at p, in either byte order. */
static uint32_t get_word(const uint8_t *p, bool big_endian)
{
    return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Writes the n state words as the digest's bytes. */
static void put_words(const uint32_t *h, int n, bool big_endian, uint8_t *out)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (uint8_t)(h[i] >> (big_endian ? 24 - 8 * j : 8 * j));
}

/* ---- MD5 ------------------------------------------------------------------------------- */

/* Per-round shift amounts and the sine-derived constants of RFC 1321, section 3.4. */
static const uint8_t md5_shift[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static void md5_block(uint32_t *h, const uint8_t *p)
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = get_word(p + 4 * i, false);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) & 15;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) & 15;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) & 15;
        }
        uint32_t t = d;
        d = c;
        c = b;
        b = b + rol32(a + f + md5_k[i] + m[g], md5_shift[i]);
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

void ms_md5(const void *data, size_t len, uint8_t out[MS_MD5_LEN])
{
    uint32_t h[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };
    hash_all(h, md5_block, data, len, false);
    put_words(h, 4, false, out);
}

/* ---- SHA-256 ----------------------------------------------------------------------------- */

/* The first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_block(uint32_t *h, const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = get_word(p + 4 * i, true);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t s1 = ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = k + s1 + ch + sha256_k[i] + w[i];
        uint32_t s0 = ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = s0 + maj;
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

void ms_sha256(const void *data, size_t len, uint8_t out[MS_SHA256_LEN])
{
    uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    hash_all(h, sha256_block, data, len, true);
    put_words(h, 8, true, out);
}

void ms_digest_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- Lua: moonshark.md5(s), moonshark.sha256(s) ----------------------------------------- */

static int l_md5(lua_State *L)
{
    size_t len = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    uint8_t d[MS_MD5_LEN];
    char hex[2 * MS_MD5_LEN + 1];
    ms_md5(s, len, d);
    ms_digest_hex(d, sizeof d, hex);
    lua_pushlstring(L, hex, 2 * MS_MD5_LEN);
    return 1;
}

static int l_sha256(lua_State *L)
{
    size_t len = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    uint8_t d[MS_SHA256_LEN];
    char hex[2 * MS_SHA256_LEN + 1];
    ms_sha256(s, len, d);
    ms_digest_hex(d, sizeof d, hex);
    lua_pushlstring(L, hex, 2 * MS_SHA256_LEN);
    return 1;
}

void ms_lua_digest_open(lua_State *L)
{
    lua_getglobal(L, "moonshark");
    lua_pushcfunction(L, l_md5);
    lua_setfield(L, -2, "md5");
    lua_pushcfunction(L, l_sha256);
    lua_setfield(L, -2, "sha256");
    lua_pop(L, 1);
}
