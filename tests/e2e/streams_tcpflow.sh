#!/bin/sh
# `moonshark streams` against Debian's tcpflow 1.6.1, the reference for reassembled bytes: on a
# subset of ../shared/pcaps (zeek/http, zeek/tcp, suricata-verify stream/tcp/http captures), every
# direction moonshark saw whole (start seen, no gap: from DIR/streams.jsonl) and tcpflow wrote must
# be byte-identical, file name included. Directions only one tool wrote are listed, not failed
# (causes in docs/reassembly.md). Env: MOONSHARK (binary), PCAPS (captures folder),
# STREAMS_SET=all for every capture in PCAPS (slow). Prints `streams_tcpflow: N passed, N failed`.
set -u
: "${MOONSHARK:?set MOONSHARK to the moonshark binary}"
PCAPS=${PCAPS:-$(dirname "$0")/../../../shared/pcaps}
if [ ! -d "$PCAPS" ]; then
    echo "streams_tcpflow: SKIP: $PCAPS not found (the shared captures live beside the checkout)"
    exit 0
fi
if ! command -v tcpflow > /dev/null 2>&1; then
    echo "streams_tcpflow: SKIP: tcpflow is not installed (apt-get install tcpflow)"
    exit 0
fi
if ! command -v python3 > /dev/null 2>&1; then
    echo "streams_tcpflow: SKIP: python3 is not installed"
    exit 0
fi
PCAPS=$(cd "$PCAPS" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ "${STREAMS_SET:-}" = all ]; then
    find "$PCAPS" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.trace' -o -name '*.dump' \) | sort > "$tmp/list"
else
    { ls "$PCAPS"/zeek/http/*.pcap* "$PCAPS"/zeek/tcp/*.pcap* 2>/dev/null
      ls "$PCAPS"/suricata-verify/*.pcap* 2>/dev/null | grep -E '/(tcp-|stream-|http-[^e]|http-evader__http-evader-(1|2)[0-9]*__)'
    } | grep -vE '\.(tsv|txt|log)$' | sort > "$tmp/list"
fi
i=0
while IFS= read -r cap; do
    i=$((i + 1))
    mkdir -p "$tmp/$i/ms" "$tmp/$i/tf"
    "$MOONSHARK" streams "$cap" -o "$tmp/$i/ms" > /dev/null 2> "$tmp/$i/ms.err"
    echo $? > "$tmp/$i/ms.rc"
    (cd "$tmp/$i" && tcpflow -r "$cap" -o tf > /dev/null 2>&1)
    printf '%s\n' "$cap" > "$tmp/$i/name"
done < "$tmp/list"
python3 - "$tmp" "$i" << 'EOF'
import json, os, sys
tmp, n = sys.argv[1], int(sys.argv[2])
TRAILER = 50  # most link-layer bytes a frame carries after its IP packet (Ethernet pad 46 + FCS 4)
c = dict(passed=0, failed=0, partial_same=0, partial_diff=0, trailer=0, only_tf=0, only_ms=0)
notes = []
for i in range(1, n + 1):
    d = os.path.join(tmp, str(i))
    cap = open(os.path.join(d, 'name')).read().strip()
    short = '/'.join(cap.split('/')[-2:])
    rc = int(open(os.path.join(d, 'ms.rc')).read())
    if rc not in (0, 1):
        c['failed'] += 1
        notes.append(f'FAIL {short}: moonshark exited {rc}: {open(os.path.join(d, "ms.err")).read().strip()[:200]}')
        continue
    whole = set()
    try:
        for line in open(os.path.join(d, 'ms', 'streams.jsonl')):
            r = json.loads(line)
            if r['file'] and r['start_seen'] and r['missed_bytes'] == 0:
                whole.add(r['file'])
    except FileNotFoundError:
        pass
    tfdir = os.path.join(d, 'tf')
    tf = {f for f in os.listdir(tfdir) if not f.endswith('.xml') and os.path.getsize(os.path.join(tfdir, f)) > 0} \
        if os.path.isdir(tfdir) else set()
    ms = {f for f in os.listdir(os.path.join(d, 'ms')) if f != 'streams.jsonl'}
    for f in sorted(tf | ms):
        if f in tf and f in ms:
            a = open(os.path.join(tfdir, f), 'rb').read()
            b = open(os.path.join(d, 'ms', f), 'rb').read()
            if a == b:
                c['passed' if f in whole else 'partial_same'] += 1
                continue
            k = next((j for j in range(min(len(a), len(b))) if a[j] != b[j]), min(len(a), len(b)))
            last = len(a) - 1 if len(a) > len(b) else max(j for j in range(len(b)) if a[j] != b[j])
            if len(a) >= len(b) and last - k < TRAILER:
                # tcpflow 1.6.1 writes the link-layer padding/FCS of payload-less frames as data,
                # at their sequence number: past the end, or over bytes already written
                c['trailer'] += 1
                notes.append(f'trailer {short} {f}: tcpflow {len(a)} bytes, moonshark {len(b)}, same up to {k}')
            elif f in whole:
                c['failed'] += 1
                notes.append(f'FAIL {short} {f}: tcpflow {len(a)} bytes, moonshark {len(b)}, first difference at {k}')
            else:
                c['partial_diff'] += 1
                notes.append(f'gap-differs {short} {f}: tcpflow {len(a)} bytes, moonshark {len(b)}, first difference at {k}')
        elif f in tf:
            a = open(os.path.join(tfdir, f), 'rb').read()
            if len(a.lstrip(b'\0')) <= TRAILER:
                c['trailer'] += 1
                notes.append(f'trailer {short} {f}: only tcpflow, {len(a)} bytes of padding (and holes)')
            else:
                c['only_tf'] += 1
                notes.append(f'only-tcpflow {short} {f} ({len(a)} bytes)')
        else:
            c['only_ms'] += 1
            notes.append(f'only-moonshark {short} {f} ({os.path.getsize(os.path.join(d, "ms", f))} bytes)')
verbose = os.environ.get('VERBOSE')
for line in notes:
    if verbose or line.startswith('FAIL'):
        print('streams_tcpflow:', line)
print(f'streams_tcpflow: {n} captures. Also identical where moonshark saw a gap or no start: {c["partial_same"]}; '
      f'different there: {c["partial_diff"]}; tcpflow link-trailer artifacts: {c["trailer"]}; '
      f'written only by tcpflow: {c["only_tf"]}, only by moonshark: {c["only_ms"]} (VERBOSE=1 lists them)')
print(f'streams_tcpflow: {c["passed"]} passed, {c["failed"]} failed')
sys.exit(1 if c['failed'] else 0)
EOF
