#!/bin/sh
# layers_oracle.sh — `moonshark layers` against tshark's frame.protocols on every capture in
# $PCAPS that has a X.layers.tsv oracle. Both stacks are cut at the first protocol name moonshark
# does not decode (list below), then compared frame by frame. Fails when fewer than 99% of all
# frames agree. Also checks lazy == eager decoding on every capture (build/tools/layers_check
# compares layers, addresses, ports and payloads; without it, `layers --lazy` output is compared).
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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

names="eth ethertype vlan ieee8021ad mpls pppoes ppp sll null loop raw ip ipv6 ipv6.hopopts ipv6.routing ipv6.fraghdr ipv6.dstopts ah tcp udp icmp icmpv6 arp gre vxlan llc"

find "$PCAPS" -name '*.layers.tsv' | sort > "$tmp/oracles"
: > "$tmp/results"
while IFS= read -r oracle; do
    pcap=${oracle%.layers.tsv}
    "$MOONSHARK" layers -q --no-progress "$pcap" 2>/dev/null > "$tmp/ours"
    awk -F'\t' -v names="$names" -v file="$pcap" -v diffs="$tmp/diffs" '
        BEGIN { n = split(names, a, " "); for (i = 1; i <= n; i++) ok[a[i]] = 1 }
        function cut(s,   m, p, i, o) {
            m = split(s, p, ":"); o = ""
            for (i = 1; i <= m; i++) { if (!(p[i] in ok)) break; o = o (i > 1 ? ":" : "") p[i] }
            return o
        }
        FNR == NR { ours[$1] = cut($2); next }
        {
            total++
            t = cut($2); o = ($1 in ours) ? ours[$1] : "(missing)"
            if (o == t) agree++
            else if (shown++ < 3) print file ":" $1 "\tours=" o "\ttshark=" t >> diffs
        }
        END { printf "%s\t%d\t%d\n", file, agree, total }
    ' "$tmp/ours" "$oracle" >> "$tmp/results"
done < "$tmp/oracles"

# lazy == eager
lazy_bad=0
if [ -x "$BUILD_DIR/tools/layers_check" ]; then
    "$BUILD_DIR/tools/layers_check" --oracle "$PCAPS" > "$tmp/check" 2>/dev/null
    lazy_bad=$(awk -F'\t' 'NF == 4 && $4 > 0 { n += $4 } END { print n + 0 }' "$tmp/check")
    lazy_how="layers_check (layers, addresses, ports, payload)"
else
    while IFS= read -r oracle; do
        pcap=${oracle%.layers.tsv}
        "$MOONSHARK" layers -q --no-progress "$pcap" > "$tmp/e" 2>/dev/null
        "$MOONSHARK" layers -q --no-progress --lazy "$pcap" > "$tmp/l" 2>/dev/null
        cmp -s "$tmp/e" "$tmp/l" || lazy_bad=$((lazy_bad + 1))
    done < "$tmp/oracles"
    lazy_how="moonshark layers --lazy output"
fi

awk -F'\t' -v min="$min" -v lazy_bad="$lazy_bad" -v lazy_how="$lazy_how" '
    { files++; agree += $2; total += $3; if ($2 == $3) passed++; else { failed++; worst[$1] = $3 - $2 } }
    END {
        pct = total ? 100 * agree / total : 100
        printf "layers_oracle: %d passed, %d failed (files agreeing on every frame)\n", passed, failed
        printf "layers_oracle: frames %d, agree %d (%.3f%%), minimum %s%%\n", total, agree, pct, min
        printf "layers_oracle: lazy != eager on %d frames (%s)\n", lazy_bad, lazy_how
        exit (pct + 0 < min + 0 || lazy_bad > 0) ? 1 : 0
    }' "$tmp/results"
rc=$?
echo "layers_oracle: worst files (frames differing):"
awk -F'\t' '$2 != $3 { print $3 - $2 "\t" $1 }' "$tmp/results" | sort -rn | head -n 10 | sed 's/^/  /'
if [ -s "$tmp/diffs" ]; then
    echo "layers_oracle: first differences:"
    head -n 15 "$tmp/diffs" | cut -c1-240 | sed "s/^/  /"
fi
exit $rc
