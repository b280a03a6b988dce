/* cmd_dns.c — `moonshark dns CAPTURE...`: the DNS log (protocols/dns.lua, bundled in the binary)
 * through the same runner as `moonshark -s`. */
#include "cli/cli.h"
#include "cli/commands.h"

static const char dns_usage[] =
    "usage: moonshark dns [OPTIONS] CAPTURE...\n"
    "       moonshark dns -i IFACE [-f FILTER] [OPTIONS]\n"
    "\n"
    "One record per DNS query, with its reply when one is seen (protocols/dns.lua), over UDP\n"
    "(ports 53, 5353 mDNS, 5355 LLMNR) and TCP (port 53: a 2-byte length before each message,\n"
    "any number of messages per connection). Queries and replies are paired by transaction id\n"
    "within the connection, the first query of an id with the first reply of that id, whatever\n"
    "the order they arrive in; a query never answered and a reply whose query was not captured\n"
    "are logged alone when the connection ends (UDP: after 60 s of silence, or at the end).\n"
    "Fields are Zeek's dns.log names:\n"
    "  ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass\n"
    "  qclass_name qtype qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected tags\n"
    "  ts        time of the query (of the reply when no query was seen)\n"
    "  proto     udp or tcp; trans_id the 16-bit id; rtt reply time minus query time (s)\n"
    "  query     the first question's name, lower case, \"\" for the root; qclass/qtype and\n"
    "            their names (C_INTERNET, A, AAAA, ...; unknown: qclass-N, query-N). From the\n"
    "            query, or from the reply's question when the query was not seen\n"
    "  rcode     the reply's code and name (NOERROR, NXDOMAIN, ...); unset without a reply\n"
    "  AA RA     bits of the reply; TC of the reply (of the query without one); RD and Z (the\n"
    "            3 reserved bits, AD and CD among them) as the query set them\n"
    "  answers   one entry per answer-section record: addresses, names (CNAME NS PTR MX SRV\n"
    "            SOA), 'TXT len text', 'RRSIG type signer', '<unknown type=N>', ... as Zeek\n"
    "            writes them; TTLs holds each one's TTL in seconds (at most 1000 per reply)\n"
    "  rejected  the reply has a question but no records at all, or no question and an error\n"
    "  tags      moonshark's own column: truncated (a message ends inside a field), bad_name (a\n"
    "            compression pointer forward or to itself, a reserved label type, a name past\n"
    "            255 bytes), bad_rdata (record data that does not fit its type), answer_limit,\n"
    "            not_dns (fewer than 12 bytes), and the opcode when it is not a query (notify,\n"
    "            dynamic-update, iquery, server-status, dso, opcode-N)\n"
    "A malformed message is logged as far as it could be read, never dropped. A gap in a TCP\n"
    "stream ends that direction (the framing is lost); its bytes show in --stats.\n"
    "Field details and the differences from Zeek: docs/dns-tls.md.\n"
    "\n"
    MS_LOG_COMMAND_OPTIONS("dns")
    "\n"
    "Examples:\n"
    "  moonshark dns capture.pcap\n"
    "  moonshark dns --json capture.pcapng | jq -r 'select(.rcode_name==\"NXDOMAIN\") | .query'\n"
    "  moonshark dns -f 'port 53' -w logs/ a.pcap b.pcap\n"
    "\n"
    MS_LOG_COMMAND_EXIT;

int ms_cmd_dns(int argc, char **argv)
{
    return ms_cmd_lua_run(argc, argv, "dns", dns_usage);
}
