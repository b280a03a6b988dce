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
import time
from concurrent.futures import ThreadPoolExecutor


# Differences reviewed against the bytes where tshark's reading is the wrong one (or, for one,
# disputed between the oracles): capture path under PCAPS, which side alone has the request,
# method, uri. Each is explained in docs/http-oracle.md; only an exact match is excused.
KNOWN = {
    ("zeek/http/putty-upload.pcap", "moonshark", "POST", "/upload"):
        "tshark waits for the whole 1.6 MB body, which the capture does not hold",
    ("zeek/http/261/variant-09-te_obs_fold.pcap", "moonshark", "GET", "/smuggled-obsfold"):
        "tshark does not unfold 'Transfer-Encoding:' + ' chunked' (RFC 9112 5.2 obs-fold)",
    ("zeek/http/261/variant-02-cl_uint64max.pcap", "tshark", "GET", "/smuggled-cl-uint64max"):
        "the GET is inside a Content-Length: 2^64-1 body; tshark overflows",
    ("zeek/http/261/variant-02-cl_uint64max.pcap", "moonshark", "POST", "/"):
        "same frame as the GET above (occurrence=l); tshark -E occurrence=a lists it",
    ("zeek/http/no-uri.pcap", "tshark", "GET", "HTTP/1.1"):
        "'GET HTTP/1.1' has no target; tshark takes the version for the uri",
    ("zeek/http/no-uri.pcap", "moonshark", "GET", ""):
        "same request, logged with an empty uri",
    ("zeek/http/connect-with-smtp.pcap", "tshark", "CONNECT", "mailin03.sul.t-online.de:25"):
        "target with a space: tshark cuts at the space, Zeek's baseline keeps 'mailin03.sul.t-online.de:25 /'",
    ("zeek/http/connect-with-smtp.pcap", "moonshark", "CONNECT", "mailin03.sul.t-online.de:25 /"):
        "same request, as Zeek's baseline logs it",
}


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
    p = None
    for attempt in range(3):
        try:
            p = subprocess.run([binary, "http", "--json", "--no-progress", pcap], capture_output=True,
                               timeout=120)
            break
        except subprocess.TimeoutExpired:
            return [], "timeout", -1
        except OSError as e:  # the binary being relinked by a parallel make: try again
            time.sleep(2)
            err = str(e)
    if p is None:
        return [], "cannot run %s: %s" % (binary, err), -2
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


def engine_conns(binary, pcap):
    """(client, client port, server, server port) -> (orig_bytes, resp_bytes) from `moonshark conn`."""
    try:
        p = subprocess.run([binary, "conn", "--json", "--no-progress", pcap], capture_output=True,
                           timeout=120)
    except (subprocess.TimeoutExpired, OSError):
        return {}
    out = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        try:
            c = json.loads(line)
        except ValueError:
            continue
        k = (str(c.get("id.orig_h")), str(c.get("id.orig_p")), str(c.get("id.resp_h")), str(c.get("id.resp_p")))
        out[k] = (c.get("orig_bytes") or 0, c.get("resp_bytes") or 0)
    return out


def delivered(conns, key):
    """True when the engine handed the parser bytes from the request's sender on that connection."""
    fwd = conns.get((key[0], key[1], key[2], key[3]))
    if fwd is not None:
        return fwd[0] > 0
    rev = conns.get((key[2], key[3], key[0], key[1]))
    if rev is not None:
        return rev[1] > 0
    if key[1] == "" or key[3] == "":  # UDP rows: any connection between the hosts
        return any(k[0] in (key[0], key[2]) and k[2] in (key[0], key[2]) for k in conns)
    return False


def rec_key(r):
    return (str(r.get("id.orig_h")), str(r.get("id.orig_p")), str(r.get("id.resp_h")),
            str(r.get("id.resp_p")), r.get("method"), r.get("uri"))


def conn_key(k):
    return (k[0], k[1], k[2], k[3])


def tshark_responses(path):
    """request frame -> list of (status code, content type) from X.http-resp.tsv (if any)."""
    out = collections.defaultdict(list)
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            c += [""] * (11 - len(c))
            if c[1] and c[8]:
                out[c[1]].append((c[8], c[10]))
    return out


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
    # the response side: tshark's status code for a matched request, where exactly one response
    # names the request's frame (http.request_in); content type without parameters
    resp = tshark_responses(pcap + ".http-resp.tsv")
    status_cmp, ctype_cmp = [0, 0], [0, 0]
    for o, m in matched_rows:
        rs = resp.get(o["frame"], [])
        if len(rs) != 1:
            continue
        code, ctype = rs[0]
        status_cmp[1] += 1
        if str(m.get("status_code")) == code.split(",")[-1]:
            status_cmp[0] += 1
        else:
            field_diffs.append((o["frame"], "status_code", m.get("status_code"), code))
        mime = ctype.split(";")[0].strip().lower()
        if mime and m.get("resp_mime_types"):
            ctype_cmp[1] += 1
            if m["resp_mime_types"][0] == mime:
                ctype_cmp[0] += 1
            else:
                field_diffs.append((o["frame"], "resp_mime_types", m["resp_mime_types"], mime))
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
    undelivered = []
    if missing:
        conns = engine_conns(binary, pcap)
        still = []
        for o in missing:
            (still if any(delivered(conns, k) for k in o["keys"]) else undelivered).append(o)
        missing = still
    return {"pcap": pcap, "tshark": len(oracle), "moonshark": len(recs), "matched": matched,
            "missing": missing, "extra": extra, "hidden": hidden, "undelivered": undelivered,
            "host": host_cmp, "ua": ua_cmp, "status": status_cmp, "ctype": ctype_cmp,
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
    known_seen = set()
    for r in results:
        rel = os.path.relpath(r["pcap"], a.pcaps)
        r["known"] = []
        keep_missing, keep_extra = [], []
        for o in r["missing"]:
            k = o["keys"][0]
            kk = (rel, "tshark", k[4], k[5])
            if kk in KNOWN:
                known_seen.add(kk)
                r["known"].append((kk, KNOWN[kk]))
            else:
                keep_missing.append(o)
        for e in r["extra"]:
            kk = (rel, "moonshark", e.get("method"), e.get("uri"))
            if kk in KNOWN:
                known_seen.add(kk)
                r["known"].append((kk, KNOWN[kk]))
            else:
                keep_extra.append(e)
        r["missing"], r["extra"] = keep_missing, keep_extra
        tot["tshark"] += r["tshark"]
        tot["moonshark"] += r["moonshark"]
        tot["matched"] += r["matched"]
        tot["missing"] += len(r["missing"])
        tot["extra"] += len(r["extra"])
        tot["hidden"] += len(r["hidden"])
        tot["undelivered"] += len(r["undelivered"])
        tot["known_tshark"] += sum(1 for kk, _ in r["known"] if kk[1] == "tshark")
        tot["known_moonshark"] += sum(1 for kk, _ in r["known"] if kk[1] == "moonshark")
        tot["host_agree"] += r["host"][0]
        tot["host_cmp"] += r["host"][1]
        tot["ua_agree"] += r["ua"][0]
        tot["ua_cmp"] += r["ua"][1]
        tot["status_agree"] += r["status"][0]
        tot["status_cmp"] += r["status"][1]
        tot["ctype_agree"] += r["ctype"][0]
        tot["ctype_cmp"] += r["ctype"][1]
        if r["rc"] not in (0, 1) or "AddressSanitizer" in r["stderr"]:
            crashed += 1
        if not r["missing"] and not r["extra"] and not r["field_diffs"] and not r["undelivered"]:
            files_ok += 1
        else:
            files_bad += 1

    def pct(x, y):
        return 100.0 * x / y if y else 100.0

    # Raw: every tshark request and every request only moonshark has, against the matches.
    # (Requests tshark cannot list, another request ending later in the same frame, count
    # neither way: they are reported.)
    raw_union = tot["tshark"] + tot["extra"] + tot["known_moonshark"]
    raw = pct(tot["matched"], raw_union)
    # Parser agreement: requests on connections whose bytes the engine delivered, less the
    # reviewed differences where tshark is wrong.
    union = tot["tshark"] - tot["undelivered"] - tot["known_tshark"] + tot["extra"]
    agreement = pct(tot["matched"], union)
    recall = pct(tot["matched"], tot["tshark"])
    host_pct = pct(tot["host_agree"], tot["host_cmp"])
    ua_pct = pct(tot["ua_agree"], tot["ua_cmp"])

    if a.details:
        with open(a.details, "w", encoding="utf-8", errors="surrogateescape") as d:
            for r in results:
                if (not r["missing"] and not r["extra"] and not r["field_diffs"] and not r["hidden"]
                        and not r["undelivered"] and not r["known"] and r["rc"] in (0, 1)):
                    continue
                d.write("== %s tshark=%d moonshark=%d matched=%d rc=%d\n"
                        % (r["pcap"], r["tshark"], r["moonshark"], r["matched"], r["rc"]))
                for o in r["missing"]:
                    d.write("  only tshark: frame %s %s\n" % (o["frame"], o["keys"][:1]))
                for o in r["undelivered"]:
                    d.write("  not delivered by the engine: frame %s %s\n" % (o["frame"], o["keys"][:1]))
                for e in r["extra"]:
                    d.write("  only moonshark: %s depth=%s ts=%s tags=%s\n"
                            % (rec_key(e), e.get("trans_depth"), e.get("ts"), e.get("tags")))
                for kk, why in r["known"]:
                    d.write("  reviewed, only %s: %s %r: %s\n" % (kk[1], kk[2], kk[3], why))
                for e in r["hidden"]:
                    d.write("  hidden by occurrence=l: %s depth=%s\n" % (rec_key(e), e.get("trans_depth")))
                for fd in r["field_diffs"]:
                    d.write("  field %s frame %s: moonshark=%r tshark=%r\n" % (fd[1], fd[0], fd[2], fd[3]))
                if r["stderr"].strip():
                    d.write("  stderr: %s\n" % r["stderr"].strip().splitlines()[0][:300])

    print("http_oracle: %d captures; tshark requests %d, moonshark requests %d, matched %d"
          % (len(results), tot["tshark"], tot["moonshark"], tot["matched"]))
    print("http_oracle: only tshark %d (+%d on connections the engine delivered no bytes of, "
          "+%d reviewed), only moonshark %d (+%d reviewed, +%d in frames where tshark lists only "
          "a later request)" % (tot["missing"], tot["undelivered"], tot["known_tshark"], tot["extra"],
                                tot["known_moonshark"], tot["hidden"]))
    print("http_oracle: parser agreement %.2f%% (delivered connections, reviewed differences "
          "excused); raw agreement %.2f%%; tshark requests found %.2f%%"
          % (agreement, raw, recall))
    status_pct = pct(tot["status_agree"], tot["status_cmp"])
    ctype_pct = pct(tot["ctype_agree"], tot["ctype_cmp"])
    print("http_oracle: host agree %.2f%% of %d, user_agent agree %.2f%% of %d, response status agree "
          "%.2f%% of %d, response content type agree %.2f%% of %d, captures crashed %d"
          % (host_pct, tot["host_cmp"], ua_pct, tot["ua_cmp"], status_pct, tot["status_cmp"], ctype_pct,
             tot["ctype_cmp"], crashed))
    print("http_oracle: captures identical %d, differing %d" % (files_ok, files_bad))
    stale = sorted(set(KNOWN) - known_seen)
    for kk in stale:
        print("http_oracle: note: reviewed difference no longer seen: %s %s %s %r" % kk)
    # response side: the 15 status differences are deliberately broken status lines
    # (docs/http-oracle.md). The content type is a figure only: resp_mime_types are told from the
    # body's bytes, as Zeek does (issue 15; checked against Zeek in http_mime.sh), where tshark
    # reports the Content-Type header (application/octet-stream on most evader bodies)
    checks = [("parser agreement", agreement >= a.min), ("raw agreement", raw >= a.min),
              ("host", host_pct >= a.min),
              ("user_agent", ua_pct >= a.min), ("response status", status_pct >= 97.0),
              ("no crash", crashed == 0)]
    npass = sum(1 for _n, c in checks if c)
    for n, c in checks:
        if not c:
            print("http_oracle: FAIL %s (see the figures above and docs/http-oracle.md)" % n)
    print("http_oracle: %d passed, %d failed" % (npass, len(checks) - npass))
    return 0 if npass == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
