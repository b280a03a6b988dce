#!/bin/sh
# sanitizer_sweep.sh — hostile captures through the ASan+UBSan build: every capture under
# zeek/http, zeek/tcp, zeek/tunnels, zeek/dns and zeek/tls, suricata-verify's http*, tcp*, stream*,
# defrag*, ipv6*, dns* and tls* captures, and tcpdump's crash reproducers (*oobr*, *heapoverflow*,
# *infinite-loop*) and dns* captures, through `layers`, `stats`, `conn --json`, `streams -o DIR`,
# `http --json`, `all -w DIR --json` (the DNS and TLS parsers too) and the samples/*.lua parsers.
# A (capture, command) pair fails on any sanitizer report (ASan, LSan leak, UBSan), a signal,
# a time-out, or an exit status other than 0, 1 (truncated/unreadable) and 2 (not a capture).
# Captures run in batches (one process per batch and command); a batch that fails is rerun one
# capture at a time so that the failure names its capture. A batch that fails while each of its
# captures passes alone counts as one failure. Prints "sanitizer_sweep: N passed, N failed".
# Env: MOONSHARK (normal binary; locates the build dir), BUILD_DIR (optional), PCAPS.
# The sanitizer binary is $BUILD_DIR/../build-san/moonshark (built with `make SAN=1` if absent).
set -u
: "${MOONSHARK:?MOONSHARK must name the moonshark binary}"
top=$(cd "$(dirname "$0")/../.." && pwd)
PCAPS=${PCAPS:-$top/../shared/pcaps}
if [ ! -d "$PCAPS" ]; then
    echo "sanitizer_sweep: SKIP: captures dir '$PCAPS' not found (../shared/pcaps beside the checkout)"
    exit 0
fi
BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "$MOONSHARK")" && pwd)}
san_dir=$(cd "$BUILD_DIR/.." && pwd)/build-san
san=$san_dir/moonshark
if [ "$san_dir" = "$top/build-san" ]; then
    # (re)built every time: make does nothing when it is current, and a stale binary whose
    # objects predate a header change reports bogus errors
    [ -x "$san" ] || echo "sanitizer_sweep: $san not found; building it (make SAN=1 build-san/moonshark)"
    (cd "$top" && make --no-print-directory SAN=1 build-san/moonshark > /dev/null 2>&1)
fi
if [ ! -x "$san" ]; then
    echo "sanitizer_sweep: SKIP: no sanitizer binary at $san (make SAN=1 build-san/moonshark)"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sanitizer_sweep.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT HUP INT PIPE TERM
# private copy: a rebuild of build-san during the run must not pull the binary away
cp "$san" "$tmp/moonshark-san" || exit 1
bin=$tmp/moonshark-san
# the sample parsers, from a path without blanks (arguments below are split on blanks)
mkdir -p "$tmp/lua" && cp "$top"/samples/*.lua "$tmp/lua/" 2> /dev/null

ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
UBSAN_OPTIONS=print_stacktrace=1
export ASAN_OPTIONS UBSAN_OPTIONS
if command -v timeout > /dev/null 2>&1; then to="timeout -k 5"; else to=""; fi

{
    find "$PCAPS/zeek/http" "$PCAPS/zeek/tcp" "$PCAPS/zeek/tunnels" "$PCAPS/zeek/dns" "$PCAPS/zeek/tls" -type f \
        \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.trace' \)
    find "$PCAPS/suricata-verify" -type f \( -name 'http*' -o -name 'tcp*' -o -name 'stream*' \
        -o -name 'defrag*' -o -name 'ipv6*' -o -name 'dns*' -o -name 'tls*' \) \
        \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \)
    find "$PCAPS/tcpdump" -type f \( -name '*oobr*' -o -name '*heapoverflow*' \
        -o -name '*infinite-loop*' -o -name '*infinite_loop*' -o -name 'dns*' \) \
        \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \)
} 2> /dev/null | sort -u > "$tmp/all"
count=$(wc -l < "$tmp/all" | tr -d ' ')
if [ "$count" -eq 0 ]; then
    echo "sanitizer_sweep: SKIP: no captures found under $PCAPS"
    exit 0
fi
split -l 120 "$tmp/all" "$tmp/batch."

pass=0; fail=0
# bad RC ERRFILE: true when the run shows a problem
bad() {
    grep -q -E 'AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$2" && return 0
    case $1 in 0|1|2) return 1;; esac
    return 0
}
report() { # what rc errfile
    case $2 in 124|137) why="time-out";; *) why="exit $2";; esac
    echo "sanitizer_sweep: FAIL $1 ($why)"
    grep -m 3 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY:|#[0-4] ' "$3" | sed 's/^/    /'
}
for b in "$tmp"/batch.*; do
    n=$(wc -l < "$b" | tr -d ' ')
    set --
    while IFS= read -r f; do set -- "$@" "$f"; done < "$b"
    for cmd in layers stats conn streams http all scripts; do
        case $cmd in
            layers) args="layers";; stats) args="stats";; conn) args="conn --json";;
            streams) rm -rf "$tmp/o"; mkdir -p "$tmp/o"; args="streams -o $tmp/o";;
            http) args="http --json";;
            all) rm -rf "$tmp/w"; args="all -w $tmp/w --json";;
            scripts) args=""; for l in "$tmp"/lua/*.lua; do [ -f "$l" ] && args="$args -s $l"; done;;
        esac
        # shellcheck disable=SC2086
        $to $((30 + n)) "$bin" $args -q --no-progress "$@" > /dev/null 2> "$tmp/err"
        rc=$?
        if ! bad "$rc" "$tmp/err"; then
            pass=$((pass + n))
            continue
        fi
        alone=0
        while IFS= read -r f; do
            # shellcheck disable=SC2086
            $to 20 "$bin" $args -q --no-progress "$f" > /dev/null 2> "$tmp/err1"
            rc1=$?
            if bad "$rc1" "$tmp/err1"; then
                fail=$((fail + 1)); alone=$((alone + 1))
                report "$cmd ${f#"$PCAPS"/}" "$rc1" "$tmp/err1"
            else
                pass=$((pass + 1))
            fi
        done < "$b"
        if [ $alone -eq 0 ]; then
            fail=$((fail + 1))
            report "$cmd batch of $n (fails only together; first: $(head -n 1 "$b"))" "$rc" "$tmp/err"
        fi
    done
done
echo "sanitizer_sweep: $pass passed, $fail failed"
[ $fail -eq 0 ]
