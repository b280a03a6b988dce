/* reader.h — the reader `r` of reader-style parsers (reader.c): requests satisfied in C from the
 * bytes at hand. conn.c drives it; it builds on state.h only. */
#ifndef MS_LUA_READER_H
#define MS_LUA_READER_H

#include "lua/state.h"

/* Adds the reader's metatable and methods (at state creation). */
void ms_lua_reader_open(lua_State *L, ms_lua *rt);
/* Pushes a new reader for half dir of c (in L), remembering its box in the half. */
void ms_lua_reader_push(lua_State *L, ms_lua_conn *c, int dir);
/* Whether the pending request of h completes with the bytes at hand, end or gap (>= 0) or must
 * wait for more bytes (-1). Skips are carried out here, in C, without entering Lua. */
int ms_lua_reader_try(ms_lua_conn *c, ms_lua_half *h);
/* n bytes of half h were lost while its reader waits: a skip (or the data of a chunked body) takes
 * them as skipped; the rest is kept for the pending read to raise. True when the reader must be
 * resumed to see it. */
bool ms_lua_reader_gap(ms_lua_half *h, uint64_t n);
/* Frees what a half's reader holds besides Lua values (an r:inflate stream). */
void ms_lua_reader_release(ms_lua_half *h);
/* Capture time of the next unread byte. */
uint64_t ms_lua_half_time(const ms_lua_half *h);

#endif
