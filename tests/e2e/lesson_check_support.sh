# lesson_check_support.sh — shared by test_lessons_check_*.sh (sourced,
# not run): plays lessons headless with `evlab lesson NN --plain --check`
# and fails with the claims that did not hold.
#
# check_lessons NN...: plays each lesson; a lesson whose check fails is
# played once more (this machine is shared and noisy: a claim must fail
# twice in a row to count), then the test fails naming the lesson, its
# claims as measured, and the command that reruns it.
set -u
EVLAB_BIN=${EVLAB_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/evlab}
REPO=$(cd "$(dirname "$0")/../.." && pwd)

check_lessons() {
    local failed=() start=$SECONDS
    cd "$REPO" || exit 1
    for n in "$@"; do
        local t0=$SECONDS out
        out=$("$EVLAB_BIN" lesson "$n" --plain --check 2>/dev/null)
        local rc=$?
        if [ "$rc" != 0 ]; then
            echo "lesson $n: a claim did not hold; playing it once more"
            echo "$out" | sed -n '/^Claims/,$p'
            out=$("$EVLAB_BIN" lesson "$n" --plain --check 2>/dev/null)
            rc=$?
        fi
        if [ "$rc" != 0 ]; then
            echo "FAIL: lesson $n: its claims, checked on measured values, did not hold twice:"
            echo "$out" | sed -n '/^Claims/,$p'
            echo "rerun just this one: $EVLAB_BIN lesson $n --plain --check"
            failed+=("$n")
        else
            echo "ok: lesson $n ($((SECONDS - t0)) s): $(echo "$out" | grep -c '^  PASS') claims hold"
            echo "$out" | sed -n '/^Claims/,/^check passed/p' | sed -n 's/^        /    /p'
        fi
    done
    echo "lessons $*: $((SECONDS - start)) s"
    [ ${#failed[@]} = 0 ] || { echo "FAIL: lessons ${failed[*]}"; exit 1; }
    echo "PASS: every claim of lessons $* holds on this machine"
}
