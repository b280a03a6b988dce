/* records.h — a Lua runtime whose records are read back instead of printed: each log goes to its
 * own file in a private temporary directory (TSV with its #fields/#types header, or JSON lines),
 * and after each call into the parsers the new rows are read and tagged with where in the stream
 * they came out. Script errors are kept as text. moonshark check and test compare records with
 * this; nothing here knows about segmentations. */
#ifndef MS_CLI_RECORDS_H
#define MS_CLI_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "lua/ms_lua.h"

/* A log as read back. */
typedef struct ms_rlog {
    char *name;           /* log name (owned) */
    int nfields;          /* columns, from the TSV header (0 for JSON, or before the first row) */
    char **fields;        /* column names (owned) */
    char **types;         /* Zeek type names: "time", "set[string]", ... (owned) */
} ms_rlog;

/* One record. */
typedef struct ms_record {
    const ms_rlog *log;   /* owned by the runtime that read it */
    char *line;           /* the row as written, without its newline (owned by the list) */
    int dir;              /* direction being presented when it came out; -1 = at open or close */
    uint64_t off;         /* end offset (in dir) of the bytes presented by then */
    uint64_t seq;         /* order of coming out in its runtime */
} ms_record;

typedef struct ms_record_list {
    ms_record *v;
    size_t n, cap;
} ms_record_list;

void ms_record_list_clear(ms_record_list *l);  /* frees the lines; keeps the array */
void ms_record_list_free(ms_record_list *l);

typedef struct ms_records_opts {
    const char *const *scripts;  /* Lua files loaded in order */
    int nscripts;
    bool sandbox;                /* default true (false = --unsafe-lua) */
    size_t mem_limit;            /* 0 = the runtime's default */
    ms_out_format format;        /* MS_FMT_TSV (typed, for comparing) or MS_FMT_JSON (as users read) */
} ms_records_opts;

typedef struct ms_records ms_records;

/* A fresh runtime with the scripts loaded. NULL on failure with err filled (a script that does
 * not load, no protocol registered, no temporary directory). Caller frees with ms_records_free. */
ms_records *ms_records_new(const ms_records_opts *o, ms_err *err);
void ms_records_free(ms_records *r);

ms_lua *ms_records_lua(ms_records *r);

/* Appends the records that came out since the last call to out, tagged with dir and off.
 * Cheap when there are none (one counter compared). Returns how many, or MS_EIO. */
int ms_records_take(ms_records *r, int dir, uint64_t off, ms_record_list *out);

/* Script errors reported since the last call (one line each; "" when none); owned by r. */
const char *ms_records_errors(ms_records *r);

/* Column index of name in a log, or -1. */
int ms_rlog_field(const ms_rlog *log, const char *name);

#endif
