#!/bin/sh
# -Y EXPR (the display filter) and -e FIELD (the columns shown) against an oracle: the same
# expression evaluated in Python over the unfiltered JSON records of the project's own sample
# capture. Also: the records and the filtered-out count of --stats, errors reported before any
# capture is read (syntax, unknown field, -Y on a command without logs), conn -Y, and the
# 80-column table (dates in timestamps, long values cut with an ellipsis, no line wider).
set -u
: "${MOONSHARK:?}"
top=$(cd "$(dirname "$0")/../.." && pwd)
cap=$top/samples/http-sample.pcap
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "display_filter: FAIL $3: got '$1', want '$2'"; fi; }

"$MOONSHARK" http --json --seed 7 "$cap" > "$tmp/all.json"
check "$(wc -l < "$tmp/all.json" | tr -d ' ')" 274 "the sample has its 274 requests"

# filter EXPR PYTHON-PREDICATE: moonshark -Y EXPR keeps exactly the records PREDICATE keeps
filter() {
    "$MOONSHARK" http --json --seed 7 -Y "$1" "$cap" > "$tmp/got.json" 2> "$tmp/err"
    rc=$?
    python3 - "$tmp/all.json" "$tmp/got.json" "$2" << 'EOF' > "$tmp/verdict"
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
def f(r, k, d=None):
    return r.get(k, d)
want = [r for r in rows if eval(sys.argv[3], {"r": r, "f": f, "re": re})]
key = lambda rs: sorted(json.dumps(r, sort_keys=True) for r in rs)  # --threads: any order
print("same" if key(want) == key(got) else "differ: want %d records, got %d" % (len(want), len(got)))
print(len(want))
EOF
    check "$rc $(head -1 "$tmp/verdict")" "0 same" "-Y '$1'"
    n=$(tail -1 "$tmp/verdict")
}
filter 'status_code >= 400' "f(r,'status_code') is not None and r['status_code'] >= 400"
test "$n" -gt 0; check $? 0 "some answers are errors (the filter is tested on records it keeps)"
filter 'method == "POST" or method == "PUT"' "f(r,'method') in ('POST', 'PUT')"
filter 'host ~ "^api\." and not status_code == 200' "re.search(r'^api\.', f(r,'host','') or '') is not None and f(r,'host') is not None and not f(r,'status_code') == 200"
filter 'uri contains "/images/"' "'/images/' in f(r,'uri','')"
filter 'id.resp_p == 8080 && response_body_len > 1000' "r['id.resp_p'] == 8080 and r['response_body_len'] > 1000"
filter 'not status_code' "'status_code' not in r"
filter '(method eq "GET") and (resp_mime_types == "text/plain" or version != "1.1")' "f(r,'method') == 'GET' and ('text/plain' in f(r,'resp_mime_types',[]) or (f(r,'version') is not None and r['version'] != '1.1'))"
filter 'ts >= 1700000000.02 and ts < 1700000000.03' "1700000000.02 <= r['ts'] < 1700000000.03"
filter "user_agent ~ 'curl|Wget'" "re.search('curl|Wget', f(r,'user_agent','') or '') is not None and 'user_agent' in r"

# -e: the chosen columns, in order, in the TSV header and the rows
"$MOONSHARK" http --tsv --seed 7 -e host -e uri,status_code "$cap" > "$tmp/e.tsv"
check "$(grep '^#fields' "$tmp/e.tsv")" "$(printf '#fields\thost\turi\tstatus_code')" "-e picks the columns in order"
python3 - "$tmp/all.json" "$tmp/e.tsv" << 'EOF' > "$tmp/ev"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
want = ["\t".join(str(r.get(k, "-")) for k in ("host", "uri", "status_code")) for r in rows]
got = [l.rstrip("\n") for l in open(sys.argv[2]) if not l.startswith("#")]
print("same" if sorted(want) == sorted(got) else "differ")  # --threads: rows in any order
EOF
check "$(cat "$tmp/ev")" same "-e rows hold the chosen fields of every record"
"$MOONSHARK" http --json --seed 7 -Y 'status_code == 404' -e uri "$cap" | head -1 > "$tmp/j"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(sorted(r))" "$tmp/j" > "$tmp/keys"
check "$(cat "$tmp/keys")" "['uri']" "-Y and -e together: JSON records hold the chosen field only"

# --stats: records written and filtered out
"$MOONSHARK" http --tsv --stats -Y 'status_code >= 400' "$cap" 2> "$tmp/stats" > /dev/null
kept=$(grep '^log.http.records ' "$tmp/stats" | cut -d' ' -f2)
dropped=$(grep '^log.http.filtered_out ' "$tmp/stats" | cut -d' ' -f2)
check "$kept" "$(python3 -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get('status_code', 0) >= 400))" "$tmp/all.json")" "--stats counts the records written"
check "$((kept + dropped))" 274 "--stats: written + filtered out = all records"

# errors at the start, before reading
"$MOONSHARK" http -Y 'status_code >= ' "$cap" > "$tmp/o" 2> "$tmp/e"; rc=$?
check "$rc $(wc -c < "$tmp/o" | tr -d ' ')" "2 0" "a syntax error is a usage error and nothing is written"
grep -q 'column 16' "$tmp/e"; check $? 0 "the syntax error says where"
"$MOONSHARK" http -Y 'stauts == 200' "$cap" > /dev/null 2> "$tmp/e"; rc=$?
check "$rc" 2 "an unknown field is a usage error"
grep -q "no field 'stauts'" "$tmp/e"; check $? 0 "the unknown field is named"
"$MOONSHARK" http -e hots "$cap" > /dev/null 2> "$tmp/e"; check $? 2 "-e with an unknown field is a usage error"
"$MOONSHARK" layers -Y 'x == 1' "$cap" > /dev/null 2>&1; check $? 2 "layers takes no -Y"
"$MOONSHARK" http -Y "uri ~ '('" "$cap" > /dev/null 2> "$tmp/e"; check $? 2 "a bad regular expression is a usage error"

# conn -Y / -e
"$MOONSHARK" conn --tsv -Y 'id.resp_p == 8080 and conn_state == "SF"' -e uid,id.resp_p,conn_state "$cap" > "$tmp/c.tsv"
check "$(grep -v '^#' "$tmp/c.tsv" | cut -f2,3 | sort -u | tr '\n' ' ')" "8080	SF " "conn -Y keeps the matching connections, -e their chosen fields"
test "$(grep -vc '^#' "$tmp/c.tsv")" -gt 0; check $? 0 "conn -Y keeps some connections"

# the table at 80 columns: dates, ellipses, nothing wider than the terminal
COLUMNS=80 LANG=C.UTF-8 "$MOONSHARK" http --table "$cap" > "$tmp/table"
python3 - "$tmp/table" << 'EOF' > "$tmp/tv"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
widest = max(len(l) for l in lines)
dated = sum(1 for l in lines[1:] if l[:4].isdigit() and l[4] == "-" and l[10] == " ")
cut = sum(1 for l in lines if "\u2026" in l)
print(widest <= 80, dated == len(lines) - 1, cut > 0, len(lines))
EOF
check "$(cat "$tmp/tv")" "True True True 275" "table at 80 columns: every row dated, long values cut with an ellipsis, no line wider than 80"
head -1 "$tmp/table" | grep -q 'status_code\|host'; check $? 0 "the 80-column table keeps the fields that tell requests apart"
COLUMNS=80 LANG=C "$MOONSHARK" http --table "$cap" | grep -c '~' > "$tmp/n"
test "$(cat "$tmp/n")" -gt 0; check $? 0 "without a UTF-8 locale the cut mark is '~'"

echo "display_filter: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
