#!/bin/bash
# test_lesson_cli.sh — `evlab lesson` without playing anything: the list,
# --validate on good and malformed scenarios (an error naming file, line
# and what was expected), and every misuse answered with one line and
# the documented exit status (2 for usage, 1 for a lesson that is not there).
set -u
EVLAB_BIN=${EVLAB_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/evlab}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect STATUS WORDS COMMAND...: runs it, checks the exit status and
# that stdout+stderr contain WORDS.
expect() {
    local want=$1 words=$2; shift 2
    local out rc
    out=$("$@" 2>&1); rc=$?
    [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want; it said: $out"
    grep -qF -- "$words" <<<"$out" || fail "'$*' did not say '$words'; it said: $out"
}

list=$("$EVLAB_BIN" lesson) || fail "evlab lesson (the list) failed: $list"
count=$(grep -c '^  [0-9][0-9]  ' <<<"$list")
folders=$(ls -d lessons/[0-9][0-9]-*/ | wc -l)
[ "$count" = "$folders" ] || fail "the list shows $count lessons, lessons/ has $folders: $list"
grep -q '^  07  A long handler blocks the loop' <<<"$list" || fail "lesson 07 missing from the list"

expect 0 "ok" "$EVLAB_BIN" lesson --validate lessons/07-blocking-handler/scenario.txt
sed 's/^load fast .*/load fast server=loop conections=10/' lessons/07-blocking-handler/scenario.txt > "$tmp/bad.txt"
line=$(grep -n '^load fast' "$tmp/bad.txt" | cut -d: -f1)
expect 1 "$tmp/bad.txt:$line: unknown load option 'conections' (expected server, connections" \
    "$EVLAB_BIN" lesson --validate "$tmp/bad.txt"
expect 1 "cannot open" "$EVLAB_BIN" lesson --validate "$tmp/missing.txt"

expect 2 "--check goes with --plain" "$EVLAB_BIN" lesson 07 --check
expect 2 "expected a lesson number" "$EVLAB_BIN" lesson seven
expect 2 "bad --seed" "$EVLAB_BIN" lesson 07 --plain --seed x
expect 2 "unknown option" "$EVLAB_BIN" lesson --frobnicate
expect 1 "no lesson 98" "$EVLAB_BIN" lesson 98 --plain
expect 1 "not a lessons folder" "$EVLAB_BIN" lesson --dir "$tmp" 07
expect 0 "usage: evlab lesson" "$EVLAB_BIN" lesson --help
# From another folder the lessons are found beside the program.
(cd "$tmp" && "$EVLAB_BIN" lesson | grep -q '^  07  ') || fail "lessons not found from another folder"
echo "PASS: evlab lesson lists, validates with file:line errors, and refuses misuse clearly"
