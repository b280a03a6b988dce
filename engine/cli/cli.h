/* cli.h — what the commands share (cli.c): options common to every command, and the read loop
 * that drives sources → decode → the command's per-packet hook (progress bar, BPF filter, several
 * files, live capture with Ctrl-C, truncated-file reporting). The commands themselves are
 * declared in commands.h, one file each (cmd_*.c). */
#ifndef MS_CLI_H
#define MS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"
#include "decode/decode.h"
#include "output/output.h"
#include "decode/packet.h"
#include "capture/source.h"

#define MS_VERSION "0.1.0"

#define MS_CLI_MAX_INPUTS 256
#define MS_CLI_MAX_SCRIPTS 32
#define MS_CLI_MAX_SELECT 64
#define MS_CLI_FILTER_MAX 4096

typedef struct ms_cli_opts {
    const char *command;                    /* "http", "layers", ... */
    const char *inputs[MS_CLI_MAX_INPUTS];  /* capture files ("-" = stdin) */
    int ninputs;
    const char *iface;                      /* -i IFACE: live capture */
    const char *filter;                     /* -f EXPR: BPF filter */
    int snaplen;                            /* -s is the script flag; --snaplen N */
    bool no_promisc;                        /* --no-promisc */
    ms_out_format format;                   /* --json / --tsv / --table */
    const char *out_dir;                    /* -w DIR (logs) or -o DIR (streams) */
    const char *scripts[MS_CLI_MAX_SCRIPTS];/* -s FILE.lua */
    int nscripts;
    bool stats;                             /* --stats: counters on stderr at the end */
    int progress;                           /* -1 auto (tty + file), 0 --no-progress, 1 --progress */
    bool lazy;                              /* --lazy decoding (default eager for layers) */
    bool unsafe_lua;                        /* --unsafe-lua */
    bool quiet;                             /* -q */
    uint64_t gap_timeout_ns;                /* --gap-timeout SECONDS (default 30) */
    uint64_t idle_timeout_ns;               /* --idle-timeout SECONDS (default 300) */
    uint64_t max_conns;                     /* --max-conns N (0 = default) */
    uint64_t max_pages;                     /* --max-pages N (0 = default) */
    uint64_t lua_mem_mb;                    /* --lua-mem MB (0 = default) */
    uint64_t seed;                          /* --seed N, $MOONSHARK_SEED, or drawn per run: uids */
    uint64_t count;                         /* -c N: stop after N packets in all (0 = no limit) */
    const char *drop_user;                  /* -Z USER: switch to USER once the input is open */
    bool keep_root;                         /* --no-drop-privileges (live capture as root) */
    bool line_buffered;                     /* -l, and every live capture: each record written at once */
    const char *display_filter;             /* -Y EXPR: records the log keeps (output/filter.h) */
    const char *select[MS_CLI_MAX_SELECT];  /* -e FIELD (repeatable, or FIELD,FIELD): columns shown */
    int nselect;
    char filter_buf[MS_CLI_FILTER_MAX];     /* a trailing BPF expression (FILE... tcp port 80), joined */
    int threads;                            /* --threads N (0 = not given: the cores available) */
    bool sort;                              /* --sort: records written in ts order at the end */
} ms_cli_opts;

/* Parses argv (after the command word) into opts. Prints a clear one-line error and returns
 * MS_EINVAL on a bad option; returns 1 when --help was printed (usage is the command's help). */
int ms_cli_parse(int argc, char **argv, ms_cli_opts *opts, const char *usage);

/* Hooks a command gives the read loop. */
typedef struct ms_run_hooks {
    /* Called for every frame after ms_packet_start (eager or lazy as the context says). */
    void (*on_packet)(void *ud, ms_packet *pkt);
    /* Optional: called with capture time as it advances (roughly once per second of capture). */
    void (*on_tick)(void *ud, uint64_t now_ns);
    /* Optional: called after each input ends (file or live). */
    void (*on_input_end)(void *ud, const char *name);
} ms_run_hooks;

/* Reads every input in order (or the live interface) through ctx, calling hooks.
 * Returns 0, or a negative code after printing one line per failed input on stderr
 * (the loop goes on with the next input; a truncated file yields all frames before the cut). */
int ms_cli_run(const ms_cli_opts *opts, ms_decode_ctx *ctx, const ms_run_hooks *hooks, void *ud);
/* The same, calling on_source(ud, src) when each input is open, before its first frame
 * (--threads: the reader's read blocks). */
int ms_cli_run_sources(const ms_cli_opts *opts, ms_decode_ctx *ctx, const ms_run_hooks *hooks,
                       void (*on_source)(void *ud, ms_source *src), void *ud);

/* For commands whose output is not a log (layers, stats, streams): an error naming the command
 * when -Y or -e was given. Returns 0 or MS_EINVAL. */
int ms_cli_no_view(const ms_cli_opts *opts);

/* Where a command that is not a log writes (layers, stats): stdout, or with -w DIR the file
 * DIR/NAME.log (the directory made when missing). NULL with err filled when it cannot. */
FILE *ms_cli_open_output(const ms_cli_opts *opts, const char *name, ms_err *err);

/* Process exit status for a run result: 0 ok, 1 input error, 2 usage / not a capture. */
int ms_cli_exit_code(int rc);

/* The signal (SIGINT, SIGTERM) that stopped a file read before its end, 0 if none; live
 * captures end by Ctrl-C normally and leave it 0. main() exits 128 + it, as shells expect,
 * once every record has been written. */
int ms_cli_stop_signal(void);

/* Whom the read loop will become once its first input is open: -Z USER, or nobody for a live
 * capture started as root (unless --no-drop-privileges); NULL when it stays who it is. */
const char *ms_cli_drop_user(const ms_cli_opts *opts);

/* privs.c: gives PATH (a folder this run created) to USER, for files made after the drop. */
int ms_cli_give_to_user(const char *path, const char *user, ms_err *err);

/* privs.c: switches to USER for good (initgroups, setgid, setuid, in that order) and verifies the
 * ids, the group list and that root cannot be regained. 0, or a negative code with err filled. */
int ms_cli_drop_privileges(const char *user, ms_err *err);

/* Writes "moonshark: MESSAGE\n" on stderr. */
void ms_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
