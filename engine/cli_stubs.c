/* cli_stubs.c — TEMPORARY weak placeholders for commands still being written, so the binary links
 * while the engine grows. A real engine/cmd_NAME.c overrides each one. Remove when all exist. */
#include <stdio.h>

#include "cli.h"

#define STUB(fn, name)                                                        \
    __attribute__((weak)) int fn(int argc, char **argv)                       \
    {                                                                         \
        (void)argc;                                                           \
        (void)argv;                                                           \
        ms_cli_error("the '%s' command is not built yet", name);              \
        return 2;                                                             \
    }

STUB(ms_cmd_http, "http")
STUB(ms_cmd_layers, "layers")
STUB(ms_cmd_stats, "stats")
STUB(ms_cmd_streams, "streams")
STUB(ms_cmd_conn, "conn")
STUB(ms_cmd_script, "-s")
