#!/bin/sh
# The assembler's accounting identity on every capture in ../shared/pcaps: `moonshark conn --stats`
# over all of them (200 files per run; a failing batch is rerun file by file to name the culprit)
# must not crash (debug builds assert the identity after every segment) and its totals must satisfy
#   bytes seen = delivered + overlap + discarded   (nothing is left queued after the end)
# Unreadable or truncated captures are fine: they are reported on stderr and the run goes on.
# Then packets per connection and direction (conn --json) against tshark's conv,tcp oracles
# (X.conv.txt): at least 95 % of endpoint pairs must agree (one more check in the count).
# Env: MOONSHARK (binary), PCAPS (captures folder). Prints `tcp_accounting: N passed, N failed`.
set -u
: "${MOONSHARK:?set MOONSHARK to the moonshark binary}"
PCAPS=${PCAPS:-$(dirname "$0")/../../../shared/pcaps}
if [ ! -d "$PCAPS" ]; then
    echo "tcp_accounting: SKIP: $PCAPS not found (the shared captures live beside the checkout)"
    exit 0
fi
if [ ! -x "$MOONSHARK" ]; then
    echo "tcp_accounting: FAIL: no moonshark binary at $MOONSHARK"
    echo "tcp_accounting: 0 passed, 1 failed"
    exit 1
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
find "$PCAPS" -type f ! -name '*.tsv' ! -name '*.txt' ! -name '*.log' ! -name '*.md' ! -name '*.sh' | sort > "$tmp/list"
split -l 200 "$tmp/list" "$tmp/batch."
pass=0; fail=0; bytes=0; files=0

# check FILES...: runs moonshark on them; 0 when it ran to the end and the identity holds
check() {
    "$MOONSHARK" conn --stats --no-progress "$@" > /dev/null 2> "$tmp/err"
    rc=$?
    line=$(grep '^tcp: bytes seen' "$tmp/err")
    if [ $rc -ge 3 ] || [ -z "$line" ]; then
        why="exit $rc, $(grep -v '^tcp:' "$tmp/err" | tail -n 1)"
        return 1
    fi
    set -- $(echo "$line" | sed 's/[^0-9 ]//g')
    if [ $# -lt 6 ] || [ "$1" -ne $(( $2 + $3 + $4 )) ]; then
        why="identity broken: $line"
        return 1
    fi
    seen=$1
    return 0
}

for b in "$tmp"/batch.*; do
    n=$(wc -l < "$b" | tr -d ' ')
    files=$((files + n))
    # shellcheck disable=SC2046
    if check $(cat "$b"); then
        pass=$((pass + n)); bytes=$((bytes + seen))
        continue
    fi
    while IFS= read -r cap; do
        if check "$cap"; then
            pass=$((pass + 1)); bytes=$((bytes + seen))
        else
            fail=$((fail + 1)); echo "tcp_accounting: FAIL $cap: $why"
        fi
    done < "$b"
done
echo "tcp_accounting: $files captures, $bytes TCP payload bytes accounted"

# Packets per connection (conn --json, summed per endpoint pair and direction over all captures)
# against tshark's `-z conv,tcp` oracle (X.conv.txt) where there is one.
find "$PCAPS" -type f -name '*.conv.txt' | sed 's/\.conv\.txt$//' | sort > "$tmp/convcaps"
: > "$tmp/conv.json"
split -l 200 "$tmp/convcaps" "$tmp/cbatch."
for b in "$tmp"/cbatch.*; do
    [ -f "$b" ] || continue
    # shellcheck disable=SC2046
    "$MOONSHARK" conn --json --no-progress $(cat "$b") >> "$tmp/conv.json" 2> /dev/null
done
if command -v python3 > /dev/null 2>&1; then
    if python3 - "$tmp/convcaps" "$tmp/conv.json" << 'EOF'
import json, os, sys, collections
# argv: list-of-captures file, moonshark json output file
caps = [l.strip() for l in open(sys.argv[1]) if l.strip()]
ours = collections.Counter()
for line in open(sys.argv[2]):
    line = line.strip()
    if not line.startswith('{'):
        continue
    r = json.loads(line)
    if r.get('proto') != 'tcp':  # conn also lists UDP and ICMP flows (checked in conn_udp.sh)
        continue
    o = (r['id.orig_h'], r['id.orig_p']); p = (r['id.resp_h'], r['id.resp_p'])
    ours[(o, p)] += r['orig_pkts']; ours[(p, o)] += r['resp_pkts']
theirs = collections.Counter()
def ep(s):
    h, port = s.rsplit(':', 1)
    return (h.strip('[]'), int(port))
for cap in caps:
    try:
        text = open(cap + '.conv.txt').read()
    except FileNotFoundError:
        continue
    for line in text.splitlines():
        t = line.split()
        if len(t) != 14 or t[1] != '<->':
            continue
        a, b = ep(t[0]), ep(t[2])
        theirs[(b, a)] += int(t[3]); theirs[(a, b)] += int(t[6])
pairs = {frozenset(k) for k in theirs} | {frozenset(k) for k in ours if k in theirs or (k[1], k[0]) in theirs}
same = diff = 0
notes = []
for pr in sorted(pairs, key=lambda s: sorted(map(str, s))):
    x, y = sorted(pr) if len(pr) == 2 else (next(iter(pr)), next(iter(pr)))
    if ours[(x, y)] == theirs[(x, y)] and ours[(y, x)] == theirs[(y, x)]:
        same += 1
    else:
        diff += 1
        notes.append(f'{x[0]}:{x[1]} <-> {y[0]}:{y[1]}: moonshark {ours[(x, y)]}/{ours[(y, x)]} packets, tshark {theirs[(x, y)]}/{theirs[(y, x)]}')
if os.environ.get('VERBOSE'):
    for n in notes:
        print('tcp_accounting: conv differs:', n)
print(f'tcp_accounting: packets per connection vs tshark conv,tcp: {same} endpoint pairs agree, {diff} differ (VERBOSE=1 lists them)')
# most differences are encapsulations the decoder does not open (GRE/WLAN, Geneve, AYIYA, FDDI,
# ARCnet, IPoIB): below 95 % agreement something in the TCP path broke
sys.exit(0 if same + diff == 0 or same >= 0.95 * (same + diff) else 1)
EOF
    then pass=$((pass + 1)); else fail=$((fail + 1)); echo "tcp_accounting: FAIL: packets per connection agree with tshark for less than 95% of pairs"; fi
else
    echo "tcp_accounting: SKIP tshark conv comparison: python3 is not installed"
fi
echo "tcp_accounting: $pass passed, $fail failed"
[ $fail -eq 0 ]
