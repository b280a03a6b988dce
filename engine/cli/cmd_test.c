/* cmd_test.c — `moonshark test PARSER.lua CASES...`: the test harness for parser authors. A case
 * is a directory holding either byte files (client.bin, server.bin) or one capture (*.pcap,
 * *.pcapng), and expected.jsonl, the records the parser must write (JSON lines as `--json`
 * writes them, each with its log's name in "_log"). The harness runs the parser, shows the
 * records that differ field by field, then runs the segmentation check (check.h) on the case. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/check.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/record.h"
#include "cli/records.h"
#include "cli/replay.h"
#include "cli/stream.h"
#include "cli/xopts.h"

static const char test_usage[] =
    "usage: moonshark test PARSER.lua CASE_OR_DIR... [OPTIONS]\n"
    "\n"
    "Runs a parser's test cases. A case is a directory with the input and the records expected:\n"
    "  client.bin, server.bin   raw bytes of each direction of one TCP connection (either may be\n"
    "                           missing); the client's are presented first, then the server's\n"
    "  or NAME.pcap / .pcapng   one capture, read as `moonshark -s PARSER.lua` reads it\n"
    "  expected.jsonl           the records, one JSON object per line as --json writes them, with\n"
    "                           the log's name first: {\"_log\":\"http\",\"ts\":0.0,...}\n"
    "  case.conf (optional)     lines 'ports [CLIENT:]SERVER', 'addrs CLIENT,SERVER', 'udp' (each\n"
    "                           byte file is one datagram), 'time SECONDS' (capture time of the bytes)\n"
    "A directory that is not a case is searched for cases (sorted by name, at any depth).\n"
    "\n"
    "Each case passes when the parser writes the expected records (per log, in order; fields in\n"
    "any order, values as written) and when its records do not depend on the segmentation\n"
    "(`moonshark check`: whole, 1 byte at a time, CRLF splits, random sizes, interleavings).\n"
    "Byte-file cases run with uid seed 1 unless --seed, so their uids are stable.\n"
    "\n"
    "Options:\n"
    "  --update             write expected.jsonl from what the parser writes now (then review it)\n"
    "  -s MORE.lua          load more scripts after PARSER.lua (repeatable)\n"
    "  --seed N             uid seed and random segmentations (default 1)\n"
    "  --segmentations L    as for check ('all' adds server-early); --strict-time, --byte-limit N\n"
    "  --no-check           compare the records only\n"
    "  --unsafe-lua, --lua-mem MB, -v (every finding of the check), -q (only failures and the summary)\n"
    "\n"
    "Exit status: 0 every case passed, 1 a case failed, 2 usage error.\n";

typedef struct test_opts {
    const char *scripts[MS_CLI_MAX_SCRIPTS];
    int nscripts;
    bool update, no_check, quiet;
    ms_check_opts check;
} test_opts;

typedef struct tally {
    int cases, passed;
} tally;

/* ---- JSON lines, flat objects ------------------------------------------------------------ */

typedef struct jfield {
    const char *key, *val;  /* into the line (key without quotes, raw value text) */
    size_t klen, vlen;
} jfield;

#define MAX_JFIELDS 256

/* Skips a JSON string starting at p (on its opening quote); returns the byte after it, or NULL. */
static const char *skip_string(const char *p)
{
    for (p++; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Splits a flat JSON object into its fields (nested arrays and objects are raw values).
 * Returns the count, or -1 when the line is not an object. */
static int json_fields(const char *line, jfield *f, int max)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '{')
        return -1;
    int n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '}')
            return n;
        if (*p != '"' || n >= max)
            return -1;
        const char *kend = skip_string(p);
        if (!kend)
            return -1;
        f[n].key = p + 1;
        f[n].klen = (size_t)(kend - p - 2);
        p = kend;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != ':')
            return -1;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *v = p;
        int depth = 0;
        while (*p && (depth > 0 || (*p != ',' && *p != '}'))) {
            if (*p == '"') {
                p = skip_string(p);
                if (!p)
                    return -1;
                continue;
            }
            depth += (*p == '[' || *p == '{') - (*p == ']' || *p == '}');
            p++;
        }
        if (!*p)
            return -1;
        const char *vend = p;
        while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
            vend--;
        f[n].val = v;
        f[n].vlen = (size_t)(vend - v);
        n++;
    }
}

static const jfield *jfind(const jfield *f, int n, const char *key, size_t klen)
{
    for (int i = 0; i < n; i++)
        if (f[i].klen == klen && memcmp(f[i].key, key, klen) == 0)
            return &f[i];
    return NULL;
}

/* One expected or written record: its log and its JSON object without "_log". */
typedef struct jrec {
    char *log;
    char *json;
} jrec;

typedef struct jrecs {
    jrec *v;
    size_t n, cap;
} jrecs;

static void jrecs_free(jrecs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].log);
        free(r->v[i].json);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int jrecs_add(jrecs *r, const char *log, size_t loglen, const char *json)
{
    if (ms_cli_grow((void **)&r->v, sizeof *r->v, &r->cap, r->n + 1))
        return -1;
    r->v[r->n].log = strndup(log, loglen);
    r->v[r->n].json = strdup(json);
    if (!r->v[r->n].log || !r->v[r->n].json) {
        free(r->v[r->n].log);
        free(r->v[r->n].json);
        return -1;
    }
    r->n++;
    return 0;
}

/* Reads expected.jsonl: each line's "_log" names its log (a string). */
static int read_expected(const char *path, jrecs *out, char *why, size_t wsize)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, wsize, "%s: no such file (write it with --update, then review it)", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    jfield fs[MAX_JFIELDS];
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        int nf = json_fields(line, fs, MAX_JFIELDS);
        const jfield *lg = nf > 0 ? jfind(fs, nf, "_log", 4) : NULL;
        if (!lg || lg->vlen < 2 || lg->val[0] != '"') {
            snprintf(why, wsize, "%s:%d: not a JSON object with a \"_log\" string", path, lineno);
            rc = -1;
            break;
        }
        if (jrecs_add(out, lg->val + 1, lg->vlen - 2, line)) {
            rc = -1;
            snprintf(why, wsize, "out of memory");
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* The records written, as jrecs whose json carries "_log" first (as expected.jsonl holds them). */
static int written_records(const ms_record_list *l, jrecs *out)
{
    for (size_t i = 0; i < l->n; i++) {
        const ms_record *r = &l->v[i];
        const char *body = r->line;
        while (*body == ' ')
            body++;
        if (*body != '{')
            continue;
        size_t need = strlen(r->log->name) * 2 + strlen(body) + 16;
        char *j = malloc(need);
        if (!j)
            return -1;
        snprintf(j, need, "{\"_log\":\"%s\"%s%s", r->log->name, body[1] == '}' ? "" : ",", body + 1);
        int rc = jrecs_add(out, r->log->name, strlen(r->log->name), j);
        free(j);
        if (rc)
            return -1;
    }
    return 0;
}

static int cmp_log(const void *a, const void *b)
{
    return strcmp(((const jrec *)a)->log, ((const jrec *)b)->log);
}

/* Sorts by log name, keeping each log's order (a stable sort on an index). */
static void group_by_log(jrecs *r)
{
    for (size_t i = 1; i < r->n; i++) {
        jrec x = r->v[i];
        size_t j = i;
        while (j > 0 && cmp_log(&r->v[j - 1], &x) > 0) {
            r->v[j] = r->v[j - 1];
            j--;
        }
        r->v[j] = x;
    }
}

/* True when two records hold the same fields with the same values (in any order). */
static bool same_record(const char *a, const char *b)
{
    jfield fa[MAX_JFIELDS], fb[MAX_JFIELDS];
    int na = json_fields(a, fa, MAX_JFIELDS), nb = json_fields(b, fb, MAX_JFIELDS);
    if (na < 0 || nb < 0)
        return strcmp(a, b) == 0;
    if (na != nb)
        return false;
    for (int i = 0; i < na; i++) {
        const jfield *o = jfind(fb, nb, fa[i].key, fa[i].klen);
        if (!o || o->vlen != fa[i].vlen || memcmp(o->val, fa[i].val, o->vlen) != 0)
            return false;
    }
    return true;
}

/* Prints the fields in which want and got differ. */
static void print_field_diff(const char *want, const char *got)
{
    jfield fa[MAX_JFIELDS], fb[MAX_JFIELDS];
    int na = json_fields(want, fa, MAX_JFIELDS), nb = json_fields(got, fb, MAX_JFIELDS);
    if (na < 0 || nb < 0)
        return;
    for (int i = 0; i < na; i++) {
        const jfield *o = jfind(fb, nb, fa[i].key, fa[i].klen);
        if (!o)
            printf("      %.*s: expected %.*s, not written\n", (int)fa[i].klen, fa[i].key, (int)fa[i].vlen, fa[i].val);
        else if (o->vlen != fa[i].vlen || memcmp(o->val, fa[i].val, o->vlen) != 0)
            printf("      %.*s: expected %.*s, got %.*s\n", (int)fa[i].klen, fa[i].key, (int)fa[i].vlen, fa[i].val,
                   (int)o->vlen, o->val);
    }
    for (int i = 0; i < nb; i++)
        if (!jfind(fa, na, fb[i].key, fb[i].klen))
            printf("      %.*s: not expected, got %.*s\n", (int)fb[i].klen, fb[i].key, (int)fb[i].vlen, fb[i].val);
}

/* Compares per log, in order; prints what differs. Returns the number of differing records. */
static int diff_records(const char *name, jrecs *want, jrecs *got)
{
    group_by_log(want);
    group_by_log(got);
    int bad = 0;
    size_t i = 0, j = 0;
    while (i < want->n || j < got->n) {
        const char *log = i < want->n && (j >= got->n || strcmp(want->v[i].log, got->v[j].log) <= 0)
                              ? want->v[i].log : got->v[j].log;
        size_t wi = i, gj = j;
        while (i < want->n && strcmp(want->v[i].log, log) == 0)
            i++;
        while (j < got->n && strcmp(got->v[j].log, log) == 0)
            j++;
        size_t nw = i - wi, ng = j - gj;
        if (nw != ng) {
            printf("  %s: log '%s': %zu record(s) expected, %zu written\n", name, log, nw, ng);
            bad++;
        }
        for (size_t k = 0; k < MS_MAX(nw, ng); k++) {
            const char *w = k < nw ? want->v[wi + k].json : NULL, *g = k < ng ? got->v[gj + k].json : NULL;
            if (w && g && same_record(w, g))
                continue;
            bad++;
            if (bad > 8) {
                if (bad == 9)
                    printf("  %s: (more differences not shown)\n", name);
                continue;
            }
            printf("  %s: log '%s', record %zu:\n", name, log, k + 1);
            printf("    expected: %s\n", w ? w : "(none)");
            printf("    written:  %s\n", g ? g : "(none)");
            if (w && g)
                print_field_diff(w, g);
        }
    }
    return bad;
}

/* ---- cases --------------------------------------------------------------------------------- */

typedef struct case_input {
    char dir[1024];
    char capture[1100];   /* the capture, or "" for byte files */
    bool has_client, has_server;
    ms_stream_opts stream;
    char ports[64], addrs[128];
} case_input;

static bool exists(const char *dir, const char *name)
{
    char p[1100];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_capture_name(const char *n)
{
    size_t l = strlen(n);
    return (l > 5 && strcmp(n + l - 5, ".pcap") == 0) || (l > 7 && strcmp(n + l - 7, ".pcapng") == 0);
}

/* Reads case.conf into the stream options. -1 with why filled on a bad line. */
static int read_conf(case_input *ci, char *why, size_t wsize)
{
    char p[1100];
    snprintf(p, sizeof p, "%s/case.conf", ci->dir);
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    char line[512];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *k = line + strspn(line, " \t");
        if (*k == '#' || *k == '\0')
            continue;
        char *v = k + strcspn(k, " \t");
        if (*v)
            *v++ = '\0';
        v += strspn(v, " \t");
        if (strcmp(k, "ports") == 0 && *v) {
            snprintf(ci->ports, sizeof ci->ports, "%s", v);
            ci->stream.ports = ci->ports;
        } else if (strcmp(k, "addrs") == 0 && *v) {
            snprintf(ci->addrs, sizeof ci->addrs, "%s", v);
            ci->stream.addrs = ci->addrs;
        } else if (strcmp(k, "udp") == 0) {
            ci->stream.udp = true;
        } else if (strcmp(k, "time") == 0 && *v) {
            ci->stream.ts = strtod(v, NULL);
        } else {
            snprintf(why, wsize, "%s:%d: unknown setting '%s' (ports, addrs, udp, time)", p, lineno, k);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

typedef struct capture_check {
    ms_check *ck;
} capture_check;

static void check_recorded(void *ud, const ms_rec_conn *rc)
{
    ms_check_conn(((capture_check *)ud)->ck, rc);
}

static void capture_cli_opts(const char *path, uint64_t seed, ms_cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->command = "test";
    o->inputs[0] = path;
    o->ninputs = 1;
    o->progress = 0;
    o->quiet = true;
    o->gap_timeout_ns = 30ull * 1000000000ull;
    o->idle_timeout_ns = 300ull * 1000000000ull;
    o->seed = seed;
}

/* Runs one case; prints its result. Returns true when it passed. */
static bool run_case(const test_opts *t, case_input *ci, const char *name)
{
    char why[4096] = "";
    ms_err err;
    err.msg[0] = '\0';
    uint64_t seed = t->check.seed;
    ci->stream.seed = seed;
    if (read_conf(ci, why, sizeof why)) {
        printf("FAIL %s: %s\n", name, why);
        return false;
    }
    /* the records, written as a run writes them */
    ms_records_opts ro = t->check.rt;
    ro.format = MS_FMT_JSON;
    ms_records *rec = ms_records_new(&ro, &err);
    if (!rec) {
        printf("FAIL %s: %s\n", name, err.msg);
        return false;
    }
    ms_record_list written = { 0 };
    ms_rec_conn *conn = NULL;
    char cpath[1100], spath[1100];
    snprintf(cpath, sizeof cpath, "%s/client.bin", ci->dir);
    snprintf(spath, sizeof spath, "%s/server.bin", ci->dir);
    ci->stream.client_path = ci->has_client ? cpath : NULL;
    ci->stream.server_path = ci->has_server ? spath : NULL;
    bool ok = true;
    if (ci->capture[0]) {
        ms_cli_opts co;
        capture_cli_opts(ci->capture, seed, &co);
        if (ms_cmd_dispatch_run(&co, ms_lua_parser(ms_records_lua(rec))) != 0) {
            snprintf(why, sizeof why, "%s: the capture could not be read whole", ci->capture);
            ok = false;
        }
        ms_records_take(rec, -1, 0, &written);
    } else {
        conn = ms_stream_record(&ci->stream, ms_records_lua(rec), &err);
        ms_replay_opts rpo = { seed, 0 };
        ms_replay_result res;
        if (!conn || ms_replay_run(ms_records_lua(rec), rec, conn, MS_SEG_CAPTURED, &rpo, &written, &res) != 0) {
            snprintf(why, sizeof why, "%s", conn ? "out of memory" : err.msg);
            ok = false;
        } else if (!res.protocol[0]) {
            snprintf(why, sizeof why, "no protocol claimed the connection (ports %u > %u): set 'ports' in case.conf",
                     conn->info.client.port, conn->info.server.port);
            ok = false;
        }
    }
    const char *errors = ms_records_errors(rec);
    if (ok && *errors) {
        snprintf(why, sizeof why, "the parser raised:\n  %s", errors);
        ok = false;
    }
    jrecs got = { 0 }, want = { 0 };
    char epath[1100];
    snprintf(epath, sizeof epath, "%s/expected.jsonl", ci->dir);
    if (ok && written_records(&written, &got)) {
        snprintf(why, sizeof why, "out of memory");
        ok = false;
    }
    int ndiff = 0;
    if (ok && t->update) {
        group_by_log(&got);
        FILE *f = fopen(epath, "w");
        for (size_t i = 0; f && i < got.n; i++)
            fprintf(f, "%s\n", got.v[i].json);
        if (!f || fclose(f) != 0) {
            snprintf(why, sizeof why, "%s: cannot write", epath);
            ok = false;
        }
    } else if (ok) {
        if (read_expected(epath, &want, why, sizeof why))
            ok = false;
        else if ((ndiff = diff_records(name, &want, &got)) > 0)
            snprintf(why, sizeof why, "%d record(s) differ from expected.jsonl (above)", ndiff);
        ok = ok && ndiff == 0;
    }
    /* the segmentation check */
    char summary[512] = "";
    if (!t->no_check && why[0] == '\0') {
        ms_check_opts cko = t->check;
        cko.name = name;
        ms_check *ck = ms_check_new(&cko, &err);
        if (!ck) {
            snprintf(why, sizeof why, "%s", err.msg);
            ok = false;
        } else {
            if (conn) {
                ms_check_conn(ck, conn);
            } else {
                capture_check cc = { ck };
                ms_recorder *r = ms_recorder_new(0, check_recorded, &cc);
                ms_cli_opts co;
                capture_cli_opts(ci->capture, seed, &co);
                if (r) {
                    ms_recorder_claims(r, ms_lua_parser(ms_check_lua(ck)));
                    ms_cmd_dispatch_run(&co, ms_recorder_parser(r));
                }
                ms_recorder_free(r);
            }
            if (!ms_check_ok(ck)) {
                ms_check_summary(ck, summary, sizeof summary);
                snprintf(why, sizeof why, "segmentation check: %s", summary);
                ok = false;
            } else {
                const ms_check_stats *cs = ms_check_get_stats(ck);
                snprintf(summary, sizeof summary, "%llu replays agree", (unsigned long long)cs->replays);
            }
            ms_check_free(ck);
        }
    }
    if (ok && t->update)
        printf("updated %s: %zu record(s) written to expected.jsonl%s%s\n", name, got.n, summary[0] ? "; " : "",
               summary);
    else if (ok && !t->quiet)
        printf("ok   %s: %zu record(s)%s%s\n", name, got.n, summary[0] ? ", " : "", summary);
    else if (!ok)
        printf("FAIL %s: %s\n", name, why);
    jrecs_free(&got);
    jrecs_free(&want);
    ms_record_list_free(&written);
    ms_rec_conn_free(conn);
    ms_records_free(rec);
    return ok;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs dir as a case when it is one, else every case below it (sorted). */
static void walk(const test_opts *t, const char *dir, const char *top, tally *tl, int depth)
{
    case_input ci;
    memset(&ci, 0, sizeof ci);
    snprintf(ci.dir, sizeof ci.dir, "%s", dir);
    ci.has_client = exists(dir, "client.bin");
    ci.has_server = exists(dir, "server.bin");
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **subs = NULL;
    size_t nsubs = 0, cap = 0;
    int ncaptures = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[1100];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0)
            continue;
        if (S_ISREG(st.st_mode) && is_capture_name(e->d_name)) {
            ncaptures++;
            snprintf(ci.capture, sizeof ci.capture, "%s", p);
        } else if (S_ISDIR(st.st_mode)) {
            if (nsubs == cap) {
                cap = cap ? cap * 2 : 16;
                char **ns = realloc(subs, cap * sizeof *ns);
                if (!ns)
                    break;
                subs = ns;
            }
            subs[nsubs++] = strdup(p);
        }
    }
    closedir(d);
    bool is_case = ci.has_client || ci.has_server || ncaptures > 0 || exists(dir, "expected.jsonl");
    if (is_case) {
        const char *name = dir;
        size_t tl_len = strlen(top);
        if (depth > 0 && strncmp(dir, top, tl_len) == 0 && dir[tl_len] == '/')
            name = dir + tl_len + 1;
        tl->cases++;
        if (ncaptures > 1 || (ncaptures == 1 && (ci.has_client || ci.has_server)))
            printf("FAIL %s: a case holds byte files or one capture, not both or several\n", name);
        else if (!ci.has_client && !ci.has_server && ncaptures == 0)
            printf("FAIL %s: no input: add client.bin/server.bin or a capture\n", name);
        else if (run_case(t, &ci, name))
            tl->passed++;
    } else if (depth < 16) {
        qsort(subs, nsubs, sizeof *subs, cmp_names);
        for (size_t i = 0; i < nsubs; i++)
            walk(t, subs[i], top, tl, depth + 1);
    }
    for (size_t i = 0; i < nsubs; i++)
        free(subs[i]);
    free(subs);
}

enum { T_UPDATE, T_NOCHECK, T_SEED, T_SEGS, T_STRICT, T_BYTES, T_UNSAFE, T_MEM, T_VERBOSE, T_QUIET, T_SCRIPT,
       T_HELP, T_N };

int ms_cmd_test(int argc, char **argv)
{
    ms_xopt xs[T_N] = {
        [T_UPDATE] = { "update", false, NULL, 0 },     [T_NOCHECK] = { "no-check", false, NULL, 0 },
        [T_SEED] = { "seed", true, NULL, 0 },          [T_SEGS] = { "segmentations", true, NULL, 0 },
        [T_STRICT] = { "strict-time", false, NULL, 0 }, [T_BYTES] = { "byte-limit", true, NULL, 0 },
        [T_UNSAFE] = { "unsafe-lua", false, NULL, 0 }, [T_MEM] = { "lua-mem", true, NULL, 0 },
        [T_VERBOSE] = { "v", false, NULL, 0 },         [T_QUIET] = { "q", false, NULL, 0 },
        [T_SCRIPT] = { "s", true, NULL, 0 },           [T_HELP] = { "help", false, NULL, 0 },
    };
    /* -s may repeat: take them one at a time */
    test_opts t;
    memset(&t, 0, sizeof t);
    ms_check_opts_default(&t.check);
    t.check.seed = 1;
    const char *extra[MS_CLI_MAX_SCRIPTS];
    int nextra = 0;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-s") == 0) && i + 1 < argc && nextra < MS_CLI_MAX_SCRIPTS) {
            extra[nextra++] = argv[i + 1];
            memmove(argv + i, argv + i + 2, (size_t)(argc - i - 1) * sizeof *argv);
            argc -= 2;
            i--;
        }
    }
    argc = ms_xopts_take(argc, argv, xs, T_N);
    if (argc < 0)
        return 2;
    if (xs[T_HELP].seen || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
        fputs(test_usage, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            ms_cli_error("unknown option '%s' (see 'moonshark test --help')", argv[i]);
            return 2;
        }
    if (argc < 3) {
        ms_cli_error("usage: moonshark test PARSER.lua CASE_OR_DIR... (see 'moonshark test --help')");
        return 2;
    }
    t.scripts[t.nscripts++] = argv[1];
    for (int i = 0; i < nextra && t.nscripts < MS_CLI_MAX_SCRIPTS; i++)
        t.scripts[t.nscripts++] = extra[i];
    unsigned long long v;
    if (xs[T_SEED].value) {
        if (ms_xopts_count(&xs[T_SEED], ~0ull, &v))
            return 2;
        t.check.seed = v;
    }
    if (xs[T_SEGS].value && ms_check_segs_parse(xs[T_SEGS].value, &t.check.segs))
        return 2;
    if (xs[T_BYTES].value) {
        if (ms_xopts_count(&xs[T_BYTES], 1ull << 40, &v))
            return 2;
        t.check.byte_limit = v;
    }
    if (xs[T_MEM].value) {
        if (ms_xopts_count(&xs[T_MEM], 1u << 20, &v))
            return 2;
        t.check.rt.mem_limit = (size_t)v << 20;
    }
    t.update = xs[T_UPDATE].seen > 0;
    t.no_check = xs[T_NOCHECK].seen > 0;
    t.quiet = xs[T_QUIET].seen > 0;
    t.check.strict_time = xs[T_STRICT].seen > 0;
    t.check.max_reports = xs[T_VERBOSE].seen ? -1 : 1;
    t.check.rt.sandbox = xs[T_UNSAFE].seen == 0;
    t.check.rt.scripts = t.scripts;
    t.check.rt.nscripts = t.nscripts;
    tally tl = { 0, 0 };
    for (int i = 2; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            printf("FAIL %s: not a directory of cases\n", argv[i]);
            tl.cases++;
            continue;
        }
        char top[1024];
        snprintf(top, sizeof top, "%s", argv[i]);
        size_t l = strlen(top);
        while (l > 1 && top[l - 1] == '/')
            top[--l] = '\0';
        walk(&t, top, top, &tl, 0);
    }
    const char *slash = strrchr(argv[1], '/');
    printf("moonshark test: %s: %d case(s), %d passed, %d failed\n", slash ? slash + 1 : argv[1], tl.cases, tl.passed,
           tl.cases - tl.passed);
    fflush(stdout);
    return tl.cases > 0 && tl.passed == tl.cases ? 0 : 1;
}
