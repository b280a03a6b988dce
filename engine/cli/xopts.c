/* xopts.c — a command's own options, taken out of argv before the shared parser runs. */
#include "cli/xopts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* The option xs[i] that arg names (with its "=value" when given inline), or -1. */
static int find(const char *arg, ms_xopt *xs, int nx, const char **inline_value)
{
    *inline_value = NULL;
    if (arg[0] != '-' || arg[1] == '\0')
        return -1;
    for (int i = 0; i < nx; i++) {
        size_t n = strlen(xs[i].name);
        if (n == 1) {
            if (arg[1] == xs[i].name[0] && arg[2] == '\0')
                return i;
            continue;
        }
        if (arg[1] != '-' || strncmp(arg + 2, xs[i].name, n) != 0)
            continue;
        if (arg[2 + n] == '\0')
            return i;
        if (arg[2 + n] == '=' && xs[i].has_value) {
            *inline_value = arg + 3 + n;
            return i;
        }
    }
    return -1;
}

int ms_xopts_take(int argc, char **argv, ms_xopt *xs, int nx)
{
    int out = argc > 0 ? 1 : 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < argc)
                argv[out++] = argv[i++];
            break;
        }
        const char *v;
        int k = find(argv[i], xs, nx, &v);
        if (k < 0) {
            argv[out++] = argv[i];
            continue;
        }
        if (xs[k].has_value && !v) {
            if (i + 1 >= argc) {
                ms_cli_error("option %s needs a value", argv[i]);
                return -1;
            }
            v = argv[++i];
        }
        xs[k].value = v;
        xs[k].seen++;
    }
    argv[out] = NULL;
    return out;
}

int ms_xopts_count(const ms_xopt *x, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(x->value, &end, 10);
    if (errno || end == x->value || *end || x->value[0] == '-' || v > max) {
        ms_cli_error("--%s: '%s' is not a number from 0 to %llu", x->name, x->value, max);
        return -1;
    }
    *out = v;
    return 0;
}
