#!/bin/sh
# bench/run.sh [MOONSHARK] — `make bench`: moonshark http beside the peers at their best
# configuration (libpcap floors, libnids, gopacket, tshark) on two workload shapes, timed side by
# side in one run, each request logger's output matched against the generator's truth.
# A benchmark, never a test: nothing here passes or fails on a number.
#
# Env: BENCH_SIZE       capture size of both workloads (default 1G; e.g. 64M for a quick run)
#      BENCH_TSHARK_SIZE  size of the captures tshark reads beside moonshark (default 100M, or
#                       BENCH_SIZE when that is smaller)
#      BENCH_TSHARK_FULL  1: tshark also reads the BENCH_SIZE captures (about 40 s a GB a run)
#      BENCH_WORKLOADS  "own peers" (default): own = tools/gen_capture, peers = gen_http_pcap.py
#      BENCH_SEED       generator seed of both workloads (default 1)
#      BENCH_RUNS       rounds: each round times every line once, in a rotated order (default 5)
#      BENCH_ONLY       space-separated line names to run (default all; names in the report)
#      BENCH_CPU        the CPU single-thread lines are pinned to (default 1)
#      BENCH_DIR        captures, peer builds and results (default build/bench; captures cached)
#      BENCH_PEERS      the peer sources and the second generator (default ../shared/peers)
#      BENCH_GOPATH     GOPATH holding github.com/google/gopacket (default /usr/share/gocode)
#      BENCH_TIMER      "time" forces /usr/bin/time runs even when hyperfine is installed
# Writes the markdown report to stdout and to $BENCH_DIR/results.md (bench/report.py makes it).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/moonshark}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
gen=$(dirname "$bin")/tools/gen_capture
size=${BENCH_SIZE:-1G}
seed=${BENCH_SEED:-1}
rounds=${BENCH_RUNS:-5}
cpu=${BENCH_CPU:-1}
dir=${BENCH_DIR:-$top/build/bench}
peers=${BENCH_PEERS:-$top/../shared/peers}
gopath=${BENCH_GOPATH:-/usr/share/gocode}
only=${BENCH_ONLY:-}
workloads=${BENCH_WORKLOADS:-own peers}
tab=$(printf '\t')
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

say() { echo "bench: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
wanted() { [ -z "$only" ] && return 0; for _want in $only; do [ "$_want" = "$1" ] && return 0; done; return 1; }
bytes_of_size() { # 100M → 104857600 (K/M/G binary, as both generators read them)
    echo "$1" | awk '{ n = $0 + 0; u = toupper(substr($0, length($0)))
        m = (u == "K") ? 1024 : (u == "M") ? 1048576 : (u == "G") ? 1073741824 : 1
        printf "%d\n", n * m }'
}
have python3 || { say "python3 is needed (truth matching and the report)"; exit 2; }
[ -x /usr/bin/time ] || { say "/usr/bin/time is needed for peak RSS (apt-get install time)"; exit 2; }
[ -x "$gen" ] || { say "missing $gen (run make tools)"; exit 2; }
if [ -x "$bin" ]; then
    # time a snapshot, so a rebuild of build/moonshark during the run cannot change what is timed
    cp "$bin" "$dir/moonshark" && bin=$dir/moonshark
else
    say "moonshark not found at $bin: its lines will say 'failed'"
fi
if have hyperfine && [ "${BENCH_TIMER:-}" != time ]; then timer=hyperfine; else timer="time"; fi
if have taskset; then pin="taskset -c $cpu "; else pin=; say "taskset not installed (util-linux): single-thread lines run unpinned"; fi
tshark_size=${BENCH_TSHARK_SIZE:-100M}
[ "$(bytes_of_size "$size")" -lt "$(bytes_of_size "$tshark_size")" ] && tshark_size=$size
ncpu=$(nproc 2>/dev/null || echo 2)
threads=
if "$bin" http --help 2>&1 | grep -q -- --threads; then
    threads=$ncpu
else
    say "moonshark http has no --threads yet: no multi-thread moonshark line"
fi

# ---- the peers, built from $peers into $dir/peers (never into $peers) --------------------------
pb=$dir/peers
mkdir -p "$pb"
build_peer() { # build_peer NAME COMMAND...: 0 when $pb/NAME is built and newer than its source
    n=$1; shift
    src=$peers/$n.c; [ "$n" = gopacket_http ] && src=$peers/$n.go
    [ -f "$src" ] || { say "$src not found: no $n lines"; return 1; }
    [ -x "$pb/$n" ] && [ ! "$src" -nt "$pb/$n" ] && return 0
    if "$@" >"$pb/$n.log" 2>&1; then return 0; fi
    say "building $n failed ($(head -n 1 "$pb/$n.log")): no $n lines"; rm -f "$pb/$n"; return 1
}
peer_pcapread=; peer_nids=; peer_gopacket=
build_peer pcapread cc -O3 -march=native -Wall -o "$pb/pcapread" "$peers/pcapread.c" -lpcap && peer_pcapread=$pb/pcapread
if [ -f /usr/include/nids.h ]; then
    build_peer nids_http cc -O2 -Wall -o "$pb/nids_http" "$peers/nids_http.c" -lnids -lpcap && peer_nids=$pb/nids_http
else
    say "libnids not installed (apt-get install libnids-dev): no libnids lines"
fi
if have go && [ -d "$gopath/src/github.com/google/gopacket/tcpassembly" ]; then
    mkdir -p "$dir/gocache"
    build_peer gopacket_http env GOCACHE="$dir/gocache" GO111MODULE=off GOPATH="$gopath" GOFLAGS= \
        go build -o "$pb/gopacket_http" "$peers/gopacket_http.go" && peer_gopacket=$pb/gopacket_http
else
    say "go or gopacket not installed (apt-get install golang-go golang-github-google-gopacket-dev golang-golang-x-net-dev golang-golang-x-sys-dev): no gopacket lines"
fi
have tshark || say "tshark not installed (apt-get install tshark): no tshark lines"
[ -n "$peer_pcapread" ] || say "without the stock libpcap floor the report has no 'of floor' column"

# ---- captures (generated once, cached) and their truth: capture() ---------------------------
. "$top/bench/captures.sh"
# the page cache holds the file in 2 MiB folios when it was read fresh (../shared/peers/README.md:
# split into 4 KiB pages, the floors run 2-3x slower): evict it, read it back, log the state
rewarm() {
    python3 -c 'import os,sys; fd=os.open(sys.argv[1],os.O_RDONLY); os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)' "$1"
    cat "$1" > /dev/null
    echo "$(basename "$1"): $(grep FileHugePages /proc/meminfo | tr -s ' ')" >> "$dir/pagecache.log"
}

# ---- lines ------------------------------------------------------------------------------------
# line NAME CHECK PINNED COMMAND: CHECK says how its output is matched against the truth
# (none, tsv = src sport dst dport method host uri, json = moonshark --json, tshark); PINNED 1
# runs it under taskset. Commands are argv strings (hyperfine -N and sh -c read them alike).
line() {
    wanted "$1" || return 0
    p=; [ "$3" = 1 ] && p=$pin
    printf '%s\t%s\t%s\t%s%s\n' "$1" "$2" "$3" "$p" "$4" >> "$g/lines.tsv"
}
q() { printf "'%s'" "$1"; }   # paths are single-quoted in the command strings
gp_filter="'tcp and (dst port 80 or dst port 8080)'"
main_lines() { # main_lines FILE: the lines that read the full capture
    f=$(q "$1")
    if [ -n "$peer_pcapread" ]; then
        line floor none 1 "$(q "$peer_pcapread") $f"
        line floor_bigbuf none 1 "$(q "$peer_pcapread") $f bigbuf"
    fi
    [ -n "$peer_nids" ] && line nids tsv 1 "$(q "$peer_nids") -b $f"
    if [ -n "$peer_gopacket" ]; then
        line gopacket_1 tsv 1 "env GOMAXPROCS=1 $(q "$peer_gopacket") -reader pcapgo $f"
        line gopacket_all tsv 0 "env GOMAXPROCS=$ncpu $(q "$peer_gopacket") -reader pcapgo $f"
        line gopacket_bpf_1 tsv 1 "env GOMAXPROCS=1 $(q "$peer_gopacket") -filter $gp_filter $f"
        line gopacket_bpf_all tsv 0 "env GOMAXPROCS=$ncpu $(q "$peer_gopacket") -filter $gp_filter $f"
    fi
    line stats none 1 "$(q "$bin") stats $f"
    line conn none 1 "$(q "$bin") conn $f"
    line moonshark_1 json 1 "$(q "$bin") http --json $f"
    [ -n "$threads" ] && line moonshark_n json 0 "$(q "$bin") http --json --threads $threads $f"
    if [ "${BENCH_TSHARK_FULL:-0}" = 1 ] && have tshark; then
        line tshark_full tshark 1 "tshark -r $f -Y http.request -T fields -e ip.src -e tcp.srcport -e http.request.method -e http.host -e http.request.uri -e ipv6.src"
    fi
}
tshark_lines() { # tshark_lines FILE: tshark beside moonshark and the floor on a smaller capture
    have tshark || return 0
    f=$(q "$1")
    [ -n "$peer_pcapread" ] && line floor none 1 "$(q "$peer_pcapread") $f"
    line moonshark_1 json 1 "$(q "$bin") http --json $f"
    # the issue's fields plus ipv6.src (ip.src is empty for IPv6), so IPv6 requests can be matched
    line tshark tshark 1 "tshark -r $f -Y http.request -T fields -e ip.src -e tcp.srcport -e http.request.method -e http.host -e http.request.uri -e ipv6.src"
}

# check_run: every line once under /usr/bin/time -v (exit status, peak RSS, user/sys, page faults,
# context switches; warms up), its output kept and matched against the truth
check_run() {
    : > "$g/ok.tsv"
    while IFS="$tab" read -r name check _ cmd; do
        say "$(basename "$g") $name: $cmd"
        /usr/bin/time -v -o "$g/$name.time" sh -c "exec $cmd > '$g/$name.out' 2> '$g/$name.err'"
        rc=$?
        if [ $rc -ne 0 ]; then
            say "$name failed (exit $rc): $(head -n 2 "$g/$name.err" | tr '\n' ' ')"
            echo "failed (exit $rc)" > "$g/$name.status"; continue
        fi
        echo ok > "$g/$name.status"
        printf '%s\t%s\n' "$name" "$cmd" >> "$g/ok.tsv"
        c=$peers/compare.py
        case $check in
        tsv) python3 "$c" "$truth" "$g/$name.out" --cols src,sport,dst,dport,method,host,uri --name "$name" --json > "$g/$name.match.json" ;;
        tshark)
            python3 "$top/bench/truth.py" tshark "$g/$name.out" > "$g/$name.tsv"
            python3 "$c" "$truth" "$g/$name.tsv" --cols src,sport,method,host,uri,src6 --name "$name" --json > "$g/$name.match.json"
            rm -f "$g/$name.tsv" ;;
        json)
            python3 "$top/bench/truth.py" jsonl "$g/$name.out" > "$g/$name.tsv"
            python3 "$c" "$truth" "$g/$name.tsv" --cols src,sport,dst,dport,method,host,uri --name "$name" --json > "$g/$name.match.json"
            python3 "$c" "$truth" "$g/$name.tsv" --cols src,sport,dst,dport,method,host,uri,status --name "$name" --json > "$g/$name.match_status.json"
            rm -f "$g/$name.tsv"
            # the own generator's manifest also knows status and body lengths: the stricter e2e check
            [ -n "$manifest" ] && python3 "$top/tests/e2e/generated_manifest.py" log "$manifest" \
                "$g/$name.out" "$name" > "$g/$name.manifest.txt" ;;
        esac
        [ "$check" = none ] || [ -s "$g/$name.match.json" ] || say "$name: no truth match (compare.py missing or failed)"
    done < "$g/lines.tsv"
}

# time_rounds: $rounds rounds, each timing every line that passed once; the order rotates by
# one line a round, so drift on the shared machine spreads over all lines; one hyperfine call a
# round, so the ratios within a round come from one run
time_rounds() {
    : > "$g/times.tsv"
    n=$(wc -l < "$g/ok.tsv")
    [ "$n" -gt 0 ] || return 0
    r=1
    while [ $r -le "$rounds" ]; do
        awk -v s=$(( (r - 1) % n )) -v n="$n" '{ l[NR - 1] = $0 } END { for (i = 0; i < n; i++) print l[(i + s) % n] }' \
            "$g/ok.tsv" > "$g/order.tsv"
        if [ $timer = hyperfine ]; then
            set --
            while IFS="$tab" read -r name cmd; do set -- "$@" -n "$name" "$cmd"; done < "$g/order.tsv"
            if hyperfine -N --runs 1 --style none --export-json "$g/round.json" "$@" > /dev/null 2> "$g/hf.err"; then
                python3 "$top/bench/report.py" hyperfine "$r" "$g/round.json" >> "$g/times.tsv"
            else
                say "hyperfine failed in round $r: $(head -n 2 "$g/hf.err" | tr '\n' ' ')"
            fi
        else
            while IFS="$tab" read -r name cmd; do
                /usr/bin/time -f '%e %U %S' -o "$g/t.txt" sh -c "exec $cmd > /dev/null 2>&1"
                printf '%s\t%s\t%s\n' "$r" "$name" "$(tail -n 1 "$g/t.txt" | tr ' ' '\t')" >> "$g/times.tsv"
            done < "$g/order.tsv"
        fi
        r=$((r + 1))
    done
}

# group WORKLOAD SIZE KIND: one table of the report (KIND main or tshark)
groups=
group() {
    capture "$1" "$2" || return 0
    g=$dir/$1-$2-$3
    rm -rf "$g"; mkdir -p "$g"
    : > "$g/lines.tsv"
    if [ "$3" = main ]; then main_lines "$cap"; else tshark_lines "$cap"; fi
    [ -s "$g/lines.tsv" ] || { rm -rf "$g"; return 0; }
    printf 'workload\t%s\nkind\t%s\ncapture\t%s\ntruth\t%s\nbytes\t%s\n' "$1" "$3" "$cap" "$truth" \
        "$(wc -c < "$cap" | tr -d ' ')" > "$g/meta.tsv"
    rewarm "$cap"
    check_run
    time_rounds
    groups="$groups $g"
}

: > "$dir/pagecache.log"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for w in $workloads; do
    case $w in own|peers) ;; *) say "unknown workload $w (own, peers)"; continue ;; esac
    group "$w" "$size" main
    group "$w" "$tshark_size" tshark
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 "$top/bench/report.py" report --timer "$timer" --rounds "$rounds" --cpu "$cpu" \
    --commit "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --load "$load_before" --load "$load_after" --pagecache "$dir/pagecache.log" \
    --threads "${threads:-none}" $groups > "$dir/results.md"
cat "$dir/results.md"
