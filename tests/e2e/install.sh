#!/bin/sh
# make install / make uninstall into a temporary prefix, then use what was installed as a user
# would: the binary runs from the prefix (protocols compiled in), the man page there is the one
# made from its --help, every public header compiles alone from include/moonshark/, and
# samples/embed_count_tcp.c, built with nothing but `pkg-config --cflags --libs moonshark`, counts
# the same frames and TCP packets as `moonshark stats` on the bundled samples, on a mixed capture
# made here, and on real captures of ../shared/pcaps (skipped when absent). DESTDIR staging too.
set -u
: "${MOONSHARK:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "install: FAIL $3: got '$1', want '$2'"; fi; }
unset MAKEFLAGS MFLAGS MAKELEVEL
# the build directory the binary under test came from, relative to the tree (so make reuses it)
build=$(cd "$(dirname "$MOONSHARK")" && pwd)
case $build in "$top"/*) build=${build#"$top"/} ;; esac
mk() { make -C "$top" --no-print-directory BUILD="$build" "$@" > "$tmp/make.log" 2>&1 || { echo "install: make $*:"; tail -n 5 "$tmp/make.log"; return 1; }; }

prefix=$tmp/prefix
mk install PREFIX="$prefix"; check $? 0 "make install PREFIX=$prefix"
for f in bin/moonshark share/man/man1/moonshark.1 share/moonshark/protocols/http.lua lib/libmoonshark.a \
         lib/pkgconfig/moonshark.pc include/moonshark/capture/source.h include/moonshark/lua/ms_lua.h; do
    [ -f "$prefix/$f" ]; check $? 0 "installed $f"
done
for p in "$top"/protocols/*.lua; do
    cmp -s "$p" "$prefix/share/moonshark/protocols/$(basename "$p")"; check $? 0 "protocols/$(basename "$p") installed as is"
done

# the installed binary, from elsewhere: same records as the one under test
cd "$tmp"
"$prefix/bin/moonshark" http --seed 1 "$top/samples/http-loopback.pcap" > "$tmp/inst.http" 2>&1; check $? 0 "installed binary runs from the prefix"
"$MOONSHARK" http --seed 1 "$top/samples/http-loopback.pcap" > "$tmp/build.http" 2>&1
# (as sets: --threads orders records as they come; #open/#close carry the run's time)
grep -v '^#open\|^#close' "$tmp/inst.http" | sort > "$tmp/inst.sorted"
grep -v '^#open\|^#close' "$tmp/build.http" | sort > "$tmp/build.sorted"
cmp -s "$tmp/inst.sorted" "$tmp/build.sorted"; check $? 0 "installed binary prints what the built one prints"
[ "$(grep -vc '^#' "$tmp/inst.http")" -gt 0 ]; check $? 0 "records printed"

# the installed man page is the one the installed binary's --help makes, and man finds it
sh "$top/tools/gen_man.sh" "$prefix/bin/moonshark" > "$tmp/fresh.1"
cmp -s "$tmp/fresh.1" "$prefix/share/man/man1/moonshark.1"; check $? 0 "installed man page == gen_man.sh of the installed binary"
if command -v man > /dev/null 2>&1; then
    check "$(MANPATH="$prefix/share/man" man -w moonshark 2>&1)" "$prefix/share/man/man1/moonshark.1" "man -w moonshark finds the page"
fi

# the library, through pkg-config only (PKG_CONFIG_PATH, no path into the source tree)
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
check "$(pkg-config --modversion moonshark)" "$("$prefix/bin/moonshark" --version | awk '{ print $2 }')" "pkg-config --modversion"
cflags=$(pkg-config --cflags moonshark); libs=$(pkg-config --libs moonshark)
hdrs=0
for h in $(cd "$prefix/include" && find moonshark -name '*.h' | sort); do
    printf '#include <%s>\n' "$h" > "$tmp/h.c"
    cc -std=c11 -Wall -Wextra -Werror $cflags -fsyntax-only "$tmp/h.c" 2> "$tmp/cc.err"; check $? 0 "<$h> compiles alone: $(head -n 1 "$tmp/cc.err")"
    hdrs=$((hdrs + 1))
done
check "$hdrs" 11 "public headers installed"
cp "$top/samples/embed_count_tcp.c" "$tmp/"
cc -std=c11 -Wall -Wextra -Werror embed_count_tcp.c $cflags $libs -o embed_count_tcp 2> "$tmp/cc.err"
check $? 0 "embed_count_tcp.c builds with pkg-config --cflags --libs moonshark: $(head -n 2 "$tmp/cc.err")"

# a mixed capture: the bundled sample, then three UDP frames (185 TCP of 188)
sh "$top/tests/helpers/mixed_pcap.sh" "$tmp/mixed.pcap"
stats_says() { "$prefix/bin/moonshark" stats "$1" 2>/dev/null | awk '$1 == "frames" { f = $2 } $1 == "layer.tcp" { t = $2 } END { printf "frames %d tcp %d\n", f, t }'; }
compared=0
compare() { # INSTALL_VERBOSE=1 prints each count
    got=$(./embed_count_tcp "$1" 2>/dev/null)
    [ -n "${INSTALL_VERBOSE:-}" ] && echo "install: $(basename "$1"): $got"
    check "$got" "$(stats_says "$1")" "embed_count_tcp vs moonshark stats on $(basename "$1")"
    compared=$((compared + 1))
}
for f in "$top"/samples/*.pcap "$tmp/mixed.pcap"; do compare "$f"; done
check "$(./embed_count_tcp "$tmp/mixed.pcap")" "frames 188 tcp 185" "the mixed capture: 185 TCP frames of 188"
PCAPS=${PCAPS:-$top/../shared/pcaps}
if [ -d "$PCAPS/zeek" ]; then
    # real captures with both TCP and UDP and no tunnel or ICMP quote (where one frame holds two
    # TCP layers), picked cheaply from tshark's layer oracle beside each one
    picked=0
    for f in $(find "$PCAPS/zeek" -name '*.pcap' | sort); do
        [ $picked -ge 10 ] && break
        o=$f.layers.tsv
        [ -f "$o" ] && grep -q ':tcp' "$o" && grep -q ':udp' "$o" &&
            ! grep -q -E ':(gre|vxlan|geneve|gtp|ayiya|wlan|icmp|icmpv6|ip:.*:ip|ipv6:.*:ipv6)' "$o" || continue
        compare "$f"; picked=$((picked + 1))
    done
else
    echo "install: SKIP real-capture comparison: $PCAPS not found"
fi
echo "install: embed_count_tcp agreed with moonshark stats on $compared captures"

# uninstall leaves no file behind
mk uninstall PREFIX="$prefix"; check $? 0 "make uninstall"
check "$(find "$prefix" -type f | wc -l | tr -d ' ')" 0 "files left after make uninstall"

# DESTDIR stages under a root without touching PREFIX itself
mk install PREFIX=/usr/local DESTDIR="$tmp/stage"; check $? 0 "make install DESTDIR="
[ -x "$tmp/stage/usr/local/bin/moonshark" ]; check $? 0 "DESTDIR: binary staged"
check "$(sed -n 's/^prefix=//p' "$tmp/stage/usr/local/lib/pkgconfig/moonshark.pc")" /usr/local "DESTDIR: the .pc names the final prefix"
mk uninstall PREFIX=/usr/local DESTDIR="$tmp/stage"
check "$(find "$tmp/stage" -type f | wc -l | tr -d ' ')" 0 "DESTDIR: files left after uninstall"

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
