/* bytes.c — the read-only bytes view handed to on_data, on_datagram and detect: C memory seen from
 * Lua without a copy, valid during the call only (afterwards every method raises an error).
 * Offsets are 1-based like Lua strings; reads out of range give nil. */
#include "lua/bytes.h"

#include <string.h>

typedef struct bview {
    const uint8_t *p; /* borrowed; NULL once the call returned */
    size_t len;
} bview;

static const char BYTES_MT[] = "moonshark.bytes";

static bview *check_view(lua_State *L)
{
    bview *v = luaL_checkudata(L, 1, BYTES_MT);
    if (!v->p && v->len)
        luaL_error(L, "bytes view used after its call returned (copy what you keep with :sub or :str)");
    return v;
}

/* Lua string index rules: negative counts from the end. */
static lua_Integer abs_index(lua_Integer i, size_t len)
{
    if (i >= 0)
        return i;
    if ((size_t)-i > len)
        return 0;
    return (lua_Integer)len + i + 1;
}

static int b_len(lua_State *L)
{
    bview *v = check_view(L);
    lua_pushinteger(L, (lua_Integer)v->len);
    return 1;
}

static int b_sub(lua_State *L)
{
    bview *v = check_view(L);
    lua_Integer i = abs_index(luaL_optinteger(L, 2, 1), v->len);
    lua_Integer j = abs_index(luaL_optinteger(L, 3, -1), v->len);
    if (i < 1)
        i = 1;
    if (j > (lua_Integer)v->len)
        j = (lua_Integer)v->len;
    if (i > j)
        lua_pushliteral(L, "");
    else
        lua_pushlstring(L, (const char *)v->p + i - 1, (size_t)(j - i + 1));
    return 1;
}

static int b_str(lua_State *L)
{
    bview *v = check_view(L);
    lua_pushlstring(L, v->len ? (const char *)v->p : "", v->len);
    return 1;
}

static int b_byte(lua_State *L)
{
    bview *v = check_view(L);
    lua_Integer i = abs_index(luaL_optinteger(L, 2, 1), v->len);
    lua_Integer j = abs_index(luaL_optinteger(L, 3, i), v->len);
    if (i < 1)
        i = 1;
    if (j > (lua_Integer)v->len)
        j = (lua_Integer)v->len;
    if (i > j)
        return 0;
    int n = (int)(j - i + 1);
    luaL_checkstack(L, n, "bytes:byte range too large");
    for (lua_Integer k = i; k <= j; k++)
        lua_pushinteger(L, v->p[k - 1]);
    return n;
}

/* fixed-width reads: nil when [i, i+w) is not inside the view */
static const uint8_t *at(bview *v, lua_State *L, size_t w)
{
    lua_Integer i = luaL_checkinteger(L, 2);
    if (i < 1 || (uint64_t)i > v->len || v->len - (size_t)(i - 1) < w)
        return NULL;
    return v->p + i - 1;
}

static int b_u8(lua_State *L)
{
    bview *v = check_view(L);
    const uint8_t *p = at(v, L, 1);
    if (!p)
        return lua_pushnil(L), 1;
    lua_pushinteger(L, p[0]);
    return 1;
}

static int b_u16be(lua_State *L)
{
    bview *v = check_view(L);
    const uint8_t *p = at(v, L, 2);
    if (!p)
        return lua_pushnil(L), 1;
    lua_pushinteger(L, (lua_Integer)p[0] << 8 | p[1]);
    return 1;
}

static int b_u16le(lua_State *L)
{
    bview *v = check_view(L);
    const uint8_t *p = at(v, L, 2);
    if (!p)
        return lua_pushnil(L), 1;
    lua_pushinteger(L, (lua_Integer)p[1] << 8 | p[0]);
    return 1;
}

static int b_u32be(lua_State *L)
{
    bview *v = check_view(L);
    const uint8_t *p = at(v, L, 4);
    if (!p)
        return lua_pushnil(L), 1;
    lua_pushinteger(L, (lua_Integer)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]));
    return 1;
}

static int b_u32le(lua_State *L)
{
    bview *v = check_view(L);
    const uint8_t *p = at(v, L, 4);
    if (!p)
        return lua_pushnil(L), 1;
    lua_pushinteger(L, (lua_Integer)((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]));
    return 1;
}

/* b:find(s, init, plain): plain search in C; a pattern search copies the view into a string and
 * uses string.find (patterns on views are rare and the copy keeps the semantics exact). */
static const uint8_t *find_bytes(const uint8_t *hay, size_t hlen, const char *needle, size_t nlen)
{
    const uint8_t first = (uint8_t)needle[0];
    while (hlen >= nlen) {
        const uint8_t *c = memchr(hay, first, hlen - nlen + 1);
        if (!c)
            return NULL;
        if (memcmp(c, needle, nlen) == 0)
            return c;
        hlen -= (size_t)(c - hay) + 1;
        hay = c + 1;
    }
    return NULL;
}

static int b_find(lua_State *L)
{
    bview *v = check_view(L);
    size_t nlen = 0;
    const char *needle = luaL_checklstring(L, 2, &nlen);
    lua_Integer init = abs_index(luaL_optinteger(L, 3, 1), v->len);
    if (init < 1)
        init = 1;
    bool plain = lua_toboolean(L, 4);
    if (!plain && strpbrk(needle, "^$*+?.([%-") == NULL)
        plain = true;
    if (plain) {
        if ((size_t)init > v->len + 1)
            return lua_pushnil(L), 1;
        size_t hlen = v->len - (size_t)(init - 1);
        if (nlen == 0) {
            lua_pushinteger(L, init);
            lua_pushinteger(L, init - 1);
            return 2;
        }
        const uint8_t *hit = hlen >= nlen ? find_bytes(v->p + init - 1, hlen, needle, nlen) : NULL;
        if (!hit)
            return lua_pushnil(L), 1;
        lua_Integer s = (lua_Integer)(hit - v->p) + 1;
        lua_pushinteger(L, s);
        lua_pushinteger(L, s + (lua_Integer)nlen - 1);
        return 2;
    }
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "find");
    lua_pushlstring(L, v->len ? (const char *)v->p : "", v->len);
    lua_pushvalue(L, 2);
    lua_pushinteger(L, init);
    int base = lua_gettop(L) - 4;
    lua_call(L, 3, LUA_MULTRET);
    return lua_gettop(L) - base;
}

static int b_tostring(lua_State *L)
{
    bview *v = luaL_checkudata(L, 1, BYTES_MT);
    lua_pushfstring(L, "bytes(%d)", (int)v->len);
    return 1;
}

void ms_lua_bytes_open(lua_State *L, ms_lua *rt)
{
    static const luaL_Reg methods[] = {
        { "sub", b_sub }, { "str", b_str }, { "byte", b_byte }, { "find", b_find },
        { "u8", b_u8 }, { "u16be", b_u16be }, { "u16le", b_u16le }, { "u32be", b_u32be },
        { "u32le", b_u32le }, { "len", b_len }, { NULL, NULL },
    };
    luaL_newmetatable(L, BYTES_MT);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, b_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, b_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pushvalue(L, -1);
    rt->bytes_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
}

void *ms_lua_bytes_push(lua_State *L, const uint8_t *p, size_t len)
{
    bview *v = lua_newuserdatauv(L, sizeof *v, 0);
    v->p = p;
    v->len = len;
    luaL_setmetatable(L, BYTES_MT);
    return v;
}

void ms_lua_bytes_done(void *view)
{
    bview *v = view;
    if (v) {
        v->p = NULL;
        v->len = 1; /* marks "expired" (len 0 with p NULL is a valid empty view) */
    }
}
