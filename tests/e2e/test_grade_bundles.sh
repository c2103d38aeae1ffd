#!/bin/bash
# The two bundles, each unpacked into a temp dir and used there as its
# reader would:
#   handout     (scripts/handout.sh)  builds with `make`, grades with
#               `./evlab grade NN` (the commands exercises/README.md gives),
#               carries the GitHub Classroom workflow, and holds no
#               solutions, kept tests or grader self-checks;
#   gradescope  (scripts/gradescope/make_bundle.sh)  setup.sh builds it,
#               run_autograder grades a submission in Gradescope's layout
#               (AUTOGRADER_ROOT points at a temp dir) and writes a
#               results.json with full marks for a reference solution.
set -u
. "$(dirname "$0")/grade_support.sh"
tmp=$(mktemp -d)
trap '[ "$fails" = 0 ] && rm -rf "$tmp" || echo "logs kept in $tmp"' EXIT

# The first exercise that has a reference solution is the one we submit.
ex=$(ls "$root/exercises/solutions" 2>/dev/null | grep '^[0-9][0-9]-' | head -1)
if [ -z "$ex" ]; then echo "no exercise with a solution yet: nothing to bundle"; exit 0; fi
nn=${ex%%-*}

echo "--- handout"
"$root/scripts/handout.sh" "$tmp/handout.tar.gz" 2>"$tmp/handout.log" || cat "$tmp/handout.log"
check "handout: the tarball is written" test -s "$tmp/handout.tar.gz"
mkdir "$tmp/h" && tar xzf "$tmp/handout.tar.gz" -C "$tmp/h"
h=$tmp/h/evlab-handout
check "handout: no reference solutions" test ! -e "$h/exercises/solutions"
check "handout: no kept tests" test ! -e "$h/exercises/kept"
check "handout: no grader self-checks" bash -c "! ls '$h/tests/grade' '$h'/tests/e2e/test_grade_* >/dev/null 2>&1"
check "handout: has the exercise's starter and tests" \
    bash -c "test -f '$h/exercises/$ex/exercise.conf' && ls '$h/exercises/$ex/tests/'*.c >/dev/null"
if [ -f "$root/exercises/$ex/README.md" ]; then
    check "handout: has the exercise's task text" test -f "$h/exercises/$ex/README.md"
fi
check "handout: has the support library" test -f "$h/exercises/support/exercise.mk"
check "handout: has a GitHub Classroom workflow grading $ex" \
    grep -q "command: ./evlab grade $nn" "$h/.github/workflows/classroom.yml"
check "handout: the workflow reports every step" \
    grep -q "runners: ex" "$h/.github/workflows/classroom.yml"
start=$(date +%s)
check "handout: builds with make" bash -c "make -C '$h' -j2 >'$tmp/h-build.log' 2>&1 || { tail -20 '$tmp/h-build.log'; false; }"
echo "     (built in $(( $(date +%s) - start )) s)"
(cd "$h" && ./evlab grade "$nn" >"$tmp/h-starter.txt" 2>&1); rc=$?
check "handout: the starter of $ex is graded and fails (exit 1)" test "$rc" = 1
check "handout: the table shows a total" grep -q '^total [0-9]*/[0-9]*' "$tmp/h-starter.txt"
cp "$root/exercises/solutions/$ex/"* "$h/exercises/$ex/"
(cd "$h/exercises/$ex" && make test >"$tmp/h-solution.txt" 2>&1); rc=$?
check "handout: make test in the exercise passes with the solution" test "$rc" = 0
check "handout: ... and shows full marks" grep -q "score \([0-9]*\)/\1 " "$tmp/h-solution.txt"

echo "--- gradescope"
"$root/scripts/gradescope/make_bundle.sh" "$tmp/autograder.zip" "$nn" 2>"$tmp/gs.log" || cat "$tmp/gs.log"
check "gradescope: the zip is written" test -s "$tmp/autograder.zip"
ag=$tmp/autograder
mkdir -p "$ag/source" "$ag/submission"
(cd "$ag/source" && unzip -q "$tmp/autograder.zip")
check "gradescope: setup.sh and run_autograder at the top" \
    test -x "$ag/source/setup.sh" -a -x "$ag/source/run_autograder"
check "gradescope: no reference solutions" test ! -e "$ag/source/evlab/exercises/solutions"
check "gradescope: grades exercise $nn only" grep -qx "EXERCISES=\"$nn\"" "$ag/source/gradescope.conf"
# Reuse the handout's build (the same sources): setup.sh's make then only
# checks it is up to date, and the test stays fast.
cp -a "$h/build" "$ag/source/evlab/build"
check "gradescope: setup.sh builds (deps skipped here)" \
    bash -c "EVLAB_SKIP_DEPS=1 '$ag/source/setup.sh' >'$tmp/gs-setup.log' 2>&1 || { tail -20 '$tmp/gs-setup.log'; false; }"

# A submission uploaded as plain files (one exercise per assignment).
cp "$root/exercises/solutions/$ex/"* "$ag/submission/"
AUTOGRADER_ROOT=$ag "$ag/source/run_autograder" >"$tmp/gs-run.log" 2>&1
res=$ag/results/results.json
check "gradescope: results.json written" test -s "$res"
check "gradescope: a reference solution scores full marks" python3 - "$res" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
tests = r["tests"]
assert tests, "no tests"
assert r["score"] == sum(t["max_score"] for t in tests) > 0, r["score"]
assert isinstance(r["execution_time"], (int, float)) and "output" in r
for t in tests:
    assert t["status"] == "passed" and t["score"] == t["max_score"], t["name"]
    assert t["visibility"] in ("visible", "after_due_date"), t["visibility"]
    assert t["visibility"] == ("after_due_date" if "kept" in t["tags"] else "visible")
    assert "number" in t and "output" in t
PY
# The starter, uploaded inside a repository layout, scores less.
rm -rf "$ag/submission" "$ag/results" && mkdir -p "$ag/submission/exercises"
cp -r "$root/exercises/$ex" "$ag/submission/exercises/"
AUTOGRADER_ROOT=$ag "$ag/source/run_autograder" >"$tmp/gs-run2.log" 2>&1
check "gradescope: a starter in a repository layout scores less" python3 - "$res" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["tests"] and r["score"] < sum(t["max_score"] for t in r["tests"]), r["score"]
PY
# An empty submission still gets a results file that says what is missing.
rm -rf "$ag/submission" "$ag/results" && mkdir -p "$ag/submission"
AUTOGRADER_ROOT=$ag "$ag/source/run_autograder" >"$tmp/gs-run3.log" 2>&1
check "gradescope: an empty submission scores 0 and says what is missing" \
    bash -c "python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r[\"score\"] == 0' '$res' && grep -q missing '$res'"

echo "$fails failed"
[ "$fails" = 0 ]
