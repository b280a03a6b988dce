#!/bin/sh
# --threads N gives the records of one thread: the same set of lines (uids included, under one
# --seed), the same exit status and the same --stats counters (but those that depend on how the
# work is split: Lua calls and memory, page peaks, the pipeline's own lines), with 1, 2 and 4
# threads, on every capture in ../shared/pcaps (256 at a time per run, as one run reads them)
# and on captures made here (tools/gen_capture; ../shared/peers/gen_http_pcap.py when present).
# Env: MOONSHARK (binary), PCAPS (captures dir), BUILD_DIR (for gen_capture), TSAN_BATCHES (only
# the first N batches of ../shared/pcaps: `make tsan`).
top=$(cd "$(dirname "$0")/../.." && pwd)
MOONSHARK=${MOONSHARK:-$top/build/moonshark}
PCAPS=${PCAPS:-$top/../shared/pcaps}
BUILD_DIR=${BUILD_DIR:-$top/build}
PEERS=${PEERS:-$top/../shared/peers}
if [ ! -x "$MOONSHARK" ]; then
    echo "threads_identical: SKIP: moonshark binary not found at $MOONSHARK (make first)"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0; records=0

# stats FILE: the counters that do not depend on the split (lua.mime_libmagic does: each worker's
# runtime keeps its own cache of the last bodies typed)
stats() {
    grep -v -e '^lua\.calls ' -e '^lua\.mem_' -e '^lua\.mime_libmagic ' -e '^tcp\.pages_peak ' \
        -e '^pipeline\.' "$1" | grep -v '^moonshark:'
}

# check NAME ARGS...: runs `moonshark http --tsv --seed 7 ARGS` with 1, 2 and 4 threads
check() {
    name=$1; shift
    for t in 1 2 4; do
        "$MOONSHARK" http --tsv --seed 7 --no-progress --stats --threads $t "$@" >"$tmp/out.$t" 2>"$tmp/err.$t"
        echo $? >"$tmp/rc.$t"
        grep -av "^#" "$tmp/out.$t" | LC_ALL=C sort >"$tmp/rec.$t"
        grep -ac "^#fields" "$tmp/out.$t" >"$tmp/hdr.$t"
        stats "$tmp/err.$t" | grep -E '^[a-z_.]+ [0-9]+$' >"$tmp/st.$t"
    done
    ok=1
    if grep -l 'ThreadSanitizer' "$tmp"/err.* >/dev/null 2>&1; then
        ok=0
        echo "threads_identical: FAIL $name: ThreadSanitizer report"
        grep -h -A12 'WARNING: ThreadSanitizer' "$tmp"/err.* | head -n 30 | sed 's/^/    /'
    fi
    for t in 2 4; do
        for what in rec rc hdr st; do
            if ! cmp -s "$tmp/$what.1" "$tmp/$what.$t"; then
                ok=0
                echo "threads_identical: FAIL $name: $what differs with --threads $t"
                diff "$tmp/$what.1" "$tmp/$what.$t" | head -n 6 | sed 's/^/    /'
            fi
        done
    done
    if [ $ok = 1 ]; then
        pass=$((pass + 1))
        records=$((records + $(wc -l <"$tmp/rec.1")))
    else
        fail=$((fail + 1))
    fi
}

# made here: reordered, retransmitted, IPv6 and VLAN connections
if [ -x "$BUILD_DIR/tools/gen_capture" ]; then
    "$BUILD_DIR/tools/gen_capture" -o "$tmp/gen1.pcap" --size 6M --seed 3 --conns 200 --ooo 5 --retrans 3 >/dev/null 2>&1
    "$BUILD_DIR/tools/gen_capture" -o "$tmp/gen2.pcap" --size 3M --seed 4 --conns 32 --v6 50 --vlan 50 >/dev/null 2>&1
    check gen_capture-ooo-retrans "$tmp/gen1.pcap"
    check gen_capture-v6-vlan "$tmp/gen2.pcap"
    check gen_capture-two-files "$tmp/gen1.pcap" "$tmp/gen2.pcap"
else
    echo "threads_identical: SKIP generated captures: $BUILD_DIR/tools/gen_capture not built"
fi
if [ -f "$PEERS/gen_http_pcap.py" ] && command -v python3 >/dev/null 2>&1; then
    python3 "$PEERS/gen_http_pcap.py" --bytes 4M --seed 2 --ooo 0.02 --dup 0.005 --mid 0.05 --rst 0.05 \
        -o "$tmp/peers.pcap" >/dev/null 2>&1
    check gen_http_pcap "$tmp/peers.pcap"
else
    echo "threads_identical: SKIP gen_http_pcap.py capture: $PEERS not found"
fi

# every capture of ../shared/pcaps, 256 per run
if [ -d "$PCAPS" ]; then
    find "$PCAPS" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | LC_ALL=C sort >"$tmp/all"
    split -l 256 "$tmp/all" "$tmp/batch."
    if [ -n "$TSAN_BATCHES" ]; then # the sanitizer run: the first batches only (time)
        ls "$tmp"/batch.* | tail -n +$((TSAN_BATCHES + 1)) | xargs rm -f
        head -n $((TSAN_BATCHES * 256)) "$tmp/all" >"$tmp/all.some" && mv "$tmp/all.some" "$tmp/all"
    fi
    ncap=$(wc -l <"$tmp/all")
    for b in "$tmp"/batch.*; do
        # shellcheck disable=SC2046
        check "$(basename "$b") of ../shared/pcaps" $(cat "$b")
    done
    echo "threads_identical: $ncap captures of $PCAPS compared in $(ls "$tmp"/batch.* | wc -l) runs"
else
    echo "threads_identical: SKIP ../shared/pcaps: captures not found at $PCAPS"
fi
echo "threads_identical: $records records identical with 1, 2 and 4 threads"
echo "threads_identical: $pass passed, $fail failed"
[ $fail -eq 0 ]
