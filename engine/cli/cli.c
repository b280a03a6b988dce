/* cli.c — what every command shares: option parsing, and the read loop that drives each source
 * through the decoder to the command's hook, with a progress bar on a terminal, clean Ctrl-C,
 * and one-line errors that name the file and frame. The command word is chosen in main.c. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/source.h"

void ms_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("moonshark: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int ms_cli_exit_code(int rc)
{
    if (rc == 0)
        return 0;
    if (rc == MS_EINVAL || rc == MS_EFORMAT)
        return 2;
    return 1;
}

/* ---- option parsing ---------------------------------------------------------------------- */

enum {
    OPT_JSON = 1000, OPT_TSV, OPT_TABLE, OPT_STATS, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_LAZY, OPT_EAGER,
    OPT_SNAPLEN, OPT_NO_PROMISC, OPT_GAP_TIMEOUT, OPT_IDLE_TIMEOUT, OPT_MAX_CONNS, OPT_MAX_PAGES,
    OPT_LUA_MEM, OPT_UNSAFE_LUA, OPT_VERSION, OPT_SEED,
    OPT_THREADS,
};

static const struct option long_opts[] = {
    { "json", no_argument, NULL, OPT_JSON },
    { "tsv", no_argument, NULL, OPT_TSV },
    { "table", no_argument, NULL, OPT_TABLE },
    { "stats", no_argument, NULL, OPT_STATS },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
    { "lazy", no_argument, NULL, OPT_LAZY },
    { "eager", no_argument, NULL, OPT_EAGER },
    { "snaplen", required_argument, NULL, OPT_SNAPLEN },
    { "no-promisc", no_argument, NULL, OPT_NO_PROMISC },
    { "gap-timeout", required_argument, NULL, OPT_GAP_TIMEOUT },
    { "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
    { "max-conns", required_argument, NULL, OPT_MAX_CONNS },
    { "max-pages", required_argument, NULL, OPT_MAX_PAGES },
    { "lua-mem", required_argument, NULL, OPT_LUA_MEM },
    { "seed", required_argument, NULL, OPT_SEED },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "unsafe-lua", no_argument, NULL, OPT_UNSAFE_LUA },
    { "version", no_argument, NULL, OPT_VERSION },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int parse_count(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max) {
        ms_cli_error("%s: '%s' is not a number from 0 to %llu", opt, s, (unsigned long long)max);
        return MS_EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_seconds(const char *opt, const char *s, uint64_t *ns)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 1e9) {
        ms_cli_error("%s: '%s' is not a number of seconds", opt, s);
        return MS_EINVAL;
    }
    *ns = (uint64_t)(v * 1e9);
    return 0;
}

static int add_input(ms_cli_opts *o, const char *path)
{
    if (o->ninputs >= MS_CLI_MAX_INPUTS) {
        ms_cli_error("too many captures (at most %d in one run)", MS_CLI_MAX_INPUTS);
        return MS_EINVAL;
    }
    o->inputs[o->ninputs++] = path;
    return 0;
}

/* The seed of connection uids when --seed is not given: $MOONSHARK_SEED, else a fresh one per run
 * (like Zeek), so logs of separate runs can be merged without uids colliding. */
static int run_seed(uint64_t *seed)
{
    const char *env = getenv("MOONSHARK_SEED");
    if (env && *env)
        return parse_count("MOONSHARK_SEED", env, UINT64_MAX, seed);
    uint64_t s = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&s, sizeof s, 1, f) != 1) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid() << 32;
    }
    if (f)
        fclose(f);
    *seed = s;
    return 0;
}

int ms_cli_parse(int argc, char **argv, ms_cli_opts *o, const char *usage)
{
    /* argv[0] is the command word ("http") for subcommands, the program for script runs */
    const char *word = argc > 0 ? argv[0] : NULL;
    memset(o, 0, sizeof *o);
    o->command = word && !strchr(word, '/') && strcmp(word, "moonshark") != 0 ? word : NULL;
    o->progress = -1;
    o->gap_timeout_ns = 30ULL * 1000000000ULL;
    o->idle_timeout_ns = 300ULL * 1000000000ULL;
    optind = 1;
    opterr = 0;
    int c;
    uint64_t n;
    bool seed_given = false;
    while ((c = getopt_long(argc, argv, ":r:i:f:s:w:o:qh", long_opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (add_input(o, optarg))
                return MS_EINVAL;
            break;
        case 'i': o->iface = optarg; break;
        case 'f': o->filter = optarg; break;
        case 's':
            if (o->nscripts >= MS_CLI_MAX_SCRIPTS) {
                ms_cli_error("too many scripts (at most %d)", MS_CLI_MAX_SCRIPTS);
                return MS_EINVAL;
            }
            o->scripts[o->nscripts++] = optarg;
            break;
        case 'w':
        case 'o': o->out_dir = optarg; break;
        case 'q': o->quiet = true; break;
        case 'h':
            fputs(usage ? usage : "usage: moonshark COMMAND [OPTIONS] CAPTURE... (see 'moonshark --help')\n", stdout);
            return 1;
        case OPT_VERSION:
            printf("moonshark %s\n", MS_VERSION);
            return 1;
        case OPT_JSON: o->format = MS_FMT_JSON; break;
        case OPT_TSV: o->format = MS_FMT_TSV; break;
        case OPT_TABLE: o->format = MS_FMT_TABLE; break;
        case OPT_STATS: o->stats = true; break;
        case OPT_PROGRESS: o->progress = 1; break;
        case OPT_NO_PROGRESS: o->progress = 0; break;
        case OPT_LAZY: o->lazy = true; break;
        case OPT_EAGER: o->lazy = false; break;
        case OPT_SNAPLEN:
            if (parse_count("--snaplen", optarg, 262144, &n))
                return MS_EINVAL;
            o->snaplen = (int)n;
            break;
        case OPT_NO_PROMISC: o->no_promisc = true; break;
        case OPT_GAP_TIMEOUT:
            if (parse_seconds("--gap-timeout", optarg, &o->gap_timeout_ns))
                return MS_EINVAL;
            break;
        case OPT_IDLE_TIMEOUT:
            if (parse_seconds("--idle-timeout", optarg, &o->idle_timeout_ns))
                return MS_EINVAL;
            break;
        case OPT_MAX_CONNS:
            if (parse_count("--max-conns", optarg, 100000000, &o->max_conns))
                return MS_EINVAL;
            break;
        case OPT_MAX_PAGES:
            if (parse_count("--max-pages", optarg, 100000000, &o->max_pages))
                return MS_EINVAL;
            break;
        case OPT_LUA_MEM:
            if (parse_count("--lua-mem", optarg, 1 << 20, &o->lua_mem_mb))
                return MS_EINVAL;
            break;
        case OPT_UNSAFE_LUA: o->unsafe_lua = true; break;
        case OPT_SEED:
            if (parse_count("--seed", optarg, UINT64_MAX, &o->seed))
                return MS_EINVAL;
            seed_given = true;
            break;
        case OPT_THREADS:
            if (parse_count("--threads", optarg, 64, &n))
                return MS_EINVAL;
            if (n == 0) {
                ms_cli_error("--threads: '%s' is not a number from 1 to 64", optarg);
                return MS_EINVAL;
            }
            o->threads = (int)n;
            break;
        case ':':
            ms_cli_error("option %s needs a value (see 'moonshark %s%s--help')", argv[optind - 1],
                         o->command ? o->command : "", o->command ? " " : "");
            return MS_EINVAL;
        default:
            ms_cli_error("unknown option '%s' (see 'moonshark %s%s--help')", argv[optind - 1],
                         o->command ? o->command : "", o->command ? " " : "");
            return MS_EINVAL;
        }
    }
    for (int i = optind; i < argc; i++)
        if (add_input(o, argv[i]))
            return MS_EINVAL;
    if (!seed_given && run_seed(&o->seed))
        return MS_EINVAL;
    if (o->iface && o->ninputs) {
        ms_cli_error("give either -i IFACE or capture files, not both");
        return MS_EINVAL;
    }
    if (!o->iface && o->ninputs == 0) {
        ms_cli_error("no capture given (usage: moonshark %s [OPTIONS] CAPTURE..., or -i IFACE)",
                     o->command ? o->command : "COMMAND");
        return MS_EINVAL;
    }
    return 0;
}

/* ---- the read loop -------------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;
static ms_source *volatile current_source;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    ms_source *s = current_source;
    if (s)
        ms_source_break(s);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct progress {
    bool on;
    bool drawn;        /* a bar was drawn for this input (short reads never show one) */
    double started, last_draw;
    int index, count;
} progress;

static void progress_draw(progress *p, ms_source *src, uint64_t frames, bool final)
{
    double now = now_seconds();
    if (final && !p->drawn)
        return;
    if (!final && now - p->last_draw < 0.2)
        return;
    p->drawn = true;
    p->last_draw = now;
    uint64_t size = ms_source_size(src), off = ms_source_offset(src);
    if (final)
        off = size;
    double frac = size ? (double)off / (double)size : 0;
    if (frac > 1)
        frac = 1;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[30] = '\0';
    double elapsed = now - p->started;
    double mbs = elapsed > 0 ? (double)off / 1e6 / elapsed : 0;
    char eta[32] = "";
    if (frac > 0.01 && frac < 1)
        snprintf(eta, sizeof eta, " eta %.0fs", elapsed / frac - elapsed);
    const char *name = ms_source_name(src);
    size_t nlen = strlen(name);
    if (nlen > 28)
        name += nlen - 28;
    fprintf(stderr, "\r%s [%s] %3.0f%% %.1f MB %llu frames %.0f MB/s%s\033[K", name, bar, frac * 100, (double)off / 1e6, (unsigned long long)frames, mbs, eta);
    if (final)
        fputc('\n', stderr);
}

static int run_source(const ms_cli_opts *opts, ms_source *src, ms_decode_ctx *ctx, const ms_run_hooks *hooks,
                      void (*on_source)(void *, ms_source *), void *ud, progress *prog, uint64_t *last_tick,
                      uint64_t *run_frames)
{
    ms_frame frame;
    ms_packet pkt;
    ms_err err;
    uint64_t frames = 0;
    int rc;
    current_source = src;
    if (on_source)
        on_source(ud, src);
    prog->started = prog->last_draw = now_seconds();
    prog->drawn = false;
    while ((rc = ms_source_next(src, &frame, &err)) == 1) {
        frame.index = (*run_frames)++;
        ms_packet_start(&pkt, ctx, &frame);
        hooks->on_packet(ud, &pkt);
        frames++;
        if (hooks->on_tick && frame.ts_ns >= *last_tick + 1000000000ULL) {
            *last_tick = frame.ts_ns;
            hooks->on_tick(ud, frame.ts_ns);
        }
        if (prog->on && (frames & 4095) == 0)
            progress_draw(prog, src, frames, false);
    }
    current_source = NULL;
    if (prog->on)
        progress_draw(prog, src, frames, true);
    if (rc < 0) {
        ms_cli_error("%s", err.msg);
        return rc;
    }
    (void)opts;
    return 0;
}

int ms_cli_run(const ms_cli_opts *opts, ms_decode_ctx *ctx, const ms_run_hooks *hooks, void *ud)
{
    return ms_cli_run_sources(opts, ctx, hooks, NULL, ud);
}

int ms_cli_run_sources(const ms_cli_opts *opts, ms_decode_ctx *ctx, const ms_run_hooks *hooks,
                       void (*on_source)(void *ud, ms_source *src), void *ud)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    interrupted = 0;

    int result = 0;
    uint64_t last_tick = 0, run_frames = 0;
    ms_source_opts sopts = { opts->filter, opts->snaplen, !opts->no_promisc, 100 };
    ms_err err;
    progress prog = { false, false, 0, 0, 0, opts->ninputs };

    if (opts->iface) {
        ms_source *src = ms_source_open_live(opts->iface, &sopts, &err);
        if (!src) {
            ms_cli_error("%s", err.msg);
            result = MS_EIO;
        } else {
            if (!opts->quiet)
                fprintf(stderr, "moonshark: capturing on %s (Ctrl-C to stop)\n", opts->iface);
            result = run_source(opts, src, ctx, hooks, on_source, ud, &prog, &last_tick, &run_frames);
            uint64_t recv, drop, ifdrop;
            if (ms_source_live_stats(src, &recv, &drop, &ifdrop) == 0)
                fprintf(stderr, "moonshark: %s: %llu packets received by filter, %llu dropped by kernel, "
                        "%llu dropped by interface\n", opts->iface, (unsigned long long)recv,
                        (unsigned long long)drop, (unsigned long long)ifdrop);
            if (hooks->on_input_end)
                hooks->on_input_end(ud, opts->iface);
            ms_source_close(src);
        }
    } else {
        for (int i = 0; i < opts->ninputs && !interrupted; i++) {
            int code;
            ms_source *src = ms_source_open_file(opts->inputs[i], &sopts, &err, &code);
            if (!src) {
                ms_cli_error("%s", err.msg);
                if (result == 0 || code == MS_EFORMAT || code == MS_EINVAL)
                    result = code;
                continue;
            }
            prog.index = i;
            prog.on = opts->progress == 1 || (opts->progress == -1 && isatty(STDERR_FILENO) &&
                                              ms_source_size(src) > 0);
            int rc = run_source(opts, src, ctx, hooks, on_source, ud, &prog, &last_tick, &run_frames);
            if (rc && result == 0)
                result = rc;
            if (hooks->on_input_end)
                hooks->on_input_end(ud, opts->inputs[i]);
            ms_source_close(src);
        }
        if (interrupted && !opts->quiet)
            fprintf(stderr, "moonshark: interrupted; results so far were written\n");
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return result;
}
