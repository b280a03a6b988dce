/* cursor.h — bounds-checked reads of untrusted bytes.
 * A cursor never moves past its end: a short read returns 0, sets short_read and empties the
 * cursor, so a decoder may read a whole header and check short_read once at the end. */
#ifndef MS_CURSOR_H
#define MS_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct ms_cursor {
    const uint8_t *p;  /* next unread byte */
    size_t left;       /* bytes that may still be read */
    bool short_read;   /* a read asked for more than was left */
} ms_cursor;

static inline ms_cursor ms_cursor_make(const uint8_t *p, size_t len)
{
    ms_cursor c = { p, len, false };
    return c;
}

static inline bool ms_cursor_need(ms_cursor *c, size_t n)
{
    if (c->left < n) {
        c->short_read = true;
        c->p += c->left;
        c->left = 0;
        return false;
    }
    return true;
}

static inline uint8_t ms_get_u8(ms_cursor *c)
{
    if (!ms_cursor_need(c, 1))
        return 0;
    uint8_t v = c->p[0];
    c->p += 1;
    c->left -= 1;
    return v;
}

static inline uint16_t ms_get_be16(ms_cursor *c)
{
    if (!ms_cursor_need(c, 2))
        return 0;
    uint16_t v = (uint16_t)(c->p[0] << 8 | c->p[1]);
    c->p += 2;
    c->left -= 2;
    return v;
}

static inline uint16_t ms_get_le16(ms_cursor *c)
{
    if (!ms_cursor_need(c, 2))
        return 0;
    uint16_t v = (uint16_t)(c->p[1] << 8 | c->p[0]);
    c->p += 2;
    c->left -= 2;
    return v;
}

static inline uint32_t ms_get_be32(ms_cursor *c)
{
    if (!ms_cursor_need(c, 4))
        return 0;
    uint32_t v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
    c->p += 4;
    c->left -= 4;
    return v;
}

static inline uint32_t ms_get_le32(ms_cursor *c)
{
    if (!ms_cursor_need(c, 4))
        return 0;
    uint32_t v = (uint32_t)c->p[3] << 24 | (uint32_t)c->p[2] << 16 | (uint32_t)c->p[1] << 8 | c->p[0];
    c->p += 4;
    c->left -= 4;
    return v;
}

/* Copies n bytes into out (zero-filled on a short read). */
static inline void ms_get_bytes(ms_cursor *c, void *out, size_t n)
{
    if (!ms_cursor_need(c, n)) {
        memset(out, 0, n);
        return;
    }
    memcpy(out, c->p, n);
    c->p += n;
    c->left -= n;
}

static inline void ms_skip(ms_cursor *c, size_t n)
{
    if (!ms_cursor_need(c, n))
        return;
    c->p += n;
    c->left -= n;
}

#endif
