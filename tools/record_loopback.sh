#!/bin/sh
# record_loopback.sh OUT.pcap — records real HTTP/1.1 traffic over the loopback interface:
# a Python http.server (HTTP/1.1 keep-alive, dual-stack, plus a small POST handler) on
# 127.0.0.1/::1 port $PORT (default 8080) and a scripted set of curl requests (keep-alive
# reuse, HEAD, 404, conditional GET → 304, POST form, POST with Expect: 100-continue, a chunked
# response, three pipelined requests from a small Python client, IPv6),
# captured with tcpdump on "lo". Needs root (or capture rights), tcpdump, python3 and curl.
# The recording is real traffic, so timestamps, ports and sequence numbers differ per run.
set -eu
out=${1:?usage: record_loopback.sh OUT.pcap}
port=${PORT:-8080}
for tool in tcpdump python3 curl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "record_loopback: $tool not found (apt-get install $tool)" >&2; exit 2; }
done
tmp=$(mktemp -d)
srv_pid=; dump_pid=
cleanup() {
    [ -n "$dump_pid" ] && kill "$dump_pid" 2>/dev/null || true
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# Content the server hands out: a few sizes, from empty to a couple of hundred KB.
mkdir -p "$tmp/www/static" "$tmp/www/api"
printf '<!doctype html><title>moonshark</title><p>hello from loopback</p>\n' > "$tmp/www/index.html"
: > "$tmp/www/empty.txt"
python3 -c 'import sys; sys.stdout.write("".join("line %05d of the style sheet\n" % i for i in range(400)))' > "$tmp/www/static/site.css"
python3 -c 'import sys; sys.stdout.write("".join("var v%05d = %d;\n" % (i, i * 7) for i in range(9000)))' > "$tmp/www/static/app.js"
printf '{"users":[{"id":1,"name":"ada"},{"id":2,"name":"linus"}]}\n' > "$tmp/www/api/users.json"

cat > "$tmp/server.py" <<'EOF'
import http.server, socket, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"          # keep-alive: several requests per connection
    def log_message(self, *a): pass
    def do_GET(self):
        if not self.path.startswith("/chunked"):
            return super().do_GET()
        self.send_response(200)                 # a streamed body: Transfer-Encoding: chunked
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(5):
            data = ("chunk %d of a streamed response\n" % i).encode() * (i + 1)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        reply = ("received %d bytes\n" % len(body)).encode()
        self.send_response(201 if self.path.startswith("/api/") else 200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
class DualStack(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
root, port = sys.argv[1], int(sys.argv[2])
handler = lambda *a, **k: Handler(*a, directory=root, **k)
DualStack(("::", port), handler).serve_forever()
EOF

python3 "$tmp/server.py" "$tmp/www" "$port" &
srv_pid=$!
# the server first (its readiness probes stay out of the capture), then tcpdump
i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/empty.txt" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "record_loopback: the HTTP server did not start on port $port" >&2; exit 1; }
    sleep 0.1
done
tcpdump -i lo --immediate-mode -U -s 0 -w "$out" "tcp port $port" 2> "$tmp/tcpdump.err" &
dump_pid=$!
i=0
until grep -q 'listening on' "$tmp/tcpdump.err" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "record_loopback: tcpdump did not start:" >&2; cat "$tmp/tcpdump.err" >&2; exit 1; }
    sleep 0.1
done
sleep 0.2

u=http://127.0.0.1:$port
c="curl -s --fail-early -o /dev/null"
# keep-alive: several requests over one connection
$c "$u/empty.txt"
$c "$u/" -o /dev/null "$u/index.html" -o /dev/null "$u/static/site.css" -o /dev/null "$u/static/app.js"
# HEAD, a missing page, a conditional GET answered 304
curl -s -I "$u/static/app.js" > /dev/null
$c "$u/no/such/page.html" || true
$c -H 'If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT' "$u/static/site.css"
# form POST, JSON POST, and a larger POST that waits for 100 Continue
$c -d 'user=ada&password=hunter2' "$u/login"
$c -H 'Content-Type: application/json' --data-binary '{"name":"grace","role":"admin"}' "$u/api/users"
python3 -c 'import sys; sys.stdout.write("x" * 40000)' > "$tmp/upload.bin"
$c -H 'Expect: 100-continue' --data-binary "@$tmp/upload.bin" "$u/api/upload"
# a chunked response, and three pipelined requests on one connection (curl cannot pipeline)
$c "$u/chunked?n=5"
python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
reqs = [b"GET /index.html HTTP/1.1\r\nHost: pipeline.test\r\nUser-Agent: pipeline/1\r\n\r\n",
        b"HEAD /static/site.css HTTP/1.1\r\nHost: pipeline.test\r\nUser-Agent: pipeline/1\r\n\r\n",
        b"GET /api/users.json HTTP/1.1\r\nHost: pipeline.test\r\nUser-Agent: pipeline/1\r\n"
        b"Connection: close\r\n\r\n"]
s.sendall(b"".join(reqs))
while s.recv(65536):
    pass
s.close()
PY
# query strings and the same server over IPv6
$c "$u/api/users.json?page=2&sort=name" -o /dev/null "$u/empty.txt"
$c -g "http://[::1]:$port/index.html" -o /dev/null "http://[::1]:$port/api/users.json"

sleep 1.5  # let the last packets reach the savefile
kill -INT "$dump_pid"; wait "$dump_pid" 2>/dev/null || true; dump_pid=
kill "$srv_pid"; wait "$srv_pid" 2>/dev/null || true; srv_pid=
chown "$(id -u):$(id -g)" "$out" 2>/dev/null || true  # tcpdump drops to its own user
echo "record_loopback: wrote $out ($(wc -c < "$out") bytes)"
