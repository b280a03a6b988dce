#!/bin/sh
# Hostile bytes (every byte value, invalid UTF-8 of each kind, escape look-alikes, separators) in
# every logged HTTP field, checked end to end against the escaping rules by hostile_fields.py.
set -u
: "${MOONSHARK:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v python3 > /dev/null 2>&1 || { echo "hostile_fields: SKIP: python3 missing"; exit 0; }
python3 "$(dirname "$0")/hostile_fields.py" "$MOONSHARK" "$tmp"
