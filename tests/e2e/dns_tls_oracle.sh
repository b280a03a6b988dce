#!/bin/sh
# dns.log and ssl.log of `moonshark all` against tshark on every capture of ../shared/pcaps with
# DNS or TLS over TCP: per-field agreement against thresholds (tests/e2e/dns_tls_oracle.py;
# figures and every class of difference in docs/dns-tls.md). tshark's readings are cached in
# $BUILD_DIR/oracle-cache. Env: MOONSHARK, PCAPS, BUILD_DIR. Skips (exit 0) when the captures,
# the binary, python3 or tshark are absent.
top=$(cd "$(dirname "$0")/../.." && pwd)
MOONSHARK=${MOONSHARK:-$top/build/moonshark}
PCAPS=${PCAPS:-$top/../shared/pcaps}
BUILD_DIR=${BUILD_DIR:-$top/build}
if [ ! -d "$PCAPS" ]; then
    echo "dns_tls_oracle: SKIP: captures not found at $PCAPS"; exit 0
fi
if [ ! -x "$MOONSHARK" ]; then
    echo "dns_tls_oracle: SKIP: moonshark binary not found at $MOONSHARK (make first)"; exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "dns_tls_oracle: SKIP: python3 not found"; exit 0
fi
if ! command -v tshark >/dev/null 2>&1; then
    echo "dns_tls_oracle: SKIP: tshark not found (apt-get install tshark; .ci/run installs it)"; exit 0
fi
details=${DNS_TLS_ORACLE_DETAILS:-${TMPDIR:-/tmp}/dns_tls_oracle_details.txt}
exec python3 "$top/tests/e2e/dns_tls_oracle.py" "$MOONSHARK" "$PCAPS" --cache "$BUILD_DIR/oracle-cache" \
    --details "$details" --jobs 2
