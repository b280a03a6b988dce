/* lines.c — workers' records merged into one output by whole lines (see lines.h). A worker's
 * stream is an unbuffered stdio FILE (fopencookie) whose bytes collect in a buffer; past 64 KiB
 * the complete lines go to the writer's queue, the unfinished tail stays. The queue is the only
 * lock, taken once per block, never per record. */
#define _GNU_SOURCE /* fopencookie */
#include "pipeline/lines.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define BLOCK (64u << 10)   /* bytes a stream gathers before handing its lines over */
#define QUEUE_MAX 64        /* blocks waiting for the writer at most (4 MiB) */
#define MAX_LOGS 64
#define MAX_WORKERS 256

typedef struct block {
    struct block *next;
    int log;
    char *header;           /* the log's '#' lines (TSV), from a stream's start; NULL when none */
    size_t header_len, len;
    char *footer;           /* the #close line(s) ending a stream (TSV); NULL when none */
    size_t footer_len;
    char data[];
} block;

typedef struct log_dest {
    char name[64];
    ms_field_def *fields;   /* copied, for the header of a log that got no record */
    int nfields;
    FILE *fp;               /* stdout (shared) or DIR/NAME.log (own) */
    bool own;
    bool header_written;
    uint64_t bytes;
    char *footer;           /* the last stream's #close line: written once, after every worker's rows */
    size_t footer_len;
    char *held;             /* --sort: every record line, written in ts order at the end */
    size_t held_len, held_cap;
} log_dest;

typedef struct stream {
    ms_lines *w;
    int log;
    FILE *fp;
    bool at_start;          /* no record line handed over yet: leading '#' lines are the header */
    char *buf;
    size_t len, cap;
    bool failed;
    struct stream *next;    /* the worker's streams */
} stream;

struct ms_lines {
    FILE *out;
    const char *dir;
    ms_out_format format;
    bool sort;              /* hold the records and write them in ts order at the end */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    block *head, *tail;
    int queued;
    bool done;
    bool failed;            /* a write failed */
    int nlogs;
    log_dest logs[MAX_LOGS];
    stream *streams[MAX_WORKERS];
    pthread_t writer;
    uint64_t writer_cpu_ns; /* CPU time of the writer thread, read when it ends */
};

/* ---- the writer thread --------------------------------------------------------------------- */

/* Returns false when a write failed. */
static bool write_block(ms_lines *w, block *b)
{
    log_dest *d = &w->logs[b->log];
    bool ok = true;
    if (b->header && !d->header_written) {
        ok = fwrite(b->header, 1, b->header_len, d->fp) == b->header_len;
        d->header_written = true;
    }
    if (w->sort && b->len) {
        if (d->held_len + b->len > d->held_cap) {
            size_t cap = d->held_cap ? d->held_cap : BLOCK;
            while (cap < d->held_len + b->len)
                cap *= 2;
            char *nb = realloc(d->held, cap);
            if (!nb)
                return false;
            d->held = nb;
            d->held_cap = cap;
        }
        memcpy(d->held + d->held_len, b->data, b->len);
        d->held_len += b->len;
    } else if (b->len && fwrite(b->data, 1, b->len, d->fp) != b->len) {
        ok = false;
    }
    d->bytes += b->len;
    if (b->footer) { /* each worker's sink closes its log; the merged log closes once, at the end */
        free(d->footer);
        d->footer = b->footer;
        d->footer_len = b->footer_len;
        b->footer = NULL;
    }
    return ok;
}

static void *writer_main(void *arg)
{
    ms_lines *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->done)
            pthread_cond_wait(&w->changed, &w->lock);
        block *b = w->head;
        if (!b)
            break;
        w->head = b->next;
        if (!w->head)
            w->tail = NULL;
        w->queued--;
        pthread_cond_broadcast(&w->changed);
        pthread_mutex_unlock(&w->lock);
        bool ok = write_block(w, b); /* the log table only grows, under the lock; this entry is set */
        free(b->header);
        free(b->footer);
        free(b);
        pthread_mutex_lock(&w->lock);
        if (!ok)
            w->failed = true;
    }
    pthread_mutex_unlock(&w->lock);
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        w->writer_cpu_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    return NULL;
}

/* ---- streams --------------------------------------------------------------------------------- */

/* End of the leading '#' lines within buf[0..n) (complete lines only). */
static size_t header_end(const char *buf, size_t n)
{
    size_t at = 0;
    while (at < n && buf[at] == '#') {
        const char *nl = memchr(buf + at, '\n', n - at);
        if (!nl)
            break;
        at = (size_t)(nl - buf) + 1;
    }
    return at;
}

/* Start of the trailing "#close" lines within buf[0..n) (n when none). */
static size_t footer_start(const char *buf, size_t n)
{
    size_t at = n;
    while (at > 0) {
        size_t line = at - 1; /* at - 1 is the '\n' ending the line before at */
        while (line > 0 && buf[line - 1] != '\n')
            line--;
        if (at - line < 6 || memcmp(buf + line, "#close", 6) != 0)
            break;
        at = line;
    }
    return at;
}

/* Hands the stream's complete lines (all its bytes when final) to the writer. */
static void hand_off(stream *s, bool final)
{
    size_t cut = s->len;
    if (!final) {
        while (cut > 0 && s->buf[cut - 1] != '\n')
            cut--;
    }
    if (cut == 0)
        return;
    size_t foot = final ? footer_start(s->buf, cut) : cut;
    char *footer = NULL;
    if (foot < cut) {
        footer = malloc(cut - foot);
        if (!footer) {
            s->failed = true;
            s->len = 0;
            return;
        }
        memcpy(footer, s->buf + foot, cut - foot);
    }
    size_t hdr = 0;
    if (s->at_start) {
        hdr = header_end(s->buf, foot);
        if (hdr == foot && !final)
            return; /* only header lines so far: they go with the first record */
        s->at_start = false;
    }
    block *b = malloc(sizeof *b + (foot - hdr));
    char *header = hdr ? malloc(hdr) : NULL;
    if (!b || (hdr && !header)) {
        free(b);
        free(header);
        free(footer);
        s->failed = true;
        s->len = 0;
        return;
    }
    b->next = NULL;
    b->log = s->log;
    b->header = header;
    b->header_len = hdr;
    b->footer = footer;
    b->footer_len = footer ? cut - foot : 0;
    if (hdr)
        memcpy(header, s->buf, hdr);
    b->len = foot - hdr;
    memcpy(b->data, s->buf + hdr, b->len);
    memmove(s->buf, s->buf + cut, s->len - cut);
    s->len -= cut;
    ms_lines *w = s->w;
    pthread_mutex_lock(&w->lock);
    while (w->queued >= QUEUE_MAX)
        pthread_cond_wait(&w->changed, &w->lock);
    if (w->tail)
        w->tail->next = b;
    else
        w->head = b;
    w->tail = b;
    w->queued++;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
}

static ssize_t stream_write(void *cookie, const char *data, size_t n)
{
    stream *s = cookie;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 2 * BLOCK;
        while (cap < s->len + n)
            cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (!nb) {
            s->failed = true;
            return -1;
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    if (s->len >= BLOCK)
        hand_off(s, false);
    return (ssize_t)n;
}

static int stream_close(void *cookie)
{
    stream *s = cookie;
    hand_off(s, true);
    return s->failed ? -1 : 0;
}

/* The log named name, registered (and for DIR, its file opened) on first use; -1 on failure. */
static int find_or_add_log(ms_lines *w, const char *name, const ms_field_def *fields, int nfields, ms_err *err)
{
    for (int i = 0; i < w->nlogs; i++)
        if (strcmp(w->logs[i].name, name) == 0)
            return i;
    if (w->nlogs >= MAX_LOGS || strlen(name) >= sizeof w->logs[0].name)
        return ms_fail(err, MS_ELIMIT, "too many logs"), -1;
    log_dest *d = &w->logs[w->nlogs];
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->fields = calloc((size_t)(nfields ? nfields : 1), sizeof *d->fields);
    if (!d->fields)
        return ms_fail(err, MS_ENOMEM, "out of memory opening log %s", name), -1;
    for (int i = 0; i < nfields; i++) {
        d->fields[i].name = strdup(fields[i].name);
        d->fields[i].type = fields[i].type;
        d->nfields = i + 1;
        if (!d->fields[i].name)
            return ms_fail(err, MS_ENOMEM, "out of memory opening log %s", name), -1;
    }
    if (w->dir) {
        /* the messages a sink of its own gives (output.c) */
        if (mkdir(w->dir, 0777) != 0 && errno != EEXIST)
            return ms_fail(err, MS_EIO, "%s: cannot create directory: %s", w->dir, strerror(errno)), -1;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.log", w->dir, name);
        d->fp = fopen(path, "w");
        if (!d->fp)
            return ms_fail(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno)), -1;
        d->own = true;
    } else {
        d->fp = w->out;
    }
    return w->nlogs++;
}

FILE *ms_lines_stream(ms_lines *w, int worker, const char *name, const ms_field_def *fields, int nfields,
                      ms_err *err)
{
    if (worker < 0 || worker >= MAX_WORKERS) {
        ms_fail(err, MS_EINVAL, "worker %d out of range", worker);
        return NULL;
    }
    pthread_mutex_lock(&w->lock);
    int log = find_or_add_log(w, name, fields, nfields, err);
    pthread_mutex_unlock(&w->lock);
    if (log < 0)
        return NULL;
    stream *s = calloc(1, sizeof *s);
    if (!s) {
        ms_fail(err, MS_ENOMEM, "out of memory opening log %s", name);
        return NULL;
    }
    s->w = w;
    s->log = log;
    s->at_start = true;
    cookie_io_functions_t io = { NULL, stream_write, NULL, stream_close };
    s->fp = fopencookie(s, "w", io);
    if (!s->fp) {
        free(s);
        ms_fail(err, MS_ENOMEM, "out of memory opening log %s", name);
        return NULL;
    }
    setvbuf(s->fp, NULL, _IONBF, 0); /* bytes go straight to the collector: one copy */
    pthread_mutex_lock(&w->lock);
    s->next = w->streams[worker];
    w->streams[worker] = s;
    pthread_mutex_unlock(&w->lock);
    return s->fp;
}

void ms_lines_worker_done(ms_lines *w, int worker)
{
    if (worker < 0 || worker >= MAX_WORKERS)
        return;
    pthread_mutex_lock(&w->lock);
    stream *s = w->streams[worker];
    w->streams[worker] = NULL;
    pthread_mutex_unlock(&w->lock);
    while (s) {
        stream *next = s->next;
        if (fclose(s->fp) != 0) {
            pthread_mutex_lock(&w->lock);
            w->failed = true;
            pthread_mutex_unlock(&w->lock);
        }
        free(s->buf);
        free(s);
        s = next;
    }
}

/* ---- --sort ---------------------------------------------------------------------------------- */

typedef struct sort_line {
    const char *p;
    size_t len;
    double ts;   /* the record's ts; lines without one keep their place among equals */
    size_t seq;  /* arrival order: ties stay as they came */
} sort_line;

/* The ts of a record line: the first field of a TSV line, the "ts" member that opens a JSON one;
 * 0 when the line has neither (-e without ts): then the arrival order alone decides. */
static double line_ts(const char *p, size_t len)
{
    char num[48];
    size_t i = 0;
    if (len > 6 && memcmp(p, "{\"ts\":", 6) == 0)
        i = 6;
    size_t n = 0;
    while (i < len && n < sizeof num - 1 && ((p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '-'))
        num[n++] = p[i++];
    num[n] = '\0';
    return n ? strtod(num, NULL) : 0.0;
}

static int cmp_lines(const void *a, const void *b)
{
    const sort_line *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the record lines of buf[0..n) ordered by ts (stable). 0, or MS_EIO / MS_ENOMEM. */
static int write_sorted(FILE *fp, const char *buf, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += buf[i] == '\n';
    if (n && buf[n - 1] != '\n')
        count++;
    sort_line *lines = malloc((count ? count : 1) * sizeof *lines);
    if (!lines)
        return fwrite(buf, 1, n, fp) == n ? MS_ENOMEM : MS_EIO; /* unsorted rather than lost */
    size_t k = 0;
    for (size_t at = 0; at < n;) {
        const char *nl = memchr(buf + at, '\n', n - at);
        size_t end = nl ? (size_t)(nl - buf) + 1 : n;
        lines[k] = (sort_line){ buf + at, end - at, line_ts(buf + at, end - at), k };
        k++;
        at = end;
    }
    qsort(lines, k, sizeof *lines, cmp_lines);
    int rc = 0;
    for (size_t i = 0; i < k; i++)
        if (fwrite(lines[i].p, 1, lines[i].len, fp) != lines[i].len)
            rc = MS_EIO;
    free(lines);
    return rc;
}

/* ---- lifetime ------------------------------------------------------------------------------- */

ms_lines *ms_lines_new(FILE *out, const char *dir, ms_out_format format, bool sort, ms_err *err)
{
    ms_lines *w = calloc(1, sizeof *w);
    if (!w) {
        ms_fail(err, MS_ENOMEM, "out of memory starting the output writer");
        return NULL;
    }
    w->out = out ? out : stdout;
    w->dir = dir;
    w->format = format;
    w->sort = sort;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->changed, NULL);
    if (pthread_create(&w->writer, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->changed);
        free(w);
        ms_fail(err, MS_ENOMEM, "cannot start the output writer thread");
        return NULL;
    }
    return w;
}

int ms_lines_finish(ms_lines *w, uint64_t *writer_cpu_ns)
{
    for (int i = 0; i < MAX_WORKERS; i++)
        if (w->streams[i])
            ms_lines_worker_done(w, i);
    pthread_mutex_lock(&w->lock);
    w->done = true;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->writer, NULL);
    if (writer_cpu_ns)
        *writer_cpu_ns = w->writer_cpu_ns;
    int rc = w->failed ? MS_EIO : 0;
    for (int i = 0; i < w->nlogs; i++) {
        log_dest *d = &w->logs[i];
        if (d->held) {
            if (write_sorted(d->fp, d->held, d->held_len) != 0)
                rc = MS_EIO;
            free(d->held);
        }
        if (d->footer) {
            if (fwrite(d->footer, 1, d->footer_len, d->fp) != d->footer_len)
                rc = MS_EIO;
            free(d->footer);
        }
        if (d->own) {
            if (fclose(d->fp) != 0)
                rc = MS_EIO;
            if (!d->header_written && d->bytes == 0) {
                /* a log file always says what it would hold: let a sink of its own write it */
                ms_err err;
                ms_output *o = ms_output_open(d->name, d->fields, d->nfields, w->format, NULL, w->dir, &err);
                if (!o || ms_output_close(o) != 0)
                    rc = MS_EIO;
            }
        } else if (fflush(d->fp) != 0) {
            rc = MS_EIO;
        }
        for (int k = 0; k < d->nfields; k++)
            free((char *)d->fields[k].name);
        free(d->fields);
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->changed);
    free(w);
    return rc;
}
