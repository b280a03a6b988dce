#!/bin/sh
# Seeds the fuzz_dns_tls corpus ($1): the TLS handshakes and DNS messages of ../shared/pcaps
# captures (when present: $PCAPS), reassembled by `moonshark streams` and cut into fuzz_dns_tls.c's
# pieces (first byte: 0 TLS, 1 DNS over TCP; then control byte, length byte, data), at most 16
# seeds. Without the captures the corpus starts empty and libFuzzer grows it alone.
corpus=$1
mkdir -p "$corpus"
bin=${MOONSHARK:-build/moonshark}
[ -x "$bin" ] && [ -d "${PCAPS:-}" ] || { echo "fuzz_dns_tls: no seeds (no moonshark binary or captures)"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0
for cap in zeek/tls/tls1_1.pcap zeek/tls/tls-early-alert.pcap suricata-verify/tls-duplicate-hello.pcap \
           zeek/tls/hrr.pcap tcpdump/dns_tcp.pcap zeek/dns/tkey.pcap; do
    [ -f "$PCAPS/$cap" ] || continue
    rm -rf "$tmp/s"; mkdir -p "$tmp/s"
    "$bin" streams -o "$tmp/s" -q "$PCAPS/$cap" > /dev/null 2>&1 || continue
    case $cap in *dns*|*tkey*) kind=1;; *) kind=0;; esac
    for c2s in "$tmp"/s/*; do
        [ -f "$c2s" ] || continue
        python3 - "$c2s" "$corpus/seed$n" "$kind" <<'PY' 2>/dev/null && n=$((n + 1))
import sys
data = open(sys.argv[1], "rb").read()[:4000]
out = bytearray([int(sys.argv[3])])
for i in range(0, len(data), 200):
    piece = data[i:i + 200]
    out += bytes([0, len(piece)]) + piece
open(sys.argv[2], "wb").write(out)
PY
        [ $n -ge 16 ] && break 2
    done
done
echo "fuzz_dns_tls: $n seeds"
