/* cmd_script.c — `moonshark -s FILE.lua [-s FILE2.lua] [OPTIONS] CAPTURE...`: runs user parsers over
 * captures (records to stdout: table on a terminal, TSV when piped, --json, -w DIR for DIR/LOG.log).
 * Holds the runner the bundled-log commands share (http, dns, tls, all): runtime + dispatcher +
 * the CLI read loop, on one thread or handed to the workers of lua_threads.c. */
#define _GNU_SOURCE /* sched_getaffinity */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/stream.h"
#include "dispatch/dispatch.h"
#include "lua/ms_lua.h"

static const char script_usage[] =
    "usage: moonshark -s FILE.lua [-s FILE2.lua ...] [OPTIONS] CAPTURE... [FILTER EXPRESSION]\n"
    "\n"
    "Runs your Lua parsers over the captures. A parser registers a protocol with\n"
    "moonshark.protocol{name=, tcp_ports=, udp_ports=, detect=} and emits records with\n"
    "moonshark.emit(LOG, record); see docs/lua-api.md. Every *.lua file in the directories of\n"
    "MOONSHARK_PATH (':'-separated) is loaded too.\n"
    "\n"
    "Options: --json | --tsv | --table (default: table on a terminal, TSV otherwise),\n"
    "  -w DIR (one file per log: DIR/LOG.log), -f EXPR or a trailing FILTER EXPRESSION (BPF),\n"
    "  -i IFACE (live), -l (each record at once), -Y EXPR and -e FIELD (filter the records and\n"
    "  choose the fields of every log: see 'moonshark http --help'), --stats (counters and\n"
    "  records per log on stderr), --unsafe-lua (lift the sandbox: os, io writes, C modules),\n"
    "  --lua-mem MB (Lua memory ceiling, default 256), --gap-timeout S, --idle-timeout S,\n"
    "  --max-conns N, --max-pages N, --seed N, --threads N (workers, each with its own Lua state;\n"
    "  default: the cores available, 1 = one thread: see docs/lua-api.md, Several threads), -n,\n"
    "  -q, -h.\n"
    "\n"
    "Without a capture: --stream CLIENT.bin [SERVER.bin] feeds two raw byte files as one TCP\n"
    "connection (the client's bytes, then the server's, then both ends). --stream-ports\n"
    "[CLIENT:]SERVER (default 40000 and the first port a loaded protocol registers),\n"
    "--stream-addrs CLIENT,SERVER (10.0.0.1,10.0.0.2), --stream-udp (one datagram per file),\n"
    "--stream-time SECONDS (capture time of the bytes, default 0).\n";

typedef struct lua_run {
    ms_dispatch *d;
} lua_run;

static void on_packet(void *ud, ms_packet *pkt)
{
    lua_run *r = ud;
    ms_dispatch_frame(r->d, pkt);
}

static void on_tick(void *ud, uint64_t now_ns)
{
    lua_run *r = ud;
    ms_dispatch_tick(r->d, now_ns);
}

int ms_cmd_default_threads(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        return n < 1 ? 1 : n > 64 ? 64 : n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

int ms_cmd_lua_open(const ms_cli_opts *opts, const char *const *builtins,
                    FILE *(*log_stream)(void *, const char *, const ms_field_def *, int, ms_err *),
                    void *log_stream_ud, ms_lua **out, ms_err *err)
{
    ms_lua_opts lopts;
    ms_lua_opts_default(&lopts);
    lopts.sandbox = !opts->unsafe_lua;
    if (opts->lua_mem_mb)
        lopts.mem_limit = (size_t)opts->lua_mem_mb << 20;
    lopts.format = opts->format;
    lopts.out = stdout;
    lopts.out_dir = opts->out_dir;
    lopts.live = opts->line_buffered;
    lopts.filter = opts->display_filter;
    lopts.select = opts->select;
    lopts.nselect = opts->nselect;
    lopts.log_stream = log_stream;
    lopts.log_stream_ud = log_stream_ud;
    *out = NULL;
    ms_lua *rt = ms_lua_new(&lopts, err);
    if (!rt)
        return 1;
    int rc = 0;
    for (int i = 0; builtins && builtins[i] && rc == 0; i++)
        rc = ms_lua_load_builtin(rt, builtins[i], err);
    if (rc == 0)
        rc = ms_lua_load_path(rt, getenv("MOONSHARK_PATH"), err);
    for (int i = 0; rc == 0 && i < opts->nscripts; i++)
        rc = ms_lua_load_file(rt, opts->scripts[i], err);
    if (rc) {
        ms_lua_free(rt);
        return 2;
    }
    if (ms_lua_protocol_count(rt) == 0) {
        ms_fail(err, MS_EINVAL, "the scripts registered no protocol: call moonshark.protocol{name=..., tcp_ports={...}}");
        ms_lua_free(rt);
        return 2;
    }
    *out = rt;
    return 0;
}

void ms_cmd_lua_dispatch_opts(const ms_cli_opts *opts, ms_dispatch_opts *dsp)
{
    ms_dispatch_opts_default(dsp);
    dsp->tcp.uid_seed = opts->seed;
    if (opts->max_conns)
        dsp->tcp.max_conns = (uint32_t)MS_MIN(opts->max_conns, (uint64_t)UINT32_MAX);
    if (opts->max_pages)
        dsp->tcp.max_pages_total = (uint32_t)MS_MIN(opts->max_pages, (uint64_t)UINT32_MAX);
    if (opts->gap_timeout_ns)
        dsp->gap_timeout_ns = opts->gap_timeout_ns;
    if (opts->idle_timeout_ns)
        dsp->idle_timeout_ns = opts->idle_timeout_ns;
}

/* Whether this run goes to worker threads: several asked (or the cores, by default), reading
 * files; a terminal table aligns its columns over the first rows (one sink), and a live or -l run
 * writes each record at once, so both stay on one thread. --sort goes through the threads' merged
 * output (one worker or more), which holds the records and writes them in ts order. */
static bool threaded(ms_cli_opts *opts)
{
    if (opts->threads == 0)
        opts->threads = ms_cmd_default_threads();
    bool table = opts->format == MS_FMT_TABLE ||
                 (opts->format == MS_FMT_AUTO && !opts->out_dir && isatty(STDOUT_FILENO));
    return (opts->threads > 1 || opts->sort) && !table && !opts->iface && !opts->line_buffered;
}

int ms_cmd_lua_run_builtins(int argc, char **argv, const char *const *builtins, bool need_out_dir,
                            const char *usage)
{
    ms_xopt stream[MS_STREAM_NXOPTS]; /* --stream CLIENT.bin SERVER.bin: byte files, not captures */
    ms_stream_xopts(stream);
    argc = ms_xopts_take(argc, argv, stream, MS_STREAM_NXOPTS);
    if (argc < 0)
        return 2;
    ms_cli_opts opts;
    int rc = ms_cli_parse(argc, argv, &opts, usage);
    if (rc == 1)
        return 0;
    if (rc)
        return 2;
    if (need_out_dir && !opts.out_dir) {
        ms_cli_error("%s writes several logs: give -w DIR (each log goes to DIR/NAME.log)",
                     opts.command ? opts.command : "all");
        return 2;
    }
    if (!builtins && opts.nscripts == 0) {
        ms_cli_error("no parser given: use -s FILE.lua (see 'moonshark -s --help')");
        return 2;
    }
    if (opts.ninputs == 0 && !opts.iface) {
        ms_cli_error("no capture given: add a pcap/pcapng file (or -i IFACE for a live capture)");
        return 2;
    }
    if (opts.sort && (opts.iface || opts.line_buffered || opts.format == MS_FMT_TABLE)) {
        ms_cli_error("--sort orders the records of files once the input has ended: it takes TSV or "
                     "JSON output, not -i, -l or --table");
        return 2;
    }
    if (!stream[0].seen && threaded(&opts))
        return ms_cmd_lua_run_threads(&opts, builtins);

    ms_err err;
    err.msg[0] = '\0';
    ms_lua *rt = NULL;
    rc = ms_cmd_lua_open(&opts, builtins, NULL, NULL, &rt, &err);
    if (rc) {
        ms_cli_error("%s", err.msg);
        return rc;
    }
    if (stream[0].seen)
        return ms_cmd_stream_run(rt, &opts, stream);

    ms_decode_opts dopts;
    ms_decode_opts_default(&dopts);
    dopts.eager = false; /* the dispatcher decodes only down to the transport layer */
    dopts.verify_checksums = false; /* nothing past decode reads the IPv4 checksum flag */
    ms_decode_ctx *ctx = ms_decode_ctx_new(&dopts);
    ms_dispatch_opts dsp;
    ms_cmd_lua_dispatch_opts(&opts, &dsp);
    ms_parser parser = ms_lua_parser(rt);
    ms_dispatch *d = ctx ? ms_dispatch_new(&parser, &dsp, &err) : NULL;
    if (!d) {
        ms_cli_error("%s", ctx ? err.msg : "out of memory creating the decoder");
        ms_decode_ctx_free(ctx);
        ms_lua_free(rt);
        return 1;
    }

    static char outbuf[1 << 16];
    if (opts.line_buffered)
        setvbuf(stdout, NULL, _IOLBF, 0); /* -l or live: each record as it is written */
    else
        setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    lua_run run = { d };
    ms_run_hooks hooks = { on_packet, on_tick, NULL };
    rc = ms_cli_run(&opts, ctx, &hooks, &run);
    ms_dispatch_finish(d);
    int out_rc = ms_lua_close_logs(rt);
    fflush(stdout);
    const ms_lua_stats *ls = ms_lua_get_stats(rt);
    if (opts.stats) {
        const ms_decode_stats *ds = ms_decode_ctx_stats(ctx);
        fprintf(stderr, "frames %llu\nbytes %llu\n", (unsigned long long)ds->frames,
                (unsigned long long)ds->bytes);
        ms_dispatch_print_stats(d, stderr);
        ms_lua_print_stats(rt, stderr);
    } else if (ls->script_errors && !opts.quiet) {
        fprintf(stderr, "moonshark: %llu script error(s); see the lines above (--stats for counters)\n",
                (unsigned long long)ls->script_errors);
    }
    ms_dispatch_free(d);
    ms_decode_ctx_free(ctx);
    ms_lua_free(rt);
    if (out_rc && rc == 0) {
        ms_cli_error("writing the records failed");
        rc = MS_EIO;
    }
    return ms_cli_exit_code(rc);
}

int ms_cmd_lua_run(int argc, char **argv, const char *builtin, const char *usage)
{
    const char *const one[] = { builtin, NULL };
    return ms_cmd_lua_run_builtins(argc, argv, builtin ? one : NULL, false, usage);
}

int ms_cmd_script(int argc, char **argv)
{
    return ms_cmd_lua_run(argc, argv, NULL, script_usage);
}
