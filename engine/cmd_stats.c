/* cmd_stats.c — `moonshark stats`: frames, bytes, layers by type, decode errors, link types
 * without a decoder and IP fragment counters, as text or one JSON object (--json). */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

static const char stats_usage[] =
    "usage: moonshark stats [OPTIONS] CAPTURE...\n"
    "\n"
    "Decodes every frame and prints totals: frames, captured bytes, how many layers of each type\n"
    "were decoded (tshark names), decode errors (truncated, malformed, too deep), frames of a link\n"
    "type with no decoder, and IP fragments seen / datagrams reassembled / fragments dropped at a\n"
    "limit / partial datagrams expired. --json prints one JSON object instead of text.\n"
    "\n"
    "Options: -f EXPR (BPF filter), --json, -q, -h. See 'moonshark --help' for the rest.\n";

static const char *const error_names[] = { "none", "truncated", "malformed", "too_deep" };

/* Key of a layer type in the output: tshark's name, except where two types share one. */
static const char *layer_key(int t)
{
    switch (t) {
    case MS_LAYER_SLL2:
        return "sll2";
    case MS_LAYER_LOOP:
        return "loop_dlt";
    case MS_LAYER_PAYLOAD:
        return "payload";
    default:
        return ms_layer_name((ms_layer_type)t);
    }
}

void ms_cmd_print_decode_stats(FILE *f, const ms_decode_stats *s, bool json)
{
    if (json) {
        fprintf(f, "{\"frames\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"layers\":{", s->frames, s->bytes);
        bool first = true;
        for (int t = 1; t < MS_LAYER_COUNT; t++) {
            if (!s->layers[t])
                continue;
            fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", layer_key(t), s->layers[t]);
            first = false;
        }
        fprintf(f, "},\"errors\":{");
        for (unsigned e = 1; e < MS_ARRAY_LEN(error_names); e++)
            fprintf(f, "%s\"%s\":%" PRIu64, e > 1 ? "," : "", error_names[e], s->errors[e]);
        fprintf(f, "},\"unknown_linktype\":%" PRIu64 ",\"fragments\":{\"seen\":%" PRIu64
                   ",\"reassembled\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"expired\":%" PRIu64 "}}\n",
                s->unknown_linktype, s->frag_fragments, s->frag_reassembled, s->frag_dropped, s->frag_expired);
        return;
    }
    fprintf(f, "frames\t%" PRIu64 "\nbytes\t%" PRIu64 "\n", s->frames, s->bytes);
    for (int t = 1; t < MS_LAYER_COUNT; t++)
        if (s->layers[t])
            fprintf(f, "layer.%s\t%" PRIu64 "\n", layer_key(t), s->layers[t]);
    for (unsigned e = 1; e < MS_ARRAY_LEN(error_names); e++)
        fprintf(f, "error.%s\t%" PRIu64 "\n", error_names[e], s->errors[e]);
    fprintf(f, "unknown_linktype\t%" PRIu64 "\n", s->unknown_linktype);
    fprintf(f, "fragments.seen\t%" PRIu64 "\nfragments.reassembled\t%" PRIu64 "\nfragments.dropped\t%" PRIu64
               "\nfragments.expired\t%" PRIu64 "\n",
            s->frag_fragments, s->frag_reassembled, s->frag_dropped, s->frag_expired);
}

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
    if (rc)
        return 2;
    ms_decode_opts dopts;
    ms_decode_opts_default(&dopts);
    ms_decode_ctx *ctx = ms_decode_ctx_new(&dopts);
    if (!ctx) {
        ms_cli_error("out of memory creating the decoder");
        return 1;
    }
    ms_run_hooks hooks = { on_packet, NULL, on_input_end };
    rc = ms_cli_run(&opts, ctx, &hooks, ctx);
    ms_cmd_print_decode_stats(stdout, ms_decode_ctx_stats(ctx), opts.format == MS_FMT_JSON);
    ms_decode_ctx_free(ctx);
    return ms_cli_exit_code(rc);
}
