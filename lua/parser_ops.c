/* parser_ops.c — the Lua runtime behind the engine's parser interface (dispatch/parser.h): each
 * operation is the matching ms_lua_conn_* call, so the dispatcher never includes a lua/ header. */
#include "lua/ms_lua.h"

static void *op_open(void *impl, const ms_parser_conn_info *info)
{
    return ms_lua_conn_open(impl, info);
}

static size_t op_data(void *conn, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns,
                      ms_parser_ts_fn ts_fn, void *ts_ud)
{
    return ms_lua_conn_data_ts(conn, dir, bytes, len, ts_ns, ts_fn, ts_ud);
}

static void op_last(void *conn, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns)
{
    ms_lua_conn_last(conn, dir, bytes, len, ts_ns);
}

static void op_gap(void *conn, int dir, uint64_t n)
{
    ms_lua_conn_gap(conn, dir, n);
}

static void op_datagram(void *conn, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns)
{
    ms_lua_datagram(conn, dir, bytes, len, ts_ns);
}

static bool op_done(const void *conn)
{
    return ms_lua_conn_done(conn);
}

static void op_close(void *conn, const char *reason)
{
    ms_lua_conn_close(conn, reason);
}

static bool op_claims_udp_port(const void *impl, uint16_t port)
{
    return ms_lua_protocol_for_ports(impl, true, port, port) >= 0;
}

static const ms_parser_ops lua_parser_ops = {
    .open = op_open,
    .data = op_data,
    .last = op_last,
    .gap = op_gap,
    .datagram = op_datagram,
    .done = op_done,
    .close = op_close,
    .claims_udp_port = op_claims_udp_port,
};

ms_parser ms_lua_parser(ms_lua *rt)
{
    return (ms_parser){ &lua_parser_ops, rt };
}
