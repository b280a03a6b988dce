/* dispatch.h — glue from decoded packets to the Lua parsers. TCP segments go through the TCP
 * assembler (engine/tcp.h) whose in-order bytes feed ms_lua_conn_data (unconsumed bytes are kept
 * by the assembler with keep_from and presented again); UDP datagrams go through a small bounded
 * flow table (uid per flow, idle timeout, oldest evicted at the limit) to on_datagram.
 * The protocol of each connection is chosen by the runtime: port table, then detect().
 * Owns the assembler and the UDP table; never owns the Lua runtime. */
#ifndef MS_DISPATCH_H
#define MS_DISPATCH_H

#include <stdint.h>
#include <stdio.h>

#include "ms_lua.h"
#include "packet.h"
#include "tcp.h"

typedef struct ms_dispatch ms_dispatch;

typedef struct ms_dispatch_opts {
    ms_tcp_opts tcp;              /* assembler limits (ms_tcp_opts_default) */
    uint32_t max_udp_flows;       /* default 65536; the least recently seen flow is closed first */
    uint64_t gap_timeout_ns;      /* give up waiting on a TCP hole after this much capture time (30 s) */
    uint64_t idle_timeout_ns;     /* close TCP connections idle this long (300 s) */
    uint64_t udp_idle_timeout_ns; /* close UDP flows idle this long (60 s) */
} ms_dispatch_opts;

typedef struct ms_dispatch_stats {
    uint64_t tcp_packets;         /* packets handed to the assembler */
    uint64_t udp_packets;         /* datagrams handed to the UDP table */
    uint64_t other_packets;       /* neither TCP nor UDP (or not decodable that far) */
    uint64_t udp_flows;           /* UDP flows opened */
    uint64_t udp_flows_evicted;   /* closed because the table was full */
    uint64_t udp_flows_idle;      /* closed by the idle timeout */
    uint64_t keep_truncated;      /* bytes the assembler could not keep for a parser (seen as a gap) */
    uint64_t lua_conn_failures;   /* connections the runtime could not open */
} ms_dispatch_stats;

void ms_dispatch_opts_default(ms_dispatch_opts *opts);

/* NULL on failure with err filled. Caller frees with ms_dispatch_free (after ms_dispatch_finish). */
ms_dispatch *ms_dispatch_new(ms_lua *rt, const ms_dispatch_opts *opts, ms_err *err);

/* One decoded packet (lazy or eager: decodes up to the transport layer as needed). */
void ms_dispatch_packet(ms_dispatch *d, ms_packet *pkt);

/* Capture time advanced: flush TCP gaps older than gap_timeout, close idle TCP and UDP flows. */
void ms_dispatch_tick(ms_dispatch *d, uint64_t now_ns);

/* End of input: delivers everything queued and closes every connection and flow. */
void ms_dispatch_finish(ms_dispatch *d);

void ms_dispatch_free(ms_dispatch *d);

const ms_dispatch_stats *ms_dispatch_get_stats(const ms_dispatch *d);
const ms_tcp_stats *ms_dispatch_tcp_stats(const ms_dispatch *d);

/* Writes the TCP, UDP and Lua counters as "NAME VALUE" lines. */
void ms_dispatch_print_stats(const ms_dispatch *d, FILE *fp);

/* The runner shared by `moonshark -s FILE.lua ...` and `moonshark http ...` (engine/cmd_script.c):
 * parses options, loads `builtin` (protocols/NAME.lua, or NULL), MOONSHARK_PATH and every -s
 * script, reads the captures through the dispatcher. Returns the process exit status. */
int ms_cmd_lua_run(int argc, char **argv, const char *builtin, const char *usage);

/* The options and exit-status parts of the manual of a command that writes a bundled log
 * (cmd_http.c, cmd_dns.c, cmd_tls.c); LOG is the log's name (its file is DIR/LOG.log). */
#define MS_LOG_COMMAND_OPTIONS(LOG)                                                                  \
    "Output:\n"                                                                                      \
    "  --json          JSON lines (Zeek's JSON log types: ts as epoch seconds, unset fields left out)\n" \
    "  --tsv           Zeek-style TSV with a #fields header (the default when stdout is not a tty)\n" \
    "  --table         aligned columns (the default on a terminal)\n"                               \
    "  -w DIR          write DIR/" LOG ".log (TSV, or JSON lines with --json) instead of stdout\n"   \
    "Input: CAPTURE files (pcap or pcapng, several allowed, '-' for stdin), -r FILE, -i IFACE,\n"    \
    "  -f EXPR (BPF filter, files and live alike), --snaplen N, --no-promisc.\n"                     \
    "Parsers: -s FILE.lua (more parsers, repeatable; $MOONSHARK_PATH dirs too), --lua-mem MB,\n"     \
    "  --unsafe-lua. Limits: --gap-timeout S (30), --idle-timeout S (300), --max-conns N,\n"         \
    "  --max-pages N. Reporting: --stats (decode errors, gaps, drops, script errors on stderr),\n"   \
    "  --progress / --no-progress, -q, -h.\n"
#define MS_LOG_COMMAND_EXIT                                                                          \
    "Exit status: 0 success, 1 an input failed (truncated or unreadable), 2 usage error or not a\n"  \
    "capture.\n"

/* The same with several bundled protocols (a NULL-terminated list, or NULL for none), all fed from
 * one reassembly; need_out_dir makes -w DIR required (several logs cannot share stdout). */
int ms_cmd_lua_run_builtins(int argc, char **argv, const char *const *builtins, bool need_out_dir,
                            const char *usage);

#endif
