#!/bin/bash
# The evlab program's contract: help and version, usage errors exit 2
# with one line saying what is wrong, and serve/list/stats agree with
# each other about a running server.
set -u
evlab=${EVLAB_BIN:-./evlab}
fails=0
check() {   # description, then a command that must succeed
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
status_of() { "$@" >/dev/null 2>&1; echo $?; }

check "--version" bash -c "$evlab --version | grep -q '^evlab '"
check "--help lists the commands" bash -c "$evlab --help | grep -q 'demo'"
check "no command: exit 2" test "$(status_of "$evlab")" = 2
check "unknown command: exit 2" test "$(status_of "$evlab" frobnicate)" = 2
check "unknown command names it" bash -c "$evlab frobnicate 2>&1 | head -1 | grep -q frobnicate"
for cmd in serve stats list view demo load bench; do
    check "$cmd --help: exit 0" test "$(status_of "$evlab" "$cmd" --help)" = 0
    check "help $cmd: exit 0" test "$(status_of "$evlab" help "$cmd")" = 0
    check "$cmd --bogus: exit 2" test "$(status_of "$evlab" "$cmd" --bogus)" = 2
    check "$cmd --bogus: one line names it" \
        bash -c "$evlab $cmd --bogus 2>&1 | head -1 | grep -q -- '--bogus'"
done
check "serve without --model: exit 2" test "$(status_of "$evlab" serve)" = 2
check "serve --model nope: exit 2" test "$(status_of "$evlab" serve --model nope)" = 2
check "serve --port 70000: exit 2" test "$(status_of "$evlab" serve --model loop --port 70000)" = 2
check "serve --backend kqueue: exit 2" \
    test "$(status_of "$evlab" serve --model loop --backend kqueue)" = 2
check "stats of a missing server: exit 1" test "$(status_of "$evlab" stats no-such-server-$$)" = 1
check "stats of a missing server says so" \
    bash -c "$evlab stats no-such-server-$$ 2>&1 | grep -q 'evlab list'"

# A real server: list shows it, stats reads it (text and JSON), SIGTERM ends it.
out=$(mktemp)
name=cli-test-$$
"$evlab" serve --model loop --name "$name" >"$out" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
# Up to 20 s: a busy machine can be slow to start a process.
for _ in $(seq 200); do grep -q listening "$out" && break; sleep 0.1; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$out")
check "serve printed its port" test -n "$port"
check "curl gets hello" bash -c "curl -s -m 5 http://127.0.0.1:$port/ | grep -q hello"
check "list shows it running" bash -c "$evlab list | grep '$name' | grep -q running"
check "stats text names the model" bash -c "$evlab stats $name | head -1 | grep -q 'model loop'"
check "stats --json is JSON with requests_done >= 1" python3 -c "
import json, subprocess, sys
d = json.loads(subprocess.check_output(['$evlab', 'stats', '--json', '$name']))
sys.exit(0 if d['model'] == 'loop' and d['gauges']['requests_done'] >= 1 else 1)"
kill -TERM $pid
wait $pid
check "SIGTERM: exit 0" test $? = 0
check "segment removed" test ! -e "/dev/shm/evlab.$name"

echo "cli: $fails failed"
[ "$fails" = 0 ]
