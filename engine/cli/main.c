/* main.c — the moonshark command: the top-level help and the choice of command by its word
 * (one file per command, cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

static const char main_usage[] =
    "usage: moonshark COMMAND [OPTIONS] CAPTURE...\n"
    "       moonshark -s PARSER.lua [OPTIONS] CAPTURE...\n"
    "       moonshark COMMAND -i IFACE [-f FILTER] [OPTIONS]\n"
    "       moonshark -D\n"
    "\n"
    "Packet analysis with protocol parsers written in Lua: moonshark reads packet captures (pcap,\n"
    "pcapng, or a live interface), decodes every layer, reassembles TCP streams and runs the\n"
    "parsers over them.\n"
    "\n"
    "Commands:\n"
    "  http      HTTP request log: one record per request, with its response (Zeek http.log fields)\n"
    "  dns       DNS log: one record per query, paired with its reply (Zeek dns.log fields)\n"
    "  tls       TLS log: one record per connection's handshake, JA3/JA4 (Zeek ssl.log fields)\n"
    "  all       every bundled log (http, dns, tls) in one pass: -w DIR\n"
    "  layers    the protocol stack of every frame, FRAME<TAB>eth:ethertype:ip:tcp\n"
    "  stats     counts of frames, bytes, layers, decode errors and fragments\n"
    "  streams   each TCP direction's reassembled bytes to its own file (-o DIR), like tcpflow\n"
    "  conn      one line per connection (Zeek conn.log fields)\n"
    "  check     is a parser's output the same however the bytes are cut into packets? (-s FILE.lua)\n"
    "  test      runs a parser's test cases: byte files or captures with their expected records\n"
    "\n"
    "Run 'moonshark COMMAND --help' for the options of a command, and\n"
    "'moonshark -s FILE.lua --help' for running your own parsers.\n"
    "\n"
    "Common options:\n"
    "  -r FILE          read this capture (captures may also be given as arguments; '-' is stdin)\n"
    "  -i IFACE         capture live from IFACE (Ctrl-C stops and prints libpcap's counters)\n"
    "  -D               list the interfaces -i can capture on, as tcpdump -D does, and exit\n"
    "  -f EXPR          BPF filter, e.g. 'tcp port 80' (files and live alike)\n"
    "  -c N             stop after N packets (counted after the -f filter, over all captures)\n"
    "  -s FILE.lua      load a Lua parser (repeatable); also every *.lua in $MOONSHARK_PATH dirs.\n"
    "                   Not tcpdump's -s (snap length): that is --snaplen here\n"
    "  --json           JSON lines (one object per record; reads with jq)\n"
    "  --tsv            TSV with a Zeek-style #fields header (the default when piped)\n"
    "  --table          aligned columns (the default on a terminal)\n"
    "  -w DIR           write each log to DIR/NAME.log. A folder of logs, not tcpdump's -w\n"
    "                   (a capture file): moonshark reads captures, it does not write them\n"
    "  -o DIR           output directory (streams)\n"
    "  --stats          print counters (decode errors, gaps, script errors, drops) on stderr at the end\n"
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
    "Exit status:\n"
    "  0                success (a capture cut short by -c N included)\n"
    "  1                an input failed (truncated or unreadable: every frame before the cut is\n"
    "                   still read), the output could not be written, or privileges could not\n"
    "                   be dropped\n"
    "  2                usage error, or a file that is not a capture\n"
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
    ms_cli_error("unknown command '%s' (commands: http, dns, tls, all, layers, stats, streams, conn, check, test; see 'moonshark --help')",
                 word);
    return 2;
}
