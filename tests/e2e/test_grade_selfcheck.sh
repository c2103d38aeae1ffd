#!/bin/bash
# The grader grades what it should (issue 8's self-checks):
#   1. every reference solution scores full marks, every starter scores
#      less and 0 on its core tests (the course's exercises/, and the
#      grader's own fixture exercises in tests/grade/fixture);
#   2. every wrong solution in tests/grade/wrong/VARIANT loses exactly the
#      tests its `expect` file names;
#   3. every misbehaving submission in tests/grade/misbehaving (segfault,
#      endless loop, fork bomb, 10 MB of garbage, ...) is reported as its
#      `expect` says, and the grader finishes within its limits.
# Results are read from --format gradescope output by grade_results_check.py.
# This script runs parts 1 (fixture) and 3; test_grade_course.sh and
# test_grade_wrong.sh run the others through it (each stays well under
# the suite's time limit per script).  GRADE_SELFCHECK="course wrong ..."
# picks parts: fixture, course, wrong, misbehaving.
set -u
. "$(dirname "$0")/grade_support.sh"
evlab=${EVLAB_BIN:-$root/evlab}
check_py=$root/tests/e2e/grade_results_check.py
parts=${GRADE_SELFCHECK:-fixture misbehaving}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# grade LABEL LIMIT_S ARGS...: runs the grader into $tmp/LABEL.json within
# LIMIT_S seconds; prints how long it took.
grade() {
    local label=$1 limit=$2; shift 2
    local start=$(date +%s.%N)
    timeout --kill-after=5 "$limit" "$evlab" grade --format gradescope \
        --output "$tmp/$label.json" "$@" >"$tmp/$label.log" 2>&1
    local rc=$?
    local took=$(echo "$(date +%s.%N) - $start" | bc)
    printf '     %-40s %6.1f s\n' "$label" "$took"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "FAIL $label: the grader did not finish within $limit s"
        fails=$((fails + 1))
        return 1
    fi
    if [ ! -s "$tmp/$label.json" ]; then
        echo "FAIL $label: no results file (exit $rc)"; tail -5 "$tmp/$label.log"
        fails=$((fails + 1))
        return 1
    fi
}

# judge LABEL MODE [EXPECT]: checks the results file.
judge() {
    local label=$1 mode=$2 expect=${3:-}
    if out=$(python3 "$check_py" "$mode" "$tmp/$label.json" $expect 2>&1); then
        echo "ok   $label ($mode)"
    else
        echo "FAIL $label ($mode):"; sed 's/^/       /' <<<"$out"
        fails=$((fails + 1))
    fi
}

numbers_in() {   # the NN of every NN-name folder in $1
    ls "$1" | sed -n 's/^\([0-9][0-9]\)-.*/\1/p' | tr '\n' ' '
}

part() { [[ " $parts " == *" $1 "* ]]; }

fixture=$root/tests/grade/fixture
if part fixture; then
    grade fixture-solutions 120 --exercises "$fixture/exercises" --dir "$fixture/solutions" &&
        judge fixture-solutions full
    grade fixture-starters 120 --exercises "$fixture/exercises" && judge fixture-starters starter
fi

if part course && [ -n "$(numbers_in "$root/exercises")" ]; then
    # Only exercises with an exercise.conf and a reference solution.
    nums=""
    for n in $(numbers_in "$root/exercises/solutions"); do
        ls "$root"/exercises/$n-*/exercise.conf >/dev/null 2>&1 && nums="$nums $n"
    done
    # With the kept tests too: the reference solutions must pass those as well.
    grade course-solutions 600 $nums --kept --dir "$root/exercises/solutions" && judge course-solutions full
    # A starter fails its tests anyway: more workers only make that faster.
    grade course-starters 600 $nums --jobs 4 && judge course-starters starter
fi

# Wrong solutions are graded like a submission (2 workers: more would
# load the machine and change how a wrong solution fails);
# timing tests still run alone.  GRADE_WRONG_RANGE="01 05" keeps the
# variants whose exercises fall in that range (the suite splits them in
# two scripts so each stays well under its time limit).
if part wrong; then
    range=${GRADE_WRONG_RANGE:-00 99}
    low=${range% *} high=${range#* }
    for variant in "$root"/tests/grade/wrong/*/; do
        [ -f "$variant/expect" ] || continue
        nums=$(numbers_in "$variant")
        first=${nums%% *}
        [ -n "$first" ] && [ "$((10#$first))" -ge "$((10#$low))" ] && [ "$((10#$first))" -le "$((10#$high))" ] || continue
        name=wrong-$(basename "$variant")
        grade "$name" 300 $nums --dir "$variant" && judge "$name" expect "$variant/expect"
    done
fi

if part misbehaving; then
    for variant in "$root"/tests/grade/misbehaving/*/; do
        [ -f "$variant/expect" ] || continue
        name=misbehaving-$(basename "$variant")
        # The fixture tests have 4-5 s limits: a grader that waits for
        # anything else than its own limits overruns this.
        grade "$name" 60 $(numbers_in "$variant") --exercises "$fixture/exercises" --dir "$variant" &&
            judge "$name" expect "$variant/expect"
    done
    # Nothing a misbehaving submission started may outlive the grader: a
    # survivor would still run a program from a staged folder the grader
    # has deleted (other graders' live tests are not deleted yet).
    leftover=0
    for exe in /proc/[0-9]*/exe; do
        case $(readlink "$exe" 2>/dev/null) in /tmp/evlab-grade-*" (deleted)") leftover=$((leftover + 1)) ;; esac
    done
    if [ "$leftover" = 0 ]; then echo "ok   no process of a graded test is left"; else
        echo "FAIL $leftover processes of graded tests are still running"; fails=$((fails + 1)); fi
fi

echo "$fails failed"
[ "$fails" = 0 ]
