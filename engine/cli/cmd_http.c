/* cmd_http.c — `moonshark http CAPTURE...`: the HTTP request log (protocols/http.lua, bundled in
 * the binary) through the same runner as `moonshark -s`. */
#include "cli/cli.h"
#include "cli/commands.h"

static const char http_usage[] =
    "usage: moonshark http [OPTIONS] CAPTURE...\n"
    "       moonshark http -i IFACE [-f FILTER] [OPTIONS]\n"
    "\n"
    "One record per HTTP/1.x request, with its response when one is seen (protocols/http.lua).\n"
    "A request never answered is still logged; an answer whose request was not captured is\n"
    "logged alone (tag no_request). Fields are Zeek's http.log names, so Zeek tooling reads them:\n"
    "  ts uid id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method host uri referrer\n"
    "  version user_agent origin request_body_len response_body_len status_code status_msg\n"
    "  info_code info_msg tags username proxied orig_mime_types resp_mime_types\n"
    "ts is the time of the request's first byte; uid matches `moonshark conn` and `streams`;\n"
    "body lengths are body bytes (chunked: the decoded size); bodies are skipped, never copied.\n"
    "tags: gap (bytes lost, parser resynchronised), header_limit, bad_chunk, tunnel (CONNECT),\n"
    "upgrade (101), socks, udp (SSDP), no_request. Field details: docs/http-log.md.\n"
    "\n"
    "HTTP is found on TCP ports 80, 8000, 8080, 3128 and UDP 1900, and on any other port when\n"
    "the first bytes start a request (a known method) or a status line. Keep-alive, pipelining,\n"
    "chunked bodies, 100-continue, HEAD/204/304, obsolete folding and bare LF are handled.\n"
    "\n"
    "Output:\n"
    "  --json          JSON lines (Zeek's JSON log types: ts as epoch seconds, unset fields left out)\n"
    "  --tsv           Zeek-style TSV with a #fields header (the default when stdout is not a tty)\n"
    "  --table         aligned columns (the default on a terminal)\n"
    "  -w DIR          write DIR/http.log (TSV, or JSON lines with --json) instead of stdout\n"
    "Input: CAPTURE files (pcap or pcapng, several allowed, '-' for stdin), -r FILE, -i IFACE,\n"
    "  -f EXPR (BPF filter, files and live alike), --snaplen N, --no-promisc.\n"
    "Parsers: -s FILE.lua (more parsers, repeatable; $MOONSHARK_PATH dirs too), --lua-mem MB,\n"
    "  --unsafe-lua. Limits: --gap-timeout S (30), --idle-timeout S (300), --max-conns N,\n"
    "  --max-pages N. Reporting: --stats (decode errors, gaps, drops, script errors on stderr),\n"
    "  --progress / --no-progress, -q, -h.\n"
    "Cores: --threads N workers (default: the cores available; 1 = one thread; the records are\n"
    "  the same, their order is not: see docs/pipeline.md).\n"
    "\n"
    "Examples:\n"
    "  moonshark http capture.pcap\n"
    "  moonshark http --json -f 'tcp port 8080' a.pcap b.pcapng | jq -r .uri\n"
    "  moonshark http -w logs/ capture.pcap\n"
    "\n"
    "Exit status: 0 success, 1 an input failed (truncated or unreadable), 2 usage error or not a\n"
    "capture.\n";

int ms_cmd_http(int argc, char **argv)
{
    return ms_cmd_lua_run(argc, argv, "http", http_usage);
}
