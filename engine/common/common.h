/* common.h — error codes, the caller-owned error buffer, small helpers shared by every module.
 * Nothing here allocates or holds state. */
#ifndef MS_COMMON_H
#define MS_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes: 0 is success, negatives are failures. */
enum {
    MS_OK = 0,
    MS_EINVAL = -1,   /* bad argument or option */
    MS_ENOMEM = -2,   /* allocation failed or a memory limit was hit */
    MS_EIO = -3,      /* read/write failure */
    MS_EFORMAT = -4,  /* input is not what it claims (not a capture, bad script) */
    MS_ETRUNC = -5,   /* input ended early (truncated capture) */
    MS_ELIMIT = -6,   /* a configured limit was reached */
    MS_ELUA = -7,     /* a Lua script failed */
};

#define MS_ERR_MAX 512

/* An error message buffer the caller owns; functions that fail fill msg with one line. */
typedef struct ms_err {
    char msg[MS_ERR_MAX]; /* NUL-terminated, one line, no trailing newline */
} ms_err;

/* Formats into err (if non-NULL) and returns code, so callers can `return ms_fail(err, MS_EIO, ...)`. */
int ms_fail(ms_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define MS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MS_MAX(a, b) ((a) > (b) ? (a) : (b))

/* The capture time span_ns before now_ns (0 when now is earlier): the cut-off of a timeout. */
static inline uint64_t ms_ns_before(uint64_t now_ns, uint64_t span_ns)
{
    return now_ns > span_ns ? now_ns - span_ns : 0;
}

#endif
