#!/usr/bin/env python3
"""check_plans.py [BYTE_LIMIT] < TRACE — checks the replay plans `moonshark check` printed with
MOONSHARK_CHECK_TRACE=1 (one line per call: UID SEGMENTATION step I: DIR KIND [FROM, TO) gap N).
For every connection and segmentation, against the plan as captured:
  - each direction's bytes are presented once each, in order, from 0 to its end, with the gaps at
    the same offsets and of the same sizes, and its end where it was;
  - no server byte comes before a client byte captured before it (server-early: the reverse);
  - 'bytes' calls carry one byte each (below BYTE_LIMIT); random sizes are 1 to 4096 bytes.
Prints one summary line and each violation; exit 1 on a violation."""
import collections
import re
import sys

LINE = re.compile(r"^(\S+) (\S+) step (\d+): (client|server) (data|last|gap|datagram) \[(\d+), (\d+)\) gap (\d+)$")


def main():
    byte_limit = int(sys.argv[1]) if len(sys.argv) > 1 else 65536
    plans = collections.defaultdict(list)
    for line in sys.stdin:
        m = LINE.match(line.rstrip("\n"))
        if m:
            uid, seg, _, d, kind, a, b, gap = m.groups()
            plans[(uid, seg)].append((0 if d == "client" else 1, kind, int(a), int(b), int(gap)))
    bad = []
    nplans = 0
    for (uid, seg), steps in sorted(plans.items()):
        ref = plans.get((uid, "captured"))
        if ref is None or seg == "captured" or any(k == "datagram" for _, k, _, _, _ in steps):
            continue
        nplans += 1
        where = f"{uid} {seg}"
        # the reference: event index of every data step, and where each direction ends
        events = [[], []]  # per dir: (event index, from, to)
        for i, (d, kind, a, b, _) in enumerate(ref):
            if kind == "data":
                events[d].append((i, a, b))
        for d in (0, 1):
            want = [(k, a, g) for dd, k, a, b, g in ref if dd == d and k in ("gap", "last")]
            got = [(k, a, g) for dd, k, a, b, g in steps if dd == d and k in ("gap", "last")]
            if want != got:
                bad.append(f"{where}: dir {d}: gaps/end {got} instead of {want}")
            pos = 0
            for dd, k, a, b, g in steps:
                if dd != d or k != "data":
                    continue
                if a != pos or b <= a:
                    bad.append(f"{where}: dir {d}: call [{a}, {b}) after byte {pos}")
                    break
                if seg == "bytes" and a < byte_limit and b - a != 1:
                    bad.append(f"{where}: a 'bytes' call of {b - a} bytes at {a}")
                if seg in ("random", "random-lag", "server-early") and b - a > 4096:
                    bad.append(f"{where}: a random call of {b - a} bytes")
                pos = b
            end = max([b for _, _, b in events[d]], default=0)
            if pos != end:
                bad.append(f"{where}: dir {d}: presented up to {pos}, the direction has {end}")

        def event_of(d, off):
            for i, a, b in events[d]:
                if a <= off < b:
                    return i
            return None

        early = 1 if seg == "server-early" else 0     # the direction that may come early
        late = 1 - early
        done_early = 0
        for d, k, a, b, _ in steps:
            if k != "data":
                continue
            if d == early:
                done_early = b
                continue
            ev = event_of(late, b - 1)
            need = max([to for i, _, to in events[early] if i < ev], default=0)
            if done_early < need:
                bad.append(f"{where}: dir {late} bytes [{a}, {b}) come before dir {early} byte {need - 1}, "
                           f"captured before them")
                break
    for b in bad[:20]:
        print("check_plans: " + b)
    print(f"check_plans: {nplans} plans checked, {len(bad)} violation(s)")
    return 1 if bad or nplans == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
