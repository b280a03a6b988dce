/* cmd_stream.c — `moonshark -s FILE.lua --stream CLIENT.bin [SERVER.bin]`: raw byte files fed as
 * one connection, for trying a parser without a capture. The runner of cmd_script.c loads the
 * parsers and the output as usual; this replays the files as captured (record.h, replay.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/replay.h"
#include "cli/stream.h"

int ms_cmd_stream_run(ms_lua *rt, const ms_cli_opts *opts, const ms_xopt *stream_opts)
{
    ms_stream_opts so;
    memset(&so, 0, sizeof so);
    if (ms_stream_opts_from(stream_opts, &so)) {
        ms_lua_free(rt);
        return 2;
    }
    if (opts->ninputs < 1 || opts->ninputs > 2) {
        ms_cli_error("--stream takes one or two byte files: CLIENT.bin [SERVER.bin] (an empty file for none)");
        ms_lua_free(rt);
        return 2;
    }
    so.client_path = opts->inputs[0];
    so.server_path = opts->ninputs > 1 ? opts->inputs[1] : NULL;
    so.seed = opts->seed;
    ms_err err;
    err.msg[0] = '\0';
    ms_rec_conn *rc = ms_stream_record(&so, rt, &err);
    if (!rc) {
        ms_cli_error("%s", err.msg);
        ms_lua_free(rt);
        return 2;
    }
    ms_replay_opts ro = { opts->seed, 0 };
    ms_replay_result res;
    int run = ms_replay_run(rt, NULL, rc, 0, &ro, NULL, &res);
    unsigned cport = rc->info.client.port, sport = rc->info.server.port;
    ms_rec_conn_free(rc);
    int out_rc = ms_lua_close_logs(rt);
    fflush(stdout);
    const ms_lua_stats *ls = ms_lua_get_stats(rt);
    if (opts->stats)
        ms_lua_print_stats(rt, stderr);
    else if (ls->script_errors && !opts->quiet)
        fprintf(stderr, "moonshark: %llu script error(s); see the lines above (--stats for counters)\n",
                (unsigned long long)ls->script_errors);
    if (!res.protocol[0] && !opts->quiet)
        fprintf(stderr, "moonshark: no protocol claimed the stream (ports %u > %u): set --stream-ports "
                "CLIENT:SERVER to a port the parser registers, or give it a detect()\n", cport, sport);
    ms_lua_free(rt);
    if (run) {
        ms_cli_error("out of memory replaying the stream");
        return 1;
    }
    if (out_rc) {
        ms_cli_error("writing the records failed");
        return 1;
    }
    return 0;
}
