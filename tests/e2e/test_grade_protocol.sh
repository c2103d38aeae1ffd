#!/bin/bash
# The test-binary protocol of exercises/support (grade_test.h, grade_cmocka.h):
# builds the grader's fixture exercises (tests/grade/fixture) in a temp dir
# with exercises/support/exercise.mk and checks what `tests --list` and
# `tests --run NAME` print and return, for a server exercise (grade_test)
# and a module exercise (grade_cmocka), starter and solution.
set -u
. "$(dirname "$0")/grade_support.sh"
fixture=$root/tests/grade/fixture
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

build() {   # exercise name, folder with the submitted file(s) or "" for the starter
    local dir=$tmp/$1${2:+-solution}
    mkdir -p "$dir"
    cp -r "$fixture/exercises/$1/." "$dir/"
    rm -rf "$dir/build"   # a build left in the source tree is not ours
    [ -n "$2" ] && cp "$2"/* "$dir/"
    make -s -C "$dir" EVLAB_ROOT="$root" >"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
}
check "server fixture builds (starter)" build 01-upper ""
check "server fixture builds (solution)" build 01-upper "$fixture/solutions/01-upper"
check "module fixture builds (starter)" build 02-sum ""
check "module fixture builds (solution)" build 02-sum "$fixture/solutions/02-sum"

up=$tmp/01-upper; ups=$tmp/01-upper-solution
sum=$tmp/02-sum; sums=$tmp/02-sum-solution
printf 'uppercases_a_line\t4\tcore\t5\tanswers a line upper-cased\nsurvives_dribble\t3\tcore\t5\tupper-cases a line sent one byte at a time\nkeeps_digits\t2\t-\t5\tleaves digits as they are\nreplies_quickly\t1\ttiming\t5\tanswers a line within 1.5 s\n' >"$tmp/want_list"
check "--list: name, points, flags, timeout, description" \
    cmp -s "$tmp/want_list" <(cd "$up" && build/tests --list)
check "--list of a cmocka exercise" \
    bash -c "cd '$sum' && build/tests --list | grep -qx \$'test_sum_small\t4\tcore\t4\tadds a few small numbers'"
check "tests_kept marks its tests kept" \
    bash -c "cp '$sum/build/tests' '$sum/build/tests_kept' && cd '$sum' && build/tests_kept --list | grep -qx \$'test_sum_empty\t2\tkept\t4\tthe sum of an empty array is 0'"

run() {   # dir, test name, extra args...: prints output, returns the exit status
    local dir=$1 name=$2; shift 2
    (cd "$dir" && EVLAB_GRADE_BUILD="$dir/build" EVLAB_GRADE_EXERCISE=01 timeout 20 build/tests --run "$name" "$@")
}
out=$(run "$up" uppercases_a_line); rc=$?
check "failing test exits 1" test "$rc" = 1
for line in "FAILED   answers a line upper-cased" "checked  the reply is the line upper-cased" \
            'expected "HELLO WORLD\n"' 'got      "hello world\n"' 'input    "hello world\n"' \
            "rerun    evlab grade 01 --test uppercases_a_line --seed 1"; do
    check "failure explains: $line" grep -qxF -- "$line" <<<"$out"
done
check "passing test exits 0" run "$ups" uppercases_a_line
check "dribble test passes on the solution" run "$ups" survives_dribble
check "--seed reaches the rerun line" bash -c "cd '$up' && build/tests --run uppercases_a_line --seed 77 | grep -q -- '--seed 77'"
check "unknown test: exit 2" test "$(run "$up" no_such_test >/dev/null 2>&1; echo $?)" = 2
check "no arguments: exit 2" test "$(cd "$up" && build/tests >/dev/null 2>&1; echo $?)" = 2
check "bad seed: exit 2" test "$(run "$up" keeps_digits --seed x >/dev/null 2>&1; echo $?)" = 2
check "no server left running" bash -c "! pgrep -f '^$up/build/upper' >/dev/null"

out=$(cd "$sum" && EVLAB_GRADE_EXERCISE=02 build/tests --run test_sum_small 2>&1); rc=$?
check "cmocka failure exits 1" test "$rc" = 1
check "cmocka failure says what was checked" grep -qxF "checked  sum_array({1, 2, 3, 4}, 4) is 10" <<<"$out"
check "cmocka failure shows the assertion" grep -q "0 != 0xa" <<<"$out"
check "cmocka failure has a rerun line" grep -qxF "rerun    evlab grade 02 --test test_sum_small --seed 1" <<<"$out"
check "cmocka pass exits 0" bash -c "cd '$sums' && build/tests --run test_sum_random --seed 5 >/dev/null 2>&1"
check "cmocka --run-all on the starter fails" bash -c "! (cd '$sum' && build/tests --run-all >/dev/null 2>&1)"
check "cmocka --run-all on the solution passes" bash -c "cd '$sums' && build/tests --run-all >/dev/null 2>&1"

# The evlab grade command line: usage errors exit 2 with one line naming
# the problem; an unknown exercise or test exits 1 and says so.
evlab=${EVLAB_BIN:-$root/evlab}
status_of() { "$@" >/dev/null 2>&1; echo $?; }
fx=(--exercises "$fixture/exercises")
check "grade --help: exit 0" test "$(status_of "$evlab" grade --help)" = 0
check "grade --bogus: exit 2" test "$(status_of "$evlab" grade --bogus)" = 2
check "grade --bogus: names it" bash -c "'$evlab' grade --bogus 2>&1 | head -1 | grep -q -- --bogus"
check "grade --format xml: exit 2" test "$(status_of "$evlab" grade --format xml)" = 2
check "grade 3x: exit 2" test "$(status_of "$evlab" grade 3x)" = 2
check "grade --dir missing: exit 2" test "$(status_of "$evlab" grade --dir /nonexistent/$$)" = 2
check "grade --watch without one NN: exit 2" test "$(status_of "$evlab" grade --watch)" = 2
check "grade 99: exit 1, says so" bash -c "'$evlab' grade 99 ${fx[*]} 2>&1 | grep -q 'no exercise 99'"
check "grade --test nosuch: says so" \
    bash -c "'$evlab' grade 02 ${fx[*]} --test nosuch 2>&1 | grep -q \"no test named 'nosuch'\""
check "grade --test NAME runs that test only" \
    bash -c "'$evlab' grade 02 ${fx[*]} --dir '$fixture/solutions' --test test_sum_small 2>/dev/null | grep -c '^  PASS' | grep -qx 1"
check "grade --list: points per exercise" \
    bash -c "'$evlab' grade --list ${fx[*]} 2>/dev/null | grep -qx \$'02-sum\t10\t3\tSum of an array (grader fixture)'"

echo "$fails failed"
[ "$fails" = 0 ]
