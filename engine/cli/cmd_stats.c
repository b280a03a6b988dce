/* cmd_stats.c — `moonshark stats`: frames, bytes, layers by type, decode errors, link types
 * without a decoder and IP fragment counters, as text or one JSON object (--json). */
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"

static const char stats_usage[] =
    "usage: moonshark stats [OPTIONS] CAPTURE... [FILTER EXPRESSION]\n"
    "\n"
    "Decodes every frame and prints totals: frames, captured bytes, how many layers of each type\n"
    "were decoded (tshark names), decode errors (truncated, malformed, too deep), frames of a link\n"
    "type with no decoder, and IP fragments seen / datagrams reassembled / fragments dropped at a\n"
    "limit / partial datagrams expired. --json prints one JSON object instead of text.\n"
    "\n"
    "Options: -f EXPR or a trailing FILTER EXPRESSION (BPF filter), --json, -w DIR (write\n"
    "DIR/stats.log instead of stdout), -n, -q, -h. Not a log: no -Y or -e. See 'moonshark --help'\n"
    "for the rest.\n";

static void on_packet(void *ud, ms_packet *pkt)
{
    (void)ud;
    ms_packet_decode_all(pkt);
}

static void on_input_end(void *ud, const char *name)
{
    (void)name;
    ms_decode_ctx_end_input(ud);
}

int ms_cmd_stats(int argc, char **argv)
{
    ms_cli_opts opts;
    opts.command = "stats";
    int rc = ms_cli_parse(argc, argv, &opts, stats_usage);
    if (rc == 1)
        return 0;
    if (rc || ms_cli_no_view(&opts))
        return 2;
    ms_err err;
    FILE *out = ms_cli_open_output(&opts, "stats", &err); /* stdout, or -w DIR: DIR/stats.log */
    if (!out) {
        ms_cli_error("%s", err.msg);
        return 1;
    }
    ms_decode_opts dopts;
    ms_decode_opts_default(&dopts);
    ms_decode_ctx *ctx = ms_decode_ctx_new(&dopts);
    if (!ctx) {
        ms_cli_error("out of memory creating the decoder");
        if (out != stdout)
            fclose(out);
        return 1;
    }
    ms_run_hooks hooks = { on_packet, NULL, on_input_end };
    rc = ms_cli_run(&opts, ctx, &hooks, ctx);
    ms_cmd_print_decode_stats(out, ms_decode_ctx_stats(ctx), opts.format == MS_FMT_JSON);
    if ((out == stdout ? fflush(out) : fclose(out)) != 0 && rc == 0) {
        ms_cli_error("%s: cannot write the totals", opts.out_dir ? opts.out_dir : "stdout");
        rc = MS_EIO;
    }
    ms_decode_ctx_free(ctx);
    return ms_cli_exit_code(rc);
}
