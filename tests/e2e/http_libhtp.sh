#!/bin/sh
# moonshark's HTTP records against libhtp (Suricata's parser) on moonshark's own reassembled
# streams, on every capture of ../shared/pcaps with a tshark HTTP oracle: per-field agreement,
# gates in tests/e2e/http_libhtp.py, the difference classes in docs/http-oracle.md.
# Env: MOONSHARK, PCAPS, BUILD_DIR. Skips when the captures, python3 or the oracle are absent.
top=$(cd "$(dirname "$0")/../.." && pwd)
MOONSHARK=${MOONSHARK:-$top/build/moonshark}
PCAPS=${PCAPS:-$top/../shared/pcaps}
HTP=${BUILD_DIR:-$(dirname "$MOONSHARK")}/tests/oracles/htp_streams
if [ ! -d "$PCAPS" ]; then
    echo "http_libhtp: SKIP: captures not found at $PCAPS"; exit 0
fi
if [ ! -x "$HTP" ]; then
    echo "http_libhtp: SKIP: $HTP not built (install libhtp-dev, then make oracles)"; exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "http_libhtp: SKIP: python3 not found"; exit 0
fi
# uids are drawn per run: one seed lets `moonshark http` and `moonshark streams` join on them
MOONSHARK_SEED=${MOONSHARK_SEED:-1}; export MOONSHARK_SEED
details=${HTTP_LIBHTP_DETAILS:-${TMPDIR:-/tmp}/http_libhtp_details.txt}
python3 "$top/tests/e2e/http_libhtp.py" "$MOONSHARK" "$HTP" "$PCAPS" --jobs 2 --details "$details"
rc=$?
echo "http_libhtp: each difference: $details"
exit $rc
