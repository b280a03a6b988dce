/* commands.h — the moonshark commands, one file each (cmd_*.c), chosen by main.c, and the few
 * helpers two commands share (report.c; the Lua runner in cmd_script.c). */
#ifndef MS_COMMANDS_H
#define MS_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "decode/decode.h"
#include "dispatch/dispatch.h"
#include "dispatch/parser.h"
#include "cli/xopts.h"
#include "lua/ms_lua.h"
#include "tcp/tcp.h"

/* Each returns the process exit status. */
int ms_cmd_layers(int argc, char **argv);
int ms_cmd_stats(int argc, char **argv);
int ms_cmd_streams(int argc, char **argv);
int ms_cmd_conn(int argc, char **argv);
int ms_cmd_http(int argc, char **argv);
int ms_cmd_dns(int argc, char **argv);
int ms_cmd_tls(int argc, char **argv);
int ms_cmd_all(int argc, char **argv);   /* every bundled log in one pass (-w DIR) */
int ms_cmd_script(int argc, char **argv); /* moonshark -s FILE.lua ... */
int ms_cmd_check(int argc, char **argv);  /* moonshark check -s FILE.lua CAPTURE... */
int ms_cmd_test(int argc, char **argv);   /* moonshark test FILE.lua CASES... */

/* The runner shared by `moonshark -s FILE.lua ...` and `moonshark http ...` (cmd_script.c):
 * parses options, loads `builtin` (protocols/NAME.lua, or NULL), MOONSHARK_PATH and every -s
 * script, reads the captures through the dispatcher. Returns the process exit status. */
int ms_cmd_lua_run(int argc, char **argv, const char *builtin, const char *usage);

/* The same with several bundled protocols (a NULL-terminated list, or NULL for none), all fed from
 * one reassembly; need_out_dir makes -w DIR required (several logs cannot share stdout). */
int ms_cmd_lua_run_builtins(int argc, char **argv, const char *const *builtins, bool need_out_dir,
                            const char *usage);

/* The options and exit-status parts of the manual of a command that writes a bundled log
 * (cmd_http.c, cmd_dns.c, cmd_tls.c); LOG is the log's name (its file is DIR/LOG.log). */
#define MS_LOG_COMMAND_OPTIONS(LOG)                                                                  \
    "Output:\n"                                                                                      \
    "  --json          JSON lines (Zeek's JSON log types: ts as epoch seconds, unset fields left out)\n" \
    "  --tsv           Zeek-style TSV: #fields, #types, #open, rows, #close (the default when piped)\n" \
    "  --table         aligned columns (the default on a terminal): dates in timestamps; a narrow\n"  \
    "                  terminal keeps the log's main columns first, cuts long values with an\n"    \
    "                  ellipsis and hides the other columns (--tsv, or -e, shows them)\n"           \
    "  -w DIR          write DIR/" LOG ".log (TSV, or JSON lines with --json) instead of stdout\n"   \
    "  -l              each record written at once (always so with -i)\n"                          \
    "  -e FIELD        only these fields, in this order (repeatable, or -e FIELD,FIELD)\n"          \
    "  -Y EXPR         only the records EXPR accepts (the language: 'moonshark http --help')\n"     \
    "Input: CAPTURE files (pcap, pcapng, .gz; several allowed, '-' for stdin), -r FILE,\n"         \
    "  -i IFACE, -f EXPR or a trailing FILTER EXPRESSION (BPF, files and live alike), -c N (stop\n" \
    "  after N packets), --snaplen N, --no-promisc, -n (no effect: nothing is resolved),\n"        \
    "  -Z USER / --no-drop-privileges (see 'moonshark --help').\n"                                 \
    "Parsers: -s FILE.lua (more parsers, repeatable; $MOONSHARK_PATH dirs too), --lua-mem MB,\n"     \
    "  --unsafe-lua. Limits: --gap-timeout S (30), --idle-timeout S (300), --max-conns N,\n"         \
    "  --max-pages N. Reporting: --stats (decode errors, gaps, drops, script errors, records per\n"  \
    "  log on stderr), --seed N, --progress / --no-progress, -q, -h.\n"
#define MS_LOG_COMMAND_EXIT                                                                          \
    "Exit status: 0 success, 1 an input failed (truncated or unreadable), 2 usage error or not a\n"  \
    "capture.\n"

/* cmd_check.c: reads the captures of opts through the dispatcher into parser (any
 * implementation: the recorder, a runtime); returns 0 or the read loop's error code. */
int ms_cmd_dispatch_run(const ms_cli_opts *opts, ms_parser parser);
/* cmd_check.c: --segmentations LIST ("whole,bytes" or "all") as a mask of 1u << MS_SEG_*; -1
 * after printing an error. */
int ms_check_segs_parse(const char *list, unsigned *mask);
/* cmd_stream.c: `moonshark -s FILE.lua --stream CLIENT.bin [SERVER.bin]`: the byte files as one
 * connection into rt (loaded), records where rt writes them; frees rt; returns the exit status.
 * stream_opts are the taken --stream options (stream.h). */
int ms_cmd_stream_run(ms_lua *rt, const ms_cli_opts *opts, const ms_xopt *stream_opts);
/* What the runner's two paths share (cmd_script.c): a runtime with `builtins`, MOONSHARK_PATH and
 * the -s scripts loaded (log_stream: optional, see ms_lua_opts); returns 0, or the exit status
 * (1 no runtime, 2 a script failed or registered nothing) with err filled. And the dispatcher's
 * options from the command line. */
int ms_cmd_lua_open(const ms_cli_opts *opts, const char *const *builtins,
                    FILE *(*log_stream)(void *, const char *, const ms_field_def *, int, ms_err *),
                    void *log_stream_ud, ms_lua **rt, ms_err *err);
void ms_cmd_lua_dispatch_opts(const ms_cli_opts *opts, ms_dispatch_opts *dsp);
/* --threads when not given: the cores this process may run on (at most 64). */
int ms_cmd_default_threads(void);
/* The runner with opts->threads workers (lua_threads.c): the same records, exit status and
 * --stats counters as one thread. */
int ms_cmd_lua_run_threads(const ms_cli_opts *opts, const char *const *builtins);

/* report.c: decode counters (stats; layers --stats too), assembler counters, and the assembler's
 * options from the command line (streams, conn). */
void ms_cmd_print_decode_stats(FILE *f, const ms_decode_stats *s, bool json);
void ms_cmd_print_tcp_stats(FILE *f, const ms_tcp_stats *s);
void ms_cmd_tcp_opts(const ms_cli_opts *o, ms_tcp_opts *t);

#endif
