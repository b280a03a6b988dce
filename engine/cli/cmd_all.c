/* cmd_all.c — `moonshark all -w DIR CAPTURE...`: every bundled protocol (protocols/NAME.lua, compiled
 * into the binary) over one read and one TCP reassembly, each writing its own DIR/LOG.log. */
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "lua/embedded_lua.h"

static const char all_usage[] =
    "usage: moonshark all -w DIR [OPTIONS] CAPTURE...\n"
    "       moonshark all -w DIR -i IFACE [-f FILTER] [OPTIONS]\n"
    "\n"
    "Every bundled log in one pass: the captures are read once, TCP is reassembled once, and\n"
    "each connection goes to the one parser that claims it (by port, then by its first bytes).\n"
    "The logs, each as its own command writes it (see 'moonshark COMMAND --help'):\n"
    "  DIR/http.log   HTTP requests and responses (moonshark http)\n"
    "  DIR/dns.log    DNS queries and replies (moonshark dns)\n"
    "  DIR/ssl.log    TLS handshakes, JA3/JA3S/JA4 (moonshark tls)\n"
    "Every log file is written even when no record goes into it (in TSV with its header). The\n"
    "records are the ones the single commands print, and their uids match `moonshark conn`.\n"
    "\n"
    "Options:\n"
    "  -w DIR          the directory for the logs (required; created when missing)\n"
    "  --json          JSON lines instead of TSV (the files keep their names, DIR/NAME.log)\n"
    "Input: CAPTURE files (pcap or pcapng, several allowed, '-' for stdin), -r FILE, -i IFACE,\n"
    "  -f EXPR (BPF filter, files and live alike), --snaplen N, --no-promisc.\n"
    "Parsers: -s FILE.lua (more parsers and logs, repeatable; $MOONSHARK_PATH dirs too),\n"
    "  --lua-mem MB, --unsafe-lua. Limits: --gap-timeout S (30), --idle-timeout S (300),\n"
    "  --max-conns N, --max-pages N. Reporting: --stats, --progress / --no-progress, -q, -h.\n"
    "\n"
    "Examples:\n"
    "  moonshark all -w logs/ capture.pcap\n"
    "  moonshark all -w logs/ --json -f 'not port 22' a.pcap b.pcapng\n"
    "\n"
    "Exit status: 0 success, 1 an input failed (truncated or unreadable), 2 usage error (no -w)\n"
    "or not a capture.\n";

#define MAX_BUILTINS 64

int ms_cmd_all(int argc, char **argv)
{
    /* the names of protocols/NAME.lua in the binary, in the embedding order (sorted by path) */
    static char names[MAX_BUILTINS][64];
    const char *list[MAX_BUILTINS + 1];
    int n = 0;
    for (const ms_embedded_lua *e = ms_embedded_lua_files; e->path && n < MAX_BUILTINS; e++) {
        const char *base = e->path + strlen("protocols/");
        size_t len = strlen(e->path);
        if (strncmp(e->path, "protocols/", 10) != 0 || len < 15 || strcmp(e->path + len - 4, ".lua") != 0)
            continue;
        size_t blen = len - 10 - 4;
        if (blen >= sizeof names[0])
            continue;
        memcpy(names[n], base, blen);
        names[n][blen] = '\0';
        list[n] = names[n];
        n++;
    }
    list[n] = NULL;
    return ms_cmd_lua_run_builtins(argc, argv, list, true, all_usage);
}
