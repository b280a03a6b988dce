#!/bin/sh
# `moonshark -s FILE.lua` and `moonshark http` end to end: user parsers over the bundled sample
# capture (records, TSV/JSON/-w DIR), the sandbox and --unsafe-lua, a script error contained to its
# connection and reported with the uid, MOONSHARK_PATH, usage errors, and HTTP found by detect()
# on non-standard ports in ../shared/pcaps (skipped with a message when absent).
set -u
: "${MOONSHARK:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
sample="$top/samples/http-sample.pcap"
manifest="$top/samples/http-sample.manifest.tsv"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "lua_cli: FAIL $3: got '$1', want '$2'"; fi; }

nreq=$(($(wc -l < "$manifest") - 1))

# A reader-style parser: one record per request line, the body skipped from Content-Length.
cat > "$tmp/reqs.lua" <<'LUA'
local p = moonshark.protocol{ name = "reqs", tcp_ports = {80, 8080} }
moonshark.log{ name = "reqs", fields = { {"ts","time"}, {"uid","string"}, {"method","string"}, {"uri","string"} } }
function p.client(r)
  while true do
    if not r:peek(1) then return end
    local ts = r:time()
    local line = r:line(8192); if not line then return end
    local method, uri = line:match("^(%u+) (%S+)")
    local h = r:headers(65536); if not h then return end
    r:skip(tonumber(h["content-length"] or "0") or 0)
    moonshark.emit("reqs", { ts = ts, uid = r.conn.uid, method = method, uri = uri })
  end
end
LUA
"$MOONSHARK" -s "$tmp/reqs.lua" --json "$sample" > "$tmp/out.json" 2> "$tmp/err"; rc=$?
check "$rc" 0 "-s parser exits 0"
check "$(wc -l < "$tmp/out.json" | tr -d ' ')" "$nreq" "one record per request of the manifest"
check "$(tail -n +2 "$manifest" | cut -f5,7 | sort | md5sum)" \
      "$(sed 's/.*"method":"\([^"]*\)","uri":"\([^"]*\)".*/\1\t\2/' "$tmp/out.json" | sort | md5sum)" \
      "method and uri of every request"
check "$(wc -c < "$tmp/err" | tr -d ' ')" 0 "nothing on stderr"

"$MOONSHARK" -s "$tmp/reqs.lua" --tsv "$sample" > "$tmp/out.tsv"; rc=$?
check "$rc" 0 "--tsv exits 0"
check "$(grep -c '^#fields' "$tmp/out.tsv")" 1 "TSV has one #fields header"
check "$(grep -v '^#' "$tmp/out.tsv" | wc -l | tr -d ' ')" "$nreq" "TSV rows"

"$MOONSHARK" -s "$tmp/reqs.lua" -w "$tmp/logs" "$sample" > "$tmp/out.none"; rc=$?
check "$rc" 0 "-w DIR exits 0"
check "$(grep -v '^#' "$tmp/logs/reqs.log" 2>/dev/null | wc -l | tr -d ' ')" "$nreq" "-w DIR writes DIR/reqs.log"

# The sandbox: os.execute is gone unless --unsafe-lua.
cat > "$tmp/exec.lua" <<'LUA'
local p = moonshark.protocol{ name = "x", tcp_ports = {80} }
moonshark.emit("probe", { exec = type(os.execute), popen = type(io.popen), getenv = type(os.getenv) })
LUA
# (one thread: a record emitted while a script loads comes once per worker)
"$MOONSHARK" -s "$tmp/exec.lua" --threads 1 --json "$sample" > "$tmp/out" 2> "$tmp/err"
check "$(cat "$tmp/out")" '{"exec":"nil","getenv":"nil","popen":"nil"}' "sandbox removes os.execute, io.popen, os.getenv"
"$MOONSHARK" -s "$tmp/exec.lua" --threads 1 --unsafe-lua --json "$sample" > "$tmp/out" 2> "$tmp/err"
check "$(cat "$tmp/out")" '{"exec":"function","getenv":"function","popen":"function"}' "--unsafe-lua lifts the sandbox"
printf 'os.execute("touch %s/pwned")\n' "$tmp" > "$tmp/evil.lua"
"$MOONSHARK" -s "$tmp/evil.lua" "$sample" > /dev/null 2> "$tmp/err"; rc=$?
check "$rc" 2 "a script failing at load exits 2"
check "$(wc -l < "$tmp/err" | tr -d ' ')" 1 "one line on stderr for a load error"
check "$(test -e "$tmp/pwned" && echo yes || echo no)" no "os.execute did not run"

# An error in one connection stops that parser only; the run goes on and reports the uid.
cat > "$tmp/fragile.lua" <<'LUA'
local p = moonshark.protocol{ name = "fragile", tcp_ports = {80, 8080} }
local n = 0
function p.client(r)
  local line = r:line(8192); if not line then return end
  n = n + 1
  if n == 3 then error("third connection breaks") end
  moonshark.emit("first", { uid = r.conn.uid })
end
LUA
# (one thread: the counter n spans connections, and each worker would have its own)
"$MOONSHARK" -s "$tmp/fragile.lua" --threads 1 --json "$sample" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "$rc" 0 "a parser error does not fail the run"
nconn=$(tail -n +2 "$manifest" | cut -f1-4 | sort -u | wc -l | tr -d ' ')
check "$(wc -l < "$tmp/out" | tr -d ' ')" "$((nconn - 1))" "every other connection still parsed"
check "$(grep -c 'fragile parser failed in client on connection C[0-9A-Za-z]*: .*third connection breaks' "$tmp/err")" 1 \
      "the error is reported once with the uid"

# MOONSHARK_PATH: every *.lua of each directory is loaded.
mkdir -p "$tmp/path"
# (one protocol per connection: the path parser takes port 8080, http keeps port 80)
sed 's/tcp_ports = {80, 8080}/tcp_ports = {8080}/' "$tmp/reqs.lua" > "$tmp/path/reqs8080.lua"
MOONSHARK_PATH="$tmp/nowhere:$tmp/path" "$MOONSHARK" http -q --json "$sample" > "$tmp/out" 2> "$tmp/err"
n8080=$(tail -n +2 "$manifest" | awk -F'\t' '$4 == 8080' | wc -l | tr -d ' ')
check "$(grep -vc '"trans_depth"' "$tmp/out")" "$n8080" "MOONSHARK_PATH parser takes the port-8080 requests"
check "$(grep -c '"trans_depth"' "$tmp/out")" "$((nreq - n8080))" "http keeps the rest"

# Usage errors.
"$MOONSHARK" -s "$tmp/missing.lua" "$sample" > /dev/null 2> "$tmp/err"; rc=$?
check "$rc" 2 "a missing script exits 2"
echo 'local x = 1' > "$tmp/empty.lua"
"$MOONSHARK" -s "$tmp/empty.lua" "$sample" > /dev/null 2> "$tmp/err"; rc=$?
check "$rc" 2 "a script registering no protocol exits 2"
grep -q 'registered no protocol' "$tmp/err"; check $? 0 "and says so"

# moonshark http on the sample: one record per request.
"$MOONSHARK" http --json "$sample" > "$tmp/http.json" 2> "$tmp/err"; rc=$?
check "$rc" 0 "http exits 0"
check "$(wc -l < "$tmp/http.json" | tr -d ' ')" "$nreq" "http: one record per request"

# Every byte handed to the parsers is accounted for: parsed, skipped in C, or dropped.
account() {
    "$MOONSHARK" http --stats "$1" 2>&1 >/dev/null | awk '/^lua.bytes_(in|parsed|skipped|dropped) /{v[$1]=$2}
        END{print (v["lua.bytes_in"] == v["lua.bytes_parsed"] + v["lua.bytes_skipped"] + v["lua.bytes_dropped"]) ? "balanced" : "off: " v["lua.bytes_in"]}'
}
check "$(account "$sample")" balanced "byte accounting on the sample"

# HTTP on ports outside the port table is found by detect().
PCAPS=${PCAPS:-$top/../shared/pcaps}
if [ -d "$PCAPS" ]; then
    for f in zeek/http/http-lower-case-nonstandard-port.pcap:1234 suricata-verify/http-auth-bearer.pcap:8008 \
             suricata-verify/http-multiple100.pcap:1551 zeek/http/http-post-large.pcap:5000; do
        pcap=${f%:*}; port=${f#*:}
        if [ -f "$PCAPS/$pcap" ]; then
            n=$("$MOONSHARK" http --json "$PCAPS/$pcap" 2>/dev/null | grep -c "\"id.resp_p\":$port,")
            check "$([ "$n" -ge 1 ] && echo found || echo missing)" found "HTTP on port $port ($pcap) found by detect"
        fi
    done
    off=0; n=0
    for pcap in "$PCAPS"/zeek/http/*.pcap; do
        [ -f "$pcap" ] || continue
        n=$((n + 1))
        a=$(account "$pcap")
        if [ "$a" != balanced ]; then off=$((off + 1)); echo "lua_cli: accounting $a on $pcap"; fi
    done
    check "$off" 0 "byte accounting balanced on $n real HTTP captures"
else
    echo "lua_cli: SKIP detect on real captures: $PCAPS not found"
fi

echo "lua_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
