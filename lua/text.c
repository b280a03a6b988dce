/* text.c — string helpers for parsers that C does faster than Lua patterns:
 * moonshark.split(s, sep, n). */
#include "lua/text.h"

#include <lauxlib.h>

#include <string.h>

#define SPLIT_MAX 64 /* pieces one call may return */

/* moonshark.split(s, sep, n): the pieces of s between occurrences of the one-byte separator sep,
 * at most n of them (the n-th is the rest of s, separators and all); fewer when s has fewer
 * separators. Empty pieces are kept: split("a  b", " ", 3) is "a", "", "b". One call in place of
 * a pattern match whose captures and backtracking cost several thousand instructions a line. */
static int l_split(lua_State *L)
{
    size_t len = 0, seplen = 0;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *sep = luaL_checklstring(L, 2, &seplen);
    lua_Integer n = luaL_checkinteger(L, 3);
    luaL_argcheck(L, seplen == 1, 2, "separator must be one byte");
    luaL_argcheck(L, n >= 1 && n <= SPLIT_MAX, 3, "count must be 1 to 64");
    luaL_checkstack(L, (int)n, "moonshark.split");
    const char *p = s, *end = s + len;
    int pushed = 0;
    while (pushed < n - 1) {
        const char *at = memchr(p, sep[0], (size_t)(end - p));
        if (!at)
            break;
        lua_pushlstring(L, p, (size_t)(at - p));
        pushed++;
        p = at + 1;
    }
    lua_pushlstring(L, p, (size_t)(end - p));
    return pushed + 1;
}

void ms_lua_text_open(lua_State *L)
{
    lua_getglobal(L, "moonshark");
    lua_pushcfunction(L, l_split);
    lua_setfield(L, -2, "split");
    lua_pop(L, 1);
}
