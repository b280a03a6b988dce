#!/bin/sh
# The sample parsers (samples/*.lua) on real captures from ../shared/pcaps, through
# `moonshark -s SCRIPT CAPTURE --json`. Expected values were read from the bytes (tcpflow) and
# from tshark 4.0 on the same captures. Env: MOONSHARK (binary), PCAPS (captures dir).
top=$(cd "$(dirname "$0")/../.." && pwd)
MOONSHARK=${MOONSHARK:-$top/build/moonshark}
PCAPS=${PCAPS:-$top/../shared/pcaps}
if [ ! -d "$PCAPS" ]; then
    echo "http_samples: SKIP: captures not found at $PCAPS"; exit 0
fi
if [ ! -x "$MOONSHARK" ]; then
    echo "http_samples: SKIP: moonshark binary not found at $MOONSHARK (make first)"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

# run NAME SCRIPT CAPTURE: output in $tmp/NAME.json, stderr in $tmp/NAME.err
run() {
    "$MOONSHARK" -s "$top/samples/$2" "$PCAPS/$3" --json --no-progress >"$tmp/$1.json" 2>"$tmp/$1.err"
    echo $? >"$tmp/$1.rc"
}

# expect NAME WHAT FRAGMENT...: some JSON line of NAME has every fragment
expect() {
    name=$1; what=$2; shift 2
    lines=$(cat "$tmp/$name.json")
    for frag in "$@"; do
        lines=$(printf '%s\n' "$lines" | grep -F -- "$frag")
    done
    if [ -n "$lines" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "http_samples: FAIL $name: $what: no record with $*"
        head -n 5 "$tmp/$name.json" | sed 's/^/    /'
        head -n 3 "$tmp/$name.err" | sed 's/^/    stderr: /'
    fi
}

# count NAME WHAT N: NAME has exactly N JSON records
count() {
    n=$(grep -c '^{' "$tmp/$1.json")
    if [ "$n" -eq "$3" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "http_samples: FAIL $1: $2: $n records, want $3"
        head -n 3 "$tmp/$1.err" | sed 's/^/    stderr: /'
    fi
}

# clean NAME: exit status 0 and no script error on stderr
clean() {
    if [ "$(cat "$tmp/$1.rc")" = 0 ] && ! grep -q -i 'error\|failed' "$tmp/$1.err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "http_samples: FAIL $1: exit $(cat "$tmp/$1.rc"), stderr:"
        head -n 3 "$tmp/$1.err" | sed 's/^/    /'
    fi
}

# --- redis_commands.lua (reader style, line protocol): three SETs answered +OK
run redis_set redis_commands.lua zeek/redis/set.pcap
clean redis_set
count redis_set "one record per command" 3
expect redis_set "first SET" '"command":"SET"' '"args":2' '"key":"test"' '"reply_type":"simple"' '"reply":"OK"' '"id.resp_p":6379'
expect redis_set "second SET" '"key":"one:1"' '"reply":"OK"'
expect redis_set "third SET" '"key":"two:2"'

# --- tls_sni.lua (callback style, length-prefixed records): SNI, ALPN, chosen suite
run tls_alert tls_sni.lua zeek/tls/tls-early-alert.pcap
clean tls_alert
count tls_alert "one record per connection" 1
expect tls_alert "client hello and server hello" '"server_name":"jeffbryner.com"' \
    '"alpn":["h2","spdy/3.1","http/1.1"]' '"cipher":"0xc02f"' '"version":"TLSv12"' '"established":true'
run tls_dup tls_sni.lua suricata-verify/tls-duplicate-hello.pcap
clean tls_dup
expect tls_dup "TLS 1.3 through supported_versions" '"server_name":"localhost"' '"cipher":"0x1301"' '"version":"TLSv13"'

# --- dns_queries.lua (UDP, on_datagram)
run dns_caa dns_queries.lua zeek/dns-caa.pcap
clean dns_caa
count dns_caa "query and response" 2
expect dns_caa "query" '"trans_id":13662' '"qr":false' '"query":"google.com"' '"qtype":257' '"id.resp_p":53'
expect dns_caa "response" '"trans_id":13662' '"qr":true' '"rcode":0' '"answers":1'
run dns_https dns_queries.lua zeek/dns-https.pcap
clean dns_https
expect dns_https "HTTPS record query" '"query":"cloudflare.com"' '"qtype":65' '"qtype_name":"HTTPS"'

# --- http_uri_filter.lua (tiny custom HTTP logger): only URIs matching %.php
run uri_match http_uri_filter.lua zeek/http/percent-end-of-line.pcap
clean uri_match
count uri_match "no .php request in this capture" 0
run uri_php http_uri_filter.lua suricata-verify/http-post-data-decompression.pcap
clean uri_php
count uri_php "one matching request" 1
expect uri_php "a .php request" '"method":"POST"' '"uri":"/hi.php"' '"host":"192.168.235.101"' '"id.orig_p":50976'

# --- protocols/dns.lua (bundled DNS log, Zeek dns.log fields) run as a script: UDP and TCP
run dns_log_udp ../protocols/dns.lua zeek/dns-caa.pcap
clean dns_log_udp
count dns_log_udp "query and answer paired" 1
expect dns_log_udp "CAA query" '"proto":"udp"' '"trans_id":13662' '"query":"google.com"' '"qtype":257' \
    '"qtype_name":"CAA"' '"rcode_name":"NOERROR"' '"RD":true' '"RA":true'
run dns_log_tcp ../protocols/dns.lua tcpdump/dns_tcp.pcap
clean dns_log_tcp
count dns_log_tcp "query and answer paired" 1
expect dns_log_tcp "A over TCP" '"proto":"tcp"' '"trans_id":17177' '"query":"www.tcpdump.org"' \
    '"answers":["192.139.46.66","198.199.88.104"]' '"AA":true'

echo "http_samples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
