/* lua_threads.c — `moonshark http|-s ... --threads N`: the Lua runner on N worker threads
 * (engine/pipeline/): this thread reads and routes frames, each worker makes its own Lua runtime
 * with the same scripts (no Lua value is shared between workers), and every log's lines merge
 * into one output (pipeline/lines.h). Records, exit status and --stats counters are those of one
 * thread; only the order of the records differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "pipeline/lines.h"
#include "pipeline/pipeline.h"

typedef struct worker_hook {
    ms_lines *lines;
    int worker;
} worker_hook;

typedef struct thread_run {
    const ms_cli_opts *opts;
    const char *const *builtins;
    ms_lines *lines;
    ms_pipeline *p;
    ms_lua *rt[MS_PIPELINE_MAX_WORKERS];
    worker_hook hook[MS_PIPELINE_MAX_WORKERS];
    int open_status[MS_PIPELINE_MAX_WORKERS]; /* exit status of a failed start (1 or 2) */
} thread_run;

static FILE *log_stream(void *ud, const char *name, const ms_field_def *fields, int nfields, ms_err *err)
{
    worker_hook *h = ud;
    return ms_lines_stream(h->lines, h->worker, name, fields, nfields, err);
}

/* In worker w's thread: its runtime (the budget timer counts that thread's CPU time). */
static int open_worker(void *ud, int w, ms_parser *parser, ms_err *err)
{
    thread_run *t = ud;
    t->hook[w] = (worker_hook){ t->lines, w };
    int status = ms_cmd_lua_open(t->opts, t->builtins, log_stream, &t->hook[w], &t->rt[w], err);
    if (status) {
        t->open_status[w] = status;
        return status == 1 ? MS_ENOMEM : MS_ELUA;
    }
    *parser = ms_lua_parser(t->rt[w]);
    return 0;
}

static int finish_worker(void *ud, int w)
{
    thread_run *t = ud;
    int rc = ms_lua_close_logs(t->rt[w]);
    ms_lines_worker_done(t->lines, w);
    return rc;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void on_packet(void *ud, ms_packet *pkt)
{
    ms_pipeline_packet(((thread_run *)ud)->p, pkt);
}

static void on_source(void *ud, ms_source *src)
{
    ms_pipeline_source(((thread_run *)ud)->p, src);
}

static void on_tick(void *ud, uint64_t now_ns)
{
    ms_pipeline_tick(((thread_run *)ud)->p, now_ns);
}

int ms_cmd_lua_run_threads(const ms_cli_opts *opts, const char *const *builtins)
{
    static thread_run t; /* one run per process; large (a runtime pointer per worker) */
    memset(&t, 0, sizeof t);
    t.opts = opts;
    t.builtins = builtins;
    ms_err err;
    err.msg[0] = '\0';
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    t.lines = ms_lines_new(stdout, opts->out_dir, opts->format, opts->sort, &err);
    if (!t.lines) {
        ms_cli_error("%s", err.msg);
        return 1;
    }
    ms_pipeline_opts popts;
    memset(&popts, 0, sizeof popts);
    popts.workers = opts->threads;
    ms_cmd_lua_dispatch_opts(opts, &popts.dispatch);
    ms_pipeline_factory factory = { open_worker, finish_worker, &t };
    int code = 0;
    t.p = ms_pipeline_new(&popts, &factory, &err, &code);
    if (!t.p) {
        ms_cli_error("%s", err.msg);
        int status = 1;
        for (int i = 0; i < opts->threads; i++)
            if (t.open_status[i])
                status = t.open_status[i];
        ms_lines_finish(t.lines, NULL);
        for (int i = 0; i < opts->threads; i++)
            ms_lua_free(t.rt[i]);
        return status;
    }
    /* the reader decodes as the dispatcher would (to the transport layer), with its own
     * defragmenter: datagrams are whole before they are hashed to a worker */
    ms_decode_opts dopts;
    ms_decode_opts_default(&dopts);
    dopts.eager = false;
    dopts.verify_checksums = false;
    ms_decode_ctx *ctx = ms_decode_ctx_new(&dopts);
    int rc = MS_ENOMEM;
    uint64_t reader_ns = thread_cpu_ns();
    if (ctx) {
        ms_run_hooks hooks = { on_packet, on_tick, NULL };
        rc = ms_cli_run_sources(opts, ctx, &hooks, on_source, &t);
        reader_ns = thread_cpu_ns() - reader_ns;
    } else {
        ms_cli_error("out of memory creating the decoder");
    }
    int out_rc = ms_pipeline_finish(t.p);
    uint64_t writer_ns = 0;
    if (ms_lines_finish(t.lines, &writer_ns) != 0)
        out_rc = MS_EIO;
    fflush(stdout);
    ms_lua_stats ls;
    memset(&ls, 0, sizeof ls);
    for (int i = 0; i < opts->threads; i++)
        ms_lua_stats_add(&ls, ms_lua_get_stats(t.rt[i]));
    if (opts->stats && ctx) {
        const ms_decode_stats *ds = ms_decode_ctx_stats(ctx);
        fprintf(stderr, "frames %llu\nbytes %llu\n", (unsigned long long)ds->frames, (unsigned long long)ds->bytes);
        ms_dispatch_stats dst;
        ms_tcp_stats tst;
        ms_pipeline_stats(t.p, &dst, &tst);
        ms_dispatch_print_counters(&dst, &tst, stderr);
        ms_lua_print_counters(&ls, stderr);
        ms_lua_print_log_counts(t.rt, opts->threads, stderr);
        uint64_t rf, rb, quick;
        ms_pipeline_reader_counts(t.p, &rf, &rb, &quick);
        fprintf(stderr, "pipeline.workers %d\npipeline.frames_routed_by_headers %llu\n", opts->threads,
                (unsigned long long)quick);
        /* what each stage cost: the reader (read, route, copy), every worker, the writer */
        fprintf(stderr, "pipeline.reader.cpu_us %llu\npipeline.writer.cpu_us %llu\n",
                (unsigned long long)(reader_ns / 1000), (unsigned long long)(writer_ns / 1000));
        for (int i = 0; i < opts->threads; i++)
            fprintf(stderr, "pipeline.worker%d.frames %llu\npipeline.worker%d.cpu_us %llu\n", i,
                    (unsigned long long)ms_pipeline_worker_frames(t.p, i), i,
                    (unsigned long long)(ms_pipeline_worker_cpu_ns(t.p, i) / 1000));
    } else if (ls.script_errors && !opts->quiet) {
        fprintf(stderr, "moonshark: %llu script error(s); see the lines above (--stats for counters)\n",
                (unsigned long long)ls.script_errors);
    }
    ms_pipeline_free(t.p);
    ms_decode_ctx_free(ctx);
    for (int i = 0; i < opts->threads; i++)
        ms_lua_free(t.rt[i]);
    if (out_rc && rc == 0) {
        ms_cli_error("writing the records failed");
        rc = MS_EIO;
    }
    return ms_cli_exit_code(rc);
}
