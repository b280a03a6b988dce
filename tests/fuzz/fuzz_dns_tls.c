/* fuzz_dns_tls.c — libFuzzer target: arbitrary bytes as one connection parsed by
 * protocols/tls.lua or protocols/dns.lua (over TCP, or as UDP datagrams), in the sandboxed
 * runtime. The first byte chooses: bit 0 TLS (0) or DNS (1), bit 1 DNS as datagrams. The rest is
 * fuzz_http.c's piece format: a control byte (bit 0 direction, bit 1 a gap of length * 97 bytes,
 * bit 2 end that direction), a length byte, up to that many data bytes (one datagram each over
 * UDP). Records go to /dev/null; nothing may crash, leak or hang, and a Lua error in the parsers
 * themselves (not the memory ceiling or the instruction budget) aborts so libFuzzer keeps it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/ms_lua.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ms_lua *rt;
static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sink = fopen("/dev/null", "w");
    if (!sink)
        abort();
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    opts.format = MS_FMT_JSON;
    opts.out = sink;
    opts.quiet_errors = getenv("FUZZ_DNS_TLS_VERBOSE") == NULL;  /* set it to see the Lua error */
    opts.mem_limit = 64u << 20;
    opts.instr_budget = 2000000;
    ms_err err;
    memset(&err, 0, sizeof err);
    rt = ms_lua_new(&opts, &err);
    if (!rt || ms_lua_load_builtin(rt, "tls", &err) != 0 || ms_lua_load_builtin(rt, "dns", &err) != 0) {
        fprintf(stderr, "fuzz_dns_tls: cannot start the runtime: %s\n", err.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rt)
        LLVMFuzzerInitialize(NULL, NULL);
    if (size < 1)
        return 0;
    bool dns = data[0] & 1, udp = dns && (data[0] & 2);
    ms_lua_conn_info info;
    memset(&info, 0, sizeof info);
    info.uid = "CFuzzDnsTls";
    info.client.family = 4;
    info.client.addr[0] = 192; info.client.addr[1] = 0; info.client.addr[2] = 2; info.client.addr[3] = 1;
    info.client.port = 40000;
    info.server.family = 4;
    info.server.addr[0] = 192; info.server.addr[1] = 0; info.server.addr[2] = 2; info.server.addr[3] = 2;
    info.server.port = dns ? 53 : 443;
    info.udp = udp;
    info.protocol = dns ? "dns" : "tls";
    info.ts_ns = 1700000000000000000ULL;
    const ms_lua_stats *st = ms_lua_get_stats(rt);
    uint64_t errors0 = st->script_errors, mem0 = st->mem_limit_hits, budget0 = st->budget_hits;
    ms_lua_conn *c = ms_lua_conn_open(rt, &info);
    if (!c)
        return 0;
    bool ended[2] = { false, false };
    uint64_t ts = info.ts_ns;
    size_t i = 1;
    while (i + 2 <= size) {
        uint8_t ctl = data[i], len = data[i + 1];
        i += 2;
        int dir = ctl & 1;
        ts += 1000;
        size_t n = len;
        if (n > size - i)
            n = size - i;
        if (udp) {
            ms_lua_datagram(c, dir, data + i, n, ts);
            i += n;
            continue;
        }
        if (ended[dir])
            continue;
        if (ctl & 2) {
            ms_lua_conn_gap(c, dir, (uint64_t)len * 97u + 1u);
        } else {
            ms_lua_conn_feed(c, dir, data + i, n, ts);
            i += n;
        }
        if (ctl & 4) {
            ms_lua_conn_end(c, dir);
            ended[dir] = true;
        }
    }
    ms_lua_conn_close(c, "flush");
    if (st->script_errors > errors0 && st->mem_limit_hits == mem0 && st->budget_hits == budget0) {
        fprintf(stderr, "fuzz_dns_tls: %s.lua raised a Lua error on this input\n", dns ? "dns" : "tls");
        abort();
    }
    return 0;
}
