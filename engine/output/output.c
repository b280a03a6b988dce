/* output.c — record sinks: aligned table, Zeek-style TSV, JSON lines.
 * A record's values are copied into one reusable arena, so building a record allocates nothing
 * once the arena has grown to the largest record seen. */
#include "output/output.h"

#include "output/filter.h"

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
#define FIELD_BOUND 72   /* most bytes one field adds besides its string bytes and key: a
                          * number (a double is cut at 63 by put_number), quotes, brackets, a
                          * separator, "(empty)" */
#define ITEM_BOUND 8     /* most bytes one set item adds besides 6 per string byte */
#define TAIL_SLACK 32    /* scratch stores past the end: up to 7 after a string's last block,
                          * up to 31 after a JSON key shorter than 32 */

typedef struct field_value {
    uint32_t gen;      /* set in the current record when equal to ms_output.gen */
    uint32_t off;      /* string: start in arena; set: index of its first item */
    uint32_t len;      /* string: bytes; set: number of items */
    const char *ptr;   /* string: the caller's bytes (ms_output_str_borrowed), NULL when in arena */
    union {
        uint64_t u;
        int64_t i;
        double d;
        bool b;
    } v;
} field_value;

/* One item of a set: the caller's bytes, or (ptr NULL) bytes in the arena at off. */
typedef struct set_item {
    const char *ptr;
    uint32_t off, len;
} set_item;

/* What rendering keeps per column besides its ms_field_def. */
typedef struct column {
    char *json_key;            /* `,"name":` with the name escaped as a JSON string; owned */
    size_t json_key_len;
} column;

struct ms_output {
    char name[64];
    ms_field_def *fields;      /* owned, names owned */
    int nfields, cap_fields;
    ms_out_format format;
    FILE *fp;
    bool own_fp;
    bool header_done;
    field_value *vals;         /* one per field */
    uint32_t gen;              /* current record's number, for field_value.gen; never 0 */
    column *cols;              /* one per field */
    size_t render_fixed;       /* sum over columns of json_key_len + FIELD_BOUND */
    char *arena;               /* string bytes of the current record */
    size_t arena_len, arena_cap;
    size_t borrowed_len;       /* bytes of borrowed strings and set items of the current record
                                * (at most UINT32_MAX) */
    set_item *set_items;       /* set items in the order they were added */
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
    /* what the command line adds (the end of this file) */
    time_t opened;             /* wall-clock time of open, for the TSV #open line */
    bool tsv_header_written;   /* #fields written: #close follows at close */
    bool live;                 /* flush each record; tables sized from the first record */
    ms_filter *filter;         /* -Y: records it rejects are dropped (counted in filtered); owned */
    uint64_t filtered;
    ms_output *proj;           /* -e: the log of the chosen columns that writes the lines; owned */
    int *proj_src;             /* its column j is this log's column proj_src[j] */
    int *keep_rank;            /* per column: its place in the narrow-table list, -1 if not in it */
};

static char *json_string(char *d, const char *s, size_t len);

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
    o->gen = 1; /* new columns start at 0: unset */
    o->opened = time(NULL);
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
    size_t ccap = (size_t)o->cap_fields;
    if (!grow((void **)&o->cols, &ccap, (size_t)o->nfields + 1, sizeof *o->cols))
        return MS_ENOMEM;
    o->cap_fields = (int)MS_MIN(MS_MIN(cap, vcap), ccap);
    size_t name_len = strlen(name);
    char *copy = strdup(name);
    char *json_key = calloc(1, name_len * 6 + 4 + TAIL_SLACK + 32);
    if (!copy || !json_key) {
        free(copy);
        free(json_key);
        return MS_ENOMEM;
    }
    char *d = json_key;
    *d++ = ',';
    d = json_string(d, name, name_len);
    *d++ = ':';
    column *c = &o->cols[o->nfields];
    c->json_key = json_key;
    c->json_key_len = (size_t)(d - json_key);
    o->render_fixed += c->json_key_len + FIELD_BOUND;
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

const ms_field_def *ms_output_fields(const ms_output *o)
{
    return o->fields;
}

uint64_t ms_output_records(const ms_output *o)
{
    return o->records;
}

/* ---- setting values ------------------------------------------------------------------- */

void ms_output_begin(ms_output *o)
{
    if (++o->gen == 0) { /* wrapped: clear the old marks once */
        for (int i = 0; i < o->nfields; i++)
            o->vals[i].gen = 0;
        o->gen = 1;
    }
    o->arena_len = 0;
    o->borrowed_len = 0;
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
        v->ptr = NULL;
        v->gen = o->gen;
    }
}

/* Whether len more borrowed bytes keep the record's borrowed total within 4 GiB, as the arena's
 * (else they are copied, and the arena says it cannot). */
static bool can_borrow(const ms_output *o, size_t len)
{
    return len <= (size_t)UINT32_MAX - o->borrowed_len;
}

void ms_output_str_borrowed(ms_output *o, int idx, const char *s, size_t len)
{
    field_value *v = slot(o, idx);
    if (!v || !s)
        return;
    if (!can_borrow(o, len)) {
        ms_output_str(o, idx, s, len);
        return;
    }
    v->ptr = s;
    v->len = (uint32_t)len;
    v->gen = o->gen;
    o->borrowed_len += len;
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
        v->gen = o->gen;
    }
}

void ms_output_int(ms_output *o, int idx, int64_t x)
{
    field_value *v = slot(o, idx);
    if (v) {
        v->v.i = x;
        v->gen = o->gen;
    }
}

void ms_output_double(ms_output *o, int idx, double x)
{
    field_value *v = slot(o, idx);
    if (v) {
        v->v.d = x;
        v->gen = o->gen;
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
        v->gen = o->gen;
    }
}

/* Set items are kept in the order they are added; a set field remembers its first item and
 * count. Items of one set must be added together (interleaving two sets in one record is not
 * supported). ptr NULL copies the bytes into the arena. */
static void set_add(ms_output *o, field_value *v, const char *ptr, const char *s, size_t len)
{
    uint32_t off = 0;
    if (!ptr && !arena_put(o, s, len, &off))
        return;
    if (!grow((void **)&o->set_items, &o->cap_set_items, o->nset_items + 1, sizeof *o->set_items)) {
        o->oom = true;
        return;
    }
    if (v->gen != o->gen) {
        v->gen = o->gen;
        v->off = (uint32_t)o->nset_items; /* index of its first item */
        v->len = 0;
    }
    set_item *it = &o->set_items[o->nset_items++];
    it->ptr = ptr;
    it->off = off;
    it->len = (uint32_t)len;
    v->len++;
}

void ms_output_set_add(ms_output *o, int idx, const char *s, size_t len)
{
    field_value *v = slot(o, idx);
    if (v)
        set_add(o, v, NULL, s, len);
}

void ms_output_set_add_borrowed(ms_output *o, int idx, const char *s, size_t len)
{
    field_value *v = slot(o, idx);
    if (!v)
        return;
    if (!s || !can_borrow(o, len)) {
        set_add(o, v, NULL, s, len);
        return;
    }
    set_add(o, v, s, s, len);
    o->borrowed_len += len;
}

/* ---- rendering ------------------------------------------------------------------------ */

/* A record is rendered into o->line in one pass: ms_output_end reserves an upper bound of the
 * rendered size first (render_bound), so the writers below store through a plain pointer and
 * return where they stopped, with no capacity check per byte. */

/* Byte classes: JSON_SPECIAL bytes leave the plain-copy path of json_string (controls, '"',
 * '\\', DEL and every byte >= 0x80, which is checked as UTF-8); TEXT_ESCAPE bytes leave it in
 * TSV/table cells (controls, DEL, '\\' become \xNN; bytes >= 0x80 are checked as UTF-8 and
 * become \xNN when not part of a valid sequence); SET_ESCAPE bytes are escaped in set items only. */
enum { JSON_SPECIAL = 1, TEXT_ESCAPE = 2, SET_ESCAPE = 4 };

static const uint8_t byte_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 00 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0,  /* 20: '"' and ',' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0,  /* 50: '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3,  /* 70: DEL */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 80 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* 90 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* a0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* b0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* c0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* d0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* e0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  /* f0 */
};

static const char hex_digits[] = "0123456789abcdef";

/* Runs of bytes that need no escaping are found 16 at a time with SSE2 (x86-64); elsewhere, and
 * for strings shorter than 8 bytes, byte by byte with byte_class. */
#if defined(__SSE2__) && defined(__x86_64__) && defined(__GNUC__)
#include <emmintrin.h>
#define PLAIN_SIMD 1
#else
#define PLAIN_SIMD 0
#endif

#if defined(__GNUC__)
#define COLD __attribute__((noinline, cold))
#else
#define COLD
#endif

typedef enum plain_kind {
    PLAIN_JSON, /* plain: 0x20..0x7e except '"' and '\\' */
    PLAIN_TEXT, /* plain: 0x20..0x7e except '\\' */
    PLAIN_SET,  /* PLAIN_TEXT, and ',' is special too */
} plain_kind;

#if PLAIN_SIMD
/* Bit k set when byte k of x is special for kind. */
static inline unsigned special_mask(__m128i x, plain_kind kind)
{
    __m128i m;
    if (kind == PLAIN_JSON) {
        m = _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)); /* signed: controls and bytes >= 0x80 */
        m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
    } else {
        m = _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)); /* controls and bytes >= 0x80 (checked as UTF-8) */
        if (kind == PLAIN_SET)
            m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8(',')));
    }
    m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
    m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* Copies the longest prefix of u[i..len) that needs no escaping to d and returns its length.
 * Reads only u[0..len); may store up to 15 bytes of scratch in d past the prefix, never more
 * than 7 past where the rest of the string would end if copied as it is. */
static inline size_t plain_prefix(char *d, const unsigned char *u, size_t i, size_t len, plain_kind kind)
{
    size_t start = i;
#if PLAIN_SIMD
    if (len >= 8) {
        while (len - i >= 16) {
            __m128i x = _mm_loadu_si128((const void *)(u + i));
            _mm_storeu_si128((void *)(d + (i - start)), x);
            unsigned m = special_mask(x, kind);
            if (m)
                return i - start + (size_t)__builtin_ctz(m);
            i += 16;
        }
        size_t left = len - i;
        if (left == 0)
            return i - start;
        /* the last 1..15 bytes: the string's final 8 bytes, and for 8 or more left the 8 at i */
        uint64_t lo, hi;
        unsigned m;
        memcpy(&hi, u + len - 8, 8);
        if (left >= 8) {
            memcpy(&lo, u + i, 8);
            m = special_mask(_mm_set_epi64x((long long)hi, (long long)lo), kind);
            m = (m & 0xff) | (m >> 8) << (left - 8); /* byte k of hi is byte left - 8 + k */
            memcpy(d + (i - start), &lo, 8);
            memcpy(d + (i - start) + left - 8, &hi, 8);
        } else {
            hi >>= 8 * (8 - left); /* the bytes not done yet first */
            m = special_mask(_mm_cvtsi64_si128((long long)hi), kind) & ((1u << left) - 1);
            memcpy(d + (i - start), &hi, 8);
        }
        return i - start + (m ? (size_t)__builtin_ctz(m) : left);
    }
#endif
    unsigned special = kind == PLAIN_JSON ? JSON_SPECIAL : kind == PLAIN_TEXT ? TEXT_ESCAPE : TEXT_ESCAPE | SET_ESCAPE;
    while (i < len && !(byte_class[u[i]] & special)) {
        d[i - start] = (char)u[i];
        i++;
    }
    return i - start;
}

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                  "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                  "8081828384858687888990919293949596979899";

/* The n lowest decimal digits of x (zero-padded), written backwards ending at end. Stands in
 * for snprintf("%llu") on the per-record path. */
static void digits_back(char *end, uint64_t x, unsigned n)
{
    if (x <= UINT32_MAX) { /* the usual case, in cheaper 32-bit division */
        uint32_t y = (uint32_t)x;
        for (; n >= 2; n -= 2) {
            end -= 2;
            memcpy(end, digit_pairs + 2 * (y % 100), 2);
            y /= 100;
        }
        if (n)
            *--end = (char)('0' + y % 10);
        return;
    }
    for (; n >= 2; n -= 2) {
        end -= 2;
        memcpy(end, digit_pairs + 2 * (x % 100), 2);
        x /= 100;
    }
    if (n)
        *--end = (char)('0' + x % 10);
}

/* Number of decimal digits of x (1 for 0). */
static unsigned decimal_len(uint64_t x)
{
    static const uint64_t pow10[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL,
        1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
        100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
        1000000000000000000ULL, 10000000000000000000ULL,
    };
    x |= 1; /* same length, and no zero for clz */
#if defined(__GNUC__)
    unsigned t = (unsigned)(64 - __builtin_clzll(x)) * 1233 >> 12; /* about bits * log10(2) */
    return t - (x < pow10[t]) + 1;
#else
    unsigned n = 1;
    while (n < 20 && x >= pow10[n])
        n++;
    return n;
#endif
}

static char *put_u64(char *d, uint64_t x)
{
    if (x < 10) {
        *d = (char)('0' + x);
        return d + 1;
    }
    unsigned n = decimal_len(x);
    digits_back(d + n, x, n);
    return d + n;
}

/* Seconds with six decimals, rounded to the nearest microsecond (as Zeek prints times). */
static char *put_seconds(char *d, uint64_t ns)
{
    uint64_t us = ns / 1000ULL + (ns % 1000ULL >= 500 ? 1 : 0);
    uint64_t secs = us / 1000000ULL;
    d = put_u64(d, secs);
    *d++ = '.';
    digits_back(d + 6, us - secs * 1000000ULL, 6);
    return d + 6;
}

/* Table mode is for people: date and time of day in UTC with milliseconds, as tcpdump -tttt
 * prints them (TSV and JSON keep full epoch times). */
static char *put_utc_time(char *d, uint64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000ULL);
    struct tm tm;
    char buf[64];
    size_t n;
    if (!gmtime_r(&secs, &tm) || (n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm)) == 0)
        return put_seconds(d, ns);
    n = MS_MIN(n, (size_t)(FIELD_BOUND - 8));
    memcpy(d, buf, n);
    d += n;
    *d++ = '.';
    digits_back(d + 3, ns % 1000000000ULL / 1000000ULL, 3);
    return d + 3;
}

/* A non-string value; writes at most 63 bytes (a huge double is cut there, as the snprintf
 * into 64 bytes this replaces did). */
static char *put_number(const ms_output *o, char *d, const ms_field_def *f, const field_value *v)
{
    switch (f->type) {
    case MS_FIELD_COUNT:
    case MS_FIELD_PORT:
        return put_u64(d, v->v.u);
    case MS_FIELD_INT:
        if (v->v.i < 0) {
            *d++ = '-';
            return put_u64(d, 0 - (uint64_t)v->v.i);
        }
        return put_u64(d, (uint64_t)v->v.i);
    case MS_FIELD_DOUBLE: {
        char buf[64];
        int n = isfinite(v->v.d) ? snprintf(buf, sizeof buf, "%.6f", v->v.d) : snprintf(buf, sizeof buf, "0");
        size_t len = n < 0 ? 0 : MS_MIN((size_t)n, sizeof buf - 1);
        memcpy(d, buf, len);
        return d + len;
    }
    case MS_FIELD_TIME:
        if (o->format == MS_FMT_TABLE)
            return put_utc_time(d, v->v.u);
        return put_seconds(d, v->v.u);
    case MS_FIELD_INTERVAL: /* signed nanoseconds (an interval may be negative) */
        if (v->v.i <= -500) { /* nearer -0.000001 than 0: signed */
            *d++ = '-';
            return put_seconds(d, 0 - (uint64_t)v->v.i);
        }
        return put_seconds(d, v->v.i < 0 ? 0 : (uint64_t)v->v.i);
    case MS_FIELD_BOOL: {
        const char *s = v->v.b ? (o->format == MS_FMT_JSON ? "true" : "T")
                               : (o->format == MS_FMT_JSON ? "false" : "F");
        size_t n = strlen(s);
        memcpy(d, s, n);
        return d + n;
    }
    default:
        return d;
    }
}

static bool is_string_type(ms_field_type t)
{
    return t == MS_FIELD_STRING || t == MS_FIELD_ADDR;
}

static size_t utf8_seq(const unsigned char *s, size_t n);

/* Zeek's text escaping (LogAscii with enable_utf_8): control bytes, DEL, backslash, the
 * separators and every byte that is not part of a valid UTF-8 sequence become \xNN; valid UTF-8
 * passes, so a TSV log is always valid UTF-8. Writes at most 4 * len + 7 bytes (+ TAIL_SLACK of scratch past the end). */
static char *text_escaped(char *d, const char *s, size_t len, bool in_set)
{
    if (len == 0) {
        memcpy(d, "(empty)", 7);
        return d + 7;
    }
    if (len == 1 && s[0] == '-') {
        memcpy(d, "\\x2d", 4); /* a lone '-' would read as unset */
        return d + 4;
    }
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    for (;;) {
        size_t n = in_set ? plain_prefix(d, u, i, len, PLAIN_SET) : plain_prefix(d, u, i, len, PLAIN_TEXT);
        d += n;
        i += n;
        if (i == len)
            return d;
        unsigned char c = u[i];
        size_t seq = c >= 0x80 ? utf8_seq(u + i, len - i) : 0;
        if (seq) {
            memcpy(d, u + i, seq);
            d += seq;
            i += seq;
            continue;
        }
        i++;
        d[0] = '\\';
        d[1] = 'x';
        d[2] = hex_digits[c >> 4];
        d[3] = hex_digits[c & 15];
        d += 4;
    }
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

/* Escapes the special byte at u[*i] (or copies the valid UTF-8 sequence it starts) and moves
 * *i past what it consumed. Kept out of line: most strings never need it, and json_string then
 * saves fewer registers per call. */
COLD static char *json_escape_at(char *d, const unsigned char *u, size_t *i, size_t len)
{
    unsigned char c = u[*i];
    if (c >= 0x80) {
        size_t n = utf8_seq(u + *i, len - *i);
        if (n) {
            for (size_t k = 0; k < n; k++)
                *d++ = (char)u[*i + k];
            *i += n;
            return d;
        }
        memcpy(d, "\\\\x", 3); /* the text \xNN, not a JSON escape */
        d[3] = hex_digits[c >> 4];
        d[4] = hex_digits[c & 15];
        d += 5;
    } else if (c == '"' || c == '\\') {
        d[0] = '\\';
        d[1] = (char)c;
        d += 2;
    } else if (c == '\n' || c == '\r' || c == '\t') {
        d[0] = '\\';
        d[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        d += 2;
    } else {
        memcpy(d, "\\u00", 4);
        d[4] = hex_digits[c >> 4];
        d[5] = hex_digits[c & 15];
        d += 6;
    }
    (*i)++;
    return d;
}

/* JSON string: valid UTF-8 passes, control characters as \u00XX, invalid bytes as the text \xNN
 * (as Zeek's JSON logs do), so every line parses with jq. Writes at most 6 * len + 2 bytes
 * (+ TAIL_SLACK of scratch past the end). */
static char *json_string(char *d, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    *d++ = '"';
    for (;;) {
        size_t n = plain_prefix(d, u, i, len, PLAIN_JSON);
        d += n;
        i += n;
        if (i == len)
            break;
        d = json_escape_at(d, u, &i, len);
    }
    *d++ = '"';
    return d;
}

/* Most bytes render_json or render_text can write for the current record, plus scratch. */
static bool render_bound(const ms_output *o, size_t *bound)
{
    size_t fixed = o->render_fixed + o->nset_items * ITEM_BOUND + TAIL_SLACK + 8;
    size_t bytes = o->arena_len + o->borrowed_len;
    if (bytes < o->arena_len || bytes > (SIZE_MAX - fixed) / 6)
        return false;
    *bound = fixed + bytes * 6;
    return true;
}

static const char *value_bytes(const ms_output *o, const field_value *v)
{
    return v->ptr ? v->ptr : o->arena + v->off;
}

static const char *item_bytes(const ms_output *o, const set_item *it)
{
    return it->ptr ? it->ptr : o->arena + it->off;
}

/* One record as a JSON object; each column's `,"name":` was escaped once when it was added. */
static char *render_json(const ms_output *o, char *d)
{
    /* locals: the stores through d may alias o's fields, which would be loaded again each time */
    const field_value *vals = o->vals;
    const ms_field_def *fields = o->fields;
    const column *cols = o->cols;
    const uint32_t gen = o->gen;
    const int n = o->nfields;
    size_t skip = 1; /* no ',' before the first member */
    *d++ = '{';
    for (int i = 0; i < n; i++) {
        const field_value *v = &vals[i];
        if (v->gen != gen)
            continue;
        const ms_field_def *f = &fields[i];
        const column *c = &cols[i];
        size_t klen = c->json_key_len - skip;
        if (klen <= 32)
            memcpy(d, c->json_key + skip, 32); /* one fixed copy; key and line have the room */
        else
            memcpy(d, c->json_key + skip, klen);
        d += klen;
        skip = 0;
        if (f->type == MS_FIELD_SET) {
            *d++ = '[';
            for (uint32_t k = 0; k < v->len; k++) {
                const set_item *it = &o->set_items[v->off + k];
                if (k)
                    *d++ = ',';
                d = json_string(d, item_bytes(o, it), it->len);
            }
            *d++ = ']';
        } else if (is_string_type(f->type)) {
            d = json_string(d, value_bytes(o, v), v->len);
        } else if (f->type == MS_FIELD_COUNT || f->type == MS_FIELD_PORT) {
            d = put_u64(d, v->v.u);
        } else {
            d = put_number(o, d, f, v);
        }
    }
    *d++ = '}';
    return d;
}

/* One record as text cells separated by '\t' (TSV and table). */
static char *render_text(const ms_output *o, char *d)
{
    const field_value *vals = o->vals; /* locals, as in render_json */
    const ms_field_def *fields = o->fields;
    const uint32_t gen = o->gen;
    const int n = o->nfields;
    for (int i = 0; i < n; i++) {
        const field_value *v = &vals[i];
        const ms_field_def *f = &fields[i];
        if (i)
            *d++ = '\t';
        if (v->gen != gen) {
            *d++ = '-';
        } else if (f->type == MS_FIELD_SET) {
            if (v->len == 0) {
                memcpy(d, "(empty)", 7);
                d += 7;
            }
            for (uint32_t k = 0; k < v->len; k++) {
                const set_item *it = &o->set_items[v->off + k];
                if (k)
                    *d++ = ',';
                d = text_escaped(d, item_bytes(o, it), it->len, true);
            }
        } else if (is_string_type(f->type)) {
            d = text_escaped(d, value_bytes(o, v), v->len, false);
        } else if (f->type == MS_FIELD_COUNT || f->type == MS_FIELD_PORT) {
            d = put_u64(d, v->v.u);
        } else {
            d = put_number(o, d, f, v);
        }
    }
    return d;
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

/* Zeek's #open / #close stamp: local wall-clock time as YYYY-MM-DD-HH-MM-SS. */
static void write_stamp(FILE *fp, const char *key, time_t t)
{
    struct tm tm;
    char buf[32];
    if (!localtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%d-%H-%M-%S", &tm) == 0)
        snprintf(buf, sizeof buf, "%lld", (long long)t);
    fprintf(fp, "#%s\t%s\n", key, buf);
}

static void write_tsv_header(ms_output *o)
{
    fprintf(o->fp, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t%s\n",
            o->name);
    write_stamp(o->fp, "open", o->opened);
    o->tsv_header_written = true;
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

/* What marks a value cut to its column: an ellipsis, or '~' where the locale says the terminal
 * is not UTF-8 (LC_ALL, LC_CTYPE or LANG naming another character set). */
static const char *cut_mark(void)
{
    static const char *mark;
    if (!mark) {
        const char *names[] = { "LC_ALL", "LC_CTYPE", "LANG" };
        const char *loc = NULL;
        for (size_t i = 0; i < MS_ARRAY_LEN(names) && !loc; i++) {
            const char *v = getenv(names[i]);
            if (v && *v)
                loc = v;
        }
        bool utf8 = !loc || strstr(loc, "UTF-8") || strstr(loc, "utf-8") || strstr(loc, "UTF8") ||
                    strstr(loc, "utf8");
        mark = utf8 ? "\xe2\x80\xa6" : "~";
    }
    return mark;
}

static void table_print_cells(ms_output *o, const char *row)
{
    const char *p = row;
    bool first = true;
    int last_shown = o->nfields - 1;
    while (last_shown > 0 && o->widths[last_shown] < 0)
        last_shown--;
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
            fputs(cut_mark(), o->fp);
            w = width;
        } else {
            fwrite(p, 1, len, o->fp);
        }
        if (i < last_shown) /* pad all but the last cell shown */
            for (size_t k = w; k < width; k++)
                fputc(' ', o->fp);
        p = end ? end + 1 : p + len;
    }
    fputc('\n', o->fp);
}

/* Room a live table gives a column whose later values are not known yet. */
static int live_width(ms_field_type t)
{
    switch (t) {
    case MS_FIELD_TIME: return 23;      /* 2009-11-18 16:36:45.123 */
    case MS_FIELD_ADDR: return 15;      /* 255.255.255.255 (IPv6 is cut: addresses are not) */
    case MS_FIELD_STRING: return 16;
    case MS_FIELD_SET: return 10;
    case MS_FIELD_INTERVAL: return 9;
    case MS_FIELD_PORT: return 5;
    default: return 4;
    }
}

/* Width of the terminal the table goes to: the window's, else $COLUMNS (a pager or a test that
 * says how wide to be), else 0 (keep natural widths). */
static int table_columns(ms_output *o)
{
    struct winsize ws;
    if (ioctl(fileno(o->fp), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *env = getenv("COLUMNS");
    int cols = env ? atoi(env) : 0;
    return cols > 0 && cols < 100000 ? cols : 0;
}

static int table_width(const ms_output *o)
{
    int total = 0, visible = 0;
    for (int i = 0; i < o->nfields; i++)
        if (o->widths[i] >= 0) {
            total += o->widths[i];
            visible++;
        }
    return total + 2 * (visible > 0 ? visible - 1 : 0);
}

static bool cuttable(const ms_output *o, int i)
{
    /* only text is cut: a cut number, address or time would mislead */
    ms_field_type t = o->fields[i].type;
    return (t == MS_FIELD_STRING || t == MS_FIELD_SET) && strcmp(o->fields[i].name, "uid") != 0;
}

/* The narrowest the visible columns can be: text cut to TABLE_MIN_WIDTH, the rest as they are. */
static int table_min_width(const ms_output *o)
{
    int total = 0, visible = 0;
    for (int i = 0; i < o->nfields; i++)
        if (o->widths[i] >= 0) {
            total += cuttable(o, i) ? MS_MIN(o->widths[i], TABLE_MIN_WIDTH) : o->widths[i];
            visible++;
        }
    return total + 2 * (visible > 0 ? visible - 1 : 0);
}

/* The column to hide next when the table cannot fit: first the columns the log did not name
 * for narrow tables (ms_output_set_table_keep) — one whose value is the same in every preview
 * row (it says nothing row to row), then the uid (for joining rather than reading), then the
 * originator's port (ephemeral), then the rightmost — and then the named ones, the last named
 * first. -1 when one column is left. */
static int table_column_to_hide(const ms_output *o, const bool *constant)
{
    int visible = 0, last = -1, uid = -1, orig_p = -1, same = -1, kept = -1;
    for (int i = 0; i < o->nfields; i++) {
        if (o->widths[i] < 0)
            continue;
        visible++;
        if (o->keep_rank && o->keep_rank[i] >= 0) {
            if (kept < 0 || o->keep_rank[i] > o->keep_rank[kept])
                kept = i;
            continue;
        }
        last = i;
        const char *name = o->fields[i].name;
        if (strcmp(name, "uid") == 0)
            uid = i;
        else if (strcmp(name, "id.orig_p") == 0)
            orig_p = i;
        else if (constant[i] && o->fields[i].type != MS_FIELD_TIME)
            same = i; /* the rightmost such column */
    }
    if (visible <= 1)
        return -1;
    return same >= 0 ? same : uid >= 0 ? uid : orig_p >= 0 ? orig_p : last >= 0 ? last : kept;
}

/* Fits the table to the terminal: column names are cut down to their values; columns are hidden
 * (table_column_to_hide) while even cut text cannot make the rows fit; then the widest text
 * columns are cut (values end in an ellipsis) until they do. TSV and JSON keep every column;
 * -e chooses them. */
static void table_fit_terminal(ms_output *o, const bool *constant)
{
    int cols = table_columns(o);
    if (cols <= 0)
        return; /* not a terminal (a file or a pipe asked for --table): keep natural widths */
    if (table_width(o) > cols) /* first cut the column names down to their values (at least 4 wide) */
        for (int i = 0; i < o->nfields; i++)
            if (o->widths[i] > 0)
                o->widths[i] = MS_MAX(o->value_widths[i], MS_MIN(o->widths[i], 4));
    while (table_min_width(o) > cols) {
        int hide = table_column_to_hide(o, constant);
        if (hide < 0)
            break;
        o->widths[hide] = -1;
    }
    while (table_width(o) > cols) {
        int widest = -1;
        for (int i = 0; i < o->nfields; i++)
            if (o->widths[i] >= 0 && cuttable(o, i) && (widest < 0 || o->widths[i] > o->widths[widest]))
                widest = i;
        if (widest < 0 || o->widths[widest] <= TABLE_MIN_WIDTH)
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
    /* constant[i]: the column has one value in every preview row (two rows at least) */
    bool *constant = calloc((size_t)o->nfields ? (size_t)o->nfields : 1, sizeof *constant);
    if (!constant) {
        free(used);
        o->oom = true;
        return;
    }
    for (int i = 0; i < o->nfields; i++) {
        o->widths[i] = (int)MS_MIN(strlen(o->fields[i].name), (size_t)TABLE_MAX_WIDTH);
        constant[i] = o->nrows >= 2 && !o->live;
        if (o->live) /* later rows are not seen yet: leave them room */
            o->widths[i] = MS_MAX(o->widths[i], live_width(o->fields[i].type));
    }
    for (int r = 0; r < o->nrows; r++) {
        const char *p = o->rows[r], *q = o->rows[0];
        for (int i = 0; i < o->nfields; i++) {
            const char *end = strchr(p, '\t'), *qend = strchr(q, '\t');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            size_t qlen = qend ? (size_t)(qend - q) : strlen(q);
            int w = (int)MS_MIN(display_width(p, len), (size_t)TABLE_MAX_WIDTH);
            if (w > o->widths[i])
                o->widths[i] = w;
            if (w > o->value_widths[i])
                o->value_widths[i] = w;
            if (!(len == 1 && p[0] == '-'))
                used[i] = true;
            if (len != qlen || memcmp(p, q, len) != 0)
                constant[i] = false;
            p = end ? end + 1 : p + len;
            q = qend ? qend + 1 : q + qlen;
        }
    }
    for (int i = 0; i < o->nfields; i++)
        if (!used[i] && o->nrows > 0)
            o->widths[i] = -1;
    free(used);
    table_fit_terminal(o, constant);
    free(constant);
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

/* fwrite without taking the stream's lock where the C library offers it (the engine writes from
 * one thread). */
static size_t write_line(const char *s, size_t n, FILE *fp)
{
#if defined(__GLIBC__)
    return fwrite_unlocked(s, 1, n, fp);
#else
    return fwrite(s, 1, n, fp);
#endif
}

static int view_end(ms_output *o);

int ms_output_end(ms_output *o)
{
    if (o->filter || o->proj)
        return view_end(o); /* -Y / -e: the view decides, and writes through o->proj */
    o->line_len = 0;
    if (o->format == MS_FMT_AUTO)
        o->format = MS_FMT_TSV;
    size_t bound;
    if (!render_bound(o, &bound) || !grow((void **)&o->line, &o->line_cap, bound, 1))
        o->oom = true;
    if (o->oom)
        return MS_ENOMEM;
    char *d = o->line;
    if (o->format == MS_FMT_JSON) {
        d = render_json(o, d);
        *d++ = '\n';
    } else {
        d = render_text(o, d);
        if (o->format == MS_FMT_TSV)
            *d++ = '\n';
    }
    *d = '\0';
    o->line_len = (size_t)(d - o->line);
    o->header_done = true;
    o->records++;
    if (o->format == MS_FMT_TABLE) {
        if (o->widths_fixed) {
            table_print_cells(o, o->line);
            if (o->live)
                fflush(o->fp);
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
        if (o->nrows >= (o->live ? 1 : TABLE_PREVIEW_ROWS))
            table_fix_widths(o);
        if (o->live)
            fflush(o->fp);
        return 0;
    }
    if (o->format == MS_FMT_TSV && !o->tsv_header_written)
        write_tsv_header(o);
    if (write_line(o->line, o->line_len, o->fp) != o->line_len)
        return MS_EIO;
    if (o->live && fflush(o->fp) != 0)
        return MS_EIO;
    return 0;
}

int ms_output_flush(ms_output *o)
{
    return o && fflush(o->fp) != 0 ? MS_EIO : 0;
}

/* Frees what the sink holds (the stream is left alone). */
static void output_free(ms_output *o)
{
    for (int i = 0; i < o->nfields; i++)
        free((char *)o->fields[i].name);
    for (int r = 0; r < o->nrows; r++)
        free(o->rows[r]);
    free(o->rows);
    free(o->fields);
    free(o->vals);
    for (int i = 0; i < o->nfields; i++)
        free(o->cols[i].json_key);
    free(o->cols);
    free(o->arena);
    free(o->set_items);
    free(o->widths);
    free(o->value_widths);
    free(o->line);
    ms_filter_free(o->filter);
    free(o->proj_src);
    free(o->keep_rank);
    free(o);
}

int ms_output_close(ms_output *o)
{
    if (!o)
        return 0;
    int rc = 0;
    ms_output *shown = o->proj ? o->proj : o; /* the sink that writes the lines */
    if (shown->format == MS_FMT_TABLE && !shown->widths_fixed && shown->nrows > 0)
        table_fix_widths(shown);
    if ((shown->format == MS_FMT_TSV || shown->format == MS_FMT_AUTO) && !shown->tsv_header_written && o->own_fp)
        write_tsv_header(shown); /* a log file always says what it would hold */
    if (shown->tsv_header_written)
        write_stamp(o->fp, "close", time(NULL));
    if (fflush(o->fp) != 0)
        rc = MS_EIO;
    if (o->own_fp && fclose(o->fp) != 0)
        rc = MS_EIO;
    if (o->proj)
        output_free(o->proj);
    output_free(o);
    return rc;
}

/* ---- live output and views (-l, -Y, -e) --------------------------------------------------- */

uint64_t ms_output_filtered(const ms_output *o)
{
    return o->filtered;
}

int ms_output_set_table_keep(ms_output *o, const char *const *names, int n)
{
    int *rank = malloc((size_t)(o->nfields ? o->nfields : 1) * sizeof *rank);
    if (!rank)
        return MS_ENOMEM;
    for (int i = 0; i < o->nfields; i++)
        rank[i] = -1;
    for (int k = 0; k < n; k++) {
        int idx = ms_output_field_index(o, names[k]);
        if (idx >= 0 && rank[idx] < 0)
            rank[idx] = k;
    }
    free(o->keep_rank);
    o->keep_rank = rank;
    return 0;
}

void ms_output_set_live(ms_output *o, bool live)
{
    o->live = live;
    if (o->proj)
        o->proj->live = live;
}

bool ms_output_get(const ms_output *o, int idx, ms_output_value *v)
{
    if (idx < 0 || idx >= o->nfields || o->vals[idx].gen != o->gen)
        return false;
    const field_value *fv = &o->vals[idx];
    memset(v, 0, sizeof *v);
    v->type = o->fields[idx].type;
    if (v->type == MS_FIELD_SET) {
        v->nitems = fv->len;
    } else if (is_string_type(v->type)) {
        v->str = value_bytes(o, fv);
        v->len = fv->len;
    } else if (v->type == MS_FIELD_BOOL) {
        v->b = fv->v.b; /* the union member that was set, by the field's type */
    } else if (v->type == MS_FIELD_DOUBLE) {
        v->d = fv->v.d;
    } else if (v->type == MS_FIELD_INT || v->type == MS_FIELD_INTERVAL) {
        v->i = fv->v.i;
    } else {
        v->u = fv->v.u;
    }
    return true;
}

void ms_output_item(const ms_output *o, int idx, uint32_t k, const char **s, size_t *len)
{
    const field_value *v = &o->vals[idx];
    const set_item *it = &o->set_items[v->off + k];
    *s = item_bytes(o, it);
    *len = it->len;
}

int ms_output_set_view(ms_output *o, const char *filter, const char *const *select, int nselect, ms_err *err)
{
    if (o->records || o->filter || o->proj)
        return ms_fail(err, MS_EINVAL, "log %s: a view is set once, before the first record", o->name);
    if (filter && *filter) {
        o->filter = ms_filter_new(filter, o->fields, o->nfields, o->name, err);
        if (!o->filter)
            return MS_EINVAL;
    }
    if (nselect <= 0)
        return 0;
    ms_field_def *defs = calloc((size_t)nselect, sizeof *defs);
    o->proj_src = calloc((size_t)nselect, sizeof *o->proj_src);
    if (!defs || !o->proj_src) {
        free(defs);
        return ms_fail(err, MS_ENOMEM, "out of memory choosing the columns of log %s", o->name);
    }
    for (int j = 0; j < nselect; j++) {
        int idx = ms_output_field_index(o, select[j]);
        if (idx < 0) {
            free(defs);
            return ms_filter_unknown_field(err, "-e", select[j], o->name, o->fields, o->nfields);
        }
        o->proj_src[j] = idx;
        defs[j] = o->fields[idx];
    }
    /* the chosen columns form a log of their own on the same stream, which writes every line */
    o->proj = ms_output_open(o->name, defs, nselect, o->format, o->fp, NULL, err);
    free(defs);
    if (!o->proj)
        return MS_ENOMEM;
    if (ms_output_nfields(o->proj) != nselect) {
        output_free(o->proj);
        o->proj = NULL;
        return ms_fail(err, MS_EINVAL, "-e: a field is named twice");
    }
    o->proj->opened = o->opened;
    o->proj->live = o->live;
    return 0;
}

/* ms_output_end under a view: the filter decides; the chosen columns are handed to o->proj
 * (borrowing this record's bytes, which stay put until this returns). */
static int view_end(ms_output *o)
{
    if (o->oom)
        return MS_ENOMEM;
    o->records++;
    if (o->filter && !ms_filter_match(o->filter, o)) {
        o->filtered++;
        return 0;
    }
    if (!o->proj) { /* -Y alone: render as usual */
        ms_filter *f = o->filter;
        o->filter = NULL;
        o->records--;
        int rc = ms_output_end(o);
        o->filter = f;
        return rc;
    }
    ms_output *p = o->proj;
    ms_output_begin(p);
    for (int j = 0; j < p->nfields; j++) {
        const field_value *v = &o->vals[o->proj_src[j]];
        if (v->gen != o->gen)
            continue;
        ms_field_type t = p->fields[j].type;
        if (t == MS_FIELD_SET) {
            for (uint32_t k = 0; k < v->len; k++) {
                const set_item *it = &o->set_items[v->off + k];
                ms_output_set_add_borrowed(p, j, item_bytes(o, it), it->len);
            }
            if (v->len == 0) { /* an empty set is set: "(empty)" */
                p->vals[j].gen = p->gen;
                p->vals[j].off = (uint32_t)p->nset_items;
                p->vals[j].len = 0;
            }
        } else if (is_string_type(t)) {
            ms_output_str_borrowed(p, j, value_bytes(o, v), v->len);
        } else {
            p->vals[j].v = v->v;
            p->vals[j].gen = p->gen;
        }
    }
    o->header_done = true;
    return ms_output_end(p);
}
