#!/bin/sh
# `moonshark http --json` against Zeek's http.log baselines (zeek/http/*.zeek-expected.http.log):
# every Zeek record paired (>= 99%), >= 99% of fields equal. Env: MOONSHARK, PCAPS. Skips when absent.
top=$(cd "$(dirname "$0")/../.." && pwd)
MOONSHARK=${MOONSHARK:-$top/build/moonshark}
PCAPS=${PCAPS:-$top/../shared/pcaps}
if [ ! -d "$PCAPS/zeek/http" ]; then
    echo "http_zeek: SKIP: captures not found at $PCAPS"; exit 0
fi
if [ ! -x "$MOONSHARK" ]; then
    echo "http_zeek: SKIP: moonshark binary not found at $MOONSHARK (make first)"; exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "http_zeek: SKIP: python3 not found"; exit 0
fi
exec python3 "$top/tests/e2e/http_zeek.py" "$MOONSHARK" "$PCAPS" --min 99
