/* fuzz_http.c — libFuzzer target: arbitrary bytes as both directions of one HTTP connection,
 * parsed by protocols/http.lua in the sandboxed runtime.
 * The input is a sequence of pieces: one control byte, one length byte, then up to that many
 * data bytes. Control bits: 0 direction (client/server), 1 a gap of (length * 97) bytes instead of
 * data, 2 end that direction. The first control byte's bit 7 marks the client as guessed (no SYN).
 * Records go to /dev/null; the runtime, its reader and the parser must never crash, leak or hang
 * (the instruction budget bounds every call). A Lua error in http.lua itself (not the memory
 * ceiling or the instruction budget) is a parser bug: the target aborts so libFuzzer keeps it. */
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
    opts.quiet_errors = getenv("FUZZ_HTTP_VERBOSE") == NULL;  /* set it to see the Lua error */
    opts.mem_limit = 64u << 20;
    opts.instr_budget = 2000000;
    ms_err err;
    memset(&err, 0, sizeof err);
    rt = ms_lua_new(&opts, &err);
    if (!rt || ms_lua_load_builtin(rt, "http", &err) != 0) {
        fprintf(stderr, "fuzz_http: cannot start the runtime: %s\n", err.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rt)
        LLVMFuzzerInitialize(NULL, NULL);
    ms_lua_conn_info info;
    memset(&info, 0, sizeof info);
    info.uid = "CFuzzHttp";
    info.client.family = 4;
    info.client.addr[0] = 192; info.client.addr[1] = 0; info.client.addr[2] = 2; info.client.addr[3] = 1;
    info.client.port = 40000;
    info.server.family = 4;
    info.server.addr[0] = 192; info.server.addr[1] = 0; info.server.addr[2] = 2; info.server.addr[3] = 2;
    info.server.port = 80;
    info.protocol = "http";
    info.client_guessed = size > 0 && (data[0] & 0x80);
    info.ts_ns = 1700000000000000000ULL;
    const ms_lua_stats *st = ms_lua_get_stats(rt);
    uint64_t errors0 = st->script_errors, mem0 = st->mem_limit_hits, budget0 = st->budget_hits;
    ms_lua_conn *c = ms_lua_conn_open(rt, &info);
    if (!c)
        return 0;
    bool ended[2] = { false, false };
    uint64_t ts = info.ts_ns;
    size_t i = 0;
    while (i + 2 <= size) {
        uint8_t ctl = data[i], len = data[i + 1];
        i += 2;
        int dir = ctl & 1;
        ts += 1000;
        if (ended[dir])
            continue;
        if (ctl & 2) {
            ms_lua_conn_gap(c, dir, (uint64_t)len * 97u + 1u);
        } else {
            size_t n = len;
            if (n > size - i)
                n = size - i;
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
        fprintf(stderr, "fuzz_http: http.lua raised a Lua error on this input\n");
        abort();
    }
    return 0;
}
