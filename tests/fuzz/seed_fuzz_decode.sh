#!/bin/sh
# Seeds the fuzz_decode corpus ($1) with frames of a sample of the shared captures ($PCAPS).
# Called by tests/fuzz/run.sh with CC, FUZZ_DIR set.
corpus=$1
[ -d "$PCAPS" ] || { echo "fuzz_decode: no seeds: $PCAPS not found"; exit 0; }
"$CC" -O1 -o "$FUZZ_DIR/seed_frames" tests/fuzz/seed_frames.c -lpcap || exit 1
# a spread of link types and tunnels; at most 20 frames from each of ~150 files
find "$PCAPS" \( -name '*.pcap' -o -name '*.pcapng' \) | sort | awk 'NR % 15 == 1' > "$FUZZ_DIR/seed_list"
n=$(xargs "$FUZZ_DIR/seed_frames" "$corpus" 20 < "$FUZZ_DIR/seed_list" | awk '{ s += $1 } END { print s + 0 }')
echo "fuzz_decode: $n seed frames"
