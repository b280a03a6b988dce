#!/bin/sh
# The command line's contract on bad input: a truncated capture yields every frame before the cut,
# then one line naming the file and frame, exit 1; a file that is not a capture: one line, exit 2;
# usage errors exit 2; --help prints the manual and exits 0. Uses captures the test writes itself.
set -u
: "${MOONSHARK:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "cli_errors: FAIL $3: got '$1', want '$2'"; fi; }

# A valid little capture: 3 Ethernet/IPv4/UDP frames, written by hand (pcap, microseconds).
printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\377\377\000\000\001\000\000\000' > "$tmp/ok.pcap"
frame='\000\001\002\003\004\005\000\001\002\003\004\006\010\000\105\000\000\034\000\000\000\000\100\021\000\000\012\000\000\001\012\000\000\002\000\065\000\065\000\010\000\000'
for i in 1 2 3; do
    printf "\\00$i\\000\\000\\000\\000\\000\\000\\000\\052\\000\\000\\000\\052\\000\\000\\000" >> "$tmp/ok.pcap"
    printf "$frame" >> "$tmp/ok.pcap"
done
"$MOONSHARK" layers "$tmp/ok.pcap" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "$rc" 0 "layers on a valid capture exits 0"
check "$(wc -l < "$tmp/out" | tr -d ' ')" 3 "one line per frame"
check "$(head -n 1 "$tmp/out")" "$(printf '1\teth:ethertype:ip:udp')" "first frame's stack"

# Cut inside the third frame.
head -c $((24 + 2 * 58 + 30)) "$tmp/ok.pcap" > "$tmp/cut.pcap"
"$MOONSHARK" layers "$tmp/cut.pcap" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "$rc" 1 "truncated capture exits 1"
check "$(wc -l < "$tmp/out" | tr -d ' ')" 2 "frames before the cut are printed"
check "$(wc -l < "$tmp/err" | tr -d ' ')" 1 "one line on stderr"
grep -q 'cut.pcap: truncated at frame 3' "$tmp/err"; check $? 0 "the message names file and frame"

echo "hello, not a capture" > "$tmp/notes.txt"
"$MOONSHARK" layers "$tmp/notes.txt" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "$rc" 2 "not a capture exits 2"
check "$(wc -l < "$tmp/err" | tr -d ' ')" 1 "not a capture: one line"

"$MOONSHARK" layers "$tmp/does-not-exist.pcap" > /dev/null 2> "$tmp/err"; rc=$?
check "$rc" 1 "missing file exits 1"
"$MOONSHARK" layers --bogus "$tmp/ok.pcap" > /dev/null 2> "$tmp/err"; rc=$?
check "$rc" 2 "unknown option exits 2"
"$MOONSHARK" frobnicate "$tmp/ok.pcap" > /dev/null 2> "$tmp/err"; rc=$?
check "$rc" 2 "unknown command exits 2"
"$MOONSHARK" --help > "$tmp/out" 2>&1; rc=$?
check "$rc" 0 "--help exits 0"
grep -q 'Commands:' "$tmp/out"; check $? 0 "--help lists the commands"
"$MOONSHARK" layers -f 'udp port 53' - < "$tmp/ok.pcap" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "$rc" 0 "stdin with a filter"
check "$(wc -l < "$tmp/out" | tr -d ' ')" 3 "stdin frames"
"$MOONSHARK" layers "$tmp/ok.pcap" "$tmp/ok.pcap" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "$(grep -c '^[0-9]' "$tmp/out")" 6 "several files in one run: every frame of each"
check "$(grep -c '^#file' "$tmp/out")" 2 "several files in one run: each file's end is marked"

echo "cli_errors: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
