/* reader.c — the reader `r` of reader-style parsers: r:line, r:headers, r:read, r:peek, r:skip,
 * r:skip_all, r:time. Each method first tries to complete from the bytes at hand (searching in C);
 * when it cannot, the coroutine yields and conn.c resumes it only once the request can complete.
 * Skips are carried out in C across packets without entering Lua. */
#include "lua/reader.h"

#include "lua/inflate.h"
#include "lua/sniff.h"

#include <string.h>

/* A reader is a plain table {conn=, dir=} whose metatable's __index is the method table, so
 * method lookup stays inside the VM; its half lives in a box userdata stored under a private
 * light-userdata key (scripts cannot make such a box, so a reader cannot be forged). */
static const char READER_MT[] = "moonshark.reader";
static const char RBOX_MT[] = "moonshark.reader_box";
static const char RBOX_KEY = 0; /* address used as the table key of the box */

#define MAX_READ (64u << 20)     /* r:read / r:peek larger than this raise an error */
#define DEFAULT_LINE_MAX 65536
#define DEFAULT_HEADERS_MAX 65536

typedef struct rbox {
    ms_lua_half *h;   /* NULL once the connection closed */
    ms_lua_conn *c;
    int dir;
} rbox;

uint64_t ms_lua_half_time(const ms_lua_half *h)
{
    if (h->buf && h->pos < h->len) {
        if (h->ts_fn)
            return h->ts_fn(h->ts_ud, h->pos);
        return h->ts;
    }
    return h->last_ts;
}

static size_t avail(const ms_lua_half *h)
{
    return h->buf ? h->len - h->pos : 0;
}

static const uint8_t *front(const ms_lua_half *h)
{
    return h->buf + h->pos;
}

static void consume(ms_lua_half *h, size_t n)
{
    h->pos += n;
}

/* Drops what is left at the end of a stream (a partial line or read). */
static void drop_tail(ms_lua_conn *c, ms_lua_half *h)
{
    size_t n = avail(h);
    c->rt->stats.bytes_dropped += n;
    consume(h, n);
}

/* ---- header block parsing (the block is complete: it ends with an empty line) ---------- */

static bool is_ws(uint8_t ch)
{
    return ch == ' ' || ch == '\t';
}

/* A header block is parsed twice at most: once now for t[lowercase name] (what parsers look up),
 * and again, only if a parser asks for t[i] / #t / pairs(t), for the ordered {name, value} pairs.
 * The block is kept in t[0] until then. */

typedef struct hdr_iter {
    const uint8_t *p;
    size_t len, pos;
    bool bare_cr;      /* the block may hold bare-CR line ends (else lines end at LF: quicker) */
} hdr_iter;

#define NO_EOL SIZE_MAX

/* Where the line starting at p[from] ends, within p[0..upto): at LF, at CRLF, or at a CR not
 * followed by LF (a bare CR ends a line, as Zeek and tshark read it). Returns the offset of the
 * line end and sets *eol_len (1 or 2), or NO_EOL when no end is there yet; a CR that is the last
 * byte at hand waits for the next byte (is it a CRLF?) unless the stream ended (at_end). */
static inline size_t find_eol(const uint8_t *p, size_t from, size_t upto, bool at_end, size_t *eol_len)
{
    if (from >= upto)
        return NO_EOL;
    const uint8_t *lf = memchr(p + from, '\n', upto - from);
    size_t stop = lf ? (size_t)(lf - p) : upto;
    const uint8_t *cr = stop > from ? memchr(p + from, '\r', stop - from) : NULL;
    if (cr) {
        size_t c = (size_t)(cr - p);
        if (c + 1 < upto) {
            *eol_len = p[c + 1] == '\n' ? 2 : 1;
            return c;
        }
        if (!at_end)
            return NO_EOL;
        *eol_len = 1;
        return c;
    }
    if (!lf)
        return NO_EOL;
    *eol_len = 1;
    return stop;
}

/* The next line (without its ending); false at the empty line or the end of the block. */
static bool next_line(hdr_iter *it, const uint8_t **line, size_t *llen)
{
    if (it->pos >= it->len)
        return false;
    size_t from = it->pos, el = 0;
    if (!it->bare_cr) { /* the usual block: LF or CRLF line ends only */
        const uint8_t *nl = memchr(it->p + from, '\n', it->len - from);
        size_t end = nl ? (size_t)(nl - it->p) : it->len;
        it->pos = nl ? end + 1 : it->len;
        if (end > from && it->p[end - 1] == '\r')
            end--;
        *line = it->p + from;
        *llen = end - from;
        return *llen > 0;
    }
    size_t end = find_eol(it->p, from, it->len, true, &el);
    if (end == NO_EOL) {
        end = it->len;
        it->pos = it->len;
    } else {
        it->pos = end + el;
    }
    *line = it->p + from;
    *llen = end - from;
    return *llen > 0;
}

static void trim(const uint8_t *s, size_t *a, size_t *b)
{
    while (*a < *b && is_ws(s[*a]))
        (*a)++;
    while (*b > *a && is_ws(s[*b - 1]))
        (*b)--;
}

/* Splits a header line: the name is line[0..*nlen) (blanks before the colon dropped), the value
 * line[*a..*b) (trimmed). False for a fold line (it belongs to the header before) or a line
 * without a colon. */
static bool split_header(const uint8_t *line, size_t llen, size_t *nlen, size_t *a, size_t *b)
{
    if (is_ws(line[0]))
        return false;
    const uint8_t *colon = memchr(line, ':', llen);
    if (!colon)
        return false;
    size_t n = (size_t)(colon - line);
    while (n > 0 && is_ws(line[n - 1]))
        n--;
    *nlen = n;
    *a = (size_t)(colon - line) + 1;
    *b = llen;
    trim(line, a, b);
    return true;
}

/* Pushes the value line[a..b), joined with its folded continuation lines (obsolete folding: one
 * space each), which it consumes from it. */
static void push_value(lua_State *L, hdr_iter *it, const uint8_t *line, size_t a, size_t b)
{
    if (!(it->pos < it->len && is_ws(it->p[it->pos]))) {
        lua_pushlstring(L, (const char *)line + a, b - a);
        return;
    }
    luaL_Buffer buf;
    luaL_buffinit(L, &buf);
    luaL_addlstring(&buf, (const char *)line + a, b - a);
    while (it->pos < it->len && is_ws(it->p[it->pos])) {
        const uint8_t *fl;
        size_t flen;
        if (!next_line(it, &fl, &flen))
            break;
        size_t fa = 0, fb = flen;
        trim(fl, &fa, &fb);
        luaL_addchar(&buf, ' ');
        luaL_addlstring(&buf, (const char *)fl + fa, fb - fa);
    }
    luaL_pushresult(&buf);
}

/* The next header: its name and value (obsolete folding joined with one space, value pushed on
 * the stack; when `want` is given and says no for the name, the header is passed over and nothing
 * is pushed). Lines without a colon, and folds with no header before them, are skipped. */
static bool next_header_opt(lua_State *L, hdr_iter *it, const uint8_t **name, size_t *nlen,
                            bool (*want)(lua_State *, const uint8_t *, size_t))
{
    const uint8_t *line;
    size_t llen;
    for (;;) {
        if (!next_line(it, &line, &llen))
            return false;
        size_t n, a, b;
        if (!split_header(line, llen, &n, &a, &b))
            continue;
        *name = line;
        *nlen = n;
        if (want && !want(L, line, n)) {
            while (it->pos < it->len && is_ws(it->p[it->pos])) { /* its folded lines too */
                const uint8_t *fl;
                size_t flen;
                if (!next_line(it, &fl, &flen))
                    break;
            }
            continue;
        }
        push_value(L, it, line, a, b);
        return true;
    }
}

static bool next_header(lua_State *L, hdr_iter *it, const uint8_t **name, size_t *nlen)
{
    return next_header_opt(L, it, name, nlen, NULL);
}

/* Builds t[1..n] = {name, value} from the block kept in t[0] (t at index t). */
static void build_pairs(lua_State *L, int t)
{
    if (lua_rawgeti(L, t, 0) != LUA_TSTRING) {
        lua_pop(L, 1);
        return;
    }
    size_t len = 0;
    const uint8_t *block = (const uint8_t *)lua_tolstring(L, -1, &len);
    hdr_iter it = { block, len, 0, true }; /* the block's line ends are not known here */
    const uint8_t *name;
    size_t nlen;
    lua_Integer n = 0;
    while (next_header(L, &it, &name, &nlen)) {
        lua_createtable(L, 2, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 2);
        lua_pushlstring(L, (const char *)name, nlen);
        lua_rawseti(L, -2, 1);
        lua_rawseti(L, t, ++n);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawseti(L, t, 0);
}

static int hdr_index(lua_State *L)
{
    if (!lua_isinteger(L, 2))
        return 0;
    build_pairs(L, 1);
    lua_rawget(L, 1);
    return 1;
}

static int hdr_len(lua_State *L)
{
    build_pairs(L, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
    return 1;
}

static int hdr_pairs(lua_State *L)
{
    build_pairs(L, 1);
    lua_getglobal(L, "next");
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static const char HEADERS_MT[] = "moonshark.headers";

/* Pushes name[0..nlen) in ASCII lower case (header names are case-insensitive). */
static void push_lower(lua_State *L, const uint8_t *name, size_t nlen)
{
    char lower[256];
    if (nlen < sizeof lower) {
        for (size_t j = 0; j < nlen; j++) {
            uint8_t ch = name[j];
            lower[j] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
        }
        lua_pushlstring(L, lower, nlen);
        return;
    }
    luaL_Buffer buf;
    luaL_buffinit(L, &buf);
    for (size_t j = 0; j < nlen; j++) {
        uint8_t ch = name[j];
        luaL_addchar(&buf, (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch));
    }
    luaL_pushresult(&buf);
}

/* r:headers(max, wanted): only names that are keys of the table `wanted` (lower case) get
 * t[name]; the others are passed over without making Lua strings of their values (t[i] pairs are
 * unchanged). The set is at stack index 3 of the r:headers call. Returns true with the lower-case
 * name left on the stack, or false with nothing pushed. */
static bool wanted_name(lua_State *L, const uint8_t *name, size_t nlen)
{
    push_lower(L, name, nlen);
    lua_pushvalue(L, -1);
    bool yes = lua_rawget(L, 3) != LUA_TNIL;
    lua_pop(L, yes ? 1 : 2); /* a wanted name stays pushed: push_headers uses it as the key */
    return yes;
}

/* ---- header sets: moonshark.header_set{"host", "user-agent", ...} ------------------------
 * A fixed list of lower-case names compiled once. r:headers(max, set) matches names in C and
 * makes Lua strings only for the headers in the set, in a plain table (no t[i] pairs, no
 * metatable): the cheap form for parsers that read a few known headers of every message. */
static const char HSET_MT[] = "moonshark.header_set";

#define HSET_MAX 64       /* names in one set */
#define HSET_NAME_MAX 64  /* bytes of one name */

typedef struct hset {
    int n;
    uint64_t lens;            /* bit k set: some name is k bytes long (a quick no for most headers) */
    uint8_t len[HSET_MAX];
    char name[HSET_MAX][HSET_NAME_MAX]; /* lower case */
} hset;

/* moonshark.header_set{ names... }: the names' Lua strings stay in the set's user value (a list)
 * so the header table's keys are pushed without hashing the name again. */
static int l_header_set(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    if (n > HSET_MAX)
        return luaL_error(L, "moonshark.header_set: at most %d names", HSET_MAX);
    hset *set = lua_newuserdatauv(L, sizeof *set, 1);
    memset(set, 0, sizeof *set);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 1, i) != LUA_TSTRING)
            return luaL_error(L, "moonshark.header_set: name %d is not a string", (int)i);
        size_t len = 0;
        const char *name = lua_tolstring(L, -1, &len);
        if (len == 0 || len >= HSET_NAME_MAX)
            return luaL_error(L, "moonshark.header_set: name %d must be 1 to %d bytes", (int)i, HSET_NAME_MAX - 1);
        for (size_t j = 0; j < len; j++) {
            uint8_t ch = (uint8_t)name[j];
            if (ch >= 'A' && ch <= 'Z')
                return luaL_error(L, "moonshark.header_set: name '%s' must be lower case", name);
            if (ch <= ' ' || ch == ':' || ch >= 0x7f)
                return luaL_error(L, "moonshark.header_set: '%s' is not a header name", name);
        }
        memcpy(set->name[set->n], name, len);
        set->len[set->n] = (uint8_t)len;
        set->lens |= (uint64_t)1 << len;
        set->n++;
        lua_rawseti(L, -2, set->n);
    }
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, HSET_MT);
    return 1;
}

/* Index (1-based) of name[0..nlen) in the set, compared without case; 0 when absent. */
static int hset_find(const hset *set, const uint8_t *name, size_t nlen)
{
    if (nlen == 0 || nlen >= HSET_NAME_MAX || !(set->lens >> nlen & 1))
        return 0;
    uint8_t first = name[0] >= 'A' && name[0] <= 'Z' ? (uint8_t)(name[0] + 32) : name[0];
    for (int i = 0; i < set->n; i++) {
        if (set->len[i] != nlen || (uint8_t)set->name[i][0] != first)
            continue;
        size_t j = 1;
        for (; j < nlen; j++) {
            uint8_t ch = name[j];
            if (ch >= 'A' && ch <= 'Z')
                ch = (uint8_t)(ch + 32);
            if (ch != (uint8_t)set->name[i][j])
                break;
        }
        if (j == nlen)
            return i + 1;
    }
    return 0;
}

/* The next header of the block whose name is in the set: its index in the set (1-based), its line
 * and its value's bounds; 0 at the end of the block. Lines without a colon and headers outside
 * the set are passed over, and so are the folded lines of those (a wanted header takes its own
 * folds in push_value). */
static int next_set_header(hdr_iter *it, const hset *set, const uint8_t **line, size_t *a, size_t *b)
{
    size_t llen, n;
    while (next_line(it, line, &llen)) {
        if (!split_header(*line, llen, &n, a, b))
            continue;
        int k = hset_find(set, *line, n);
        if (k)
            return k;
    }
    return 0;
}

/* The header table of block[0..len) for the set at stack index 3 (see above). */
static void push_headers_set(lua_State *L, const uint8_t *block, size_t len, bool bare_cr)
{
    const hset *set = lua_touserdata(L, 3);
    lua_getiuservalue(L, 3, 1);
    int names = lua_gettop(L);
    lua_createtable(L, 0, 4);
    int t = lua_gettop(L);
    hdr_iter it = { block, len, 0, bare_cr };
    const uint8_t *line;
    size_t a, b;
    int k;
    while ((k = next_set_header(&it, set, &line, &a, &b)) != 0) {
        lua_rawgeti(L, names, k); /* key */
        push_value(L, &it, line, a, b);
        /* t key value: a repeated header joins the earlier value with ", " */
        lua_pushvalue(L, -2);
        if (lua_rawget(L, t) == LUA_TSTRING) { /* t key value old */
            lua_insert(L, -2);
            lua_pushliteral(L, ", ");
            lua_insert(L, -2);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
        }
        lua_rawset(L, t);
    }
    lua_remove(L, names);
}

/* r:header_values: pushes true, then one value per name of the set at stack index 3, in the set's
 * order (nil for an absent header; a repeated one joined with ", "). Returns the count pushed.
 * No table is made: a parser that reads a fixed few headers of every message takes them into
 * locals. */
static int push_header_values(lua_State *L, const uint8_t *block, size_t len, bool bare_cr)
{
    const hset *set = lua_touserdata(L, 3);
    if (!lua_checkstack(L, set->n + 4))
        return luaL_error(L, "r:header_values: no stack room for %d values", set->n);
    lua_pushboolean(L, 1);
    int base = lua_gettop(L); /* value k is at base + k */
    for (int k = 0; k < set->n; k++)
        lua_pushnil(L);
    hdr_iter it = { block, len, 0, bare_cr };
    const uint8_t *line;
    size_t a, b;
    int k;
    while ((k = next_set_header(&it, set, &line, &a, &b)) != 0) {
        if (lua_type(L, base + k) == LUA_TSTRING) { /* repeated: old ", " new */
            lua_pushvalue(L, base + k);
            lua_pushliteral(L, ", ");
            push_value(L, &it, line, a, b);
            lua_concat(L, 3);
        } else {
            push_value(L, &it, line, a, b);
        }
        lua_replace(L, base + k);
    }
    return set->n + 1;
}

/* Pushes the header table for block[0..len) (which ends with the empty line). */
static void push_headers(lua_State *L, const uint8_t *block, size_t len, bool bare_cr)
{
    bool filter = lua_type(L, 3) == LUA_TTABLE;
    lua_createtable(L, 0, filter ? 6 : 12);
    int t = lua_gettop(L);
    hdr_iter it = { block, len, 0, bare_cr };
    const uint8_t *name;
    size_t nlen;
    while (next_header_opt(L, &it, &name, &nlen, filter ? wanted_name : NULL)) {
        /* stack: t value, or with a filter t lname value (wanted_name pushed the name) */
        if (filter) {
            /* the key is already below the value */
        } else {
            push_lower(L, name, nlen);
        }
        if (!filter)
            lua_insert(L, -2); /* t lname value */
        lua_pushvalue(L, -2);
        if (lua_rawget(L, t) == LUA_TSTRING) { /* t lname value old */
            lua_insert(L, -2);                   /* t lname old value */
            lua_pushliteral(L, ", ");
            lua_insert(L, -2);                   /* t lname old ", " value */
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
        }
        lua_rawset(L, t);
    }
    lua_pushlstring(L, (const char *)block, len);
    lua_rawseti(L, t, 0);
    luaL_setmetatable(L, HEADERS_MT);
}

/* ---- requests -------------------------------------------------------------------------- */

/* Looks for the empty line that ends a header block in p[0..upto); *scan is where the first line
 * not yet seen complete starts (kept across calls, so no line is searched again once complete).
 * Lines end as find_eol says. Returns the offset just past the empty line, or 0 when it is not
 * there yet. */
static size_t block_end(const uint8_t *p, size_t upto, size_t *scan, bool at_end, bool *bare_cr)
{
    size_t el = 0;
    for (;;) {
        size_t ls = *scan;
        size_t end = find_eol(p, ls, upto, at_end, &el);
        if (end == NO_EOL)
            return 0;
        if (el == 1 && p[end] == '\r')
            *bare_cr = true; /* the header parsers must split this block as find_eol does */
        *scan = end + el;
        if (end == ls)
            return *scan;
    }
}

/* The line end of the line at the front of h (bytes p[0..have)): its offset, with *eol_len, or
 * NO_EOL when it is not there yet. A line may have h->arg bytes and its CRLF: *lim gets that bound,
 * and only bytes within it are searched, each once (h->scan remembers how far the search got; a
 * CR last at hand is searched again with the byte after it). */
static size_t line_end(ms_lua_half *h, const uint8_t *p, size_t have, size_t *lim, size_t *eol_len)
{
    *lim = h->arg + 2 < h->arg ? SIZE_MAX : (size_t)MS_MIN(h->arg + 2, (uint64_t)SIZE_MAX);
    size_t upto = MS_MIN(have, *lim);
    size_t end = find_eol(p, h->scan, upto, h->ended, eol_len);
    if (end == NO_EOL && upto > h->scan)
        h->scan = p[upto - 1] == '\r' ? upto - 1 : upto;
    return end;
}

/* The stream ended before the pending read could complete: the tail is dropped (counted) and
 * the read answers nil (try_request's contract: 1, answered). */
static int answer_end(lua_State *L, ms_lua_conn *c, ms_lua_half *h)
{
    if (L) {
        drop_tail(c, h);
        lua_pushnil(L);
    }
    return 1;
}

/* r:skip_chunked's place in the body (chunk_state) and, once done, its outcome (chunk_end). */
enum { CH_SIZE, CH_DATA, CH_TRAILER, CH_DONE };
enum { CHUNK_COMPLETE, CHUNK_ENDED, CHUNK_BAD };

/* A line or header block with no end yet (try_request's contract: 1 answered, 0 would fail, -1
 * wait): at its limit it raises "limit"; at the end of the stream the tail is dropped and the read
 * answers nil; otherwise it waits for more bytes. */
static int line_not_complete(lua_State *L, ms_lua *rt, ms_lua_conn *c, ms_lua_half *h, size_t have, size_t lim)
{
    if (have >= lim) {
        if (L) {
            bool trailer = h->req == MS_REQ_CHUNKED && h->chunk_state == CH_TRAILER;
            h->req = MS_REQ_NONE;
            h->scan = 0;
            ms_lua_push_error(L, rt, "limit", 0, trailer ? h->arg2 : h->arg);
            return lua_error(L);
        }
        return 0;
    }
    if (h->ended)
        return answer_end(L, c, h);
    return -1;
}

/* Lost bytes reached the pending request: with L, raises the gap error (try_request's contract:
 * without L, answers that the request would fail). */
static int raise_gap(lua_State *L, ms_lua *rt, ms_lua_half *h)
{
    if (!L)
        return 0;
    uint64_t n = h->gap_pending;
    bool cut_line = h->req == MS_REQ_LINE && h->partial_len > 0;
    h->gap_pending = 0;
    h->req = MS_REQ_NONE;
    ms_lua_push_error(L, rt, "gap", n, 0);
    if (cut_line) {
        /* the start of the line the gap cut (its bytes were dropped with the gap) */
        lua_pushlstring(L, (const char *)h->partial, h->partial_len);
        lua_setfield(L, -2, "partial");
        lua_pushnumber(L, (lua_Number)h->partial_ts / 1e9);
        lua_setfield(L, -2, "partial_ts");
        h->partial_len = 0;
    }
    return lua_error(L);
}

/* ---- r:skip_chunked: a chunked body (RFC 9112 7.1) carried out in C --------------------- */


#define CHUNK_BIG ((uint64_t)1 << 62) /* a size of more than 15 hex digits (leading zeros aside): the rest of the stream */

/* Reads a chunk-size line: blanks, hex digits, then anything (extensions). Sets *size and returns
 * true, or returns false when the line holds no size. */
static bool chunk_size_of(const uint8_t *s, size_t n, uint64_t *size)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t first = i;
    while (i < n && s[i] == '0') /* leading zeros do not count towards the size's digits */
        i++;
    size_t sig = i;
    uint64_t v = 0;
    for (; i < n; i++) {
        uint8_t ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            break;
        if (i - sig < 15)
            v = v << 4 | (uint64_t)d;
    }
    if (i == first)
        return false;
    *size = i - sig <= 15 ? v : CHUNK_BIG;
    return true;
}

static void chunk_done(ms_lua_half *h, int outcome)
{
    h->chunk_state = CH_DONE;
    h->chunk_end = (uint8_t)outcome;
}

#define CHUNK_GO_ON 2 /* chunk_incomplete: the body ended, go on to report it */

/* A size line or trailer block with no end yet: at the end of the stream the body ends there
 * (CHUNK_GO_ON); otherwise line_not_complete's answer (the limit error, or wait). */
static int chunk_incomplete(lua_State *L, ms_lua_conn *c, ms_lua_half *h, size_t have, size_t lim)
{
    if (have < lim && h->ended) {
        drop_tail(c, h);
        chunk_done(h, CHUNK_ENDED);
        return CHUNK_GO_ON;
    }
    return line_not_complete(L, c->rt, c, h, have, lim);
}

/* Advances a pending r:skip_chunked over the bytes at hand (try_request's contract). Lines and the
 * trailer block are searched in C, data is dropped in C; Lua sees only the outcome: the decoded
 * length, whether the stream ended first, and "bad_chunk" when the framing broke. A size line or
 * a trailer past its limit raises "limit", lost bytes outside chunk data raise "gap" (as r:line
 * and r:headers would); lost chunk data is counted as skipped, like r:skip. */
static int try_chunked(lua_State *L, ms_lua_conn *c, ms_lua_half *h)
{
    ms_lua *rt = c->rt;
    for (;;) {
        size_t have = avail(h);
        const uint8_t *p = have ? front(h) : NULL;
        switch (h->chunk_state) {
        case CH_SIZE: {
            size_t lim, el = 0;
            size_t le = line_end(h, p, have, &lim, &el);
            if (le == NO_EOL) {
                int r = chunk_incomplete(L, c, h, have, lim);
                if (r != CHUNK_GO_ON)
                    return r;
                break;
            }
            uint64_t size = 0;
            bool has_size = chunk_size_of(p, le, &size);
            consume(h, le + el);
            rt->stats.bytes_parsed += le + el;
            h->scan = 0;
            if (!has_size) {
                if (le > 0)
                    chunk_done(h, CHUNK_BAD);
                break; /* an empty line (the CRLF after chunk data) is passed over */
            }
            if (size == 0) {
                h->chunk_state = CH_TRAILER;
            } else {
                h->chunk_state = CH_DATA;
                h->skip_left = size;
                h->chunk_big = size == CHUNK_BIG;
            }
            break;
        }
        case CH_DATA: {
            size_t take = (size_t)MS_MIN((uint64_t)have, h->skip_left);
            if (h->inflate && take)
                ms_lua_inflate_feed(h->inflate, p, take);
            if (h->sniff_coding && take)
                ms_lua_sniff_feed(rt, h, p, take, false);
            consume(h, take);
            h->skip_left -= take;
            h->chunk_total += take;
            rt->stats.bytes_skipped += take;
            if (h->skip_left == 0)
                h->chunk_state = CH_SIZE; /* its CRLF comes as an empty line */
            else if (h->ended)
                chunk_done(h, h->chunk_big ? CHUNK_BAD : CHUNK_ENDED);
            else
                return -1;
            break;
        }
        case CH_TRAILER: {
            size_t lim = (size_t)MS_MIN(h->arg2, (uint64_t)SIZE_MAX);
            size_t len = block_end(p, MS_MIN(have, lim), &h->scan, h->ended, &h->bare_cr);
            if (!len) {
                int r = chunk_incomplete(L, c, h, have, lim);
                if (r != CHUNK_GO_ON)
                    return r;
                break;
            }
            consume(h, len);
            rt->stats.bytes_parsed += len;
            h->scan = 0;
            chunk_done(h, CHUNK_COMPLETE);
            break;
        }
        default: /* CH_DONE */
            if (L) {
                lua_pushinteger(L, (lua_Integer)h->chunk_total);
                lua_pushboolean(L, h->chunk_end != CHUNK_COMPLETE);
                if (h->chunk_end == CHUNK_BAD)
                    lua_pushliteral(L, "bad_chunk");
                else if (h->sniff_coding)
                    lua_pushnil(L); /* no problem; the type comes fourth */
                else
                    return 2;
                return 3 + ms_lua_sniff_push(L, rt, h);
            }
            return 1;
        }
    }
}

/* Tries to complete the pending request of h. With L non-NULL, pushes the results (returns their
 * count, or raises the gap/limit error); with L NULL only answers whether it would complete
 * (returns 0 or more) or must wait for bytes (-1). Either way bookkeeping (scan offsets, skips)
 * advances. */
static int try_request(lua_State *L, ms_lua_conn *c, ms_lua_half *h)
{
    ms_lua *rt = c->rt;
    if (h->req == MS_REQ_SKIP) {
        size_t take = (size_t)MS_MIN((uint64_t)avail(h), h->skip_left);
        if (h->inflate && take)
            ms_lua_inflate_feed(h->inflate, front(h), take);
        if (h->sniff_coding && take) /* mime type: the body's first bytes (sniff.c) */
            ms_lua_sniff_feed(rt, h, front(h), take, take == h->skip_left);
        consume(h, take);
        h->skip_left -= take;
        h->skip_done += take;
        rt->stats.bytes_skipped += take;
        if (h->skip_left > 0 && !h->ended)
            return -1;
        if (L) {
            lua_pushinteger(L, (lua_Integer)h->skip_done);
            return 1 + ms_lua_sniff_push(L, rt, h);
        }
        return 1;
    }
    if (h->req == MS_REQ_SKIP_ALL) {
        size_t take = avail(h);
        if (h->inflate && take)
            ms_lua_inflate_feed(h->inflate, front(h), take);
        if (h->sniff_coding && take)
            ms_lua_sniff_feed(rt, h, front(h), take, h->ended);
        consume(h, take);
        h->skip_done += take;
        rt->stats.bytes_skipped += take;
        if (!h->ended)
            return -1;
        if (L) {
            lua_pushinteger(L, (lua_Integer)h->skip_done);
            return 1 + ms_lua_sniff_push(L, rt, h);
        }
        return 1;
    }
    if (h->gap_pending && !(h->req == MS_REQ_CHUNKED && h->chunk_state == CH_DONE))
        return raise_gap(L, rt, h);
    size_t have = avail(h);
    const uint8_t *p = have ? front(h) : NULL;
    switch (h->req) {
    case MS_REQ_LINE: {
        size_t lim, el = 0;
        size_t le = line_end(h, p, have, &lim, &el);
        if (le != NO_EOL) {
            if (L) {
                lua_pushlstring(L, (const char *)p, le);
                int nres = 1;
                if (h->line_time) {
                    lua_pushnumber(L, (lua_Number)ms_lua_half_time(h) / 1e9); /* of its first byte */
                    nres = 2;
                }
                consume(h, le + el);
                rt->stats.bytes_parsed += le + el;
                h->scan = 0;
                return nres;
            }
            return 1;
        }
        if (have > 0 && h->partial_len < MS_MIN(have, sizeof h->partial)) {
            /* kept for a gap error (err.partial): a line cut by lost bytes */
            h->partial_len = (uint16_t)MS_MIN(have, sizeof h->partial);
            memcpy(h->partial, p, h->partial_len);
            h->partial_ts = ms_lua_half_time(h);
        }
        return line_not_complete(L, rt, c, h, have, lim);
    }
    case MS_REQ_HEADERS: {
        size_t lim = (size_t)MS_MIN(h->arg, (uint64_t)SIZE_MAX);
        size_t ls = h->scan;
        size_t len = block_end(p, MS_MIN(have, lim), &h->scan, h->ended, &h->bare_cr);
        if (!len)
            return line_not_complete(L, rt, c, h, have, lim);
        if (!L) {
            h->scan = ls; /* found: let the real call find it again */
            return 1;
        }
        int nres = 1;
        if (h->hdr_values)
            nres = push_header_values(L, p, len, h->bare_cr);
        else if (lua_type(L, 3) == LUA_TUSERDATA)
            push_headers_set(L, p, len, h->bare_cr);
        else
            push_headers(L, p, len, h->bare_cr);
        consume(h, len);
        rt->stats.bytes_parsed += len;
        h->scan = 0;
        return nres;
    }
    case MS_REQ_CHUNKED:
        return try_chunked(L, c, h);
    case MS_REQ_READ:
        if (have >= h->arg) {
            if (L) {
                lua_pushlstring(L, have ? (const char *)p : "", (size_t)h->arg);
                consume(h, (size_t)h->arg);
                rt->stats.bytes_parsed += h->arg;
            }
            return 1;
        }
        if (h->ended)
            return answer_end(L, c, h);
        return -1;
    case MS_REQ_PEEK:
        if (have >= h->arg || h->ended) {
            if (L) {
                if (have == 0 && h->arg > 0)
                    lua_pushnil(L);
                else
                    lua_pushlstring(L, have ? (const char *)p : "", (size_t)MS_MIN((uint64_t)have, h->arg));
            }
            return 1;
        }
        return -1;
    default:
        return 0;
    }
}

/* The box of the reader at index 1 (the methods' upvalue 1 is the box metatable). */
static rbox *get_box(lua_State *L)
{
    rbox *b = NULL;
    if (lua_type(L, 1) == LUA_TTABLE && lua_rawgetp(L, 1, &RBOX_KEY) == LUA_TUSERDATA &&
        lua_getmetatable(L, -1)) {
        if (lua_rawequal(L, -1, lua_upvalueindex(1)))
            b = lua_touserdata(L, -2);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (!b)
        luaL_typeerror(L, 1, "reader");
    return b;
}

/* The half whose reader coroutine L is, when argument 1 is that half's reader: the quick check
 * every method call takes (conn.c stores the half in the coroutine's extra space). NULL sends the
 * caller to the full check, which also gives the errors. */
static ms_lua_half *own_half(lua_State *L)
{
    ms_lua_half *h = *(ms_lua_half **)lua_getextraspace(L);
    if (h && h->co == L && h->reader_ptr == lua_topointer(L, 1))
        return h;
    return NULL;
}

static ms_lua_half *check_reader(lua_State *L, ms_lua_conn **cp)
{
    ms_lua_half *own = own_half(L);
    if (own) {
        *cp = own->owner;
        return own;
    }
    rbox *b = get_box(L);
    if (!b->h)
        luaL_error(L, "reader used after its connection closed");
    if (b->h->co != L)
        luaL_error(L, "a reader can only be used from its own parser (p.client / p.server)");
    *cp = b->c;
    return b->h;
}

static int finish(lua_State *L, int status, lua_KContext ctx);

/* Completes the request now if possible, else yields until conn.c resumes us. */
static int run_request(lua_State *L, ms_lua_conn *c, ms_lua_half *h)
{
    int r = try_request(L, c, h);
    if (r >= 0) {
        h->req = MS_REQ_NONE;
        return r;
    }
    return lua_yieldk(L, 0, (lua_KContext)0, finish);
}

static int finish(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    ms_lua_conn *c;
    ms_lua_half *h = check_reader(L, &c);
    return run_request(L, c, h);
}

/* Sets h's pending request and runs it. The stack keeps `keep` slots across a yield: the reader
 * at index 1 (finish() finds it there) and, for r:headers with a wanted set, the set at 3. */
static int begin(lua_State *L, ms_lua_conn *c, ms_lua_half *h, int req, uint64_t arg, int keep)
{
    lua_settop(L, keep);
    h->req = req;
    h->arg = arg;
    h->scan = 0;
    h->bare_cr = false;
    h->partial_len = 0;
    return run_request(L, c, h);
}

static int start(lua_State *L, int req, uint64_t arg)
{
    ms_lua_conn *c;
    ms_lua_half *h = check_reader(L, &c);
    return begin(L, c, h, req, arg, 1);
}

static uint64_t opt_size(lua_State *L, int idx, uint64_t dflt, uint64_t max, const char *what)
{
    lua_Integer n = luaL_optinteger(L, idx, (lua_Integer)dflt);
    if (n < 0)
        luaL_error(L, "%s: size must not be negative", what);
    if ((uint64_t)n > max)
        luaL_error(L, "%s: size %I is larger than the limit %I", what, n, (lua_Integer)max);
    return (uint64_t)n;
}

/* r:line(max [, with_time]): with_time true also returns the capture time of the line's first
 * byte (what r:time() said before the line was read), saving a peek and a call per line. */
static int r_line(lua_State *L)
{
    uint64_t max = opt_size(L, 2, DEFAULT_LINE_MAX, MAX_READ, "r:line");
    ms_lua_conn *c;
    ms_lua_half *h = check_reader(L, &c);
    h->line_time = lua_toboolean(L, 3);
    return begin(L, c, h, MS_REQ_LINE, max, 1);
}

/* Whether the value at idx is a header set: its metatable is the methods' upvalue 2 (a pointer
 * compare; luaL_testudata would look the metatable up by name on every call). */
static bool is_hset(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx))
        return false;
    bool yes = lua_rawequal(L, -1, lua_upvalueindex(2));
    lua_pop(L, 1);
    return yes;
}

static int r_headers(lua_State *L)
{
    uint64_t max = opt_size(L, 2, DEFAULT_HEADERS_MAX, MAX_READ, "r:headers");
    ms_lua_conn *c;
    if (lua_isnoneornil(L, 3)) {
        check_reader(L, &c)->hdr_values = false;
        return start(L, MS_REQ_HEADERS, max);
    }
    if (lua_type(L, 3) != LUA_TTABLE && !is_hset(L, 3))
        return luaL_typeerror(L, 3, "table or header set");
    ms_lua_half *h = check_reader(L, &c);
    h->hdr_values = false;
    return begin(L, c, h, MS_REQ_HEADERS, max, 3);
}

/* r:header_values(max, set): true and then the set's headers as values (push_header_values), or
 * nil at the end of the stream. */
static int r_header_values(lua_State *L)
{
    uint64_t max = opt_size(L, 2, DEFAULT_HEADERS_MAX, MAX_READ, "r:header_values");
    if (!is_hset(L, 3))
        return luaL_typeerror(L, 3, "header set");
    ms_lua_conn *c;
    ms_lua_half *h = check_reader(L, &c);
    h->hdr_values = true;
    return begin(L, c, h, MS_REQ_HEADERS, max, 3);
}

static int r_read(lua_State *L)
{
    return start(L, MS_REQ_READ, opt_size(L, 2, 0, MAX_READ, "r:read"));
}

static int r_peek(lua_State *L)
{
    return start(L, MS_REQ_PEEK, opt_size(L, 2, 0, MAX_READ, "r:peek"));
}

static int r_skip(lua_State *L)
{
    ms_lua_conn *c;
    ms_lua_half *h = check_reader(L, &c);
    lua_Number x = luaL_checknumber(L, 2);
    if (!(x >= 0))
        return luaL_error(L, "r:skip: count must not be negative");
    h->skip_left = x >= 1.8e19 ? UINT64_MAX : (uint64_t)x;
    h->skip_done = 0;
    ms_lua_sniff_begin(h, ms_lua_sniff_arg(L, 3)); /* r:skip(n, sniff): the body's type too */
    if (h->gap_pending) {
        /* a gap right where the skip starts is absorbed by the skip */
        uint64_t absorbed = MS_MIN(h->gap_pending, h->skip_left);
        ms_lua_inflate_gap(h->inflate, absorbed);
        h->gap_pending -= absorbed;
        h->skip_left -= absorbed;
        h->skip_done = absorbed;
        if (absorbed)
            ms_lua_sniff_gap(h);
    }
    lua_settop(L, 1);
    h->req = MS_REQ_SKIP;
    return run_request(L, c, h);
}

/* r:skip_chunked(line_max, trailer_max): decoded length, ended, and "bad_chunk" (see try_chunked). */
static int r_skip_chunked(lua_State *L)
{
    uint64_t line_max = opt_size(L, 2, DEFAULT_LINE_MAX, MAX_READ, "r:skip_chunked");
    uint64_t trailer_max = opt_size(L, 3, DEFAULT_HEADERS_MAX, MAX_READ, "r:skip_chunked");
    ms_lua_conn *c;
    ms_lua_half *h = check_reader(L, &c);
    h->arg2 = trailer_max;
    ms_lua_sniff_begin(h, ms_lua_sniff_arg(L, 4)); /* r:skip_chunked(lmax, tmax, sniff) */
    h->chunk_state = CH_SIZE;
    h->chunk_total = 0;
    h->chunk_big = false;
    return begin(L, c, h, MS_REQ_CHUNKED, line_max, 1);
}

static int r_skip_all(lua_State *L)
{
    ms_lua_conn *c;
    ms_lua_half *h = check_reader(L, &c);
    h->skip_done = 0;
    h->gap_pending = 0; /* nothing more is read: a gap changes nothing */
    ms_lua_sniff_begin(h, ms_lua_sniff_arg(L, 2)); /* r:skip_all(sniff) */
    lua_settop(L, 1);
    h->req = MS_REQ_SKIP_ALL;
    return run_request(L, c, h);
}

/* r:inflate(): the next r:skip, r:skip_chunked or r:skip_all also runs the bytes it drops
 * through zlib (gzip or zlib header detected, raw deflate when neither) and counts what they
 * decode to; r:inflated() then answers that count. Returns true, or false when no stream could be
 * made (out of memory). */
static int r_inflate(lua_State *L)
{
    ms_lua_conn *c;
    ms_lua_half *h = check_reader(L, &c);
    ms_lua_inflate_free(h->inflate);
    h->inflate = ms_lua_inflate_new();
    lua_pushboolean(L, h->inflate != NULL);
    return 1;
}

/* r:inflated(): decoded bytes counted since r:inflate() (lost bytes count as their length), and
 * nil, "error" (the coded data broke; the count is what decoded before) or "limit" (counting
 * stopped at 1 GiB). Ends the counting. */
static int r_inflated(lua_State *L)
{
    ms_lua_conn *c;
    ms_lua_half *h = check_reader(L, &c);
    int status;
    uint64_t n = ms_lua_inflate_count(h->inflate, &status);
    ms_lua_inflate_free(h->inflate);
    h->inflate = NULL;
    lua_pushinteger(L, (lua_Integer)n);
    if (status == MS_INFLATE_ERROR)
        lua_pushliteral(L, "error");
    else if (status == MS_INFLATE_LIMIT)
        lua_pushliteral(L, "limit");
    else
        lua_pushnil(L);
    return 2;
}

void ms_lua_reader_release(ms_lua_half *h)
{
    ms_lua_inflate_free(h->inflate);
    h->inflate = NULL;
}

static int r_time(lua_State *L)
{
    rbox *b = get_box(L);
    if (!b->h)
        return luaL_error(L, "reader used after its connection closed");
    lua_pushnumber(L, (lua_Number)ms_lua_half_time(b->h) / 1e9);
    return 1;
}

void ms_lua_reader_open(lua_State *L, ms_lua *rt)
{
    static const luaL_Reg methods[] = {
        { "line", r_line }, { "headers", r_headers }, { "header_values", r_header_values }, { "read", r_read }, { "peek", r_peek },
        { "skip", r_skip }, { "skip_chunked", r_skip_chunked }, { "skip_all", r_skip_all }, { "time", r_time },
        { "inflate", r_inflate }, { "inflated", r_inflated }, { NULL, NULL },
    };
    luaL_newmetatable(L, HSET_MT);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_getglobal(L, "moonshark");
    lua_pushcfunction(L, l_header_set);
    lua_setfield(L, -2, "header_set");
    lua_pop(L, 1);
    luaL_newmetatable(L, HEADERS_MT);
    lua_pushcfunction(L, hdr_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, hdr_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, hdr_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pop(L, 1);
    luaL_newmetatable(L, RBOX_MT);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    int box_mt = lua_gettop(L);
    luaL_newmetatable(L, READER_MT);
    lua_createtable(L, 0, 12);
    lua_pushvalue(L, box_mt);
    luaL_getmetatable(L, HSET_MT);
    luaL_setfuncs(L, methods, 2); /* upvalues: the box metatable (get_box), the set's (is_hset) */
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pushvalue(L, -1);
    rt->reader_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 2);
}

void ms_lua_reader_push(lua_State *L, ms_lua_conn *c, int dir)
{
    lua_createtable(L, 0, 3);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    lua_setfield(L, -2, "conn");
    lua_pushinteger(L, dir);
    lua_setfield(L, -2, "dir");
    rbox *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->h = &c->half[dir];
    b->c = c;
    b->dir = dir;
    luaL_setmetatable(L, RBOX_MT);
    lua_rawsetp(L, -2, &RBOX_KEY);
    luaL_setmetatable(L, READER_MT);
    ms_lua_half *h = &c->half[dir];
    h->rbox = (void **)&b->h;
    h->reader_ptr = lua_topointer(L, -1);
    h->owner = c;
    if (h->co)
        *(ms_lua_half **)lua_getextraspace(h->co) = h; /* cleared by conn.c's drop_half */
}

bool ms_lua_reader_gap(ms_lua_half *h, uint64_t n)
{
    bool skipping = h->req == MS_REQ_SKIP || (h->req == MS_REQ_CHUNKED && h->chunk_state == CH_DATA);
    if (h->req == MS_REQ_SKIP_ALL) {
        h->skip_done += n;
        ms_lua_inflate_gap(h->inflate, n);
        ms_lua_sniff_gap(h);
        return false;
    }
    if (skipping) {
        ms_lua_sniff_gap(h); /* the body's bytes are no longer contiguous */
        uint64_t absorbed = MS_MIN(n, h->skip_left);
        ms_lua_inflate_gap(h->inflate, absorbed);
        h->skip_left -= absorbed;
        n -= absorbed;
        if (h->req == MS_REQ_SKIP) {
            h->skip_done += absorbed;
        } else {
            h->chunk_total += absorbed;
            if (h->skip_left == 0)
                h->chunk_state = CH_SIZE; /* the rest of the gap is in the size line */
        }
    }
    h->gap_pending += n;
    if (skipping && h->skip_left > 0)
        return false;
    h->scan = 0;
    return true;
}

int ms_lua_reader_try(ms_lua_conn *c, ms_lua_half *h)
{
    return try_request(NULL, c, h);
}
