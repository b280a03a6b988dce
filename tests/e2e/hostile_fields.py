#!/usr/bin/env python3
"""Hostile bytes in every logged HTTP field, through the whole path (capture -> TCP -> http.lua
-> output): each JSON line must parse, each TSV row must have one cell per #fields name, hold no
control byte but its tabs and be valid UTF-8; and each field must be the wire bytes rendered by
the documented rules, written here a second time, independently of engine/output/output.c:
  JSON: valid UTF-8 passes; '"' '\\' and controls are JSON escapes; every byte not part of a
        valid UTF-8 sequence is the text \\xNN (Zeek's JSON logs).
  TSV:  controls, DEL, '\\' (and ',' inside a set) and every byte not part of a valid UTF-8
        sequence are \\xNN; valid UTF-8 passes; "" is (empty) and a lone "-" is \\x2d (Zeek's
        ASCII logs with LogAscii::enable_utf_8).
usage: hostile_fields.py MOONSHARK TMPDIR"""
import base64
import json
import struct
import subprocess
import sys


def utf8_len(b, i):
    """Length of the valid UTF-8 sequence at b[i], 0 when there is none (Python's strict codec)."""
    for n in (2, 3, 4):
        try:
            b[i:i + n].decode("utf-8")
            return n
        except UnicodeDecodeError:
            continue
    return 0


def render_json(b):
    out, i = [], 0
    while i < len(b):
        c = b[i]
        n = utf8_len(b, i) if c >= 0x80 else 1
        if c >= 0x80 and n:
            out.append(b[i:i + n].decode("utf-8"))
            i += n
            continue
        out.append("\\x%02x" % c if c >= 0x80 else chr(c))
        i += 1
    return "".join(out)  # the decoded JSON value: escapes of '"', '\\', controls are JSON's own


def render_tsv(b, in_set=False):
    if b == b"":
        return "(empty)"
    if b == b"-":
        return "\\x2d"
    out, i = [], 0
    while i < len(b):
        c = b[i]
        n = utf8_len(b, i) if c >= 0x80 else 0
        if n:
            out.append(b[i:i + n].decode("utf-8"))
            i += n
            continue
        if c < 0x20 or c >= 0x7f or c == 0x5c or (in_set and c == 0x2c):
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
        i += 1
    return "".join(out)


ALL = bytes(range(256))
NO_CRLF = bytes(c for c in ALL if c not in b"\r\n")
# the pieces: every byte a header value may hold; invalid UTF-8 of each kind next to valid UTF-8;
# text that looks like an escape; separators of both formats; a lone '-'
VALUES = [
    b"a" + NO_CRLF + b"z",
    b"a\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82|\x80|\xff\xfe|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z",
    b"a\\x41 \\u0000 \\\\ \"q\" z",
    b"a\tb,c\x1bd\x7fz",
    b"-",
]


def uri_of(v):
    return b"/" + bytes(c for c in v if c not in b" \t")  # the request line splits at blanks


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b + b"\0" * (len(b) % 2)))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def write_pcap(path, conns):
    out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 101)]  # raw IPv4
    t = [1700000000]

    def pkt(src, dst, sp, dp, seq, ack, flags, data):
        tcp = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, bytes(src), bytes(dst))
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        t[0] += 1
        out.append(struct.pack("<IIII", t[0], 0, len(ip) + len(tcp), len(ip) + len(tcp)) + ip + tcp)

    c, s = [10, 0, 0, 1], [10, 0, 0, 2]
    for k, (req, resp) in enumerate(conns):
        cp = 30000 + k
        pkt(c, s, cp, 80, 0, 0, 0x02, b"")
        pkt(s, c, 80, cp, 0, 1, 0x12, b"")
        pkt(c, s, cp, 80, 1, 1, 0x10, b"")
        seq = 1
        for off in range(0, len(req), 1400):
            pkt(c, s, cp, 80, seq, 1, 0x18, req[off:off + 1400])
            seq += len(req[off:off + 1400])
        pkt(s, c, 80, cp, 1, seq, 0x18, resp)
        pkt(c, s, cp, 80, seq, 1 + len(resp), 0x11, b"")
        pkt(s, c, 80, cp, 1 + len(resp), seq + 1, 0x11, b"")
        pkt(c, s, cp, 80, seq + 1, 2 + len(resp), 0x10, b"")
    with open(path, "wb") as f:
        f.write(b"".join(out))


def main():
    moonshark, tmp = sys.argv[1], sys.argv[2]
    conns, want = [], []
    for v in VALUES:
        user, password = b"u" + v.replace(b":", b""), v  # Basic auth: the user ends at the first ':'
        fname = bytes(c for c in v if c != 0x22)  # a quoted filename ends at '"'
        req = (b"GET " + uri_of(v) + b" HTTP/1.1\r\nHost: " + v + b"\r\nUser-Agent: " + v +
               b"\r\nReferer: " + v + b"\r\nOrigin: " + v + b"\r\nAuthorization: Basic " +
               base64.b64encode(user + b":" + password) + b"\r\n\r\n")
        body = b"hello"
        resp = (b"HTTP/1.1 200 " + v + b"\r\nContent-Disposition: attachment; filename=\"" + fname +
                b"\"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        conns.append((req, resp))
        want.append({"uri": uri_of(v), "host": v, "user_agent": v, "referrer": v, "origin": v,
                     "status_msg": v, "username": user, "resp_filenames": [fname]})
    cap = tmp + "/hostile_fields.pcap"
    write_pcap(cap, conns)

    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("hostile_fields: FAIL " + what)

    js = subprocess.run([moonshark, "http", "--json", "--threads", "1", cap], capture_output=True)
    check(js.returncode == 0, "moonshark http --json exits 0: %r" % js.stderr[:300])
    lines = js.stdout.split(b"\n")
    check(lines[-1] == b"", "the JSON output ends with a newline")
    recs = []
    for ln in lines[:-1]:
        try:
            ln.decode("utf-8")
            recs.append(json.loads(ln))
        except (UnicodeDecodeError, ValueError) as e:
            check(False, "a JSON line is not UTF-8 JSON (%s): %r" % (e, ln[:120]))
    check(len(recs) == len(want), "one record per request: %d of %d" % (len(recs), len(want)))
    for k, (r, w) in enumerate(zip(recs, want)):
        check("password" not in r, "record %d: the password is never logged (Zeek's default)" % k)
        for f, wire in w.items():
            exp = [render_json(x) for x in wire] if isinstance(wire, list) else render_json(wire)
            check(r.get(f) == exp, "JSON value %d field %s: got %r, want %r" % (k, f, r.get(f), exp))

    ts = subprocess.run([moonshark, "http", "--tsv", "--threads", "1", cap], capture_output=True)
    check(ts.returncode == 0, "moonshark http --tsv exits 0")
    try:
        text = ts.stdout.decode("utf-8")
        check(True, "")
    except UnicodeDecodeError as e:
        check(False, "the TSV log is not valid UTF-8: %s" % e)
        text = ts.stdout.decode("utf-8", "replace")
    fields = next(ln.split("\t")[1:] for ln in text.split("\n") if ln.startswith("#fields\t"))
    rows = [ln for ln in text.split("\n") if ln and not ln.startswith("#")]
    check(len(rows) == len(want), "one TSV row per request: %d of %d" % (len(rows), len(want)))
    for k, (row, w) in enumerate(zip(rows, want)):
        check(not any(ord(ch) < 0x20 and ch != "\t" or ord(ch) == 0x7f for ch in row),
              "TSV row %d holds a raw control byte" % k)
        cells = row.split("\t")
        check(len(cells) == len(fields), "TSV row %d: %d cells for %d fields" % (k, len(cells), len(fields)))
        cell = dict(zip(fields, cells))
        for f, wire in w.items():
            exp = ",".join(render_tsv(x, True) for x in wire) if isinstance(wire, list) else render_tsv(wire)
            check(cell.get(f) == exp, "TSV row %d field %s: got %r, want %r" % (k, f, cell.get(f), exp))

    jq = subprocess.run(["sh", "-c", "command -v jq > /dev/null && jq -c . > /dev/null"], input=js.stdout)
    check(jq.returncode == 0, "jq reads every JSON line")
    print("hostile_fields: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
