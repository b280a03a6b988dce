#!/bin/sh
# `moonshark check`, `moonshark test` and `--stream` end to end:
#   - the checker finds deliberately wrong parsers (tests/e2e/check_parsers/): one that assumes a
#     request line arrives in one on_data call, one that pairs by arrival, one that never
#     consumes (a stall), one that raises on short views; it names the uid (a real connection of
#     the capture), the segmentation and the byte offset, and exits 1;
#   - the replay plans keep every byte once, in order, gaps in place, no server byte before a
#     client byte captured before it (check_plans.py over the trace);
#   - every bundled parser (protocols/*.lua) and sample (samples/*.lua) passes on the bundled
#     captures and on the shared captures that carry its protocol (../shared/pcaps, skipped when
#     absent), except the findings listed in check_known.tsv, which must still be found;
#   - the harness cases (tests/cases/) pass, and a wrong expected record fails with a field diff;
#   - the Redis sample logs every command the server's own MONITOR saw (redis_monitor.py).
set -u
: "${MOONSHARK:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
PCAPS=${PCAPS:-$top/../shared/pcaps}
here=$top/tests/e2e
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "check: FAIL $3: got '$1', want '$2'"; fi; }
has() { if grep -q -- "$2" "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "check: FAIL $3: no '$2' in:"; head -n 12 "$1" | sed 's/^/    /'; fi; }
seed=7
http_cap=$top/samples/http-loopback.pcap
redis_cap=$top/samples/redis-loopback.pcap

# ---- deliberately wrong parsers -----------------------------------------------------------
"$MOONSHARK" check -s "$here/check_parsers/line_per_call.lua" --seed $seed "$http_cap" > "$tmp/line.out" 2>&1
check $? 1 "a parser that assumes a line per on_data call fails the check"
has "$tmp/line.out" "depend on the segmentation" "the finding says the records depend on the segmentation"
has "$tmp/line.out" "segmentation 'bytes'" "the finding names the segmentation"
has "$tmp/line.out" "came out at client byte [0-9]" "the finding gives the byte offset"
has "$tmp/line.out" "line=GET /" "the finding shows the record"
uid=$(sed -n 's/.*records of connection \(C[0-9A-Za-z]*\) .*/\1/p' "$tmp/line.out" | head -n 1)
"$MOONSHARK" conn --seed $seed "$http_cap" | grep -v '^#' | cut -f2 > "$tmp/conn.uids"
check "$(grep -c -x -- "$uid" "$tmp/conn.uids")" 1 "the uid named is a connection of the capture (conn, same seed)"
"$MOONSHARK" check -s "$here/check_parsers/line_per_call.lua" --seed $seed "$http_cap" > "$tmp/line2.out" 2>&1
cmp -s "$tmp/line.out" "$tmp/line2.out"; check $? 0 "the same seed gives the same report"
"$MOONSHARK" check -s "$here/check_parsers/line_per_call.lua" --seed $seed --segmentations captured,server-late \
    "$http_cap" > "$tmp/line3.out" 2>&1
check $? 0 "the same parser passes when no call splits a line (captured, server-late)"

"$MOONSHARK" check -s "$here/check_parsers/pairs_by_arrival.lua" --seed $seed "$http_cap" > "$tmp/pairs.out" 2>&1
check $? 1 "a parser pairing responses by arrival fails the check"
has "$tmp/pairs.out" "columns that differ: uri" "the finding names the differing column"

"$MOONSHARK" check -s "$here/check_parsers/never_consumes.lua" --seed $seed "$http_cap" > "$tmp/stall.out" 2>&1
check $? 1 "a parser that never consumes fails the check"
has "$tmp/stall.out" "stalls on connection C" "the stall is reported with the uid"
has "$tmp/stall.out" "more than the engine keeps" "holding past the assembler's limit is reported"

"$MOONSHARK" check -s "$here/check_parsers/raises_on_short.lua" --seed $seed "$http_cap" > "$tmp/raise.out" 2>&1
check $? 1 "a parser that raises on short views fails the check"
has "$tmp/raise.out" "raised on connection C.*segmentation 'bytes'" "the raise is reported with uid and segmentation"
has "$tmp/raise.out" "read past the end of the view" "the raise shows the script's message"

# the same wrong parser on byte files (--stream) and as a harness case
printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' > "$tmp/c.bin"
printf 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' > "$tmp/s.bin"
"$MOONSHARK" check -s "$here/check_parsers/line_per_call.lua" --seed $seed --stream "$tmp/c.bin" "$tmp/s.bin" \
    > "$tmp/stream.out" 2>&1
check $? 1 "check --stream finds the wrong parser on byte files"
"$MOONSHARK" -s "$here/check_parsers/line_per_call.lua" --stream "$tmp/c.bin" "$tmp/s.bin" --json --seed 1 \
    > "$tmp/stream.json" 2>&1
check "$(cat "$tmp/stream.json")" '{"uid":"CEcg0iEmWwe1ObbpGw","line":"GET /a HTTP/1.1"}' \
    "--stream feeds the files as one connection (uid from the seed)"
"$MOONSHARK" -s "$here/check_parsers/line_per_call.lua" --stream "$tmp/c.bin" "$tmp/s.bin" --json --seed 1 \
    --stream-ports 5555:8080 --stream-addrs 192.0.2.1,192.0.2.2 > "$tmp/stream2.json" 2>&1
check "$(grep -c '"line":"GET /a HTTP/1.1"' "$tmp/stream2.json")" 1 "--stream-ports and --stream-addrs"
"$MOONSHARK" -s "$here/check_parsers/line_per_call.lua" --stream "$tmp/c.bin" "$tmp/s.bin" \
    --stream-ports 5555:9999 > /dev/null 2> "$tmp/stream3.err"
has "$tmp/stream3.err" "no protocol claimed the stream" "a stream on a port no parser claims says so"
mkdir -p "$tmp/cases/one"
cp "$tmp/c.bin" "$tmp/cases/one/client.bin"; cp "$tmp/s.bin" "$tmp/cases/one/server.bin"
"$MOONSHARK" test "$here/check_parsers/line_per_call.lua" "$tmp/cases" --update > "$tmp/upd.out" 2>&1
check $? 1 "test --update still fails a case whose records depend on the segmentation"
has "$tmp/upd.out" "FAIL one: segmentation check" "the harness reports the segmentation check"

# ---- the plans themselves ------------------------------------------------------------------
MOONSHARK_CHECK_TRACE=1 "$MOONSHARK" check -s "$top/protocols/http.lua" --segmentations all --seed $seed \
    "$http_cap" "$top/samples/http-sample.pcap" "$redis_cap" 2> "$tmp/trace" > /dev/null
python3 "$here/check_plans.py" < "$tmp/trace" > "$tmp/plans.out"
check $? 0 "replay plans: every byte once, in order, gaps kept, no server byte before an earlier client byte"
if [ -d "$PCAPS" ]; then
    MOONSHARK_CHECK_TRACE=1 "$MOONSHARK" check -s "$top/protocols/http.lua" --segmentations all --seed $seed \
        "$PCAPS/zeek/http/content-range-gap-skip.pcap" "$PCAPS/zeek/spicy/gap-recovery.pcap" \
        "$PCAPS/zeek/http/get-gzip.trace" 2> "$tmp/trace2" > /dev/null
    check "$(grep -c -E ': (client|server) gap ' "$tmp/trace2" | tr -d ' ' | sed 's/^0$/none/;s/^[0-9]*$/some/')" \
        some "the gap captures put gaps in the plans"
    python3 "$here/check_plans.py" < "$tmp/trace2" > "$tmp/plans2.out"
    check $? 0 "replay plans with gaps keep them in place"
fi

# ---- bundled parsers and samples pass ----------------------------------------------------
"$MOONSHARK" check -s "$top/protocols/http.lua" --strict-time --seed $seed "$http_cap" "$top/samples/http-sample.pcap" \
    > "$tmp/http.out" 2>&1
check $? 0 "http.lua on the bundled HTTP captures, time columns compared too"
"$MOONSHARK" check -s "$top/samples/redis_commands.lua" --strict-time --segmentations all --seed $seed "$redis_cap" \
    > "$tmp/redis.out" 2>&1
check $? 0 "redis_commands.lua on the bundled Redis capture, every segmentation, time columns too"

# Shared captures by what they carry (tshark's reading beside them names the protocols).
if [ -d "$PCAPS" ]; then
    (cd "$PCAPS" && find . -name '*.http.tsv' | sed 's/\.http\.tsv$//' | sort) > "$tmp/http.list"
    (cd "$PCAPS" && grep -l -m1 ':dns' $(find . -name '*.layers.tsv') | sed 's/\.layers\.tsv$//' | sort) > "$tmp/dns.list"
    (cd "$PCAPS" && grep -l -m1 ':tls' $(find . -name '*.layers.tsv') | sed 's/\.layers\.tsv$//' | sort) > "$tmp/tls.list"
    (cd "$PCAPS" && ls zeek/redis/*.pcap zeek/redis/*.pcapng 2>/dev/null | sort) > "$tmp/redis.list"
    grep -v '^#' "$here/check_known.tsv" | cut -f1,2 > "$tmp/known"
fi

# check_list PARSER LIST: every capture of LIST not known to fail, 200 per run
check_list() {
    name=$(basename "$1")
    awk -F'\t' -v p="$name" '$1 == p { print "./" $2 }' "$tmp/known" > "$tmp/known.$name"
    grep -v -x -F -f "$tmp/known.$name" "$tmp/$2.list" > "$tmp/run.list" || true
    n=$(wc -l < "$tmp/run.list" | tr -d ' ')
    split -l 200 "$tmp/run.list" "$tmp/part."
    ok=0
    for part in "$tmp"/part.*; do
        [ -f "$part" ] || continue
        (cd "$PCAPS" && "$MOONSHARK" check -s "$1" --seed $seed -q $(cat "$part")) > "$tmp/list.out" 2>&1 || ok=1
        [ $ok -eq 0 ] || { head -n 20 "$tmp/list.out" | sed 's/^/    /'; break; }
    done
    rm -f "$tmp"/part.*
    check $ok 0 "$name passes on $n shared $2 captures"
}

if [ -d "$PCAPS" ]; then
    for p in "$top"/protocols/*.lua; do
        case $(basename "$p" .lua) in
            http) check_list "$p" http ;;
            dns) check_list "$p" dns ;;
            tls) check_list "$p" tls ;;
            *) echo "check: no shared captures chosen for protocols/$(basename "$p"): add a case in check.sh" ;;
        esac
    done
    for p in "$top"/samples/*.lua; do
        case $(basename "$p" .lua) in
            redis_commands) check_list "$p" redis ;;
            tls_sni) check_list "$p" tls ;;
            dns_queries) check_list "$p" dns ;;
            http_uri_filter) check_list "$p" http ;;
            *) echo "check: no shared captures chosen for samples/$(basename "$p"): add a case in check.sh" ;;
        esac
    done
    # known findings must still be found (when fixed, remove them from check_known.tsv)
    while IFS="$(printf '\t')" read -r parser cap why; do
        case $parser in ''|'#'*) continue ;; esac
        src=$top/protocols/$parser; [ -f "$src" ] || src=$top/samples/$parser
        [ -f "$src" ] || continue
        (cd "$PCAPS" && "$MOONSHARK" check -s "$src" --seed $seed -q "$cap") > /dev/null 2>&1
        check $? 1 "known finding still found: $parser on $cap ($why)"
    done < "$here/check_known.tsv"
else
    echo "check: SKIP shared captures: $PCAPS not found"
fi

# ---- the harness cases ------------------------------------------------------------------------
"$MOONSHARK" test "$top/protocols/http.lua" "$top/tests/cases/http" > "$tmp/t_http.out" 2>&1
check $? 0 "moonshark test: http.lua's cases"
has "$tmp/t_http.out" "9 case(s), 9 passed" "http.lua has 9 cases"
"$MOONSHARK" test "$top/samples/redis_commands.lua" "$top/tests/cases/redis" > "$tmp/t_redis.out" 2>&1
check $? 0 "moonshark test: the Redis sample's cases"
for d in "$top"/tests/cases/samples/*/; do
    s=$(basename "$d")
    "$MOONSHARK" test "$top/samples/$s.lua" "$d" > "$tmp/t_$s.out" 2>&1
    check $? 0 "moonshark test: samples/$s.lua's cases"
done
# a wrong expected record fails, with the field named
mkdir -p "$tmp/wrong"
cp -r "$top/tests/cases/redis/pipelined" "$tmp/wrong/"
sed -i '2s/"key":"b"/"key":"z"/' "$tmp/wrong/pipelined/expected.jsonl"
"$MOONSHARK" test "$top/samples/redis_commands.lua" "$tmp/wrong" > "$tmp/t_wrong.out" 2>&1
check $? 1 "a case whose expected record differs fails"
has "$tmp/t_wrong.out" 'key: expected "z", got "b"' "the diff names the field and both values"
sed -i '$d' "$tmp/wrong/pipelined/expected.jsonl"
"$MOONSHARK" test "$top/samples/redis_commands.lua" "$tmp/wrong" > "$tmp/t_wrong2.out" 2>&1
has "$tmp/t_wrong2.out" "4 record(s) expected\|3 record(s) expected, 4 written" "a missing expected record is counted"

# ---- the Redis sample against the server's own view --------------------------------------
"$MOONSHARK" -s "$top/samples/redis_commands.lua" --json "$redis_cap" > "$tmp/redis.json" 2> "$tmp/redis.err"
python3 "$here/redis_monitor.py" "$top/samples/redis-loopback.pcap.monitor.txt" "$tmp/redis.json" > "$tmp/monitor.out"
check $? 0 "every command redis-server's MONITOR saw is in the Redis log"
has "$tmp/monitor.out" " 0 missing" "no command missing"
check "$(wc -c < "$tmp/redis.err" | tr -d ' ')" 0 "the Redis sample writes nothing on stderr"

echo "check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
