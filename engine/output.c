/* output.c — record sinks: aligned table, Zeek-style TSV, JSON lines.
 * A record's values are copied into one reusable arena, so building a record allocates nothing
 * once the arena has grown to the largest record seen. */
#include "output.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TABLE_PREVIEW_ROWS 64   /* rows buffered to size the table columns */
#define TABLE_MAX_WIDTH 48      /* widest a table column gets; longer values are cut */
#define TABLE_MIN_WIDTH 10      /* narrowest a column is cut to when fitting a terminal */

typedef struct field_value {
    bool set;
    uint32_t off;      /* string/set: start in arena */
    uint32_t len;      /* string: bytes; set: number of items */
    union {
        uint64_t u;
        int64_t i;
        double d;
        bool b;
    } v;
} field_value;

struct ms_output {
    char name[64];
    ms_field_def *fields;      /* owned, names owned */
    int nfields, cap_fields;
    ms_out_format format;
    FILE *fp;
    bool own_fp;
    bool header_done;
    field_value *vals;         /* one per field */
    char *arena;               /* string bytes of the current record */
    size_t arena_len, arena_cap;
    uint32_t *set_items;       /* (off,len) pairs of set items, in arena order */
    size_t nset_items, cap_set_items;
    uint64_t records;
    /* table mode */
    char **rows;               /* preview rows, each a '\t'-separated line of cells */
    int nrows;
    int *widths;               /* table column widths; -1 hides a column */
    int *value_widths;         /* widest value per column in the preview (names not counted) */
    bool widths_fixed;
    char *line;                /* scratch for rendering */
    size_t line_len, line_cap;
    bool oom;
};

/* ---- small growable buffers ---------------------------------------------------------- */

static bool grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*buf, ncap * elem);
    if (!p)
        return false;
    *buf = p;
    *cap = ncap;
    return true;
}

static bool arena_put(ms_output *o, const char *s, size_t len, uint32_t *off)
{
    if (o->arena_len + len > UINT32_MAX || !grow((void **)&o->arena, &o->arena_cap, o->arena_len + len + 1, 1)) {
        o->oom = true;
        return false;
    }
    memcpy(o->arena + o->arena_len, s, len);
    *off = (uint32_t)o->arena_len;
    o->arena_len += len;
    return true;
}

static void line_putn(ms_output *o, const char *s, size_t n)
{
    if (!grow((void **)&o->line, &o->line_cap, o->line_len + n + 1, 1)) {
        o->oom = true;
        return;
    }
    memcpy(o->line + o->line_len, s, n);
    o->line_len += n;
    o->line[o->line_len] = '\0';
}

static void line_puts(ms_output *o, const char *s)
{
    line_putn(o, s, strlen(s));
}

static void line_putc(ms_output *o, char c)
{
    line_putn(o, &c, 1);
}

/* ---- open / fields -------------------------------------------------------------------- */

ms_output *ms_output_open(const char *name, const ms_field_def *fields, int nfields,
                          ms_out_format format, FILE *fp, const char *dir, ms_err *err)
{
    ms_output *o = calloc(1, sizeof *o);
    if (!o) {
        ms_fail(err, MS_ENOMEM, "out of memory opening log %s", name);
        return NULL;
    }
    snprintf(o->name, sizeof o->name, "%s", name);
    o->format = format;
    if (dir) {
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            ms_fail(err, MS_EIO, "%s: cannot create directory: %s", dir, strerror(errno));
            free(o);
            return NULL;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.log", dir, name);
        o->fp = fopen(path, "w");
        if (!o->fp) {
            ms_fail(err, MS_EIO, "%s: cannot write: %s", path, strerror(errno));
            free(o);
            return NULL;
        }
        o->own_fp = true;
        if (o->format == MS_FMT_TABLE || o->format == MS_FMT_AUTO)
            o->format = MS_FMT_TSV;
    } else {
        o->fp = fp ? fp : stdout;
        if (o->format == MS_FMT_AUTO)
            o->format = isatty(fileno(o->fp)) ? MS_FMT_TABLE : MS_FMT_TSV;
    }
    for (int i = 0; i < nfields; i++) {
        if (ms_output_add_field(o, fields[i].name, fields[i].type) < 0) {
            ms_fail(err, MS_ENOMEM, "out of memory opening log %s", name);
            ms_output_close(o);
            return NULL;
        }
    }
    return o;
}

int ms_output_add_field(ms_output *o, const char *name, ms_field_type type)
{
    if (o->header_done)
        return MS_EINVAL;
    int idx = ms_output_field_index(o, name);
    if (idx >= 0)
        return idx;
    size_t cap = (size_t)o->cap_fields;
    if (!grow((void **)&o->fields, &cap, (size_t)o->nfields + 1, sizeof *o->fields))
        return MS_ENOMEM;
    size_t vcap = (size_t)o->cap_fields;
    if (!grow((void **)&o->vals, &vcap, (size_t)o->nfields + 1, sizeof *o->vals))
        return MS_ENOMEM;
    o->cap_fields = (int)MS_MIN(cap, vcap);
    char *copy = strdup(name);
    if (!copy)
        return MS_ENOMEM;
    o->fields[o->nfields].name = copy;
    o->fields[o->nfields].type = type;
    memset(&o->vals[o->nfields], 0, sizeof o->vals[0]);
    return o->nfields++;
}

int ms_output_field_index(const ms_output *o, const char *name)
{
    for (int i = 0; i < o->nfields; i++)
        if (strcmp(o->fields[i].name, name) == 0)
            return i;
    return -1;
}

int ms_output_nfields(const ms_output *o)
{
    return o->nfields;
}

const ms_field_def *ms_output_field(const ms_output *o, int idx)
{
    return idx >= 0 && idx < o->nfields ? &o->fields[idx] : NULL;
}

uint64_t ms_output_records(const ms_output *o)
{
    return o->records;
}

/* ---- setting values ------------------------------------------------------------------- */

void ms_output_begin(ms_output *o)
{
    for (int i = 0; i < o->nfields; i++)
        o->vals[i].set = false;
    o->arena_len = 0;
    o->nset_items = 0;
}

static field_value *slot(ms_output *o, int idx)
{
    if (idx < 0 || idx >= o->nfields)
        return NULL;
    return &o->vals[idx];
}

void ms_output_str(ms_output *o, int idx, const char *s, size_t len)
{
    field_value *v = slot(o, idx);
    if (!v || !s)
        return;
    if (arena_put(o, s, len, &v->off)) {
        v->len = (uint32_t)len;
        v->set = true;
    }
}

void ms_output_cstr(ms_output *o, int idx, const char *s)
{
    if (s)
        ms_output_str(o, idx, s, strlen(s));
}

void ms_output_uint(ms_output *o, int idx, uint64_t x)
{
    field_value *v = slot(o, idx);
    if (v) {
        v->v.u = x;
        v->set = true;
    }
}

void ms_output_int(ms_output *o, int idx, int64_t x)
{
    field_value *v = slot(o, idx);
    if (v) {
        v->v.i = x;
        v->set = true;
    }
}

void ms_output_double(ms_output *o, int idx, double x)
{
    field_value *v = slot(o, idx);
    if (v) {
        v->v.d = x;
        v->set = true;
    }
}

void ms_output_time(ms_output *o, int idx, uint64_t ns)
{
    ms_output_uint(o, idx, ns);
}

void ms_output_bool(ms_output *o, int idx, bool x)
{
    field_value *v = slot(o, idx);
    if (v) {
        v->v.b = x;
        v->set = true;
    }
}

/* Set items are stored in arena order; a set field remembers its first item and count. Items
 * of one set must be added together (interleaving two sets in one record is not supported). */
void ms_output_set_add(ms_output *o, int idx, const char *s, size_t len)
{
    field_value *v = slot(o, idx);
    uint32_t off;
    if (!v || !arena_put(o, s, len, &off))
        return;
    if (!grow((void **)&o->set_items, &o->cap_set_items, o->nset_items * 2 + 2, sizeof *o->set_items)) {
        o->oom = true;
        return;
    }
    if (!v->set) {
        v->set = true;
        v->off = (uint32_t)o->nset_items; /* index of its first item */
        v->len = 0;
    }
    o->set_items[o->nset_items * 2] = off;
    o->set_items[o->nset_items * 2 + 1] = (uint32_t)len;
    o->nset_items++;
    v->len++;
}

/* ---- rendering ------------------------------------------------------------------------ */

/* Decimal digits of x, at least min_digits (zero-padded), written backwards from end; returns
 * the first digit. Stands in for snprintf("%llu") on the per-record path. */
static char *u64_digits(uint64_t x, char *end, int min_digits)
{
    char *p = end;
    do {
        *--p = (char)('0' + x % 10);
        x /= 10;
        min_digits--;
    } while (x || min_digits > 0);
    return p;
}

/* Seconds with six decimals, rounded to the nearest microsecond (as Zeek prints times). */
static void put_seconds(ms_output *o, uint64_t ns)
{
    char buf[48];
    char *end = buf + sizeof buf;
    uint64_t us = ns / 1000ULL + (ns % 1000ULL >= 500 ? 1 : 0);
    char *p = u64_digits(us % 1000000ULL, end, 6);
    *--p = '.';
    p = u64_digits(us / 1000000ULL, p, 1);
    line_putn(o, p, (size_t)(end - p));
}

/* Table mode is for people: times of day in UTC with milliseconds, as tcpdump prints them
 * (TSV and JSON keep full epoch times). */
static void put_utc_time(ms_output *o, uint64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000ULL);
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&secs, &tm) || strftime(buf, sizeof buf, "%H:%M:%S", &tm) == 0) {
        put_seconds(o, ns);
        return;
    }
    line_puts(o, buf);
    snprintf(buf, sizeof buf, ".%03u", (unsigned)(ns % 1000000000ULL / 1000000ULL));
    line_puts(o, buf);
}

static void put_number(ms_output *o, const ms_field_def *f, const field_value *v)
{
    char buf[64];
    switch (f->type) {
    case MS_FIELD_COUNT:
    case MS_FIELD_PORT: {
        char *p = u64_digits(v->v.u, buf + sizeof buf, 1);
        line_putn(o, p, (size_t)(buf + sizeof buf - p));
        return;
    }
    case MS_FIELD_INT:
        snprintf(buf, sizeof buf, "%lld", (long long)v->v.i);
        break;
    case MS_FIELD_DOUBLE:
        if (isfinite(v->v.d))
            snprintf(buf, sizeof buf, "%.6f", v->v.d);
        else
            snprintf(buf, sizeof buf, "0");
        break;
    case MS_FIELD_TIME:
        if (o->format == MS_FMT_TABLE) {
            put_utc_time(o, v->v.u);
            return;
        }
        put_seconds(o, v->v.u);
        return;
    case MS_FIELD_INTERVAL:
        put_seconds(o, v->v.u);
        return;
    case MS_FIELD_BOOL:
        snprintf(buf, sizeof buf, "%s", v->v.b ? (o->format == MS_FMT_JSON ? "true" : "T")
                                               : (o->format == MS_FMT_JSON ? "false" : "F"));
        break;
    default:
        buf[0] = '\0';
    }
    line_puts(o, buf);
}

static bool is_string_type(ms_field_type t)
{
    return t == MS_FIELD_STRING || t == MS_FIELD_ADDR;
}

/* Zeek's text escaping: non-printable bytes, backslash and the separators become \xNN. */
static void put_text_escaped(ms_output *o, const char *s, size_t len, bool in_set)
{
    if (len == 0) {
        line_puts(o, "(empty)");
        return;
    }
    if (len == 1 && s[0] == '-') {
        line_puts(o, "\\x2d"); /* a lone '-' would read as unset */
        return;
    }
    size_t run = 0; /* start of the bytes not yet written that need no escape */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\' || (in_set && c == ',')) {
            line_putn(o, s + run, i - run);
            run = i + 1;
            char esc[5];
            snprintf(esc, sizeof esc, "\\x%02x", c);
            line_putn(o, esc, 4);
        }
    }
    line_putn(o, s + run, len - run);
}

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return need;
}

/* JSON string: valid UTF-8 passes, control characters as \u00XX, invalid bytes as the text \xNN
 * (as Zeek's JSON logs do), so every line parses with jq. */
static void put_json_string(ms_output *o, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len && u[i] >= 0x20 && u[i] < 0x7f && u[i] != '"' && u[i] != '\\')
        i++;
    if (i == len) {
        /* nothing to escape (the usual case): quotes and bytes in one reservation */
        if (!grow((void **)&o->line, &o->line_cap, o->line_len + len + 3, 1)) {
            o->oom = true;
            return;
        }
        char *d = o->line + o->line_len;
        d[0] = '"';
        memcpy(d + 1, s, len);
        d[len + 1] = '"';
        d[len + 2] = '\0';
        o->line_len += len + 2;
        return;
    }
    line_putc(o, '"');
    i = 0;
    while (i < len) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            line_putc(o, '\\');
            line_putc(o, (char)c);
            i++;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            line_putc(o, '\\');
            line_putc(o, c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            line_puts(o, esc);
            i++;
        } else if (c < 0x80) {
            /* a run of plain printable ASCII goes in one copy */
            size_t j = i + 1;
            while (j < len && u[j] >= 0x20 && u[j] < 0x7f && u[j] != '"' && u[j] != '\\')
                j++;
            line_putn(o, s + i, j - i);
            i = j;
        } else {
            size_t n = utf8_seq(u + i, len - i);
            if (n == 0) {
                char esc[8];
                snprintf(esc, sizeof esc, "\\\\x%02x", c);
                line_puts(o, esc);
                i++;
            } else {
                line_putn(o, s + i, n);
                i += n;
            }
        }
    }
    line_putc(o, '"');
}

static void render_json(ms_output *o)
{
    bool first = true;
    line_putc(o, '{');
    for (int i = 0; i < o->nfields; i++) {
        const field_value *v = &o->vals[i];
        const ms_field_def *f = &o->fields[i];
        if (!v->set)
            continue;
        if (!first)
            line_putc(o, ',');
        first = false;
        put_json_string(o, f->name, strlen(f->name));
        line_putc(o, ':');
        if (f->type == MS_FIELD_SET) {
            line_putc(o, '[');
            for (uint32_t k = 0; k < v->len; k++) {
                const uint32_t *it = &o->set_items[(v->off + k) * 2];
                if (k)
                    line_putc(o, ',');
                put_json_string(o, o->arena + it[0], it[1]);
            }
            line_putc(o, ']');
        } else if (is_string_type(f->type)) {
            put_json_string(o, o->arena + v->off, v->len);
        } else {
            put_number(o, f, v);
        }
    }
    line_putc(o, '}');
}

/* One record as text cells separated by '\t' (TSV and table). */
static void render_text(ms_output *o)
{
    for (int i = 0; i < o->nfields; i++) {
        const field_value *v = &o->vals[i];
        const ms_field_def *f = &o->fields[i];
        if (i)
            line_putc(o, '\t');
        if (!v->set) {
            line_putc(o, '-');
        } else if (f->type == MS_FIELD_SET) {
            if (v->len == 0)
                line_puts(o, "(empty)");
            for (uint32_t k = 0; k < v->len; k++) {
                const uint32_t *it = &o->set_items[(v->off + k) * 2];
                if (k)
                    line_putc(o, ',');
                put_text_escaped(o, o->arena + it[0], it[1], true);
            }
        } else if (is_string_type(f->type)) {
            put_text_escaped(o, o->arena + v->off, v->len, false);
        } else {
            put_number(o, f, v);
        }
    }
}

static const char *type_name(ms_field_type t)
{
    switch (t) {
    case MS_FIELD_COUNT: return "count";
    case MS_FIELD_INT: return "int";
    case MS_FIELD_DOUBLE: return "double";
    case MS_FIELD_TIME: return "time";
    case MS_FIELD_INTERVAL: return "interval";
    case MS_FIELD_BOOL: return "bool";
    case MS_FIELD_ADDR: return "addr";
    case MS_FIELD_PORT: return "port";
    case MS_FIELD_SET: return "set[string]";
    default: return "string";
    }
}

static void write_tsv_header(ms_output *o)
{
    fprintf(o->fp, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t%s\n",
            o->name);
    fputs("#fields", o->fp);
    for (int i = 0; i < o->nfields; i++)
        fprintf(o->fp, "\t%s", o->fields[i].name);
    fputs("\n#types", o->fp);
    for (int i = 0; i < o->nfields; i++)
        fprintf(o->fp, "\t%s", type_name(o->fields[i].type));
    fputc('\n', o->fp);
}

/* ---- table mode: buffer a preview to size columns, then stream with those widths ---- */

static size_t display_width(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            w++;
    return w;
}

static void table_print_cells(ms_output *o, const char *row)
{
    const char *p = row;
    bool first = true;
    for (int i = 0; i < o->nfields; i++) {
        const char *end = strchr(p, '\t');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (o->widths[i] < 0) {
            p = end ? end + 1 : p + len;
            continue;
        }
        if (!first)
            fputs("  ", o->fp);
        first = false;
        size_t w = display_width(p, len);
        size_t width = (size_t)o->widths[i];
        if (w > width) {
            /* cut to width-1 characters and mark the cut */
            size_t keep = 0, chars = 0;
            while (keep < len && chars < width - 1) {
                keep++;
                while (keep < len && ((unsigned char)p[keep] & 0xc0) == 0x80)
                    keep++;
                chars++;
            }
            fwrite(p, 1, keep, o->fp);
            fputc('~', o->fp);
            w = width;
        } else {
            fwrite(p, 1, len, o->fp);
        }
        if (end) /* pad all but the last cell */
            for (size_t k = w; k < width; k++)
                fputc(' ', o->fp);
        p = end ? end + 1 : p + len;
    }
    fputc('\n', o->fp);
}

/* Shrinks the widest columns until the table fits the terminal (values are cut with '~'). */
static void table_fit_terminal(ms_output *o)
{
    struct winsize ws;
    int cols = 0;
    if (ioctl(fileno(o->fp), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        cols = ws.ws_col;
    if (cols <= 0)
        return; /* not a terminal (a file or a pipe asked for --table): keep natural widths */
    int total = 0;
    for (int i = 0; i < o->nfields; i++)
        total += o->widths[i] < 0 ? 0 : o->widths[i] + 2;
    if (total - 2 > cols) /* first cut the column names down to their values (at least 4 wide) */
        for (int i = 0; i < o->nfields; i++)
            if (o->widths[i] > 0)
                o->widths[i] = MS_MAX(o->value_widths[i], MS_MIN(o->widths[i], 4));
    for (;;) {
        int width_sum = 0, widest = -1, visible = 0;
        for (int i = 0; i < o->nfields; i++) {
            if (o->widths[i] < 0)
                continue;
            width_sum += o->widths[i];
            visible++;
            /* only text is cut: a cut number, address or time would mislead */
            ms_field_type t = o->fields[i].type;
            bool cuttable = (t == MS_FIELD_STRING || t == MS_FIELD_SET) && strcmp(o->fields[i].name, "uid") != 0;
            if (cuttable && (widest < 0 || o->widths[i] > o->widths[widest]))
                widest = i;
        }
        width_sum += 2 * (visible > 0 ? visible - 1 : 0);
        if (width_sum <= cols || widest < 0 || o->widths[widest] <= TABLE_MIN_WIDTH)
            return;
        o->widths[widest]--;
    }
}

static void table_fix_widths(ms_output *o)
{
    o->widths = calloc((size_t)o->nfields ? (size_t)o->nfields : 1, sizeof *o->widths);
    if (!o->widths) {
        o->oom = true;
        return;
    }
    /* A column unset in every preview row is hidden: a terminal is narrow, and the TSV and
     * JSON formats keep everything. */
    bool *used = calloc((size_t)o->nfields ? (size_t)o->nfields : 1, sizeof *used);
    if (!used) {
        o->oom = true;
        return;
    }
    o->value_widths = calloc((size_t)o->nfields ? (size_t)o->nfields : 1, sizeof *o->value_widths);
    if (!o->value_widths) {
        free(used);
        o->oom = true;
        return;
    }
    for (int i = 0; i < o->nfields; i++)
        o->widths[i] = (int)MS_MIN(strlen(o->fields[i].name), (size_t)TABLE_MAX_WIDTH);
    for (int r = 0; r < o->nrows; r++) {
        const char *p = o->rows[r];
        for (int i = 0; i < o->nfields; i++) {
            const char *end = strchr(p, '\t');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            int w = (int)MS_MIN(display_width(p, len), (size_t)TABLE_MAX_WIDTH);
            if (w > o->widths[i])
                o->widths[i] = w;
            if (w > o->value_widths[i])
                o->value_widths[i] = w;
            if (!(len == 1 && p[0] == '-'))
                used[i] = true;
            p = end ? end + 1 : p + len;
        }
    }
    for (int i = 0; i < o->nfields; i++)
        if (!used[i] && o->nrows > 0)
            o->widths[i] = -1;
    free(used);
    table_fit_terminal(o);
    o->widths_fixed = true;
    /* header line from the field names */
    o->line_len = 0;
    for (int i = 0; i < o->nfields; i++) {
        if (i)
            line_putc(o, '\t');
        line_puts(o, o->fields[i].name);
    }
    if (o->line)
        table_print_cells(o, o->line);
    for (int r = 0; r < o->nrows; r++) {
        table_print_cells(o, o->rows[r]);
        free(o->rows[r]);
    }
    free(o->rows);
    o->rows = NULL;
    o->nrows = 0;
}

int ms_output_end(ms_output *o)
{
    o->line_len = 0;
    if (o->format == MS_FMT_AUTO)
        o->format = MS_FMT_TSV;
    if (o->format == MS_FMT_JSON) {
        render_json(o);
        line_putc(o, '\n');
    } else {
        render_text(o);
        if (o->format == MS_FMT_TSV)
            line_putc(o, '\n');
    }
    if (o->oom)
        return MS_ENOMEM;
    o->header_done = true;
    o->records++;
    if (o->format == MS_FMT_TABLE) {
        if (o->widths_fixed) {
            table_print_cells(o, o->line);
            return 0;
        }
        char *copy = strdup(o->line ? o->line : "");
        char **rows = realloc(o->rows, (size_t)(o->nrows + 1) * sizeof *rows);
        if (!copy || !rows) {
            free(copy);
            if (rows)
                o->rows = rows;
            return MS_ENOMEM;
        }
        o->rows = rows;
        o->rows[o->nrows++] = copy;
        if (o->nrows >= TABLE_PREVIEW_ROWS)
            table_fix_widths(o);
        return 0;
    }
    if (o->format == MS_FMT_TSV && o->records == 1)
        write_tsv_header(o);
    if (fwrite(o->line, 1, o->line_len, o->fp) != o->line_len)
        return MS_EIO;
    return 0;
}

int ms_output_close(ms_output *o)
{
    if (!o)
        return 0;
    int rc = 0;
    if (o->format == MS_FMT_TABLE && !o->widths_fixed && o->nrows > 0)
        table_fix_widths(o);
    if ((o->format == MS_FMT_TSV || o->format == MS_FMT_AUTO) && o->records == 0 && o->own_fp)
        write_tsv_header(o); /* a log file always says what it would hold */
    if (fflush(o->fp) != 0)
        rc = MS_EIO;
    if (o->own_fp && fclose(o->fp) != 0)
        rc = MS_EIO;
    for (int i = 0; i < o->nfields; i++)
        free((char *)o->fields[i].name);
    for (int r = 0; r < o->nrows; r++)
        free(o->rows[r]);
    free(o->rows);
    free(o->fields);
    free(o->vals);
    free(o->arena);
    free(o->set_items);
    free(o->widths);
    free(o->value_widths);
    free(o->line);
    free(o);
    return rc;
}
