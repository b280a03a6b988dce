/* commands.h — the moonshark commands, one file each (cmd_*.c), chosen by main.c, and the few
 * helpers two commands share (report.c; the Lua runner in cmd_script.c). */
#ifndef MS_COMMANDS_H
#define MS_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"
#include "decode/decode.h"
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

/* report.c: decode counters (stats; layers --stats too), assembler counters, and the assembler's
 * options from the command line (streams, conn). */
void ms_cmd_print_decode_stats(FILE *f, const ms_decode_stats *s, bool json);
void ms_cmd_print_tcp_stats(FILE *f, const ms_tcp_stats *s);
void ms_cmd_tcp_opts(const ms_cli_opts *o, ms_tcp_opts *t);

#endif
