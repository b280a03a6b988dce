#!/bin/sh
# layers_oracle.sh — `moonshark layers` against tshark's frame.protocols on every capture in
# $PCAPS that has a X.layers.tsv oracle. Both stacks are cut at the first protocol name moonshark
# does not decode (list below), then compared frame by frame. Fails when fewer than 99% of all
# frames agree, or when lazy and eager decoding differ anywhere (build/tools/layers_check compares
# layers, addresses, ports and payloads; without it, `layers --lazy` output is compared).
# Env: MOONSHARK (binary), PCAPS (captures dir), BUILD_DIR (optional), LAYERS_MIN_PCT (99).
set -u
: "${MOONSHARK:?MOONSHARK must name the moonshark binary}"
PCAPS=${PCAPS:-}
if [ -z "$PCAPS" ] || [ ! -d "$PCAPS" ]; then
    echo "layers_oracle: SKIP: captures dir '${PCAPS}' not found (../shared/pcaps beside the checkout)"
    exit 0
fi
min=${LAYERS_MIN_PCT:-99}
BUILD_DIR=${BUILD_DIR:-$(dirname "$MOONSHARK")}
tmp=$(mktemp -d "${TMPDIR_EXEC:-$BUILD_DIR}/layers_oracle.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT HUP INT PIPE TERM
# private copies: a rebuild of the build dir during the run must not pull the binary away
cp "$MOONSHARK" "$tmp/moonshark" || exit 1
checker=""
if [ -x "$BUILD_DIR/tools/layers_check" ]; then
    cp "$BUILD_DIR/tools/layers_check" "$tmp/layers_check" && checker=$tmp/layers_check
fi

names="eth ethertype vlan ieee8021ad mpls pppoes ppp sll null loop raw ip ipv6 ipv6.hopopts ipv6.routing ipv6.fraghdr ipv6.dstopts ah tcp udp icmp icmpv6 arp gre vxlan llc"

find "$PCAPS" -name '*.layers.tsv' | sort > "$tmp/oracles"
sed 's/\.layers\.tsv$//' "$tmp/oracles" > "$tmp/pcaps"
count=$(wc -l < "$tmp/pcaps")
# several captures per run; `layers` ends each one's frames with "#file<TAB>NAME" (a batch of one
# would print no marker, so never leave a single file for the last batch)
batch=200
[ $((count % batch)) -eq 1 ] && batch=199
tr '\n' '\0' < "$tmp/pcaps" | xargs -0 -n "$batch" "$tmp/moonshark" layers -q --no-progress \
    > "$tmp/ours" 2> "$tmp/errors"

awk -F'\t' -v names="$names" -v oracles="$tmp/oracles" -v diffs="$tmp/diffs" '
    function cut(s,   m, p, i, o) {
        m = split(s, p, ":"); o = ""
        for (i = 1; i <= m; i++) { if (!(p[i] in ok)) break; o = o (i > 1 ? ":" : "") p[i] }
        return o
    }
    BEGIN { n = split(names, a, " "); for (i = 1; i <= n; i++) ok[a[i]] = 1 }
    # our output: frames, then the #file marker naming the capture they belong to
    $1 == "#file" { for (k = 1; k <= pending; k++) ours[$2 SUBSEP pf[k]] = ps[k]; pending = 0; next }
    { pending++; pf[pending] = $1; ps[pending] = cut($2) }
    END {
        while ((getline oracle < oracles) > 0) {
            file = oracle; sub(/\.layers\.tsv$/, "", file)
            agree = 0; total = 0; shown = 0
            while ((getline line < oracle) > 0) {
                tab = index(line, "\t")
                if (!tab) continue
                num = substr(line, 1, tab - 1); t = cut(substr(line, tab + 1))
                total++
                o = ((file SUBSEP num) in ours) ? ours[file SUBSEP num] : "(missing)"
                if (o == t) agree++
                else if (shown++ < 3) print file ":" num "\tours=" o "\ttshark=" t > diffs
            }
            close(oracle)
            printf "%s\t%d\t%d\n", file, agree, total
        }
    }' "$tmp/ours" > "$tmp/results"

# lazy == eager
lazy_bad=0
if [ -n "$checker" ]; then
    "$checker" --oracle "$PCAPS" > "$tmp/check" 2>/dev/null
    lazy_bad=$(awk -F'\t' 'NF == 4 && $4 > 0 { n += $4 } END { print n + 0 }' "$tmp/check")
    lazy_how="layers_check: layers, addresses, ports, payload"
else
    tr '\n' '\0' < "$tmp/pcaps" | xargs -0 -n "$batch" "$tmp/moonshark" layers -q --no-progress --lazy \
        > "$tmp/lazy" 2>/dev/null
    lazy_bad=$(cmp "$tmp/ours" "$tmp/lazy" >/dev/null 2>&1 && echo 0 || diff "$tmp/ours" "$tmp/lazy" | grep -c '^<')
    lazy_how="moonshark layers --lazy output"
fi

# moonshark stats: frame counts agree with the oracle; a fragmented capture counts its reassembly
stats_bad=0
for rel in zeek/ipv4/fragmented-1.pcap tcpdump/802.1ad_QinQ.pcap zeek/tunnels/vxlan.pcap; do
    [ -f "$PCAPS/$rel.layers.tsv" ] || continue
    want=$(grep -c . "$PCAPS/$rel.layers.tsv")
    got=$("$tmp/moonshark" stats --json -q --no-progress "$PCAPS/$rel" 2>/dev/null | sed -n 's/^{"frames":\([0-9]*\),.*/\1/p')
    if [ "$got" != "$want" ]; then
        echo "layers_oracle: stats on $rel: frames '$got', oracle has $want"; stats_bad=$((stats_bad + 1))
    fi
done
if [ -f "$PCAPS/zeek/ipv4/fragmented-1.pcap" ] &&
   ! "$tmp/moonshark" stats -q --no-progress "$PCAPS/zeek/ipv4/fragmented-1.pcap" 2>/dev/null | grep -q '^fragments.reassembled	1$'; then
    echo "layers_oracle: stats on zeek/ipv4/fragmented-1.pcap: expected 1 reassembled datagram"; stats_bad=$((stats_bad + 1))
fi

awk -F'\t' -v min="$min" -v lazy_bad="$lazy_bad" -v lazy_how="$lazy_how" -v stats_bad="$stats_bad" '
    { files++; agree += $2; total += $3; if ($2 == $3) passed++; else failed++ }
    END {
        pct = total ? 100 * agree / total : 100
        # per-capture agreement is information, not a verdict (the gate is the frame figure),
        # so it is not phrased as "N failed"
        printf "layers_oracle: %d of %d captures agree with tshark on every frame\n", passed, passed + failed
        printf "layers_oracle: frames %d, agree %d (%.3f%%), minimum %s%%\n", total, agree, pct, min
        printf "layers_oracle: lazy != eager on %d frames (%s)\n", lazy_bad, lazy_how
        printf "layers_oracle: stats checks failed: %d\n", stats_bad
        bad = (pct + 0 < min + 0 || lazy_bad > 0 || stats_bad > 0)
        printf "layers_oracle: %d passed, %d failed (frame agreement, lazy == eager, stats)\n", 3 - ((pct + 0 < min + 0) + (lazy_bad > 0) + (stats_bad > 0)), (pct + 0 < min + 0) + (lazy_bad > 0) + (stats_bad > 0)
        exit bad ? 1 : 0
    }' "$tmp/results"
rc=$?
echo "layers_oracle: worst captures (frames differing):"
awk -F'\t' '$2 != $3 { print $3 - $2 "\t" $1 }' "$tmp/results" | sort -rn | head -n 10 | sed 's/^/  /'
if [ -s "$tmp/diffs" ]; then
    echo "layers_oracle: first differences:"
    head -n 12 "$tmp/diffs" | cut -c1-240 | sed 's/^/  /'
fi
if [ -s "$tmp/errors" ]; then
    echo "layers_oracle: moonshark reported $(wc -l < "$tmp/errors") input errors, e.g.:"
    head -n 3 "$tmp/errors" | cut -c1-240 | sed 's/^/  /'
fi
exit $rc
