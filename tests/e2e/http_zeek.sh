#!/bin/sh
# `moonshark http --json` against every Zeek http.log baseline under ../shared/pcaps
# (**/*.zeek-expected.http.log): >= 95% of Zeek's rows equal on method, uri, status and both body
# lengths, >= 95% per field (mime types reported only). Env: MOONSHARK, PCAPS. Skips when absent.
top=$(cd "$(dirname "$0")/../.." && pwd)
MOONSHARK=${MOONSHARK:-$top/build/moonshark}
PCAPS=${PCAPS:-$top/../shared/pcaps}
if [ ! -d "$PCAPS/zeek" ]; then
    echo "http_zeek: SKIP: captures not found at $PCAPS"; exit 0
fi
if [ ! -x "$MOONSHARK" ]; then
    echo "http_zeek: SKIP: moonshark binary not found at $MOONSHARK (make first)"; exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "http_zeek: SKIP: python3 not found"; exit 0
fi
details=${HTTP_ZEEK_DETAILS:-${TMPDIR:-/tmp}/http_zeek_details.txt}
out=$(mktemp); trap 'rm -f "$out"' EXIT
python3 "$top/tests/e2e/http_zeek.py" "$MOONSHARK" "$PCAPS" --min-rows 95 --min-field 95 --details "$details" >"$out"
rc=$?
grep -v '^http_zeek: diff ' "$out"
echo "http_zeek: each difference: $details"
exit $rc
