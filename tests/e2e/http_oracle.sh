#!/bin/sh
# HTTP requests of `moonshark http --json` against tshark's on every capture of ../shared/pcaps
# with a .http.tsv oracle: >= 99% agreement on (client, server, method, uri), host and user agent.
# Env: MOONSHARK (binary), PCAPS (captures dir). Skips (exit 0) when either is absent.
top=$(cd "$(dirname "$0")/../.." && pwd)
MOONSHARK=${MOONSHARK:-$top/build/moonshark}
PCAPS=${PCAPS:-$top/../shared/pcaps}
if [ ! -d "$PCAPS" ]; then
    echo "http_oracle: SKIP: captures not found at $PCAPS"; exit 0
fi
if [ ! -x "$MOONSHARK" ]; then
    echo "http_oracle: SKIP: moonshark binary not found at $MOONSHARK (make first)"; exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "http_oracle: SKIP: python3 not found"; exit 0
fi
details=${HTTP_ORACLE_DETAILS:-${TMPDIR:-/tmp}/http_oracle_details.txt}
exec python3 "$top/tests/e2e/http_oracle.py" "$MOONSHARK" "$PCAPS" --details "$details" --jobs 2
