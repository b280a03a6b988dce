/* proto.c — the protocol registry: moonshark.protocol{name=, tcp_ports=, udp_ports=, detect=}
 * records a parser and its ports; the port tables choose the parser of a new connection. */
#include "lua/proto.h"

#include <string.h>

static void set_ports(lua_State *L, ms_lua *rt, int tidx, const char *field, uint8_t *table, int idx)
{
    lua_getfield(L, tidx, field);
    if (lua_istable(L, -1)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            int isnum = 0;
            lua_Integer port = lua_tointegerx(L, -1, &isnum);
            if (!isnum || port < 0 || port > 65535)
                luaL_error(L, "moonshark.protocol: %s[%d] is not a port number", field, (int)i);
            table[port] = (uint8_t)(idx + 1);
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "moonshark.protocol: %s must be a list of port numbers", field);
    }
    lua_pop(L, 1);
    (void)rt;
}

static int l_protocol(lua_State *L)
{
    ms_lua *rt = ms_lua_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "name");
    size_t nlen = 0;
    const char *name = lua_tolstring(L, -1, &nlen);
    if (!name || nlen == 0 || nlen >= sizeof rt->protos[0].name)
        return luaL_error(L, "moonshark.protocol: name must be a string of 1 to 63 characters");
    lua_pop(L, 1);
    lua_getfield(L, 1, "detect");
    bool has_detect = lua_isfunction(L, -1);
    if (!has_detect && !lua_isnil(L, -1))
        return luaL_error(L, "moonshark.protocol: detect must be a function");
    lua_pop(L, 1);

    int idx = -1;
    for (int i = 0; i < rt->nprotos; i++)
        if (strcmp(rt->protos[i].name, name) == 0)
            idx = i;
    if (idx < 0) {
        if (rt->nprotos >= MS_LUA_MAX_PROTOCOLS)
            return luaL_error(L, "moonshark.protocol: too many protocols (at most %d)", MS_LUA_MAX_PROTOCOLS);
        idx = rt->nprotos;
    } else {
        /* a later registration of the same name replaces the earlier one and its ports */
        for (int p = 0; p < 65536; p++) {
            if (rt->tcp_ports[p] == idx + 1)
                rt->tcp_ports[p] = 0;
            if (rt->udp_ports[p] == idx + 1)
                rt->udp_ports[p] = 0;
        }
        luaL_unref(L, LUA_REGISTRYINDEX, rt->protos[idx].ref);
        rt->protos[idx].ref = LUA_NOREF;
    }
    set_ports(L, rt, 1, "tcp_ports", rt->tcp_ports, idx);
    set_ports(L, rt, 1, "udp_ports", rt->udp_ports, idx);
    lua_pushvalue(L, 1);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    ms_lua_proto *p = &rt->protos[idx];
    memcpy(p->name, name, nlen + 1);
    p->ref = ref;
    p->has_detect = has_detect;
    if (idx == rt->nprotos)
        rt->nprotos++;
    lua_pushvalue(L, 1);
    return 1;
}

void ms_lua_proto_open(lua_State *L)
{
    lua_pushcfunction(L, l_protocol);
    lua_setfield(L, -2, "protocol");
}

int ms_lua_protocol_count(const ms_lua *rt)
{
    return rt->nprotos;
}

const char *ms_lua_protocol_name(const ms_lua *rt, int idx)
{
    return idx >= 0 && idx < rt->nprotos ? rt->protos[idx].name : NULL;
}

int ms_lua_protocol_for_ports(const ms_lua *rt, bool udp, uint16_t server_port, uint16_t client_port)
{
    const uint8_t *t = udp ? rt->udp_ports : rt->tcp_ports;
    if (t[server_port])
        return t[server_port] - 1;
    if (t[client_port])
        return t[client_port] - 1;
    return -1;
}
