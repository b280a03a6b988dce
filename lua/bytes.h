/* bytes.h — the read-only bytes view given to on_data, on_datagram and detect (bytes.c).
 * Builds on state.h only. */
#ifndef MS_LUA_BYTES_H
#define MS_LUA_BYTES_H

#include "lua/state.h"

/* Adds the view's metatable (at state creation). */
void ms_lua_bytes_open(lua_State *L, ms_lua *rt);
/* Pushes a new view; returns the pointer slot to clear after the call (ms_lua_bytes_done). */
void *ms_lua_bytes_push(lua_State *L, const uint8_t *p, size_t len);
void ms_lua_bytes_done(void *view);

#endif
