#!/bin/bash
# Runs every test binary in DIR (or only those named in the comma-separated
# list), each in its own process under a time limit, so a hanging test
# fails instead of stalling the suite.  Prints cmocka's output, then one
# line "tests: N passed, N failed" that counts individual test cases
# (a binary that crashed or timed out counts as one failure).
set -u
dir=$1
only=${2:-}
limit=${TEST_TIME_LIMIT:-300}

# Tests that build something themselves (a handout, an exercise) must build
# it as a user would from a shell, not with the variables of the make that
# runs the suite (make SAN=asan test would otherwise leak SAN=asan into them).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES SAN PROBES

passed=0; failed=0; failed_bins=()
here=$(cd "$(dirname "$0")" && pwd)
for bin in $(find "$dir" -type f -name 'test_*' -perm -u+x | sort) \
           $(find "$here/e2e" -type f -name 'test_*.sh' -perm -u+x 2>/dev/null | sort); do
    name=$(basename "$bin" .sh)
    if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then continue; fi
    # A binary whose source is gone (a test renamed or removed since this
    # build folder was made) is stale: skip it rather than run old code.
    case $bin in
        "$dir"/*) [ -f "$here/${bin#"$dir"/}.c" ] || { echo "--- $name: skipped (no tests/${bin#"$dir"/}.c)"; continue; } ;;
    esac
    echo "=== $name"
    log=$(mktemp)
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "$bin" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # A binary may run several cmocka groups (e.g. one per backend): add them up.
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    p=${p:-0}; f=${f:-0}
    # A script (not cmocka) that exits 0 is one passing test.
    if [ "$rc" = 0 ] && [ "$p" = 0 ] && [ "$f" = 0 ]; then p=1; fi
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "!!! $name: timed out after ${limit}s"; f=$((f + 1))
    elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        echo "!!! $name: exited with status $rc"; f=$((f + 1))
    fi
    [ "$f" != 0 ] && failed_bins+=("$name")
    passed=$((passed + p)); failed=$((failed + f))
    echo "--- $name: $p passed, $f failed ($(( $(date +%s) - start ))s)"
    rm -f "$log"
done
if [ ${#failed_bins[@]} -gt 0 ]; then echo "failing: ${failed_bins[*]}"; fi
echo "tests: $passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
