/* main.c — the moonshark command: the top-level help and the choice of command by its word
 * (one file per command, cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

static const char main_usage[] =
    "usage: moonshark COMMAND [OPTIONS] CAPTURE... [FILTER EXPRESSION]\n"
    "       moonshark -s PARSER.lua [OPTIONS] CAPTURE... [FILTER EXPRESSION]\n"
    "       moonshark COMMAND -i IFACE [OPTIONS] [FILTER EXPRESSION]\n"
    "\n"
    "moonshark reads packet captures (pcap, pcapng, gzip'd or not, or a live interface), decodes\n"
    "every layer, reassembles TCP streams and runs protocol parsers written in Lua over them.\n"
    "\n"
    "Commands:\n"
    "  http      HTTP request log: one record per request, with its response (Zeek http.log fields)\n"
    "  layers    the protocol stack of every frame, FRAME<TAB>eth:ethertype:ip:tcp\n"
    "  stats     counts of frames, bytes, layers, decode errors and fragments\n"
    "  streams   each TCP direction's reassembled bytes to its own file (-o DIR), like tcpflow\n"
    "  conn      one line per TCP connection, UDP flow and ICMP flow (Zeek conn.log fields)\n"
    "\n"
    "Run 'moonshark COMMAND --help' for the options of a command.\n"
    "\n"
    "Common options:\n"
    "  -r FILE          read this capture (captures may also be given as arguments; '-' is stdin;\n"
    "                   a gzip'd capture is read through zlib)\n"
    "  -i IFACE         capture live from IFACE (Ctrl-C stops, writes what was read, prints\n"
    "                   libpcap's counters); records are written as they happen\n"
    "  -f EXPR          BPF filter, e.g. 'tcp port 80' (files and live alike); as with tcpdump, the\n"
    "                   words after the captures that start a filter are one too:\n"
    "                   moonshark http f.pcap tcp port 80\n"
    "  -s FILE.lua      load a Lua parser (repeatable); also every *.lua in $MOONSHARK_PATH dirs\n"
    "  --json           JSON lines (one object per record; reads with jq)\n"
    "  --tsv            TSV with Zeek's header: #fields, #types, #open, and #close at the end\n"
    "                   (the default when piped)\n"
    "  --table          aligned columns fitted to the terminal (the default on a terminal)\n"
    "  -Y EXPR          display filter: write only the records EXPR accepts, e.g.\n"
    "                   -Y 'status_code >= 500 and host ~ \"example\"' (see 'moonshark http --help')\n"
    "  -e FIELD         write only these fields, in this order (repeatable, or -e host,uri)\n"
    "  -l               write each record at once (line-buffered, like tcpdump -l; always so live)\n"
    "  -w DIR           write each log to DIR/NAME.log (http.log, conn.log, layers.log, stats.log);\n"
    "                   a name like out.pcap is refused: moonshark does not write packets\n"
    "  -o DIR           output directory (streams)\n"
    "  -n               accepted for tcpdump's sake: moonshark never resolves names\n"
    "  --stats          print counters (decode errors, gaps, script errors, drops, records written\n"
    "                   and dropped by -Y) on stderr at the end\n"
    "  --progress, --no-progress   progress bar on stderr (default: when stderr is a terminal)\n"
    "  --lazy           decode layers on demand only (default for http/streams/conn)\n"
    "  --eager          decode every layer of every frame\n"
    "  --snaplen N      live capture snap length (default 262144)\n"
    "  --no-promisc     do not put the interface in promiscuous mode\n"
    "  --gap-timeout S  give up waiting for missing TCP bytes after S seconds of capture time (30)\n"
    "  --idle-timeout S close connections idle for S seconds of capture time (300)\n"
    "  --max-conns N    TCP connections tracked at once; the least recently seen is evicted\n"
    "  --max-pages N    out-of-order pages held in total (1900 bytes each)\n"
    "  --lua-mem MB     memory ceiling of the Lua state (256)\n"
    "  --seed N         seed of connection uids: a fresh one per run by default (or $MOONSHARK_SEED);\n"
    "                   the same seed and input give the same uids, so separate commands' logs join\n"
    "  --unsafe-lua     lift the Lua sandbox (os, io writes, C modules)\n"
    "  -q               no warnings on stderr\n"
    "  -h, --help       this help;  --version  the version\n"
    "\n"
    "Live, capture time follows the wall clock while the interface is idle, so timeouts fire and\n"
    "finished connections are written within a second. Ctrl-C (SIGINT) or SIGTERM ends a run as\n"
    "the end of the input does: every connection is flushed and every record written.\n"
    "\n"
    "Exit status: 0 success, 1 an input failed (truncated or unreadable), 2 usage error or not a capture.\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    { "http", ms_cmd_http },
    { "layers", ms_cmd_layers },
    { "stats", ms_cmd_stats },
    { "streams", ms_cmd_streams },
    { "conn", ms_cmd_conn },
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_usage, stderr);
        return 2;
    }
    const char *word = argv[1];
    if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0 || strcmp(word, "help") == 0) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (strcmp(word, "--version") == 0) {
        printf("moonshark %s\n", MS_VERSION);
        return 0;
    }
    for (size_t i = 0; i < MS_ARRAY_LEN(commands); i++)
        if (strcmp(word, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    if (word[0] == '-') /* options first: a user script run (moonshark -s X.lua FILE) */
        return ms_cmd_script(argc, argv);
    ms_cli_error("unknown command '%s' (commands: http, layers, stats, streams, conn; see 'moonshark --help')",
                 word);
    return 2;
}
