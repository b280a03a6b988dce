/* proto.h — the protocol registry (proto.c): moonshark.protocol{name=, tcp_ports=, udp_ports=,
 * detect=} and the port tables that choose a parser. Builds on state.h only; the lookups callers
 * use (count, name, for_ports) are declared in ms_lua.h. */
#ifndef MS_LUA_PROTO_H
#define MS_LUA_PROTO_H

#include "lua/state.h"

/* Adds moonshark.protocol to the table on top of L's stack (the moonshark table being built). */
void ms_lua_proto_open(lua_State *L);

#endif
