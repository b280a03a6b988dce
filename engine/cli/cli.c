/* cli.c — what every command shares: option parsing, and the read loop that drives each source
 * through the decoder to the command's hook, with a progress bar on a terminal, clean Ctrl-C,
 * and one-line errors that name the file and frame. The command word is chosen in main.c. */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/source.h"
#include "output/filter.h"

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
    OPT_LUA_MEM, OPT_UNSAFE_LUA, OPT_VERSION, OPT_SEED, OPT_NO_DROP_PRIVILEGES, OPT_THREADS,
    OPT_SORT,
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
    { "sort", no_argument, NULL, OPT_SORT },
    { "unsafe-lua", no_argument, NULL, OPT_UNSAFE_LUA },
    { "no-drop-privileges", no_argument, NULL, OPT_NO_DROP_PRIVILEGES },
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

static void print_iface(void *ud, const ms_iface *in)
{
    int *n = ud;
    static const struct { unsigned flag; const char *name; } names[] = {
        { MS_IFACE_UP, "Up" }, { MS_IFACE_RUNNING, "Running" }, { MS_IFACE_WIRELESS, "Wireless" },
        { MS_IFACE_LOOPBACK, "Loopback" }, { MS_IFACE_CONNECTED, "Connected" },
        { MS_IFACE_DISCONNECTED, "Disconnected" },
    };
    printf("%d.%s", ++*n, in->name);
    if (in->description)
        printf(" (%s)", in->description);
    const char *sep = " [";
    for (size_t i = 0; i < MS_ARRAY_LEN(names); i++)
        if (in->flags & names[i].flag) {
            printf("%s%s", sep, names[i].name);
            sep = ", ";
        }
    puts(sep[0] == ',' ? "]" : " [none]");
}

/* -D: tcpdump's listing (N.NAME (description) [Up, Running, ...]), then the process ends. */
static _Noreturn void list_interfaces(void)
{
    ms_err err;
    int n = 0;
    int rc = ms_source_interfaces(print_iface, &n, &err);
    if (rc < 0)
        ms_cli_error("%s", err.msg);
    else if (rc == 0)
        ms_cli_error("no interface to capture on (run as root, or grant CAP_NET_RAW, to see them all)");
    fflush(stdout);
    exit(rc > 0 ? 0 : 1);
}

/* -e FIELD or -e FIELD,FIELD: each name becomes a column (the commas are cut in place). */
static int add_select(ms_cli_opts *o, char *arg)
{
    for (char *name = arg; name;) {
        char *comma = strchr(name, ',');
        if (comma)
            *comma = '\0';
        if (*name) {
            if (o->nselect >= MS_CLI_MAX_SELECT) {
                ms_cli_error("-e: too many fields (at most %d)", MS_CLI_MAX_SELECT);
                return MS_EINVAL;
            }
            o->select[o->nselect++] = name;
        }
        name = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* Words that start a BPF expression (pcap-filter(7) primitives and qualifiers): a command line
 * like tcpdump's, `moonshark http f.pcap tcp port 80`, ends with its filter. */
static bool starts_bpf(const char *w)
{
    static const char *const words[] = {
        "dst", "src", "host", "net", "port", "portrange", "gateway", "ether", "fddi", "tr", "wlan",
        "ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "igmp", "igrp", "pim", "ah", "esp",
        "vrrp", "sctp", "proto", "protochain", "less", "greater", "broadcast", "multicast", "inbound",
        "outbound", "vlan", "mpls", "pppoed", "pppoes", "geneve", "ifname", "on", "len", "not",
        "link", "decnet", "iso", "stp", "ipx", "atalk", "llc", "type", "subtype", "dir",
    };
    if (w[0] == '(' || w[0] == '!')
        return true;
    for (size_t i = 0; i < MS_ARRAY_LEN(words); i++) {
        size_t n = strlen(words[i]);
        /* the word itself, a primitive with an index such as ip[8] or tcp[13], or the start of
         * a whole expression given as one word ('tcp port 80') */
        if (strncmp(w, words[i], n) == 0 && (w[n] == '\0' || w[n] == '[' || w[n] == ' '))
            return true;
    }
    return false;
}

/* Captures and a trailing filter among the words after the options: a word naming an existing
 * file (or '-') is a capture; the first other word that starts a BPF expression begins the
 * filter, which takes every word after it (as tcpdump's expression does); any other word is a
 * capture still, so a missing file is reported as missing. */
static int take_operands(ms_cli_opts *o, int argc, char **argv, int first)
{
    for (int i = first; i < argc; i++) {
        struct stat st;
        if (strcmp(argv[i], "-") == 0 || stat(argv[i], &st) == 0 || !starts_bpf(argv[i])) {
            if (add_input(o, argv[i]))
                return MS_EINVAL;
            continue;
        }
        if (o->filter) {
            ms_cli_error("a filter is given twice: -f '%s' and the expression '%s...' after the captures",
                         o->filter, argv[i]);
            return MS_EINVAL;
        }
        size_t n = 0;
        for (int k = i; k < argc; k++) {
            size_t len = strlen(argv[k]);
            if (n + len + 2 > sizeof o->filter_buf) {
                ms_cli_error("the filter expression is too long (at most %zu bytes)", sizeof o->filter_buf - 1);
                return MS_EINVAL;
            }
            if (n)
                o->filter_buf[n++] = ' ';
            memcpy(o->filter_buf + n, argv[k], len);
            n += len;
        }
        o->filter_buf[n] = '\0';
        o->filter = o->filter_buf;
        break;
    }
    return 0;
}

/* -w names the directory logs go to: refuse what looks like a capture file (tcpdump's -w
 * habit) or an existing file, before anything is read. */
static int check_out_dir(const ms_cli_opts *o)
{
    const char *d = o->out_dir;
    if (!d)
        return 0;
    struct stat st;
    size_t n = strlen(d);
    static const char *const capture_ends[] = { ".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".dmp" };
    bool capture_name = false;
    for (size_t i = 0; i < MS_ARRAY_LEN(capture_ends); i++) {
        size_t m = strlen(capture_ends[i]);
        if (n > m && strcmp(d + n - m, capture_ends[i]) == 0)
            capture_name = true;
    }
    bool exists = stat(d, &st) == 0;
    if ((exists && !S_ISDIR(st.st_mode)) || (!exists && capture_name)) {
        ms_cli_error("-w %s: -w names a directory, where each log is written as DIR/NAME.log "
                     "(e.g. -w logs/ gives logs/http.log); moonshark does not write packets: "
                     "save them with tcpdump -w FILE or tshark -w FILE", d);
        return MS_EINVAL;
    }
    return 0;
}

int ms_cli_no_view(const ms_cli_opts *o)
{
    if (o->display_filter || o->nselect) {
        ms_cli_error("%s takes no -Y or -e: they filter and choose the fields of logs "
                     "(moonshark http, conn, -s scripts)", o->command ? o->command : "this command");
        return MS_EINVAL;
    }
    return 0;
}

FILE *ms_cli_open_output(const ms_cli_opts *o, const char *name, ms_err *err)
{
    if (!o->out_dir)
        return stdout;
    if (mkdir(o->out_dir, 0777) != 0 && errno != EEXIST) {
        ms_fail(err, MS_EIO, "%s: cannot create directory: %s", o->out_dir, strerror(errno));
        return NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.log", o->out_dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        ms_fail(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
    return f;
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
    while ((c = getopt_long(argc, argv, ":r:i:f:s:w:o:qhc:DZ:lnY:e:", long_opts, NULL)) != -1) {
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
        case 'c':
            if (parse_count("-c", optarg, UINT64_MAX, &o->count))
                return MS_EINVAL;
            if (o->count == 0) {
                ms_cli_error("-c: give 1 or more packets");
                return MS_EINVAL;
            }
            break;
        case 'D': list_interfaces();
        case 'Z': o->drop_user = optarg; break;
        case OPT_NO_DROP_PRIVILEGES: o->keep_root = true; break;
        case 'l': o->line_buffered = true; break;
        case 'n': break; /* tcpdump's "no name lookups": moonshark never resolves names */
        case 'Y': o->display_filter = optarg; break;
        case 'e':
            if (add_select(o, optarg))
                return MS_EINVAL;
            break;
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
        case OPT_SORT: o->sort = true; break;
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
    if (take_operands(o, argc, argv, optind))
        return MS_EINVAL;
    if (check_out_dir(o))
        return MS_EINVAL;
    if (o->display_filter) { /* a syntax error is reported now, before anything is read */
        ms_err ferr;
        ms_filter *f = ms_filter_new(o->display_filter, NULL, 0, NULL, &ferr);
        if (!f) {
            ms_cli_error("%s", ferr.msg);
            return MS_EINVAL;
        }
        ms_filter_free(f);
    }
    if (o->iface)
        o->line_buffered = true; /* live: records as they happen, like tcpdump -l */
    if (!seed_given && run_seed(&o->seed))
        return MS_EINVAL;
    if (o->drop_user && o->keep_root) {
        ms_cli_error("give either -Z USER or --no-drop-privileges, not both");
        return MS_EINVAL;
    }
    if (o->drop_user && !getpwnam(o->drop_user)) { /* before any work, not after the capture opened */
        ms_cli_error("-Z %s: no such user", o->drop_user);
        return MS_EINVAL;
    }
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
static int file_stop_signal; /* the signal that cut a file read short (0: none, or live) */

/* Ctrl-C / SIGTERM only raise a flag: the read loop looks at it after every frame, and a live
 * read returns at least every read timeout (100 ms) to look, then the run ends as at the end of
 * the input (every connection flushed, every record written, stdout flushed). */
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = sig;
}

int ms_cli_stop_signal(void)
{
    return file_stop_signal;
}

/* Wall-clock time in ns (what live capture timestamps are). */
static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#define LIVE_TICK_NS 250000000ULL /* how often a live run ticks by the wall clock */

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
    uint64_t frames = 0, last_wall = 0;
    int rc;
    bool live = opts->iface != NULL;
    if (on_source)
        on_source(ud, src);
    prog->started = prog->last_draw = now_seconds();
    prog->drawn = false;
    while ((rc = ms_source_next(src, &frame, &err)) >= 1 && !interrupted) {
        if (live && hooks->on_tick) {
            /* capture time stops when the interface is idle: the wall clock moves it on, so
             * timeouts fire and finished connections are flushed while nothing arrives */
            uint64_t now = wall_ns();
            if (now >= last_wall + LIVE_TICK_NS) {
                last_wall = now;
                if (now > *last_tick)
                    *last_tick = now;
                hooks->on_tick(ud, *last_tick);
            }
        }
        if (rc == MS_SOURCE_IDLE)
            continue;
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
        if (opts->count && *run_frames >= opts->count)
            break; /* -c N */
    }
    if (prog->on)
        progress_draw(prog, src, frames, true);
    if (rc < 0 && interrupted)
        rc = 0; /* a read cut by the signal (stdin, a live read) is the end the user asked for */
    if (rc < 0) {
        ms_cli_error("%s", err.msg);
        return rc;
    }
    return 0;
}

/* As tcpdump does: nobody when a live capture was started as root. Without root there is nothing
 * to drop: -Z is then ignored (drop_target warns). */
const char *ms_cli_drop_user(const ms_cli_opts *o)
{
    if (o->keep_root || (getuid() != 0 && geteuid() != 0))
        return NULL;
    if (o->drop_user)
        return o->drop_user;
    return o->iface ? "nobody" : NULL;
}

static const char *drop_target(const ms_cli_opts *o)
{
    if (o->drop_user && !o->keep_root && getuid() != 0 && geteuid() != 0 && !o->quiet)
        ms_cli_error("warning: -Z %s ignored: not running as root", o->drop_user);
    return ms_cli_drop_user(o);
}

static int drop_now(const char *user)
{
    ms_err err;
    if (ms_cli_drop_privileges(user, &err) == 0)
        return 0;
    ms_cli_error("%s (stopping rather than going on as root; --no-drop-privileges keeps root)", err.msg);
    return MS_EIO;
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
    const char *drop_to = drop_target(opts);

    if (opts->iface) {
        ms_source *src = ms_source_open_live(opts->iface, &sopts, &err);
        if (!src) {
            ms_cli_error("%s", err.msg);
            result = MS_EIO;
        } else if (drop_to && drop_now(drop_to) != 0) {
            result = MS_EIO;
            ms_source_close(src);
        } else {
            if (!opts->quiet)
                fprintf(stderr, "moonshark: capturing on %s%s%s (Ctrl-C to stop)\n", opts->iface,
                        drop_to ? " as user " : "", drop_to ? drop_to : "");
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
            if (opts->count && run_frames >= opts->count)
                break; /* -c N reached in an earlier file */
            int code;
            ms_source *src = ms_source_open_file(opts->inputs[i], &sopts, &err, &code);
            if (!src) {
                ms_cli_error("%s", err.msg);
                if (result == 0 || code == MS_EFORMAT || code == MS_EINVAL)
                    result = code;
                continue;
            }
            if (drop_to) { /* -Z with files: after the first one is open (later ones open as USER) */
                const char *user = drop_to;
                drop_to = NULL;
                if (drop_now(user) != 0) {
                    ms_source_close(src);
                    result = MS_EIO;
                    break;
                }
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
        if (interrupted) {
            file_stop_signal = interrupted;
            if (!opts->quiet)
                fprintf(stderr, "moonshark: interrupted; results so far were written\n");
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return result;
}
