/* state.c — what only needs the runtime's state: the runtime of a lua_State, the message
 * handler, error objects {kind=, bytes=, limit=} and script-error reports with the uid. */
#include "lua/state.h"

#include <string.h>

ms_lua *ms_lua_of(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

int ms_lua_msgh(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---- error objects {kind=, bytes=, limit=} ----------------------------------------------- */

static int err_tostring(lua_State *L)
{
    lua_getfield(L, 1, "kind");
    const char *kind = lua_tostring(L, -1);
    lua_getfield(L, 1, "bytes");
    lua_Integer bytes = lua_tointeger(L, -1);
    lua_getfield(L, 1, "limit");
    lua_Integer limit = lua_tointeger(L, -1);
    if (kind && strcmp(kind, "gap") == 0)
        lua_pushfstring(L, "gap: %I bytes lost in the stream", bytes);
    else if (kind && strcmp(kind, "limit") == 0)
        lua_pushfstring(L, "limit: no end within %I bytes", limit);
    else
        lua_pushfstring(L, "%s", kind ? kind : "error");
    return 1;
}

void ms_lua_push_error(lua_State *L, ms_lua *rt, const char *kind, uint64_t bytes, uint64_t limit)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, kind);
    lua_setfield(L, -2, "kind");
    if (bytes) {
        lua_pushinteger(L, (lua_Integer)bytes);
        lua_setfield(L, -2, "bytes");
    }
    if (limit) {
        lua_pushinteger(L, (lua_Integer)limit);
        lua_setfield(L, -2, "limit");
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, rt->err_mt_ref);
    lua_setmetatable(L, -2);
}

void ms_lua_report(ms_lua_conn *c, const char *what, const char *msg)
{
    ms_lua *rt = c->rt;
    rt->stats.script_errors++;
    if (rt->opts.quiet_errors || !rt->opts.errlog)
        return;
    const char *pname = c->proto >= 0 ? rt->protos[c->proto].name : "?";
    const char *m = msg ? msg : "(no message)";
    size_t first = strcspn(m, "\n");
    fprintf(rt->opts.errlog, "moonshark: lua: %s parser failed in %s on connection %s: %.*s\n",
            pname, what, c->uid, (int)first, m);
    if (rt->print_traceback && m[first])
        fprintf(rt->opts.errlog, "%s\n", m + first + 1);
}

void ms_lua_errors_open(lua_State *L, ms_lua *rt)
{
    lua_newtable(L); /* metatable of error objects */
    lua_pushcfunction(L, err_tostring);
    lua_setfield(L, -2, "__tostring");
    rt->err_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}
