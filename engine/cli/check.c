/* check.c — the segmentation check: replays of each connection at every chosen segmentation, the
 * comparison of their records with the replay as captured, and the reports of what differs, what
 * raised and what stalled. */
#include "cli/check.h"

#include <stdlib.h>
#include <string.h>

#include "cli/replay.h"

struct ms_check {
    ms_check_opts o;
    ms_records *rt[MS_SEG_COUNT]; /* one runtime per segmentation run */
    ms_check_stats stats;
    int reported;                 /* connections reported in full */
};

void ms_check_opts_default(ms_check_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rt.sandbox = true;
    o->byte_limit = 65536;
    o->segs = MS_SEG_DEFAULT_MASK;
    o->stall_calls = 8;
    o->max_reports = 1;
    o->name = "parser";
}

ms_check *ms_check_new(const ms_check_opts *o, ms_err *err)
{
    ms_check *ck = calloc(1, sizeof *ck);
    if (!ck) {
        ms_fail(err, MS_ENOMEM, "out of memory");
        return NULL;
    }
    ck->o = *o;
    ck->o.rt.format = MS_FMT_TSV;
    ck->o.segs |= 1u << MS_SEG_CAPTURED;
    if (!ck->o.report)
        ck->o.report = stdout;
    for (int s = 0; s < MS_SEG_COUNT; s++) {
        if (!(ck->o.segs & (1u << s)))
            continue;
        ck->rt[s] = ms_records_new(&ck->o.rt, err);
        if (!ck->rt[s]) {
            ms_check_free(ck);
            return NULL;
        }
    }
    return ck;
}

void ms_check_free(ms_check *ck)
{
    if (!ck)
        return;
    for (int s = 0; s < MS_SEG_COUNT; s++)
        ms_records_free(ck->rt[s]);
    free(ck);
}

ms_lua *ms_check_lua(ms_check *ck)
{
    return ms_records_lua(ck->rt[MS_SEG_CAPTURED]);
}

const ms_check_stats *ms_check_get_stats(const ms_check *ck)
{
    return &ck->stats;
}

bool ms_check_ok(const ms_check *ck)
{
    return ck->stats.differ == 0 && ck->stats.raised == 0 && ck->stats.stalled == 0;
}

/* ---- comparing records ---------------------------------------------------------------- */

typedef struct keyed {
    const ms_record *rec;
    char *key;        /* log name, then the compared cells (owned) */
    bool matched;
} keyed;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ignored_type(const char *type, bool strict_time)
{
    return !strict_time && (strcmp(type, "time") == 0 || strcmp(type, "interval") == 0);
}

static bool is_set(const char *type)
{
    return strncmp(type, "set[", 4) == 0 || strncmp(type, "vector[", 7) == 0;
}

/* Appends a set cell with its items sorted (items are ','-separated; a ',' inside an item is
 * escaped by the sink). */
static char *put_sorted_set(char *d, const char *cell, size_t len)
{
    char *copy = strndup(cell, len);
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += cell[i] == ',';
    char **items = copy ? malloc(n * sizeof *items) : NULL;
    if (!items) {
        free(copy);
        memcpy(d, cell, len);
        return d + len;
    }
    size_t k = 0;
    for (char *p = copy, *tok; (tok = strsep(&p, ",")) != NULL;)
        items[k++] = tok;
    qsort(items, k, sizeof *items, cmp_str);
    for (size_t i = 0; i < k; i++) {
        size_t l = strlen(items[i]);
        if (i)
            *d++ = ',';
        memcpy(d, items[i], l);
        d += l;
    }
    free(items);
    free(copy);
    return d;
}

/* The compared form of a record. */
static char *record_key(const ms_record *r, bool strict_time)
{
    size_t nlen = strlen(r->log->name), llen = strlen(r->line);
    char *key = malloc(nlen + llen + 3);
    if (!key)
        return NULL;
    char *d = key;
    memcpy(d, r->log->name, nlen);
    d += nlen;
    *d++ = '\x1f';
    const char *p = r->line;
    for (int i = 0; p; i++) {
        const char *end = strchr(p, '\t');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *type = i < r->log->nfields ? r->log->types[i] : "string";
        if (!ignored_type(type, strict_time)) {
            d = is_set(type) ? put_sorted_set(d, p, len) : (memcpy(d, p, len), d + len);
            *d++ = '\t';
        }
        p = end ? end + 1 : NULL;
    }
    *d = '\0';
    return key;
}

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->rec->seq < y->rec->seq ? -1 : x->rec->seq > y->rec->seq;
}

static keyed *keyed_list(const ms_record_list *l, bool strict_time)
{
    keyed *k = calloc(l->n ? l->n : 1, sizeof *k);
    if (!k)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        k[i].rec = &l->v[i];
        k[i].key = record_key(&l->v[i], strict_time);
        if (!k[i].key) {
            for (size_t j = 0; j < i; j++)
                free(k[j].key);
            free(k);
            return NULL;
        }
    }
    qsort(k, l->n, sizeof *k, cmp_keyed);
    return k;
}

static void keyed_free(keyed *k, size_t n)
{
    for (size_t i = 0; k && i < n; i++)
        free(k[i].key);
    free(k);
}

/* The first record (in coming-out order) left unmatched in a, or NULL. */
static const ms_record *first_unmatched(const keyed *a, size_t n)
{
    const ms_record *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (!a[i].matched && (!best || a[i].rec->seq < best->seq))
            best = a[i].rec;
    return best;
}

/* Matches the two sorted lists; true when every record has its twin. */
static bool match_all(keyed *a, size_t na, keyed *b, size_t nb)
{
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        int c = strcmp(a[i].key, b[j].key);
        if (c == 0) {
            a[i++].matched = true;
            b[j++].matched = true;
        } else if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    for (i = 0; i < na; i++)
        if (!a[i].matched)
            return false;
    for (j = 0; j < nb; j++)
        if (!b[j].matched)
            return false;
    return true;
}

/* ---- reports ------------------------------------------------------------------------------ */

static void conn_label(const ms_rec_conn *rc, const char *proto, char *buf, size_t size)
{
    char a[64], b[64];
    ms_addr_format(rc->info.client.addr, rc->info.client.family, a, sizeof a);
    ms_addr_format(rc->info.server.addr, rc->info.server.family, b, sizeof b);
    snprintf(buf, size, "%s (%s %s:%u > %s:%u, %s)", rc->uid, rc->info.udp ? "udp" : "tcp", a,
             rc->info.client.port, b, rc->info.server.port, proto);
}

static void print_where(FILE *f, const ms_record *r)
{
    if (r->dir < 0)
        fputs("came out when the connection opened or closed", f);
    else
        fprintf(f, "came out at %s byte %llu", r->dir == MS_PARSER_CLIENT ? "client" : "server",
                (unsigned long long)r->off);
}

/* The record as "log: name=value ..." (unset columns left out). */
static void print_record(FILE *f, const ms_record *r)
{
    fprintf(f, "    %s:", r->log->name);
    const char *p = r->line;
    for (int i = 0; p; i++) {
        const char *end = strchr(p, '\t');
        int len = (int)(end ? (size_t)(end - p) : strlen(p));
        if (!(len == 1 && p[0] == '-')) {
            if (i < r->log->nfields)
                fprintf(f, " %s=%.*s", r->log->fields[i], len, p);
            else
                fprintf(f, " %.*s", len, p);
        }
        p = end ? end + 1 : NULL;
    }
    fputc('\n', f);
}

/* Names the columns in which a and b (rows of one log) differ. */
static void print_differing(FILE *f, const ms_record *a, const ms_record *b, bool strict_time)
{
    if (a->log != b->log && strcmp(a->log->name, b->log->name) != 0)
        return;
    fputs("  columns that differ:", f);
    const char *p = a->line, *q = b->line;
    int shown = 0;
    for (int i = 0; p || q; i++) {
        const char *pe = p ? strchr(p, '\t') : NULL, *qe = q ? strchr(q, '\t') : NULL;
        size_t pl = p ? (pe ? (size_t)(pe - p) : strlen(p)) : 0, ql = q ? (qe ? (size_t)(qe - q) : strlen(q)) : 0;
        const char *type = i < a->log->nfields ? a->log->types[i] : "string";
        if (!ignored_type(type, strict_time) && (pl != ql || (pl && memcmp(p, q, pl) != 0))) {
            fprintf(f, " %s", i < a->log->nfields ? a->log->fields[i] : "?");
            shown++;
        }
        p = pe ? pe + 1 : NULL;
        q = qe ? qe + 1 : NULL;
    }
    fputs(shown ? "\n" : " (only the order of set items)\n", f);
}

static bool may_report(ms_check *ck)
{
    if (ck->o.max_reports >= 0 && ck->reported >= ck->o.max_reports)
        return false;
    ck->reported++;
    return true;
}

static void report_diff(ms_check *ck, const ms_rec_conn *rc, const char *proto, int seg, keyed *base, size_t nb,
                        keyed *var, size_t nv)
{
    if (!may_report(ck))
        return;
    FILE *f = ck->o.report;
    char label[256];
    conn_label(rc, proto, label, sizeof label);
    const ms_record *want = first_unmatched(base, nb), *got = first_unmatched(var, nv);
    fprintf(f, "moonshark check: %s: the records of connection %s depend on the segmentation:\n", ck->o.name, label);
    fprintf(f, "  segmentation '%s': %s\n", ms_seg_name(seg), ms_seg_about(seg));
    fprintf(f, "  as captured: %zu record(s); '%s': %zu record(s)\n", nb, ms_seg_name(seg), nv);
    if (want) {
        fputs("  as captured, this record (", f);
        print_where(f, want);
        fputs("):\n", f);
        print_record(f, want);
    }
    if (got) {
        fprintf(f, "  '%s' has this one instead (", ms_seg_name(seg));
        print_where(f, got);
        fputs("):\n", f);
        print_record(f, got);
    } else {
        fprintf(f, "  '%s' has no record in its place\n", ms_seg_name(seg));
    }
    if (want && got)
        print_differing(f, want, got, ck->o.strict_time);
}

static void report_raise(ms_check *ck, const ms_rec_conn *rc, const char *proto, int seg, const char *errors)
{
    if (!may_report(ck))
        return;
    char label[256];
    conn_label(rc, proto, label, sizeof label);
    fprintf(ck->o.report, "moonshark check: %s: the parser raised on connection %s, segmentation '%s':\n  %s",
            ck->o.name, label, ms_seg_name(seg), *errors ? errors : "(no message)\n");
}

/* A direction stalls when the bytes it held at its end were presented stall_calls times or more
 * without the parser consuming any, or when it held more than the assembler keeps for it. */
static bool report_stalls(ms_check *ck, const ms_rec_conn *rc, const ms_replay_result *res)
{
    bool any = false;
    for (int d = 0; d < 2; d++) {
        const ms_replay_dir *rd = &res->dir[d];
        bool stalled = rd->end_held > 0 && rd->end_calls >= ck->o.stall_calls;
        bool over = rd->max_held > MS_CHECK_KEEP_MAX;
        if (!stalled && !over)
            continue;
        any = true;
        if (!may_report(ck))
            continue;
        char label[256];
        conn_label(rc, res->protocol, label, sizeof label);
        const char *side = d == MS_PARSER_CLIENT ? "client" : "server";
        if (stalled)
            fprintf(ck->o.report, "moonshark check: %s: the parser stalls on connection %s: the %s's bytes from "
                    "offset %llu to its end (%llu bytes) were presented %llu times without any being consumed\n",
                    ck->o.name, label, side, (unsigned long long)rd->end_from, (unsigned long long)rd->end_held,
                    (unsigned long long)rd->end_calls);
        if (over)
            fprintf(ck->o.report, "moonshark check: %s: on connection %s the parser held up to %llu unconsumed %s "
                    "bytes, more than the engine keeps (%u): a run would lose the oldest as a gap\n",
                    ck->o.name, label, (unsigned long long)rd->max_held, side, MS_CHECK_KEEP_MAX);
    }
    return any;
}

/* ---- one connection --------------------------------------------------------------------- */

int ms_check_conn(ms_check *ck, const ms_rec_conn *rc)
{
    ck->stats.conns++;
    if (rc->truncated) {
        ck->stats.truncated++;
        return 0;
    }
    ms_replay_opts ro = { ck->o.seed, ck->o.byte_limit };
    ms_record_list base = { 0 }, var = { 0 };
    ms_replay_result res0, res;
    int err = ms_replay_run(ms_records_lua(ck->rt[MS_SEG_CAPTURED]), ck->rt[MS_SEG_CAPTURED], rc, MS_SEG_CAPTURED, &ro, &base, &res0);
    ck->stats.replays++;
    if (err || !res0.protocol[0]) {
        ms_record_list_free(&base);
        return err;
    }
    ck->stats.claimed++;
    ck->stats.udp += rc->info.udp;
    ck->stats.records += base.n;
    int found = 0;
    if (res0.script_errors) {
        ck->stats.raised++;
        report_raise(ck, rc, res0.protocol, MS_SEG_CAPTURED, ms_records_errors(ck->rt[MS_SEG_CAPTURED]));
        found = 1;
    } else if (report_stalls(ck, rc, &res0)) {
        ck->stats.stalled++;
        found = 1;
    }
    keyed *kb = rc->info.udp ? NULL : keyed_list(&base, ck->o.strict_time);
    bool differs = false, raised = false;
    for (int s = MS_SEG_CAPTURED + 1; s < MS_SEG_COUNT && !rc->info.udp && !err; s++) {
        if (!ck->rt[s])
            continue;
        if (!kb) {
            err = MS_ENOMEM;
            break;
        }
        ms_record_list_clear(&var);
        err = ms_replay_run(ms_records_lua(ck->rt[s]), ck->rt[s], rc, s, &ro, &var, &res);
        ck->stats.replays++;
        if (err)
            break;
        if (res.script_errors) {
            const char *msg = ms_records_errors(ck->rt[s]);
            if (!found && !raised)
                report_raise(ck, rc, res.protocol, s, msg);
            raised = true;
            continue;
        }
        if (differs || found)
            continue; /* one report per connection; the other runtimes still see it */
        keyed *kv = keyed_list(&var, ck->o.strict_time);
        if (!kv) {
            err = MS_ENOMEM;
            break;
        }
        for (size_t i = 0; i < base.n; i++)
            kb[i].matched = false;
        if (!match_all(kb, base.n, kv, var.n)) {
            differs = true;
            report_diff(ck, rc, res0.protocol, s, kb, base.n, kv, var.n);
        }
        keyed_free(kv, var.n);
    }
    if (raised && !res0.script_errors) {
        ck->stats.raised++;
        found = 1;
    }
    if (differs) {
        ck->stats.differ++;
        found = 1;
    }
    keyed_free(kb, base.n);
    ms_record_list_free(&base);
    ms_record_list_free(&var);
    return err ? err : found;
}

void ms_check_summary(const ms_check *ck, char *buf, size_t size)
{
    const ms_check_stats *s = &ck->stats;
    int nsegs = 0;
    for (int i = 0; i < MS_SEG_COUNT; i++)
        nsegs += ck->rt[i] != NULL;
    char extra[96] = "";
    if (s->truncated)
        snprintf(extra, sizeof extra, "; %llu connection(s) not checked (over the recording limit)",
                 (unsigned long long)s->truncated);
    if (ms_check_ok(ck))
        snprintf(buf, size, "ok: %llu connection(s) claimed of %llu (%llu udp, replayed as captured only), "
                 "%d segmentations, %llu records agree%s (seed %llu)",
                 (unsigned long long)s->claimed, (unsigned long long)s->conns, (unsigned long long)s->udp, nsegs,
                 (unsigned long long)s->records, extra, (unsigned long long)ck->o.seed);
    else
        snprintf(buf, size, "FAIL: of %llu connection(s) claimed, %llu depend on the segmentation, %llu raised, "
                 "%llu stalled%s (seed %llu)",
                 (unsigned long long)s->claimed, (unsigned long long)s->differ, (unsigned long long)s->raised,
                 (unsigned long long)s->stalled, extra, (unsigned long long)ck->o.seed);
}
