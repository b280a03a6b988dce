#!/usr/bin/env python3
"""http_oracle.py — compares `moonshark http --json` with tshark's HTTP requests (the .http.tsv
oracles beside each capture in ../shared/pcaps).

A request is keyed by (client address, client port, server address, server port, method, uri).
Per capture the two multisets are compared; agreement = matched / (tshark requests + requests only
moonshark reports). Host and User-Agent are compared on matched requests where both sides have one.
Usage: http_oracle.py MOONSHARK PCAPS [--min 99.0] [--details FILE] [--jobs 2]
Exit 0 when agreement >= min, 1 below, 77 never (skips are the shell wrapper's job)."""

import argparse
import collections
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def tshark_requests(tsv):
    """Rows of the oracle as dicts; each request gets every address reading the row allows
    (ip.* or ipv6.*: with tunnels both columns may be filled, and occurrence=l is per field)."""
    out = []
    with open(tsv, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line.split("\t")
            c += [""] * (12 - len(c))
            frame, ts, ip_src, ip6_src, sport, ip_dst, ip6_dst, dport, method, host, uri, ua = c[:12]
            if not method:
                continue
            srcs = [a for a in (ip_src, ip6_src) if a]
            dsts = [a for a in (ip_dst, ip6_dst) if a]
            keys = []
            for s in srcs:
                for d in dsts:
                    keys.append((s, sport, d, dport, method, uri))
            out.append({"frame": frame, "ts": ts, "keys": keys, "host": host, "ua": ua})
    return out


def moonshark_requests(binary, pcap):
    """Records with a method from `moonshark http --json PCAP`; returns (records, stderr, rc)."""
    try:
        p = subprocess.run([binary, "http", "--json", "--no-progress", pcap], capture_output=True,
                           timeout=120)
    except subprocess.TimeoutExpired:
        return [], "timeout", -1
    recs = []
    for line in p.stdout.decode("utf-8", "surrogateescape").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("method") is None:
            continue
        recs.append(r)
    return recs, p.stderr.decode("utf-8", "replace"), p.returncode


def rec_key(r):
    return (str(r.get("id.orig_h")), str(r.get("id.orig_p")), str(r.get("id.resp_h")),
            str(r.get("id.resp_p")), r.get("method"), r.get("uri"))


def conn_key(k):
    return (k[0], k[1], k[2], k[3])


def compare(binary, pcap, tsv):
    """Matches oracle rows to moonshark records. tshark's port columns are tcp.*: empty for HTTP
    over UDP (SSDP), where any port matches. tshark lists one request per frame (-E occurrence=l,
    the last one completed in it): a moonshark request that tshark lacks is 'hidden' when a later
    request of the same connection is listed, in a frame no earlier than this one's first byte, and
    this one started no earlier than the frame of the previous listed request (so both completed in
    the listed frame). Hidden requests are reported apart and not counted either way."""
    oracle = tshark_requests(tsv)
    recs, err, rc = moonshark_requests(binary, pcap)
    pool = collections.defaultdict(list)  # (hosts, method, uri) -> records not yet matched
    for r in recs:
        k = rec_key(r)
        pool[(k[0], k[2], k[4], k[5])].append(r)
    matched, missing, field_diffs = 0, [], []
    matched_rows = []  # (oracle row, moonshark record)
    host_cmp = [0, 0]  # agree, compared
    ua_cmp = [0, 0]
    for o in oracle:
        hit = None
        for k in o["keys"]:
            cands = pool.get((k[0], k[2], k[4], k[5]), [])
            for i, r in enumerate(cands):
                rk = rec_key(r)
                if (k[1] in ("", rk[1])) and (k[3] in ("", rk[3])):
                    hit = cands.pop(i)
                    break
            if hit is not None:
                break
        if hit is None:
            missing.append(o)
            continue
        matched += 1
        matched_rows.append((o, hit))
        for name, mine, theirs, cmp in (("host", hit.get("host"), o["host"], host_cmp),
                                        ("user_agent", hit.get("user_agent"), o["ua"], ua_cmp)):
            if mine and theirs:
                cmp[1] += 1
                if mine == theirs:
                    cmp[0] += 1
                else:
                    field_diffs.append((o["frame"], name, mine, theirs))
    extra, hidden = [], []
    by_conn = collections.defaultdict(list)  # conn -> [(depth, frame ts)] of listed requests
    for o, m in matched_rows:
        by_conn[conn_key(rec_key(m))].append(((m.get("trans_depth") or 0), float(o["ts"])))
    for rows in by_conn.values():
        rows.sort()
    for lst in pool.values():
        for r in lst:
            rows = by_conn.get(conn_key(rec_key(r)), [])
            depth, ts = (r.get("trans_depth") or 0), float(r.get("ts", 0))
            later = [row for row in rows if row[0] > depth]
            earlier = [row for row in rows if row[0] < depth]
            # the next listed request completed in a frame at or after this one's start, and this
            # one started no earlier than the frame of the previous listed request
            is_hidden = bool(later) and ts <= later[0][1] + 2e-6 and (not earlier or ts >= earlier[-1][1] - 2e-6)
            (hidden if is_hidden else extra).append(r)
    return {"pcap": pcap, "tshark": len(oracle), "moonshark": len(recs), "matched": matched,
            "missing": missing, "extra": extra, "hidden": hidden, "host": host_cmp, "ua": ua_cmp,
            "field_diffs": field_diffs, "rc": rc, "stderr": err}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("moonshark")
    ap.add_argument("pcaps")
    ap.add_argument("--min", type=float, default=99.0)
    ap.add_argument("--details", default=None)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()

    pairs = []
    for root, _dirs, files in os.walk(a.pcaps):
        for f in files:
            if f.endswith(".http.tsv"):
                pcap = os.path.join(root, f[: -len(".http.tsv")])
                if os.path.exists(pcap):
                    pairs.append((pcap, os.path.join(root, f)))
    pairs.sort()
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        results = list(ex.map(lambda pt: compare(a.moonshark, pt[0], pt[1]), pairs))

    tot = collections.Counter()
    files_ok = files_bad = crashed = 0
    for r in results:
        tot["tshark"] += r["tshark"]
        tot["moonshark"] += r["moonshark"]
        tot["matched"] += r["matched"]
        tot["missing"] += len(r["missing"])
        tot["extra"] += len(r["extra"])
        tot["hidden"] += len(r["hidden"])
        tot["host_agree"] += r["host"][0]
        tot["host_cmp"] += r["host"][1]
        tot["ua_agree"] += r["ua"][0]
        tot["ua_cmp"] += r["ua"][1]
        if r["rc"] not in (0, 1) or "AddressSanitizer" in r["stderr"]:
            crashed += 1
        if not r["missing"] and not r["extra"] and not r["field_diffs"]:
            files_ok += 1
        else:
            files_bad += 1

    # requests tshark cannot list (another request ends later in the same frame) are neither
    # agreement nor disagreement: they are reported, not counted
    union = tot["tshark"] + tot["extra"]
    agreement = 100.0 * tot["matched"] / union if union else 100.0
    recall = 100.0 * tot["matched"] / tot["tshark"] if tot["tshark"] else 100.0
    host_pct = 100.0 * tot["host_agree"] / tot["host_cmp"] if tot["host_cmp"] else 100.0
    ua_pct = 100.0 * tot["ua_agree"] / tot["ua_cmp"] if tot["ua_cmp"] else 100.0

    if a.details:
        with open(a.details, "w", encoding="utf-8", errors="surrogateescape") as d:
            for r in results:
                if (not r["missing"] and not r["extra"] and not r["field_diffs"] and not r["hidden"]
                        and r["rc"] in (0, 1)):
                    continue
                d.write("== %s tshark=%d moonshark=%d matched=%d rc=%d\n"
                        % (r["pcap"], r["tshark"], r["moonshark"], r["matched"], r["rc"]))
                for o in r["missing"]:
                    d.write("  only tshark: frame %s %s\n" % (o["frame"], o["keys"][:1]))
                for e in r["extra"]:
                    d.write("  only moonshark: %s depth=%s ts=%s tags=%s\n"
                            % (rec_key(e), e.get("trans_depth"), e.get("ts"), e.get("tags")))
                for e in r["hidden"]:
                    d.write("  hidden by occurrence=l: %s depth=%s\n" % (rec_key(e), e.get("trans_depth")))
                for fd in r["field_diffs"]:
                    d.write("  field %s frame %s: moonshark=%r tshark=%r\n" % (fd[1], fd[0], fd[2], fd[3]))
                if r["stderr"].strip():
                    d.write("  stderr: %s\n" % r["stderr"].strip().splitlines()[0][:300])

    print("http_oracle: %d captures, tshark requests %d, moonshark requests %d, matched %d, "
          "only tshark %d, only moonshark %d (+%d in frames where tshark lists only a later request)"
          % (len(results), tot["tshark"], tot["moonshark"], tot["matched"], tot["missing"], tot["extra"],
             tot["hidden"]))
    print("http_oracle: agreement %.2f%% (matched / union), tshark requests found %.2f%%, "
          "host agree %.2f%% of %d, user_agent agree %.2f%% of %d, captures crashed %d"
          % (agreement, recall, host_pct, tot["host_cmp"], ua_pct, tot["ua_cmp"], crashed))
    print("http_oracle: captures identical %d, differing %d (details: --details FILE)" % (files_ok, files_bad))
    checks = [("agreement", agreement >= a.min), ("host", host_pct >= a.min),
              ("user_agent", ua_pct >= a.min), ("no crash", crashed == 0)]
    npass = sum(1 for _n, c in checks if c)
    for n, c in checks:
        if not c:
            print("http_oracle: FAIL %s (need >= %.1f%%)" % (n, a.min))
    print("http_oracle: %d passed, %d failed" % (npass, len(checks) - npass))
    ok = npass == len(checks)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
