#!/bin/sh
# Generated-capture correctness: tools/gen_capture writes a ~20 MB capture of interleaved HTTP/1.1
# connections (2% out-of-order and 1% duplicated segments, IPv6, VLAN, pipelining, chunked,
# 100-continue, HEAD/204/304) and a manifest of every request it wrote; `moonshark http --json`
# must log each of them once with the right method, host, uri and status, and nothing else.
# The same check runs on the committed samples/http-sample.pcap against its committed manifest.
# Env: MOONSHARK (binary), BUILD_DIR (where tools/gen_capture is; default: beside MOONSHARK),
# GEN_SIZE (default 20M), GEN_SEED (default 7). Needs python3 (SKIPs without it).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
MOONSHARK=${MOONSHARK:-$top/build/moonshark}
BUILD_DIR=${BUILD_DIR:-$(dirname "$MOONSHARK")}
gen=$BUILD_DIR/tools/gen_capture
if [ ! -x "$MOONSHARK" ]; then
    echo "generated_http: SKIP: moonshark binary not found at $MOONSHARK (make first)"; exit 0
fi
if [ ! -x "$gen" ]; then
    echo "generated_http: SKIP: generator not found at $gen (make tools)"; exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "generated_http: SKIP: python3 not found"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if ! "$gen" -o "$tmp/gen.pcap" --manifest "$tmp/gen.tsv" --size "${GEN_SIZE:-20M}" \
        --seed "${GEN_SEED:-7}" --ooo 2 --retrans 1 2> "$tmp/gen.err"; then
    echo "generated_http: FAIL: gen_capture failed: $(cat "$tmp/gen.err")"
    echo "generated_http: 0 passed, 1 failed"; exit 1
fi
# The generator's own bytes, read back by tcpflow and an independent parse (when installed), so a
# failure below is moonshark's and not the generator's.
if command -v tcpflow >/dev/null 2>&1; then
    tcpflow -r "$tmp/gen.pcap" -o "$tmp/tcpflow" > /dev/null 2>&1 &&
        python3 "$top/tests/e2e/generated_manifest.py" tcpflow "$tmp/gen.tsv" "$tmp/tcpflow" \
            generator_selfcheck | tail -n 1
    rm -rf "$tmp/tcpflow"
fi
# The committed sample and its manifest (a fixed fixture: it does not move when the generator does).
sample_ok=0
if [ -f "$top/samples/http-sample.pcap" ] && [ -f "$top/samples/http-sample.manifest.tsv" ]; then
    "$MOONSHARK" http --json "$top/samples/http-sample.pcap" > "$tmp/sample.json" 2> "$tmp/sample.err" ||
        echo "generated_http: FAIL: moonshark http on samples/http-sample.pcap: $(head -n 2 "$tmp/sample.err")"
    python3 "$top/tests/e2e/generated_manifest.py" log "$top/samples/http-sample.manifest.tsv" \
        "$tmp/sample.json" generated_http_sample > "$tmp/sample.out" || sample_ok=1
    grep -v 'note:' "$tmp/sample.out"
fi
"$MOONSHARK" http --json "$tmp/gen.pcap" > "$tmp/http.json" 2> "$tmp/http.err"; rc=$?
if [ $rc -ne 0 ]; then
    echo "generated_http: FAIL: moonshark http exited $rc: $(head -n 3 "$tmp/http.err")"
fi
python3 "$top/tests/e2e/generated_manifest.py" log "$tmp/gen.tsv" "$tmp/http.json" generated_http
ok=$?
[ $rc -eq 0 ] && [ $ok -eq 0 ] && [ $sample_ok -eq 0 ]
