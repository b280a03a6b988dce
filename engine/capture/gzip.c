/* gzip.c — inflates a gzip'd capture as libpcap reads it: a glibc custom stream (fopencookie)
 * whose read function pulls compressed bytes from the underlying FILE through zlib's inflate
 * (gzip header detected, concatenated members followed). Errors inside the compressed data end
 * the stream there, and libpcap reports a capture cut at that frame, as for a truncated file. */
#define _GNU_SOURCE /* fopencookie */
#include "capture/gzip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <zlib.h>

#define GZ_IN 65536

typedef struct gz_stream {
    FILE *src;              /* the compressed bytes; closed with the stream */
    z_stream z;
    bool done;              /* no more output: end of input, or the data went bad */
    unsigned char in[GZ_IN];
} gz_stream;

bool ms_gzip_next_is_gzip(FILE *fp)
{
    int c = getc(fp);
    if (c == EOF)
        return false;
    ungetc(c, fp);
    return c == 0x1f;
}

const char *ms_gzip_compression_hint(const unsigned char *h, size_t n)
{
    if (n >= 6 && memcmp(h, "\xfd" "7zXZ\0", 6) == 0)
        return "compressed with xz: unpack it first (xz -dc FILE | moonshark ... -)";
    if (n >= 3 && memcmp(h, "BZh", 3) == 0)
        return "compressed with bzip2: unpack it first (bzip2 -dc FILE | moonshark ... -)";
    if (n >= 4 && memcmp(h, "\x28\xb5\x2f\xfd", 4) == 0)
        return "compressed with zstd: unpack it first (zstd -dc FILE | moonshark ... -)";
    if (n >= 4 && memcmp(h, "PK\x03\x04", 4) == 0)
        return "a zip archive: extract the capture first (unzip -p FILE NAME | moonshark ... -)";
    return NULL;
}

#if defined(__GLIBC__)

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
    gz_stream *g = cookie;
    g->z.next_out = (Bytef *)buf;
    g->z.avail_out = (uInt)MS_MIN(size, (size_t)UINT32_MAX);
    uInt want = g->z.avail_out;
    while (g->z.avail_out > 0 && !g->done) {
        if (g->z.avail_in == 0) {
            size_t n = fread(g->in, 1, sizeof g->in, g->src);
            if (n == 0) {
                g->done = true; /* the end (a cut .gz ends here too: libpcap says truncated) */
                break;
            }
            g->z.next_in = g->in;
            g->z.avail_in = (uInt)n;
        }
        int rc = inflate(&g->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            /* another member may follow (cat a.gz b.gz); anything else after it is ignored */
            if (g->z.avail_in == 0) {
                size_t n = fread(g->in, 1, sizeof g->in, g->src);
                g->z.next_in = g->in;
                g->z.avail_in = (uInt)n;
            }
            if (g->z.avail_in < 2 || g->z.next_in[0] != 0x1f || g->z.next_in[1] != 0x8b || inflateReset(&g->z) != Z_OK)
                g->done = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            g->done = true; /* corrupt data: the stream ends where it went bad */
        }
    }
    return (ssize_t)(want - g->z.avail_out);
}

static int gz_close(void *cookie)
{
    gz_stream *g = cookie;
    inflateEnd(&g->z);
    int rc = fclose(g->src);
    free(g);
    return rc;
}

FILE *ms_gzip_open(FILE *compressed, const char *name, ms_err *err)
{
    gz_stream *g = calloc(1, sizeof *g);
    if (!g) {
        ms_fail(err, MS_ENOMEM, "%s: out of memory to inflate it", name);
        return NULL;
    }
    g->src = compressed;
    if (inflateInit2(&g->z, 15 + 32) != Z_OK) { /* 15 + 32: a zlib or gzip header, detected */
        ms_fail(err, MS_ENOMEM, "%s: zlib cannot start", name);
        free(g);
        return NULL;
    }
    cookie_io_functions_t io = { gz_read, NULL, NULL, gz_close };
    FILE *fp = fopencookie(g, "rb", io);
    if (!fp) {
        inflateEnd(&g->z);
        free(g);
        ms_fail(err, MS_ENOMEM, "%s: out of memory to inflate it", name);
    }
    return fp;
}

#else

FILE *ms_gzip_open(FILE *compressed, const char *name, ms_err *err)
{
    (void)compressed;
    ms_fail(err, MS_EFORMAT, "%s: gzip'd; unpack it first (gzip -dc FILE | moonshark ... -)", name);
    return NULL;
}

#endif
