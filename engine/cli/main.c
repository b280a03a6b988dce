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
    "       moonshark -D\n"
    "\n"
    "Packet analysis with protocol parsers written in Lua: moonshark reads packet captures (pcap,\n"
    "pcapng, gzip'd or not, or a live interface), decodes every layer, reassembles TCP streams and\n"
    "runs the parsers over them.\n"
    "\n"
    "Commands:\n"
    "  http      HTTP request log: one record per request, with its response (Zeek http.log fields)\n"
    "  dns       DNS log: one record per query, paired with its reply (Zeek dns.log fields)\n"
    "  tls       TLS log: one record per connection's handshake, JA3/JA4 (Zeek ssl.log fields)\n"
    "  all       every bundled log (http, dns, tls) in one pass: -w DIR\n"
    "  layers    the protocol stack of every frame, FRAME<TAB>eth:ethertype:ip:tcp\n"
    "  stats     counts of frames, bytes, layers, decode errors and fragments\n"
    "  streams   each TCP direction's reassembled bytes to its own file (-o DIR), like tcpflow\n"
    "  conn      one line per TCP connection, UDP flow and ICMP flow (Zeek conn.log fields)\n"
    "  check     is a parser's output the same however the bytes are cut into packets? (-s FILE.lua)\n"
    "  test      runs a parser's test cases: byte files or captures with their expected records\n"
    "\n"
    "Run 'moonshark COMMAND --help' for the options of a command, and\n"
    "'moonshark -s FILE.lua --help' for running your own parsers.\n"
    "\n"
    "Common options:\n"
    "  -r FILE          read this capture (captures may also be given as arguments; '-' is stdin;\n"
    "                   a gzip'd capture is read through zlib)\n"
    "  -i IFACE         capture live from IFACE (Ctrl-C stops, writes what was read, prints\n"
    "                   libpcap's counters); records are written as they happen\n"
    "  -D               list the interfaces -i can capture on, as tcpdump -D does, and exit\n"
    "  -f EXPR          BPF filter, e.g. 'tcp port 80' (files and live alike); as with tcpdump, the\n"
    "                   words after the captures that start a filter are one too:\n"
    "                   moonshark http f.pcap tcp port 80\n"
    "  -c N             stop after N packets (counted after the -f filter, over all captures)\n"
    "  -s FILE.lua      load a Lua parser (repeatable); also every *.lua in $MOONSHARK_PATH dirs.\n"
    "                   Not tcpdump's -s (snap length): that is --snaplen here\n"
    "  --json           JSON lines (one object per record; reads with jq)\n"
    "  --tsv            TSV with Zeek's header: #fields, #types, #open, and #close at the end\n"
    "                   (the default when piped)\n"
    "  --table          aligned columns fitted to the terminal (the default on a terminal)\n"
    "  -Y EXPR          display filter: write only the records EXPR accepts, e.g.\n"
    "                   -Y 'status_code >= 500 and host ~ \"example\"' (see 'moonshark http --help')\n"
    "  -e FIELD         write only these fields, in this order (repeatable, or -e host,uri)\n"
    "  -l               write each record at once (line-buffered, like tcpdump -l; always so live)\n"
    "  -w DIR           write each log to DIR/NAME.log (http.log, conn.log, layers.log, stats.log).\n"
    "                   A folder of logs, not tcpdump's -w (a capture file): a name like out.pcap\n"
    "                   is refused, moonshark reads captures, it does not write them\n"
    "  -o DIR           output directory (streams)\n"
    "  -n               accepted for tcpdump's sake: moonshark never resolves names\n"
    "  --stats          print counters (decode errors, gaps, script errors, drops, records written\n"
    "                   and dropped by -Y) on stderr at the end\n"
    "  --progress, --no-progress   progress bar on stderr (default: when stderr is a terminal)\n"
    "  --lazy           decode layers on demand only (default for http/streams/conn)\n"
    "  --eager          decode every layer of every frame\n"
    "  --snaplen N      live capture snap length (default 262144)\n"
    "  --no-promisc     do not put the interface in promiscuous mode\n"
    "  -Z USER          once the interface (or the first capture file) is open and the scripts are\n"
    "                   loaded, become USER: its groups, then its gid, then its uid, each checked.\n"
    "                   Started as root, a live capture does this with USER nobody unless told\n"
    "                   otherwise, as tcpdump does. Files made after that are USER's: a folder\n"
    "                   streams -o creates is given to USER\n"
    "                   (-Z is ignored, with a warning, when not running as root)\n"
    "  --no-drop-privileges   stay root for the whole live capture\n"
    "  --gap-timeout S  give up waiting for missing TCP bytes after S seconds of capture time (30)\n"
    "  --idle-timeout S  close connections idle for S seconds of capture time (300)\n"
    "  --max-conns N    TCP connections tracked at once; the least recently seen is evicted\n"
    "  --max-pages N    out-of-order pages held in total (1900 bytes each)\n"
    "  --lua-mem MB     memory ceiling of the Lua state (256)\n"
    "  --threads N      worker threads for http, dns, tls, all and -s (default: the cores this\n"
    "                   process may use; 1 = one thread). The records are those of one thread, in\n"
    "                   another order (sort by ts to restore capture order); live, -l and table\n"
    "                   output stay on one thread. docs/pipeline.md\n"
    "  --sort           write each log's records in ts order once the input has ended (held in\n"
    "                   memory: the output's size); TSV and JSON, files only\n"
    "  --seed N         seed of connection uids: a fresh one per run by default (or $MOONSHARK_SEED);\n"
    "                   the same seed and input give the same uids, so separate commands' logs join\n"
    "  --unsafe-lua     lift the Lua sandbox (os, io writes, C modules)\n"
    "  -q               no warnings on stderr\n"
    "  -h, --help       this help\n"
    "  --version        print the version and exit\n"
    "\n"
    "Environment:\n"
    "  MOONSHARK_PATH   ':'-separated folders; every *.lua in them is loaded as a parser\n"
    "  MOONSHARK_SEED   the uid seed when --seed is not given\n"
    "\n"
    "Files:\n"
    "  PREFIX/share/moonshark/protocols/*.lua   the bundled parsers, installed to read and copy:\n"
    "                   the binary carries its own compiled-in copies, so a changed copy runs\n"
    "                   only when given with -s (moonshark -s my_http.lua CAPTURE)\n"
    "\n"
    "Live, capture time follows the wall clock while the interface is idle, so timeouts fire and\n"
    "finished connections are written within a second. Ctrl-C (SIGINT) or SIGTERM ends a run as\n"
    "the end of the input does: every connection is flushed and every record written.\n"
    "\n"
    "Exit status:\n"
    "  0                success (a capture cut short by -c N included)\n"
    "  1                an input failed (truncated or unreadable: every frame before the cut is\n"
    "                   still read), the output could not be written, or privileges could not\n"
    "                   be dropped\n"
    "  2                usage error, or a file that is not a capture\n"
    "  130, 143         a file read stopped by SIGINT / SIGTERM (128 + the signal); every record\n"
    "                   up to then is written and the output ends with a whole line. A live\n"
    "                   capture stopped by Ctrl-C exits 0. Output to a closed pipe (| head)\n"
    "                   ends the run at once, without a message\n"
    "\n"
    "Examples:\n"
    "  moonshark http capture.pcap\n"
    "  moonshark http --json capture.pcapng | jq -r .uri\n"
    "  moonshark http -w logs/ a.pcap b.pcap\n"
    "  moonshark conn -c 1000 capture.pcap\n"
    "  moonshark http -i eth0 -f 'tcp port 80'\n"
    "  moonshark stats -i eth0 -Z daemon -c 100\n"
    "  moonshark streams capture.pcap -o out/\n"
    "  moonshark -s my_parser.lua capture.pcap\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    { "http", ms_cmd_http },
    { "dns", ms_cmd_dns },
    { "tls", ms_cmd_tls },
    { "all", ms_cmd_all },
    { "layers", ms_cmd_layers },
    { "stats", ms_cmd_stats },
    { "streams", ms_cmd_streams },
    { "conn", ms_cmd_conn },
    { "check", ms_cmd_check },
    { "test", ms_cmd_test },
};

/* A file read cut short by SIGINT/SIGTERM ends 130/143 (after its records were written), so
 * a script that sent the signal can tell a whole log from a partial one. */
static int exit_status(int rc)
{
    int sig = ms_cli_stop_signal();
    return sig && rc == 0 ? 128 + sig : rc;
}

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
            return exit_status(commands[i].run(argc - 1, argv + 1));
    if (word[0] == '-') /* options first: a user script run (moonshark -s X.lua FILE) */
        return exit_status(ms_cmd_script(argc, argv));
    ms_cli_error("unknown command '%s' (commands: http, dns, tls, all, layers, stats, streams, conn, check, test; see 'moonshark --help')",
                 word);
    return 2;
}
