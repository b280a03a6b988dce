#!/bin/sh
# What a tcpdump or tshark user types: a filter expression after the captures
# (`moonshark http f.pcap tcp port 8080`, also as one quoted word), -w given a capture name
# (refused with a hint, nothing created), -w DIR honoured by conn, layers and stats, gzip'd
# captures (a file, stdin, a cut one), other compressions refused with a hint, -n accepted, -l
# accepted. Each result is compared with what the same run gives through -f or an unpacked file.
set -u
: "${MOONSHARK:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
cap=$top/samples/http-sample.pcap
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "tcpdump_habits: FAIL $3: got '$1', want '$2'"; fi; }
rows() { grep -v '^#' | sort; }

# a trailing filter expression is the BPF filter
"$MOONSHARK" http --tsv --seed 1 -f 'tcp port 8080' "$cap" | rows > "$tmp/f"
"$MOONSHARK" http --tsv --seed 1 "$cap" tcp port 8080 | rows > "$tmp/t"
"$MOONSHARK" http --tsv --seed 1 "$cap" 'tcp port 8080' | rows > "$tmp/t1"
"$MOONSHARK" http --tsv --seed 1 "$cap" | rows > "$tmp/all"
test -s "$tmp/f" && cmp -s "$tmp/f" "$tmp/t"; check $? 0 "FILE tcp port 8080 gives what -f 'tcp port 8080' gives"
cmp -s "$tmp/f" "$tmp/t1"; check $? 0 "the expression as one quoted word too"
test "$(wc -l < "$tmp/f")" -lt "$(wc -l < "$tmp/all")"; check $? 0 "the trailing expression does filter"
"$MOONSHARK" conn --tsv "$cap" tcp port 80 | grep -v '^#' | cut -f6 | sort -u > "$tmp/ports"
check "$(tr '\n' ' ' < "$tmp/ports")" "80 " "conn FILE tcp port 80 keeps port 80 only"
"$MOONSHARK" http "$tmp/missing.pcap" > /dev/null 2> "$tmp/e"; rc=$?
check "$rc" 1 "a missing capture is still an error, not a filter"
grep -q 'missing.pcap: cannot open' "$tmp/e"; check $? 0 "the missing capture is named"
"$MOONSHARK" http -f 'port 80' "$cap" tcp > /dev/null 2> "$tmp/e"; check $? 2 "-f and a trailing expression together are a usage error"
"$MOONSHARK" http "$cap" tcp port > /dev/null 2> "$tmp/e"; check $? 2 "a bad trailing expression is reported as a bad filter"

# -w takes a directory; a capture name is refused before anything is created
(cd "$tmp" && "$MOONSHARK" http -w out.pcap "$cap" > /dev/null 2> "$tmp/e"); rc=$?
check "$rc" 2 "-w out.pcap is a usage error"
test -e "$tmp/out.pcap"; check $? 1 "-w out.pcap creates nothing"
grep -q 'tcpdump -w' "$tmp/e"; check $? 0 "the refusal says how to save packets"
: > "$tmp/afile"
"$MOONSHARK" http -w "$tmp/afile" "$cap" > /dev/null 2>&1; check $? 2 "-w naming an existing file is refused"
"$MOONSHARK" conn -w "$tmp/logs" "$cap" > "$tmp/stdout"; check "$? $(wc -c < "$tmp/stdout" | tr -d ' ')" "0 0" "conn -w DIR writes nothing on stdout"
check "$(grep -vc '^#' "$tmp/logs/conn.log")" "$("$MOONSHARK" conn --tsv "$cap" | grep -vc '^#')" "conn -w DIR writes DIR/conn.log"
"$MOONSHARK" layers -w "$tmp/logs" "$cap" > /dev/null
cmp -s "$tmp/logs/layers.log" - << EOF
$("$MOONSHARK" layers "$cap")
EOF
check $? 0 "layers -w DIR writes DIR/layers.log"
"$MOONSHARK" stats -w "$tmp/logs" "$cap" > /dev/null
check "$(head -1 "$tmp/logs/stats.log")" "$("$MOONSHARK" stats "$cap" | head -1)" "stats -w DIR writes DIR/stats.log"

# gzip'd captures, through zlib
gzip -c "$cap" > "$tmp/s.pcap.gz"
"$MOONSHARK" http --tsv --seed 1 "$tmp/s.pcap.gz" | rows > "$tmp/gz"
cmp -s "$tmp/gz" "$tmp/all"; check $? 0 "a .pcap.gz gives the records of the unpacked capture"
"$MOONSHARK" http --tsv --seed 1 - < "$tmp/s.pcap.gz" | rows > "$tmp/gzin"
cmp -s "$tmp/gzin" "$tmp/all"; check $? 0 "gzip on stdin too"
# the capture cut in two, each half gzip'd on its own, the two members concatenated
size=$(wc -c < "$cap" | tr -d ' ')
{ head -c $((size / 2)) "$cap" | gzip -c; tail -c $((size - size / 2)) "$cap" | gzip -c; } > "$tmp/two.gz"
"$MOONSHARK" http --tsv --seed 1 "$tmp/two.gz" | rows > "$tmp/two"
cmp -s "$tmp/two" "$tmp/all"; check $? 0 "a gzip stream of two members reads as one capture"
head -c 20000 "$tmp/s.pcap.gz" > "$tmp/cut.pcap.gz"
"$MOONSHARK" http "$tmp/cut.pcap.gz" > /dev/null 2> "$tmp/e"; rc=$?
check "$rc" 1 "a cut .gz is a truncated capture (status 1)"
grep -q 'truncated at frame' "$tmp/e"; check $? 0 "the cut .gz says where the capture stops"
if command -v xz > /dev/null 2>&1; then
    xz -c "$cap" > "$tmp/s.pcap.xz"
    "$MOONSHARK" http "$tmp/s.pcap.xz" > /dev/null 2> "$tmp/e"; rc=$?
    check "$rc" 2 "an xz capture is refused"
    grep -q 'xz -dc' "$tmp/e"; check $? 0 "the refusal says how to unpack it"
fi
echo "not a capture" | gzip -c > "$tmp/junk.gz"
"$MOONSHARK" http "$tmp/junk.gz" > /dev/null 2> "$tmp/e"; check $? 2 "gzip'd text is not a capture"
grep -q "gzip'd, and inside it" "$tmp/e"; check $? 0 "the message says the gzip was opened"

# -n and -l
"$MOONSHARK" http --tsv --seed 1 -n "$cap" | rows > "$tmp/n"
cmp -s "$tmp/n" "$tmp/all"; check $? 0 "-n is accepted and changes nothing"
"$MOONSHARK" http --tsv --seed 1 -l "$cap" | rows > "$tmp/l"
cmp -s "$tmp/l" "$tmp/all"; check $? 0 "-l is accepted and changes nothing but buffering"
echo "tcpdump_habits: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
