/* cmd_layers.c — `moonshark layers`: the protocol stack of every frame, one line each,
 * FRAME<TAB>STACK with tshark's frame.protocols names (eth:ethertype:ip:tcp). */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"

static const char layers_usage[] =
    "usage: moonshark layers [OPTIONS] CAPTURE... [FILTER EXPRESSION]\n"
    "\n"
    "Prints FRAME<TAB>STACK for every frame: the layers moonshark decodes, named like tshark's\n"
    "frame.protocols (eth:ethertype:vlan:ethertype:ip:tcp). Decoding stops at the first layer it\n"
    "does not know (\"data\" when bytes remain); a truncated or malformed header ends the stack\n"
    "with \":_malformed\". IPv4/IPv6 fragments are reassembled: the frame that completes a datagram\n"
    "shows the layers inside it. Frame numbers restart at 1 for each capture; with several\n"
    "captures, a line \"#file<TAB>NAME\" follows the frames of each one.\n"
    "\n"
    "Options: -f EXPR or a trailing FILTER EXPRESSION (BPF filter), -w DIR (write DIR/layers.log\n"
    "instead of stdout), -l (each line at once; always so with -i), --lazy (decode on demand; same\n"
    "output), --stats (counters on stderr at the end), -n, -q, -h. Not a log: no -Y or -e.\n"
    "See 'moonshark --help' for the rest.\n";

typedef struct layers_run {
    FILE *out;
    ms_decode_ctx *ctx;
    bool mark_files;  /* several inputs: end each one with a #file line */
    char stack[2048];
} layers_run;

static void on_packet(void *ud, ms_packet *pkt)
{
    layers_run *r = ud;
    ms_packet_decode_all(pkt);
    ms_packet_stack(pkt, r->stack, sizeof(r->stack));
    fprintf(r->out, "%llu\t%s\n", (unsigned long long)pkt->frame.number, r->stack);
}

static void on_input_end(void *ud, const char *name)
{
    layers_run *r = ud;
    ms_decode_ctx_end_input(r->ctx);
    if (r->mark_files)
        fprintf(r->out, "#file\t%s\n", name);
}

int ms_cmd_layers(int argc, char **argv)
{
    ms_cli_opts opts;
    opts.command = "layers";
    int rc = ms_cli_parse(argc, argv, &opts, layers_usage);
    if (rc == 1)
        return 0;
    if (rc || ms_cli_no_view(&opts))
        return 2;
    ms_err err;
    FILE *out = ms_cli_open_output(&opts, "layers", &err); /* stdout, or -w DIR: DIR/layers.log */
    if (!out) {
        ms_cli_error("%s", err.msg);
        return 1;
    }
    ms_decode_opts dopts;
    ms_decode_opts_default(&dopts);
    dopts.eager = !opts.lazy;
    ms_decode_ctx *ctx = ms_decode_ctx_new(&dopts);
    if (!ctx) {
        ms_cli_error("out of memory creating the decoder");
        if (out != stdout)
            fclose(out);
        return 1;
    }
    static char outbuf[1 << 16];
    if (opts.line_buffered)
        setvbuf(out, NULL, _IOLBF, 0); /* -l or live: each frame's line at once */
    else
        setvbuf(out, outbuf, _IOFBF, sizeof(outbuf));
    layers_run run = { out, ctx, opts.ninputs > 1, { 0 } };
    ms_run_hooks hooks = { on_packet, NULL, on_input_end };
    rc = ms_cli_run(&opts, ctx, &hooks, &run);
    if ((out == stdout ? fflush(out) : fclose(out)) != 0 && rc == 0) {
        ms_cli_error("%s: cannot write the frame list", opts.out_dir ? opts.out_dir : "stdout");
        rc = MS_EIO;
    }
    if (opts.stats)
        ms_cmd_print_decode_stats(stderr, ms_decode_ctx_stats(ctx), false);
    ms_decode_ctx_free(ctx);
    return ms_cli_exit_code(rc);
}
