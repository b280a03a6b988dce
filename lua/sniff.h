/* sniff.h — the media type of a body from its first bytes (sniff.c), as Zeek's http.log gives it
 * in orig_mime_types / resp_mime_types: readers collect the first bytes of a body while they skip
 * it in C (r:skip, r:skip_chunked, r:skip_all with a sniff argument), and the type is decided
 * when the body ends. Text formats are told by rules written after Zeek's file signatures;
 * everything else by libmagic. Builds on state.h only. */
#ifndef MS_LUA_SNIFF_H
#define MS_LUA_SNIFF_H

#include "lua/state.h"

#define MS_SNIFF_MAX 4096 /* bytes of a body looked at (Zeek's default_file_bof_buffer_size) */

/* Content codings a sniff can undo first. */
enum { MS_SNIFF_NONE = 0, MS_SNIFF_IDENTITY, MS_SNIFF_GZIP, MS_SNIFF_DEFLATE };

/* The sniff argument at index idx of a reader method: nil or false (none), true (the bytes as
 * they are), or the body's Content-Encoding ("gzip", "x-gzip", "deflate"; any other value
 * sniffs the bytes as they are, as Zeek does). */
int ms_lua_sniff_arg(lua_State *L, int idx);

/* A skip of half h starts collecting: its body bytes go to ms_lua_sniff_feed. */
void ms_lua_sniff_begin(ms_lua_half *h, int coding);
/* Body bytes being skipped (borrowed for the call); last: no more come. The type is told as soon
 * as the first MS_SNIFF_MAX bytes (or the whole body) are at hand, from the bytes where they lie
 * when they came in one piece; only a body that comes in pieces is copied, up to MS_SNIFF_MAX. */
void ms_lua_sniff_feed(ms_lua *rt, ms_lua_half *h, const uint8_t *p, size_t n, bool last);
/* Bytes of the body were lost: collecting stops here (the type is told from what came before). */
void ms_lua_sniff_gap(ms_lua_half *h);
/* The body ended: pushes its type (a string) or nil when the skip asked for one, frees what was
 * collected, and returns how many values it pushed (0 when no sniff was asked). */
int ms_lua_sniff_push(lua_State *L, ms_lua *rt, ms_lua_half *h);
/* Frees what half h collected (the half is dropped). */
void ms_lua_sniff_drop(ms_lua *rt, ms_lua_half *h);

/* The type of the bytes (a body's first n bytes, the whole body when it is shorter than
 * MS_SNIFF_MAX), or NULL when nothing is known of it. The string stays valid until the next
 * call. Exposed for tests. */
const char *ms_lua_mime_type(ms_lua *rt, const uint8_t *p, size_t n);

/* Adds moonshark.file_id(uid, n) (a Zeek-style file id, "F..." for the n-th file of a
 * connection, the same for the same uid and n). */
void ms_lua_sniff_open(lua_State *L, ms_lua *rt);
/* Frees the sniffer (libmagic's handle, the cache). */
void ms_lua_sniff_close(ms_lua *rt);

#endif
