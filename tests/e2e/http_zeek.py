#!/usr/bin/env python3
"""http_zeek.py — `moonshark http --json` against Zeek's own http.log baselines
(*.zeek-expected.http.log beside the zeek/http captures): the second oracle, with status codes,
versions and body lengths that tshark's columns do not have.

Records are paired per connection (client address and port) and trans_depth. Zeek's uri is
percent-decoded, so ours is decoded before comparing. Zeek counts bodies after content decoding
(gzip, deflate) and we never read bodies: response_body_len is reported apart, not gated.
Usage: http_zeek.py MOONSHARK PCAPS [--min 95] — prints per-field agreement; exits 1 below min."""

import argparse
import collections
import glob
import json
import os
import subprocess
import sys
import urllib.parse

FIELDS = ["method", "host", "uri", "referrer", "version", "user_agent", "origin", "request_body_len",
          "status_code", "status_msg", "info_code", "info_msg", "username"]


def zeek_records(path):
    fields, out = None, []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#fields"):
                fields = line.split("\t")[1:]
                continue
            if line.startswith("#") or not line or fields is None:
                continue
            vals = line.split("\t")
            out.append(dict(zip(fields, vals)))
    return out


def norm(name, v):
    if v is None or v == "-":
        return None
    if isinstance(v, list):
        return ",".join(v)
    v = str(v)
    if name == "uri":
        v = urllib.parse.unquote(v, errors="surrogateescape")
    if name == "status_msg" and v == "<empty>":
        return None
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("moonshark")
    ap.add_argument("pcaps")
    ap.add_argument("--min", type=float, default=95.0)
    a = ap.parse_args()
    agree, total = collections.Counter(), collections.Counter()
    diffs = []
    rec_pairs = rec_zeek = 0
    for base in sorted(glob.glob(os.path.join(a.pcaps, "zeek", "http", "*.zeek-expected.http.log"))):
        pcap = base[: -len(".zeek-expected.http.log")]
        if not os.path.exists(pcap):
            continue
        zs = [z for z in zeek_records(base) if z.get("method", "-") != "-"]
        p = subprocess.run([a.moonshark, "http", "--json", "--no-progress", pcap], capture_output=True,
                           timeout=120)
        ours = {}
        for line in p.stdout.decode("utf-8", "surrogateescape").splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            ours[(str(r.get("id.orig_h")), str(r.get("id.orig_p")), str(r.get("trans_depth")))] = r
        for z in zs:
            rec_zeek += 1
            k = (z.get("id.orig_h"), z.get("id.orig_p"), z.get("trans_depth"))
            r = ours.get(k)
            if r is None:
                diffs.append("%s: no record for %s" % (os.path.basename(pcap), k))
                continue
            rec_pairs += 1
            for f in FIELDS:
                zv, mv = norm(f, z.get(f)), norm(f, r.get(f))
                total[f] += 1
                if zv == mv:
                    agree[f] += 1
                else:
                    diffs.append("%s %s %s: zeek=%r moonshark=%r" % (os.path.basename(pcap), k, f, zv, mv))
            zb, mb = z.get("response_body_len"), r.get("response_body_len")
            total["response_body_len"] += 1
            if str(zb) == str(mb):
                agree["response_body_len"] += 1
            else:
                diffs.append("%s %s response_body_len: zeek=%s moonshark=%s (Zeek counts decoded bytes)"
                             % (os.path.basename(pcap), k, zb, mb))
    for d in diffs:
        print("http_zeek: diff " + d)
    overall_a = sum(agree[f] for f in FIELDS)
    overall_t = sum(total[f] for f in FIELDS)
    pct = 100.0 * overall_a / overall_t if overall_t else 100.0
    print("http_zeek: %d of %d Zeek records paired; fields agree %.2f%% (%d of %d)"
          % (rec_pairs, rec_zeek, pct, overall_a, overall_t))
    print("http_zeek: per field: " + ", ".join("%s %d/%d" % (f, agree[f], total[f])
                                                 for f in FIELDS + ["response_body_len"]))
    paired = 100.0 * rec_pairs / rec_zeek if rec_zeek else 100.0
    checks = [paired >= a.min, pct >= a.min]
    print("http_zeek: %d passed, %d failed" % (sum(checks), len(checks) - sum(checks)))
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
