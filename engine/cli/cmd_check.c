/* cmd_check.c — `moonshark check -s PARSER.lua CAPTURE...`: segmentation invariance. One pass
 * records every connection as captured (record.h); as each closes, it is replayed at every
 * segmentation into runtimes of its own and the records are compared (check.h). Also holds the
 * read loop over captures with any parser, which `moonshark test` shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/check.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/record.h"
#include "cli/replay.h"
#include "cli/stream.h"
#include "cli/xopts.h"
#include "dispatch/dispatch.h"

static const char check_usage[] =
    "usage: moonshark check -s PARSER.lua [-s MORE.lua] [OPTIONS] CAPTURE...\n"
    "       moonshark check -s PARSER.lua --stream CLIENT.bin [SERVER.bin] [OPTIONS]\n"
    "\n"
    "Checks that a parser's records do not depend on how the bytes were cut into packets. Every\n"
    "TCP connection the parser claims is recorded as captured (bytes, the boundaries at which they\n"
    "came, gaps, ends and the capture time of each byte), then replayed into fresh Lua states at\n"
    "several segmentations, and the records are compared with those of the replay as captured:\n"
    "  captured      the calls as the dispatcher made them (the reference)\n"
    "  whole         each direction in one call, the client's before the server's\n"
    "  bytes         one byte per call (the first --byte-limit bytes of each direction)\n"
    "  crlf          cut between every CR and LF and after every LF\n"
    "  random        random sizes from 1 to 4096 bytes (seeded: --seed)\n"
    "  random-lag    random sizes, the server's calls held back behind up to 8 more client calls\n"
    "  server-late   the calls as captured, every client call before any server call\n"
    "  server-early  (not by default) random sizes, the server's bytes as early as they came\n"
    "Chunks are placed in the capture order so that no server byte comes before a client byte\n"
    "captured before it (server-early reverses that, for protocols where the server speaks first).\n"
    "Gaps stay where they were, and r:time() gives each byte its capture time in every replay.\n"
    "\n"
    "Two records are the same when every column is equal except time and interval columns\n"
    "(moonshark.now() is the time of the last byte presented, which the segmentation moves;\n"
    "--strict-time compares them too), set items in any order. A connection's records are the\n"
    "same when each log holds the same records, in any order.\n"
    "\n"
    "Also reported: a parser that raises, and one that stalls (its unconsumed bytes presented 8\n"
    "times or more without progress up to the end of the direction, or more unconsumed bytes than\n"
    "the engine keeps, 106400). UDP flows are replayed as captured only, once: raises are\n"
    "reported, but shuffling the order of datagrams is out of scope.\n"
    "\n"
    "The first finding is printed (the connection's uid, the segmentation, the record and the\n"
    "byte offset it came out at) and the exit status is 1; otherwise one summary line, status 0.\n"
    "\n"
    "Options:\n"
    "  --segmentations LIST  comma-separated names from the list above, or 'all' (default: all but\n"
    "                        server-early); captured always runs\n"
    "  --seed N              seed of the random segmentations and of the uids (printed in the summary)\n"
    "  --strict-time         compare time and interval columns too\n"
    "  --byte-limit N        bytes of each direction given one at a time by 'bytes' (65536)\n"
    "  --stall-calls N       presentations without progress that make a stall (8)\n"
    "  --max-record MB       bytes of open connections held for replay (1024); larger ones are skipped\n"
    "  -v                    print every connection with a finding, not only the first\n"
    "  --stream ...          check raw byte files as one connection (see 'moonshark -s --help')\n"
    "  Also: -f EXPR, --unsafe-lua, --lua-mem MB, --gap-timeout S, --idle-timeout S, --max-conns N,\n"
    "  --max-pages N, -q.\n"
    "\n"
    "Exit status: 0 every segmentation agrees, 1 a finding or an input failed, 2 usage error.\n";

/* ---- the read loop with any parser (check, test) ---------------------------------------- */

typedef struct loop {
    ms_dispatch *d;
} loop;

static void loop_packet(void *ud, ms_packet *pkt)
{
    ms_dispatch_packet(((loop *)ud)->d, pkt);
}

static void loop_tick(void *ud, uint64_t now_ns)
{
    ms_dispatch_tick(((loop *)ud)->d, now_ns);
}

int ms_cmd_dispatch_run(const ms_cli_opts *opts, ms_parser parser)
{
    ms_decode_opts dopts;
    ms_decode_opts_default(&dopts);
    dopts.eager = false;
    ms_decode_ctx *ctx = ms_decode_ctx_new(&dopts);
    ms_dispatch_opts dsp;
    ms_dispatch_opts_default(&dsp);
    ms_cmd_tcp_opts(opts, &dsp.tcp);
    if (opts->gap_timeout_ns)
        dsp.gap_timeout_ns = opts->gap_timeout_ns;
    if (opts->idle_timeout_ns)
        dsp.idle_timeout_ns = opts->idle_timeout_ns;
    ms_err err;
    err.msg[0] = '\0';
    ms_dispatch *d = ctx ? ms_dispatch_new(&parser, &dsp, &err) : NULL;
    if (!d) {
        ms_cli_error("%s", ctx ? err.msg : "out of memory creating the decoder");
        ms_decode_ctx_free(ctx);
        return MS_ENOMEM;
    }
    loop l = { d };
    ms_run_hooks hooks = { loop_packet, loop_tick, NULL };
    int rc = ms_cli_run(opts, ctx, &hooks, &l);
    ms_dispatch_finish(d);
    ms_dispatch_free(d);
    ms_decode_ctx_free(ctx);
    return rc;
}

/* ---- the command -------------------------------------------------------------------------- */

static void on_conn(void *ud, const ms_rec_conn *rc)
{
    ms_check *ck = ud;
    if (ms_check_conn(ck, rc) < 0)
        ms_cli_error("out of memory replaying connection %s (its check is incomplete)", rc->uid);
}

/* "redis.lua", or "a.lua + 2 more" */
static void parser_name(const ms_cli_opts *opts, char *buf, size_t size)
{
    const char *first = opts->nscripts ? opts->scripts[0] : "parser";
    const char *slash = strrchr(first, '/');
    if (opts->nscripts > 1)
        snprintf(buf, size, "%s + %d more", slash ? slash + 1 : first, opts->nscripts - 1);
    else
        snprintf(buf, size, "%s", slash ? slash + 1 : first);
}

int ms_check_segs_parse(const char *list, unsigned *mask)
{
    if (strcmp(list, "all") == 0) {
        *mask = (1u << MS_SEG_COUNT) - 1;
        return 0;
    }
    *mask = 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        int s = ms_seg_by_name(p, n);
        if (s < 0) {
            ms_cli_error("--segmentations: unknown segmentation '%.*s' (captured, whole, bytes, crlf, random, "
                         "random-lag, server-late, server-early, all)", (int)n, p);
            return -1;
        }
        *mask |= 1u << s;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

enum { X_SEGS, X_STRICT, X_BYTES, X_STALL, X_RECORD, X_VERBOSE, X_NCHECK };

int ms_cmd_check(int argc, char **argv)
{
    ms_xopt xs[X_NCHECK + MS_STREAM_NXOPTS] = {
        [X_SEGS] = { "segmentations", true, NULL, 0 },
        [X_STRICT] = { "strict-time", false, NULL, 0 },
        [X_BYTES] = { "byte-limit", true, NULL, 0 },
        [X_STALL] = { "stall-calls", true, NULL, 0 },
        [X_RECORD] = { "max-record", true, NULL, 0 },
        [X_VERBOSE] = { "v", false, NULL, 0 },
    };
    ms_stream_xopts(xs + X_NCHECK);
    argc = ms_xopts_take(argc, argv, xs, (int)MS_ARRAY_LEN(xs));
    if (argc < 0)
        return 2;
    ms_cli_opts opts;
    int rc = ms_cli_parse(argc, argv, &opts, check_usage);
    if (rc == 1)
        return 0;
    if (rc)
        return 2;
    if (opts.nscripts == 0) {
        ms_cli_error("no parser given: use -s FILE.lua (see 'moonshark check --help')");
        return 2;
    }
    ms_check_opts co;
    ms_check_opts_default(&co);
    unsigned long long v;
    if (xs[X_SEGS].value && ms_check_segs_parse(xs[X_SEGS].value, &co.segs))
        return 2;
    if (xs[X_BYTES].value) {
        if (ms_xopts_count(&xs[X_BYTES], 1ull << 40, &v))
            return 2;
        co.byte_limit = v;
    }
    if (xs[X_STALL].value) {
        if (ms_xopts_count(&xs[X_STALL], 1ull << 40, &v))
            return 2;
        co.stall_calls = v ? v : 1;
    }
    uint64_t max_record = 1ull << 30;
    if (xs[X_RECORD].value) {
        if (ms_xopts_count(&xs[X_RECORD], 1u << 20, &v))
            return 2;
        max_record = v << 20;
    }
    co.strict_time = xs[X_STRICT].seen > 0;
    co.max_reports = xs[X_VERBOSE].seen ? -1 : 1;
    co.seed = opts.seed;
    co.rt.scripts = opts.scripts;
    co.rt.nscripts = opts.nscripts;
    co.rt.sandbox = !opts.unsafe_lua;
    co.rt.mem_limit = (size_t)opts.lua_mem_mb << 20;
    char name[128];
    parser_name(&opts, name, sizeof name);
    co.name = name;
    ms_stream_opts so;
    memset(&so, 0, sizeof so);
    bool stream = xs[X_NCHECK].seen > 0;
    if (stream) {
        if (ms_stream_opts_from(xs + X_NCHECK, &so))
            return 2;
        if (opts.ninputs < 1 || opts.ninputs > 2) {
            ms_cli_error("--stream takes one or two byte files: CLIENT.bin [SERVER.bin]");
            return 2;
        }
        so.client_path = opts.inputs[0];
        so.server_path = opts.ninputs > 1 ? opts.inputs[1] : NULL;
        so.seed = opts.seed;
    }

    ms_err err;
    err.msg[0] = '\0';
    ms_check *ck = ms_check_new(&co, &err);
    if (!ck) {
        ms_cli_error("%s", err.msg);
        return 2;
    }
    if (stream) {
        ms_rec_conn *conn = ms_stream_record(&so, ms_check_lua(ck), &err);
        if (!conn) {
            ms_cli_error("%s", err.msg);
            ms_check_free(ck);
            return 2;
        }
        on_conn(ck, conn);
        ms_rec_conn_free(conn);
        rc = 0;
    } else {
        ms_recorder *rec = ms_recorder_new(max_record, on_conn, ck);
        if (!rec) {
            ms_cli_error("out of memory");
            ms_check_free(ck);
            return 1;
        }
        ms_recorder_claims(rec, ms_lua_parser(ms_check_lua(ck)));
        rc = ms_cmd_dispatch_run(&opts, ms_recorder_parser(rec));
        ms_recorder_free(rec);
    }
    char line[512];
    ms_check_summary(ck, line, sizeof line);
    printf("moonshark check: %s: %s\n", name, line);
    if (!ms_check_ok(ck))
        printf("moonshark check: replay it with --seed %llu%s\n", (unsigned long long)opts.seed,
               co.max_reports >= 0 ? "; -v prints every connection with a finding" : "");
    bool ok = ms_check_ok(ck);
    ms_check_free(ck);
    fflush(stdout);
    if (rc)
        return ms_cli_exit_code(rc);
    return ok ? 0 : 1;
}
