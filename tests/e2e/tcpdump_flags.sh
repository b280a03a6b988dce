#!/bin/sh
# The letters tcpdump users type, checked against tcpdump itself when it is installed:
# -D lists the same interfaces in the same format; -c N stops after the same N packets, counted
# after the filter (the stats of `moonshark -c N -f F` are those of what `tcpdump -c N -w` keeps
# with F), over several files too; -c 0 and a bad -c are usage errors. Uses the bundled samples and a mixed capture made here.
set -u
: "${MOONSHARK:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "tcpdump_flags: FAIL $3: got '$1', want '$2'"; fi; }

# the bundled sample, then three UDP frames (185 TCP of 188)
sh "$top/tests/helpers/mixed_pcap.sh" "$tmp/mixed.pcap"
frames() { "$MOONSHARK" layers "$@" 2>/dev/null | cut -f1 | tr '\n' ' '; }

check "$(frames -c 5 "$tmp/mixed.pcap")" "1 2 3 4 5 " "-c 5: the first five frames"
check "$(frames -c 2 -f udp "$tmp/mixed.pcap")" "186 187 " "-c 2 -f udp: counted after the filter"
check "$(frames -c 190 "$tmp/mixed.pcap" | wc -w | tr -d ' ')" 188 "-c larger than the capture: every frame"
check "$("$MOONSHARK" stats -c 200 "$top/samples/http-loopback.pcap" "$top/samples/http-sample.pcap" | awk '$1 == "frames" { print $2 }')" 200 \
    "-c 200 over two captures: 185 of the first, 15 of the second"
"$MOONSHARK" http -c 20 --seed 1 "$top/samples/http-loopback.pcap" > "$tmp/c20" 2>&1; check $? 0 "http -c 20: exit 0"
"$MOONSHARK" layers -c 0 "$tmp/mixed.pcap" > /dev/null 2>&1; check $? 2 "-c 0: usage error"
"$MOONSHARK" layers -c many "$tmp/mixed.pcap" > /dev/null 2>&1; check $? 2 "-c many: usage error"

if command -v tcpdump > /dev/null 2>&1; then
    # tcpdump -c N writes the packets it keeps; moonshark stats -c N must count exactly those
    for filter in "" udp tcp "tcp port 8080" ip6; do
        for n in 1 7 20 186; do
            tcpdump -c $n -r "$tmp/mixed.pcap" -w "$tmp/cut.pcap" $filter 2>/dev/null
            check "$("$MOONSHARK" stats -c $n ${filter:+-f "$filter"} "$tmp/mixed.pcap" | tr '\n' ' ')" \
                "$("$MOONSHARK" stats "$tmp/cut.pcap" | tr '\n' ' ')" "stats -c $n -f '$filter' vs tcpdump -c $n"
        done
    done
    # interfaces come and go between two calls only if the machine changes under us
    check "$("$MOONSHARK" -D 2>&1)" "$(tcpdump -D 2>&1)" "-D vs tcpdump -D"
else
    echo "tcpdump_flags: SKIP comparisons with tcpdump: not installed"
fi
"$MOONSHARK" -D > "$tmp/d" 2>&1; check $? 0 "-D exits 0"
grep -q '^1\.' "$tmp/d"; check $? 0 "-D numbers the interfaces from 1"
"$MOONSHARK" http -D > "$tmp/d2" 2>&1; check "$(cat "$tmp/d2")" "$(cat "$tmp/d")" "-D after a command word lists the same"

echo "tcpdump_flags: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
