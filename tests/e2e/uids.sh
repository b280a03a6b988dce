#!/bin/sh
# Connection uids: a fresh seed per run (two runs of the same capture share no uid), --seed N and
# $MOONSHARK_SEED reproduce them, and with one seed the logs of separate commands join on uid
# (every http uid is a conn uid, every conn uid of a port-8080 connection is in the http log).
set -u
: "${MOONSHARK:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
cap=$top/samples/http-loopback.pcap
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "uids: FAIL $3: got '$1', want '$2'"; fi; }
uids() { grep -v '^#' | cut -f2 | sort -u; }

"$MOONSHARK" http --tsv "$cap" | uids > "$tmp/a"
"$MOONSHARK" http --tsv "$cap" | uids > "$tmp/b"
check "$(wc -l < "$tmp/a" | tr -d ' ')" "$(wc -l < "$tmp/b" | tr -d ' ')" "two runs see as many connections"
check "$(comm -12 "$tmp/a" "$tmp/b" | wc -l | tr -d ' ')" 0 "two runs without --seed share no uid"
test -s "$tmp/a"; check $? 0 "the sample has HTTP connections"

"$MOONSHARK" http --tsv --seed 42 "$cap" | uids > "$tmp/s1"
"$MOONSHARK" http --tsv --seed 42 "$cap" | uids > "$tmp/s2"
MOONSHARK_SEED=42 "$MOONSHARK" http --tsv "$cap" | uids > "$tmp/s3"
cmp -s "$tmp/s1" "$tmp/s2"; check $? 0 "--seed reproduces the uids"
cmp -s "$tmp/s1" "$tmp/s3"; check $? 0 "MOONSHARK_SEED gives the same uids as --seed"
"$MOONSHARK" http --tsv --seed 43 "$cap" | uids > "$tmp/s4"
check "$(comm -12 "$tmp/s1" "$tmp/s4" | wc -l | tr -d ' ')" 0 "another seed gives other uids"

"$MOONSHARK" conn --seed 42 "$cap" | uids > "$tmp/c"
check "$(comm -23 "$tmp/s1" "$tmp/c" | wc -l | tr -d ' ')" 0 "with one seed every http uid is a conn uid"
"$MOONSHARK" conn --seed 42 "$cap" | grep -v '^#' | awk -F'\t' '$6 == 8080 { print $2 }' | sort -u > "$tmp/c80"
check "$(comm -13 "$tmp/s1" "$tmp/c80" | wc -l | tr -d ' ')" 0 "every port-8080 conn uid is in the http log"
"$MOONSHARK" http --tsv --seed x "$cap" > /dev/null 2>&1; check $? 2 "a bad --seed is a usage error"

echo "uids: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
