#!/bin/sh
# bench/streams_check.sh [MOONSHARK] [CAPTURE] — cross-checks `moonshark streams -o DIR` with
# `tcpflow -r CAPTURE -o DIR` (the reference reassembler): every non-empty direction tcpflow
# writes must be written byte for byte by moonshark, and nothing more. Files are matched by
# content (sha256); names (tcpflow's scheme, which moonshark follows) are compared but only reported.
# Default capture: samples/http-sample.pcap. Prints `streams_check: N passed, N failed`.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/moonshark}
cap=${2:-$top/samples/http-sample.pcap}
command -v tcpflow >/dev/null 2>&1 || { echo "streams_check: SKIP: tcpflow not installed"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ms"
if ! "$bin" streams "$cap" -o "$tmp/ms" > "$tmp/ms.out" 2> "$tmp/ms.err"; then
    echo "streams_check: moonshark streams failed: $(head -n 2 "$tmp/ms.err")"
    echo "streams_check: 0 passed, 1 failed"; exit 1
fi
tcpflow -r "$cap" -o "$tmp/tf" > /dev/null 2>&1 || { echo "streams_check: tcpflow failed"; exit 1; }
hashes() { find "$1" -type f -size +0 ! -name '*.xml' ! -name '*.jsonl' -exec sha256sum {} + | cut -d' ' -f1 | sort; }
hashes "$tmp/tf" > "$tmp/tf.sum"
hashes "$tmp/ms" > "$tmp/ms.sum"
pass=$(comm -12 "$tmp/tf.sum" "$tmp/ms.sum" | wc -l | tr -d ' ')
missing=$(comm -23 "$tmp/tf.sum" "$tmp/ms.sum" | wc -l | tr -d ' ')
extra=$(comm -13 "$tmp/tf.sum" "$tmp/ms.sum" | wc -l | tr -d ' ')
[ "$missing" -eq 0 ] || echo "streams_check: $missing tcpflow direction(s) with no identical moonshark file"
[ "$extra" -eq 0 ] || echo "streams_check: $extra moonshark file(s) matching no tcpflow direction"
# names: moonshark follows tcpflow's naming, so the same names should exist (reported, not counted)
( cd "$tmp/tf" && find . -type f -size +0 ! -name '*.xml' | sort ) > "$tmp/tf.names"
( cd "$tmp/ms" && find . -type f -size +0 ! -name '*.jsonl' | sort ) > "$tmp/ms.names"
n=$(comm -3 "$tmp/tf.names" "$tmp/ms.names" | wc -l | tr -d ' ')
[ "$n" -eq 0 ] || echo "streams_check: note: $n file name(s) differ from tcpflow's (content still matched above)"
echo "streams_check: $pass passed, $((missing + extra)) failed"
[ $((missing + extra)) -eq 0 ]
