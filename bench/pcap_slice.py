#!/usr/bin/env python3
"""pcap_slice.py — the head of a classic pcap file, whole records only, for bench/profile.sh.

  pcap_slice.py IN OUT BYTES [--drop-acks]
      copies the global header and the records of IN's first BYTES (K/M/G binary suffixes; a
      record crossing that mark is left out, with all after it); --drop-acks leaves out pure ACKs (Ethernet, optional 802.1Q tags, IPv4 or IPv6,
      TCP with no payload and no flag but ACK), so the difference of two runs is what those
      frames cost. Prints "records kept, records dropped, bytes" on stderr.

A pure ACK carries no stream bytes, so a reassembler gives the same streams with or without it.
"""
import struct
import sys


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:].upper(), 1)
    return int(float(s[:-1] if mult > 1 else s) * mult)


def pure_ack(frame):
    off, etype = 12, None
    while off + 2 <= len(frame):
        etype = struct.unpack_from("!H", frame, off)[0]
        if etype in (0x8100, 0x88a8):
            off += 4
            continue
        off += 2
        break
    if etype == 0x0800 and off + 20 <= len(frame):
        ihl = (frame[off] & 0x0F) * 4
        total = struct.unpack_from("!H", frame, off + 2)[0]
        frag = struct.unpack_from("!H", frame, off + 6)[0]
        if frame[off + 9] != 6 or frag & 0x3FFF:
            return False
        tcp, end = off + ihl, off + total
    elif etype == 0x86DD and off + 40 <= len(frame):
        if frame[off + 6] != 6:  # extension headers: not a plain TCP segment, keep it
            return False
        tcp, end = off + 40, off + 40 + struct.unpack_from("!H", frame, off + 4)[0]
    else:
        return False
    if tcp + 20 > len(frame):
        return False
    doff = (frame[tcp + 12] >> 4) * 4
    flags = frame[tcp + 13]
    return flags == 0x10 and end - tcp - doff == 0


def main():
    args = [a for a in sys.argv[1:] if a != "--drop-acks"]
    if len(args) != 3:
        sys.exit(__doc__)
    drop = "--drop-acks" in sys.argv
    src, dst, limit = args[0], args[1], parse_size(args[2])
    with open(src, "rb") as f, open(dst, "wb") as out:
        head = f.read(24)
        magic = head[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = ">"
        else:
            sys.exit("pcap_slice.py: %s is not a classic pcap file" % src)
        out.write(head)
        pos, size, kept, dropped = 24, 24, 0, 0
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            caplen = struct.unpack(endian + "IIII", rec)[2]
            data = f.read(caplen)
            if len(data) < caplen or pos + 16 + caplen > limit:
                break
            pos += 16 + caplen
            if drop and pure_ack(data):
                dropped += 1
                continue
            out.write(rec)
            out.write(data)
            size += 16 + caplen
            kept += 1
    print("pcap_slice.py: %d records kept, %d dropped, %d bytes" % (kept, dropped, size),
          file=sys.stderr)


if __name__ == "__main__":
    main()
