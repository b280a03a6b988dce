#!/usr/bin/env python3
"""truth.py — puts `make bench`'s logs and manifests into the formats ../shared/peers/compare.py reads.

  truth.py manifest MANIFEST > TRUTH.tsv
      tools/gen_capture's manifest (client_ip client_port server_ip server_port method host uri
      status ...) as a truth file in gen_http_pcap.py's column order (src sport dst dport method
      host uri status ts req_body resp_body te conn ipv conn_id); the columns the own generator
      does not know are '-', conn is 'fin' (it writes full handshakes and FIN teardowns).
  truth.py jsonl LOG > TSV
      `moonshark http --json` records (Zeek names id.orig_h id.orig_p id.resp_h id.resp_p method
      host uri status_code) as tab-separated src sport dst dport method host uri status.
      A line that is not such a record becomes an empty line, which compare.py counts as unparsed.
  truth.py tshark LOG > TSV
      tshark `-T fields -e ip.src -e tcp.srcport -e http.request.method -e http.host
      -e http.request.uri -e ipv6.src` output, one line per request: a frame that ends several
      pipelined requests gives one line with each field's values joined by ',' (tshark's default
      aggregator); such a line is split when method, host and uri hold the same number of values
      (methods never hold a ','), so tshark is not counted as missing what it found.

So every request logger of the bench, on both workloads, is matched by the same multiset
comparison (compare.py); tests/e2e/generated_manifest.py stays the stricter check of moonshark
on the own workload (status and body lengths).
"""
import ipaddress
import json
import sys


def norm_ip(s):
    # both generators and moonshark print RFC 5952 text; normalise anyway so a zero-padded or
    # upper-case form cannot turn a found request into a miss
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s


def manifest(path):
    out = sys.stdout
    with open(path, encoding="utf-8") as f:
        col = {name: i for i, name in enumerate(f.readline().rstrip("\n").split("\t"))}
        need = ("client_ip", "client_port", "server_ip", "server_port", "method", "host", "uri",
                "status")
        missing = [n for n in need if n not in col]
        if missing:
            sys.exit(f"truth.py: {path}: no column {', '.join(missing)} in the header")
        out.write("#src\tsport\tdst\tdport\tmethod\thost\turi\tstatus\tts\treq_body\tresp_body"
                  "\tte\tconn\tipv\tconn_id\n")
        for line in f:
            v = line.rstrip("\n").split("\t")
            src, dst = norm_ip(v[col["client_ip"]]), norm_ip(v[col["server_ip"]])
            body = [v[col[c]] if c in col else "-" for c in ("req_body_len", "resp_body_len")]
            ipv = "6" if ":" in src else "4"
            out.write("\t".join([src, v[col["client_port"]], dst, v[col["server_port"]],
                                 v[col["method"]], v[col["host"]], v[col["uri"]],
                                 v[col["status"]], "-", body[0], body[1], "-", "fin", ipv, "-"])
                      + "\n")


def field(r, name):
    v = r.get(name)
    return "" if v is None or v == "-" else str(v)


def jsonl(path):
    out = sys.stdout
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                r = json.loads(line)
                row = [norm_ip(str(r["id.orig_h"])), str(r["id.orig_p"]),
                       norm_ip(str(r["id.resp_h"])), str(r["id.resp_p"]),
                       field(r, "method"), field(r, "host"), field(r, "uri"),
                       field(r, "status_code")]
            except (ValueError, KeyError, TypeError, AttributeError):
                out.write("\n")
                continue
            # a tab or newline inside a field would shift compare.py's columns
            out.write("\t".join(c.replace("\t", " ").replace("\n", " ") for c in row) + "\n")


def tshark(path):
    out = sys.stdout
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            v = line.rstrip("\n").split("\t")
            if len(v) == 6 and "," in v[2]:
                parts = [p.split(",") for p in v[2:5]]
                if len(parts[0]) == len(parts[1]) == len(parts[2]):
                    for m, h, u in zip(*parts):
                        out.write("\t".join([v[0], v[1], m, h, u, v[5]]) + "\n")
                    continue
            out.write(line if line.endswith("\n") else line + "\n")


def main():
    cmds = {"manifest": manifest, "jsonl": jsonl, "tshark": tshark}
    if len(sys.argv) != 3 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    main()
