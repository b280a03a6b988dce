/* cmd_tls.c — `moonshark tls CAPTURE...`: the TLS log (protocols/tls.lua, bundled in the binary;
 * Zeek's ssl.log fields, so the log is named ssl) through the same runner as `moonshark -s`. */
#include "cli.h"
#include "dispatch.h"

static const char tls_usage[] = "usage: moonshark tls [OPTIONS] CAPTURE...\n";

int ms_cmd_tls(int argc, char **argv)
{
    return ms_cmd_lua_run(argc, argv, "tls", tls_usage);
}
