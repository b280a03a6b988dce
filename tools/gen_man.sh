#!/bin/sh
# gen_man.sh MOONSHARK — writes the man page moonshark(1) on stdout, made from the binary's own
# --help texts (the one source of every fact in the page: `moonshark --help`, each command's
# `moonshark COMMAND --help`, `moonshark -s FILE.lua --help`). This script adds only roff structure:
# "Header:" lines become sections, "  TERM   text" lines in a section become tagged paragraphs,
# deeper-indented lines continue them, "Examples:" blocks stay verbatim. tests/e2e/man_page.sh
# checks that every line of every help text is in the rendered page.
# Env: MAN_DATE (YYYY-MM-DD; default: the last commit's date, else today).
set -eu
bin=${1:?usage: gen_man.sh MOONSHARK}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" --help > "$tmp/main"
version=$("$bin" --version | awk '{ print $2 }')
date=${MAN_DATE:-$(git -C "$top" log -1 --format=%cs 2>/dev/null || true)}
[ -n "$date" ] || date=$(date -u +%Y-%m-%d)
# the commands are the items of the main help's "Commands:" section
commands=$(awk '/^Commands:$/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }' "$tmp/main")
[ -n "$commands" ] || { echo "gen_man.sh: no Commands: section in '$bin --help'" >&2; exit 1; }

# to_roff MODE TITLE < help: MODE main (sections .SH, NAME/SYNOPSIS/DESCRIPTION from the top)
# or sub (one .SS TITLE, headers as bold lines).
to_roff() {
    awk -v mode="$1" -v title="$2" '
    # roff-escapes a line of text: backslashes, a leading dot or quote, and the dashes of
    # options (-r, --json, --no-promisc) so they render as minus signs that can be pasted
    function esc(s,    out, i, c, prev, opt) {
        gsub(/\\/, "\\e", s)
        out = ""; prev = " "; opt = 0
        for (i = 1; i <= length(s); i++) {
            c = substr(s, i, 1)
            if (c == "-" && (opt || index(" ([|,=/\"'\''", prev) > 0)) {
                out = out "\\-"; opt = 1
            } else {
                if (c !~ /[A-Za-z0-9_.-]/) opt = 0
                out = out c
            }
            prev = c
        }
        if (out ~ /^[.'\'']/) out = "\\&" out
        return out
    }
    function strip(s) { sub(/^ +/, "", s); return s }
    # prints escaped filled text in source lines of at most 79 bytes (man style), cut at spaces
    function emit(s,    cut) {
        while (length(s) > 79 && (cut = lastspace(substr(s, 1, 79))) > 0) {
            print substr(s, 1, cut - 1)
            s = substr(s, cut + 1)
            if (s ~ /^[.'\'']/) s = "\\&" s
        }
        print s
    }
    function lastspace(s,    i) { for (i = length(s); i > 0; i--) if (substr(s, i, 1) == " ") return i; return 0 }
    # an item term: the first word bold, then options bold and metavariables italic
    function term(s,    n, w, i, out, t, tail) {
        n = split(s, w, " "); out = ""
        for (i = 1; i <= n; i++) {
            t = w[i]; tail = ""
            if (t ~ /,$/) { tail = ","; t = substr(t, 1, length(t) - 1) }
            if (i == 1 || t ~ /^-/) out = out (i > 1 ? " " : "") "\\fB" esc(t) "\\fR" tail
            else out = out " \\fI" esc(t) "\\fR" tail
        }
        return out
    }
    function close_verbatim() {
        if (verbatim_open) { print ".fi"; print ".RE"; verbatim_open = 0 }
        if (indent_open) { print ".RE"; indent_open = 0 }
    }
    function section(name,    u) {
        close_verbatim()
        if (mode == "main") {
            if (in_commands) print "@@COMMAND_PAGES@@"
            in_commands = (name == "Commands")
            u = toupper(name)
            if (name == "Common options") u = "OPTIONS"
            printf ".SH %s\n", (u ~ / / ? "\"" u "\"" : u)
            para = 0
        } else {
            print ".PP"; printf ".B \"%s:\"\n", name
            para = 1
        }
        need_pp = 0
    }
    function text(s) {
        if (need_pp && para) print ".PP"
        need_pp = 0; para = 1
        if (s != "") emit(esc(strip(s)))
    }
    BEGIN { usage = 1; nusage = 0 }
    usage && (/^usage: / || /^       [^ ]/) { syn[++nusage] = strip(substr($0, /^usage: / ? 8 : 1)); next }
    usage {
        usage = 0
        if (mode == "main") {
            print ".SH NAME"
            # filled in below, from the first sentence of the description
            print "@@NAME@@"
            print ".SH SYNOPSIS"
        } else {
            printf ".SS \"%s\"\n", esc(title)
        }
        print ".nf"
        for (i = 1; i <= nusage; i++) print esc(syn[i])
        print ".fi"
        if (mode == "main") { print ".SH DESCRIPTION"; para = 0 } else para = 1
        need_pp = 1
    }
    /^$/ { close_verbatim(); list = 0; need_pp = 1; next }
    /^[A-Z][A-Za-z ]*:$/ {
        name = substr($0, 1, length($0) - 1)
        section(name)
        list = 1; verbatim = (name == "Examples")
        next
    }
    list && verbatim {
        if (!verbatim_open) { print ".RS 4"; print ".nf"; verbatim_open = 1 }
        line = $0; sub(/^  /, "", line)
        print esc(line)
        next
    }
    list && /^  [^ ]/ {
        # TERM, then two or more spaces, then its text; a single space does not separate
        rest = substr($0, 3)
        if (match(rest, /[^ ]  +[^ ]/)) {
            print ".TP"
            print term(substr(rest, 1, RSTART))
            d = substr(rest, RSTART + 1); emit(esc(strip(d)))
            para = 1; need_pp = 0
            next
        }
    }
    list && /^  / { emit(esc(strip($0))); next }   # the item goes on
    # an indented block inside a paragraph (a list of fields): its own indented lines, filled
    /^  / { if (!indent_open) { text(""); print ".RS 4"; indent_open = 1 } emit(esc(strip($0))); next }
    { if (list) { list = 0; need_pp = 1 } close_verbatim(); text($0) }
    END {
        close_verbatim()
        if (in_commands) print "@@COMMAND_PAGES@@"
    }'
}

{
    printf '.TH MOONSHARK 1 %s "moonshark %s" "User Commands"\n' "$date" "$version"
    to_roff main ""
} < "$tmp/main" > "$tmp/page"

# NAME: the description's first sentence up to its first colon ("Packet analysis with ...: ...")
name=$(awk 'p && /^$/ { exit } p { printf "%s ", $0 } /^$/ && !p { p = 1 }' "$tmp/main" |
       sed 's/: .*//; s/\. .*//; s/\. *$//; s/ *$//; s/\\/\\e/g' | awk '{ print tolower(substr($0, 1, 1)) substr($0, 2) }')

: > "$tmp/commands"
for c in $commands; do
    "$bin" "$c" --help > "$tmp/cmd" || { echo "gen_man.sh: '$bin $c --help' failed" >&2; exit 1; }
    to_roff sub "moonshark $c" < "$tmp/cmd" >> "$tmp/commands"
done
"$bin" -s FILE.lua --help > "$tmp/cmd"
to_roff sub "moonshark -s FILE.lua" < "$tmp/cmd" >> "$tmp/commands"

grep -q '^@@COMMAND_PAGES@@$' "$tmp/page" || { echo "gen_man.sh: no place for the command pages" >&2; exit 1; }
awk -v name="moonshark \\- $name" -v cmds="$tmp/commands" '
    $0 == "@@NAME@@" { print name; next }
    $0 == "@@COMMAND_PAGES@@" { while ((getline l < cmds) > 0) print l; next }
    { print }' "$tmp/page"
