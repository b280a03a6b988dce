#!/bin/sh
# --sort: each log's records come out in ts order, and (with one --seed) the same bytes whatever
# --threads is, on the bundled samples; it refuses what it cannot order (-i, -l, --table).
set -u
: "${MOONSHARK:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "sort: FAIL $3: got '$1', want '$2'"; fi; }
rows() { grep -v '^#open\|^#close' "$1"; }

for cap in "$top/samples/http-sample.pcap" "$top/samples/http-loopback.pcap"; do
    name=$(basename "$cap")
    for t in 1 2 4; do
        "$MOONSHARK" http --tsv --sort --seed 9 --threads $t "$cap" > "$tmp/tsv.$t"; check $? 0 "$name: --sort --threads $t exits 0"
        "$MOONSHARK" http --json --sort --seed 9 --threads $t "$cap" > "$tmp/json.$t"
    done
    grep -v '^#' "$tmp/tsv.1" | cut -f1 | sort -c -n 2>/dev/null; check $? 0 "$name: TSV rows in ts order"
    python3 -c "import json,sys; ts=[json.loads(l)['ts'] for l in open(sys.argv[1])]; sys.exit(ts != sorted(ts))" "$tmp/json.1"
    check $? 0 "$name: JSON lines in ts order"
    test "$(grep -vc '^#' "$tmp/tsv.1")" -gt 0; check $? 0 "$name: records were written"
    for t in 2 4; do
        rows "$tmp/tsv.1" > "$tmp/a"; rows "$tmp/tsv.$t" > "$tmp/b"
        cmp -s "$tmp/a" "$tmp/b"; check $? 0 "$name: TSV with --threads $t is the bytes of --threads 1"
        cmp -s "$tmp/json.1" "$tmp/json.$t"; check $? 0 "$name: JSON with --threads $t is the bytes of --threads 1"
    done
    "$MOONSHARK" http --tsv --seed 9 --threads 1 "$cap" | rows /dev/stdin | sort > "$tmp/plain"
    rows "$tmp/tsv.1" | sort > "$tmp/sorted"
    cmp -s "$tmp/plain" "$tmp/sorted"; check $? 0 "$name: --sort changes the order only"
done
"$MOONSHARK" http --sort --table "$top/samples/http-sample.pcap" > /dev/null 2>&1; check $? 2 "--sort with --table is a usage error"
"$MOONSHARK" http --sort -l "$top/samples/http-sample.pcap" > /dev/null 2>&1; check $? 2 "--sort with -l is a usage error"

echo "sort: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
