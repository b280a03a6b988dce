/* cmd_http.c — `moonshark http CAPTURE...`: the HTTP request log (protocols/http.lua, bundled in
 * the binary) through the same runner as `moonshark -s`. */
#include "cli.h"
#include "dispatch.h"

static const char http_usage[] =
    "usage: moonshark http [OPTIONS] CAPTURE...\n"
    "\n"
    "One record per HTTP request (with its response when seen), Zeek http.log fields: ts uid\n"
    "id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method host uri ... status_code.\n"
    "HTTP is found on ports 80/8080 and, elsewhere, by looking at the first bytes.\n"
    "\n"
    "Options: --json | --tsv | --table (default: table on a terminal, TSV otherwise),\n"
    "  -w DIR (DIR/http.log), -f EXPR (BPF filter), -i IFACE (live), -s FILE.lua (more parsers),\n"
    "  --stats (counters on stderr), --gap-timeout S, --idle-timeout S, --max-conns N,\n"
    "  --max-pages N, --lua-mem MB, --unsafe-lua, -q, -h.\n";

int ms_cmd_http(int argc, char **argv)
{
    return ms_cmd_lua_run(argc, argv, "http", http_usage);
}
