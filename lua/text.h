/* text.h — string helpers C does faster than Lua patterns (text.c): moonshark.split. */
#ifndef MS_LUA_TEXT_H
#define MS_LUA_TEXT_H

#include <lua.h>

/* Adds moonshark.split to the moonshark table (a global by then). */
void ms_lua_text_open(lua_State *L);

#endif
