/* common.c — the error helper shared by every module. */
#include "common/common.h"

#include <stdio.h>

int ms_fail(ms_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
