#!/bin/sh
# The man page says what --help says, and --help says everything the command line accepts.
# --help is the one source: tools/gen_man.sh makes the page from it. So this checks, loudly:
#   - every option the parsers in engine/cli/*.c accept (getopt letters, long_opts entries, argv
#     words compared with strcmp) is in a --help text, and every shared option (cli.c) is an item
#     of `moonshark --help`'s "Common options:"; every documented option is accepted;
#   - every command in main.c's table is listed under "Commands:", has `moonshark CMD --help`, and
#     a section of the page; every listed command exists;
#   - every line of every help text is in the rendered page (nothing lost on the way);
#   - the page renders without a warning (groff -ww, mandoc -T lint, man -l);
#   - the option check fails on a source tree given one undocumented option (it can fail).
set -u
: "${MOONSHARK:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "man_page: FAIL: $*"; }
skip() { echo "man_page: SKIP $*"; }

page=$tmp/moonshark.1
if sh "$top/tools/gen_man.sh" "$MOONSHARK" > "$page" 2> "$tmp/gen.err"; then ok; else bad "tools/gen_man.sh: $(cat "$tmp/gen.err")"; fi

# ---- the help texts ------------------------------------------------------------------------
"$MOONSHARK" --help > "$tmp/help.main"
commands=$(awk '/^Commands:$/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }' "$tmp/help.main")
for c in $commands; do
    if "$MOONSHARK" "$c" --help > "$tmp/help.cmd.$c" 2> "$tmp/err"; then ok; else bad "'moonshark $c --help' exits non-zero: $(cat "$tmp/err")"; fi
    case $(head -n 1 "$tmp/help.cmd.$c") in
        "usage: moonshark $c"*) ok ;;
        *) bad "'moonshark $c --help' does not start with 'usage: moonshark $c'" ;;
    esac
done
"$MOONSHARK" -s FILE.lua --help > "$tmp/help.script"
cat "$tmp"/help.* > "$tmp/all_help"

# ---- options: the parsers' against the help -----------------------------------------------
# accepted FILE...: every option these C files accept, one per line (-x or --name)
accepted() {
    {
        grep -ho '{ *"[a-z0-9][a-z0-9-]*", *\(no\|required\|optional\)_argument' "$@" | sed 's/^{ *"\([^"]*\)".*/--\1/'
        grep -ho 'getopt\(_long\)\{0,1\} *([^;"]*"[^"]*"' "$@" | sed 's/.*"\([^"]*\)"$/\1/' | tr -d ':' | fold -w1 | sed 's/^/-/'
        grep -ho 'strcmp([^,]*, *"-[^"]*")' "$@" | sed 's/.*"\(-[^"]*\)")$/\1/'
    } | grep -vx -e '--' -e '-' | sort -u   # "--" ends the options and "-" is stdin: no options of their own
}
# the item terms of "Common options:" in the main help, one option per line
common_items() {
    awk '/^Common options:$/ { on = 1; next } on && /^$/ { exit }
         on && /^  -/ { t = substr($0, 3); if (match(t, /[^ ]  +[^ ]/)) t = substr(t, 1, RSTART); print t }' "$1" |
        tr ' ,' '\n\n' | grep '^-' | sort -u
}
# check_options SRCDIR HELPS MAINHELP: prints one line per problem
check_options() {
    accepted "$1"/*.c > "$tmp/acc"
    accepted "$1/cli.c" > "$tmp/shared"
    common_items "$3" > "$tmp/items"
    awk -v helps="$2" '
        BEGIN { while ((getline l < helps) > 0) h = h "\n" l; h = h "\n" }
        FILENAME == ARGV[1] { item[$0] = 1; next }
        FILENAME == ARGV[2] {
            acc[$0] = 1
            if (h !~ ("[^A-Za-z0-9-]" $0 "[^A-Za-z0-9-]"))
                print "option " $0 " is accepted by engine/cli/ but no --help text mentions it: add it to the usage text (main_usage in engine/cli/main.c for shared options); the man page is made from --help"
            next
        }
        !($0 in item) { print "shared option " $0 " (engine/cli/cli.c) is not an item of '\''moonshark --help'\'' Common options: give it a line \"  " $0 " ...  what it does\" in main_usage" }
        END { for (o in item) if (!(o in acc)) print "'\''moonshark --help'\'' documents " o " but no parser in engine/cli/ accepts it" }
    ' "$tmp/items" "$tmp/acc" "$tmp/shared"
    # an option line whose text is one space away from the option reads as part of its name
    awk '/^Common options:$/ { on = 1; next } on && /^$/ { exit }
         on && /^  -/ && !match(substr($0, 3), /[^ ]  +[^ ]/) { print "help line \"" $0 "\" has no two-space gap between the option and its text" }' "$3"
}
check_options "$top/engine/cli" "$tmp/all_help" "$tmp/help.main" > "$tmp/problems"
if [ -s "$tmp/problems" ]; then
    while read -r p; do bad "$p"; done < "$tmp/problems"
else
    ok
fi
n_opts=$(wc -l < "$tmp/acc" | tr -d ' ')
[ "$n_opts" -ge 30 ] && ok || bad "only $n_opts options found in engine/cli/*.c: the extraction is broken"

# the check fails when an option is added without its help line
mkdir "$tmp/src"; cp "$top"/engine/cli/*.c "$tmp/src/"
sed -i 's/{ "version", no_argument/{ "frobnicate", no_argument, NULL, 0 },\n    &/' "$tmp/src/cli.c"
check_options "$tmp/src" "$tmp/all_help" "$tmp/help.main" > "$tmp/problems2"
if grep -q -e '--frobnicate' "$tmp/problems2"; then ok; else bad "an undocumented --frobnicate in cli.c went unnoticed"; fi

# ---- commands ------------------------------------------------------------------------------
table=$(grep -o '{ *"[a-z][a-z0-9-]*", *ms_cmd_[a-z0-9_]* *}' "$top/engine/cli/main.c" | sed 's/^{ *"\([^"]*\)".*/\1/')
[ -n "$table" ] && ok || bad "no command table found in engine/cli/main.c"
for c in $table; do
    echo "$commands" | grep -qx "$c" && ok || bad "command '$c' (engine/cli/main.c) is not listed under Commands: in 'moonshark --help'"
    grep -qx ".SS \"moonshark $c\"" "$page" && ok || bad "the man page has no section for 'moonshark $c'"
done
for c in $commands; do
    echo "$table" | grep -qx "$c" && ok || bad "'moonshark --help' lists command '$c' that main.c does not have"
done

# ---- every help line is in the page --------------------------------------------------------
render() { # the page as one line of plain text
    if command -v mandoc > /dev/null 2>&1; then
        mandoc -T ascii -O width=1000 "$1"
    else
        groff -man -Tascii -rLL=1000n -rHY=0 -P-cbou "$1"
    fi | sed 's/.\x08//g' | sed -e ':a' -e '/-$/{N;s/-\n */-/;ba' -e '}' | tr -s ' \t\n' '   '
}
if command -v mandoc > /dev/null 2>&1 || command -v groff > /dev/null 2>&1; then
    render "$page" > "$tmp/page.txt"
    for h in "$tmp"/help.*; do
        awk -v main="$([ "$h" = "$tmp/help.main" ] && echo 1)" -v src="$(basename "$h")" '
            NR == FNR { page = page $0; next }
            /^$/ { next }
            main && /^[A-Z][A-Za-z ]*:$/ { next }       # section names become .SH titles
            { line = $0; sub(/^usage: /, "", line); gsub(/[ \t]+/, " ", line); sub(/^ /, "", line); sub(/ $/, "", line)
              if (index(page, line) == 0) print src ": \"" line "\"" }' "$tmp/page.txt" "$h"
    done > "$tmp/missing"
    if [ -s "$tmp/missing" ]; then
        while read -r m; do bad "help line not in the rendered page: $m"; done < "$tmp/missing"
    else
        ok
    fi
    lines=$(cat "$tmp"/help.* | grep -c .)
    echo "man_page: $lines help lines, $n_opts options, $(echo "$table" | wc -w | tr -d ' ') commands checked"
else
    skip "rendering check: neither mandoc nor groff installed"
fi

# ---- lint ----------------------------------------------------------------------------------
if command -v groff > /dev/null 2>&1; then
    groff -ww -z -man "$page" > "$tmp/lint" 2>&1
    [ -s "$tmp/lint" ] && bad "groff -ww: $(head -n 3 "$tmp/lint")" || ok
else
    skip "groff -ww: groff not installed"
fi
if command -v mandoc > /dev/null 2>&1; then
    mandoc -T lint "$page" > "$tmp/lint" 2>&1
    [ -s "$tmp/lint" ] && bad "mandoc -T lint: $(head -n 3 "$tmp/lint")" || ok
else
    skip "mandoc -T lint: mandoc not installed (apt-get install mandoc)"
fi
if command -v man > /dev/null 2>&1; then
    MANWIDTH=80 man --warnings -l "$page" > /dev/null 2> "$tmp/lint"
    [ -s "$tmp/lint" ] && bad "man --warnings -l: $(head -n 3 "$tmp/lint")" || ok
fi

echo "man_page: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
