/* output.h — record sinks: aligned table (terminal), TSV with a Zeek-style #fields header,
 * JSON lines (Zeek JSON types: ts as epoch seconds, counts as numbers, unset fields left out).
 * A log has a fixed column order; a record sets some of its fields and is written at end_record.
 * Values are copied into the sink's own buffer, so callers may pass borrowed bytes (the
 * _borrowed setters skip the copy for bytes that outlive the record). */
#ifndef MS_OUTPUT_H
#define MS_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"

typedef enum ms_out_format {
    MS_FMT_AUTO = 0,  /* table on a terminal, TSV otherwise */
    MS_FMT_TABLE,
    MS_FMT_TSV,
    MS_FMT_JSON,
} ms_out_format;

typedef enum ms_field_type {
    MS_FIELD_STRING = 0,
    MS_FIELD_COUNT,     /* unsigned integer */
    MS_FIELD_INT,
    MS_FIELD_DOUBLE,
    MS_FIELD_TIME,      /* nanoseconds since the epoch; printed as seconds with 6 decimals */
    MS_FIELD_INTERVAL,  /* nanoseconds; printed as seconds with 6 decimals */
    MS_FIELD_BOOL,
    MS_FIELD_ADDR,      /* string in text, string in JSON */
    MS_FIELD_PORT,      /* count */
    MS_FIELD_SET,       /* set of strings: ',' in TSV, array in JSON; add items with ms_output_add */
} ms_field_type;

typedef struct ms_field_def {
    const char *name;
    ms_field_type type;
} ms_field_def;

typedef struct ms_output ms_output;

/* Opens a log named `name` with the given columns. Writes to `fp` (not closed by the sink), or,
 * when dir is non-NULL, to DIR/NAME.log (TSV/table) or DIR/NAME.json (JSON), created by the sink.
 * NULL on failure with err filled. Caller frees with ms_output_close. */
ms_output *ms_output_open(const char *name, const ms_field_def *fields, int nfields,
                          ms_out_format format, FILE *fp, const char *dir, ms_err *err);

/* Adds a column after open (only before the first record is written); returns its index. */
int ms_output_add_field(ms_output *out, const char *name, ms_field_type type);

/* Index of a column by name, or -1. */
int ms_output_field_index(const ms_output *out, const char *name);
int ms_output_nfields(const ms_output *out);
const ms_field_def *ms_output_field(const ms_output *out, int idx);
/* All columns in order (ms_output_nfields of them); valid until a column is added. */
const ms_field_def *ms_output_fields(const ms_output *out);

/* Record building: begin, set fields by index (later sets of the same field replace it),
 * end writes it. Unset fields print as '-' in TSV/table and are left out of JSON. */
void ms_output_begin(ms_output *out);
void ms_output_str(ms_output *out, int idx, const char *s, size_t len);
void ms_output_cstr(ms_output *out, int idx, const char *s);
void ms_output_uint(ms_output *out, int idx, uint64_t v);
void ms_output_int(ms_output *out, int idx, int64_t v);
void ms_output_double(ms_output *out, int idx, double v);
void ms_output_time(ms_output *out, int idx, uint64_t ns);
void ms_output_bool(ms_output *out, int idx, bool v);
void ms_output_set_add(ms_output *out, int idx, const char *s, size_t len); /* MS_FIELD_SET item */
/* The same without a copy: the sink keeps s, which must stay valid and unchanged until
 * ms_output_end returns (e.g. a Lua string the caller keeps reachable). */
void ms_output_str_borrowed(ms_output *out, int idx, const char *s, size_t len);
void ms_output_set_add_borrowed(ms_output *out, int idx, const char *s, size_t len);
int ms_output_end(ms_output *out);

/* Flushes the sink's stream, so records written so far reach its file (a table keeps the rows of
 * its preview until its widths are fixed). 0 or MS_EIO. */
int ms_output_flush(ms_output *out);

/* Flushes pending table rows and the stream; writes the #close line for TSV. */
int ms_output_close(ms_output *out);

/* Records ended so far (ms_output_end), and how many of them the view's filter dropped. */
uint64_t ms_output_records(const ms_output *out);
uint64_t ms_output_filtered(const ms_output *out);

/* ---- what the command line adds: live output and views (-l, -Y, -e) ---------------------- */

/* The columns a table narrower than its rows keeps longest, most important first (the others
 * are hidden first). Names the log does not have are ignored. Call before the first record;
 * a -e view's own columns are all kept alike. */
int ms_output_set_table_keep(ms_output *out, const char *const *names, int n);

/* Live output: every record reaches the stream at once (flushed), and a table sizes its columns
 * from the first record instead of a preview of 64 (with room for longer values to come). */
void ms_output_set_live(ms_output *out, bool live);

/* A view of the log: only the records that the filter expression accepts (engine/output/filter.h;
 * NULL or "" keeps every record) are written, with only the columns named in select, in that
 * order (nselect 0 keeps them all). Call before the first record. Returns 0, or MS_EINVAL with
 * err saying what is wrong (a syntax error, or a field the log does not have). */
int ms_output_set_view(ms_output *out, const char *filter, const char *const *select, int nselect,
                       ms_err *err);

/* One field of the record being built (between begin and end), for the filter. */
typedef struct ms_output_value {
    ms_field_type type;
    const char *str;   /* strings and addresses: the bytes (not NUL-terminated), len of them */
    size_t len;
    uint64_t u;        /* count, port, time (ns) */
    int64_t i;         /* int, interval (ns) */
    double d;          /* double */
    bool b;            /* bool */
    uint32_t nitems;   /* set: the number of items (ms_output_item) */
} ms_output_value;

/* Fills v and returns true when field idx is set in the current record. */
bool ms_output_get(const ms_output *out, int idx, ms_output_value *v);
/* Item k of set field idx of the current record (borrowed until ms_output_end). */
void ms_output_item(const ms_output *out, int idx, uint32_t k, const char **s, size_t *len);

#endif
