/* emit.c — moonshark.log (declare a log's columns and types) and moonshark.emit (write a record
 * to the log's sink: table, TSV, JSON lines or DIR/LOG.log). Each log owns one ms_output. */
#include "lua/emit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    ms_field_type type;
} field_types[] = {
    { "string", MS_FIELD_STRING }, { "count", MS_FIELD_COUNT }, { "int", MS_FIELD_INT },
    { "double", MS_FIELD_DOUBLE }, { "time", MS_FIELD_TIME }, { "interval", MS_FIELD_INTERVAL },
    { "bool", MS_FIELD_BOOL }, { "addr", MS_FIELD_ADDR }, { "port", MS_FIELD_PORT },
    { "set", MS_FIELD_SET },
};

/* Index of the log named name (len bytes), or -1. A scan of the few logs costs less per record
 * than a registry lookup through the Lua API. */
static int find_log(const ms_lua *rt, const char *name, size_t len)
{
    if (!name || len >= sizeof rt->logs[0].name)
        return -1;
    for (int i = 0; i < rt->nlogs; i++) {
        const char *have = rt->logs[i].name; /* NUL-terminated, shorter than the array */
        size_t k = 0;
        while (k < len && have[k] == name[k] && have[k] != '\0')
            k++;
        if (k == len && have[len] == '\0')
            return i;
    }
    return -1;
}

/* Opens the sink for a log whose fields (name, type) are on the stack as a names array at
 * names_idx and C types in `types`. Raises a Lua error on failure. */
static int open_log(lua_State *L, ms_lua *rt, const char *name, int names_idx, const ms_field_type *types, int n)
{
    if (rt->nlogs >= MS_LUA_MAX_LOGS)
        return luaL_error(L, "moonshark.log: too many logs (at most %d)", MS_LUA_MAX_LOGS);
    if (strlen(name) >= sizeof rt->logs[0].name || !name[0])
        return luaL_error(L, "moonshark.log: log name must be 1 to 63 characters");
    ms_field_def *defs = lua_newuserdatauv(L, sizeof *defs * (size_t)(n ? n : 1), 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, names_idx, i + 1);
        defs[i].name = lua_tostring(L, -1); /* anchored by the names array */
        defs[i].type = types[i];
        lua_pop(L, 1);
    }
    ms_err err;
    err.msg[0] = '\0';
    FILE *fp = rt->opts.out;
    const char *dir = rt->opts.out_dir;
    if (rt->opts.log_stream) { /* one worker of several: the stream merges its lines */
        fp = rt->opts.log_stream(rt->opts.log_stream_ud, name, defs, n, &err);
        dir = NULL;
        if (!fp) {
            lua_pop(L, 1);
            return luaL_error(L, "moonshark.log %s: %s", name, err.msg);
        }
    }
    ms_output *out = ms_output_open(name, defs, n, rt->opts.format, fp, dir, &err);
    lua_pop(L, 1);
    if (!out)
        return luaL_error(L, "moonshark.log %s: %s", name, err.msg);
    if (ms_output_nfields(out) != n) { /* the sink keeps one column per name */
        ms_output_close(out);
        return luaL_error(L, "moonshark.log %s: a field name appears twice", name);
    }
    /* what the command line asks of every log: live flushing, -Y, -e */
    ms_output_set_live(out, rt->opts.live);
    if ((rt->opts.filter || rt->opts.nselect) &&
        ms_output_set_view(out, rt->opts.filter, rt->opts.select, rt->opts.nselect, &err) != 0) {
        ms_output_close(out);
        lua_pushstring(L, err.msg); /* the command line's error: no script position before it */
        return lua_error(L);
    }
    ms_lua_log *log = &rt->logs[rt->nlogs];
    snprintf(log->name, sizeof log->name, "%s", name);
    log->out = out;
    log->nfields = n;
    lua_pushvalue(L, names_idx);
    log->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    rt->nlogs++;
    return rt->nlogs - 1;
}

static int l_write(lua_State *L);

/* moonshark.log{..., table = {"ts", "method", ...}}: the columns a narrow table keeps longest. */
static void set_table_keep(lua_State *L, ms_output *out, int spec)
{
    if (lua_getfield(L, spec, "table") == LUA_TTABLE) {
        const char *names[64];
        int n = 0;
        for (int i = 1; i <= (int)lua_rawlen(L, -1) && n < (int)MS_ARRAY_LEN(names); i++) {
            lua_rawgeti(L, -1, i);
            if (lua_type(L, -1) == LUA_TSTRING)
                names[n++] = lua_tostring(L, -1); /* anchored by the table */
            lua_pop(L, 1);
        }
        ms_output_set_table_keep(out, names, n);
    }
    lua_pop(L, 1);
}

/* moonshark.log{ name = "x", fields = { {"ts","time"}, {"uid","string"}, ... } } returns the log's
 * writer: a function taking one value per column, in column order (see l_write). */
static int l_log(lua_State *L)
{
    ms_lua *rt = ms_lua_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "name");
    size_t name_len = 0;
    const char *name = lua_tolstring(L, -1, &name_len);
    if (!name)
        return luaL_error(L, "moonshark.log: name must be a string");
    int existing = find_log(rt, name, name_len);
    lua_getfield(L, 1, "fields");
    if (!lua_istable(L, -1))
        return luaL_error(L, "moonshark.log: fields must be a list of {name, type}");
    int fields_idx = lua_gettop(L);
    int n = (int)lua_rawlen(L, fields_idx);
    if (n > 1024)
        return luaL_error(L, "moonshark.log: too many fields (at most 1024)");
    ms_field_type *types = lua_newuserdatauv(L, sizeof *types * (size_t)(n ? n : 1), 0);
    lua_createtable(L, n, 0);
    int names_idx = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, fields_idx, i);
        if (!lua_istable(L, -1))
            return luaL_error(L, "moonshark.log %s: field %d must be {name, type}", name, i);
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        const char *fname = lua_tostring(L, -2);
        const char *tname = lua_tostring(L, -1);
        if (!fname || lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "moonshark.log %s: field %d has no name", name, i);
        int t = -1;
        for (size_t k = 0; k < MS_ARRAY_LEN(field_types); k++)
            if (tname && strcmp(tname, field_types[k].name) == 0)
                t = (int)field_types[k].type;
        if (t < 0)
            return luaL_error(L, "moonshark.log %s: field '%s' has unknown type '%s' (string count int double "
                              "time interval bool addr port set)", name, fname, tname ? tname : "nil");
        types[i - 1] = (ms_field_type)t;
        lua_pushvalue(L, -2);
        lua_rawseti(L, names_idx, i);
        lua_pop(L, 3);
    }
    if (existing >= 0) {
        /* a second declaration is fine when it says the same (a script overriding a bundled
         * parser of the same name); anything else is an error */
        ms_lua_log *log = &rt->logs[existing];
        bool same = log->out && log->nfields == n;
        for (int i = 0; same && i < n; i++) {
            const ms_field_def *f = ms_output_field(log->out, i);
            lua_rawgeti(L, names_idx, i + 1);
            same = f && f->type == types[i] && strcmp(f->name, lua_tostring(L, -1)) == 0;
            lua_pop(L, 1);
        }
        if (!same)
            return luaL_error(L, "moonshark.log: log '%s' is already declared with other fields", name);
        lua_pushinteger(L, existing);
    } else {
        int idx = open_log(L, rt, name, names_idx, types, n);
        set_table_keep(L, rt->logs[idx].out, 1);
        lua_pushinteger(L, idx);
    }
    lua_pushcclosure(L, l_write, 1);
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static ms_field_type guess_type(lua_State *L, int idx, const char *key)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (strcmp(key, "ts") == 0)
            return MS_FIELD_TIME;
        if (lua_isinteger(L, idx))
            return lua_tointeger(L, idx) >= 0 ? MS_FIELD_COUNT : MS_FIELD_INT;
        return MS_FIELD_DOUBLE;
    case LUA_TBOOLEAN:
        return MS_FIELD_BOOL;
    case LUA_TTABLE:
        return MS_FIELD_SET;
    default:
        return MS_FIELD_STRING;
    }
}

/* Declares a log from the first record's string keys, sorted. */
static int declare_from_record(lua_State *L, ms_lua *rt, const char *name, int rec)
{
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, rec)) {
        if (lua_type(L, -2) == LUA_TSTRING)
            n++;
        lua_pop(L, 1);
    }
    if (n > 1024)
        return luaL_error(L, "moonshark.emit %s: too many fields (at most 1024)", name);
    const char **keys = lua_newuserdatauv(L, sizeof *keys * (size_t)(n ? n : 1), 0);
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, rec)) {
        if (lua_type(L, -2) == LUA_TSTRING && k < n)
            keys[k++] = lua_tostring(L, -2); /* anchored by the record */
        lua_pop(L, 1);
    }
    qsort(keys, (size_t)k, sizeof keys[0], cmp_str);
    ms_field_type *types = lua_newuserdatauv(L, sizeof *types * (size_t)(k ? k : 1), 0);
    lua_createtable(L, k, 0);
    int names_idx = lua_gettop(L);
    for (int i = 0; i < k; i++) {
        lua_getfield(L, rec, keys[i]);
        types[i] = guess_type(L, -1, keys[i]);
        lua_pop(L, 1);
        lua_pushstring(L, keys[i]);
        lua_rawseti(L, names_idx, i + 1);
    }
    int idx = open_log(L, rt, name, names_idx, types, k);
    lua_pop(L, 3);
    return idx;
}

/* Seconds (a Lua double) to nanoseconds, rounded to the microsecond: a double holds an epoch
 * time to about 240 ns, so 1258577884.844956 arrives as ...844955.9 and would print (truncated
 * to microseconds) one off. Sinks print microseconds. */
static uint64_t seconds_to_ns(double s)
{
    if (!(s > 0))
        return 0;
    if (s > 1.8e10)
        s = 1.8e10;
    uint64_t secs = (uint64_t)s; /* floor, for 0 < s <= 1.8e10, without a libm call */
    return secs * 1000000000ull + (uint64_t)llround((s - (double)secs) * 1e6) * 1000ull;
}

/* Sets column f from the non-nil Lua value at stack index v (of Lua type vt), converted to the
 * column's type; a value that does not convert leaves the column unset. Strings are lent to the
 * sink, not copied, so each one must stay on the stack until the record is written: the value
 * itself is at v, and the items of a set are left above it. Returns how many values it left on
 * the stack. (Holding them in the record is not enough: converting a number to a string may
 * run a GC step, and a __gc finalizer could change the record.) */
static int put_value(lua_State *L, ms_output *out, int f, ms_field_type type, int v, int vt)
{
    int kept = 0;
    switch (type) {
    case MS_FIELD_STRING:
    case MS_FIELD_ADDR: {
        size_t len = 0;
        const char *s = NULL;
        if (vt == LUA_TSTRING || vt == LUA_TNUMBER)
            s = lua_tolstring(L, v, &len); /* a number becomes a string in its stack slot */
        else if (vt == LUA_TBOOLEAN) {
            s = lua_toboolean(L, v) ? "true" : "false";
            len = strlen(s);
        }
        if (s)
            ms_output_str_borrowed(out, f, s, len);
        break;
    }
    case MS_FIELD_COUNT:
    case MS_FIELD_PORT: {
        if (vt == LUA_TNUMBER) { /* an integral number (the usual case) in one call */
            int isint = 0;
            lua_Integer i = lua_tointegerx(L, v, &isint);
            if (isint) {
                if (i >= 0)
                    ms_output_uint(out, f, (uint64_t)i);
                break;
            }
        }
        int ok = 0;
        lua_Number x = lua_tonumberx(L, v, &ok);
        if (ok && x >= 0 && x < 1.8e19)
            ms_output_uint(out, f, lua_isinteger(L, v) ? (uint64_t)lua_tointeger(L, v) : (uint64_t)x);
        break;
    }
    case MS_FIELD_INT: {
        int ok = 0;
        lua_Number x = lua_tonumberx(L, v, &ok);
        if (ok && x > -9.2e18 && x < 9.2e18)
            ms_output_int(out, f, lua_isinteger(L, v) ? (int64_t)lua_tointeger(L, v) : (int64_t)x);
        break;
    }
    case MS_FIELD_DOUBLE: {
        int ok = 0;
        lua_Number x = lua_tonumberx(L, v, &ok);
        if (ok)
            ms_output_double(out, f, x);
        break;
    }
    case MS_FIELD_TIME:
    case MS_FIELD_INTERVAL: {
        int ok = 0;
        lua_Number x = lua_tonumberx(L, v, &ok);
        if (ok) {
            if (type == MS_FIELD_TIME)
                ms_output_time(out, f, seconds_to_ns(x));
            else
                ms_output_int(out, f, x < 0 ? -(int64_t)seconds_to_ns(-x) : (int64_t)seconds_to_ns(x));
        }
        break;
    }
    case MS_FIELD_BOOL:
        ms_output_bool(out, f, lua_toboolean(L, v));
        break;
    case MS_FIELD_SET:
        if (vt == LUA_TTABLE) {
            lua_Integer n = (lua_Integer)lua_rawlen(L, v);
            bool keep = n <= 100000 && lua_checkstack(L, (int)n); /* else the items are copied */
            for (lua_Integer i = 1; i <= n; i++) {
                int it = lua_rawgeti(L, v, i);
                size_t len = 0;
                const char *s = it == LUA_TSTRING || it == LUA_TNUMBER ? lua_tolstring(L, -1, &len) : NULL;
                if (s && keep) {
                    ms_output_set_add_borrowed(out, f, s, len);
                    kept++;
                } else {
                    if (s)
                        ms_output_set_add(out, f, s, len);
                    lua_pop(L, 1);
                }
            }
        } else if (vt == LUA_TSTRING) {
            size_t len = 0;
            const char *s = lua_tolstring(L, v, &len);
            ms_output_set_add_borrowed(out, f, s, len);
        }
        break;
    }
    return kept;
}

/* The record is over: counts it as written or dropped. */
static void end_record(ms_lua *rt, ms_output *out)
{
    if (ms_output_end(out) != 0)
        rt->stats.records_dropped++;
    else
        rt->stats.records++;
}

/* moonshark.emit(log, record) */
static int l_emit(lua_State *L)
{
    ms_lua *rt = ms_lua_of(L);
    size_t name_len = 0;
    const char *name = luaL_checklstring(L, 1, &name_len);
    if (lua_type(L, 2) != LUA_TTABLE)
        luaL_checktype(L, 2, LUA_TTABLE); /* raises the usual error */
    if (lua_gettop(L) != 2)
        lua_settop(L, 2);
    int idx = find_log(rt, name, name_len);
    if (idx < 0)
        idx = declare_from_record(L, rt, name, 2);
    ms_lua_log *log = &rt->logs[idx];
    if (!log->out) {
        rt->stats.records_dropped++;
        return 0;
    }
    ms_output *out = log->out;
    const ms_field_def *fields = ms_output_fields(out);
    int n = MS_MIN(log->nfields, ms_output_nfields(out));
    if (!lua_checkstack(L, n + 4))
        return luaL_error(L, "moonshark.emit %s: no stack room for %d values", name, n);
    lua_rawgeti(L, LUA_REGISTRYINDEX, log->names_ref);
    ms_output_begin(out);
    /* Each column's value (and a set's items) stays on the stack until the record is written,
     * so the strings lent to the sink stay alive; returning drops them all. */
    int top = 3;
    for (int f = 0; f < n; f++) {
        lua_rawgeti(L, 3, f + 1);
        int vt = lua_rawget(L, 2);
        top++;
        if (vt != LUA_TNIL)
            top += put_value(L, out, f, fields[f].type, top, vt);
    }
    end_record(rt, out);
    return 0;
}

/* write(v1, ..., vn): the writer moonshark.log returned writes one record whose column i is the
 * i-th argument. nil leaves a column unset, and so does false except in a bool column (so a
 * parser can keep "no value" as false in tables, where nil would leave a hole). The cheap form of
 * moonshark.emit: no record table to fill and no lookup by column name, the values are read
 * where the call left them on the stack. */
static int l_write(lua_State *L)
{
    ms_lua *rt = ms_lua_of(L);
    ms_lua_log *log = &rt->logs[lua_tointeger(L, lua_upvalueindex(1))];
    if (!log->out) {
        rt->stats.records_dropped++;
        return 0;
    }
    ms_output *out = log->out;
    const ms_field_def *fields = ms_output_fields(out);
    int n = MS_MIN(log->nfields, ms_output_nfields(out));
    int given = lua_gettop(L);
    if (given > n)
        return luaL_error(L, "log %s: %d values for %d columns", log->name, given, n);
    /* The values stay where they are until the record is written (strings are lent to the
     * sink); a set's items are pushed above them and stay too. */
    ms_output_begin(out);
    for (int f = 0; f < given; f++) {
        int vt = lua_type(L, f + 1);
        if (vt == LUA_TNIL || (vt == LUA_TBOOLEAN && fields[f].type != MS_FIELD_BOOL && !lua_toboolean(L, f + 1)))
            continue;
        put_value(L, out, f, fields[f].type, f + 1, vt);
    }
    end_record(rt, out);
    return 0;
}

void ms_lua_emit_open(lua_State *L, ms_lua *rt)
{
    (void)rt; /* logs are found by name in rt->logs (find_log) */
    lua_getglobal(L, "moonshark");
    lua_pushcfunction(L, l_log);
    lua_setfield(L, -2, "log");
    lua_pushcfunction(L, l_emit);
    lua_setfield(L, -2, "emit");
    lua_pop(L, 1);
}

int ms_lua_close_logs(ms_lua *rt)
{
    int rc = 0;
    for (int i = 0; i < rt->nlogs; i++) {
        if (!rt->logs[i].out)
            continue;
        rt->logs[i].records = ms_output_records(rt->logs[i].out);
        rt->logs[i].filtered = ms_output_filtered(rt->logs[i].out);
        if (ms_output_close(rt->logs[i].out) != 0)
            rc = MS_EIO;
        rt->logs[i].out = NULL;
    }
    return rc;
}

void ms_lua_emit_close(ms_lua *rt)
{
    ms_lua_close_logs(rt);
}

void ms_lua_flush(ms_lua *rt)
{
    if (rt->opts.out)
        fflush(rt->opts.out);
    for (int i = 0; i < rt->nlogs; i++) /* -w DIR: each log has its own file */
        ms_output_flush(rt->logs[i].out);
}
