#!/usr/bin/env python3
"""redis_monitor.py MONITOR.txt RECORDS.json — compares the Redis commands moonshark logged
(samples/redis_commands.lua, JSON lines) with what the server itself saw (its MONITOR output,
written while the capture was recorded: tools/record_redis.sh). Each command the server ran is
(client port, name, argument count, first argument); every one must be in the log, as many
times. Log records the server never ran (unknown commands, commands MONITOR does not show) are
counted and listed. Prints one summary line; exit 1 on a missing command."""
import collections
import json
import re
import sys

ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x" and i + 3 < len(s):
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b"}.get(n, n.encode())
            i += 2
            continue
        out += c.encode()
        i += 1
    return out.decode("utf-8", "replace")


def main():
    mon = collections.Counter()
    for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
        m = re.match(r"^\d+\.\d+ \[\d+ [\d.]+:(\d+)\] (.*)$", line.rstrip("\n"))
        if not m:
            continue
        args = [unescape(a) for a in ARG.findall(m.group(2))]
        if not args:
            continue
        key = args[1][:64] if len(args) > 1 else None
        mon[(int(m.group(1)), args[0].upper(), len(args) - 1, key)] += 1
    logged = collections.Counter()
    for line in open(sys.argv[2], encoding="utf-8"):
        r = json.loads(line)
        if "command" not in r:
            continue  # pushes
        logged[(r["id.orig_p"], r["command"], r["args"], r.get("key"))] += 1
    missing = mon - logged
    extra = logged - mon
    found = sum((mon & logged).values())
    print(f"redis_monitor: {found} of {sum(mon.values())} commands the server ran are in the log; "
          f"{sum(missing.values())} missing; {sum(extra.values())} logged commands the server's MONITOR "
          f"does not show: {sorted(set(k[1] for k in extra))}")
    for k in sorted(missing):
        print(f"redis_monitor: MISSING port {k[0]} {k[1]} args={k[2]} key={k[3]!r} x{missing[k]}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
