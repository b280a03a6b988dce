/* filter.h — the display filter of a log (-Y EXPR): a small expression language over the log's
 * fields, compiled once against the log's columns and evaluated on each record as it ends
 * (engine/output/output.c calls it; ms_output_set_view installs it).
 *
 *   expr    := or
 *   or      := and { ("or" | "||") and }
 *   and     := unary { ("and" | "&&") unary }
 *   unary   := ("not" | "!") unary | "(" expr ")" | cmp
 *   cmp     := value [ op value ]           a lone field is true when the field is set
 *   op      := == != < <= > >= ~ !~ contains   (also eq ne lt le gt ge matches)
 *   value   := FIELD | "string" | 'string' | NUMBER | true | false
 *
 * Numbers compare as numbers when both sides are numeric (counts, ports, ints, doubles, bools as
 * 1/0; times and intervals in seconds), otherwise as text (a numeric field as it prints in TSV).
 * `~` is a POSIX extended regular expression, `contains` a substring. A set field matches when
 * one of its items does (`!=` and `!~` when none does). A comparison with an unset field is
 * false, whatever the operator: `not FIELD` finds the records without it. */
#ifndef MS_FILTER_H
#define MS_FILTER_H

#include <stdbool.h>

#include "common/common.h"
#include "output/output.h"

typedef struct ms_filter ms_filter;

/* Compiles expr against a log's columns (fields, nfields; log names it in messages). With fields
 * NULL only the syntax is checked (every name is taken as a field). NULL on error, with err saying
 * where and why. Caller frees with ms_filter_free. */
ms_filter *ms_filter_new(const char *expr, const ms_field_def *fields, int nfields, const char *log,
                         ms_err *err);

/* Whether the record being built in out (between ms_output_begin and ms_output_end) passes. */
bool ms_filter_match(const ms_filter *f, const ms_output *out);

void ms_filter_free(ms_filter *f);

/* Fills err with "OPT: the LOG log has no field 'NAME' (its fields: ...)"; returns MS_EINVAL. */
int ms_filter_unknown_field(ms_err *err, const char *opt, const char *name, const char *log,
                            const ms_field_def *fields, int nfields);

#endif
