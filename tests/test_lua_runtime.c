/* test_lua_runtime.c — the Lua runtime: sandbox, memory ceiling, instruction budget, error
 * containment, protocol choice, emit, bytes views and the reader requests under adversarial
 * segmentations. Scripts are given inline; records come out as JSON lines (open_memstream). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lua/ms_lua.h"

enum { C = MS_LUA_CLIENT, S = MS_LUA_SERVER };

typedef struct fixture {
    ms_lua *rt;
    FILE *out;
    char *buf;
    size_t len;
} fixture;

static void fx_open_opts(fixture *fx, ms_lua_opts *opts)
{
    memset(fx, 0, sizeof *fx);
    fx->out = open_memstream(&fx->buf, &fx->len);
    assert_non_null(fx->out);
    opts->format = MS_FMT_JSON;
    opts->out = fx->out;
    if (opts->errlog == stderr)
        opts->quiet_errors = true; /* tests that check the report pass their own errlog */
    ms_err err;
    err.msg[0] = 0;
    fx->rt = ms_lua_new(opts, &err);
    if (!fx->rt)
        fail_msg("ms_lua_new: %s", err.msg);
}

static void fx_open(fixture *fx)
{
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    fx_open_opts(fx, &opts);
}

static void fx_load(fixture *fx, const char *script)
{
    ms_err err;
    err.msg[0] = 0;
    int rc = ms_lua_load_string(fx->rt, "test.lua", script, strlen(script), &err);
    if (rc != 0)
        fail_msg("load: %s", err.msg);
}

/* Closes the runtime and returns the output (owned by fx, freed by fx_free). */
static const char *fx_finish(fixture *fx)
{
    ms_lua_free(fx->rt);
    fx->rt = NULL;
    fclose(fx->out);
    fx->out = NULL;
    return fx->buf ? fx->buf : "";
}

static void fx_free(fixture *fx)
{
    if (fx->rt)
        ms_lua_free(fx->rt);
    if (fx->out)
        fclose(fx->out);
    free(fx->buf);
}

static ms_lua_conn *open_conn(fixture *fx, const char *uid, uint16_t sport, const char *proto)
{
    ms_lua_conn_info info;
    memset(&info, 0, sizeof info);
    info.uid = uid;
    info.client.family = 4;
    info.client.addr[0] = 10;
    info.client.addr[3] = 1;
    info.client.port = 40000;
    info.server.family = 4;
    info.server.addr[0] = 10;
    info.server.addr[3] = 2;
    info.server.port = sport;
    info.protocol = proto;
    info.ts_ns = 1700000000ull * 1000000000ull;
    ms_lua_conn *c = ms_lua_conn_open(fx->rt, &info);
    assert_non_null(c);
    return c;
}

/* Feeds text to one direction in pieces of `step` bytes (0 = whole). */
static void feed(ms_lua_conn *c, int dir, const char *text, size_t step)
{
    size_t len = strlen(text);
    if (step == 0)
        step = len ? len : 1;
    for (size_t i = 0; i < len; i += step) {
        size_t n = MS_MIN(step, len - i);
        assert_int_equal(ms_lua_conn_feed(c, dir, (const uint8_t *)text + i, n, 0), 0);
    }
}

/* Runs a script's `probe` protocol (callback style) that emits one record {v = tostring(result)}
 * of calling f() in on_data, where f is defined by the script. */
static const char *run_probe(fixture *fx, const char *body)
{
    char script[4096];
    snprintf(script, sizeof script,
             "local p = moonshark.protocol{ name = 'probe', tcp_ports = {9} }\n"
             "local function f() %s end\n"
             "function p.on_data(conn, dir, b)\n"
             "  local ok, v = pcall(f)\n"
             "  moonshark.emit('probe', { ok = tostring(ok), v = tostring(v) })\n"
             "end\n",
             body);
    fx_load(fx, script);
    ms_lua_conn *c = open_conn(fx, "CProbe", 9, NULL);
    ms_lua_conn_data(c, C, (const uint8_t *)"x", 1, 0);
    ms_lua_conn_close(c, "fin");
    return fx_finish(fx);
}

/* ---- sandbox ------------------------------------------------------------------------- */

static void expect_blocked(const char *body)
{
    fixture fx;
    fx_open(&fx);
    const char *out = run_probe(&fx, body);
    if (!strstr(out, "\"ok\":\"false\""))
        fail_msg("not blocked: %s -> %s", body, out);
    fx_free(&fx);
}

static void test_sandbox_blocks_os_execute(void **state)
{
    (void)state;
    expect_blocked("return os.execute('true')");
}

static void test_sandbox_blocks_os_exit_remove_rename_getenv(void **state)
{
    (void)state;
    expect_blocked("return os.exit(3)");
    expect_blocked("return os.remove('/tmp/x')");
    expect_blocked("return os.rename('/tmp/x', '/tmp/y')");
    expect_blocked("return os.getenv('HOME')");
    expect_blocked("return os.tmpname()");
}

static void test_sandbox_blocks_io_popen_and_writes(void **state)
{
    (void)state;
    expect_blocked("return io.popen('ls')");
    expect_blocked("local f = assert(io.open('/tmp/moonshark_sandbox_test', 'w')); return f");
    expect_blocked("local f = assert(io.open('/tmp/moonshark_sandbox_test', 'a+')); return f");
    expect_blocked("return io.output('/tmp/moonshark_sandbox_test')");
    expect_blocked("return io.tmpfile()");
}

static void test_sandbox_blocks_c_modules_and_binary_chunks(void **state)
{
    (void)state;
    expect_blocked("return package.loadlib('libc.so.6', 'puts')");
    expect_blocked("return require('socket.core')");
    expect_blocked("local f = assert(load(string.dump(function() return 1 end))); return f()");
    expect_blocked("return debug.getregistry()");
    expect_blocked("return debug.sethook()");
}

static void test_sandbox_allows_reading_and_text_load(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    const char *out = run_probe(&fx, "local f = assert(io.open('/dev/null', 'r')); f:close(); "
                                     "return assert(load('return 40 + 2'))()");
    assert_non_null(strstr(out, "\"v\":\"42\""));
    fx_free(&fx);
}

static void test_unsafe_lua_lifts_the_sandbox(void **state)
{
    (void)state;
    fixture fx;
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    opts.sandbox = false;
    fx_open_opts(&fx, &opts);
    const char *out = run_probe(&fx, "return type(os.getenv) .. type(io.popen)");
    assert_non_null(strstr(out, "\"v\":\"functionfunction\""));
    fx_free(&fx);
}

/* ---- limits ---------------------------------------------------------------------------- */

static void test_memory_ceiling_stops_runaway_allocation(void **state)
{
    (void)state;
    fixture fx;
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    opts.mem_limit = 8u << 20;
    fx_open_opts(&fx, &opts);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'hog', tcp_ports = {9} }\n"
                 "function p.on_data(conn, dir, b)\n"
                 "  local t = {}\n"
                 "  for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end\n"
                 "end\n"
                 "local q = moonshark.protocol{ name = 'ok', tcp_ports = {10} }\n"
                 "function q.on_data(conn, dir, b) moonshark.emit('ok', { n = #b }) end\n");
    ms_lua_conn *c1 = open_conn(&fx, "CHog", 9, NULL);
    ms_lua_conn_data(c1, C, (const uint8_t *)"x", 1, 0);
    ms_lua_conn_close(c1, "fin");
    const ms_lua_stats *st = ms_lua_get_stats(fx.rt);
    assert_int_equal(st->script_errors, 1);
    assert_true(st->mem_limit_hits >= 1);
    /* the runtime still works afterwards */
    ms_lua_conn *c2 = open_conn(&fx, "COk", 10, NULL);
    ms_lua_conn_data(c2, C, (const uint8_t *)"hello", 5, 0);
    ms_lua_conn_close(c2, "fin");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"n\":5}\n");
    fx_free(&fx);
}

/* A fixture whose runtime has an instruction budget and reports script errors into *err (close
 * opts->errlog before reading it). */
static void fx_open_budget(fixture *fx, ms_lua_opts *opts, uint64_t budget, char **err, size_t *errlen)
{
    ms_lua_opts_default(opts);
    opts->instr_budget = budget;
    opts->errlog = open_memstream(err, errlen);
    fx_open_opts(fx, opts);
}

/* Reader coroutines that returned are reused for later halves: each run starts with only its
 * reader as argument, a failed or spinning run is not reused, and the budget still reaches a
 * reused thread. */
static void test_reused_reader_threads_start_clean_and_keep_the_budget(void **state)
{
    (void)state;
    fixture fx;
    ms_lua_opts opts;
    char *err = NULL;
    size_t errlen = 0;
    fx_open_budget(&fx, &opts, 100000, &err, &errlen);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'co', tcp_ports = {9} }\n"
                 "local threads, n = {}, 0\n"
                 "function p.client(r, ...)\n"
                 "  local extra = select('#', ...)\n"
                 "  local t = tostring(coroutine.running())\n"
                 "  if not threads[t] then threads[t] = true; n = n + 1 end\n"
                 "  local line = r:line(100)\n"
                 "  if line == 'spin' then while true do end end\n"
                 "  if line == 'fail' then error('boom') end\n"
                 "  moonshark.emit('co', { line = line, extra = extra, threads = n })\n"
                 "end\n");
    const char *lines[] = { "a\n", "b\n", "fail\n", "c\n", "spin\n", "d\n" };
    for (size_t i = 0; i < MS_ARRAY_LEN(lines); i++) {
        ms_lua_conn *c = open_conn(&fx, "CCo", 9, NULL);
        feed(c, C, lines[i], 0);
        ms_lua_conn_close(c, "fin");
    }
    const ms_lua_stats *st = ms_lua_get_stats(fx.rt);
    assert_int_equal(st->script_errors, 2);
    assert_int_equal(st->budget_hits, 1);
    const char *out = fx_finish(&fx);
    /* a and b share one thread; fail and spin each leave theirs behind */
    assert_string_equal(out, "{\"extra\":0,\"line\":\"a\",\"threads\":1}\n"
                             "{\"extra\":0,\"line\":\"b\",\"threads\":1}\n"
                             "{\"extra\":0,\"line\":\"c\",\"threads\":2}\n"
                             "{\"extra\":0,\"line\":\"d\",\"threads\":3}\n");
    fclose(opts.errlog);
    assert_non_null(strstr(err, "instruction budget exceeded"));
    free(err);
    fx_free(&fx);
}

static void test_instruction_budget_stops_infinite_loop(void **state)
{
    (void)state;
    fixture fx;
    ms_lua_opts opts;
    char *err = NULL;
    size_t errlen = 0;
    fx_open_budget(&fx, &opts, 100000, &err, &errlen);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'spin', tcp_ports = {9} }\n"
                 "function p.client(r) r:line(100); while true do end end\n"
                 "local q = moonshark.protocol{ name = 'ok', tcp_ports = {10} }\n"
                 "function q.on_data(conn, dir, b) moonshark.emit('ok', { n = #b }) end\n");
    ms_lua_conn *c1 = open_conn(&fx, "CSpin", 9, NULL);
    feed(c1, C, "line\n", 0);
    ms_lua_conn *c2 = open_conn(&fx, "COk", 10, NULL);
    ms_lua_conn_data(c2, C, (const uint8_t *)"abc", 3, 0);
    ms_lua_conn_close(c1, "fin");
    ms_lua_conn_close(c2, "fin");
    const ms_lua_stats *st = ms_lua_get_stats(fx.rt);
    assert_int_equal(st->script_errors, 1);
    assert_int_equal(st->budget_hits, 1);
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"n\":3}\n");
    fclose(opts.errlog);
    assert_non_null(strstr(err, "spin parser failed in client on connection CSpin: "
                                "instruction budget exceeded (100000 instructions in one call)"));
    free(err);
    fx_free(&fx);
}

/* Every way a script can spin: in a callback, in a reader, in coroutines it resumes or wraps
 * itself, with the lazily armed budget (default) and with the exact one. */
static void run_spin(const char *body, bool exact)
{
    fixture fx;
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    opts.instr_budget = 200000;
    opts.exact_budget = exact;
    fx_open_opts(&fx, &opts);
    char script[1024];
    snprintf(script, sizeof script,
             "local p = moonshark.protocol{ name = 'spin', tcp_ports = {9} }\n"
             "function p.on_data(conn, dir, b) %s end\n"
             "local q = moonshark.protocol{ name = 'ok', tcp_ports = {10} }\n"
             "function q.on_data(conn, dir, b) moonshark.emit('ok', { n = #b }) end\n",
             body);
    fx_load(&fx, script);
    ms_lua_conn *c1 = open_conn(&fx, "CSpin", 9, NULL);
    ms_lua_conn_data(c1, C, (const uint8_t *)"x", 1, 0);
    ms_lua_conn *c2 = open_conn(&fx, "COk", 10, NULL);
    ms_lua_conn_data(c2, C, (const uint8_t *)"abcd", 4, 0);
    ms_lua_conn_close(c1, "fin");
    ms_lua_conn_close(c2, "fin");
    const ms_lua_stats *st = ms_lua_get_stats(fx.rt);
    if (st->script_errors != 1 || st->budget_hits != 1)
        fail_msg("%s (%s): errors %llu budget hits %llu", body, exact ? "exact" : "lazy",
                 (unsigned long long)st->script_errors, (unsigned long long)st->budget_hits);
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"n\":4}\n");
    fx_free(&fx);
}

static void test_instruction_budget_reaches_callbacks_and_nested_coroutines(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "while true do end",
        "local x = 0; while true do x = x + 1 end",
        "coroutine.wrap(function() while true do end end)()",
        "local co = coroutine.create(function() while true do end end); local ok, e = coroutine.resume(co); error(e, 0)",
        "coroutine.wrap(function() coroutine.wrap(function() while true do end end)() end)()",
        "local t = {}; while true do t[#t % 100 + 1] = tostring(#t) end",
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(bodies); i++) {
        run_spin(bodies[i], false);
        run_spin(bodies[i], true);
    }
}

/* Lua runs finalizers with hooks off, so no budget could stop a spinning __gc: the sandbox
 * refuses metatables with __gc. */
static void test_sandbox_refuses_gc_metamethods(void **state)
{
    (void)state;
    expect_blocked("return setmetatable({}, { __gc = function() while true do end end })");
    fixture fx;
    fx_open(&fx);
    const char *out = run_probe(&fx, "return getmetatable(setmetatable({}, { __index = { a = 7 } })).__index.a");
    assert_non_null(strstr(out, "\"v\":\"7\""));
    fx_free(&fx);
}

static void test_error_in_one_connection_does_not_affect_another(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'lines', tcp_ports = {9} }\n"
                 "function p.client(r)\n"
                 "  while true do\n"
                 "    local l = r:line(100); if not l then return end\n"
                 "    if l == 'boom' then error('boom on ' .. r.conn.uid) end\n"
                 "    moonshark.emit('lines', { uid = r.conn.uid, line = l })\n"
                 "  end\n"
                 "end\n");
    ms_lua_conn *a = open_conn(&fx, "CA", 9, NULL);
    ms_lua_conn *b = open_conn(&fx, "CB", 9, NULL);
    feed(a, C, "a1\n", 0);
    feed(b, C, "b1\n", 0);
    feed(a, C, "boom\na2\n", 0);
    feed(b, C, "b2\nboom\n", 0);
    feed(a, C, "a3\n", 0);
    ms_lua_conn_close(a, "fin");
    ms_lua_conn_close(b, "fin");
    const ms_lua_stats *st = ms_lua_get_stats(fx.rt);
    assert_int_equal(st->script_errors, 2);
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"line\":\"a1\",\"uid\":\"CA\"}\n"
                             "{\"line\":\"b1\",\"uid\":\"CB\"}\n"
                             "{\"line\":\"b2\",\"uid\":\"CB\"}\n");
    fx_free(&fx);
}

/* ---- reader requests -------------------------------------------------------------------- */

/* A reader script that logs every request's result, for segmentation tests. */
static const char reader_script[] =
    "local p = moonshark.protocol{ name = 'rd', tcp_ports = {9} }\n"
    "local function q(s) if s == nil then return 'nil' end return '[' .. s .. ']' end\n"
    "function p.client(r)\n"
    "  local out = {}\n"
    "  out[#out+1] = q(r:line(64))\n"
    "  out[#out+1] = q(r:line(64))\n"
    "  local h = r:headers(1024)\n"
    "  local hs = {}\n"
    "  for i, kv in ipairs(h) do hs[#hs+1] = kv[1] .. '=' .. kv[2] end\n"
    "  out[#out+1] = table.concat(hs, ';')\n"
    "  out[#out+1] = 'host=' .. tostring(h.host) .. ' x=' .. tostring(h['x-multi'])\n"
    "  out[#out+1] = q(r:peek(3))\n"
    "  out[#out+1] = q(r:read(5))\n"
    "  out[#out+1] = 'skip=' .. r:skip(10)\n"
    "  out[#out+1] = q(r:line(64))\n"
    "  out[#out+1] = 'rest=' .. r:skip_all()\n"
    "  moonshark.emit('rd', { out = table.concat(out, '|') })\n"
    "end\n";

static const char reader_input[] =
    "first line\r\n"
    "second\n"
    "Host: example.com\r\n"
    "X-Multi: a\r\n"
    "Folded: one\r\n"
    "  two\r\n"
    "x-multi: b\r\n"
    "\r\n"
    "abcdefgh0123456789tail\r\n"
    "leftover bytes";

static const char reader_expect[] =
    "{\"out\":\"[first line]|[second]|Host=example.com;X-Multi=a;Folded=one two;x-multi=b|"
    "host=example.com x=a, b|[abc]|[abcde]|skip=10|[789tail]|rest=14\"}\n";

static void run_reader_segmented(size_t step)
{
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, reader_script);
    ms_lua_conn *c = open_conn(&fx, "CRd", 9, NULL);
    feed(c, C, reader_input, step);
    ms_lua_conn_end(c, C);
    ms_lua_conn_close(c, "fin");
    assert_int_equal(ms_lua_get_stats(fx.rt)->script_errors, 0);
    const char *out = fx_finish(&fx);
    if (strcmp(out, reader_expect) != 0)
        fail_msg("step %zu: got %s", step, out);
    fx_free(&fx);
}

static void test_reader_requests_whole_input(void **state)
{
    (void)state;
    run_reader_segmented(0);
}

static void test_reader_requests_one_byte_at_a_time(void **state)
{
    (void)state;
    run_reader_segmented(1);
}

static void test_reader_requests_every_piece_size(void **state)
{
    (void)state;
    for (size_t step = 2; step < 40; step++)
        run_reader_segmented(step);
}

/* Splits the input at every single position (two pieces), covering a cut inside each CRLF. */
static void test_reader_requests_split_at_every_offset(void **state)
{
    (void)state;
    size_t len = strlen(reader_input);
    for (size_t cut = 1; cut < len; cut++) {
        fixture fx;
        fx_open(&fx);
        fx_load(&fx, reader_script);
        ms_lua_conn *c = open_conn(&fx, "CRd", 9, NULL);
        assert_int_equal(ms_lua_conn_feed(c, C, (const uint8_t *)reader_input, cut, 0), 0);
        assert_int_equal(ms_lua_conn_feed(c, C, (const uint8_t *)reader_input + cut, len - cut, 0), 0);
        ms_lua_conn_end(c, C);
        ms_lua_conn_close(c, "fin");
        const char *out = fx_finish(&fx);
        if (strcmp(out, reader_expect) != 0)
            fail_msg("cut %zu: got %s", cut, out);
        fx_free(&fx);
    }
}

static void test_headers_table_has_pairs_length_and_lowercase_map(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'hd', tcp_ports = {9} }\n"
                 "function p.client(r)\n"
                 "  local h = r:headers(1000)\n"
                 "  local keys = {}\n"
                 "  for k, v in pairs(h) do if type(k) == 'string' then keys[#keys+1] = k end end\n"
                 "  table.sort(keys)\n"
                 "  moonshark.emit('hd', { n = #h, first = h[1][1] .. '=' .. h[1][2], last = h[#h][2],\n"
                 "    keys = table.concat(keys, ','), ct = h['content-type'], zero = tostring(rawget(h, 0)),\n"
                 "    empty = tostring(r:headers(1000)[1]) })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CHd", 9, NULL);
    feed(c, C, "Content-Type: text/plain\r\nX-A:  1 \r\n\t 2\r\nnot a header\r\nx-a: 3\r\n\r\n\r\n", 5);
    ms_lua_conn_close(c, "fin");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"ct\":\"text/plain\",\"empty\":\"nil\",\"first\":\"Content-Type=text/plain\","
                             "\"keys\":\"content-type,x-a\",\"last\":\"3\",\"n\":3,\"zero\":\"nil\"}\n");
    fx_free(&fx);
}

static void test_headers_with_wanted_set_maps_only_those_names_but_lists_all(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'hw', tcp_ports = {9} }\n"
                 "local WANT = { host = true, ['content-length'] = true }\n"
                 "function p.client(r)\n"
                 "  local h = r:headers(1000, WANT)\n"
                 "  moonshark.emit('hw', { n = #h, host = h.host, cl = h['content-length'],\n"
                 "    ua = tostring(h['user-agent']), third = h[3][1] .. '=' .. h[3][2] })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CHw", 9, NULL);
    feed(c, C, "Host: a.example\r\nUser-Agent: t/1\r\nContent-Length: 7\r\n\r\n", 3);
    ms_lua_conn_close(c, "fin");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"cl\":\"7\",\"host\":\"a.example\",\"n\":3,\"third\":\"Content-Length=7\","
                             "\"ua\":\"nil\"}\n");
    fx_free(&fx);
}

static void test_skip_never_enters_lua_for_skipped_bytes(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'sk', tcp_ports = {9} }\n"
                 "function p.client(r)\n"
                 "  local n = tonumber(r:line(20))\n"
                 "  moonshark.emit('sk', { skipped = r:skip(n), after = r:line(20) })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CSk", 9, NULL);
    feed(c, C, "1000000\n", 0);
    uint64_t calls_before = ms_lua_get_stats(fx.rt)->calls;
    static uint8_t body[1000];
    memset(body, 'B', sizeof body);
    for (int i = 0; i < 999; i++)
        ms_lua_conn_data(c, C, body, sizeof body, 0);
    uint64_t calls_during = ms_lua_get_stats(fx.rt)->calls - calls_before;
    assert_int_equal(calls_during, 0);
    assert_int_equal(ms_lua_get_stats(fx.rt)->bytes_skipped, 999000);
    feed(c, C, "BBBBBBBBBB", 0);
    uint8_t last[1000 - 10 + 4];
    memset(last, 'B', sizeof last);
    memcpy(last + sizeof last - 4, "ok\r\n", 4);
    ms_lua_conn_data(c, C, last, sizeof last, 0);
    assert_int_equal(ms_lua_get_stats(fx.rt)->calls - calls_before, 1);
    assert_int_equal(ms_lua_get_stats(fx.rt)->bytes_skipped, 1000000);
    ms_lua_conn_close(c, "fin");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"after\":\"ok\",\"skipped\":1000000}\n");
    fx_free(&fx);
}

static void test_gap_raises_gap_error_in_pending_read(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'gp', tcp_ports = {9} }\n"
                 "function p.client(r)\n"
                 "  local a = r:line(100)\n"
                 "  local ok, e = pcall(r.line, r, 100)\n"
                 "  moonshark.emit('gp', { a = a, gap = moonshark.is_gap(e), n = e.bytes })\n"
                 "  moonshark.emit('gp', { a = r:line(100) })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CGap", 9, NULL);
    feed(c, C, "one\npartial", 0);
    ms_lua_conn_gap(c, C, 77);
    feed(c, C, "two\n", 0);
    ms_lua_conn_close(c, "fin");
    const ms_lua_stats *st = ms_lua_get_stats(fx.rt);
    assert_int_equal(st->bytes_gap, 77);
    assert_int_equal(st->bytes_dropped, 7); /* "partial" */
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"a\":\"one\",\"gap\":true,\"n\":77}\n{\"a\":\"two\"}\n");
    fx_free(&fx);
}

static void test_uncaught_gap_stops_the_parser_and_is_reported(void **state)
{
    (void)state;
    fixture fx;
    ms_lua_opts opts;
    ms_lua_opts_default(&opts);
    char *err = NULL;
    size_t errlen = 0;
    FILE *errf = open_memstream(&err, &errlen);
    opts.errlog = errf;
    fx_open_opts(&fx, &opts);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'ug', tcp_ports = {9} }\n"
                 "function p.client(r) while r:line(100) do end end\n"
                 "function p.server(r) moonshark.emit('ug', { s = r:line(100) }) end\n");
    ms_lua_conn *c = open_conn(&fx, "CUg", 9, NULL);
    feed(c, C, "a\nb", 0);
    ms_lua_conn_gap(c, C, 5);
    feed(c, S, "server line\n", 0);
    ms_lua_conn_close(c, "fin");
    assert_int_equal(ms_lua_get_stats(fx.rt)->script_errors, 1);
    const char *out = fx_finish(&fx);
    /* the failure stops the parser on the whole connection: the server line is not emitted */
    assert_string_equal(out, "");
    fclose(errf);
    assert_non_null(strstr(err, "ug parser failed in client on connection CUg: gap: 5 bytes lost"));
    assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1); /* one line */
    free(err);
    fx_free(&fx);
}

static void test_gap_inside_skip_is_absorbed(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'gs', tcp_ports = {9} }\n"
                 "function p.client(r)\n"
                 "  local n = r:skip(100)\n"
                 "  moonshark.emit('gs', { n = n, l = r:line(100) })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CGs", 9, NULL);
    static const uint8_t forty[40] = { 0 };
    ms_lua_conn_data(c, C, forty, 40, 0);
    ms_lua_conn_gap(c, C, 50);
    ms_lua_conn_data(c, C, forty, 10, 0);
    feed(c, C, "next\n", 0);
    ms_lua_conn_close(c, "fin");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"l\":\"next\",\"n\":100}\n");
    fx_free(&fx);
}

/* The script of the r:skip_chunked tests: one chunked body (its outcome, or the kind of the error
 * it raised), then the next line. */
static const char SKIP_CHUNKED_SCRIPT[] =
    "local p = moonshark.protocol{ name = 'ch', tcp_ports = {9} }\n"
    "function p.client(r)\n"
    "  local ok, n, ended, bad = pcall(r.skip_chunked, r, 20, 40)\n"
    "  if not ok then n, ended = n.kind .. (n.limit or ''), nil end\n"
    "  moonshark.emit('ch', { n = n, ended = tostring(ended), bad = tostring(bad), after = tostring(r:line(100)) })\n"
    "end\n";

static void test_skip_chunked_walks_sizes_data_and_trailers_at_every_piece_size(void **state)
{
    (void)state;
    /* an extension, an extra empty line between chunks, upper-case hex, a trailer header, bare LF */
    const char *body = "3;ext=1\r\nabc\r\n\r\n1A\r\n0123456789abcdef0123456789\n0\r\nTrailer: x\r\n\r\nafter\n";
    for (size_t step = 1; step <= strlen(body); step++) {
        fixture fx;
        fx_open(&fx);
        fx_load(&fx, SKIP_CHUNKED_SCRIPT);
        ms_lua_conn *c = open_conn(&fx, "CCh", 9, NULL);
        feed(c, C, body, step);
        ms_lua_conn_close(c, "fin");
        assert_int_equal(ms_lua_get_stats(fx.rt)->bytes_skipped, 29);
        const char *out = fx_finish(&fx);
        assert_string_equal(out, "{\"after\":\"after\",\"bad\":\"nil\",\"ended\":\"false\",\"n\":29}\n");
        fx_free(&fx);
    }
}

static void test_skip_chunked_reports_bad_sizes_gaps_limits_and_ends(void **state)
{
    (void)state;
    static const struct {
        const char *before;
        uint64_t gap;      /* lost after `before` */
        const char *after; /* then these, then the end */
        const char *want;
    } cases[] = {
        { "4\r\nabcd\r\nzz\r\nrest\n", 0, "",
          "{\"after\":\"rest\",\"bad\":\"bad_chunk\",\"ended\":\"true\",\"n\":4}\n" },
        /* lost chunk data counts as skipped */
        { "5\r\nab", 3, "\r\n0\r\n\r\nrest\n",
          "{\"after\":\"rest\",\"bad\":\"nil\",\"ended\":\"false\",\"n\":5}\n" },
        /* lost bytes past the data reach the size line: a gap error */
        { "5\r\nab", 5, "rest\n", "{\"after\":\"rest\",\"bad\":\"nil\",\"ended\":\"nil\",\"n\":\"gap\"}\n" },
        { "5\r\nabcde\r\n", 2, "rest\n", "{\"after\":\"rest\",\"bad\":\"nil\",\"ended\":\"nil\",\"n\":\"gap\"}\n" },
        /* a size line past 20 bytes, a trailer block past 40: the error leaves the bytes unread */
        { "0000000000000000000000001\r\n", 0, "", "{\"after\":\"0000000000000000000000001\",\"bad\":\"nil\",\"ended\":\"nil\",\"n\":\"limit20\"}\n" },
        { "0\r\nX: 0123456789012345678901234567890123456789\r\n\r\n", 0, "",
          "{\"after\":\"X: 0123456789012345678901234567890123456789\",\"bad\":\"nil\",\"ended\":\"nil\",\"n\":\"limit40\"}\n" },
        /* the stream ends inside data, inside a size line, inside the trailers */
        { "5\r\nab", 0, "", "{\"after\":\"nil\",\"bad\":\"nil\",\"ended\":\"true\",\"n\":2}\n" },
        { "2\r\nab\r\n1", 0, "", "{\"after\":\"nil\",\"bad\":\"nil\",\"ended\":\"true\",\"n\":2}\n" },
        { "0\r\nX: 1\r\n", 0, "", "{\"after\":\"nil\",\"bad\":\"nil\",\"ended\":\"true\",\"n\":0}\n" },
        /* more than 15 hex digits: the rest of the stream, then bad_chunk */
        { "1000000000000000\r\n", 0, "xyz\n",
          "{\"after\":\"nil\",\"bad\":\"bad_chunk\",\"ended\":\"true\",\"n\":4}\n" },
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(cases); i++) {
        fixture fx;
        fx_open(&fx);
        fx_load(&fx, SKIP_CHUNKED_SCRIPT);
        ms_lua_conn *c = open_conn(&fx, "CCh", 9, NULL);
        feed(c, C, cases[i].before, 1);
        if (cases[i].gap)
            ms_lua_conn_gap(c, C, cases[i].gap);
        feed(c, C, cases[i].after, 1);
        ms_lua_conn_close(c, "fin");
        const char *out = fx_finish(&fx);
        print_message("case %zu\n", i);
        assert_string_equal(out, cases[i].want);
        fx_free(&fx);
    }
}

static void test_line_limit_raises_limit_error(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'lim', tcp_ports = {9} }\n"
                 "function p.client(r)\n"
                 "  local ok, e = pcall(r.line, r, 8)\n"
                 "  moonshark.emit('lim', { kind = e.kind, limit = e.limit })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CLim", 9, NULL);
    feed(c, C, "0123456789abcdef\n", 1);
    ms_lua_conn_close(c, "fin");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"kind\":\"limit\",\"limit\":8}\n");
    fx_free(&fx);
}

/* Arbitrary bytes, cut at arbitrary places, with gaps and early ends, through a parser that uses
 * every request (r:skip_chunked and r:header_values too): nothing crashes (run under SAN=1), and
 * every presented byte is accounted for. */
static void test_random_bytes_and_cuts_never_break_the_reader(void **state)
{
    (void)state;
    static const char script[] =
        "local p = moonshark.protocol{ name = 'rnd', tcp_ports = {9} }\n"
        "local SET = moonshark.header_set{ 'a', 'host', '0' }\n"
        "local function body(r)\n"
        "  while true do\n"
        "    local b = r:peek(1); if not b then return end\n"
        "    local k = b:byte() % 9\n"
        "    if k == 0 then r:line(64)\n"
        "    elseif k == 1 then r:headers(256)\n"
        "    elseif k == 2 then r:read(1 + b:byte() % 13)\n"
        "    elseif k == 3 then r:skip(b:byte() * 3)\n"
        "    elseif k == 4 then r:peek(b:byte()); r:read(1)\n"
        "    elseif k == 5 then r:time(); r:read(1)\n"
        "    elseif k == 6 then r:skip_chunked(16, 64)\n"
        "    elseif k == 7 then r:header_values(128, SET)\n"
        "    else r:line(4) end\n"
        "  end\n"
        "end\n"
        "local function run(r)\n"
        "  while true do\n"
        "    local ok, e = pcall(body, r)\n"
        "    if ok then return end\n"
        "    if not (moonshark.is_gap(e) or moonshark.is_limit(e)) then error(e, 0) end\n"
        "    if moonshark.is_limit(e) then r:skip(1) end\n"
        "  end\n"
        "end\n"
        "p.client = run\n"
        "p.server = run\n";
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 200; round++) {
        fixture fx;
        ms_lua_opts opts;
        ms_lua_opts_default(&opts);
        opts.errlog = stdout; /* a failure here prints the script error */
        fx_open_opts(&fx, &opts);
        fx_load(&fx, script);
        ms_lua_conn *c = open_conn(&fx, "CRnd", 9, NULL);
        uint8_t buf[512];
        int steps = 20 + (int)(x % 40);
        for (int i = 0; i < steps; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            int dir = (int)(x & 1);
            size_t n = (size_t)(x >> 8) % sizeof buf;
            for (size_t k = 0; k < n; k++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                buf[k] = (x & 3) == 0 ? '\n' : (x & 7) == 1 ? '\r' : (uint8_t)(x >> 24);
            }
            if ((x >> 40) % 17 == 0)
                ms_lua_conn_gap(c, dir, 1 + (x >> 48) % 100);
            else if ((x >> 40) % 53 == 0)
                ms_lua_conn_end(c, dir);
            else
                ms_lua_conn_feed(c, dir, buf, n, (uint64_t)i);
        }
        ms_lua_conn_close(c, "flush");
        const ms_lua_stats *st = ms_lua_get_stats(fx.rt);
        assert_int_equal(st->script_errors, 0);
        assert_int_equal(st->bytes_in, st->bytes_parsed + st->bytes_skipped + st->bytes_dropped);
        fx_finish(&fx);
        fx_free(&fx);
    }
}

/* ---- bytes views and protocol choice ---------------------------------------------------- */

static void test_bytes_view_reads_and_bounds(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'bv', tcp_ports = {9} }\n"
                 "local kept\n"
                 "function p.on_data(conn, dir, b)\n"
                 "  kept = b\n"
                 "  moonshark.emit('bv', { len = #b, sub = b:sub(2, 4), byte = b:byte(1),\n"
                 "    u16 = b:u16be(1), u16le = b:u16le(1), u32 = b:u32be(1), u32le = b:u32le(2),\n"
                 "    oob = tostring(b:u8(6)) .. tostring(b:u16be(5)) .. tostring(b:u8(0)),\n"
                 "    find = b:find('cd', 1, true), str = b:str(), neg = b:sub(-2) })\n"
                 "  return 3\n"
                 "end\n"
                 "function p.on_close(conn, reason)\n"
                 "  local ok = pcall(function() return #kept end)\n"
                 "  moonshark.emit('bv2', { stale_ok = ok, reason = reason })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CBv", 9, NULL);
    size_t used = ms_lua_conn_data(c, C, (const uint8_t *)"\x01\x02" "cde", 5, 0);
    assert_int_equal(used, 3);
    ms_lua_conn_close(c, "rst");
    const char *out = fx_finish(&fx);
    assert_string_equal(out,
                        "{\"byte\":1,\"find\":3,\"len\":5,\"neg\":\"de\",\"oob\":\"nilnilnil\",\"str\":\"\\u0001\\u0002cde\","
                        "\"sub\":\"\\u0002cd\",\"u16\":258,\"u16le\":513,\"u32\":16933732,\"u32le\":1701077762}\n"
                        "{\"reason\":\"rst\",\"stale_ok\":false}\n");
    fx_free(&fx);
}

static void test_detect_finds_protocol_on_unknown_port(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'hi', tcp_ports = {7},\n"
                 "  detect = function(b, dir) return dir == moonshark.CLIENT and b:sub(1, 3) == 'HI ' end }\n"
                 "function p.client(r) moonshark.emit('hi', { l = r:line(100), proto = r.conn.protocol }) end\n");
    ms_lua_conn *c1 = open_conn(&fx, "C1", 5555, NULL);
    feed(c1, C, "HI there\n", 0);
    assert_string_equal(ms_lua_conn_protocol(c1), "hi");
    ms_lua_conn *c2 = open_conn(&fx, "C2", 5556, NULL);
    feed(c2, C, "nothing to see here\n", 0);
    assert_null(ms_lua_conn_protocol(c2));
    ms_lua_conn_close(c1, "fin");
    ms_lua_conn_close(c2, "fin");
    assert_int_equal(ms_lua_get_stats(fx.rt)->conns_unparsed, 1);
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"l\":\"HI there\",\"proto\":\"hi\"}\n");
    fx_free(&fx);
}

static void test_declared_log_keeps_column_order_and_types(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "moonshark.log{ name = 'x', fields = { {'ts','time'}, {'uid','string'}, {'n','count'},\n"
                 "  {'tags','set'}, {'ok','bool'}, {'d','double'} } }\n"
                 "local p = moonshark.protocol{ name = 'x', tcp_ports = {9} }\n"
                 "function p.on_data(conn, dir, b)\n"
                 "  moonshark.emit('x', { ok = true, tags = {'a','b'}, n = 7, uid = conn.uid,\n"
                 "                        ts = 1700000000.25, unknown = 1 })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CLog", 9, NULL);
    ms_lua_conn_data(c, C, (const uint8_t *)"x", 1, 0);
    ms_lua_conn_close(c, "fin");
    assert_int_equal(ms_lua_get_stats(fx.rt)->records, 1);
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"ts\":1700000000.250000,\"uid\":\"CLog\",\"n\":7,\"tags\":[\"a\",\"b\"],\"ok\":true}\n");
    fx_free(&fx);
}

static void test_udp_datagrams_reach_on_datagram(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'dg', udp_ports = {53} }\n"
                 "function p.on_datagram(conn, dir, b)\n"
                 "  moonshark.emit('dg', { dir = dir, id = b:u16be(1), proto = conn.proto })\n"
                 "end\n");
    ms_lua_conn_info info;
    memset(&info, 0, sizeof info);
    info.uid = "CUdp";
    info.client.family = 4;
    info.server.family = 4;
    info.server.port = 53;
    info.client.port = 5353;
    info.udp = true;
    ms_lua_conn *c = ms_lua_conn_open(fx.rt, &info);
    ms_lua_datagram(c, C, (const uint8_t *)"\x12\x34", 2, 0);
    ms_lua_datagram(c, S, (const uint8_t *)"\x12\x35", 2, 0);
    ms_lua_conn_close(c, "idle");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"dir\":0,\"id\":4660,\"proto\":\"udp\"}\n{\"dir\":1,\"id\":4661,\"proto\":\"udp\"}\n");
    fx_free(&fx);
}

static void test_now_gives_capture_time_and_times_print_to_the_microsecond(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'tm', udp_ports = {53} }\n"
                 "moonshark.log{ name = 'tm', fields = { {'ts','time'}, {'d','interval'} } }\n"
                 "function p.on_datagram(conn, dir, b)\n"
                 "  moonshark.emit('tm', { ts = moonshark.now(), d = 0.25 })\n"
                 "  moonshark.emit('tm', { d = -3.5 })\n"
                 "end\n");
    ms_lua_conn_info info;
    memset(&info, 0, sizeof info);
    info.uid = "CTm";
    info.client.family = 4;
    info.server.family = 4;
    info.server.port = 53;
    info.udp = true;
    ms_lua_conn *c = ms_lua_conn_open(fx.rt, &info);
    ms_lua_datagram(c, C, (const uint8_t *)"x", 1, 1258577884844956000ull);
    ms_lua_conn_close(c, "idle");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"ts\":1258577884.844956,\"d\":0.250000}\n{\"d\":-3.500000}\n");
    fx_free(&fx);
}

static void test_header_set_gives_a_plain_table_of_its_names_only(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'hs', tcp_ports = {9} }\n"
                 "local SET = moonshark.header_set{ 'host', 'x-a', 'content-length' }\n"
                 "function p.client(r)\n"
                 "  local h = r:headers(1000, SET)\n"
                 "  local n = 0\n"
                 "  for _ in pairs(h) do n = n + 1 end\n"
                 "  moonshark.emit('hs', { n = n, host = h.host, xa = h['x-a'], cl = h['content-length'],\n"
                 "    mt = tostring(getmetatable(h)), ua = tostring(h['user-agent']), first = tostring(h[1]) })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CHs", 9, NULL);
    /* names match without case; a repeated header joins with ", "; a folded one with a space;
     * a folded line of a header outside the set is passed over */
    feed(c, C, "HOST: a.example\r\nUser-Agent: t/1\r\n  folded-ua\r\nX-A: 1\r\nx-a: 2\r\n"
               "Content-Length:  7 \r\n   more\r\n\r\n", 1);
    ms_lua_conn_close(c, "fin");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"cl\":\"7 more\",\"first\":\"nil\",\"host\":\"a.example\",\"mt\":\"nil\","
                             "\"n\":3,\"ua\":\"nil\",\"xa\":\"1, 2\"}\n");
    fx_free(&fx);
}

static void test_header_values_answers_the_set_in_its_order(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'hv', tcp_ports = {9} }\n"
                 "local SET = moonshark.header_set{ 'x-a', 'missing', 'host', 'content-length' }\n"
                 "local EMPTY = moonshark.header_set{}\n"
                 "function p.client(r)\n"
                 "  local n = select('#', r:header_values(1000, SET))\n"
                 "  local ok, xa, missing, host, cl = r:header_values(1000, SET)\n"
                 "  local ok2, extra = r:header_values(1000, EMPTY)\n"
                 "  local at_end = r:header_values(1000, SET)\n"
                 "  moonshark.emit('hv', { n = n, ok = tostring(ok), xa = xa, missing = tostring(missing),\n"
                 "    host = host, cl = cl, ok2 = tostring(ok2), extra = tostring(extra), at_end = tostring(at_end) })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CHv", 9, NULL);
    /* four blocks: the first only counts the answers; then the values of the second in the set's
     * order (names without case, a repeated header joined with ", ", a folded one with a space);
     * an empty set answers just true; the stream then ends before a fourth block */
    feed(c, C, "A: b\r\n\r\n"
               "HOST: a.example\r\nUser-Agent: t/1\r\n  folded-ua\r\nX-A: 1\r\nx-a: 2\r\n"
               "Content-Length:  7 \r\n   more\r\n\r\n"
               "Host: ignored\r\n\r\n", 1);
    ms_lua_conn_close(c, "fin");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"at_end\":\"nil\",\"cl\":\"7 more\",\"extra\":\"nil\",\"host\":\"a.example\","
                             "\"missing\":\"nil\",\"n\":5,\"ok\":\"true\",\"ok2\":\"true\",\"xa\":\"1, 2\"}\n");
    fx_free(&fx);
}

static void test_log_writer_takes_one_value_per_column_in_order(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local write = moonshark.log{ name = 'x', fields = { {'ts','time'}, {'uid','string'},\n"
                 "  {'n','count'}, {'tags','set'}, {'ok','bool'}, {'d','double'} } }\n"
                 "local again = moonshark.log{ name = 'x', fields = { {'ts','time'}, {'uid','string'},\n"
                 "  {'n','count'}, {'tags','set'}, {'ok','bool'}, {'d','double'} } }\n"
                 "local p = moonshark.protocol{ name = 'x', tcp_ports = {9} }\n"
                 "function p.on_data(conn, dir, b)\n"
                 "  write(1700000000.25, conn.uid, 7, {'a','b'}, true)\n"
                 "  again(false, false, false, false, false, 0.5)\n"
                 "  local ok, err = pcall(write, 1, 2, 3, 4, 5, 6, 7)\n"
                 "  moonshark.emit('why', { ok = ok, err = err })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CLog", 9, NULL);
    ms_lua_conn_data(c, C, (const uint8_t *)"x", 1, 0);
    ms_lua_conn_close(c, "fin");
    assert_int_equal(ms_lua_get_stats(fx.rt)->records, 3);
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"ts\":1700000000.250000,\"uid\":\"CLog\",\"n\":7,\"tags\":[\"a\",\"b\"],\"ok\":true}\n"
                             "{\"ok\":false,\"d\":0.500000}\n"
                             "{\"err\":\"log x: 7 values for 6 columns\",\"ok\":false}\n");
    fx_free(&fx);
}

static void test_split_cuts_at_each_separator_up_to_n_pieces(void **state)
{
    (void)state;
    static const struct {
        const char *body, *want;
    } cases[] = {
        { "return table.concat({moonshark.split('GET /a b HTTP/1.1', ' ', 3)}, '|')", "GET|/a|b HTTP/1.1" },
        { "return table.concat({moonshark.split('a  b', ' ', 3)}, '|')", "a||b" },
        { "return select('#', moonshark.split('no-sep', ' ', 3))", "1" },
        { "return table.concat({moonshark.split('x,y,', ',', 9)}, '|') .. '!'", "x|y|!" },
        { "return table.concat({moonshark.split('', ' ', 2)}, '|') .. '!'", "!" },
        { "return moonshark.split('a b', ' ', 1)", "a b" },
        { "return moonshark.split('a b', '  ', 2)", "separator must be one byte" },
        { "return moonshark.split('a b', ' ', 0)", "count must be 1 to 64" },
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(cases); i++) {
        fixture fx;
        fx_open(&fx);
        const char *out = run_probe(&fx, cases[i].body);
        print_message("case %zu: %s", i, out);
        assert_non_null(strstr(out, cases[i].want));
        fx_free(&fx);
    }
}

static void test_header_set_rejects_names_it_could_never_match(void **state)
{
    (void)state;
    const char *bad[] = { "moonshark.header_set{ 'Host' }", "moonshark.header_set{ 'a b' }",
                          "moonshark.header_set{ '' }", "moonshark.header_set{ 'x:y' }",
                          "moonshark.header_set{ 5 }", "moonshark.header_set('host')" };
    for (size_t i = 0; i < MS_ARRAY_LEN(bad); i++) {
        fixture fx;
        fx_open(&fx);
        char body[256];
        snprintf(body, sizeof body, "return %s", bad[i]);
        const char *out = run_probe(&fx, body);
        assert_non_null(strstr(out, "\"ok\":\"false\""));
        assert_non_null(strstr(out, "header_set") ? out : strstr(out, "table expected"));
        fx_free(&fx);
    }
}

static void test_line_with_time_returns_its_first_byte_time(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'lt', tcp_ports = {9} }\n"
                 "function p.client(r)\n"
                 "  local a, ta = r:line(100, true)\n"
                 "  local b, tb = r:line(100)\n"
                 "  moonshark.emit('lt', { a = a, ta = ta, b = b, tb = tostring(tb) })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CLt", 9, NULL);
    /* the first line starts in the packet of second 5 and ends in the one of second 6 */
    assert_int_equal(ms_lua_conn_feed(c, C, (const uint8_t *)"fir", 3, 5000000000ull), 0);
    assert_int_equal(ms_lua_conn_feed(c, C, (const uint8_t *)"st\nsecond\n", 10, 6000000000ull), 0);
    ms_lua_conn_close(c, "fin");
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"a\":\"first\",\"b\":\"second\",\"ta\":5.000000,\"tb\":\"nil\"}\n");
    fx_free(&fx);
}

static void test_gap_error_carries_the_start_of_a_cut_line(void **state)
{
    (void)state;
    fixture fx;
    fx_open(&fx);
    fx_load(&fx, "local p = moonshark.protocol{ name = 'gc', tcp_ports = {9} }\n"
                 "function p.client(r)\n"
                 "  local ok, e = pcall(r.line, r, 100)\n"
                 "  moonshark.emit('gc', { partial = e.partial, ts = e.partial_ts })\n"
                 "  ok, e = pcall(r.line, r, 100)\n"
                 "  moonshark.emit('gc2', { partial = tostring(e.partial), kind = e.kind, next = r:line(100) })\n"
                 "end\n");
    ms_lua_conn *c = open_conn(&fx, "CGc", 9, NULL);
    assert_int_equal(ms_lua_conn_feed(c, C, (const uint8_t *)"GET /a H", 8, 3000000000ull), 0);
    assert_int_equal(ms_lua_conn_feed(c, C, (const uint8_t *)"TT", 2, 4000000000ull), 0);
    ms_lua_conn_gap(c, C, 10);
    ms_lua_conn_gap(c, C, 10); /* a gap with no line begun: no partial */
    feed(c, C, "ok\n", 0);
    ms_lua_conn_close(c, "fin");
    assert_int_equal(ms_lua_get_stats(fx.rt)->script_errors, 0);
    const char *out = fx_finish(&fx);
    assert_string_equal(out, "{\"partial\":\"GET /a HTT\",\"ts\":3.000000}\n"
                             "{\"kind\":\"gap\",\"next\":\"ok\",\"partial\":\"nil\"}\n");
    fx_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandbox_blocks_os_execute),
        cmocka_unit_test(test_sandbox_blocks_os_exit_remove_rename_getenv),
        cmocka_unit_test(test_sandbox_blocks_io_popen_and_writes),
        cmocka_unit_test(test_sandbox_blocks_c_modules_and_binary_chunks),
        cmocka_unit_test(test_sandbox_allows_reading_and_text_load),
        cmocka_unit_test(test_unsafe_lua_lifts_the_sandbox),
        cmocka_unit_test(test_memory_ceiling_stops_runaway_allocation),
        cmocka_unit_test(test_instruction_budget_stops_infinite_loop),
        cmocka_unit_test(test_reused_reader_threads_start_clean_and_keep_the_budget),
        cmocka_unit_test(test_instruction_budget_reaches_callbacks_and_nested_coroutines),
        cmocka_unit_test(test_sandbox_refuses_gc_metamethods),
        cmocka_unit_test(test_error_in_one_connection_does_not_affect_another),
        cmocka_unit_test(test_reader_requests_whole_input),
        cmocka_unit_test(test_reader_requests_one_byte_at_a_time),
        cmocka_unit_test(test_reader_requests_every_piece_size),
        cmocka_unit_test(test_reader_requests_split_at_every_offset),
        cmocka_unit_test(test_headers_table_has_pairs_length_and_lowercase_map),
        cmocka_unit_test(test_headers_with_wanted_set_maps_only_those_names_but_lists_all),
        cmocka_unit_test(test_skip_never_enters_lua_for_skipped_bytes),
        cmocka_unit_test(test_gap_raises_gap_error_in_pending_read),
        cmocka_unit_test(test_header_set_gives_a_plain_table_of_its_names_only),
        cmocka_unit_test(test_header_set_rejects_names_it_could_never_match),
        cmocka_unit_test(test_split_cuts_at_each_separator_up_to_n_pieces),
        cmocka_unit_test(test_header_values_answers_the_set_in_its_order),
        cmocka_unit_test(test_log_writer_takes_one_value_per_column_in_order),
        cmocka_unit_test(test_line_with_time_returns_its_first_byte_time),
        cmocka_unit_test(test_gap_error_carries_the_start_of_a_cut_line),
        cmocka_unit_test(test_uncaught_gap_stops_the_parser_and_is_reported),
        cmocka_unit_test(test_gap_inside_skip_is_absorbed),
        cmocka_unit_test(test_skip_chunked_walks_sizes_data_and_trailers_at_every_piece_size),
        cmocka_unit_test(test_skip_chunked_reports_bad_sizes_gaps_limits_and_ends),
        cmocka_unit_test(test_line_limit_raises_limit_error),
        cmocka_unit_test(test_random_bytes_and_cuts_never_break_the_reader),
        cmocka_unit_test(test_bytes_view_reads_and_bounds),
        cmocka_unit_test(test_detect_finds_protocol_on_unknown_port),
        cmocka_unit_test(test_declared_log_keeps_column_order_and_types),
        cmocka_unit_test(test_udp_datagrams_reach_on_datagram),
        cmocka_unit_test(test_now_gives_capture_time_and_times_print_to_the_microsecond),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
