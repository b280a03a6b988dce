#!/bin/sh
# bench/profile.sh — where `moonshark http --json` spends its time on both bench workloads:
# perf stat (user/system time, faults, context switches), perf record (top symbols), strace -c
# (system calls), and callgrind instruction counts per stage on a slice, with and without the
# pure-ACK frames. Not part of `make test` or `make bench`; figures go to docs/bench.md by hand.
#
# Env: PROFILE_SIZE   captures to profile (default 1G: the ones `make bench` caches)
#      PROFILE_SLICE  head of each capture that callgrind reads (default 64M)
#      PROFILE_CPU    CPU the perf/strace runs are pinned to (default 1)
#      PROFILE_RUNS   perf stat repeats (default 3)
#      BENCH_DIR, BENCH_PEERS, BENCH_SEED as for bench/run.sh
# Builds build-prof/moonshark: -O2 -g -fno-omit-frame-pointer, linked with the static liblua5.4.a so
# that perf and callgrind see Lua's own function names (the shared library is stripped).
# Writes $BENCH_DIR/profile/{WORKLOAD}.md (and the raw outputs beside it); prints them.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
size=${PROFILE_SIZE:-1G}
slice=${PROFILE_SLICE:-64M}
cpu=${PROFILE_CPU:-1}
reps=${PROFILE_RUNS:-3}
seed=${BENCH_SEED:-1}
dir=${BENCH_DIR:-$top/build/bench}
peers=${BENCH_PEERS:-$top/../shared/peers}
gen=$top/build/tools/gen_capture
mkdir -p "$dir/profile"
dir=$(cd "$dir" && pwd)
out=$dir/profile
say() { echo "profile: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
. "$top/bench/captures.sh"

[ -x "$gen" ] || { say "missing $gen (run make tools)"; exit 2; }
for t in perf strace valgrind callgrind_annotate python3; do
    have "$t" || say "$t not installed (apt-get install linux-perf strace valgrind python3): its part is skipped"
done
lua_a=$(pkg-config --variable=libdir lua5.4 2>/dev/null)/liblua5.4.a
[ -f "$lua_a" ] || { say "no static $lua_a (liblua5.4-dev): Lua's functions will have no names"; lua_a=; }
if [ -n "$lua_a" ]; then
    make -s -C "$top" -j2 BUILD=build-prof CFLAGS="-O2 -g -fno-omit-frame-pointer" \
        PKG_LIBS="$(pkg-config --libs libpcap) -l:liblua5.4.a -ldl" build-prof/moonshark >&2 || exit 2
else
    make -s -C "$top" -j2 BUILD=build-prof CFLAGS="-O2 -g -fno-omit-frame-pointer" build-prof/moonshark >&2 || exit 2
fi
ms=$top/build-prof/moonshark
floor=$dir/peers/pcapread   # built by bench/run.sh
[ -x "$floor" ] || { say "no $floor (run make bench once): no floor figures"; floor=; }
pin=; have taskset && pin="taskset -c $cpu"

# cg NAME COMMAND...: callgrind total instructions of one run (user space), into $w.cg.NAME
cg() {
    n=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$out/$w.cg.$n.out" "$@" > /dev/null 2> "$out/$w.cg.$n.log"
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/$w.cg.$n.log"
}
# calls FUNC: calls into FUNC (all call sites, recursion included) in the http run
calls() {
    awk -v want="$1" '
        function name(s,   id, rest) {   # callgrind compresses names: "(12) foo" defines, "(12)" reuses
            if (match(s, /^\([0-9]+\)/)) {
                id = substr(s, 2, RLENGTH - 2); rest = substr(s, RLENGTH + 2)
                if (rest != "") names[id] = rest
                return names[id]
            }
            return s
        }
        /^fn=/  { name(substr($0, 4)); next }
        /^cfn=/ { cfn = name(substr($0, 5)); next }
        /^calls=/ { split(substr($0, 7), c, " "); if (cfn == want || index(cfn, want "'\''") == 1) n += c[1] }
        END { print n + 0 }' "$out/$w.cg.http.out"
}

for w in own peers; do
    capture "$w" "$size" || continue
    f=$cap
    say "$w: $f"
    cat "$f" > /dev/null
    md=$out/$w.md
    {
        echo "## $w workload: $(basename "$f") ($(wc -c < "$f" | tr -d ' ') bytes), commit $(git -C "$top" rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
        echo
        if have perf; then
            perf stat -r "$reps" -e task-clock,user_time,system_time,page-faults,major-faults,context-switches,cpu-migrations \
                -o "$out/$w.perfstat.txt" -- $pin "$ms" http --json "$f" > /dev/null 2>&1
            echo "### perf stat ($reps runs, pinned to CPU $cpu)"
            echo '```'
            grep -E 'task-clock|_time|faults|switches|migrations|elapsed|seconds (user|sys)' "$out/$w.perfstat.txt" | sed 's/  */ /g'
            echo '```'
            perf record -q -F 1999 -g -o "$out/$w.perf.data" -- $pin "$ms" http --json "$f" > /dev/null 2>&1
            echo "### perf record: share of samples by object, then the top 25 symbols (self time)"
            echo '```'
            perf report -i "$out/$w.perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
                grep -v '^#' | grep -v '^$' | head -n 6
            echo
            perf report -i "$out/$w.perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
                grep -v '^#' | grep -v '^$' | head -n 25 | sed 's/  *$//'
            echo '```'
        fi
        if have strace; then
            strace -c -o "$out/$w.strace.txt" "$ms" http --json "$f" > /dev/null
            echo "### strace -c"
            echo '```'
            head -n 12 "$out/$w.strace.txt"
            tail -n 1 "$out/$w.strace.txt"
            echo '```'
        fi
        if have valgrind && have python3; then
            s=$out/$w-$slice.pcap
            python3 "$top/bench/pcap_slice.py" "$f" "$s" "$slice" 2> "$out/$w.slice.log"
            python3 "$top/bench/pcap_slice.py" "$f" "$out/$w-$slice-noack.pcap" "$slice" --drop-acks 2>> "$out/$w.slice.log"
            python3 "$top/bench/pcap_slice.py" "$f" "$out/$w-one.pcap" 25 2>> "$out/$w.slice.log"  # header only: start-up
            frames=$(sed -n '1s/.*: \([0-9]*\) records kept.*/\1/p' "$out/$w.slice.log")
            acks=$(sed -n '2s/.* \([0-9]*\) dropped.*/\1/p' "$out/$w.slice.log")
            reqs=$("$ms" http --json "$s" | wc -l | tr -d ' ')
            i0=$(cg start "$ms" http --json "$out/$w-one.pcap")
            i0s=$(cg start_stats "$ms" stats "$out/$w-one.pcap")
            fl=; [ -n "$floor" ] && fl=$(cg floor "$floor" "$s" bigbuf) && fl0=$(cg floor_start "$floor" "$out/$w-one.pcap" bigbuf)
            st=$(cg stats "$ms" stats "$s")
            cn=$(cg conn "$ms" conn "$s")
            ht=$(cg http "$ms" http --json "$s")
            na=$(cg http_noack "$ms" http --json "$out/$w-$slice-noack.pcap")
            callgrind_annotate --auto=no --threshold=100 "$out/$w.cg.http.out" 2>/dev/null > "$out/$w.cg.annotate.txt"
            sed -n '/file:function/,$p' "$out/$w.cg.annotate.txt" | sed -n '3,27p' |
                sed 's| /[^ ]*/\([^/ ]*:\)| \1|; s| \[[^]]*\]$||' > "$out/$w.cg.top.txt"
            # self instructions of the C path that hands stream bytes to a waiting reader
            handoff=$(awk '/:(tcp_data|ms_lua_conn_data_ts|ms_lua_reader_try) / { gsub(",", "", $1); n += $1 } END { print n + 0 }' "$out/$w.cg.annotate.txt")
            # memcpy instructions spent inside fread (libpcap copying records out of stdio's buffer)
            fread_copy=$(callgrind_annotate --tree=caller "$out/$w.cg.http.out" 2>/dev/null |
                awk '/^$/ { blk = ""; next } { blk = blk "\n" $0 } /\*.*__memcpy_avx_unaligned_erms/ { print blk; exit }' |
                awk '/< .*_IO_file_xsgetn/ { gsub(",", "", $1); print $1 }')
            echo "### callgrind on the first $slice ($frames frames, $acks of them pure ACKs, $reqs requests)"
            echo
            python3 - "$frames" "$acks" "$reqs" "$i0" "$i0s" "${fl:-}" "${fl0:-}" "$st" "$cn" "$ht" "$na" \
                "$(calls lua_resume)" "$(calls ms_lua_reader_try)" "$(calls ms_lua_conn_data_ts)" "$handoff" "${fread_copy:-0}" <<'EOF'
import sys
fr, acks, reqs, i0, i0s, fl, fl0, st, cn, ht, na, resumes, tries, datas, handoff, fcopy = sys.argv[1:]
fr, acks, reqs = int(fr), int(acks), int(reqs)
i0, i0s, st, cn, ht, na = (int(x) for x in (i0, i0s, st, cn, ht, na))
rows = []
if fl:
    rows.append(("floor: libpcap read, 1 MiB buffer (pcapread bigbuf)", int(fl) - int(fl0), None))
rows.append(("moonshark stats: read + decode", st - i0s, None))
rows.append(("moonshark conn: read + decode + flow table + TCP reassembly", cn - i0s, None))
rows.append(("moonshark http --json: all that + dispatch, Lua parser, JSON", ht - i0, None))
print("| run (whole run, start-up subtracted) | instructions | per frame | per request |")
print("|---|---:|---:|---:|")
for name, n, _ in rows:
    print("| %s | %.1f M | %.0f | %.0f |" % (name, n / 1e6, n / fr, n / reqs))
print()
print("- start-up of `moonshark http` (empty capture): %.1f M instructions" % (i0 / 1e6))
print("- HTTP work on top of `conn`: %.1f M = %.0f instructions per request" % ((ht - i0 - (cn - i0s)) / 1e6, (ht - i0 - (cn - i0s)) / reqs))
print("- a pure ACK costs %.0f instructions: http on the slice without its %d pure ACKs is %.1f M less "
      "(same records)" % ((ht - na) / acks, acks, (ht - na) / 1e6))
print("- the %s stream deliveries to the parser were each offered first to the waiting reader in C "
      "(`ms_lua_reader_try`: %s calls); Lua was resumed %s times = %.1f per request, never for the "
      "segments inside a body; handing a delivery over (self instructions of `tcp_data`, "
      "`ms_lua_conn_data_ts`, `ms_lua_reader_try`) costs %.0f instructions" % (
          datas, tries, resumes, int(resumes) / reqs, int(handoff) / max(int(datas), 1)))
print("- libpcap's own copy of every record out of stdio's buffer (memcpy inside fread): %.1f M "
      "instructions, %.0f per frame" % (int(fcopy) / 1e6, int(fcopy) / fr))
EOF
            echo
            echo "Top 25 functions of the http run (self instructions):"
            echo '```'
            cat "$out/$w.cg.top.txt"
            echo '```'
        fi
        echo
    } > "$md"
    cat "$md"
done
