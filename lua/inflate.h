/* inflate.h — decoded length of a gzip/deflate body as the reader drops it (inflate.c, zlib):
 * r:inflate / r:inflated. A leaf of lua/: it knows no other part of the bridge. */
#ifndef MS_LUA_INFLATE_H
#define MS_LUA_INFLATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ms_lua_inflate ms_lua_inflate;
enum { MS_INFLATE_GOING, MS_INFLATE_DONE, MS_INFLATE_ERROR, MS_INFLATE_LIMIT };

/* NULL when out of memory. Caller frees with ms_lua_inflate_free (safe on NULL). */
ms_lua_inflate *ms_lua_inflate_new(void);
void ms_lua_inflate_feed(ms_lua_inflate *z, const uint8_t *p, size_t n);
/* n coded bytes were lost: they count as their wire length and decoding stops. */
void ms_lua_inflate_gap(ms_lua_inflate *z, uint64_t n);
/* Decoded bytes so far; *status is MS_INFLATE_*. */
uint64_t ms_lua_inflate_count(const ms_lua_inflate *z, int *status);
void ms_lua_inflate_free(ms_lua_inflate *z);

#endif
