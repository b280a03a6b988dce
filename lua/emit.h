/* emit.h — moonshark.log and moonshark.emit (emit.c): records to the output sinks.
 * Builds on state.h only. */
#ifndef MS_LUA_EMIT_H
#define MS_LUA_EMIT_H

#include "lua/state.h"

void ms_lua_emit_open(lua_State *L, ms_lua *rt);     /* adds moonshark.log and moonshark.emit */
void ms_lua_emit_close(ms_lua *rt);                  /* closes every log (flushes sinks) */

#endif
