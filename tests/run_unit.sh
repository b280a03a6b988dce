#!/bin/sh
# Runs each cmocka suite given as an argument; prints each suite's summary and a total line.
# Exits non-zero when any suite fails.
failed=0; passed_suites=0; total_pass=0; total_fail=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    echo "$out" | grep -E '^\[ *(PASSED|FAILED|SKIPPED) *\]|^\[==========\] .*(ran|tests)' | sed "s|^|$(basename "$t"): |"
    p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    total_pass=$((total_pass + ${p:-0})); total_fail=$((total_fail + ${f:-0}))
    if [ $rc -ne 0 ]; then
        failed=$((failed + 1))
        echo "$out" | grep -E '^\[  (ERROR|FAILED) \]|error:|ERROR' | head -n 20 | sed "s|^|  $(basename "$t"): |"
        [ -z "$f" ] && total_fail=$((total_fail + 1))
    else
        passed_suites=$((passed_suites + 1))
    fi
done
echo "unit: $total_pass passed, $total_fail failed"
[ $failed -eq 0 ]
