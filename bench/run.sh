#!/bin/sh
# bench/run.sh [MOONSHARK] — `make bench`: speed and peak memory of moonshark beside the libpcap
# read floor and beside tshark / tcpflow, on one generated capture, in one run.
# A benchmark, never a test: nothing here passes or fails on a number.
#
# Env: BENCH_SIZE   capture size (default 1G; e.g. BENCH_SIZE=64M for a quick run)
#      BENCH_SLICE  size of the smaller capture the slow peer (tshark) reads (default 64M)
#      BENCH_SEED   generator seed (default 1)
#      BENCH_RUNS   timed runs per line, best reported (default 3)
#      BENCH_DIR    where captures and results go (default build/bench, captures are cached)
#      BENCH_ONLY   space-separated line names to run (default all: see the measure calls)
#      BENCH_TIMER  "time" forces repeated /usr/bin/time runs even when hyperfine is installed
#      BENCH_TSHARK_RUNS  timed runs of tshark on the full capture (default 1: ~40 s a run per GB;
#                   0 skips that line, the slice line still compares with tshark)
#      BENCH_GOPATH GOPATH holding github.com/google/gopacket for the gopacket peer
#                   (default /usr/share/gocode, where Debian's golang-github-google-gopacket-dev puts it)
# Writes the markdown table to stdout and to $BENCH_DIR/results.md.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/moonshark}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
build=$(dirname "$bin")
gen=$build/tools/gen_capture
floor=$build/tools/pcap_floor
size=${BENCH_SIZE:-1G}
slice=${BENCH_SLICE:-64M}
seed=${BENCH_SEED:-1}
runs=${BENCH_RUNS:-3}
dir=${BENCH_DIR:-$top/build/bench}
only=${BENCH_ONLY:-}
mkdir -p "$dir"

say() { echo "bench: $*" >&2; }
for t in "$gen" "$floor"; do
    [ -x "$t" ] || { say "missing $t (run make tools)"; exit 2; }
done
if [ -x "$bin" ]; then
    # run a snapshot, so a rebuild of build/moonshark during the run cannot change what is timed
    cp "$bin" "$dir/moonshark" && bin=$dir/moonshark
else
    say "moonshark binary not found at $bin: its lines will say 'failed'"
fi
have() { command -v "$1" >/dev/null 2>&1; }
if have hyperfine && have python3 && [ "${BENCH_TIMER:-}" != time ]; then timer=hyperfine; else timer=time; fi
[ -x /usr/bin/time ] || { say "/usr/bin/time is needed for peak RSS (apt-get install time)"; exit 2; }

# ---- captures (generated once, cached) -------------------------------------------------
capture() { # capture SIZE → path
    f=$dir/gen-$1-seed$seed.pcap
    if [ ! -s "$f" ]; then
        say "generating $f (once; cached)"
        "$gen" -o "$f.tmp" --manifest "$dir/gen-$1-seed$seed.tsv" --size "$1" --seed "$seed" >&2 &&
            mv "$f.tmp" "$f" || { say "generator failed"; exit 2; }
    fi
    echo "$f"
}
big=$(capture "$size")
small=$(capture "$slice")
cat "$big" "$small" > /dev/null   # page cache: every tool reads from memory

bytes_of() { wc -c < "$1" | tr -d ' '; }
frames_of() { "$floor" "$1" | sed -n 's/.*frames=\([0-9]*\).*/\1/p'; }
big_bytes=$(bytes_of "$big"); big_frames=$(frames_of "$big")
small_bytes=$(bytes_of "$small"); small_frames=$(frames_of "$small")

# ---- the gopacket peer (bench/peers/gopacket_http, built once into $dir) ---------------------
gopath=${BENCH_GOPATH:-/usr/share/gocode}
gp_main=$top/bench/peers/gopacket_http/main.go
gp=$dir/gopacket_http
gopacket_peer() { # 0 when $gp is built and current; builds it when go and gopacket are there
    [ -x "$gp" ] && [ ! "$gp_main" -nt "$gp" ] && return 0
    if ! have go || [ ! -d "$gopath/src/github.com/google/gopacket/tcpassembly" ]; then
        say "go or gopacket not installed (apt-get install golang-go golang-github-google-gopacket-dev): no gopacket peer lines"
        return 1
    fi
    say "building $gp"
    mkdir -p "$dir/gocache"
    if GOCACHE=$dir/gocache GO111MODULE=off GOPATH=$gopath GOFLAGS= go build -o "$gp.tmp" "$gp_main" >&2; then
        mv "$gp.tmp" "$gp"
    else
        rm -f "$gp.tmp"; say "building the gopacket peer failed: no gopacket peer lines"; return 1
    fi
}

# ---- measuring --------------------------------------------------------------------------
# measure NAME FILE PREPARE COMMAND [RUNS [KEEP]]: one untimed run (checks the exit status, gives
# peak RSS and warms up; its stdout goes to the file KEEP when given, else to /dev/null), then
# RUNS (default $runs) timed runs; appends "NAME FILE best_s mean_s rss_kb status" to $rows.
rows=$dir/rows.tsv; : > "$rows"
wanted() { [ -z "$only" ] && return 0; for w in $only; do [ "$w" = "$1" ] && return 0; done; return 1; }
measure() {
    name=$1 file=$2 prep=$3 cmd=$4
    wanted "$name" || return 0
    say "$name: $cmd"
    sh -c "$prep"
    /usr/bin/time -f '%M' -o "$dir/rss.txt" sh -c "$cmd" > "${6:-/dev/null}" 2> "$dir/err.txt"
    rc=$?
    rss=$(tail -n 1 "$dir/rss.txt" | tr -dc '0-9')
    if [ $rc -ne 0 ]; then
        say "$name failed (exit $rc): $(grep -v '^Command exited' "$dir/err.txt" | head -n 2 | tr '\n' ' ')"
        printf '%s\t%s\t-\t-\t-\tfailed (exit %s)\n' "$name" "$file" "$rc" >> "$rows"
        return 0
    fi
    nruns=${5:-$runs}
    if [ $timer = hyperfine ]; then
        hyperfine --runs "$nruns" --prepare "$prep" --export-json "$dir/hf.json" --style none "$cmd" \
            > /dev/null 2>&1 || { printf '%s\t%s\t-\t-\t%s\tfailed (hyperfine)\n' "$name" "$file" "$rss" >> "$rows"; return 0; }
        set -- $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.4f %.4f" % (min(r["times"]), r["mean"]))' "$dir/hf.json")
        best=$1 mean=$2
    else
        best= sum=0
        i=0
        while [ $i -lt "$nruns" ]; do
            sh -c "$prep"
            /usr/bin/time -f '%e' -o "$dir/t.txt" sh -c "$cmd" > /dev/null 2>&1
            t=$(tail -n 1 "$dir/t.txt")
            sum=$(awk -v a="$sum" -v b="$t" 'BEGIN { print a + b }')
            if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
            i=$((i + 1))
        done
        mean=$(awk -v a="$sum" -v n="$nruns" 'BEGIN { printf "%.4f", a / n }')
    fi
    printf '%s\t%s\t%s\t%s\t%s\tok\n' "$name" "$file" "$best" "$mean" "$rss" >> "$rows"
}

out=$dir/out; noprep=true
clean="rm -rf '$out'; mkdir -p '$out'"
# The floors (1 MiB and 4 KiB stdio buffers) are measured at the start, in the middle and at the
# end and reported as the best of all their runs: on a shared machine one unlucky batch must not
# make everything look fast.
floor_big() {
    measure floor    big "$noprep" "'$floor' '$big'"
    measure floor_4k big "$noprep" "'$floor' --default-buffer '$big'"
}
floor_small() { measure floor_slice small "$noprep" "'$floor' '$small'"; }
floor_big
measure stats         big   "$noprep" "'$bin' stats '$big'"
measure layers        big   "$noprep" "'$bin' layers '$big' > /dev/null"
measure conn          big   "$noprep" "'$bin' conn '$big' > /dev/null"
floor_big
measure http          big   "$noprep" "'$bin' http --json '$big' > /dev/null"
if { wanted gopacket || wanted gopacket_slice; } && gopacket_peer; then have_gp=1; else have_gp=; fi
# the untimed run's log is kept: the report counts its requests against the manifest
[ -n "$have_gp" ] && measure gopacket big "$noprep" "'$gp' '$big'" "$runs" "$dir/gopacket.out"
measure streams       big   "$clean"  "'$bin' streams '$big' -o '$out' > /dev/null"
if have tcpflow; then
    measure tcpflow   big   "$clean"  "tcpflow -r '$big' -o '$out'"
else
    say "tcpflow not installed (apt-get install tcpflow): no reassembly peer line"
fi
floor_big
floor_small
measure http_slice    small "$noprep" "'$bin' http --json '$small' > /dev/null"
[ -n "$have_gp" ] && measure gopacket_slice small "$noprep" "'$gp' '$small'" "$runs" "$dir/gopacket_slice.out"
if have tshark; then
    measure tshark_slice small "$noprep" "tshark -r '$small' -Y http.request -T fields -e http.request.uri"
    tshark_runs=${BENCH_TSHARK_RUNS:-1}
    if [ "$tshark_runs" -gt 0 ]; then
        measure tshark    big   "$noprep" "tshark -r '$big' -Y http.request -T fields -e http.request.uri" "$tshark_runs"
    fi
else
    say "tshark not installed: no HTTP peer line (see bench/README.md to install it)"
fi
floor_small
rm -rf "$out"

# Lines measured more than once (the floors) become one: best of all runs, mean of the means,
# largest RSS; first-seen order is kept.
awk -F'\t' -v OFS='\t' '
    $6 != "ok" { if (!($1 in seen)) { order[++n] = $1; seen[$1] = 1; line[$1] = $0 }; next }
    {
        if (!($1 in seen)) { order[++n] = $1; seen[$1] = 1 }
        if (!($1 in best) || $3 < best[$1]) best[$1] = $3
        sum[$1] += $4; cnt[$1]++
        if ($5 > rss[$1]) rss[$1] = $5
        file[$1] = $2
    }
    END {
        for (i = 1; i <= n; i++) {
            k = order[i]
            if (k in best) printf "%s\t%s\t%.4f\t%.4f\t%s\tok\n", k, file[k], best[k], sum[k] / cnt[k], rss[k]
            else print line[k]
        }
    }' "$rows" > "$rows.merged" && mv "$rows.merged" "$rows"

# ---- report -----------------------------------------------------------------------------
what() {
    case $1 in
    floor) echo "libpcap read floor (tools/pcap_floor, 1 MiB stdio buffer)" ;;
    floor_4k) echo "libpcap with pcap_open_offline's 4 KiB buffer (what tshark/tcpflow get)" ;;
    stats) echo "decode only (moonshark stats)" ;;
    layers) echo "decode + one line per frame (moonshark layers)" ;;
    conn) echo "decode + TCP reassembly (moonshark conn)" ;;
    streams) echo "reassembly + write streams (moonshark streams -o)" ;;
    http) echo "HTTP log (moonshark http --json)" ;;
    tcpflow) echo "peer: tcpflow -r -o (reassembly + write)" ;;
    floor_slice) echo "libpcap read floor, slice" ;;
    http_slice) echo "HTTP log (moonshark http --json), slice" ;;
    tshark_slice) echo "peer: tshark -Y http.request -T fields, slice" ;;
    tshark) echo "peer: tshark -Y http.request -T fields, full capture" ;;
    gopacket) echo "peer: gopacket httpassembly-style request log (Go net/http, client side only)" ;;
    gopacket_slice) echo "peer: gopacket httpassembly-style request log, slice" ;;
    esac
}
host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
host_mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "# moonshark benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) CPUs ($host_cpu), $host_mem RAM, timer: $timer, best of $runs runs, captures in page cache."
    echo
    echo "- full capture: $(basename "$big"): $big_bytes bytes, $big_frames frames"
    echo "- slice: $(basename "$small"): $small_bytes bytes, $small_frames frames (same generator and seed, smaller --size; tshark runs on it $runs times, on the full file ${BENCH_TSHARK_RUNS:-1} time(s))"
    echo
    echo "| line | what it measures | file | best s | mean s | MB/s | packets/s | × floor | s per GB | peak RSS MB |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
    floor_big=$(awk -F'\t' '$1 == "floor" && $6 == "ok" {print $3}' "$rows")
    floor_small=$(awk -F'\t' '$1 == "floor_slice" && $6 == "ok" {print $3}' "$rows")
    while IFS="$(printf '\t')" read -r name file best mean rss status; do
        if [ "$file" = big ]; then b=$big_bytes; fr=$big_frames; fl=$floor_big; else b=$small_bytes; fr=$small_frames; fl=$floor_small; fi
        if [ "$status" != ok ]; then
            echo "| $name | $(what "$name") | $file | $status | | | | | | $( [ "$rss" != - ] && echo "$rss" | awk '{printf "%.1f", $1 / 1024}') |"
            continue
        fi
        awk -v n="$name" -v w="$(what "$name")" -v f="$file" -v t="$best" -v m="$mean" -v b="$b" -v fr="$fr" \
            -v fl="${fl:-}" -v rss="$rss" 'BEGIN {
            ratio = (fl != "" && fl > 0) ? sprintf("%.1f", t / fl) : "-"
            printf "| %s | %s | %s | %.3f | %.3f | %.0f | %.0f | %s | %.2f | %.1f |\n",
                n, w, f, t, m, b / 1e6 / t, fr / t, ratio, t / (b / 1e9), rss / 1024 }'
    done < "$rows"
    pair() { # pair PEER OURS LABEL: how many times slower the peer is on the same file
        a=$(awk -F'\t' -v n="$1" '$1 == n && $6 == "ok" {print $3}' "$rows")
        b=$(awk -F'\t' -v n="$2" '$1 == n && $6 == "ok" {print $3}' "$rows")
        [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v l="$3" \
            'BEGIN { printf "- %s: %.1f× the time of moonshark\n", l, a / b }'
    }
    echo
    pair tshark http "tshark vs moonshark http on the full capture"
    pair tshark_slice http_slice "tshark vs moonshark http on the slice"
    a=$(awk -F'\t' '$1 == "tshark_slice" && $6 == "ok" {print $3}' "$rows")
    [ -n "$a" ] && [ -n "$floor_big" ] && awk -v a="$a" -v sb="$small_bytes" -v f="$floor_big" \
        -v bb="$big_bytes" 'BEGIN { printf "- tshark per MB vs the libpcap floor per MB on the full capture: %.0f×\n", (a / sb) / (f / bb) }'
    a=$(awk -F'\t' '$1 == "http" && $6 == "ok" {print $3}' "$rows")
    b=$(awk -F'\t' '$1 == "http_slice" && $6 == "ok" {print $3}' "$rows")
    [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v sb="$small_bytes" -v bb="$big_bytes" \
        'BEGIN { printf "- moonshark http per MB, slice vs full capture: %.2f vs %.2f s per GB\n", b / sb * 1e9, a / bb * 1e9 }'
    pair tcpflow streams "tcpflow vs moonshark streams on the full capture"
    pair gopacket http "gopacket vs moonshark http on the full capture"
    pair gopacket_slice http_slice "gopacket vs moonshark http on the slice"
    # speed as a fraction of each libpcap floor on the full capture (floor s / gopacket s)
    a=$(awk -F'\t' '$1 == "gopacket" && $6 == "ok" {print $3}' "$rows")
    f4=$(awk -F'\t' '$1 == "floor_4k" && $6 == "ok" {print $3}' "$rows")
    [ -n "$a" ] && [ -n "$floor_big$f4" ] && awk -v a="$a" -v f="$floor_big" -v f4="$f4" 'BEGIN {
        s = ""
        if (f != "") s = sprintf("%.3f of the floor", f / a)
        if (f4 != "") s = s (s != "" ? ", " : "") sprintf("%.3f of floor_4k", f4 / a)
        printf "- gopacket http logger speed: %s (floor s / gopacket s, full capture)\n", s }'
    gp_count() { # gp_count LINE LOG MANIFEST LABEL: requests logged by the untimed run vs the manifest
        awk -F'\t' -v n="$1" '$1 == n && $6 == "ok" {found = 1} END {exit !found}' "$rows" || return 0
        [ -f "$2" ] && [ -f "$3" ] || return 0
        echo "- gopacket requests logged on the $4: $(wc -l < "$2" | tr -d ' ') of $(($(wc -l < "$3") - 1)) in the manifest ($(basename "$3"))"
    }
    gp_count gopacket "$dir/gopacket.out" "$dir/gen-$size-seed$seed.tsv" "full capture"
    gp_count gopacket_slice "$dir/gopacket_slice.out" "$dir/gen-$slice-seed$seed.tsv" slice
    echo
    echo "MB/s = capture file bytes / 10^6 / best seconds; packets/s = frames / best seconds;"
    echo "s per GB = best seconds per 10^9 capture bytes (compares lines on different files);"
    echo "× floor = best seconds / the libpcap floor's best seconds on the same file (slice lines"
    echo "compare with the floor on the slice, so tshark's per-MB cost is comparable with the full-file lines)."
} > "$dir/results.md"
cat "$dir/results.md"
