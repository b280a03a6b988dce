# bench/captures.sh — sourced by bench/run.sh and bench/profile.sh: the two workloads' captures,
# generated once into $dir and cached, with their truth in compare.py's format.
# Needs: $dir, $seed, $gen (tools/gen_capture), $peers (../shared/peers), $top, and say().
# capture WORKLOAD SIZE → sets cap (the pcap) and truth (compare.py's truth format), or fails
capture() {
    case $1 in
    own)
        cap=$dir/gen-$2-seed$seed.pcap truth=$dir/gen-$2-seed$seed.truth.tsv manifest=$dir/gen-$2-seed$seed.tsv
        if [ ! -s "$cap" ]; then
            say "generating $cap (once; cached)"
            "$gen" -o "$cap.tmp" --manifest "$manifest" --size "$2" --seed "$seed" >&2 &&
                mv "$cap.tmp" "$cap" || { say "gen_capture failed"; return 1; }
        fi
        if [ ! -s "$truth" ] || [ "$manifest" -nt "$truth" ]; then
            python3 "$top/bench/truth.py" manifest "$manifest" > "$truth" || { say "truth.py failed"; return 1; }
        fi ;;
    peers)
        cap=$dir/peers-$2-seed$seed.pcap truth=$cap.truth.tsv manifest=
        if [ ! -s "$cap" ] || [ ! -s "$truth" ]; then
            [ -f "$peers/gen_http_pcap.py" ] || { say "$peers/gen_http_pcap.py not found: no peers workload"; return 1; }
            say "generating $cap (once; cached; about 30 s per GB)"
            python3 "$peers/gen_http_pcap.py" --bytes "$2" --seed "$seed" -o "$cap.tmp" --truth "$truth.tmp" >&2 &&
                mv "$cap.tmp" "$cap" && mv "$truth.tmp" "$truth" || { say "gen_http_pcap.py failed"; return 1; }
        fi ;;
    esac
}
