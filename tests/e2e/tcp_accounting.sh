#!/bin/sh
# The assembler's accounting identity on every capture in ../shared/pcaps: `moonshark conn --stats`
# over all of them (200 files per run; a failing batch is rerun file by file to name the culprit)
# must not crash (debug builds assert the identity after every segment) and its totals must satisfy
#   bytes seen = delivered + overlap + discarded   (nothing is left queued after the end)
# Unreadable or truncated captures are fine: they are reported on stderr and the run goes on.
# Env: MOONSHARK (binary), PCAPS (captures folder). Prints `tcp_accounting: N passed, N failed`.
set -u
: "${MOONSHARK:?set MOONSHARK to the moonshark binary}"
PCAPS=${PCAPS:-$(dirname "$0")/../../../shared/pcaps}
if [ ! -d "$PCAPS" ]; then
    echo "tcp_accounting: SKIP: $PCAPS not found (the shared captures live beside the checkout)"
    exit 0
fi
if [ ! -x "$MOONSHARK" ]; then
    echo "tcp_accounting: FAIL: no moonshark binary at $MOONSHARK"
    echo "tcp_accounting: 0 passed, 1 failed"
    exit 1
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
find "$PCAPS" -type f ! -name '*.tsv' ! -name '*.txt' ! -name '*.log' ! -name '*.md' ! -name '*.sh' | sort > "$tmp/list"
split -l 200 "$tmp/list" "$tmp/batch."
pass=0; fail=0; bytes=0; files=0

# check FILES...: runs moonshark on them; 0 when it ran to the end and the identity holds
check() {
    "$MOONSHARK" conn --stats --no-progress "$@" > /dev/null 2> "$tmp/err"
    rc=$?
    line=$(grep '^tcp: bytes seen' "$tmp/err")
    if [ $rc -ge 3 ] || [ -z "$line" ]; then
        why="exit $rc, $(grep -v '^tcp:' "$tmp/err" | tail -n 1)"
        return 1
    fi
    set -- $(echo "$line" | sed 's/[^0-9 ]//g')
    if [ $# -lt 6 ] || [ "$1" -ne $(( $2 + $3 + $4 )) ]; then
        why="identity broken: $line"
        return 1
    fi
    seen=$1
    return 0
}

for b in "$tmp"/batch.*; do
    n=$(wc -l < "$b" | tr -d ' ')
    files=$((files + n))
    # shellcheck disable=SC2046
    if check $(cat "$b"); then
        pass=$((pass + n)); bytes=$((bytes + seen))
        continue
    fi
    while IFS= read -r cap; do
        if check "$cap"; then
            pass=$((pass + 1)); bytes=$((bytes + seen))
        else
            fail=$((fail + 1)); echo "tcp_accounting: FAIL $cap: $why"
        fi
    done < "$b"
done
echo "tcp_accounting: $files captures, $bytes TCP payload bytes accounted"
echo "tcp_accounting: $pass passed, $fail failed"
[ $fail -eq 0 ]
