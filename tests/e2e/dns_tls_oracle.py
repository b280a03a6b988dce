#!/usr/bin/env python3
"""dns_tls_oracle.py — `moonshark all --json` (dns.log and ssl.log) against tshark's reading of
every capture in ../shared/pcaps whose layer oracle shows DNS (dns, mdns, llmnr) or TLS over TCP.

tshark (-T json) is run here on each such capture; its reading is reduced to DNS messages and TLS
handshakes and cached under --cache, keyed by the capture's size and time and tshark's version.

DNS: every message tshark decodes is matched to a moonshark record by (endpoint pair, transport,
capture time to the microsecond, query or reply): a record stands for its query at `ts` when it
has no rcode or has an rtt, and for its reply at `ts + rtt` (or `ts` alone) when it has an rcode.
Fields compared on each matched message: trans_id, query (lower case; tshark's "<Root>" is ""),
qtype, and on replies rcode, answers (answer section only, values of A AAAA CNAME NS PTR MX SRV
SOA TXT; other types must merely be present) and TTLs.

TLS: per TCP connection (endpoint pair, in time order) the first ClientHello, the last
ServerHello and the server's first Certificate message. Fields: server_name, version (the
ServerHello's supported_versions, else its version), cipher (tshark's suite name), next_protocol
(the server's ALPN), curve (ServerKeyExchange named curve or key_share group), ja3 and ja3s (tshark's
own), ja4 (computed here from tshark's ClientHello fields, per FoxIO's spec), cert_chain_fps
(sha256 of tshark's certificate bytes), subject and issuer (`openssl x509 -nameopt RFC2253` on
those bytes).

Agreement of a field = equal / compared, compared = matched items where tshark has a value.
Usage: dns_tls_oracle.py MOONSHARK PCAPS [--cache DIR] [--details FILE] [--jobs 2]
Exit 0 when every figure reaches its threshold, 1 otherwise."""

import argparse
import collections
import gzip
import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

EXTRACT_VERSION = "5"  # bump when the reduction of tshark's output changes (invalidates the cache)

# Minimum agreement per figure, in percent. Measured figures and each class of disagreement are in
# docs/dns-tls.md; these sit just under them so that a regression fails the test.
THRESHOLDS = {
    "dns.found": 97.0, "dns.extra": 99.5,
    "dns.trans_id": 99.9, "dns.query": 99.5, "dns.qtype": 99.9, "dns.rcode": 99.9,
    "dns.answers": 99.0, "dns.TTLs": 99.0,
    "tls.found": 84.0, "tls.found_direct": 99.0, "tls.extra": 99.0,
    "tls.server_name": 99.0, "tls.version": 99.0, "tls.cipher": 99.0, "tls.next_protocol": 99.0,
    "tls.curve": 95.0, "tls.ja3": 99.0, "tls.ja3s": 99.0, "tls.ja4": 99.0,
    "tls.cert_chain_fps": 95.0, "tls.subject": 95.0, "tls.issuer": 95.0,
}


# ---- tshark's JSON ----------------------------------------------------------------------------

def values(node, key):
    """Every value of `key` anywhere under node, in document order (lists flattened)."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                out.extend(v if isinstance(v, list) else [v])
            else:
                out.extend(values(v, key))
    elif isinstance(node, list):
        for v in node:
            out.extend(values(v, key))
    return out


def first(node, key):
    v = values(node, key)
    return v[0] if v else None


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def num(v):
    if v is None:
        return None
    return int(v, 16) if str(v).startswith("0x") else int(v)


def endpoints(layers):
    """(transport, frozenset of (addr, port)) of the innermost IP and transport layers."""
    ip = as_list(layers.get("ipv6")) + as_list(layers.get("ip"))
    src = dst = None
    # innermost: the last ip or ipv6 layer tshark lists (tunnels list the outer first)
    order = [k for k in layers.keys() if k in ("ip", "ipv6")]
    if order:
        inner = as_list(layers[order[-1]])[-1]
        pre = "ipv6" if order[-1] == "ipv6" else "ip"
        src, dst = inner.get(pre + ".src"), inner.get(pre + ".dst")
    elif ip:
        src, dst = ip[-1].get("ip.src"), ip[-1].get("ip.dst")
    for proto in ("tcp", "udp"):
        if proto in layers:
            t = as_list(layers[proto])[-1]
            return proto, norm_addr(src), t.get(proto + ".srcport"), norm_addr(dst), t.get(proto + ".dstport")
    return None, norm_addr(src), None, norm_addr(dst), None


def tcp_stream(layers):
    t = as_list(layers.get("tcp"))
    return t[-1].get("tcp.stream") if t else None


def norm_addr(a):
    try:
        return str(ipaddress.ip_address(a)) if a else a
    except ValueError:
        return a


def pair(src, sport, dst, dport):
    return frozenset([(src, str(sport)), (dst, str(dport))])


ANSWER_FIELDS = {1: "dns.a", 28: "dns.aaaa", 5: "dns.cname", 2: "dns.ns", 12: "dns.ptr.domain_name",
                 15: "dns.mx.mail_exchange", 33: "dns.srv.target", 6: "dns.soa.mname"}
SKIPPED_TYPES = {11, 41, 250}  # WKS, OPT, TSIG: Zeek (and moonshark) log no answer for them


BAD_NAME = "<bad name>"


def dns_name(v):
    """tshark's name as moonshark writes it: lower case, "" for the root, \\ooo escapes undone;
    tshark's placeholders for names it could not read (<name too long>, <... loops>) become
    BAD_NAME."""
    if v is None:
        return None
    if v == "<Root>":
        return ""
    if v.startswith("<") and v.endswith(">"):
        return BAD_NAME
    v = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), v)
    return v.lower()


def dns_messages(layers, ts):
    out = []
    protos = as_list(layers.get("frame"))[0].get("frame.protocols", "") if layers.get("frame") else ""
    if re.search(r"icmp(v6)?:.*(dns|mdns|llmnr)", protos):
        return out  # a DNS message quoted in an ICMP error, not one delivered
    proto, src, sport, dst, dport = endpoints(layers)
    for lname in ("dns", "mdns", "llmnr"):
        for d in as_list(layers.get(lname)):
            if not isinstance(d, dict) or "dns.id" not in d:
                continue
            m = {"ts": ts, "proto": proto, "pair": [src, sport, dst, dport], "id": num(d["dns.id"]),
                 "qr": first(d, "dns.flags.response") == "1"}
            q = d.get("Queries")
            if isinstance(q, dict) and q:
                q0 = list(q.values())[0]
                q0 = q0[0] if isinstance(q0, list) else q0
                m["query"] = dns_name(q0.get("dns.qry.name"))
                m["qtype"] = num(q0.get("dns.qry.type"))
            if m["qr"]:
                m["rcode"] = num(first(d, "dns.flags.rcode"))
                answers = []
                for a in as_list(d.get("Answers")):
                    for _, rr in a.items():
                        for rr1 in as_list(rr):
                            if not isinstance(rr1, dict):
                                continue
                            t = num(rr1.get("dns.resp.type"))
                            if t in SKIPPED_TYPES:
                                continue
                            val = None
                            if t in ANSWER_FIELDS:
                                val = rr1.get(ANSWER_FIELDS[t])
                                if t in (1, 28):
                                    val = norm_addr(val)
                                else:
                                    val = dns_name(val)
                            elif t == 16:
                                txt = as_list(rr1.get("dns.txt"))
                                val = " ".join("TXT %d %s" % (len(x.encode("utf-8", "surrogateescape")), x) for x in txt)
                            ttl = rr1.get("dns.resp.ttl")
                            answers.append([t, val, int(ttl) if ttl is not None else None])
                m["answers"] = answers
            out.append(m)
    return out


def is_grease(v):
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


def tls_handshakes(layers, ts):
    """The hellos and certificates of one frame: list of dicts with 'type'."""
    proto, src, sport, dst, dport = endpoints(layers)
    if proto != "tcp":
        return []
    stream = tcp_stream(layers)
    tcpl = as_list(layers.get("tcp"))[-1]
    # where the frame's TLS records begin in the stream (relative sequence numbers: 1 is the first
    # byte), counting back from the segment's end: 1 for a connection that starts with TLS
    rec_bytes = sum(int(x) + 5 for x in values(layers.get("tls"), "tls.record.length"))
    nxt = tcpl.get("tcp.nxtseq")
    start = int(nxt) - rec_bytes if nxt is not None else None
    out = []
    for t in as_list(layers.get("tls")):
        for hs in values(t, "tls.handshake"):
            for h in as_list(hs):
                if not isinstance(h, dict):
                    continue
                mtype = num(h.get("tls.handshake.type"))
                e = {"ts": ts, "pair": [src, sport, dst, dport], "type": mtype, "stream": stream}
                if mtype == 1:
                    e["start"] = start
                    e["sni"] = first(h, "tls.handshake.extensions_server_name")
                    e["ja3"] = first(h, "tls.handshake.ja3")
                    e["ja3_full"] = first(h, "tls.handshake.ja3_full")
                    e["version"] = num(h.get("tls.handshake.version"))
                    e["ciphers"] = [num(c) for c in values(h.get("tls.handshake.ciphersuites", {}),
                                                           "tls.handshake.ciphersuite")]
                    e["exts"] = [num(x) for x in values(h, "tls.handshake.extension.type")]
                    e["sigalgs"] = []
                    for v in h.values():
                        for ext in as_list(v):
                            if isinstance(ext, dict) and ext.get("tls.handshake.extension.type") == "13":
                                e["sigalgs"] += [num(x) for x in values(ext, "tls.handshake.sig_hash_alg")]
                    e["versions"] = [num(x) for x in values(h, "tls.handshake.extensions.supported_version")]
                    e["alpn"] = values(h, "tls.handshake.extensions_alpn_str")
                elif mtype == 2:
                    e["version"] = num(h.get("tls.handshake.version"))
                    e["selected"] = num(first(h, "tls.handshake.extensions.supported_version"))
                    e["cipher"] = num(first(h, "tls.handshake.ciphersuite"))
                    e["alpn"] = first(h, "tls.handshake.extensions_alpn_str")
                    e["group"] = num(first(h, "tls.handshake.extensions_key_share_group"))
                    e["ja3s"] = first(h, "tls.handshake.ja3s")
                    e["random"] = h.get("tls.handshake.random")
                elif mtype == 11:
                    e["certs"] = [c.replace(":", "") for c in values(h, "tls.handshake.certificate")]
                elif mtype == 12:
                    e["curve"] = num(first(h, "tls.handshake.server_named_curve"))
                else:
                    continue
                out.append(e)
    return out


def tshark_version():
    try:
        p = subprocess.run(["tshark", "--version"], capture_output=True, timeout=60)
        return p.stdout.decode("utf-8", "replace").splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return None


def tshark_reading(pcap, cache_dir, tver):
    st = os.stat(pcap)
    key = hashlib.sha1(("%s|%d|%d|%s|%s" % (pcap, st.st_size, int(st.st_mtime), tver, EXTRACT_VERSION))
                       .encode()).hexdigest()
    cpath = os.path.join(cache_dir, key + ".json.gz") if cache_dir else None
    if cpath and os.path.exists(cpath):
        with gzip.open(cpath, "rt", encoding="utf-8", errors="surrogateescape") as f:
            return json.load(f)
    cmd = ["tshark", "-n", "-r", pcap, "-T", "json", "--no-duplicate-keys",
           "-J", "frame ip ipv6 tcp udp dns mdns llmnr tls", "-Y", "dns or mdns or llmnr or tls.handshake"]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=300)
        frames = json.loads(p.stdout.decode("utf-8", "surrogateescape") or "[]")
    except (subprocess.TimeoutExpired, ValueError, OSError):
        frames = []
    reading = {"dns": [], "tls": []}
    for fr in frames:
        layers = fr.get("_source", {}).get("layers", {})
        f = as_list(layers.get("frame"))[0] if layers.get("frame") else {}
        ts = round(float(f.get("frame.time_epoch", "0")) * 1e6)
        reading["dns"].extend(dns_messages(layers, ts))
        reading["tls"].extend(tls_handshakes(layers, ts))
    if cpath:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = cpath + ".tmp%d" % os.getpid()
        with gzip.open(tmp, "wt", encoding="utf-8", errors="surrogateescape") as f:
            json.dump(reading, f)
        os.replace(tmp, cpath)
    return reading


# ---- moonshark ------------------------------------------------------------------------------

def moonshark_logs(binary, pcap):
    with tempfile.TemporaryDirectory() as d:
        try:
            p = subprocess.run([binary, "all", "-w", d, "--json", "--no-progress", "-q", pcap],
                               capture_output=True, timeout=300)
            rc = p.returncode
        except (subprocess.TimeoutExpired, OSError):
            return {"dns": [], "ssl": []}, -1
        out = {}
        for name in ("dns", "ssl"):
            recs = []
            path = os.path.join(d, name + ".log")
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="surrogateescape") as f:
                    for line in f:
                        if line.startswith("{"):
                            try:
                                recs.append(json.loads(line))
                            except ValueError:
                                pass
            out[name] = recs
        return out, rc


# ---- comparing --------------------------------------------------------------------------------

def us(x):
    return round(float(x) * 1e6)


def rec_pair(r):
    return pair(norm_addr(r["id.orig_h"]), r["id.orig_p"], norm_addr(r["id.resp_h"]), r["id.resp_p"])


def answers_equal(mine, theirs):
    """The answer lists hold the same entries (tshark's JSON groups records with equal summaries,
    so order is not compared); a tshark entry without a value (a type not mapped here) matches
    any one entry."""
    if len(mine) != len(theirs):
        return False
    rest = sorted(mine)
    for _, val, _ in theirs:
        if val is not None:
            if val not in rest:
                return False
            rest.remove(val)
    return True


class Tally:
    def __init__(self):
        self.n = collections.Counter()
        self.ok = collections.Counter()
        self.diffs = []

    def field(self, name, mine, theirs, where):
        self.n[name] += 1
        if mine == theirs:
            self.ok[name] += 1
        else:
            self.diffs.append((name, where, mine, theirs))

    def count(self, name, good, where=None, what=None):
        self.n[name] += 1
        if good:
            self.ok[name] += 1
        elif where is not None:
            self.diffs.append((name, where, what, None))


def find_message(cands, m):
    """The unused candidate [time, record, used] for tshark's message m: over UDP at the same
    microsecond (2 us of rounding); over TCP moonshark's time is the message's first byte and
    tshark's the frame that completed it, so the latest one at or before it, within 60 s. The
    same transaction id wins a tie."""
    best = None
    for cand in cands:
        if cand[2]:
            continue
        d = m["ts"] - cand[0]
        if m["proto"] == "tcp":
            if d < -2 or d > 60000000:
                continue
            d = abs(d)
        elif abs(d) > 2:
            continue
        score = (abs(d), cand[1].get("trans_id") != m["id"])
        if best is None or score < best[0]:
            best = (score, cand)
    return best[1] if best else None


def compare_dns(rel, reading, recs, tally):
    mine = collections.defaultdict(list)  # (proto, pair, is reply) -> [[time_us, record, used]]
    for r in recs:
        if r.get("trans_id") is None or "not_dns" in (r.get("tags") or []):
            continue  # not DNS by moonshark's reading either (counted apart below)
        k = rec_pair(r)
        ts = us(r["ts"])
        has_reply = r.get("rcode") is not None
        if not has_reply or r.get("rtt") is not None:
            mine[(r["proto"], k, False)].append([ts, r, False])
        if has_reply:
            t = ts + (us(r["rtt"]) if r.get("rtt") is not None else 0)
            mine[(r["proto"], k, True)].append([t, r, False])
    for m in reading["dns"]:
        if m["id"] is None:
            continue
        where = "%s %s id=%s %s at %.6f" % (rel, "reply" if m["qr"] else "query", m["id"], m.get("query"),
                                            m["ts"] / 1e6)
        hit = find_message(mine.get((m["proto"], pair(*m["pair"]), m["qr"]), []), m)
        tally.count("dns.found", hit is not None, where, "not logged")
        if hit is None:
            continue
        hit[2] = True
        r = hit[1]
        tally.field("dns.trans_id", r.get("trans_id"), m["id"], where)
        if "query" in m:
            if m["query"] == BAD_NAME:
                tally.field("dns.query", r.get("query") is None and "bad_name" in (r.get("tags") or []), True,
                            where)
            else:
                tally.field("dns.query", r.get("query"), m["query"], where)
                tally.field("dns.qtype", r.get("qtype"), m["qtype"], where)
        if m["qr"]:
            tally.field("dns.rcode", r.get("rcode"), m["rcode"], where)
            ans = r.get("answers") or []
            theirs = m["answers"]
            tally.n["dns.answers"] += 1
            if answers_equal(ans, theirs):
                tally.ok["dns.answers"] += 1
            else:
                tally.diffs.append(("dns.answers", where, ans, [a[1] for a in theirs]))
            ttls = sorted(round(float(t)) for t in (r.get("TTLs") or []))
            tally.field("dns.TTLs", ttls, sorted(a[2] for a in theirs if a[2] is not None), where)
    for key, cands in mine.items():
        for c in cands:
            tally.count("dns.extra", c[2], "%s %s id=%s %s at %.6f" % (
                rel, "reply" if key[2] else "query", c[1].get("trans_id"), c[1].get("query"), c[0] / 1e6),
                "logged, not in tshark")


VERSION_NAMES = {0x0300: "SSLv3", 0x0301: "TLSv10", 0x0302: "TLSv11", 0x0303: "TLSv12", 0x0304: "TLSv13"}
HRR = "cf:21:ad:74:e5:9a:61:11:be:1d:8c:02:1e:65:b8:91:c2:a2:11:16:7a:bb:8c:5e:07:9e:09:e2:c8:a8:33:9c"


def version_name(v):
    if v is None:
        return None
    if v in VERSION_NAMES:
        return VERSION_NAMES[v]
    if 0x7f00 <= v <= 0x7fff:
        return "TLSv13-draft%02d" % (v & 0xff)
    return "unknown-%d" % v


def ja4_of(ch):
    """JA4 of a ClientHello from tshark's fields, written from FoxIO's spec (technical_details/JA4.md)."""
    vers = [v for v in ch["versions"] if not is_grease(v)]
    version = max(vers) if vers else ch["version"]
    vmap = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
            0xfeff: "d1", 0xfefd: "d2", 0xfefc: "d3"}
    ciphers = sorted(c for c in ch["ciphers"] if not is_grease(c))
    exts = [e for e in ch["exts"] if not is_grease(e)]
    alpn = ch["alpn"][0] if ch["alpn"] else ""
    if not alpn:
        a2 = "00"
    else:
        raw = alpn.encode("utf-8", "surrogateescape")
        if chr(raw[0]).isalnum() and chr(raw[-1]).isalnum() and raw[0] < 128 and raw[-1] < 128:
            a2 = chr(raw[0]) + chr(raw[-1])
        else:
            h = raw.hex()
            a2 = h[0] + h[-1]
    a = "t%s%s%02d%02d%s" % (vmap.get(version, "00"), "d" if 0 in exts else "i", min(len(ciphers), 99),
                             min(len(exts), 99), a2)
    b = hashlib.sha256(",".join("%04x" % c for c in ciphers).encode()).hexdigest()[:12] if ciphers else "0" * 12
    se = sorted(e for e in exts if e not in (0, 0x10))
    sig = [s for s in ch["sigalgs"] if not is_grease(s)]
    if se:
        text = ",".join("%04x" % e for e in se)
        if sig:
            text += "_" + ",".join("%04x" % s for s in sig)
        c = hashlib.sha256(text.encode()).hexdigest()[:12]
    else:
        c = "0" * 12
    return "%s_%s_%s" % (a, b, c)


def openssl_names(der_hex):
    der = bytes.fromhex(der_hex)
    out = []
    for what in ("-subject", "-issuer"):
        try:
            p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", what, "-nameopt", "RFC2253"],
                               input=der, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None, None
        if p.returncode != 0:
            return None, None
        line = p.stdout.decode("utf-8", "surrogateescape").strip()
        out.append(line.split("=", 1)[1] if "=" in line else line)
    return out[0], out[1]


def compare_tls(rel, reading, recs, tally, cipher_names, have_openssl):
    conns = collections.OrderedDict()  # tcp stream -> the connection's hellos and certificates
    for e in reading["tls"]:
        c = conns.setdefault(e["stream"], {"ts": e["ts"], "pair": pair(*e["pair"])})
        if e["type"] == 1:
            c.setdefault("ch", e)
            c.setdefault("client", (e["pair"][0], e["pair"][1]))
        elif e["type"] == 2:
            if "sh" not in c or c["sh"].get("random") == HRR:
                c["sh"] = e
        elif e["type"] == 11:
            server_side = "client" not in c or (e["pair"][0], e["pair"][1]) != c["client"]
            if server_side and "certs" not in c:
                c["certs"] = e["certs"]
        elif e["type"] == 12 and e.get("curve") is not None:
            c["curve"] = e["curve"]
    mine = collections.defaultdict(list)  # endpoint pair -> [[time_us, record, used]] in time order
    for r in recs:
        mine[rec_pair(r)].append([us(r["ts"]), r, False])
    for c in conns.values():
        if "ch" not in c and "sh" not in c:
            continue
        p = c["pair"]
        where = "%s %s at %.6f" % (rel, " ".join("%s:%s" % x for x in sorted(p)), c["ts"] / 1e6)
        hit = next((cand for cand in mine.get(p, []) if not cand[2]), None)
        tally.count("tls.found", hit is not None, where, "not logged")
        # TLS from the connection's first byte (not after STARTTLS, CONNECT or SOCKS)
        direct = "ch" not in c or c["ch"].get("start") in (None, 1)
        if direct:
            tally.count("tls.found_direct", hit is not None)
        if hit is None:
            continue
        hit[2] = True
        r = hit[1]
        ch, sh = c.get("ch"), c.get("sh")
        if ch:
            if ch.get("sni") is not None:
                tally.field("tls.server_name", r.get("server_name"), ch["sni"], where)
            if ch.get("ja3"):
                tally.field("tls.ja3", r.get("ja3"), ch["ja3"], where)
            tally.field("tls.ja4", r.get("ja4"), ja4_of(ch), where)
        if sh:
            tally.field("tls.version", r.get("version"), version_name(sh.get("selected") or sh["version"]), where)
            if sh.get("cipher") is not None:
                tally.field("tls.cipher", r.get("cipher"), cipher_names.get(sh["cipher"], "unknown-%d" % sh["cipher"]),
                            where)
            if sh.get("alpn") is not None:
                tally.field("tls.next_protocol", r.get("next_protocol"), sh["alpn"], where)
            # tshark stops at the compatibility CCS after a HelloRetryRequest and never reads the
            # real ServerHello; its JA3S is then the retry request's, not comparable
            if sh.get("ja3s") and sh.get("random") != HRR:
                tally.field("tls.ja3s", r.get("ja3s"), sh["ja3s"], where)
        curve = c.get("curve") if c.get("curve") is not None else (sh or {}).get("group")
        if curve is not None:
            tally.field("tls.curve", curve_code(r.get("curve")), curve, where)
        if c.get("certs"):
            fps = [hashlib.sha256(bytes.fromhex(x)).hexdigest() for x in c["certs"]]
            tally.field("tls.cert_chain_fps", r.get("cert_chain_fps"), fps, where)
            if have_openssl:
                subj, iss = openssl_names(c["certs"][0])
                if subj is not None:
                    tally.field("tls.subject", r.get("subject"), subj, where)
                    tally.field("tls.issuer", r.get("issuer"), iss, where)
    for p, cands in mine.items():
        for cand in cands:
            r = cand[1]
            if r.get("version") is None and r.get("ja3") is None:
                continue  # neither hello was read: nothing tshark would list either
            tally.count("tls.extra", cand[2], "%s %s at %.6f" % (rel, " ".join("%s:%s" % x for x in sorted(p)),
                                                                cand[0] / 1e6), "logged, not in tshark")


CURVES = {}


def curve_code(name):
    return CURVES.get(name, name)


def load_curve_names(top):
    """name -> code from lua/tls_names.lua's groups (to compare curve numbers with tshark's)."""
    path = os.path.join(top, "lua", "tls_names.lua")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return
    block = text.split("names.groups = {", 1)[-1].split("}", 1)[0]
    for code, name in re.findall(r'\[(0x[0-9a-f]+|\d+)\]\s*=\s*"([^"]+)"', block):
        CURVES[name] = int(code, 0)


def tshark_cipher_names():
    out = {}
    try:
        p = subprocess.run(["tshark", "-G", "values"], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return out
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        c = line.split("\t")
        if len(c) >= 4 and c[0] == "V" and c[1] == "tls.handshake.ciphersuite":
            out[int(c[2])] = c[3]
    return out


def candidates(pcaps):
    dns, tls = [], []
    for root, _, files in os.walk(pcaps):
        for fn in sorted(files):
            if not fn.endswith(".layers.tsv"):
                continue
            path = os.path.join(root, fn)
            try:
                text = open(path, encoding="utf-8", errors="replace").read()
            except OSError:
                continue
            cap = path[: -len(".layers.tsv")]
            if not os.path.exists(cap):
                continue
            if re.search(r":(dns|mdns|llmnr)(:|$)", text, re.M):
                dns.append(cap)
            if re.search(r":tcp:(.*:)?tls(:|$)", text, re.M):
                tls.append(cap)
    return sorted(set(dns)), sorted(set(tls))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("moonshark")
    ap.add_argument("pcaps")
    ap.add_argument("--cache")
    ap.add_argument("--details")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    tver = tshark_version()
    if not tver:
        print("dns_tls_oracle: SKIP: tshark not found")
        return 0
    have_openssl = subprocess.run(["sh", "-c", "command -v openssl"], capture_output=True).returncode == 0
    load_curve_names(top)
    cipher_names = tshark_cipher_names()
    dns_caps, tls_caps = candidates(args.pcaps)
    caps = sorted(set(dns_caps) | set(tls_caps))

    def one(cap):
        reading = tshark_reading(cap, args.cache, tver)
        logs, rc = moonshark_logs(args.moonshark, cap)
        return cap, reading, logs, rc

    tally = Tally()
    failures = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        for cap, reading, logs, rc in ex.map(one, caps):
            rel = os.path.relpath(cap, args.pcaps)
            if rc not in (0, 1):
                failures.append("%s: moonshark exit %s" % (rel, rc))
            compare_dns(rel, reading, logs["dns"], tally)
            compare_tls(rel, reading, logs["ssl"], tally, cipher_names, have_openssl)
    names = sorted(tally.n)
    print("dns_tls_oracle: %d captures with DNS, %d with TLS over TCP (%s)" % (len(dns_caps), len(tls_caps), tver))
    bad = 0
    for name in names:
        pct = 100.0 * tally.ok[name] / tally.n[name] if tally.n[name] else 100.0
        want = THRESHOLDS.get(name, 100.0)
        mark = "ok" if pct >= want else "BELOW %.1f%%" % want
        if pct < want:
            bad += 1
        print("dns_tls_oracle: %-22s %6d of %6d  %7.3f%%  %s" % (name, tally.ok[name], tally.n[name], pct, mark))
    if args.details:
        with open(args.details, "w", encoding="utf-8", errors="surrogateescape") as f:
            for name, where, mine, theirs in tally.diffs:
                f.write("%s\t%s\tmoonshark=%r\ttshark=%r\n" % (name, where, mine, theirs))
        print("dns_tls_oracle: every difference is listed in %s" % args.details)
    for f in failures:
        print("dns_tls_oracle: FAIL %s" % f)
    ok = bad == 0 and not failures
    print("dns_tls_oracle: %d passed, %d failed" % (len(names) - bad, bad + len(failures)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
