#!/usr/bin/env python3
"""generated_manifest.py — compares HTTP requests against the manifest tools/gen_capture wrote.

  generated_manifest.py log MANIFEST JSONL [NAME]
      JSONL is `moonshark http --json` output (Zeek field names: id.orig_h, id.orig_p, id.resp_h,
      id.resp_p, method, host, uri, status_code). Every manifest request must appear once with
      the same method, host, uri and status; a logged request not in the manifest is a failure.
  generated_manifest.py tcpflow MANIFEST DIR [NAME]
      DIR is `tcpflow -r CAPTURE -o DIR` output. Parses the reassembled streams independently
      (request line, Host, Content-Length / chunked / HEAD / 1xx / 204 / 304 framing) and checks
      them against the manifest the same way: a check of the generator itself.

Prints `NAME: N passed, N failed` (NAME defaults to generated_http) after at most 20 lines of
detail, and exits 0 only when nothing failed.
"""
import collections
import ipaddress
import json
import os
import re
import sys


# (request body, response body) lengths per manifest key, and as logged: reported, not counted
BODIES = collections.defaultdict(list)
LOGGED_BODIES = collections.defaultdict(list)


def norm_ip(s):
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s


def read_manifest(path):
    """Returns {key: [(host, status), ...]} keyed by (client ip, client port, server ip,
    server port, method, uri)."""
    want = collections.defaultdict(list)
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = {name: i for i, name in enumerate(header)}
        for need in ("client_ip", "client_port", "server_ip", "server_port", "method", "host",
                     "uri", "status"):
            if need not in col:
                sys.exit(f"generated_manifest: {path}: no column {need} in the header")
        for line in f:
            v = line.rstrip("\n").split("\t")
            key = (norm_ip(v[col["client_ip"]]), int(v[col["client_port"]]),
                   norm_ip(v[col["server_ip"]]), int(v[col["server_port"]]),
                   v[col["method"]], v[col["uri"]])
            want[key].append((v[col["host"]], int(v[col["status"]])))
            if "req_body_len" in col and "resp_body_len" in col:
                BODIES[key].append((int(v[col["req_body_len"]]), int(v[col["resp_body_len"]])))
    return want


def read_log(path):
    """Returns (records, bad_lines): records as (key, host, status) from JSON lines."""
    got, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except ValueError:
                bad += 1
                continue
            try:
                key = (norm_ip(str(r["id.orig_h"])), int(r["id.orig_p"]),
                       norm_ip(str(r["id.resp_h"])), int(r["id.resp_p"]),
                       str(r.get("method", "")), str(r.get("uri", "")))
            except (KeyError, TypeError, ValueError):
                bad += 1
                continue
            status = r.get("status_code")
            try:
                status = int(status) if status not in (None, "", "-") else None
            except (TypeError, ValueError):
                status = None
            host = r.get("host")
            if "request_body_len" in r and "response_body_len" in r:
                try:
                    LOGGED_BODIES[key].append((int(r["request_body_len"]),
                                               int(r["response_body_len"])))
                except (TypeError, ValueError):
                    pass
            got.append((key, "" if host in (None, "-") else str(host), status))
    return got, bad


# ---- independent HTTP parse of tcpflow output ------------------------------------------
FLOW_RE = re.compile(r"^(.+)\.(\d{5})-(.+)\.(\d{5})(?:--\d+)?$")


def flow_ip(s):
    if ":" in s:
        return norm_ip(s)
    return norm_ip(".".join(str(int(p)) for p in s.split(".")))


def split_head(data, pos):
    end = data.find(b"\r\n\r\n", pos)
    if end < 0:
        return None, None, pos
    lines = data[pos:end].decode("latin-1").split("\r\n")
    hdrs = {}
    for h in lines[1:]:
        name, _, value = h.partition(":")
        hdrs[name.strip().lower()] = value.strip()
    return lines[0], hdrs, end + 4


def skip_chunked(data, pos):
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return len(data)
        size = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            # trailers end with an empty line
            end = data.find(b"\r\n", pos)
            return len(data) if end < 0 else end + 2
        pos += size + 2


def parse_flows(dirname):
    """Yields (key, host, status) for every request found in the tcpflow directory."""
    flows = {}
    for name in os.listdir(dirname):
        m = FLOW_RE.match(name)
        if m:
            flows[(flow_ip(m.group(1)), int(m.group(2)), flow_ip(m.group(3)),
                   int(m.group(4)))] = os.path.join(dirname, name)
    for (sip, sport, dip, dport), path in flows.items():
        if sport in (80, 8080):
            continue  # server → client; read together with its client side
        with open(path, "rb") as f:
            req = f.read()
        resp = b""
        back = flows.get((dip, dport, sip, sport))
        if back:
            with open(back, "rb") as f:
                resp = f.read()
        methods = []
        pos = 0
        while pos < len(req):
            line, hdrs, pos = split_head(req, pos)
            if line is None:
                break
            parts = line.split(" ")
            method, uri = parts[0], parts[1] if len(parts) > 1 else ""
            pos += int(hdrs.get("content-length", "0"))
            methods.append((method, uri, hdrs.get("host", "")))
        rpos = 0
        for method, uri, host in methods:
            status = None
            while rpos < len(resp):
                line, hdrs, rpos = split_head(resp, rpos)
                if line is None:
                    break
                code = int(line.split(" ")[1])
                if 100 <= code < 200:
                    continue
                status = code
                if method == "HEAD" or code in (204, 304):
                    pass
                elif "chunked" in hdrs.get("transfer-encoding", "").lower():
                    rpos = skip_chunked(resp, rpos)
                else:
                    rpos += int(hdrs.get("content-length", "0"))
                break
            yield (sip, sport, dip, dport, method, uri), host, status


def compare(want, got, name, bad_lines):
    failures = []
    passed = failed = 0
    remaining = {k: list(v) for k, v in want.items()}
    extras = []
    for key, host, status in got:
        exp = remaining.get(key)
        if not exp:
            extras.append((key, host, status))
            continue
        if (host, status) in exp:
            exp.remove((host, status))
            passed += 1
        else:
            h, s = exp.pop(0)
            failed += 1
            failures.append(f"mismatch {key}: want host={h} status={s}, got host={host} "
                            f"status={status}")
    for key, left in remaining.items():
        for h, s in left:
            failed += 1
            failures.append(f"missing {key} host={h} status={s}")
    for key, host, status in extras:
        failed += 1
        failures.append(f"extra {key} host={host} status={status}")
    if bad_lines:
        failed += bad_lines
        failures.append(f"{bad_lines} log line(s) were not JSON records with id.* fields")
    for line in sorted(failures)[:20]:
        print(f"  {name}: {line}")
    if len(failures) > 20:
        print(f"  {name}: ... {len(failures) - 20} more")
    if LOGGED_BODIES:
        agree = differ = 0
        for key, want_b in BODIES.items():
            logged = list(LOGGED_BODIES.get(key, []))
            for b in want_b:
                if b in logged:
                    logged.remove(b)
                    agree += 1
                else:
                    differ += 1
        print(f"  {name}: note: request/response body lengths (Zeek semantics, not counted): "
              f"{agree} agree, {differ} differ")
    print(f"{name}: {passed} passed, {failed} failed")
    return failed == 0


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[1] not in ("log", "tcpflow"):
        sys.exit(__doc__)
    mode, manifest, src = sys.argv[1:4]
    name = sys.argv[4] if len(sys.argv) == 5 else "generated_http"
    want = read_manifest(manifest)
    if mode == "log":
        got, bad = read_log(src)
    else:
        got, bad = list(parse_flows(src)), 0
    sys.exit(0 if compare(want, got, name, bad) else 1)


if __name__ == "__main__":
    main()
