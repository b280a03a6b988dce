#!/bin/sh
# Runs every tests/e2e/*.sh with MOONSHARK (the binary) and PCAPS (../shared/pcaps beside the
# checkout; scripts skip their oracle checks with a message when it is absent).
# Each script prints its own "NAME: N passed, N failed" line; this prints the total.
bin=${1:-build/moonshark}
top=$(cd "$(dirname "$0")/.." && pwd)
MOONSHARK=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
PCAPS=${PCAPS:-$top/../shared/pcaps}
BUILD_DIR=$(cd "$(dirname "$bin")" && pwd)
export MOONSHARK PCAPS BUILD_DIR
if [ ! -d "$PCAPS" ]; then
    echo "e2e: SKIP oracle comparisons: $PCAPS not found (the shared captures live beside the checkout)"
fi
failed=0; ran=0
for t in "$top"/tests/e2e/*.sh; do
    [ -f "$t" ] || continue
    ran=$((ran + 1))
    name=$(basename "$t" .sh)
    start=$(date +%s)
    if sh "$t"; then
        echo "e2e: $name ok ($(( $(date +%s) - start ))s)"
    else
        echo "e2e: $name FAILED ($(( $(date +%s) - start ))s)"
        failed=$((failed + 1))
    fi
done
echo "e2e: $((ran - failed)) passed, $failed failed"
[ $failed -eq 0 ]
