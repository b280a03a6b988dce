#!/usr/bin/env python3
"""make_cases.py — writes the byte files of the sample parsers' binary cases (run from this
directory): DNS messages built field by field (dns_queries/), and a real TLS 1.2 and TLS 1.3
handshake between Python's ssl module on both ends, through memory BIOs, with a self-signed
certificate made by openssl (tls_sni/). The TLS bytes hold fresh randoms and keys on every
run; what the parser logs of them (SNI, ALPN, version, cipher) does not change."""
import os
import ssl
import struct
import subprocess
import tempfile


def write(case, client, server, conf=None):
    os.makedirs(case, exist_ok=True)
    with open(os.path.join(case, "client.bin"), "wb") as f:
        f.write(client)
    with open(os.path.join(case, "server.bin"), "wb") as f:
        f.write(server)
    if conf:
        with open(os.path.join(case, "case.conf"), "w") as f:
            f.write(conf)


def name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"


def dns_cases():
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + name("example.com") + struct.pack(">HH", 1, 1)
    a = (struct.pack(">HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0) + name("example.com") + struct.pack(">HH", 1, 1) +
         b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + bytes([93, 184, 216, 34]))
    write("dns_queries/a-record", q, a, "udp\n")
    q = struct.pack(">HHHHHH", 0xbeef, 0x0100, 1, 0, 0, 0) + name("nowhere.invalid") + struct.pack(">HH", 28, 1)
    nx = struct.pack(">HHHHHH", 0xbeef, 0x8183, 1, 0, 0, 0) + name("nowhere.invalid") + struct.pack(">HH", 28, 1)
    write("dns_queries/nxdomain-aaaa", q, nx, "udp\n")
    # a name whose compression pointer points at itself: the parser must not loop
    bad = struct.pack(">HHHHHH", 0x0001, 0x8180, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack(">HH", 1, 1)
    write("dns_queries/pointer-loop", b"", bad, "udp\n")


def handshake(tmp, version, alpn, sni):
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem"))
    sctx.minimum_version = sctx.maximum_version = version
    sctx.set_alpn_protocols(alpn)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.minimum_version = cctx.maximum_version = version
    cctx.set_alpn_protocols(alpn)
    cin, cout, sin, sout = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = cctx.wrap_bio(cin, cout, server_hostname=sni)
    s = sctx.wrap_bio(sin, sout, server_side=True)
    client, server = b"", b""
    for _ in range(10):
        for side in (c, s):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        out = cout.read()
        client += out
        sin.write(out)
        out = sout.read()
        server += out
        cin.write(out)
    c.write(b"GET / HTTP/1.1\r\nHost: " + sni.encode() + b"\r\n\r\n")
    client += cout.read()
    return client, server


def tls_cases():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                        "-subj", "/CN=moonshark.test", "-keyout", os.path.join(tmp, "key.pem"),
                        "-out", os.path.join(tmp, "cert.pem")], check=True, capture_output=True)
        c, s = handshake(tmp, ssl.TLSVersion.TLSv1_2, ["http/1.1"], "www.moonshark.test")
        write("tls_sni/tls12-alpn", c, s)
        c, s = handshake(tmp, ssl.TLSVersion.TLSv1_3, ["h2", "http/1.1"], "api.moonshark.test")
        write("tls_sni/tls13-h2", c, s)


if __name__ == "__main__":
    dns_cases()
    tls_cases()
