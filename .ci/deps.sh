#!/bin/sh
# Installs the Debian packages named on the command line that are not installed yet.
# Uses apt-get directly as root, through sudo otherwise; if neither works, prints the one
# command the user must run and fails.
set -u
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "moonshark: installing missing packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "moonshark: missing packages:$missing — run: sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# the package lists already on the machine usually do; fetch fresh ones only when they do not
$SUDO apt-get install -y -qq $missing >/dev/null 2>&1 && exit 0
$SUDO apt-get update -qq >/dev/null || { echo "moonshark: apt-get update failed" >&2; exit 1; }
$SUDO apt-get install -y -qq $missing >/dev/null || { echo "moonshark: apt-get install$missing failed" >&2; exit 1; }
