#!/bin/sh
# record_redis.sh OUT.pcap — records real Redis (RESP) traffic over the loopback interface: a
# private redis-server (no persistence, in a temporary directory) on 127.0.0.1 port $PORT
# (default 6379) and a scripted set of clients: redis-cli commands of every reply type (simple,
# error, integer, bulk, null, array), a 70 KB value set and read back, MULTI/EXEC, a binary value
# holding CRLF, 40 pipelined commands, inline commands, a command written one byte per segment,
# RESP3 (HELLO 3: maps, sets, doubles, booleans, client-side caching invalidation pushes), and
# pub/sub in RESP2 and RESP3 (SUBSCRIBE two channels, PSUBSCRIBE, messages, UNSUBSCRIBE all),
# captured with tcpdump on "lo". Beside OUT.pcap it writes OUT.monitor.txt: what the server's
# MONITOR saw (one line per command it ran: time, client address, the arguments), from a client
# on port $MONITOR_PORT (default 46379) left out of the capture: the truth the parser's log is
# checked against. Needs root (or capture rights), tcpdump, redis-server and python3
# (apt-get install redis-server tcpdump). Real traffic: times and ports differ per run.
set -eu
out=${1:?usage: record_redis.sh OUT.pcap}
port=${PORT:-6379}
mport=${MONITOR_PORT:-46379}
for tool in tcpdump redis-server redis-cli python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "record_redis: $tool not found (apt-get install redis-server tcpdump)" >&2; exit 2; }
done
tmp=$(mktemp -d)
srv_pid=; dump_pid=; mon_pid=
cleanup() {
    [ -n "$dump_pid" ] && kill "$dump_pid" 2>/dev/null || true
    [ -n "$mon_pid" ] && kill "$mon_pid" 2>/dev/null || true
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" --daemonize no \
    --logfile "$tmp/redis.log" &
srv_pid=$!
i=0
until redis-cli -p "$port" ping >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "record_redis: redis-server did not start on port $port" >&2; exit 1; }
    sleep 0.1
done
# the oracle: MONITOR from a fixed local port, which the capture filter leaves out
python3 - "$port" "$mport" "$out.monitor.txt" <<'PY' &
import socket, sys
port, mport, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", mport))
s.connect(("127.0.0.1", port))
s.sendall(b"MONITOR\r\n")
f = s.makefile("rb")
with open(path, "wb") as out:
    assert f.readline() == b"+OK\r\n"
    open(path + ".ready", "w").close()
    for line in f:
        if line.startswith(b"+"):
            out.write(line[1:].rstrip(b"\r\n") + b"\n")
            out.flush()
PY
mon_pid=$!
i=0
until [ -f "$out.monitor.txt.ready" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "record_redis: MONITOR did not start" >&2; exit 1; }
    sleep 0.1
done
rm -f "$out.monitor.txt.ready"
tcpdump -i lo --immediate-mode -U -s 0 -w "$out" "tcp port $port and not port $mport" 2> "$tmp/tcpdump.err" &
dump_pid=$!
i=0
until grep -q 'listening on' "$tmp/tcpdump.err" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "record_redis: tcpdump did not start:" >&2; cat "$tmp/tcpdump.err" >&2; exit 1; }
    sleep 0.1
done
sleep 0.2

r="redis-cli -p $port"
# one connection per redis-cli call: every RESP2 reply type
$r SET greeting "hello from loopback" > /dev/null
$r GET greeting > /dev/null
$r GET no:such:key > /dev/null
$r INCR counter > /dev/null
$r INCRBY counter 41 > /dev/null
$r RPUSH list a b c > /dev/null
$r LRANGE list 0 -1 > /dev/null
$r HSET user:1 name ada lang lua > /dev/null
$r HGETALL user:1 > /dev/null
$r INCR list > /dev/null 2>&1 || true     # WRONGTYPE error
$r NOSUCHCOMMAND x > /dev/null 2>&1 || true
$r MGET greeting no:such:key counter > /dev/null
# a 70 KB value (spans segments on lo, whose MTU is 64 KB), a binary value with CRLF inside, a transaction
python3 -c 'import sys; sys.stdout.write("v" * 70000)' > "$tmp/big.txt"
$r -x SET big < "$tmp/big.txt" > /dev/null
$r GET big > /dev/null
printf 'a\r\nb\000c' | $r -x SET bin > /dev/null
$r GET bin > /dev/null

python3 - "$port" <<'PY'
import socket, sys, time, threading
port = int(sys.argv[1])

def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

def conn():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def drain(s, quiet=0.3):
    s.settimeout(quiet)
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except socket.timeout:
        pass
    return data

# a transaction
s = conn()
for c in (resp("MULTI"), resp("SET", "tx:a", "1"), resp("INCR", "tx:a"), resp("GET", "tx:a"), resp("EXEC")):
    s.sendall(c); drain(s, 0.05)
s.close()

# 40 pipelined commands in one write, then the replies
s = conn()
s.sendall(b"".join(resp("GET", "pipe:%d" % (i - 1)) if i % 2 else resp("SET", "pipe:%d" % i, "x" * (i + 1))
                   for i in range(40)))
drain(s)
s.close()

# inline commands (as typed into telnet), one of them split over two writes
s = conn()
s.sendall(b"PING\r\nECHO hello\r\n"); drain(s, 0.1)
s.sendall(b"EXISTS gree"); time.sleep(0.05); s.sendall(b"ting\r\n"); drain(s, 0.1)
s.close()

# a command written one byte per segment
s = conn()
for b in resp("SET", "slow", "one byte at a time"):
    s.send(bytes([b])); time.sleep(0.002)
drain(s, 0.1)
s.close()

# RESP3: maps, sets, doubles, booleans, and client-side caching (an invalidation push)
s = conn()
for c in (resp("HELLO", "3"), resp("HGETALL", "user:1"), resp("SADD", "tags", "red", "green"),
          resp("SMEMBERS", "tags"), resp("ZADD", "scores", "1.5", "ada"), resp("ZSCORE", "scores", "ada"),
          resp("CLIENT", "TRACKING", "on"), resp("GET", "greeting")):
    s.sendall(c); drain(s, 0.05)
o = conn(); o.sendall(resp("SET", "greeting", "changed")); drain(o, 0.1); o.close()
drain(s, 0.2)
s.sendall(resp("PING")); drain(s, 0.1)
s.close()

# pub/sub, RESP2 and RESP3 subscribers; messages published from a third connection
sub2 = conn(); sub3 = conn()
sub2.sendall(resp("SUBSCRIBE", "news", "sport")); drain(sub2, 0.1)
sub2.sendall(resp("PSUBSCRIBE", "log.*")); drain(sub2, 0.1)
sub3.sendall(resp("HELLO", "3")); drain(sub3, 0.1)
sub3.sendall(resp("SUBSCRIBE", "news")); drain(sub3, 0.1)
pub = conn()
for ch, msg in (("news", "moonshark 0.1 is out"), ("sport", "2-1"), ("log.web", "GET /"), ("news", "bye")):
    pub.sendall(resp("PUBLISH", ch, msg)); drain(pub, 0.05)
pub.close()
drain(sub2, 0.2); drain(sub3, 0.2)
sub2.sendall(resp("UNSUBSCRIBE")); drain(sub2, 0.1)
sub2.sendall(resp("PUNSUBSCRIBE")); drain(sub2, 0.1)
sub2.sendall(resp("PING")); drain(sub2, 0.1)
sub3.sendall(resp("UNSUBSCRIBE", "news")); drain(sub3, 0.1)
sub2.close(); sub3.close()
PY

sleep 1  # let the last packets reach the savefile
kill -INT "$dump_pid"; wait "$dump_pid" 2>/dev/null || true; dump_pid=
kill "$mon_pid" 2>/dev/null; wait "$mon_pid" 2>/dev/null || true; mon_pid=
kill "$srv_pid"; wait "$srv_pid" 2>/dev/null || true; srv_pid=
chown "$(id -u):$(id -g)" "$out" 2>/dev/null || true  # tcpdump drops to its own user
echo "record_redis: wrote $out ($(wc -c < "$out") bytes) and $out.monitor.txt ($(wc -l < "$out.monitor.txt") commands)"
