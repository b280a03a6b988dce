/* cli.c — the moonshark command line: subcommand dispatch, shared option parsing, and the read
 * loop that drives each source through the decoder to the command's hook, with a progress bar
 * on a terminal, clean Ctrl-C, and one-line errors that name the file and frame. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "source.h"

#define MS_VERSION "0.1.0"

static const char main_usage[] =
    "usage: moonshark COMMAND [OPTIONS] CAPTURE...\n"
    "       moonshark -s PARSER.lua [OPTIONS] CAPTURE...\n"
    "       moonshark COMMAND -i IFACE [-f FILTER] [OPTIONS]\n"
    "\n"
    "moonshark reads packet captures (pcap, pcapng, or a live interface), decodes every layer,\n"
    "reassembles TCP streams and runs protocol parsers written in Lua over them.\n"
    "\n"
    "Commands:\n"
    "  http      HTTP request log: one record per request, with its response (Zeek http.log fields)\n"
    "  dns       DNS log: one record per query, paired with its reply (Zeek dns.log fields)\n"
    "  tls       TLS log: one record per connection's handshake, JA3/JA4 (Zeek ssl.log fields)\n"
    "  all       every bundled log (http, dns, tls) in one pass: -w DIR\n"
    "  layers    the protocol stack of every frame, FRAME<TAB>eth:ethertype:ip:tcp\n"
    "  stats     counts of frames, bytes, layers, decode errors and fragments\n"
    "  streams   each TCP direction's reassembled bytes to its own file (-o DIR), like tcpflow\n"
    "  conn      one line per connection (Zeek conn.log fields)\n"
    "\n"
    "Run 'moonshark COMMAND --help' for the options of a command.\n"
    "\n"
    "Common options:\n"
    "  -r FILE          read this capture (captures may also be given as arguments; '-' is stdin)\n"
    "  -i IFACE         capture live from IFACE (Ctrl-C stops and prints libpcap's counters)\n"
    "  -f EXPR          BPF filter, e.g. 'tcp port 80' (files and live alike)\n"
    "  -s FILE.lua      load a Lua parser (repeatable); also every *.lua in $MOONSHARK_PATH dirs\n"
    "  --json           JSON lines (one object per record; reads with jq)\n"
    "  --tsv            TSV with a Zeek-style #fields header (the default when piped)\n"
    "  --table          aligned columns (the default on a terminal)\n"
    "  -w DIR           write each log to DIR/NAME.log\n"
    "  -o DIR           output directory (streams)\n"
    "  --stats          print counters (decode errors, gaps, script errors, drops) on stderr at the end\n"
    "  --progress, --no-progress   progress bar on stderr (default: when stderr is a terminal)\n"
    "  --lazy           decode layers on demand only (default for http/streams/conn)\n"
    "  --eager          decode every layer of every frame\n"
    "  --snaplen N      live capture snap length (default 262144)\n"
    "  --no-promisc     do not put the interface in promiscuous mode\n"
    "  --gap-timeout S  give up waiting for missing TCP bytes after S seconds of capture time (30)\n"
    "  --idle-timeout S close connections idle for S seconds of capture time (300)\n"
    "  --max-conns N    TCP connections tracked at once; the least recently seen is evicted\n"
    "  --max-pages N    out-of-order pages held in total (1900 bytes each)\n"
    "  --lua-mem MB     memory ceiling of the Lua state (256)\n"
    "  --unsafe-lua     lift the Lua sandbox (os, io writes, C modules)\n"
    "  -q               no warnings on stderr\n"
    "  -h, --help       this help;  --version  the version\n"
    "\n"
    "Exit status: 0 success, 1 an input failed (truncated or unreadable), 2 usage error or not a capture.\n";

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
    OPT_LUA_MEM, OPT_UNSAFE_LUA, OPT_VERSION,
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
            fputs(usage ? usage : main_usage, stdout);
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
                      void *ud, progress *prog, uint64_t *last_tick)
{
    ms_frame frame;
    ms_packet pkt;
    ms_err err;
    uint64_t frames = 0;
    int rc;
    current_source = src;
    prog->started = prog->last_draw = now_seconds();
    prog->drawn = false;
    while ((rc = ms_source_next(src, &frame, &err)) == 1) {
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
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    interrupted = 0;

    int result = 0;
    uint64_t last_tick = 0;
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
            result = run_source(opts, src, ctx, hooks, ud, &prog, &last_tick);
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
            int rc = run_source(opts, src, ctx, hooks, ud, &prog, &last_tick);
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

/* ---- dispatch ------------------------------------------------------------------------- */

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    { "http", ms_cmd_http },
    { "dns", ms_cmd_dns },
    { "tls", ms_cmd_tls },
    { "all", ms_cmd_all },
    { "layers", ms_cmd_layers },
    { "stats", ms_cmd_stats },
    { "streams", ms_cmd_streams },
    { "conn", ms_cmd_conn },
};

int ms_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_usage, stderr);
        return 2;
    }
    const char *word = argv[1];
    if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0 || strcmp(word, "help") == 0) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (strcmp(word, "--version") == 0) {
        printf("moonshark %s\n", MS_VERSION);
        return 0;
    }
    for (size_t i = 0; i < MS_ARRAY_LEN(commands); i++)
        if (strcmp(word, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    if (word[0] == '-') /* options first: a user script run (moonshark -s X.lua FILE) */
        return ms_cmd_script(argc, argv);
    ms_cli_error("unknown command '%s' (commands: http, dns, tls, all, layers, stats, streams, conn; "
                 "see 'moonshark --help')", word);
    return 2;
}
