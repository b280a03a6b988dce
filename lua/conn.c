/* conn.c — connections as parsers see them: the conn table, protocol choice (port table, then
 * detect()), callback style (on_data / on_gap / on_close / on_datagram) and the driving of
 * reader-style coroutines. Every entry runs inside one lua_pcall so an allocation failure in the
 * runtime itself fails only that connection; parser code runs in its own pcall / coroutine with
 * the instruction budget armed. */
#include "lua/budget.h"
#include "lua/bytes.h"
#include "lua/proto.h"
#include "lua/reader.h"
#include "lua/sniff.h"
#include "lua/state.h"

#include <stdlib.h>
#include <string.h>

#define FEED_MAX (256u << 20) /* ms_lua_conn_feed buffers at most this much per direction */
#define DETECT_MIN 8           /* fewer first bytes than this: wait for more before giving up */

enum { OP_OPEN, OP_DATA, OP_GAP, OP_CLOSE, OP_DATAGRAM, OP_RESUMED };

typedef struct op {
    int kind;
    ms_lua_conn *c;
    int dir;
    const ms_lua_conn_info *info;
    uint64_t n;             /* gap bytes */
    const char *reason;     /* close reason */
    bool last;              /* data: end of this direction after these bytes */
    int rc, nres;           /* resumed: what lua_resume returned */
} op;

/* ---- helpers ---------------------------------------------------------------------------- */

static void push_proto(lua_State *L, ms_lua_conn *c)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->rt->protos[c->proto].ref);
}

/* Pushes proto[field] if it is a function and returns true; pushes nothing otherwise. */
static bool push_handler(lua_State *L, ms_lua_conn *c, const char *field)
{
    if (c->proto < 0)
        return false;
    push_proto(L, c);
    lua_getfield(L, -1, field);
    lua_remove(L, -2);
    if (lua_isfunction(L, -1))
        return true;
    lua_pop(L, 1);
    return false;
}

/* Error message of a failed call (string, error object with __tostring, or other) as a C string
 * living on L's stack top. */
static const char *error_text(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING)
        return lua_tostring(L, idx);
    if (luaL_callmeta(L, idx, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
        return lua_tostring(L, -1);
    return lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
}

/* Keeps a reader coroutine that has just returned normally (its stack emptied) for the next
 * half, instead of leaving it to the collector: a new thread costs its state, a stack and call
 * info, and its stack grows again under the parser's first calls. A returned coroutine starts
 * afresh when a function is pushed on it (lua_resetthread would also shrink its stack). One that
 * failed or is suspended is never reused. Returns false when the pool is full. */
static bool pool_thread(ms_lua *rt, lua_State *co, int ref)
{
    if (rt->co_pooled >= MS_LUA_CO_POOL || lua_status(co) != LUA_OK || lua_gettop(co) != 0)
        return false;
    rt->co_pool[rt->co_pooled] = co;
    rt->co_pool_ref[rt->co_pooled] = ref;
    rt->co_pooled++;
    return true;
}

/* A thread for a new reader half: a pooled one, or a new one. Either way it starts with L's hook,
 * as lua_newthread gives it. */
static lua_State *new_thread(lua_State *L, ms_lua *rt, int *ref)
{
    if (rt->co_pooled == 0) {
        lua_State *co = lua_newthread(L);
        *ref = luaL_ref(L, LUA_REGISTRYINDEX);
        return co;
    }
    rt->co_pooled--;
    lua_State *co = rt->co_pool[rt->co_pooled];
    *ref = rt->co_pool_ref[rt->co_pooled];
    lua_sethook(co, lua_gethook(L), lua_gethookmask(L), lua_gethookcount(L));
    return co;
}

static void drop_half(ms_lua_conn *c, ms_lua_half *h)
{
    if (h->rbox) {
        *h->rbox = NULL; /* a reader kept by the script now raises an error instead of reading */
        h->rbox = NULL;
    }
    if (h->reader_ref != LUA_NOREF && h->reader_ref != LUA_REFNIL) {
        luaL_unref(c->rt->L, LUA_REGISTRYINDEX, h->reader_ref);
        h->reader_ref = LUA_NOREF;
    }
    if (h->co)
        *(ms_lua_half **)lua_getextraspace(h->co) = NULL; /* the methods' quick check fails from now */
    if (h->co_ref != LUA_NOREF && h->co_ref != LUA_REFNIL) {
        luaL_unref(c->rt->L, LUA_REGISTRYINDEX, h->co_ref);
        h->co_ref = LUA_NOREF;
    }
    h->co = NULL;
    h->reader_ptr = NULL;
    ms_lua_reader_release(h);
    h->state = MS_HALF_DONE;
    h->req = MS_REQ_NONE;
    ms_lua_sniff_drop(c->rt, h); /* a body being sniffed when the half ends */
}

static void fail(ms_lua_conn *c, const char *what, const char *msg)
{
    if (!c->failed)
        ms_lua_report(c, what, msg);
    c->failed = true;
    drop_half(c, &c->half[0]);
    drop_half(c, &c->half[1]);
}

/* Calls the function below nargs arguments on L's stack with the budget armed and a traceback
 * handler. Returns true on success (results left on the stack), false after failing c. */
static bool call(lua_State *L, ms_lua_conn *c, const char *what, int nargs, int nres)
{
    int fidx = lua_gettop(L) - nargs;
    lua_pushcfunction(L, ms_lua_msgh);
    lua_insert(L, fidx);
    ms_lua_enter(c->rt, L);
    int rc = lua_pcall(L, nargs, nres, fidx);
    ms_lua_leave(c->rt);
    lua_remove(L, fidx);
    if (rc != LUA_OK) {
        fail(c, what, error_text(L, -1));
        lua_settop(L, fidx - 1);
        return false;
    }
    return true;
}

/* ---- protocol choice -------------------------------------------------------------------- */

static void choose_style(lua_State *L, ms_lua_conn *c)
{
    push_proto(L, c);
    lua_getfield(L, -1, "client");
    lua_getfield(L, -2, "server");
    c->reader = lua_isfunction(L, -1) || lua_isfunction(L, -2);
    lua_pop(L, 3);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_pushstring(L, c->rt->protos[c->proto].name);
    lua_setfield(L, -2, "protocol");
    lua_pop(L, 1);
    for (int d = 0; d < 2; d++) {
        ms_lua_half *h = &c->half[d];
        if (h->state != MS_HALF_IDLE)
            continue;
        if (c->reader) {
            if (!push_handler(L, c, d == MS_LUA_CLIENT ? "client" : "server"))
                h->state = MS_HALF_DONE;
            else
                lua_pop(L, 1);
        } else if (!c->udp) {
            h->state = MS_HALF_CALLBACK;
        }
    }
}

/* Runs detect(bytes, dir) of each protocol that has one; returns the first that says yes, or -1. */
static int detect(lua_State *L, ms_lua_conn *c, int dir, const uint8_t *b, size_t len)
{
    ms_lua *rt = c->rt;
    for (int i = 0; i < rt->nprotos; i++) {
        if (!rt->protos[i].has_detect)
            continue;
        lua_rawgeti(L, LUA_REGISTRYINDEX, rt->protos[i].ref);
        lua_getfield(L, -1, "detect");
        lua_remove(L, -2);
        if (!lua_isfunction(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        void *view = ms_lua_bytes_push(L, b, len);
        lua_pushinteger(L, dir);
        lua_pushcfunction(L, ms_lua_msgh);
        lua_insert(L, -4);
        ms_lua_enter(rt, L);
        int rc = lua_pcall(L, 2, 1, -4);
        ms_lua_leave(rt);
        ms_lua_bytes_done(view);
        bool yes = rc == LUA_OK && lua_toboolean(L, -1);
        if (rc != LUA_OK)
            rt->stats.script_errors++;
        lua_pop(L, 2);
        if (yes)
            return i;
    }
    return -1;
}

/* Decides the protocol from this direction's first bytes. Returns false to wait for more. */
static bool decide(lua_State *L, ms_lua_conn *c, int dir, const uint8_t *b, size_t len, bool last)
{
    int p = detect(L, c, dir, b, len);
    if (p >= 0) {
        c->proto = p;
        choose_style(L, c);
        return true;
    }
    if (len < DETECT_MIN && !last)
        return false;
    c->half[dir].detect_failed = true;
    if (c->half[dir ^ 1].detect_failed || c->half[dir ^ 1].ended || c->udp) {
        c->proto = -2;
        c->rt->stats.conns_unparsed++;
    }
    return true;
}

/* ---- open --------------------------------------------------------------------------------- */

/* Pushes the endpoint's address as text. IPv4 (nearly every connection) is written here: the
 * libc formatter costs ~2000 instructions a call, which showed at 18k connections per GB. */
static void push_endpoint_addr(lua_State *L, const ms_endpoint *e)
{
    char buf[64];
    if (e->family == 4) {
        char *p = buf;
        for (int i = 0; i < 4; i++) {
            unsigned v = e->addr[i];
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
            *p++ = '.';
        }
        lua_pushlstring(L, buf, (size_t)(p - 1 - buf));
        return;
    }
    ms_addr_format(e->addr, e->family, buf, sizeof buf);
    lua_pushstring(L, buf);
}

static void op_open(lua_State *L, ms_lua_conn *c, const ms_lua_conn_info *info)
{
    ms_lua *rt = c->rt;
    lua_createtable(L, 0, 8);
    lua_pushstring(L, c->uid);
    lua_setfield(L, -2, "uid");
    lua_createtable(L, 0, 4);
    push_endpoint_addr(L, &info->client);
    lua_setfield(L, -2, "orig_h");
    lua_pushinteger(L, info->client.port);
    lua_setfield(L, -2, "orig_p");
    push_endpoint_addr(L, &info->server);
    lua_setfield(L, -2, "resp_h");
    lua_pushinteger(L, info->server.port);
    lua_setfield(L, -2, "resp_p");
    lua_setfield(L, -2, "id");
    lua_pushstring(L, info->udp ? "udp" : "tcp");
    lua_setfield(L, -2, "proto");
    lua_pushboolean(L, info->client_guessed);
    lua_setfield(L, -2, "client_guessed");
    lua_pushnumber(L, (lua_Number)info->ts_ns / 1e9);
    lua_setfield(L, -2, "start_time");
    c->ref = luaL_ref(L, LUA_REGISTRYINDEX);

    c->proto = -1;
    if (info->protocol) {
        c->proto = -2;
        for (int i = 0; i < rt->nprotos; i++)
            if (strcmp(rt->protos[i].name, info->protocol) == 0)
                c->proto = i;
    } else {
        int p = ms_lua_protocol_for_ports(rt, info->udp, info->server.port, info->client.port);
        if (p >= 0) {
            c->proto = p;
        } else {
            bool any_detect = false;
            for (int i = 0; i < rt->nprotos; i++)
                any_detect |= rt->protos[i].has_detect;
            if (!any_detect)
                c->proto = -2;
        }
    }
    if (c->proto >= 0)
        choose_style(L, c);
    else if (c->proto == -2)
        rt->stats.conns_unparsed++;
}

/* ---- reader coroutines ---------------------------------------------------------------- */

static void resumed(lua_State *L, ms_lua_conn *c, int dir, int rc, int nres);

/* lua_resume of half h's coroutine from L with the budget armed; returns its status. */
static int resume_half(lua_State *L, ms_lua_conn *c, ms_lua_half *h, int nargs, int *nres)
{
    ms_lua_enter(c->rt, h->co);
    int rc = lua_resume(h->co, L, nargs, nres);
    ms_lua_leave(c->rt);
    return rc;
}

/* Resumes (or starts) the coroutine of half dir; handles its end or failure. */
static void resume(lua_State *L, ms_lua_conn *c, int dir)
{
    ms_lua_half *h = &c->half[dir];
    int nargs = 0;
    if (h->state == MS_HALF_IDLE) {
        lua_State *co = new_thread(L, c->rt, &h->co_ref);
        h->co = co;
        if (!push_handler(L, c, dir == MS_LUA_CLIENT ? "client" : "server")) {
            drop_half(c, h);
            return;
        }
        lua_xmove(L, co, 1);
        ms_lua_reader_push(L, c, dir);
        lua_pushvalue(L, -1);
        h->reader_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        lua_xmove(L, co, 1);
        nargs = 1;
        h->state = MS_HALF_WAIT;
    }
    int nres = 0;
    int rc = resume_half(L, c, h, nargs, &nres);
    resumed(L, c, dir, rc, nres);
}

/* After lua_resume of half dir's coroutine: a yield waits for the next request; a return or an
 * error ends the half (and the error is reported). */
static void resumed(lua_State *L, ms_lua_conn *c, int dir, int rc, int nres)
{
    ms_lua_half *h = &c->half[dir];
    lua_State *co = h->co;
    int top = lua_gettop(L);
    if (rc == LUA_YIELD) {
        lua_pop(co, nres);
        return;
    }
    if (rc == LUA_OK) {
        /* the parser returned: the rest of this direction is dropped */
        lua_pop(co, nres);
        size_t rest = h->buf ? h->len - h->pos : 0;
        c->rt->stats.bytes_dropped += rest;
        h->pos = h->len;
        if (pool_thread(c->rt, co, h->co_ref))
            h->co_ref = LUA_NOREF; /* the pool holds the reference now */
        drop_half(c, h);
        return;
    }
    /* the error object moves to L: a dead coroutine must not run __tostring */
    lua_xmove(co, L, 1);
    const char *msg = error_text(L, -1);
    luaL_traceback(L, co, msg, 0);
    size_t rest = h->buf ? h->len - h->pos : 0;
    c->rt->stats.bytes_dropped += rest;
    h->pos = h->len;
    fail(c, dir == MS_LUA_CLIENT ? "client" : "server", lua_tostring(L, -1));
    lua_settop(L, top);
}

/* Drives a half in reader style with the bytes presented in h. */
static void reader_data(lua_State *L, ms_lua_conn *c, int dir)
{
    ms_lua_half *h = &c->half[dir];
    if (h->state == MS_HALF_IDLE) {
        if (!h->buf && h->ended)
            return drop_half(c, h); /* never saw a byte: nothing to parse */
        resume(L, c, dir);
        return;
    }
    if (h->state != MS_HALF_WAIT)
        return;
    if (ms_lua_reader_try(c, h) < 0)
        return;
    resume(L, c, dir);
}

/* ---- callback style ------------------------------------------------------------------ */

static void callback_data(lua_State *L, ms_lua_conn *c, int dir)
{
    ms_lua_half *h = &c->half[dir];
    size_t len = h->len - h->pos;
    if (len == 0)
        return;
    void *view = ms_lua_bytes_push(L, h->buf + h->pos, len); /* anchored below the call */
    int anchor = lua_gettop(L);
    if (!push_handler(L, c, "on_data")) {
        lua_pop(L, 1);
        h->pos = h->len;
        c->rt->stats.bytes_dropped += len;
        return;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_pushinteger(L, dir);
    lua_pushvalue(L, anchor);
    bool ok = call(L, c, "on_data", 3, 1);
    ms_lua_bytes_done(view);
    lua_remove(L, anchor);
    if (!ok) {
        c->rt->stats.bytes_dropped += len;
        h->pos = h->len;
        return;
    }
    size_t used = len;
    if (!lua_isnil(L, -1)) {
        int isnum = 0;
        lua_Integer n = lua_tointegerx(L, -1, &isnum);
        if (isnum && n >= 0 && (uint64_t)n < len)
            used = (size_t)n;
    }
    lua_pop(L, 1);
    h->pos += used;
    c->rt->stats.bytes_parsed += used;
}

/* ---- the protected operations ------------------------------------------------------- */

static void op_data(lua_State *L, ms_lua_conn *c, int dir, bool last)
{
    ms_lua_half *h = &c->half[dir];
    if (last)
        h->ended = true;
    if (c->proto == -1 && !c->failed && h->buf && !h->detect_failed) {
        if (!decide(L, c, dir, h->buf, h->len, last))
            return; /* wait for more bytes (nothing consumed) */
    }
    if (c->proto < 0 || c->failed)
        goto drop;
    switch (h->state) {
    case MS_HALF_IDLE:
    case MS_HALF_WAIT:
        if (c->reader) {
            reader_data(L, c, dir);
            break;
        }
        goto drop;
    case MS_HALF_CALLBACK:
        callback_data(L, c, dir);
        break;
    default:
        goto drop;
    }
    if (h->ended && h->buf && h->pos < h->len) {
        c->rt->stats.bytes_dropped += h->len - h->pos;
        h->pos = h->len;
    }
    return;
drop:
    if (h->buf) {
        c->rt->stats.bytes_dropped += h->len - h->pos;
        h->pos = h->len;
    }
}

static void op_gap(lua_State *L, ms_lua_conn *c, int dir, uint64_t n)
{
    ms_lua_half *h = &c->half[dir];
    if (c->proto < 0 || c->failed)
        return;
    if (h->state == MS_HALF_CALLBACK) {
        if (push_handler(L, c, "on_gap")) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
            lua_pushinteger(L, dir);
            lua_pushinteger(L, (lua_Integer)n);
            call(L, c, "on_gap", 3, 0);
        }
        return;
    }
    if (h->state == MS_HALF_IDLE) {
        h->gap_pending += n;
        return;
    }
    if (h->state != MS_HALF_WAIT)
        return;
    if (ms_lua_reader_gap(h, n))
        resume(L, c, dir);
}

static void op_close(lua_State *L, ms_lua_conn *c, const char *reason)
{
    for (int d = 0; d < 2; d++) {
        ms_lua_half *h = &c->half[d];
        if (!h->ended) {
            h->buf = NULL;
            h->len = h->pos = 0;
            op_data(L, c, d, true);
        }
    }
    if (c->proto >= 0 && !c->failed && push_handler(L, c, "on_close")) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
        lua_pushstring(L, reason ? reason : "flush");
        call(L, c, "on_close", 2, 0);
    }
}

static void op_datagram(lua_State *L, ms_lua_conn *c, int dir)
{
    ms_lua_half *h = &c->half[dir];
    if (c->proto == -1 && !c->failed)
        decide(L, c, dir, h->buf, h->len, true);
    if (c->proto < 0 || c->failed || !push_handler(L, c, "on_datagram")) {
        c->rt->stats.bytes_dropped += h->len;
        return;
    }
    c->rt->stats.datagrams++;
    c->rt->stats.bytes_parsed += h->len;
    void *view = ms_lua_bytes_push(L, h->buf, h->len); /* anchored below the call */
    lua_insert(L, -2); /* under the handler */
    int anchor = lua_gettop(L) - 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_pushinteger(L, dir);
    lua_pushvalue(L, anchor);
    call(L, c, "on_datagram", 3, 0);
    ms_lua_bytes_done(view);
    lua_remove(L, anchor);
}

static int protected_op(lua_State *L)
{
    op *o = lua_touserdata(L, 1);
    lua_settop(L, 0);
    switch (o->kind) {
    case OP_OPEN:
        op_open(L, o->c, o->info);
        break;
    case OP_DATA:
        op_data(L, o->c, o->dir, o->last);
        break;
    case OP_GAP:
        op_gap(L, o->c, o->dir, o->n);
        break;
    case OP_CLOSE:
        op_close(L, o->c, o->reason);
        break;
    case OP_DATAGRAM:
        op_datagram(L, o->c, o->dir);
        break;
    case OP_RESUMED:
        resumed(L, o->c, o->dir, o->rc, o->nres);
        break;
    }
    return 0;
}

/* Runs o protected; a failure outside the parsers' own calls (out of memory in the runtime)
 * fails the connection. Returns false then. */
static bool run(ms_lua_conn *c, op *o)
{
    lua_State *L = c->rt->L;
    int top = lua_gettop(L);
    lua_pushcfunction(L, protected_op);
    lua_pushlightuserdata(L, o);
    int rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK) {
        fail(c, "runtime", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "out of memory");
        lua_settop(L, top);
        return false;
    }
#ifndef NDEBUG
    if (lua_gettop(L) != top) {
        fprintf(stderr, "moonshark: internal: Lua stack unbalanced (%d != %d)\n", lua_gettop(L), top);
        abort();
    }
#endif
    return true;
}

/* ---- public API ------------------------------------------------------------------------ */

ms_lua_conn *ms_lua_conn_open(ms_lua *rt, const ms_lua_conn_info *info)
{
    ms_lua_conn *c = calloc(1, sizeof *c);
    if (!c) {
        rt->stats.script_errors++;
        return NULL;
    }
    c->rt = rt;
    c->ref = LUA_NOREF;
    c->proto = -2;
    c->udp = info->udp;
    c->sport = info->server.port;
    c->cport = info->client.port;
    snprintf(c->uid, sizeof c->uid, "%s", info->uid ? info->uid : "-");
    for (int d = 0; d < 2; d++) {
        c->half[d].co_ref = LUA_NOREF;
        c->half[d].reader_ref = LUA_NOREF;
        c->half[d].last_ts = info->ts_ns;
    }
    c->next = rt->conns;
    if (rt->conns)
        rt->conns->prev = c;
    rt->conns = c;
    rt->stats.conns++;
    op o = { .kind = OP_OPEN, .c = c, .info = info };
    run(c, &o);
    return c;
}

/* Resumes a waiting reader whose request can complete, outside a protected call. */
static void quick_resume(ms_lua_conn *c, int dir)
{
    ms_lua_half *h = &c->half[dir];
    int nres = 0;
    int rc = resume_half(c->rt->L, c, h, 0, &nres);
    if (rc == LUA_YIELD) {
        lua_pop(h->co, nres);
        return;
    }
    op o = { .kind = OP_RESUMED, .c = c, .dir = dir, .rc = rc, .nres = nres };
    if (!run(c, &o))
        h->pos = h->len;
}

size_t ms_lua_conn_data_ts(ms_lua_conn *c, int dir, const uint8_t *bytes, size_t len,
                           uint64_t ts_ns, ms_lua_ts_fn ts_fn, void *ts_ud)
{
    ms_lua_half *h = &c->half[dir & 1];
    c->rt->stats.bytes_in += len >= h->held ? len - h->held : 0;
    if (len == 0)
        return 0;
    if (c->failed || h->state == MS_HALF_DONE || h->ended || c->proto == -2) {
        c->rt->stats.bytes_dropped += len; /* held bytes were never counted: all go now */
        h->held = 0;
        return len;
    }
    h->buf = bytes;
    h->len = len;
    h->pos = 0;
    h->ts = ts_ns;
    h->ts_fn = ts_fn;
    h->ts_ud = ts_ud;
    c->rt->now_ns = ts_fn ? ts_fn(ts_ud, len - 1) : ts_ns;
    op o = { .kind = OP_DATA, .c = c, .dir = dir & 1 };
    if (c->reader && h->state == MS_HALF_WAIT && c->proto >= 0) {
        /* fast paths: a reader waiting on a skip, or on a line/header block not complete yet, is
         * served in C without entering Lua; one whose request completes is resumed directly
         * (lua_resume protects itself; only an end or an error needs the protected handling) */
        if (ms_lua_reader_try(c, h) >= 0)
            quick_resume(c, dir & 1);
    } else if (!run(c, &o)) {
        h->pos = len;
    }
    size_t used = h->pos;
    h->last_ts = ts_fn ? ts_fn(ts_ud, len - 1) : ts_ns;
    h->buf = NULL;
    h->len = h->pos = 0;
    h->ts_fn = NULL;
    h->held = len - used;
    return used;
}

size_t ms_lua_conn_data(ms_lua_conn *c, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns)
{
    return ms_lua_conn_data_ts(c, dir, bytes, len, ts_ns, NULL, NULL);
}

void ms_lua_conn_last(ms_lua_conn *c, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns)
{
    ms_lua_half *h = &c->half[dir & 1];
    if (h->ended)
        return;
    c->rt->stats.bytes_in += len >= h->held ? len - h->held : 0;
    h->held = 0;
    h->buf = len ? bytes : NULL;
    h->len = len;
    h->pos = 0;
    h->ts = ts_ns;
    h->ts_fn = NULL;
    if (len)
        c->rt->now_ns = ts_ns;
    op o = { .kind = OP_DATA, .c = c, .dir = dir & 1, .last = true };
    if (c->failed || c->proto == -2 || h->state == MS_HALF_DONE) {
        c->rt->stats.bytes_dropped += len;
        h->ended = true;
    } else {
        run(c, &o);
    }
    h->ended = true;
    if (len)
        h->last_ts = ts_ns;
    h->buf = NULL;
    h->len = h->pos = 0;
}

/* r:time() for bytes presented from the feed buffer: old bytes keep their first time. */
typedef struct feed_ts {
    size_t split;
    uint64_t old_ts, new_ts;
} feed_ts;

static uint64_t feed_time(void *ud, uint64_t offset)
{
    feed_ts *f = ud;
    return offset < f->split ? f->old_ts : f->new_ts;
}

int ms_lua_conn_feed(ms_lua_conn *c, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns)
{
    ms_lua_half *h = &c->half[dir & 1];
    if (h->flen == 0) {
        size_t used = ms_lua_conn_data(c, dir, bytes, len, ts_ns);
        bytes += used;
        len -= used;
        if (len == 0)
            return 0;
        h->fts = ts_ns;
        h->held = 0; /* re-counted below as buffered */
        if (len > h->fcap) {
            uint8_t *nb = realloc(h->fbuf, len);
            if (!nb) {
                c->rt->stats.bytes_dropped += len;
                return MS_ENOMEM;
            }
            h->fbuf = nb;
            h->fcap = len;
        }
        memcpy(h->fbuf, bytes, len);
        h->flen = len;
        h->held = len;
        return 0;
    }
    if (h->flen + len > FEED_MAX) {
        c->rt->stats.bytes_dropped += len;
        return MS_ELIMIT;
    }
    if (h->flen + len > h->fcap) {
        size_t ncap = MS_MAX(h->fcap * 2, h->flen + len);
        uint8_t *nb = realloc(h->fbuf, ncap);
        if (!nb) {
            c->rt->stats.bytes_dropped += len;
            return MS_ENOMEM;
        }
        h->fbuf = nb;
        h->fcap = ncap;
    }
    memcpy(h->fbuf + h->flen, bytes, len);
    feed_ts f = { h->flen, h->fts, ts_ns };
    size_t total = h->flen + len;
    size_t used = ms_lua_conn_data_ts(c, dir, h->fbuf, total, ts_ns, feed_time, &f);
    if (used >= f.split)
        h->fts = ts_ns;
    memmove(h->fbuf, h->fbuf + used, total - used);
    h->flen = total - used;
    return 0;
}

void ms_lua_conn_end(ms_lua_conn *c, int dir)
{
    ms_lua_half *h = &c->half[dir & 1];
    ms_lua_conn_last(c, dir, h->flen ? h->fbuf : NULL, h->flen, h->fts);
    h->flen = 0;
}

void ms_lua_conn_gap(ms_lua_conn *c, int dir, uint64_t n)
{
    ms_lua_half *h = &c->half[dir & 1];
    c->rt->stats.bytes_gap += n;
    c->rt->stats.bytes_dropped += h->held;
    h->held = 0;
    h->flen = 0;
    if (h->ended || n == 0)
        return;
    op o = { .kind = OP_GAP, .c = c, .dir = dir & 1, .n = n };
    run(c, &o);
}

void ms_lua_conn_close(ms_lua_conn *c, const char *reason)
{
    if (!c || c->closing)
        return;
    ms_lua *rt = c->rt;
    c->closing = true;
    for (int d = 0; d < 2; d++)
        if (c->half[d].flen && !c->half[d].ended)
            ms_lua_conn_end(c, d);
    if (c->proto == -1)
        rt->stats.conns_unparsed++; /* detect never decided */
    for (int d = 0; d < 2; d++) {
        rt->stats.bytes_dropped += c->half[d].held; /* the caller will not present them again */
        c->half[d].held = 0;
    }
    op o = { .kind = OP_CLOSE, .c = c, .reason = reason };
    if (c->ref != LUA_NOREF)
        run(c, &o);
    for (int d = 0; d < 2; d++) {
        ms_lua_half *h = &c->half[d];
        drop_half(c, h);
        free(h->fbuf);
    }
    if (c->ref != LUA_NOREF)
        luaL_unref(rt->L, LUA_REGISTRYINDEX, c->ref);
    if (c->prev)
        c->prev->next = c->next;
    else
        rt->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
}

void ms_lua_datagram(ms_lua_conn *c, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns)
{
    ms_lua_half *h = &c->half[dir & 1];
    c->rt->stats.bytes_in += len;
    if (c->failed || c->proto == -2) {
        c->rt->stats.bytes_dropped += len;
        return;
    }
    h->buf = bytes;
    h->len = len;
    h->pos = 0;
    h->ts = ts_ns;
    h->last_ts = ts_ns;
    c->rt->now_ns = ts_ns;
    op o = { .kind = OP_DATAGRAM, .c = c, .dir = dir & 1 };
    run(c, &o);
    h->buf = NULL;
    h->len = 0;
}

const char *ms_lua_conn_protocol(const ms_lua_conn *c)
{
    return c->proto >= 0 ? c->rt->protos[c->proto].name : NULL;
}

bool ms_lua_conn_done(const ms_lua_conn *c)
{
    return c->failed || c->proto == -2 ||
           (c->half[0].state == MS_HALF_DONE && c->half[1].state == MS_HALF_DONE);
}
