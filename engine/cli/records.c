/* records.c — a Lua runtime whose records are read back from its log files (one per log, in a
 * temporary directory removed at the end), tagged with where they came out, and whose script
 * errors are kept as text (a memory stream). */
#include "cli/records.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/record.h"

typedef struct log_file {
    ms_rlog log;
    char *path;
    FILE *rd;               /* read side of the file the runtime writes */
    char *types_line;       /* pending "#fields" until "#types" comes */
} log_file;

struct ms_records {
    ms_lua *rt;
    ms_out_format format;
    char dir[64];           /* the temporary directory */
    log_file *logs;
    int nlogs, cap_logs;
    uint64_t taken;         /* records read back so far */
    uint64_t seq;
    FILE *errs;             /* memory stream the runtime reports script errors to */
    char *err_buf;
    size_t err_len, err_read;
    char *err_out;          /* what ms_records_errors returned last */
    char *line;             /* getline buffer */
    size_t line_cap;
};

void ms_record_list_clear(ms_record_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].line);
    l->n = 0;
}

void ms_record_list_free(ms_record_list *l)
{
    ms_record_list_clear(l);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

int ms_rlog_field(const ms_rlog *log, const char *name)
{
    for (int i = 0; i < log->nfields; i++)
        if (strcmp(log->fields[i], name) == 0)
            return i;
    return -1;
}

ms_lua *ms_records_lua(ms_records *r)
{
    return r->rt;
}

ms_records *ms_records_new(const ms_records_opts *o, ms_err *err)
{
    ms_records *r = calloc(1, sizeof *r);
    if (!r) {
        ms_fail(err, MS_ENOMEM, "out of memory");
        return NULL;
    }
    r->format = o->format == MS_FMT_JSON ? MS_FMT_JSON : MS_FMT_TSV;
    const char *tmp = getenv("TMPDIR");
    int w = snprintf(r->dir, sizeof r->dir, "%s/moonshark-XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (w <= 0 || (size_t)w >= sizeof r->dir || !mkdtemp(r->dir)) {
        r->dir[0] = '\0';
        ms_fail(err, MS_EIO, "cannot make a temporary directory for the records (set TMPDIR)");
        ms_records_free(r);
        return NULL;
    }
    r->errs = open_memstream(&r->err_buf, &r->err_len);
    ms_lua_opts lo;
    ms_lua_opts_default(&lo);
    lo.sandbox = o->sandbox;
    if (o->mem_limit)
        lo.mem_limit = o->mem_limit;
    lo.format = r->format;
    lo.out_dir = r->dir;
    lo.errlog = r->errs;
    lo.quiet_errors = r->errs == NULL;
    r->rt = r->errs ? ms_lua_new(&lo, err) : NULL;
    if (!r->rt) {
        if (!r->errs)
            ms_fail(err, MS_ENOMEM, "out of memory");
        ms_records_free(r);
        return NULL;
    }
    int rc = ms_lua_load_path(r->rt, getenv("MOONSHARK_PATH"), err);
    for (int i = 0; rc == 0 && i < o->nscripts; i++)
        rc = ms_lua_load_file(r->rt, o->scripts[i], err);
    if (rc == 0 && ms_lua_protocol_count(r->rt) == 0)
        rc = ms_fail(err, MS_EINVAL, "the scripts registered no protocol: call moonshark.protocol{name=..., tcp_ports={...}}");
    if (rc) {
        ms_records_free(r);
        return NULL;
    }
    ms_record_list top = { 0 }; /* records the scripts wrote while loading belong to no connection */
    ms_records_take(r, -1, 0, &top);
    ms_record_list_free(&top);
    return r;
}

static void free_log(log_file *lf)
{
    for (int i = 0; i < lf->log.nfields; i++) {
        free(lf->log.fields[i]);
        free(lf->log.types[i]);
    }
    free(lf->log.fields);
    free(lf->log.types);
    free(lf->log.name);
    free(lf->types_line);
    if (lf->rd)
        fclose(lf->rd);
    if (lf->path)
        unlink(lf->path);
    free(lf->path);
}

void ms_records_free(ms_records *r)
{
    if (!r)
        return;
    ms_lua_free(r->rt);
    for (int i = 0; i < r->nlogs; i++)
        free_log(&r->logs[i]);
    free(r->logs);
    if (r->dir[0]) {
        /* files the runtime made that we never opened (logs that wrote nothing) */
        DIR *d = opendir(r->dir);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char p[512];
            if (snprintf(p, sizeof p, "%s/%s", r->dir, e->d_name) < (int)sizeof p)
                unlink(p);
        }
        if (d)
            closedir(d);
        rmdir(r->dir);
    }
    if (r->errs)
        fclose(r->errs);
    free(r->err_buf);
    free(r->err_out);
    free(r->line);
    free(r);
}

/* Opens for reading the log files the runtime made since the last look. */
static int scan_logs(ms_records *r)
{
    DIR *d = opendir(r->dir);
    if (!d)
        return MS_EIO;
    const char *ext = ".log"; /* the sinks name every format NAME.log */
    size_t elen = strlen(ext);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n <= elen || strcmp(e->d_name + n - elen, ext) != 0)
            continue;
        bool known = false;
        for (int i = 0; i < r->nlogs && !known; i++)
            known = strncmp(r->logs[i].log.name, e->d_name, n - elen) == 0 && r->logs[i].log.name[n - elen] == '\0';
        if (known)
            continue;
        if (r->nlogs == r->cap_logs) {
            int ncap = r->cap_logs ? r->cap_logs * 2 : 8;
            log_file *nl = realloc(r->logs, (size_t)ncap * sizeof *nl);
            if (!nl) {
                rc = MS_ENOMEM;
                break;
            }
            r->logs = nl;
            r->cap_logs = ncap;
        }
        log_file *lf = &r->logs[r->nlogs];
        memset(lf, 0, sizeof *lf);
        lf->log.name = strndup(e->d_name, n - elen);
        size_t plen = strlen(r->dir) + n + 2;
        lf->path = malloc(plen);
        if (lf->path)
            snprintf(lf->path, plen, "%s/%s", r->dir, e->d_name);
        lf->rd = lf->path ? fopen(lf->path, "r") : NULL;
        if (!lf->log.name || !lf->rd) {
            free_log(lf);
            rc = MS_EIO;
            break;
        }
        r->nlogs++;
    }
    closedir(d);
    return rc;
}

/* Splits a header line "#fields\ta\tb" into its names (after the first cell). */
static int split_header(const char *line, char ***out)
{
    int n = 0;
    for (const char *p = line; *p; p++)
        n += *p == '\t';
    char **v = calloc((size_t)(n ? n : 1), sizeof *v);
    if (!v)
        return -1;
    const char *p = strchr(line, '\t');
    for (int i = 0; i < n && p; i++) {
        const char *s = p + 1;
        p = strchr(s, '\t');
        v[i] = strndup(s, p ? (size_t)(p - s) : strlen(s));
    }
    *out = v;
    return n;
}

static void header_line(log_file *lf, const char *line)
{
    if (strncmp(line, "#fields\t", 8) == 0) {
        free(lf->types_line);
        lf->types_line = strdup(line);
        return;
    }
    if (strncmp(line, "#types\t", 7) != 0 || !lf->types_line || lf->log.nfields)
        return;
    char **names = NULL, **types = NULL;
    int nn = split_header(lf->types_line, &names);
    int nt = split_header(line, &types);
    if (nn > 0 && nn == nt) {
        lf->log.fields = names;
        lf->log.types = types;
        lf->log.nfields = nn;
        return;
    }
    for (int i = 0; i < nn; i++)
        free(names[i]);
    for (int i = 0; i < nt; i++)
        free(types[i]);
    free(names);
    free(types);
}

static int push(ms_record_list *out, const ms_rlog *log, const char *line, size_t len, int dir, uint64_t off,
                uint64_t seq)
{
    if (ms_cli_grow((void **)&out->v, sizeof *out->v, &out->cap, out->n + 1))
        return MS_ENOMEM;
    char *copy = strndup(line, len);
    if (!copy)
        return MS_ENOMEM;
    out->v[out->n++] = (ms_record){ log, copy, dir, off, seq };
    return 0;
}

int ms_records_take(ms_records *r, int dir, uint64_t off, ms_record_list *out)
{
    uint64_t now = ms_lua_get_stats(r->rt)->records;
    if (now == r->taken)
        return 0;
    ms_lua_flush(r->rt);
    int got = 0;
    for (int pass = 0; pass < 2 && r->taken + (uint64_t)got < now; pass++) {
        if (pass == 1 || r->nlogs == 0) {
            int rc = scan_logs(r);
            if (rc)
                return rc;
        }
        for (int i = 0; i < r->nlogs; i++) {
            log_file *lf = &r->logs[i];
            ssize_t n;
            clearerr(lf->rd);
            while ((n = getline(&r->line, &r->line_cap, lf->rd)) > 0) {
                size_t len = (size_t)n;
                if (r->line[len - 1] == '\n')
                    len--;
                r->line[len] = '\0';
                if (r->format == MS_FMT_TSV && r->line[0] == '#') {
                    header_line(lf, r->line);
                    continue;
                }
                if (push(out, &lf->log, r->line, len, dir, off, r->seq++))
                    return MS_ENOMEM;
                got++;
            }
        }
    }
    r->taken = now;
    return got;
}

const char *ms_records_errors(ms_records *r)
{
    free(r->err_out);
    r->err_out = NULL;
    if (!r->errs || fflush(r->errs) != 0 || r->err_len <= r->err_read)
        return "";
    r->err_out = strndup(r->err_buf + r->err_read, r->err_len - r->err_read);
    r->err_read = r->err_len;
    return r->err_out ? r->err_out : "";
}
