/* xopts.h — options one command adds to the shared ones (cli.h): taken out of argv before
 * ms_cli_parse sees it, so each command keeps its own options in its own file. */
#ifndef MS_CLI_XOPTS_H
#define MS_CLI_XOPTS_H

#include <stdbool.h>

typedef struct ms_xopt {
    const char *name;   /* long name without the dashes ("stream-ports"), or one letter ("v") */
    bool has_value;     /* takes a value: --name VALUE or --name=VALUE */
    const char *value;  /* out: the last value given */
    int seen;           /* out: times given */
} ms_xopt;

/* Removes the options in xs (and their values) from argv, keeping argv[0] and everything else in
 * order; stops at "--". Returns the new argc, or -1 after printing an error (a value missing). */
int ms_xopts_take(int argc, char **argv, ms_xopt *xs, int nx);

/* Parses a count option's value (decimal, 0..max) into *out; prints an error and returns -1 on a
 * bad one. */
int ms_xopts_count(const ms_xopt *x, unsigned long long max, unsigned long long *out);

#endif
