#!/bin/sh
# run.sh — builds every tests/fuzz/fuzz_*.c as a libFuzzer binary against the engine sources
# (compiled with clang -fsanitize=fuzzer,address,undefined into build-fuzz/) and runs each for
# FUZZ_SECONDS (default 60). Seeds: tests/fuzz/seed_NAME.sh CORPUS (optional, per target; may use
# $PCAPS, default ../shared/pcaps). Extra libFuzzer flags: tests/fuzz/NAME.options (optional, one
# line). Crashes are kept in build-fuzz/NAME-crashes/.
# Env: CC (default clang), FUZZ_SECONDS, FUZZ_TARGETS (names to run, default all), PCAPS.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
CC=${CC_FUZZ:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
PCAPS=${PCAPS:-$top/../shared/pcaps}
FUZZ_DIR=$top/build-fuzz
export CC PCAPS FUZZ_DIR
mkdir -p "$FUZZ_DIR/obj" "$FUZZ_DIR/gen"

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
PKG_CFLAGS=$(pkg-config --cflags libpcap lua5.4 libmagic zlib 2>/dev/null)
PKG_LIBS=$(pkg-config --libs libpcap lua5.4 libmagic zlib 2>/dev/null)
CFLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O1 -g -Iengine -I. $PKG_CFLAGS"

# the engine as objects instrumented for the fuzzer (rebuilt when a source is newer)
sh tools/embed_lua.sh $(ls lua/*.lua protocols/*.lua 2>/dev/null | sort) > "$FUZZ_DIR/gen/embedded_lua.c.new" &&
    { cmp -s "$FUZZ_DIR/gen/embedded_lua.c.new" "$FUZZ_DIR/gen/embedded_lua.c" ||
      mv "$FUZZ_DIR/gen/embedded_lua.c.new" "$FUZZ_DIR/gen/embedded_lua.c"; }
objs=""
for src in $(ls engine/*/*.c engine/decode/layers/*.c lua/*.c 2>/dev/null | grep -v '^engine/cli/') "$FUZZ_DIR/gen/embedded_lua.c"; do
    obj=$FUZZ_DIR/obj/$(echo "$src" | sed "s|^$FUZZ_DIR/||; s|/|_|g; s|\.c$|.o|")
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find engine lua -name '*.h' -newer "$obj" 2>/dev/null | head -n 1)" ]; then
        $CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || { echo "fuzz: cannot compile $src"; exit 1; }
    fi
    objs="$objs $obj"
done

failed=0; ran=0
for t in tests/fuzz/fuzz_*.c; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .c)
    if [ -n "${FUZZ_TARGETS:-}" ] && ! echo " $FUZZ_TARGETS " | grep -q " $name "; then
        continue
    fi
    ran=$((ran + 1))
    bin=$FUZZ_DIR/$name
    if ! $CC $CFLAGS $SAN -fsanitize=fuzzer "$t" $objs -o "$bin" $PKG_LIBS -lm; then
        echo "fuzz: $name: build FAILED"; failed=$((failed + 1)); continue
    fi
    corpus=$FUZZ_DIR/$name-corpus
    crashes=$FUZZ_DIR/$name-crashes
    mkdir -p "$corpus" "$crashes"
    if [ -f "tests/fuzz/seed_$name.sh" ] && [ -z "$(ls -A "$corpus" 2>/dev/null)" ]; then
        sh "tests/fuzz/seed_$name.sh" "$corpus"
    fi
    extra=""
    [ -f "tests/fuzz/$name.options" ] && extra=$(cat "tests/fuzz/$name.options")
    echo "fuzz: $name: running ${FUZZ_SECONDS}s"
    # shellcheck disable=SC2086
    if "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$crashes/" $extra "$corpus" > "$FUZZ_DIR/$name.log" 2>&1; then
        echo "fuzz: $name ok ($(grep -E '^stat::number_of_executed_units' "$FUZZ_DIR/$name.log" | awk '{print $2}') runs," \
             "$(grep -E '^stat::new_units_added' "$FUZZ_DIR/$name.log" | awk '{print $2}') new inputs)"
    else
        echo "fuzz: $name FAILED (crash input in $crashes/; log $FUZZ_DIR/$name.log):"
        grep -E 'ERROR|SUMMARY|runtime error' "$FUZZ_DIR/$name.log" | head -n 5 | sed 's/^/  /'
        failed=$((failed + 1))
    fi
done
echo "fuzz: $((ran - failed)) passed, $failed failed"
[ $failed -eq 0 ]
