/* commands.h — the moonshark commands, one file each (cmd_*.c), chosen by main.c, and the few
 * helpers two commands share (report.c; the Lua runner in cmd_script.c). */
#ifndef MS_COMMANDS_H
#define MS_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "decode/decode.h"
#include "dispatch/dispatch.h"
#include "lua/ms_lua.h"
#include "tcp/tcp.h"

/* Each returns the process exit status. */
int ms_cmd_layers(int argc, char **argv);
int ms_cmd_stats(int argc, char **argv);
int ms_cmd_streams(int argc, char **argv);
int ms_cmd_conn(int argc, char **argv);
int ms_cmd_http(int argc, char **argv);
int ms_cmd_script(int argc, char **argv); /* moonshark -s FILE.lua ... */

/* The runner shared by `moonshark -s FILE.lua ...` and `moonshark http ...` (cmd_script.c):
 * parses options, loads `builtin` (protocols/NAME.lua, or NULL), MOONSHARK_PATH and every -s
 * script, reads the captures through the dispatcher. Returns the process exit status. */
int ms_cmd_lua_run(int argc, char **argv, const char *builtin, const char *usage);

/* What the runner's two paths share (cmd_script.c): a runtime with `builtin`, MOONSHARK_PATH and
 * the -s scripts loaded (log_stream: optional, see ms_lua_opts); returns 0, or the exit status
 * (1 no runtime, 2 a script failed or registered nothing) with err filled. And the dispatcher's
 * options from the command line. */
int ms_cmd_lua_open(const ms_cli_opts *opts, const char *builtin,
                    FILE *(*log_stream)(void *, const char *, const ms_field_def *, int, ms_err *),
                    void *log_stream_ud, ms_lua **rt, ms_err *err);
void ms_cmd_lua_dispatch_opts(const ms_cli_opts *opts, ms_dispatch_opts *dsp);
/* --threads when not given: the cores this process may run on (at most 64). */
int ms_cmd_default_threads(void);
/* The runner with opts->threads workers (lua_threads.c): the same records, exit status and
 * --stats counters as one thread. */
int ms_cmd_lua_run_threads(const ms_cli_opts *opts, const char *builtin);

/* report.c: decode counters (stats; layers --stats too), assembler counters, and the assembler's
 * options from the command line (streams, conn). */
void ms_cmd_print_decode_stats(FILE *f, const ms_decode_stats *s, bool json);
void ms_cmd_print_tcp_stats(FILE *f, const ms_tcp_stats *s);
void ms_cmd_tcp_opts(const ms_cli_opts *o, ms_tcp_opts *t);

#endif
