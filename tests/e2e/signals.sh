#!/bin/sh
# Signals while reading a file: SIGINT / SIGTERM finish the frame, close every open connection so
# its pending records are written, and exit 130 / 143 with output that ends in a whole line; the
# records are those of the bytes read so far (the same set a run over just those bytes gives).
# Output into a closed pipe (| head) ends the run at once and without a message.
# The capture comes through a FIFO that stays open after the data, so the signal always lands
# while moonshark waits for more (deterministic, whatever the machine's speed).
set -u
: "${MOONSHARK:?}" "${BUILD_DIR:?}"
tmp=$(mktemp -d)
feeder=""
trap '[ -n "$feeder" ] && { pkill -P "$feeder" sleep; kill "$feeder"; } 2> /dev/null; rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "signals: FAIL $3: got '$1', want '$2'"; fi; }

"$BUILD_DIR/tools/gen_capture" --size 8M --seed 5 -o "$tmp/full.pcap" > /dev/null 2>&1 || { echo "signals: FAIL gen_capture"; exit 1; }
# a prefix that ends inside a connection's exchange (its record is pending when the signal comes)
head -c 5000000 "$tmp/full.pcap" > "$tmp/part.pcap"
"$MOONSHARK" http --json --seed 4 --threads 1 "$tmp/part.pcap" 2> /dev/null | sort > "$tmp/want.json"
test "$(wc -l < "$tmp/want.json")" -gt 10; check $? 0 "the prefix holds records"

# run_signal SIG WANT_RC FORMAT THREADS: feeds part.pcap through a FIFO, signals once it is read
run_signal() {
    rm -f "$tmp/fifo"; mkfifo "$tmp/fifo"
    rm -f "$tmp/fed"
    (cat "$tmp/part.pcap"; : > "$tmp/fed"; sleep 60) > "$tmp/fifo" &
    feeder=$!
    "$MOONSHARK" http "$3" --seed 4 --threads "$4" "$tmp/fifo" > "$tmp/out" 2> "$tmp/err" &
    pid=$!
    # wait until moonshark has taken every byte (cat has ended), then signal
    i=0
    while [ $i -lt 100 ] && [ ! -e "$tmp/fed" ]; do sleep 0.1; i=$((i + 1)); done
    sleep 0.5
    kill -"$1" "$pid"
    wait "$pid"; rc=$?
    pkill -P "$feeder" sleep 2> /dev/null; kill "$feeder" 2> /dev/null; wait "$feeder" 2> /dev/null; feeder=""
    check "$rc" "$2" "SIG$1 ($3, --threads $4): exit status"
    check "$(tail -c 1 "$tmp/out" | od -An -c | tr -d ' ')" '\n' "SIG$1 ($3, --threads $4): output ends with a whole line"
    grep -q 'interrupted; results so far were written' "$tmp/err"; check $? 0 "SIG$1 ($3, --threads $4): says it was interrupted"
}

for t in 1 2; do
    run_signal INT 130 --json $t
    jq -c . "$tmp/out" > /dev/null 2>&1; check $? 0 "SIGINT --threads $t: every line is JSON jq reads"
    sort "$tmp/out" | cmp -s - "$tmp/want.json"; check $? 0 "SIGINT --threads $t: the records of every byte read, pending ones included"
    run_signal TERM 143 --json $t
    sort "$tmp/out" | cmp -s - "$tmp/want.json"; check $? 0 "SIGTERM --threads $t: the records of every byte read, pending ones included"
done
run_signal TERM 143 --tsv 1
tail -n 1 "$tmp/out" | grep -q '^#close'; check $? 0 "SIGTERM TSV: the log is closed (#close line)"

# | head: the writer meets a closed pipe; the run stops at once, quietly
start=$(date +%s)
"$MOONSHARK" http --json "$tmp/full.pcap" 2> "$tmp/head.err" | head -n 1 > "$tmp/head.out"
check "$(wc -l < "$tmp/head.out")" 1 "| head -n 1 gets its line"
check "$(wc -c < "$tmp/head.err" | tr -d ' ')" 0 "| head: nothing on stderr"
test $(( $(date +%s) - start )) -lt 20; check $? 0 "| head ends at once"

echo "signals: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
