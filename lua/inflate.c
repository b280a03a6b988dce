/* inflate.c — counts the decoded bytes of a gzip / deflate coded body as the reader drops it
 * (r:inflate / r:inflated): the bytes go through zlib into a scratch buffer and only the count is
 * kept. The reading follows Zeek's HTTP analyzer, whose response_body_len is a decoded length:
 * a zlib or gzip header is detected, a stream that fails at its very start is read again as raw
 * deflate (servers that omit the zlib header), decoding stops at the end of the first stream or
 * at the first error, and lost bytes count as their wire length. */
#include "lua/inflate.h"

#include <stdbool.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/common.h"

#define INFLATE_OUT 16384                  /* scratch output per inflate() call */
#define INFLATE_LIMIT ((uint64_t)1 << 30)  /* decoded bytes counted per body at most */

struct ms_lua_inflate {
    z_stream zs;
    bool started;        /* inflateInit2 succeeded (inflateEnd due) */
    bool raw;            /* restarted as raw deflate */
    int status;          /* MS_INFLATE_* */
    uint64_t out;        /* decoded bytes (plus lost bytes) so far */
    uint64_t fed;        /* input bytes given so far */
    uint8_t head[64];    /* the first input bytes, replayed when restarting as raw deflate */
};

ms_lua_inflate *ms_lua_inflate_new(void)
{
    ms_lua_inflate *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    if (inflateInit2(&z->zs, MAX_WBITS + 32) != Z_OK) { /* +32: zlib or gzip header */
        free(z);
        return NULL;
    }
    z->started = true;
    return z;
}

void ms_lua_inflate_free(ms_lua_inflate *z)
{
    if (!z)
        return;
    if (z->started)
        inflateEnd(&z->zs);
    free(z);
}

static void feed(ms_lua_inflate *z, const uint8_t *p, size_t n);

/* Restarts as raw deflate and replays the input so far when it all fits in head (so the reading
 * does not depend on how the bytes were cut into packets); else only the call's own bytes are
 * read again, as Zeek does. False when no stream could be made. */
static bool restart_raw(ms_lua_inflate *z, const uint8_t *p, size_t n)
{
    inflateEnd(&z->zs);
    memset(&z->zs, 0, sizeof z->zs);
    z->raw = true;
    if (inflateInit2(&z->zs, -MAX_WBITS) != Z_OK) {
        z->started = false;
        z->status = MS_INFLATE_ERROR;
        return false;
    }
    if (z->fed <= sizeof z->head) {
        size_t before = (size_t)z->fed - n; /* head holds these, then this call's bytes */
        feed(z, z->head, before);
    }
    return true;
}

void ms_lua_inflate_feed(ms_lua_inflate *z, const uint8_t *p, size_t n)
{
    if (!z || z->status != MS_INFLATE_GOING || n == 0)
        return;
    if (!z->raw && z->fed < sizeof z->head) {
        size_t k = MS_MIN(n, sizeof z->head - (size_t)z->fed);
        memcpy(z->head + z->fed, p, k);
    }
    z->fed += n;
    feed(z, p, n);
}

static void feed(ms_lua_inflate *z, const uint8_t *p, size_t n)
{
    if (n == 0 || z->status != MS_INFLATE_GOING)
        return;
    uint8_t buf[INFLATE_OUT];
    z->zs.next_in = (Bytef *)(uintptr_t)p;
    z->zs.avail_in = (uInt)MS_MIN(n, (size_t)UINT32_MAX); /* callers pass page-sized runs */
    for (;;) {
        z->zs.next_out = buf;
        z->zs.avail_out = sizeof buf;
        int rc = inflate(&z->zs, Z_SYNC_FLUSH);
        z->out += sizeof buf - z->zs.avail_out;
        if (rc == Z_STREAM_END) {
            z->status = MS_INFLATE_DONE;
            return;
        }
        if (rc == Z_DATA_ERROR && !z->raw && z->out == 0) {
            /* no zlib/gzip header before any output: read again as raw deflate, once */
            if (!restart_raw(z, p, n) || z->status != MS_INFLATE_GOING)
                return;
            z->zs.next_in = (Bytef *)(uintptr_t)p;
            z->zs.avail_in = (uInt)MS_MIN(n, (size_t)UINT32_MAX);
            continue;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            z->status = MS_INFLATE_ERROR;
            return;
        }
        if (z->out >= INFLATE_LIMIT) {
            z->status = MS_INFLATE_LIMIT;
            return;
        }
        if (z->zs.avail_in == 0 && z->zs.avail_out != 0)
            return;
        if (rc == Z_BUF_ERROR && z->zs.avail_out != 0)
            return;
    }
}

void ms_lua_inflate_gap(ms_lua_inflate *z, uint64_t n)
{
    if (!z)
        return;
    z->out += n; /* as Zeek: the lost bytes' wire length; the stream cannot go on after a hole */
    if (z->status == MS_INFLATE_GOING)
        z->status = MS_INFLATE_ERROR;
}

uint64_t ms_lua_inflate_count(const ms_lua_inflate *z, int *status)
{
    *status = z ? z->status : MS_INFLATE_ERROR;
    return z ? z->out : 0;
}
