/* state.h — the types every file of the Lua bridge shares (the runtime, its connections and their
 * halves, protocols, logs) and the few functions that only need the state: finding the runtime
 * of a lua_State, the message handler, error objects and script-error reports (state.c).
 * The bottom of lua/: every other lua/ file builds on it; it includes no other lua/ header but
 * the public ms_lua.h. Not for callers outside lua/: they use ms_lua.h. */
#ifndef MS_LUA_STATE_H
#define MS_LUA_STATE_H

#include <signal.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua/ms_lua.h"

/* A registered protocol: the table moonshark.protocol returned (handlers are looked up in it
 * when a connection opens, so scripts may set them after registering). */
typedef struct ms_lua_proto {
    char name[64];
    int ref;          /* registry ref of the protocol table */
    bool has_detect;  /* detect function given */
} ms_lua_proto;

/* A declared log and its sink. */
typedef struct ms_lua_log {
    char name[64];
    ms_output *out;   /* owned; NULL after ms_lua_close_logs */
    int nfields;
    int names_ref;    /* registry ref of an array of field-name strings (column order) */
    uint64_t records, filtered; /* at close: records ended, and dropped by the -Y filter */
} ms_lua_log;

/* Reader requests a coroutine waits on. */
enum {
    MS_REQ_NONE = 0,
    MS_REQ_LINE,      /* arg = max bytes */
    MS_REQ_READ,      /* arg = n */
    MS_REQ_PEEK,      /* arg = n */
    MS_REQ_SKIP,      /* skip_left bytes still to drop */
    MS_REQ_SKIP_ALL,
    MS_REQ_HEADERS,   /* arg = max bytes */
    MS_REQ_CHUNKED,   /* arg = max size line, arg2 = max trailer block; chunk_* below */
};

#define MS_LUA_PARTIAL_MAX 256 /* bytes of a gap-cut line a gap error carries (err.partial) */

/* States of one direction. */
enum {
    MS_HALF_IDLE = 0, /* reader coroutine not started yet */
    MS_HALF_WAIT,     /* coroutine suspended on a request */
    MS_HALF_CALLBACK, /* callback style (on_data) */
    MS_HALF_DONE,     /* finished, failed, or no handler: bytes are dropped */
};

typedef struct ms_lua_half {
    int state;              /* MS_HALF_* */
    lua_State *co;          /* reader coroutine (anchored by co_ref) */
    int co_ref;
    void **rbox;            /* the reader userdata's pointer slot, cleared when the half is dropped */
    int reader_ref;         /* registry ref anchoring the reader while rbox points into it */
    const void *reader_ptr; /* the reader table (lua_topointer), for the methods' quick check */
    ms_lua_conn *owner;     /* the connection this half belongs to */
    int req;                /* MS_REQ_* pending */
    uint64_t arg;           /* request argument (max or n) */
    uint64_t arg2;          /* CHUNKED: max bytes of the trailer block */
    uint8_t chunk_state;    /* CHUNKED: where in the body (reader.c's CH_*) */
    uint8_t chunk_end;      /* CHUNKED, once CH_DONE: reader.c's CHUNK_* outcome */
    bool chunk_big;         /* CHUNKED: the chunk being skipped declared a size past 2^60 */
    uint64_t chunk_total;   /* CHUNKED: decoded body bytes so far */
    uint64_t skip_left;     /* MS_REQ_SKIP: bytes still to drop */
    uint64_t skip_done;     /* bytes dropped so far by the current skip */
    size_t scan;            /* LINE: bytes of the unconsumed front already searched;
                               HEADERS: offset of the first line not yet seen complete */
    uint64_t gap_pending;   /* a gap the next request raises */
    bool line_time;         /* the pending r:line also returns its first byte's time */
    bool hdr_values;        /* the pending header read answers values in set order (r:header_values) */
    bool bare_cr;           /* HEADERS: a line of the block so far ended with a bare CR */
    uint16_t partial_len;   /* first bytes of an r:line still without its end (see partial) */
    uint64_t partial_ts;    /* capture time of partial[0] */
    uint8_t partial[MS_LUA_PARTIAL_MAX]; /* copy given to the gap error when a gap cuts the line */
    bool ended;             /* end of stream on this direction */
    bool detect_failed;     /* detect() found nothing in this direction's first bytes */
    /* the bytes being presented (valid during one ms_lua_conn_data call) */
    const uint8_t *buf;
    size_t len, pos;        /* pos = consumed so far */
    size_t held;            /* bytes the caller holds to present again (unconsumed last time) */
    uint64_t ts;            /* capture time of the presented bytes */
    ms_lua_ts_fn ts_fn;     /* optional per-offset times */
    void *ts_ud;
    uint64_t last_ts;       /* time of the last byte seen, for r:time() between calls */
    /* ms_lua_conn_feed's buffer of unconsumed bytes */
    uint8_t *fbuf;
    size_t flen, fcap;
    uint64_t fts;           /* capture time of the oldest buffered byte */
    struct ms_lua_inflate *inflate; /* r:inflate: counts the decoded bytes of the body skipped next */
    /* the body being skipped, when the skip asked for its type (sniff.c) */
    uint8_t *sniff_buf;     /* its first bytes (MS_SNIFF_MAX at most), NULL until the first */
    uint16_t sniff_len;
    uint8_t sniff_coding;   /* MS_SNIFF_NONE (0): no type asked; else the coding to undo */
    bool sniff_stopped;     /* a gap or the memory cap: nothing more is collected */
    bool sniff_done;        /* the type is told (sniff_type): nothing more is looked at */
    const char *sniff_type; /* once done: the type (static or interned by sniff.c), or NULL */
} ms_lua_half;

struct ms_lua_conn {
    ms_lua *rt;
    int ref;                /* registry ref of the conn table */
    int proto;              /* index into rt->protos; -1 undecided; -2 none */
    bool udp;
    bool failed;            /* a script error stopped the parser on this connection */
    bool reader;            /* reader style (client/server coroutines) */
    bool closing;
    uint16_t sport, cport;  /* server and client ports */
    char uid[24];
    ms_lua_half half[2];
    ms_lua_conn *prev, *next; /* open connections (freed at ms_lua_free) */
};

#define MS_LUA_MAX_NEST 32     /* coroutine.resume depth tracked for the budget */
#define MS_LUA_CO_POOL 64      /* finished reader coroutines kept for reuse */
#define MS_LUA_POOL_CLASSES 21 /* free lists: blocks of 16, 32, ... 256 bytes, then 512 ... 8192 */

typedef struct ms_lua_pool_block {
    struct ms_lua_pool_block *next;
} ms_lua_pool_block;

struct ms_lua {
    lua_State *L;
    ms_lua_pool_block *pool[MS_LUA_POOL_CLASSES]; /* recycled small blocks, by size class */
    size_t pool_bytes;        /* bytes waiting in the free lists */
    ms_lua_opts opts;
    ms_lua_stats stats;
    size_t mem_limit;
    uint64_t budget;          /* instructions per call */
    uint64_t instr;           /* instructions counted in the current call */
    int nprotos;
    ms_lua_proto protos[MS_LUA_MAX_PROTOCOLS];
    uint8_t tcp_ports[65536]; /* protocol index + 1, 0 = none */
    uint8_t udp_ports[65536];
    int nlogs;
    ms_lua_log logs[MS_LUA_MAX_LOGS];
    lua_State *co_pool[MS_LUA_CO_POOL]; /* finished reader coroutines kept for new halves */
    int co_pool_ref[MS_LUA_CO_POOL];    /* their registry refs (kept while pooled) */
    int co_pooled;
    int err_mt_ref;           /* metatable of {kind=...} error tables */
    int reader_mt_ref;        /* metatable of readers */
    int bytes_mt_ref;         /* metatable of bytes views */
    ms_lua_conn *conns;       /* open connections */
    struct ms_lua_sniffer *sniffer; /* libmagic and its cache, made at the first binary body (sniff.c) */
    size_t sniff_bytes;       /* bytes held in halves' sniff buffers (capped) */
    uint64_t now_ns;          /* capture time of the data being handed to parsers (moonshark.now) */
    bool print_traceback;     /* MOONSHARK_LUA_TRACEBACK set */
    /* lazily armed budget (see runtime.c); fields read by the SIGVTALRM handler are volatile */
    bool lazy_budget;         /* count hook armed by the timer (else always on) */
    bool timer_on;            /* this runtime counts as a timer user */
    timer_t budget_timer;     /* CPU-time timer of the thread that made the runtime (when timer_on) */
    volatile sig_atomic_t in_call;   /* a call into Lua is running */
    volatile sig_atomic_t armed;     /* the count hook is on for this call */
    volatile unsigned long call_seq; /* calls entered */
    volatile unsigned long seen_seq; /* call seen by the last timer tick */
    lua_State *volatile threads[MS_LUA_MAX_NEST]; /* threads running Lua: [0] the one C resumed */
    volatile sig_atomic_t hooked[MS_LUA_MAX_NEST];
    volatile int nthreads;
};

#define MS_LUA_HOOK_STEP 1000 /* instructions between budget checks */

/* The runtime whose allocator L uses (every thread of a runtime shares it). */
ms_lua *ms_lua_of(lua_State *L);
/* Message handler for lua_pcall: the error with a traceback. */
int ms_lua_msgh(lua_State *L);
/* Creates the metatable of error objects (at state creation, before any push_error). */
void ms_lua_errors_open(lua_State *L, ms_lua *rt);
/* Pushes an error object {kind=, bytes=, limit=} (bytes and limit left out when 0). */
void ms_lua_push_error(lua_State *L, ms_lua *rt, const char *kind, uint64_t bytes, uint64_t limit);
/* Counts a script error of connection c and prints it (one line with the uid) unless quiet. */
void ms_lua_report(ms_lua_conn *c, const char *what, const char *msg);

#endif
