/* report.c — what two commands share: the decode counters (stats, layers --stats), the assembler
 * counters and the assembler's options from the command line (streams, conn). */
#include <inttypes.h>
#include <stdio.h>

#include "cli/commands.h"

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

void ms_cmd_print_tcp_stats(FILE *f, const ms_tcp_stats *s)
{
    fprintf(f,
            "tcp: conns %llu created, %llu closed, %llu evicted; segments %llu (%llu ignored)\n"
            "tcp: bytes seen %llu = delivered %llu + overlap %llu + discarded %llu; skipped %llu in %llu gaps\n"
            "tcp: pages peak %llu (%llu allocated), page-limit skips %llu, kept bytes dropped %llu\n",
            (unsigned long long)s->conns_created, (unsigned long long)s->conns_closed,
            (unsigned long long)s->conns_evicted, (unsigned long long)s->segments,
            (unsigned long long)s->segments_ignored, (unsigned long long)s->bytes_seen,
            (unsigned long long)s->bytes_delivered, (unsigned long long)s->bytes_overlap,
            (unsigned long long)s->bytes_discarded, (unsigned long long)s->bytes_skipped,
            (unsigned long long)s->gaps, (unsigned long long)s->pages_peak, (unsigned long long)s->pages_allocated,
            (unsigned long long)s->page_limit_skips, (unsigned long long)s->keep_dropped);
}

void ms_cmd_tcp_opts(const ms_cli_opts *o, ms_tcp_opts *t)
{
    ms_tcp_opts_default(t);
    t->uid_seed = o->seed;
    if (o->max_conns)
        t->max_conns = (uint32_t)MS_MIN(o->max_conns, (uint64_t)UINT32_MAX);
    if (o->max_pages)
        t->max_pages_total = (uint32_t)MS_MIN(o->max_pages, (uint64_t)UINT32_MAX);
}
