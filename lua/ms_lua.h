/* ms_lua.h — the Lua 5.4 runtime: one lua_State per engine, protocol parsers registered by scripts,
 * a per-connection API that feeds stream bytes (TCP) or datagrams (UDP) to them, and emit to the
 * output sinks. The runtime owns the Lua state, its allocator (memory ceiling), the instruction
 * budget per call, the sandbox and the open logs. It never reads packets itself: the dispatcher
 * (engine/dispatch, through ms_lua_parser), tests and fuzzers hand it bytes through ms_lua_conn_*.
 * Reader-style parsers yield requests (line, headers, read, peek, skip) that are satisfied in C:
 * skipped bytes never enter Lua, and strings are made only for what a parser asks for. */
#ifndef MS_LUA_H
#define MS_LUA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"
#include "dispatch/parser.h"
#include "flow/flow.h"
#include "output/output.h"

typedef struct ms_lua ms_lua;            /* one runtime (one lua_State) */
typedef struct ms_lua_conn ms_lua_conn;  /* one connection (TCP) or flow (UDP) as parsers see it */

enum { MS_LUA_CLIENT = 0, MS_LUA_SERVER = 1 };

#define MS_LUA_DEFAULT_MEM (256u * 1024 * 1024)
#define MS_LUA_DEFAULT_BUDGET 10000000u
#define MS_LUA_MAX_PROTOCOLS 64
#define MS_LUA_MAX_LOGS 64

typedef struct ms_lua_opts {
    bool sandbox;           /* default true; false = --unsafe-lua */
    size_t mem_limit;       /* bytes the Lua allocator may hold (default 256 MiB, 0 = default) */
    uint64_t instr_budget;  /* VM instructions per call into Lua (default 10M, 0 = default) */
    bool exact_budget;      /* count every instruction of every call (slower); default: the count
                               hook is armed for a call still running after ~10-20 ms of CPU, which
                               then has instr_budget more instructions */
    ms_out_format format;   /* record format for emit (default MS_FMT_AUTO: table on a tty, else TSV) */
    FILE *out;              /* where records go (default stdout); not closed by the runtime */
    const char *out_dir;    /* when set, each log goes to DIR/LOG.log (or .json) instead of out */
    FILE *errlog;           /* where script errors are reported (default stderr; NULL after default = quiet) */
    bool quiet_errors;      /* count script errors but do not print them */
    bool live;              /* every record reaches its sink at once (live capture, -l) */
    const char *filter;     /* -Y EXPR: only records it accepts are written, in every log */
    const char *const *select; /* -e FIELD...: the columns every log writes (nselect of them) */
    int nselect;
    /* Optional (moonshark --threads): the stream each log writes to, asked once per log when a
     * script declares it (instead of out / out_dir); NULL with err filled fails moonshark.log. */
    FILE *(*log_stream)(void *ud, const char *name, const ms_field_def *fields, int nfields, ms_err *err);
    void *log_stream_ud;
} ms_lua_opts;

/* Counters for --stats and tests. Once every connection is closed,
 * bytes_in == bytes_parsed + bytes_skipped + bytes_dropped. */
typedef struct ms_lua_stats {
    uint64_t script_errors;     /* Lua errors in parsers (one per connection and direction at most) */
    uint64_t records;           /* records emitted */
    uint64_t records_dropped;   /* emits that failed (bad log, sink error) */
    uint64_t calls;             /* calls into Lua (pcall + resume), including detect */
    uint64_t bytes_in;          /* stream bytes presented for the first time (datagrams included) */
    uint64_t bytes_parsed;      /* bytes parsers consumed (lines, header blocks, reads, on_data) */
    uint64_t bytes_skipped;     /* bytes dropped in C by r:skip / r:skip_all (never entered Lua) */
    uint64_t bytes_dropped;     /* bytes no parser saw: after a parser ended or failed, partial tails, no protocol */
    uint64_t bytes_gap;         /* bytes reported lost by ms_lua_conn_gap */
    uint64_t conns;             /* connections opened */
    uint64_t conns_unparsed;    /* connections no protocol claimed */
    uint64_t datagrams;         /* datagrams handed to on_datagram */
    uint64_t mem_limit_hits;    /* allocations refused by the memory ceiling */
    uint64_t budget_hits;       /* calls stopped by the instruction budget */
    uint64_t mime_sniffed;      /* bodies whose type was looked for (sniff arguments) */
    uint64_t mime_typed;        /* of those, bodies given a type */
    uint64_t mime_libmagic;     /* types asked of libmagic (the rest: rules, or the cache) */
    uint64_t mime_uncollected;  /* bodies not looked at: the cap on bytes held for sniffing */
    size_t mem_used, mem_peak;  /* bytes held by the Lua allocator */
} ms_lua_stats;

void ms_lua_opts_default(ms_lua_opts *opts);

/* Creates a runtime with the prelude loaded. NULL on failure with err filled.
 * Caller frees with ms_lua_free. */
ms_lua *ms_lua_new(const ms_lua_opts *opts, ms_err *err);

/* Closes every open connection (on_close "flush"), the logs (flushes sinks) and the state. Safe on NULL. */
void ms_lua_free(ms_lua *rt);

/* Loads a bundled protocol (embedded protocols/NAME.lua). 0 or a negative code with err filled. */
int ms_lua_load_builtin(ms_lua *rt, const char *name, ms_err *err);

/* Loads a script file (text only), running it once so it can register protocols and logs. */
int ms_lua_load_file(ms_lua *rt, const char *path, ms_err *err);

/* Loads a script from memory (text only); chunkname shows in error messages. */
int ms_lua_load_string(ms_lua *rt, const char *chunkname, const char *text, size_t len, ms_err *err);

/* Loads every *.lua file (sorted by name) of each directory in a ':'-separated list
 * (MOONSHARK_PATH). Missing directories are skipped. */
int ms_lua_load_path(ms_lua *rt, const char *dirs, ms_err *err);

/* Number of registered protocols and the name of one (owned by the runtime). */
int ms_lua_protocol_count(const ms_lua *rt);
const char *ms_lua_protocol_name(const ms_lua *rt, int idx);

/* Flushes the output sinks (records emitted so far reach their files). */
void ms_lua_flush(ms_lua *rt);

/* Closes every log (writes TSV #close lines); later emits reopen nothing and count as dropped. */
int ms_lua_close_logs(ms_lua *rt);

const ms_lua_stats *ms_lua_get_stats(ms_lua *rt);

/* Writes the counters as "lua.NAME VALUE" lines. */
void ms_lua_print_stats(ms_lua *rt, FILE *fp);
/* For runtimes of several workers (--threads): sum adds s (memory figures add up too: mem_peak
 * becomes the sum of the peaks), print_counters writes a sum like ms_lua_print_stats. */
void ms_lua_stats_add(ms_lua_stats *sum, const ms_lua_stats *s);
void ms_lua_print_counters(const ms_lua_stats *s, FILE *fp);
/* Writes "log.NAME.records N" (and "log.NAME.filtered_out N" under -Y) for each log, summed over
 * n runtimes that loaded the same scripts (the workers of --threads). */
void ms_lua_print_log_counts(ms_lua *const *rts, int n, FILE *fp);

/* ---- connections ------------------------------------------------------------------------ */

/* What a connection is (uid, endpoints, udp, protocol by name): the engine's parser interface type. */
typedef ms_parser_conn_info ms_lua_conn_info;

/* Opens a connection. Returns NULL only when memory is exhausted (counted). The connection
 * belongs to the runtime until ms_lua_conn_close, which frees it. */
ms_lua_conn *ms_lua_conn_open(ms_lua *rt, const ms_lua_conn_info *info);

/* Optional: capture time of the byte at `offset` of the bytes being presented (for r:time()). */
typedef ms_parser_ts_fn ms_lua_ts_fn;

/* Presents in-order bytes of one direction. bytes are borrowed for the call. Returns how many
 * bytes (from the front) were consumed; the caller must present the rest again, first, with the
 * next data of that direction (unless it ends the direction). Every byte is either consumed by
 * the parser, skipped in C, or dropped (counted). */
size_t ms_lua_conn_data(ms_lua_conn *c, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns);
size_t ms_lua_conn_data_ts(ms_lua_conn *c, int dir, const uint8_t *bytes, size_t len,
                           uint64_t ts_ns, ms_lua_ts_fn ts_fn, void *ts_ud);

/* Convenience for tests and fuzzers: buffers what ms_lua_conn_data did not consume and presents
 * it again with the next feed of that direction. Returns 0, or MS_ENOMEM/MS_ELIMIT when the
 * internal buffer cannot grow (its bytes are then dropped and counted). */
int ms_lua_conn_feed(ms_lua_conn *c, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns);

/* Presents the last bytes of a direction and ends it (FIN/RST): readers see end of stream after
 * them; whatever is not consumed is dropped (counted). len may be 0. */
void ms_lua_conn_last(ms_lua_conn *c, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns);

/* Ends a direction fed with ms_lua_conn_feed (presents its buffered tail as the last bytes). */
void ms_lua_conn_end(ms_lua_conn *c, int dir);

/* n bytes of one direction were lost after the bytes presented so far. The unconsumed tail the
 * caller held (what the last ms_lua_conn_data did not consume) is dropped: the caller must not
 * present it again. The pending read raises {kind="gap", bytes=n}; a pending skip absorbs it. */
void ms_lua_conn_gap(ms_lua_conn *c, int dir, uint64_t n);

/* Ends both directions, calls on_close(conn, reason) and frees the connection.
 * reason: "fin", "rst", "idle", "flush", "evicted", "memory". */
void ms_lua_conn_close(ms_lua_conn *c, const char *reason);

/* One UDP datagram of direction dir (on_datagram). bytes borrowed for the call. */
void ms_lua_datagram(ms_lua_conn *c, int dir, const uint8_t *bytes, size_t len, uint64_t ts_ns);

/* Name of the protocol chosen for the connection, or NULL while none is. */
const char *ms_lua_conn_protocol(const ms_lua_conn *c);

/* True when the parser failed (script error) or ended on both directions: the caller may stop
 * presenting bytes (they would all be dropped). */
bool ms_lua_conn_done(const ms_lua_conn *c);

/* The runtime as the dispatcher's parser (dispatch/parser.h): open → ms_lua_conn_open,
 * data → ms_lua_conn_data_ts, and so on (lua/parser_ops.c). rt must outlive its users. */
ms_parser ms_lua_parser(ms_lua *rt);

/* Protocol chosen for a new connection by the port table: the server's port first, then the
 * client's. -1 when none. */
int ms_lua_protocol_for_ports(const ms_lua *rt, bool udp, uint16_t server_port, uint16_t client_port);

#endif
