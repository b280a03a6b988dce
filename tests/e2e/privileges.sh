#!/bin/sh
# Privilege drop on a live capture (-i lo), as tcpdump does it: started as root, moonshark opens the
# interface, loads its scripts, then becomes nobody (or -Z USER, or stays root with
# --no-drop-privileges). Checked from outside: the process's Uid/Gid/Groups lines in
# /proc/PID/status once the first packet (a UDP datagram sent here to 127.0.0.1) was read, and
# that the capture goes on (-c 3 ends it with 3 frames). Also: a root-only script still loads (it
# is read before the drop), streams -o writes into a folder given to nobody, -Z on a capture read
# from stdin, an unknown user, and -Z without root.
# Skips when not root or when lo cannot be captured on.
set -u
: "${MOONSHARK:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "privileges: FAIL $3: got '$1', want '$2'"; fi; }
top=$(cd "$(dirname "$0")/../.." && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "privileges: SKIP: not root (the drop is tested as root on lo)"; echo "privileges: 0 passed, 0 failed"; exit 0
fi
if ! command -v bash > /dev/null 2>&1 || ! getent passwd nobody > /dev/null; then
    echo "privileges: SKIP: needs bash (/dev/udp) and a nobody user"; echo "privileges: 0 passed, 0 failed"; exit 0
fi
if ! "$MOONSHARK" -D 2>/dev/null | grep -q '^[0-9]*\.lo '; then
    echo "privileges: SKIP: no lo interface to capture on"; echo "privileges: 0 passed, 0 failed"; exit 0
fi
port=$((40000 + $$ % 20000))
send() { bash -c "echo moonshark-privileges > /dev/udp/127.0.0.1/$port" 2>/dev/null; }
ids() { # ids PID → "uid uid uid uid / gid gid gid gid / groups" from /proc
    awk '$1 == "Uid:" { u = $2 " " $3 " " $4 " " $5 } $1 == "Gid:" { g = $2 " " $3 " " $4 " " $5 }
         $1 == "Groups:" { $1 = ""; gr = $0; sub(/^ /, "", gr); sub(/ +$/, "", gr) }
         END { print u " / " g " / " gr }' "/proc/$1/status" 2>/dev/null
}
want_ids() { # want_ids USER → the same line for that user (root: this shell's own, groups included)
    if [ "$1" = root ]; then ids $$; return; fi
    u=$(id -u "$1"); g=$(id -g "$1")
    echo "$u $u $u $u / $g $g $g $g / $(id -G "$1" | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')"
}

# live NAME WANT_USER ARGS...: a live capture of 3 datagrams; the ids after the first one
live() {
    name=$1; want=$2; shift 2
    rm -f "$tmp/out" "$tmp/err"   # else the wait below may read the last run's line
    "$MOONSHARK" "$@" -i lo -f "udp port $port and host 127.0.0.1" -c 3 > "$tmp/out" 2> "$tmp/err" &
    pid=$!
    i=0; while [ $i -lt 400 ] && ! grep -q 'capturing on lo' "$tmp/err"; do sleep 0.05; i=$((i + 1)); done
    grep -q 'capturing on lo' "$tmp/err"; check $? 0 "$name: capture started ($(head -n 1 "$tmp/err"))"
    send; sleep 0.3
    got=$(ids $pid)
    got_groups=$(echo "$got" | sed 's|.* / ||' | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
    check "$(echo "$got" | sed 's| / [^/]*$||') / $got_groups" "$(want_ids "$want")" "$name: uid, gid and groups after the first packet"
    i=0; while [ $i -lt 50 ] && kill -0 $pid 2>/dev/null; do send; sleep 0.2; i=$((i + 1)); done
    kill $pid 2>/dev/null
    wait $pid; rc=$?
    check "$rc" 0 "$name: exit status after -c 3"
    check "$(cat "$tmp/out" "$tmp/err" | awk '$1 == "frames" { print $2 }')" 3 "$name: the capture went on after the drop"
}

live "default as root" nobody stats
grep -q 'as user nobody' "$tmp/err"; check $? 0 "default: says it runs as nobody"
daemon_user=$(getent passwd daemon > /dev/null && echo daemon || echo nobody)
live "-Z $daemon_user" "$daemon_user" stats -Z "$daemon_user"
live "--no-drop-privileges" root stats --no-drop-privileges

# a script only root can read is loaded before the drop, so it runs
cp "$top/samples/dns_queries.lua" "$tmp/root_only.lua"; chmod 600 "$tmp/root_only.lua"
live "root-only script" nobody -s "$tmp/root_only.lua" --stats

# streams -o: the folder it makes belongs to nobody, who writes the stream files in it
if command -v python3 > /dev/null 2>&1; then
    chmod 755 "$tmp"   # nobody must reach the folder (mktemp made it root's alone)
    sport=$((port + 1))
    python3 -c "
import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $sport)); s.listen(1); s.settimeout(20); c, _ = s.accept(); c.sendall(c.recv(100).upper()); c.close()" &
    srv=$!
    rm -f "$tmp/err"
    "$MOONSHARK" streams -i lo -f "tcp port $sport" -o "$tmp/streams" > /dev/null 2> "$tmp/err" &
    pid=$!
    i=0; while [ $i -lt 400 ] && ! grep -q 'capturing on lo' "$tmp/err"; do sleep 0.05; i=$((i + 1)); done
    i=0   # the server may not listen yet: a refused connection carries no bytes, try again
    until bash -c "exec 5<>/dev/tcp/127.0.0.1/$sport; echo hello >&5; cat <&5 > /dev/null" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.1
    done
    sleep 0.5; kill -INT $pid; wait $pid; rc=$?
    wait $srv 2>/dev/null
    check "$rc" 0 "streams -o as root: exit status"
    check "$(stat -c %U "$tmp/streams" 2>/dev/null)" nobody "streams -o: the folder is nobody's"
    check "$(cat "$tmp"/streams/*.$(printf %05d $sport) 2>/dev/null)" hello "streams -o: the client's bytes written as nobody"
else
    echo "privileges: SKIP streams -o: no python3 for the little server"
fi

# -Z with a capture on stdin: the drop comes once the input is open
mkfifo "$tmp/fifo"
"$MOONSHARK" stats -Z "$daemon_user" - < "$tmp/fifo" > "$tmp/out" 2> "$tmp/err" &
pid=$!
exec 3> "$tmp/fifo"
head -c 24 "$top/samples/http-loopback.pcap" >&3     # the file header: the source is open
i=0; while [ $i -lt 200 ] && [ "$(ids $pid | cut -d' ' -f2)" != "$(id -u "$daemon_user")" ]; do sleep 0.05; i=$((i + 1)); done
check "$(ids $pid | cut -d' ' -f1-4)" "$(want_ids "$daemon_user" | cut -d' ' -f1-4)" "-Z on a file: uid once the capture is open"
tail -c +25 "$top/samples/http-loopback.pcap" >&3; exec 3>&-
wait $pid; check $? 0 "-Z on a file: exit status"
check "$(awk '$1 == "frames" { print $2 }' "$tmp/out")" 185 "-Z on a file: every frame read"

"$MOONSHARK" stats -Z no-such-user-here "$top/samples/http-loopback.pcap" > /dev/null 2> "$tmp/err"
check $? 2 "-Z unknown user: usage error"
grep -q 'no such user' "$tmp/err"; check $? 0 "-Z unknown user: says so"
"$MOONSHARK" stats -Z nobody --no-drop-privileges "$top/samples/http-loopback.pcap" > /dev/null 2>&1
check $? 2 "-Z with --no-drop-privileges: usage error"
if command -v setpriv > /dev/null 2>&1; then
    setpriv --reuid=65534 --regid=65534 --clear-groups "$MOONSHARK" stats -Z "$daemon_user" \
        "$top/samples/http-loopback.pcap" > "$tmp/out" 2> "$tmp/err"
    check $? 0 "-Z without root: runs"
    grep -q 'ignored: not running as root' "$tmp/err"; check $? 0 "-Z without root: warns"
fi

echo "privileges: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
