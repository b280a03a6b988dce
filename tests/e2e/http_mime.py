#!/usr/bin/env python3
"""http_mime.py — http.log's body fields against Zeek's own baselines (the
*.zeek-expected.http.log files beside the zeek captures): orig_mime_types and resp_mime_types
(told by moonshark from each body's first bytes), the file names of Content-Disposition, the
number of file ids (one per body with bytes), and password (never captured, as Zeek's default).
Also: moonshark's #fields line holds every field of Zeek's, in Zeek's order.
Records pair on (client address, client port, trans_depth), as in http_zeek.py.
Usage: http_mime.py MOONSHARK PCAPS [--min 95] — prints the agreement; exits 1 below min."""

import argparse
import collections
import glob
import json
import os
import subprocess
import sys

FIELDS = ["orig_mime_types", "resp_mime_types", "orig_filenames", "resp_filenames", "orig_fuids",
          "resp_fuids", "password"]


def zeek_log(path):
    fields, rows = None, []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#fields"):
                fields = line.split("\t")[1:]
            elif not line.startswith("#") and line and fields:
                rows.append(dict(zip(fields, line.split("\t"))))
    return fields, rows


def ours_value(r, f):
    v = r.get(f) if r else None
    if isinstance(v, list):
        v = ",".join(v) if v else None
    return "-" if v is None else str(v)


def norm(f, v):
    if f.endswith("fuids"):  # ids differ by construction: compare how many files each body made
        return "0" if v == "-" else str(len(v.split(",")))
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("moonshark")
    ap.add_argument("pcaps")
    ap.add_argument("--min", type=float, default=95.0)
    a = ap.parse_args()
    agree, total = collections.Counter(), collections.Counter()
    zeek_fields, diffs, checks = None, [], []
    for base in sorted(glob.glob(os.path.join(a.pcaps, "zeek", "**", "*.zeek-expected.http.log"), recursive=True)):
        pcap = base[: -len(".zeek-expected.http.log")]
        fields, rows = zeek_log(base)
        if not os.path.exists(pcap) or not fields or "resp_mime_types" not in fields:
            continue
        zeek_fields = zeek_fields or fields
        out = subprocess.run([a.moonshark, "http", "--json", "--no-progress", pcap], capture_output=True,
                             timeout=120).stdout.decode("utf-8", "surrogateescape")
        ours = {}
        for line in out.splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            ours[(str(r.get("id.orig_h")), str(r.get("id.orig_p")), str(r.get("trans_depth")))] = r
        for z in rows:
            k = (z.get("id.orig_h"), z.get("id.orig_p"), z.get("trans_depth"))
            r = ours.get(k)
            for f in FIELDS:
                zv, mv = norm(f, z.get(f, "-")), norm(f, ours_value(r, f))
                total[f] += 1
                if zv == mv:
                    agree[f] += 1
                else:
                    diffs.append("%s %s %s: zeek=%s moonshark=%s" % (os.path.basename(pcap), k, f, zv, mv))
    for d in diffs:
        print("http_mime: diff " + d)
    mime_a = agree["orig_mime_types"] + agree["resp_mime_types"]
    mime_t = total["orig_mime_types"] + total["resp_mime_types"]
    pct = 100.0 * mime_a / mime_t if mime_t else 0.0
    print("http_mime: mime types agree with Zeek on %d of %d fields (%.1f%%)" % (mime_a, mime_t, pct))
    print("http_mime: per field: " + ", ".join("%s %d/%d" % (f, agree[f], total[f]) for f in FIELDS))
    checks.append(mime_t > 0 and pct >= a.min)
    other = [f for f in FIELDS if not f.endswith("mime_types")]
    oa, ot = sum(agree[f] for f in other), sum(total[f] for f in other)
    checks.append(ot > 0 and 100.0 * oa / ot >= a.min)
    # moonshark's columns hold Zeek's, in its order
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "http-sample.pcap")
    head = subprocess.run([a.moonshark, "http", "--tsv", sample], capture_output=True).stdout.decode()
    mine = next((l.split("\t")[1:] for l in head.splitlines() if l.startswith("#fields")), [])
    checks.append(zeek_fields is not None and mine[: len(zeek_fields)] == zeek_fields)
    if not checks[-1]:
        print("http_mime: #fields differ: zeek %s, moonshark %s" % (zeek_fields, mine))
    print("http_mime: %d passed, %d failed" % (sum(checks), len(checks) - sum(checks)))
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
