#!/usr/bin/env python3
"""http_zeek.py — `moonshark http --json` against every Zeek http.log baseline under PCAPS
(**/*.zeek-expected.http.log, written by Zeek's own test suite for the capture beside it).

Baselines come in two shapes: Zeek's log format (#fields header) and zeek-cut output (a first line
of column names, sometimes only a few columns). Every column both logs have is compared.
Records pair by (client, client port, server, server port, trans_depth) when the baseline has
those columns, else by order (connections in order of first appearance, records in order within
one). A row matches when method, uri, status_code, request_body_len and response_body_len (those
of them the baseline has) are all equal. Zeek percent-decodes the uri (its own unescape rules,
reproduced below); ours is raw, so ours is decoded the same way first. Zeek's tags are its own
enum (URI_SQLI, ...): our tags outside that vocabulary are not compared. Mime types: Zeek sniffs
the body, we read Content-Type; reported, gated only loosely.
Usage: http_zeek.py MOONSHARK PCAPS [--min-rows 95] [--min-field 95] [--details FILE]
Exit 1 when a gate fails."""

import argparse
import collections
import glob
import json
import os
import re
import subprocess
import sys

# columns of Zeek's http.log that moonshark logs too
FIELDS = ["method", "host", "uri", "referrer", "version", "user_agent", "origin", "request_body_len",
          "response_body_len", "status_code", "status_msg", "info_code", "info_msg", "tags", "username",
          "proxied", "orig_mime_types", "resp_mime_types"]
ROW_FIELDS = ["method", "uri", "status_code", "request_body_len", "response_body_len"]
KNOWN_COLUMNS = set(FIELDS) | {"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth",
                               "password", "orig_fuids", "orig_filenames", "resp_fuids", "resp_filenames"}
ZEEK_TAGS = {"EMPTY", "URI_SQLI", "POST_SQLI", "COOKIE_SQLI"}
# gated loosely: Zeek sniffs mime types from the body (libmagic-style signatures), we take
# Content-Type's media type (docs/http-oracle.md)
LOOSE = {"orig_mime_types": 0.0, "resp_mime_types": 0.0}

ESC = re.compile(rb"\\x([0-9a-fA-F]{2})")


def unescape_log(s):
    """Zeek's (and our JSON's) \\xNN escapes back to bytes; returns bytes."""
    return ESC.sub(lambda m: bytes([int(m.group(1), 16)]), s.encode("utf-8", "surrogateescape"))


def read_baseline(path):
    """(columns, rows as dicts of raw strings)."""
    cols, rows = None, []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#fields"):
                cols = line.split("\t")[1:]
                continue
            if not line or line.startswith("#"):
                continue
            vals = line.split("\t")
            if cols is None:
                if all(v in KNOWN_COLUMNS for v in vals):  # zeek-cut's header line
                    cols = vals
                continue
            rows.append(dict(zip(cols, vals)))
    return cols or [], rows


def is_hex(c):
    return c in b"0123456789abcdefABCDEF"


def zeek_unescape_uri(b):
    """Zeek's unescape_URI (src/analyzer/protocol/http/HTTP.cc), as bytes -> bytes: %XX decoded,
    %uXXXX decoded to one or two bytes (a 00 high byte dropped), %% read as one %, a malformed
    escape kept as it is."""
    out, i, n = bytearray(), 0, len(b)
    while i < n:
        c = b[i]
        if c != 0x25:
            out.append(c)
            i += 1
            continue
        i += 1
        if i == n:
            out.append(0x25)
            break
        if i + 1 == n:
            out += b"%" + bytes([b[i]])
            break
        if b[i] == 0x25:
            i -= 1  # "%%": the second % starts an escape again
        elif is_hex(b[i]) and is_hex(b[i + 1]):
            out.append(int(b[i:i + 2], 16))
            i += 1
        elif n - i >= 5 and b[i] == 0x75 and all(is_hex(x) for x in b[i + 1:i + 5]):
            if b[i + 1:i + 3] != b"00":
                out.append(int(b[i + 1:i + 3], 16))
            out.append(int(b[i + 3:i + 5], 16))
            i += 4
        else:
            out += b"%" + bytes([b[i]])
        i += 1
    return bytes(out)


def zeek_value(name, v):
    """A baseline cell as a comparable value (None when unset)."""
    if v is None or v == "-":
        return None
    if name in ("tags", "proxied", "orig_mime_types", "resp_mime_types"):
        if v == "(empty)":
            return None
        items = sorted(unescape_log(x) for x in v.split(","))
        if name == "tags":
            items = sorted(x.split(b"::")[-1] for x in items)
            items = [x for x in items if x != b"EMPTY"]
            return tuple(items) or None
        return tuple(items)
    if name == "status_msg" and v == "<empty>":
        return None
    return unescape_log(v)


def our_value(name, v):
    if v is None:
        return None
    if name in ("tags", "proxied", "orig_mime_types", "resp_mime_types"):
        items = v if isinstance(v, list) else [v]
        items = sorted(unescape_log(str(x)) for x in items)
        if name == "tags":
            items = [x for x in items if x.decode("latin-1") in ZEEK_TAGS and x != b"EMPTY"]
        return tuple(items) or None
    if isinstance(v, bool):
        v = "T" if v else "F"
    b = unescape_log(str(v))
    if name == "uri":
        b = zeek_unescape_uri(b)
    return b


def our_records(binary, pcap):
    p = subprocess.run([binary, "http", "--json", "--no-progress", pcap], capture_output=True, timeout=300)
    recs = []
    for line in p.stdout.decode("utf-8", "surrogateescape").splitlines():
        if line.startswith("{"):
            try:
                recs.append(json.loads(line))
            except ValueError:
                pass
    return recs, p.returncode


def key_of(r, cols):
    return tuple(str(r.get(c)) if r.get(c) is not None else "-" for c in cols)


def pair(cols, zrows, recs):
    """[(zeek row, our record or None)]."""
    idcols = [c for c in ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth") if c in cols]
    if "trans_depth" in idcols and "id.orig_p" in idcols:
        ours = collections.defaultdict(list)
        for r in recs:
            ours[key_of(r, idcols)].append(r)
        out = []
        for z in zrows:
            lst = ours.get(tuple(z.get(c, "-") for c in idcols))
            out.append((z, lst.pop(0) if lst else None))
        return out
    # by order: the k-th connection of the baseline (by uid, else one per row) with our k-th
    by_uid = collections.OrderedDict()
    for r in recs:
        by_uid.setdefault(r.get("uid"), []).append(r)
    ours = list(by_uid.values())
    zconns = collections.OrderedDict()
    for i, z in enumerate(zrows):
        zconns.setdefault(z.get("uid", i), []).append(z)
    out = []
    for k, zs in enumerate(zconns.values()):
        mine = ours[k] if k < len(ours) else []
        for j, z in enumerate(zs):
            out.append((z, mine[j] if j < len(mine) else None))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("moonshark")
    ap.add_argument("pcaps")
    ap.add_argument("--min-rows", type=float, default=95.0)
    ap.add_argument("--min-field", type=float, default=95.0)
    ap.add_argument("--details", default=None)
    a = ap.parse_args()

    bases = sorted(glob.glob(os.path.join(a.pcaps, "**", "*.zeek-expected.http.log"), recursive=True))
    agree, total = collections.Counter(), collections.Counter()
    rows = rows_ok = rows_m = rows_m_ok = paired = crashed = 0
    diffs = []
    for base in bases:
        pcap = base[: -len(".zeek-expected.http.log")]
        if not os.path.exists(pcap):
            continue
        name = os.path.relpath(pcap, a.pcaps)
        cols, zrows = read_baseline(base)
        recs, rc = our_records(a.moonshark, pcap)
        if rc not in (0, 1):
            crashed += 1
        for z, r in pair(cols, zrows, recs):
            rows += 1
            has_method = z.get("method", "-") != "-"
            rows_m += has_method
            where = "%s %s/%s depth %s" % (name, z.get("id.orig_h", z.get("uid", "?")), z.get("id.orig_p", ""),
                                          z.get("trans_depth", "?"))
            if r is None:
                diffs.append("%s: no record (zeek: %s %s)" % (where, z.get("method"), z.get("uri")))
                continue
            paired += 1
            ok = True
            for f in FIELDS:
                if f not in cols:
                    continue
                zv, mv = zeek_value(f, z.get(f)), our_value(f, r.get(f))
                if f in ("request_body_len", "response_body_len") and mv is None:
                    mv = b"0"
                total[f] += 1
                if zv == mv:
                    agree[f] += 1
                else:
                    diffs.append("%s %s: zeek=%r moonshark=%r" % (where, f, zv, mv))
                    if f in ROW_FIELDS:
                        ok = False
            rows_ok += ok
            rows_m_ok += ok and has_method

    def pct(x, y):
        return 100.0 * x / y if y else 100.0

    if a.details:
        with open(a.details, "w", encoding="utf-8", errors="replace") as d:
            for line in diffs:
                d.write(line + "\n")
    for line in diffs:
        print("http_zeek: diff " + line)
    print("http_zeek: %d baselines, %d Zeek rows (%d with a method), %d paired with a record"
          % (len(bases), rows, rows_m, paired))
    print("http_zeek: rows matching on %s: %.2f%% (%d of %d); rows with a method: %.2f%% (%d of %d)"
          % ("/".join(ROW_FIELDS), pct(rows_ok, rows), rows_ok, rows, pct(rows_m_ok, rows_m), rows_m_ok, rows_m))
    print("http_zeek: per field: " + ", ".join("%s %d/%d" % (f, agree[f], total[f]) for f in FIELDS if total[f]))
    checks = [("rows", pct(rows_ok, rows) >= a.min_rows), ("paired", pct(paired, rows) >= a.min_rows),
              ("no crash", crashed == 0)]
    for f in FIELDS:
        if total[f]:
            checks.append((f, pct(agree[f], total[f]) >= LOOSE.get(f, a.min_field)))
    for n, c in checks:
        if not c:
            print("http_zeek: FAIL %s (see docs/http-oracle.md)" % n)
    npass = sum(1 for _n, c in checks if c)
    print("http_zeek: %d passed, %d failed" % (npass, len(checks) - npass))
    return 0 if npass == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
