#!/bin/sh
# http.log's body fields against Zeek's baselines (tests/e2e/http_mime.py): mime types told from
# each body's first bytes agree for at least 95 % of the fields (measured 55 of 56), file names,
# file counts and password too; the #fields line holds Zeek's fields in Zeek's order. Then on
# the project's own sample: #open / #close in TSV, gzip'd bodies typed after inflating, and
# --stats counting the bodies typed.
set -u
: "${MOONSHARK:?}"
PCAPS=${PCAPS:-$(dirname "$0")/../../../shared/pcaps}
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "http_mime: FAIL $3: got '$1', want '$2'"; fi; }

if [ -d "$PCAPS/zeek" ] && command -v python3 > /dev/null 2>&1; then
    python3 "$top/tests/e2e/http_mime.py" "$MOONSHARK" "$PCAPS" > "$tmp/out"; rc=$?
    grep -v '^http_mime: [0-9]* passed' "$tmp/out"
    check "$rc" 0 "body fields agree with Zeek's baselines"
else
    echo "http_mime: SKIP Zeek baselines: $PCAPS/zeek or python3 missing"
fi

cap=$top/samples/http-sample.pcap
"$MOONSHARK" http -w "$tmp/logs" "$cap"
check "$(grep -c '^#open	[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]-[0-9][0-9]-[0-9][0-9]-[0-9][0-9]$' "$tmp/logs/http.log")" 1 "the TSV log has Zeek's #open line"
check "$(tail -1 "$tmp/logs/http.log" | cut -f1)" "#close" "the TSV log ends with Zeek's #close line"
check "$(sed -n 6p "$tmp/logs/http.log" | cut -f1)" "#open" "#open comes after #path, as in Zeek"
"$MOONSHARK" http --tsv --stats "$cap" > /dev/null 2> "$tmp/stats"
sniffed=$(grep '^lua.mime_sniffed ' "$tmp/stats" | cut -d' ' -f2)
typed=$(grep '^lua.mime_typed ' "$tmp/stats" | cut -d' ' -f2)
withtype=$("$MOONSHARK" http --json "$cap" | grep -c '_mime_types')
test "$sniffed" -gt 0 && test "$typed" -le "$sniffed"; check $? 0 "--stats counts the bodies looked at and typed"
test "$typed" -ge "$withtype"; check $? 0 "every logged type was counted"

# a gzip'd and a plain body of the same HTML, and a PNG: the types come from the bytes
if command -v python3 > /dev/null 2>&1; then
    python3 - "$tmp/bodies.pcap" << 'PYEOF'
import gzip, struct, sys
html = b"<!DOCTYPE html>\n<html><head><title>t</title></head><body>" + b"x" * 300 + b"</body></html>\n"
png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa" + bytes(200)
bodies = [(b"", html), (b"Content-Encoding: gzip\r\n", gzip.compress(html)), (b"", png),
          (b"Content-Disposition: attachment; filename=\"pic.png\"\r\n", png), (b"", b'{"a": [1, 2]}')]
out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101)]  # raw IP link type
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b + b"\0" * (len(b) % 2)))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
t = 1700000000
def pkt(src, dst, sp, dp, seq, ack, flags, data):
    global t
    tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    t += 1
    out.append(struct.pack("<IIII", t, 0, len(ip) + len(tcp), len(ip) + len(tcp)) + ip + tcp)
c, s = [10, 0, 0, 1], [10, 0, 0, 2]
for i, (hdr, body) in enumerate(bodies):
    cp = 40000 + i
    req = b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i
    resp = b"HTTP/1.1 200 OK\r\n" + hdr + b"Content-Length: %d\r\n\r\n" % len(body) + body
    pkt(c, s, cp, 80, 1000, 0, 0x02, b"")
    pkt(s, c, 80, cp, 5000, 1001, 0x12, b"")
    pkt(c, s, cp, 80, 1001, 5001, 0x18, req)
    pkt(s, c, 80, cp, 5001, 1001 + len(req), 0x18, resp)
    pkt(c, s, cp, 80, 1001 + len(req), 5001 + len(resp), 0x11, b"")
    pkt(s, c, 80, cp, 5001 + len(resp), 1002 + len(req), 0x11, b"")
open(sys.argv[1], "wb").write(b"".join(out))
PYEOF
    "$MOONSHARK" http --tsv -e uri,resp_mime_types,resp_filenames "$tmp/bodies.pcap" | grep -v '^#' | sort > "$tmp/types"
    check "$(tr '\t\n' ' |' < "$tmp/types")" "/0 text/html -|/1 text/html -|/2 image/png -|/3 image/png pic.png|/4 text/json -|" \
        "types from the bytes: HTML, gzip'd HTML, PNG (libmagic), a file name, JSON as Zeek names it"
fi
echo "http_mime: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
