#!/bin/sh
# Live capture on the loopback interface, as a user runs it: `moonshark http -i lo` with its output
# going to a file (not a terminal, so not line-buffered by default) must show a request's record
# within a second of the answer while it keeps running; a request still waiting for its answer
# when SIGINT comes is written at the stop; `moonshark conn -i lo` writes a finished connection
# by the wall clock while the interface is idle (capture time stands still). A tiny HTTP server
# (python3 -m http.server on a free high port) and curl make the traffic.
# Needs root (capture on lo), python3 and curl; skips with a message otherwise.
set -u
: "${MOONSHARK:?set MOONSHARK to the moonshark binary}"
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "live_loopback: FAIL $3: got '$1', want '$2'"; fi; }
skip() { echo "live_loopback: SKIP: $*"; echo "live_loopback: 0 passed, 0 failed"; exit 0; }
[ "$(id -u)" = 0 ] || skip "not root (capturing on lo needs it)"
command -v python3 > /dev/null 2>&1 || skip "python3 is not installed"
command -v curl > /dev/null 2>&1 || skip "curl is not installed"
[ -d /sys/class/net/lo ] || skip "no loopback interface"

tmp=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2> /dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
now_ms() { date +%s%3N; }
# wait_for FILE PATTERN MS: 0 when PATTERN shows up in FILE within MS milliseconds
wait_for() {
    end=$(( $(now_ms) + $3 ))
    while [ "$(now_ms)" -le "$end" ]; do
        grep -q "$2" "$1" 2> /dev/null && return 0
        sleep 0.02
    done
    return 1
}

# a free port: the kernel picks one, python tells it
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir "$tmp/www"
echo "hello from the live test" > "$tmp/www/hello.txt"
(cd "$tmp/www" && exec python3 -u -m http.server "$port" --bind 127.0.0.1 > "$tmp/server.log" 2>&1) &
pids="$pids $!"
# a server that reads a request and never answers (for the record pending at SIGINT)
pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$tmp/mute.py" << 'EOF'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
print("listening", flush=True)
c, _ = s.accept(); c.recv(65536); time.sleep(30)
EOF
python3 "$tmp/mute.py" "$pport" > "$tmp/mute.log" 2>&1 &
pids="$pids $!"
wait_for "$tmp/server.log" "Serving HTTP" 5000 || sleep 1
wait_for "$tmp/mute.log" "listening" 5000

# 1. http: a record within a second, while moonshark runs; the pending one at SIGINT
"$MOONSHARK" http -i lo --json --no-progress "tcp port $port or tcp port $pport" > "$tmp/http.json" 2> "$tmp/http.err" &
mpid=$!
pids="$pids $mpid"
wait_for "$tmp/http.err" "capturing on lo" 5000
sleep 0.3 # libpcap's filter is set by then; give the socket a moment
curl -s -o /dev/null "http://127.0.0.1:$port/hello.txt"
t0=$(now_ms)
if wait_for "$tmp/http.json" '"uri":"/hello.txt"' 1000; then
    check "within" "within" "the record of a finished request is written within a second"
    echo "live_loopback: record seen $(( $(now_ms) - t0 )) ms after curl returned"
else
    check "late" "within" "the record of a finished request is written within a second"
fi
kill -0 "$mpid" 2> /dev/null; check $? 0 "moonshark is still capturing when the record shows"
grep -q '"status_code":200' "$tmp/http.json"; check $? 0 "the record has the response's status"
# a request the server never answers: its record can only come from the flush at SIGINT
curl -s -o /dev/null --max-time 20 "http://127.0.0.1:$pport/pending" &
cpid=$!
pids="$pids $cpid"
sleep 0.8
grep -q '/pending' "$tmp/http.json"; check $? 1 "an unanswered request is not written before the end"
kill -INT "$mpid"
wait "$mpid"; rc=$?
check "$rc" 0 "SIGINT ends a live run with status 0"
grep -q '"uri":"/pending"' "$tmp/http.json"; check $? 0 "the request read before SIGINT is written at the stop"
check "$(grep -c '"uri":"/hello.txt"' "$tmp/http.json")" 1 "the first record is written once"
grep -q "packets received by filter" "$tmp/http.err"; check $? 0 "libpcap's counters are printed at the stop"
kill "$cpid" 2> /dev/null

# 2. conn: a finished connection comes out by the wall clock while lo is idle for the filter
"$MOONSHARK" conn -i lo --tsv --gap-timeout 0.5 --no-progress "tcp port $port" > "$tmp/conn.tsv" 2> "$tmp/conn.err" &
mpid=$!
pids="$pids $mpid"
wait_for "$tmp/conn.err" "capturing on lo" 5000
sleep 0.3
curl -s -o /dev/null "http://127.0.0.1:$port/hello.txt"
t0=$(now_ms)
if wait_for "$tmp/conn.tsv" "	$port	tcp	http	" 2500; then
    check "written" "written" "a closed connection is written while the interface is idle"
    echo "live_loopback: conn line seen $(( $(now_ms) - t0 )) ms after curl returned (gap timeout 0.5 s)"
else
    check "missing" "written" "a closed connection is written while the interface is idle"
fi
kill -INT "$mpid"
wait "$mpid"; check $? 0 "SIGINT ends the live conn run with status 0"
grep -q '^#close' "$tmp/conn.tsv"; check $? 0 "the TSV ends with #close after SIGINT"

echo "live_loopback: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
