#!/bin/sh
# `moonshark conn` on UDP and ICMP against tshark. Every shared capture with UDP frames (by its
# tshark layers oracle) is read by moonshark file by file, and by tshark once, merged with
# mergecap, for `-z conv,udp`; frames per direction, summed per endpoint pair, must agree for at
# least 95 % of the pairs (measured 95.6 %: the rest are encapsulations moonshark's decoder does
# not open, see docs/conn-log.md). The ICMP captures (zeek/icmp) are checked the same way against
# `-z conv,ip` and `-z conv,ipv6` (every packet, per address pair). Then exact values on small
# captures: a DNS query and answer, five pings, a port unreachable.
# Env: MOONSHARK, PCAPS. Needs tshark, mergecap and python3; skips with a message otherwise.
set -u
: "${MOONSHARK:?set MOONSHARK to the moonshark binary}"
PCAPS=${PCAPS:-$(dirname "$0")/../../../shared/pcaps}
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "conn_udp: FAIL $3: got '$1', want '$2'"; fi; }
if [ ! -d "$PCAPS" ]; then
    echo "conn_udp: SKIP: $PCAPS not found (the shared captures live beside the checkout)"
    exit 0
fi
for t in tshark mergecap python3; do
    if ! command -v "$t" > /dev/null 2>&1; then
        echo "conn_udp: SKIP: $t is not installed"
        exit 0
    fi
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# compare KIND OURS.json TSHARK.txt: KIND udp (conv,udp: endpoints) or ip (conv,ip: addresses)
compare() {
    python3 - "$@" << 'EOF'
import collections, json, os, sys
kind, ours_path, theirs_path, minimum = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
ours = collections.Counter()
for line in open(ours_path):
    if not line.startswith('{'):
        continue
    r = json.loads(line)
    if kind == 'udp':
        if r.get('proto') != 'udp':
            continue
        o, p = (r['id.orig_h'], r['id.orig_p']), (r['id.resp_h'], r['id.resp_p'])
    else:
        o, p = r['id.orig_h'], r['id.resp_h']
    ours[(o, p)] += r['orig_pkts']
    ours[(p, o)] += r['resp_pkts']
theirs = collections.Counter()
def ep(s):
    if kind == 'ip':
        return s
    h, port = s.rsplit(':', 1)
    return (h.strip('[]'), int(port))
for line in open(theirs_path):
    t = line.split()
    if len(t) != 14 or t[1] != '<->':
        continue
    a, b = ep(t[0]), ep(t[2])
    theirs[(b, a)] += int(t[3])  # "<-": frames from B to A
    theirs[(a, b)] += int(t[6])
pairs = {frozenset(k) for k in theirs} | {frozenset(k) for k in ours}
same = diff = 0
for pr in sorted(pairs, key=lambda s: sorted(map(str, s))):
    x, y = sorted(pr, key=str) if len(pr) == 2 else (next(iter(pr)), next(iter(pr)))
    if ours[(x, y)] == theirs[(x, y)] and ours[(y, x)] == theirs[(y, x)]:
        same += 1
    else:
        diff += 1
        if os.environ.get('VERBOSE'):
            print(f'conn_udp: {kind} differs: {x} <-> {y}: moonshark {ours[(x, y)]}/{ours[(y, x)]}, '
                  f'tshark {theirs[(x, y)]}/{theirs[(y, x)]}')
total = same + diff
pct = 100.0 * same / total if total else 100.0
print(f'conn_udp: frames per direction vs tshark conv,{kind}: {same} of {total} pairs agree ({pct:.1f}%), '
      f'{diff} differ (VERBOSE=1 lists them)')
sys.exit(0 if total and pct >= minimum else 1)
EOF
}

# 1. every capture with UDP, against conv,udp
find "$PCAPS" -name '*.layers.tsv' -print0 | xargs -0 grep -l ':udp' | sed 's/\.layers\.tsv$//' | sort > "$tmp/udp.list"
echo "conn_udp: $(wc -l < "$tmp/udp.list" | tr -d ' ') captures with UDP frames"
: > "$tmp/ours.json"
split -l 200 "$tmp/udp.list" "$tmp/batch."
for b in "$tmp"/batch.*; do
    # shellcheck disable=SC2046
    "$MOONSHARK" conn --json --no-progress $(cat "$b") >> "$tmp/ours.json" 2> /dev/null
done
# shellcheck disable=SC2046
mergecap -a -F pcapng -w "$tmp/all.pcapng" $(cat "$tmp/udp.list") 2> /dev/null
tshark -n -q -z conv,udp -r "$tmp/all.pcapng" > "$tmp/conv_udp.txt" 2> /dev/null
compare udp "$tmp/ours.json" "$tmp/conv_udp.txt" 95; check $? 0 "UDP frames per endpoint pair agree with tshark for 95% of pairs"

# 2. the ICMP captures, against conv,ip
ls "$PCAPS"/zeek/icmp/*.pcap > "$tmp/icmp.list" 2> /dev/null
if [ -s "$tmp/icmp.list" ]; then
    # shellcheck disable=SC2046
    "$MOONSHARK" conn --json --no-progress $(cat "$tmp/icmp.list") > "$tmp/icmp.json" 2> /dev/null
    # shellcheck disable=SC2046
    mergecap -a -F pcapng -w "$tmp/icmp.pcapng" $(cat "$tmp/icmp.list") 2> /dev/null
    tshark -n -q -z conv,ip -z conv,ipv6 -r "$tmp/icmp.pcapng" > "$tmp/conv_ip.txt" 2> /dev/null
    compare ip "$tmp/icmp.json" "$tmp/conv_ip.txt" 95; check $? 0 "ICMP captures: frames per address pair agree with tshark for 95% of pairs"
fi

# 3. exact values, Zeek's fields
field() { python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]; r=[x for x in r if x.get('proto')==sys.argv[2]]; print(len(r), ' '.join(str(r[0].get(k, '-')) for k in sys.argv[3:]) if r else '')" "$@"; }
cap=$PCAPS/tcpdump/dns_udp.pcap
if [ -f "$cap" ]; then
    "$MOONSHARK" conn --json "$cap" > "$tmp/dns.json"
    # tshark: 98 + 266 frame bytes on Ethernet = 84 + 252 IP bytes; 56 + 224 DNS bytes
    check "$(field "$tmp/dns.json" udp id.resp_p service conn_state history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes orig_bytes resp_bytes ip_proto)" \
        "1 53 dns SF Dd 1 84 1 252 56 224 17" "a DNS query and its answer: one UDP flow with Zeek's fields"
    # with one seed, a Lua log over UDP (the dispatcher's flows) and conn name the flow alike
    top=$(cd "$(dirname "$0")/../.." && pwd)
    "$MOONSHARK" -s "$top/samples/dns_queries.lua" --seed 5 --tsv "$cap" 2> /dev/null | grep -v '^#' | cut -f2 | sort -u > "$tmp/dns_uid"
    "$MOONSHARK" conn --seed 5 --tsv "$cap" | grep -v '^#' | cut -f2 > "$tmp/conn_uid"
    test -s "$tmp/dns_uid" && cmp -s "$tmp/dns_uid" "$tmp/conn_uid"; check $? 0 "a UDP flow's uid in conn is its uid in a Lua log of the same seed"
fi
cap=$PCAPS/zeek/icmp/5-pings.pcap
if [ -f "$cap" ]; then
    "$MOONSHARK" conn --json "$cap" > "$tmp/ping.json"
    check "$(field "$tmp/ping.json" icmp id.orig_p id.resp_p conn_state orig_pkts resp_pkts ip_proto)" \
        "1 8 0 OTH 5 5 1" "five pings and their replies: one ICMP flow keyed by type 8 and its counterpart 0"
fi
cap=$PCAPS/zeek/icmp/icmp-destunreach-udp.pcap
if [ -f "$cap" ]; then
    "$MOONSHARK" conn --json "$cap" > "$tmp/unreach.json"
    check "$(field "$tmp/unreach.json" icmp id.orig_p id.resp_p orig_pkts resp_pkts duration)" \
        "1 3 3 1 0 -" "a port unreachable: a one-way flow keyed by type 3 and code 3, no duration"
fi
echo "conn_udp: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
