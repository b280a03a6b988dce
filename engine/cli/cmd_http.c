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
    MS_LOG_COMMAND_OPTIONS("http")
    "\n"
    "Examples:\n"
    "  moonshark http capture.pcap\n"
    "  moonshark http --json -f 'tcp port 8080' a.pcap b.pcapng | jq -r .uri\n"
    "  moonshark http -w logs/ capture.pcap\n"
    "\n"
    MS_LOG_COMMAND_EXIT;

int ms_cmd_http(int argc, char **argv)
{
    return ms_cmd_lua_run(argc, argv, "http", http_usage);
}
