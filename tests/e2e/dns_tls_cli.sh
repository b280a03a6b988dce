#!/bin/sh
# `moonshark dns`, `moonshark tls` and `moonshark all` end to end: --help documents every column
# the logs have; `all` refuses to run without -w DIR; `all -w DIR` writes http.log, dns.log and
# ssl.log, each holding the rows the single command prints on the same capture (one reassembly
# feeding several parsers changes no record). Captures from ../shared/pcaps (skipped when absent).
set -u
: "${MOONSHARK:?}"
# uids are drawn per run; one seed makes the separate commands' logs comparable
MOONSHARK_SEED=1; export MOONSHARK_SEED
PCAPS=${PCAPS:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/pcaps}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "dns_tls_cli: FAIL $3: got '$1', want '$2'"; fi; }

for cmd in dns tls all; do
    "$MOONSHARK" $cmd --help > "$tmp/help.$cmd" 2>&1; rc=$?
    check "$rc" 0 "$cmd --help exits 0"
    grep -q '^Exit status' "$tmp/help.$cmd"; check $? 0 "$cmd --help states the exit status"
    grep -q '^Examples' "$tmp/help.$cmd"; check $? 0 "$cmd --help has examples"
done

# A capture with no DNS or TLS in it still gives each log its #fields header (TSV, -w DIR).
printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\377\377\000\000\001\000\000\000' > "$tmp/empty.pcap"
"$MOONSHARK" all -w "$tmp/empty" "$tmp/empty.pcap" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "$rc" 0 "all -w DIR on an empty capture exits 0"
for log in http dns ssl; do
    check "$(grep -c '^#fields' "$tmp/empty/$log.log" 2>/dev/null)" 1 "all writes $log.log with its header"
done
# every column of dns.log and ssl.log is explained in the command's --help
for pair in dns:dns ssl:tls; do
    log=${pair%%:*}; cmd=${pair##*:}
    missing=""
    for f in $(grep '^#fields' "$tmp/empty/$log.log" | cut -f2-); do
        grep -q -- "$f" "$tmp/help.$cmd" || missing="$missing $f"
    done
    check "$missing" "" "moonshark $cmd --help names every $log.log column"
done

"$MOONSHARK" all "$tmp/empty.pcap" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "$rc" 2 "all without -w DIR is a usage error"
check "$(wc -l < "$tmp/err" | tr -d ' ')" 1 "all without -w DIR: one line on stderr"
grep -q -- '-w DIR' "$tmp/err"; check $? 0 "the message says to give -w DIR"

if [ ! -d "$PCAPS" ]; then
    echo "dns_tls_cli: SKIP the capture checks: $PCAPS not found"
else
    # rows of a TSV log without the header lines (#open and #close carry the run's time)
    rows() { grep -v '^#' "$1" 2>/dev/null | sort; }
    for cap in zeek/tls/tls1_1.pcap tcpdump/dns_tcp.pcap zeek/smtp.pcap \
               suricata-verify/http-protocol-inspect-v2__http.pcap zeek/tls/tls-fragmented-handshake.pcap; do
        [ -f "$PCAPS/$cap" ] || { echo "dns_tls_cli: SKIP $cap (not found)"; continue; }
        name=$(echo "$cap" | tr '/.' '__')   # not ending in .pcap: -w refuses capture names
        "$MOONSHARK" all -w "$tmp/$name" --tsv --no-progress "$PCAPS/$cap" 2> "$tmp/err"; rc=$?
        check "$rc" 0 "all on $cap exits 0"
        n=0
        for pair in http:http dns:dns ssl:tls; do
            log=${pair%%:*}; cmd=${pair##*:}
            "$MOONSHARK" $cmd --tsv --no-progress "$PCAPS/$cap" > "$tmp/single.tsv" 2>/dev/null
            check "$(rows "$tmp/$name/$log.log" | md5sum)" "$(rows "$tmp/single.tsv" | md5sum)" \
                "$cap: all's $log.log rows are moonshark $cmd's"
            n=$((n + $(rows "$tmp/single.tsv" | wc -l)))
        done
        [ "$n" -gt 0 ]; check $? 0 "$cap: some record in some log"
    done
fi

echo "dns_tls_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
