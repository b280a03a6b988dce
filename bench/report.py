#!/usr/bin/env python3
"""report.py — the markdown report of `make bench` from the folders bench/run.sh fills.

  report.py hyperfine ROUND JSON
      one hyperfine export (one run of each line) as TSV rows: round name wall user sys
  report.py report [--timer T] [--rounds N] [--cpu C] [--commit H] [--load L]... [--pagecache F]
                   [--threads N] GROUP_DIR...
      one table per group folder (meta.tsv, lines.tsv, times.tsv, NAME.time, NAME.status,
      NAME.match.json, NAME.match_status.json, NAME.manifest.txt), markdown on stdout.

Seconds are the median over the rounds; "of floor" and "x moonshark" are medians of the ratios
taken within each round (one hyperfine call), so a slow spell of the shared machine moves both
sides of a ratio.
"""
import argparse
import json
import os
import re
import statistics
import sys
import time

WHAT = {
    "floor": "libpcap floor, stock: `pcap_open_offline` + `pcap_next_ex` (pcapread)",
    "floor_bigbuf": "libpcap floor, 1 MiB stdio buffer (pcapread bigbuf)",
    "nids": "libnids request log, checksums off, 1 MiB buffer (nids_http -b)",
    "gopacket_1": "gopacket request log, pure-Go pcapgo reader, GOMAXPROCS=1",
    "gopacket_all": "gopacket request log, pcapgo reader, GOMAXPROCS=all",
    "gopacket_bpf_1": "gopacket, cgo libpcap + BPF `dst port 80/8080` (requests only), GOMAXPROCS=1",
    "gopacket_bpf_all": "gopacket, cgo libpcap + BPF (requests only), GOMAXPROCS=all",
    "stats": "moonshark stats (read + decode only)",
    "conn": "moonshark conn (decode + TCP reassembly, no parser)",
    "moonshark_1": "**moonshark http --json, 1 thread**",
    "moonshark_n": "**moonshark http --json --threads N**",
    "tshark": "tshark -Y http.request -T fields (6 fields)",
    "tshark_full": "tshark -Y http.request -T fields (6 fields)",
}
MULTI = {"gopacket_all", "gopacket_bpf_all", "moonshark_n"}


def hyperfine_rows(rnd, path):
    for r in json.load(open(path))["results"]:
        times = r.get("times") or [r["mean"]]
        print("%s\t%s\t%.6f\t%.6f\t%.6f" % (rnd, r["command"], times[0], r["user"], r["system"]))


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l.rstrip("\n").split("\t") for l in f if l.strip()]


def time_v(path):
    """The fields of a /usr/bin/time -v report we use."""
    out = {}
    if not os.path.exists(path):
        return out
    keys = {"Maximum resident set size (kbytes)": "rss_kb", "User time (seconds)": "user",
            "System time (seconds)": "sys", "Minor (reclaiming a frame) page faults": "minflt",
            "Major (requiring I/O) page faults": "majflt", "Voluntary context switches": "vcs",
            "Involuntary context switches": "ivcs", "Elapsed (wall clock) time (h:mm:ss or m:ss)": "wall"}
    for line in open(path):
        k, _, v = line.strip().rpartition(": ")
        if k in keys:
            out[keys[k]] = v
    return out


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, p=2):
    return "" if x is None else ("%." + str(p) + "f") % x


def group_table(g):
    meta = dict(read_tsv(os.path.join(g, "meta.tsv")))
    lines = [l[0] for l in read_tsv(os.path.join(g, "lines.tsv"))]
    times = read_tsv(os.path.join(g, "times.tsv"))
    by_round = {}
    for rnd, name, wall, user, sys_ in times:
        by_round.setdefault(rnd, {})[name] = (float(wall), float(user), float(sys_))
    nbytes = int(meta["bytes"])
    frames = None
    fo = os.path.join(g, "floor.out")
    if os.path.exists(fo):
        m = re.search(r"packets (\d+)", open(fo).read())
        frames = int(m.group(1)) if m else None

    def ratios(a, b, invert=False, cpu=False):
        xs = []
        for r in by_round.values():
            if a in r and b in r:
                x, y = (r[a][1] + r[a][2], r[b][1] + r[b][2]) if cpu else (r[a][0], r[b][0])
                if x > 0 and y > 0:
                    xs.append(y / x if invert else x / y)
        return med(xs)

    cap = os.path.basename(meta["capture"])
    kind = "tshark" if meta["kind"] == "tshark" else "main"
    out = []
    title = {"own": "own workload (tools/gen_capture)", "peers": "peers workload (gen_http_pcap.py)"}
    out.append("### %s: %s, %s bytes%s%s" % (
        title.get(meta["workload"], meta["workload"]), cap, format(nbytes, ","),
        ", %s frames" % format(frames, ",") if frames else "",
        " — tshark beside moonshark on the same file" if kind == "tshark" else ""))
    out.append("")
    out.append("| line | what | pinned | s (median) | min–max s | MB/s | of floor | × moonshark's time "
               "| CPU s | × moonshark's CPU | sys s | found | peak RSS MiB |")
    out.append("|---|---|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    ms = "moonshark_1"
    fig = {"workload": meta["workload"], "kind": kind, "capture": cap}
    for name in lines:
        tv = time_v(os.path.join(g, name + ".time"))
        status = open(os.path.join(g, name + ".status")).read().strip() \
            if os.path.exists(os.path.join(g, name + ".status")) else "not run"
        rss = "%.1f" % (int(tv["rss_kb"]) / 1024) if "rss_kb" in tv else ""
        pinned = "no" if name in MULTI else "yes"
        walls = [r[name][0] for r in by_round.values() if name in r]
        cpus = [r[name][1] + r[name][2] for r in by_round.values() if name in r]
        syss = [r[name][2] for r in by_round.values() if name in r]
        found = ""
        mj = os.path.join(g, name + ".match.json")
        if os.path.exists(mj) and os.path.getsize(mj):
            m = json.load(open(mj))
            found = "%.1f%%" % m["pct"]
            if m["pct"] < 100 or m["extra"]:
                kinds = ", ".join("%s %d" % kv for kv in m["missed_by_kind"].items())
                notes.append("- %s found %d of %d%s%s." % (
                    name, m["matched"], m["total"],
                    ", extra %d" % m["extra"] if m["extra"] else "",
                    "; missed: " + kinds if kinds else ""))
        ms_j = os.path.join(g, name + ".match_status.json")
        if os.path.exists(ms_j) and os.path.getsize(ms_j):
            m = json.load(open(ms_j))
            notes.append("- %s with the response status in the key as well: %d of %d (%.2f%%)%s." % (
                name, m["matched"], m["total"], m["pct"],
                "; differing: " + ", ".join("%s %d" % kv for kv in m["missed_by_kind"].items())
                if m["missed_by_kind"] else ""))
        mt = os.path.join(g, name + ".manifest.txt")
        if os.path.exists(mt):
            last = [l.strip() for l in open(mt) if l.strip()]
            if last:
                notes.append("- %s against the manifest (tests/e2e/generated_manifest.py: method, "
                             "host, uri, status): %s" % (name, last[-1].split(": ", 1)[-1]))
        if status != "ok" or not walls:
            out.append("| %s | %s | %s | %s | | | | | | | | %s | %s |" % (
                name, WHAT.get(name, name), pinned, status if status != "ok" else "not timed",
                found, rss))
            continue
        s = med(walls)
        bold = name.startswith("moonshark")
        of_floor = ratios(name, "floor", invert=True) if name != "floor" else 1.0
        x_ms = ratios(name, ms)
        x_ms_cpu = ratios(name, ms, cpu=True)
        fig[name] = {"s": s, "x_ms": x_ms, "x_ms_cpu": x_ms_cpu, "of_floor": of_floor,
                     "found": found, "rss": rss}
        out.append("| %s | %s | %s | %s | %s–%s | %.0f | %s | %s | %s | %s | %s | %s | %s |" % (
            name, WHAT.get(name, name), pinned, ("**%.3f**" if bold else "%.3f") % s,
            fmt(min(walls), 3), fmt(max(walls), 3), nbytes / 1e6 / s,
            fmt(of_floor), fmt(x_ms), fmt(med(cpus)), fmt(x_ms_cpu), fmt(med(syss)), found, rss))
    out.append("")
    out += notes
    # the check run's kernel counters: where system time and page faults come from
    out.append("")
    out.append("<details><summary>check run, /usr/bin/time -v (untimed run that also gave the output)</summary>")
    out.append("")
    out.append("| line | user s | sys s | minor faults | major faults | voluntary cs | involuntary cs |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for name in lines:
        tv = time_v(os.path.join(g, name + ".time"))
        if tv:
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                name, tv.get("user", ""), tv.get("sys", ""), tv.get("minflt", ""),
                tv.get("majflt", ""), tv.get("vcs", ""), tv.get("ivcs", "")))
    out.append("")
    out.append("</details>")
    out.append("")
    return out, fig


def targets(figs):
    """Issue 11's targets, per workload, from the tables' own figures."""
    out = ["### Against issue 11's targets", "",
           "| workload | gopacket's fastest one-core line ÷ moonshark (≥ 2) | tshark ÷ moonshark, "
           "same file (≥ 50) | moonshark found | moonshark peak RSS MiB (≤ 64) | moonshark N threads, "
           "of the stock floor (≥ 0.8) |",
           "|---|---|---|---|---|---|"]
    for w in ("own", "peers"):
        main = next((f for f in figs if f["workload"] == w and f["kind"] == "main"), None)
        tsh = next((f for f in figs if f["workload"] == w and f["kind"] == "tshark"), None)
        if not main or "moonshark_1" not in main:
            continue
        gp = [(main[k]["x_ms"], k) for k in ("gopacket_1", "gopacket_bpf_1")
              if k in main and main[k]["x_ms"] is not None]
        gp_s = ""
        if gp:
            x, k = min(gp)
            cpu = main[k]["x_ms_cpu"]
            gp_s = "%.2f (%s; CPU %s)" % (x, k, fmt(cpu))
        ts = ""
        if tsh and "tshark" in tsh and tsh["tshark"]["x_ms"] is not None:
            ts = "%.1f (%s; CPU %s)" % (tsh["tshark"]["x_ms"], tsh["capture"],
                                         fmt(tsh["tshark"]["x_ms_cpu"], 1))
        if "tshark_full" in main and main["tshark_full"]["x_ms"] is not None:
            ts += "%s%.1f (full capture)" % ("; " if ts else "", main["tshark_full"]["x_ms"])
        mt = main.get("moonshark_n")
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            w, gp_s, ts, main["moonshark_1"]["found"], main["moonshark_1"]["rss"],
            fmt(mt["of_floor"]) if mt else "no --threads yet"))
    out.append("")
    return out


def report(a):
    cpu_model = ""
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                cpu_model = l.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    print("# moonshark benchmark")
    print()
    print("%s, commit %s, %d CPUs (%s); timer %s, %d rounds (each line once a round, rotated "
          "order; seconds are medians), single-thread lines pinned to CPU %s (`taskset`), "
          "multi-thread lines unpinned; captures in page cache; load average %s before, %s after "
          "(the machine is shared: figures under ~10%% apart are noise)." % (
              time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), a.commit, os.cpu_count() or 0,
              cpu_model, a.timer, a.rounds, a.cpu, a.load[0] if a.load else "?",
              a.load[-1] if a.load else "?"))
    print()
    if a.threads == "none":
        print("moonshark http has no `--threads` yet: no multi-thread moonshark line.")
        print()
    figs = []
    for g in a.groups:
        out, fig = group_table(g)
        figs.append(fig)
        print("\n".join(out))
    print("\n".join(targets(figs)))
    if a.pagecache and os.path.exists(a.pagecache):
        print("Page cache when each capture was re-read: " +
              "; ".join(l.strip() for l in open(a.pagecache) if l.strip()))
        print()
    print("MB/s = capture bytes / 10^6 / median seconds. of floor = the stock libpcap floor's "
          "seconds / the line's (within a round, median over rounds). × moonshark's time = the "
          "line's seconds / moonshark http 1 thread's on the same file; × moonshark's CPU the same "
          "with user + system seconds, steadier than wall time when other tenants share the CPU. "
          "found = requests in the "
          "generator's truth the line logged, matched as a multiset on client and server address "
          "and port, method, host and uri (../shared/peers/compare.py; tshark without the server "
          "address). CPU s = user + system, median. peak RSS from the check run.")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "hyperfine" and len(sys.argv) == 4:
        hyperfine_rows(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) < 2 or sys.argv[1] != "report":
        sys.exit(__doc__)
    ap = argparse.ArgumentParser(prog="report.py report")
    ap.add_argument("--timer", default="hyperfine")
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--cpu", default="1")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--load", action="append", default=[])
    ap.add_argument("--pagecache")
    ap.add_argument("--threads", default="none")
    ap.add_argument("groups", nargs="*")
    report(ap.parse_args(sys.argv[2:]))


if __name__ == "__main__":
    main()
