/* runtime.c — the Lua runtime as a whole: creates the state (allocator with a memory ceiling),
 * opens every part of the bridge into it (budget, error objects, protocols, bytes, readers, emit,
 * text), applies the sandbox, loads scripts, and frees it all. The top of lua/: nothing in lua/
 * calls into this file. */
#include "lua/budget.h"
#include "lua/bytes.h"
#include "lua/digest.h"
#include "lua/emit.h"
#include "lua/proto.h"
#include "lua/reader.h"
#include "lua/sniff.h"
#include "lua/state.h"
#include "lua/text.h"

#include <dirent.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "lua/embedded_lua.h"

/* ---- allocator: every byte Lua holds is counted against mem_limit ---------------------- */

/* Small blocks (up to 256 bytes, 16-byte classes) are recycled through per-class free lists:
 * the strings and tables a parser makes per request come and go fast, and a free list beats
 * malloc for them. At most POOL_MAX_BYTES wait in the lists. Sanitizer builds use plain malloc
 * so every Lua block stays checked. */
#if defined(__SANITIZE_ADDRESS__)
#define MS_LUA_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MS_LUA_POOL 0
#endif
#endif
#ifndef MS_LUA_POOL
#define MS_LUA_POOL 1
#endif
#define POOL_MAX_BYTES (8u << 20)

/* Classes 0-15: 16-byte steps up to 256 (tables, short strings, closures); 16-20: powers of two
 * from 512 to 8192 (long strings: URIs, cookies, header values), which went to malloc and free
 * on every message. */
static int size_class(size_t n)
{
    if (!MS_LUA_POOL || n == 0)
        return -1;
    if (n <= 256)
        return (int)((n - 1) >> 4);
    if (n > 8192)
        return -1;
    int c = 16;
    for (size_t sz = 512; sz < n; sz <<= 1)
        c++;
    return c;
}

static size_t class_size(int c)
{
    return c < 16 ? (size_t)(c + 1) * 16 : (size_t)512 << (c - 16);
}

static void pool_put(ms_lua *rt, int c, void *p)
{
    size_t sz = class_size(c);
    if (rt->pool_bytes + sz > POOL_MAX_BYTES) {
        free(p);
        return;
    }
    ms_lua_pool_block *b = p;
    b->next = rt->pool[c];
    rt->pool[c] = b;
    rt->pool_bytes += sz;
}

static void *pool_get(ms_lua *rt, int c)
{
    ms_lua_pool_block *b = rt->pool[c];
    if (b) {
        rt->pool[c] = b->next;
        rt->pool_bytes -= class_size(c);
        return b;
    }
    return malloc(class_size(c));
}

static void release(ms_lua *rt, void *p, size_t size)
{
    int c = size_class(size);
    if (c >= 0)
        pool_put(rt, c, p);
    else
        free(p);
}

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    ms_lua *rt = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        if (ptr)
            release(rt, ptr, osize);
        rt->stats.mem_used -= old;
        return NULL;
    }
    if (nsize > old && rt->stats.mem_used - old + nsize > rt->mem_limit) {
        rt->stats.mem_limit_hits++;
        return NULL;
    }
    int nc = size_class(nsize), oc = ptr ? size_class(osize) : -1;
    void *p;
    if (ptr && nc >= 0 && nc == oc) {
        p = ptr; /* same class: the block already has room */
    } else if (nc >= 0 || oc >= 0) {
        p = nc >= 0 ? pool_get(rt, nc) : malloc(nsize);
        if (!p)
            return NULL;
        if (ptr) {
            memcpy(p, ptr, MS_MIN(old, nsize));
            release(rt, ptr, osize);
        }
    } else {
        p = realloc(ptr, nsize);
        if (!p)
            return NULL;
    }
    rt->stats.mem_used = rt->stats.mem_used - old + nsize;
    if (rt->stats.mem_used > rt->stats.mem_peak)
        rt->stats.mem_peak = rt->stats.mem_used;
    return p;
}

/* ---- sandbox ------------------------------------------------------------------------------ */

/* Loaded in sandbox mode: text-only load/loadfile/dofile, read-only io.open, require of Lua
 * files only (as text). Runs with the original functions as arguments. */
static const char sandbox_lua[] =
    "local load, loadfile, io_open, searchpath, package = ...\n"
    "local function tload(chunk, name, mode, env) return load(chunk, name, 't', env) end\n"
    "_G.load = tload\n"
    "_G.loadfile = function(path, mode, env)\n"
    "  if path == nil then return nil, 'loadfile: reading stdin is not allowed' end\n"
    "  return loadfile(path, 't', env) end\n"
    "_G.dofile = function(path)\n"
    "  local f, e = loadfile(path, 't'); if not f then error(e, 2) end; return f() end\n"
    "io.open = function(path, mode)\n"
    "  mode = mode or 'r'\n"
    "  if not mode:match('^r[b]?$') then return nil, 'io.open: writing is not allowed (use --unsafe-lua)' end\n"
    "  return io_open(path, mode) end\n"
    "local setmetatable, rawget, type, error = setmetatable, rawget, type, error\n"
    "_G.setmetatable = function(t, mt)\n"
    "  if type(mt) == 'table' and rawget(mt, '__gc') ~= nil then\n"
    "    error('setmetatable: __gc metamethods are not allowed (Lua runs them with hooks off, so the "
    "instruction budget cannot stop them; use --unsafe-lua)', 2) end\n"
    "  return setmetatable(t, mt) end\n"
    "package.searchers = { package.searchers[1], function(name)\n"
    "  local path, err = searchpath(name, package.path)\n"
    "  if not path then return '\\n\\t' .. err end\n"
    "  local f, e = loadfile(path, 't'); if not f then error(e, 2) end\n"
    "  return f, path end }\n";

static int apply_sandbox(lua_State *L, ms_err *err)
{
    /* remove what can run programs, touch files or leave the process */
    static const char *const os_off[] = { "execute", "exit", "remove", "rename", "getenv", "tmpname",
                                          "setlocale", NULL };
    static const char *const io_off[] = { "popen", "output", "tmpfile", NULL };
    lua_getglobal(L, "os");
    for (int i = 0; os_off[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, os_off[i]);
    }
    lua_pop(L, 1);
    lua_getglobal(L, "package");
    lua_pushnil(L);
    lua_setfield(L, -2, "loadlib");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);

    if (luaL_loadbufferx(L, sandbox_lua, sizeof sandbox_lua - 1, "=sandbox", "t") != LUA_OK)
        return ms_fail(err, MS_ELUA, "lua sandbox: %s", lua_tostring(L, -1));
    lua_getglobal(L, "load");
    lua_getglobal(L, "loadfile");
    lua_getglobal(L, "io");
    lua_getfield(L, -1, "open");
    lua_remove(L, -2);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_remove(L, -2);
    lua_getglobal(L, "package");
    if (lua_pcall(L, 5, 0, 0) != LUA_OK)
        return ms_fail(err, MS_ELUA, "lua sandbox: %s", lua_tostring(L, -1));

    lua_getglobal(L, "io");
    for (int i = 0; io_off[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, io_off[i]);
    }
    lua_pop(L, 1);
    /* debug can remove the budget hook and reach the registry */
    lua_pushnil(L);
    lua_setglobal(L, "debug");
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_pushnil(L);
    lua_setfield(L, -2, "debug");
    lua_pop(L, 2);
    return 0;
}

/* ---- loading ------------------------------------------------------------------------------ */

static int run_chunk(ms_lua *rt, const char *chunkname, const char *text, size_t len, ms_err *err)
{
    lua_State *L = rt->L;
    int top = lua_gettop(L);
    if (len && text[0] == LUA_SIGNATURE[0])
        return ms_fail(err, MS_EFORMAT, "%s: binary Lua chunks are not accepted; give the source file", chunkname + 1);
    lua_pushcfunction(L, ms_lua_msgh);
    int rc = luaL_loadbufferx(L, text, len, chunkname, "t");
    if (rc != LUA_OK) {
        ms_fail(err, MS_EFORMAT, "%s", lua_tostring(L, -1));
        lua_settop(L, top);
        return MS_EFORMAT;
    }
    ms_lua_enter(rt, L);
    rc = lua_pcall(L, 0, 0, top + 1);
    ms_lua_leave(rt);
    if (rc != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        size_t first = m ? strcspn(m, "\n") : 0;
        ms_fail(err, MS_ELUA, "%.*s", (int)first, m ? m : "error loading script");
        lua_settop(L, top);
        return MS_ELUA;
    }
    lua_settop(L, top);
    return 0;
}

int ms_lua_load_string(ms_lua *rt, const char *chunkname, const char *text, size_t len, ms_err *err)
{
    char name[256];
    snprintf(name, sizeof name, "@%.250s", chunkname ? chunkname : "script");
    return run_chunk(rt, name, text, len, err);
}

int ms_lua_load_file(ms_lua *rt, const char *path, ms_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ms_fail(err, MS_EIO, "%s: cannot open the script (check the path)", path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > (64u << 20)) {
                free(buf);
                fclose(f);
                return ms_fail(err, MS_ELIMIT, "%s: script larger than 64 MiB", path);
            }
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return ms_fail(err, MS_ENOMEM, "%s: out of memory reading the script", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return ms_fail(err, MS_EIO, "%s: read error", path);
    }
    /* skip a #! line as lua does */
    size_t off = 0;
    if (len > 0 && buf[0] == '#') {
        while (off < len && buf[off] != '\n')
            off++;
    }
    char name[1024];
    snprintf(name, sizeof name, "@%.1000s", path);
    int rc = run_chunk(rt, name, buf + off, len - off, err);
    free(buf);
    return rc;
}

int ms_lua_load_builtin(ms_lua *rt, const char *name, ms_err *err)
{
    char path[128];
    snprintf(path, sizeof path, "protocols/%s.lua", name);
    for (const ms_embedded_lua *e = ms_embedded_lua_files; e->path; e++)
        if (strcmp(e->path, path) == 0)
            return ms_lua_load_string(rt, path, e->text, e->len, err);
    return ms_fail(err, MS_EINVAL, "no bundled protocol named '%s'", name);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(ms_lua *rt, const char *dir, ms_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char *names[1024] = { NULL };
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < (int)MS_ARRAY_LEN(names)) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".lua") == 0 && de->d_name[0] != '.') {
            names[n] = strdup(de->d_name);
            if (names[n])
                n++;
        }
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0) {
            char path[8448];
            int w = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            rc = (w > 0 && (size_t)w < sizeof path) ? ms_lua_load_file(rt, path, err)
                                                    : ms_fail(err, MS_EINVAL, "%s: path too long", dir);
        }
        free(names[i]);
    }
    return rc;
}

int ms_lua_load_path(ms_lua *rt, const char *dirs, ms_err *err)
{
    if (!dirs)
        return 0;
    const char *p = dirs;
    while (*p) {
        size_t l = strcspn(p, ":");
        if (l > 0 && l < 4096) {
            char dir[4096];
            memcpy(dir, p, l);
            dir[l] = '\0';
            int rc = load_dir(rt, dir, err);
            if (rc)
                return rc;
        }
        p += l;
        if (*p == ':')
            p++;
    }
    return 0;
}

/* ---- the runtime -------------------------------------------------------------------------- */

void ms_lua_opts_default(ms_lua_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->sandbox = true;
    opts->mem_limit = MS_LUA_DEFAULT_MEM;
    opts->instr_budget = MS_LUA_DEFAULT_BUDGET;
    opts->format = MS_FMT_AUTO;
    opts->out = NULL;
    opts->errlog = stderr;
}

/* moonshark.now(): capture time (epoch seconds) of the data being handed to parsers. */
static int l_now(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)ms_lua_of(L)->now_ns / 1e9);
    return 1;
}

/* print() writes to stderr: stdout carries the records. */
static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len = 0;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1)
            fputc('\t', stderr);
        fwrite(s, 1, len, stderr);
        lua_pop(L, 1);
    }
    fputc('\n', stderr);
    return 0;
}

static int init_state(lua_State *L)
{
    ms_lua *rt = ms_lua_of(L);
    luaL_openlibs(L);

    lua_pushcfunction(L, l_print);
    lua_setglobal(L, "print");

    ms_lua_errors_open(L, rt);

    lua_newtable(L); /* moonshark */
    ms_lua_proto_open(L);
    lua_pushcfunction(L, l_now);
    lua_setfield(L, -2, "now");
    lua_pushinteger(L, MS_LUA_CLIENT);
    lua_setfield(L, -2, "CLIENT");
    lua_pushinteger(L, MS_LUA_SERVER);
    lua_setfield(L, -2, "SERVER");
    lua_pushliteral(L, "0.1");
    lua_setfield(L, -2, "version");
    lua_setglobal(L, "moonshark");
    ms_lua_bytes_open(L, rt);
    ms_lua_reader_open(L, rt);
    ms_lua_emit_open(L, rt);
    ms_lua_text_open(L);
    ms_lua_digest_open(L);
    ms_lua_sniff_open(L, rt);
    return 0;
}

ms_lua *ms_lua_new(const ms_lua_opts *opts, ms_err *err)
{
    ms_lua *rt = calloc(1, sizeof *rt);
    if (!rt) {
        ms_fail(err, MS_ENOMEM, "out of memory creating the Lua runtime");
        return NULL;
    }
    if (opts)
        rt->opts = *opts;
    else
        ms_lua_opts_default(&rt->opts);
    if (!rt->opts.out)
        rt->opts.out = stdout;
    rt->mem_limit = rt->opts.mem_limit ? rt->opts.mem_limit : MS_LUA_DEFAULT_MEM;
    rt->budget = rt->opts.instr_budget ? rt->opts.instr_budget : MS_LUA_DEFAULT_BUDGET;
    const char *tb = getenv("MOONSHARK_LUA_TRACEBACK");
    rt->print_traceback = tb && *tb && strcmp(tb, "0") != 0;

    lua_State *L = lua_newstate(limited_alloc, rt);
    if (!L) {
        free(rt);
        ms_fail(err, MS_ENOMEM, "out of memory creating the Lua state");
        return NULL;
    }
    rt->L = L;
    /* new threads copy the main thread's extra space: NULL means "not a reader coroutine" */
    *(void **)lua_getextraspace(L) = NULL;
    ms_lua_budget_start(rt);
    lua_pushcfunction(L, init_state);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        ms_fail(err, MS_ELUA, "lua init: %s", lua_tostring(L, -1));
        ms_lua_budget_stop(rt);
        lua_close(L);
        free(rt);
        return NULL;
    }
    if (rt->lazy_budget) {
        lua_pushcfunction(L, ms_lua_budget_track_coroutines);
        if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
            ms_fail(err, MS_ELUA, "lua init: %s", lua_tostring(L, -1));
            ms_lua_free(rt);
            return NULL;
        }
    }
    for (const ms_embedded_lua *e = ms_embedded_lua_files; e->path; e++) {
        if (strncmp(e->path, "lua/", 4) == 0 && ms_lua_load_string(rt, e->path, e->text, e->len, err) != 0) {
            ms_lua_free(rt);
            return NULL;
        }
    }
    if (rt->opts.sandbox && apply_sandbox(L, err) != 0) {
        ms_lua_free(rt);
        return NULL;
    }
    return rt;
}

void ms_lua_free(ms_lua *rt)
{
    if (!rt)
        return;
    while (rt->conns)
        ms_lua_conn_close(rt->conns, "flush");
    ms_lua_emit_close(rt);
    ms_lua_budget_stop(rt); /* the timer must not touch the state while lua_close frees it */
    lua_close(rt->L);
    ms_lua_sniff_close(rt);
    for (int c = 0; c < MS_LUA_POOL_CLASSES; c++) {
        while (rt->pool[c]) {
            ms_lua_pool_block *b = rt->pool[c];
            rt->pool[c] = b->next;
            free(b);
        }
    }
    free(rt);
}

const ms_lua_stats *ms_lua_get_stats(ms_lua *rt)
{
    return &rt->stats;
}

void ms_lua_print_stats(ms_lua *rt, FILE *fp)
{
    ms_lua_print_counters(&rt->stats, fp);
    ms_lua_print_log_counts(&rt, 1, fp);
}

void ms_lua_stats_add(ms_lua_stats *sum, const ms_lua_stats *s)
{
    sum->script_errors += s->script_errors;
    sum->records += s->records;
    sum->records_dropped += s->records_dropped;
    sum->calls += s->calls;
    sum->bytes_in += s->bytes_in;
    sum->bytes_parsed += s->bytes_parsed;
    sum->bytes_skipped += s->bytes_skipped;
    sum->bytes_dropped += s->bytes_dropped;
    sum->bytes_gap += s->bytes_gap;
    sum->conns += s->conns;
    sum->conns_unparsed += s->conns_unparsed;
    sum->datagrams += s->datagrams;
    sum->mem_limit_hits += s->mem_limit_hits;
    sum->budget_hits += s->budget_hits;
    sum->mime_sniffed += s->mime_sniffed;
    sum->mime_typed += s->mime_typed;
    sum->mime_libmagic += s->mime_libmagic;
    sum->mime_uncollected += s->mime_uncollected;
    sum->mem_used += s->mem_used;
    sum->mem_peak += s->mem_peak;
}

void ms_lua_print_counters(const ms_lua_stats *s, FILE *fp)
{
    fprintf(fp, "lua.script_errors %llu\n", (unsigned long long)s->script_errors);
    fprintf(fp, "lua.records %llu\n", (unsigned long long)s->records);
    fprintf(fp, "lua.records_dropped %llu\n", (unsigned long long)s->records_dropped);
    fprintf(fp, "lua.calls %llu\n", (unsigned long long)s->calls);
    fprintf(fp, "lua.conns %llu\n", (unsigned long long)s->conns);
    fprintf(fp, "lua.conns_unparsed %llu\n", (unsigned long long)s->conns_unparsed);
    fprintf(fp, "lua.datagrams %llu\n", (unsigned long long)s->datagrams);
    fprintf(fp, "lua.bytes_in %llu\n", (unsigned long long)s->bytes_in);
    fprintf(fp, "lua.bytes_parsed %llu\n", (unsigned long long)s->bytes_parsed);
    fprintf(fp, "lua.bytes_skipped %llu\n", (unsigned long long)s->bytes_skipped);
    fprintf(fp, "lua.bytes_dropped %llu\n", (unsigned long long)s->bytes_dropped);
    fprintf(fp, "lua.bytes_gap %llu\n", (unsigned long long)s->bytes_gap);
    fprintf(fp, "lua.mem_peak %llu\n", (unsigned long long)s->mem_peak);
    fprintf(fp, "lua.mem_limit_hits %llu\n", (unsigned long long)s->mem_limit_hits);
    fprintf(fp, "lua.budget_hits %llu\n", (unsigned long long)s->budget_hits);
    fprintf(fp, "lua.mime_sniffed %llu\n", (unsigned long long)s->mime_sniffed);
    fprintf(fp, "lua.mime_typed %llu\n", (unsigned long long)s->mime_typed);
    fprintf(fp, "lua.mime_libmagic %llu\n", (unsigned long long)s->mime_libmagic);
    fprintf(fp, "lua.mime_uncollected %llu\n", (unsigned long long)s->mime_uncollected);
}

void ms_lua_print_log_counts(ms_lua *const *rts, int n, FILE *fp)
{
    if (n < 1)
        return;
    for (int i = 0; i < rts[0]->nlogs; i++) { /* records per log (counted at close), and -Y's share */
        uint64_t records = 0, filtered = 0;
        for (int k = 0; k < n; k++) {
            if (i >= rts[k]->nlogs)
                continue;
            const ms_lua_log *log = &rts[k]->logs[i];
            records += log->out ? ms_output_records(log->out) : log->records;
            filtered += log->out ? ms_output_filtered(log->out) : log->filtered;
        }
        fprintf(fp, "log.%s.records %llu\n", rts[0]->logs[i].name, (unsigned long long)(records - filtered));
        if (rts[0]->opts.filter)
            fprintf(fp, "log.%s.filtered_out %llu\n", rts[0]->logs[i].name, (unsigned long long)filtered);
    }
}
