#!/bin/bash
# evlab record + evlab trace on a real loop server: the recording of a
# known scenario exports to a Chrome trace whose structure a viewer can
# trust, and the one blocking request shows as it should.
#
# The scenario: keep-alive load on / and /sleep/50 (timers: loop lag),
# then one GET /sleep/300?block=1 (a blocking call inside loop code).
# Checked in the trace (by python3, below):
#   - every event has its required fields for its phase; counters carry
#     numbers; every thread track and process is named;
#   - complete slices on one thread nest properly, and no timestamp goes
#     backwards on any track (thread, counter or async span);
#   - every async request begin has one end, with the same name, later;
#   - there is a handler slice /sleep?block=1 of about 300 ms, no dispatch
#     on that thread begins or ends inside it, and a LOOP BLOCKED instant
#     falls within it.
# Then the file's failure modes: cut short (still converted, with a
# warning naming the offset), damaged (error naming the offset), not a
# recording, missing, and a recorder stopped by Ctrl-C or killed; a
# recorder that falls behind writes the loss as a gap that both readers
# report; and a recorder whose server exits stops by itself.
set -u
evlab=${EVLAB_BIN:-./evlab}
fails=0
check() {   # description, then a command that must succeed
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
status_of() { "$@" >/dev/null 2>&1; echo $?; }

work=$(mktemp -d)
name=trace-test-$$
server_pid=""; record_pid=""
cleanup() {
    [ -n "$record_pid" ] && kill "$record_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

for cmd in record trace; do
    check "$cmd --help: exit 0" test "$(status_of "$evlab" "$cmd" --help)" = 0
    check "$cmd --bogus: exit 2" test "$(status_of "$evlab" "$cmd" --bogus)" = 2
done
check "trace without FILE: exit 2" test "$(status_of "$evlab" trace)" = 2
check "record of a missing server: exit 1" \
    test "$(status_of "$evlab" record -o "$work/none.rec" no-such-server-$$)" = 1
check "record of a missing server leaves no file" test ! -e "$work/none.rec"

"$evlab" serve --model loop --name "$name" >"$work/serve.out" 2>&1 &
server_pid=$!
for _ in $(seq 50); do grep -q listening "$work/serve.out" && break; sleep 0.1; done
port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$work/serve.out")
check "server is listening" test -n "$port"

"$evlab" record --quiet --duration 20s -o "$work/run.rec" "$name" 2>"$work/record.err" &
record_pid=$!
for _ in $(seq 50); do [ -s "$work/run.rec" ] && break; sleep 0.1; done
"$evlab" load -c 4 -d 1s --warmup 0 --mix '/:9,/sleep/50:1' "$port" >/dev/null 2>&1
check "the blocking request is answered" \
    bash -c "curl -s -m 5 'http://127.0.0.1:$port/sleep/300?block=1' | grep -q 'slept 300'"
sleep 0.3
kill -INT "$record_pid"
wait "$record_pid"
check "record stopped by Ctrl-C: exit 0" test $? = 0
record_pid=""
check "record reports bytes per event" grep -q 'bytes/event' "$work/record.err"

"$evlab" trace "$work/run.rec" -o "$work/run.json" 2>"$work/trace.err"
check "trace: exit 0" test $? = 0
check "trace of a whole recording: no warning" bash -c "! grep -q 'warning:' '$work/trace.err'"

check "trace structure and the blocked handler" python3 - "$work/run.json" <<'PY'
import json, sys
from collections import defaultdict
events = json.load(open(sys.argv[1]))["traceEvents"]
problems = []
def bad(msg):
    if len(problems) < 10:
        problems.append(msg)
need = {"X": ("ts", "dur", "pid", "tid"), "b": ("ts", "id", "cat", "pid"),
        "e": ("ts", "id", "cat", "pid"), "C": ("ts", "pid", "args"),
        "i": ("ts", "s", "pid", "tid"), "M": ("pid", "args")}
named_pids, named_threads = set(), set()
for ev in events:
    ph = ev.get("ph")
    if ph not in need or "name" not in ev:
        bad("unknown phase or no name: %r" % ev); continue
    for field in need[ph]:
        if field not in ev:
            bad("%s event without %s: %r" % (ph, field, ev))
    if ph != "M" and not (isinstance(ev.get("ts"), (int, float)) and ev["ts"] >= 0):
        bad("bad ts: %r" % ev)
    if ph == "X" and not (isinstance(ev.get("dur"), (int, float)) and ev["dur"] >= 0):
        bad("bad dur: %r" % ev)
    if ph == "C" and not all(isinstance(v, (int, float)) for v in ev["args"].values()):
        bad("counter without numbers: %r" % ev)
    if ph == "M" and ev["name"] == "process_name": named_pids.add(ev["pid"])
    if ph == "M" and ev["name"] == "thread_name": named_threads.add((ev["pid"], ev["tid"]))

last = {}
def forward(track, ts, ev):
    if track in last and ts < last[track] - 1e-6:
        bad("time goes backwards on %r: %r after %r" % (track, ts, last[track]))
    last[track] = ts
stacks = defaultdict(list)
spans = defaultdict(list)
for ev in events:
    ph = ev.get("ph")
    if ph in ("X", "i"):
        track = (ev["pid"], ev["tid"])
        forward(("thread",) + track, ev["ts"], ev)
        if (ev["pid"]) not in named_pids or track not in named_threads:
            bad("unnamed track %r" % (track,))
        if ph == "X":
            stack = stacks[track]
            end = ev["ts"] + ev["dur"]
            while stack and stack[-1] <= ev["ts"] + 1e-3:
                stack.pop()
            if stack and end > stack[-1] + 1e-3:
                bad("slice %s at %.3f..%.3f overlaps its parent ending %.3f"
                    % (ev["name"], ev["ts"], end, stack[-1]))
            stack.append(end)
    elif ph == "C":
        forward(("counter", ev["pid"], ev["name"]), ev["ts"], ev)
    elif ph in ("b", "e"):
        forward(("async", ev["id"]), ev["ts"], ev)
        spans[ev["id"]].append(ev)
for key, pair in spans.items():
    if [e["ph"] for e in pair] != ["b", "e"] or pair[0]["name"] != pair[1]["name"]:
        bad("async span %s does not pair: %r" % (key, pair))
counters = {ev["name"] for ev in events if ev["ph"] == "C"}
for want in ("connections", "queued", "ready", "loop lag"):
    if want not in counters:
        bad("no %s counter (have %r)" % (want, sorted(counters)))
if len(spans) < 20:
    bad("only %d request spans for a second of load" % len(spans))
waits = {ev["name"] for ev in events if ev["ph"] == "X"}
for want in ("turn", "dispatch", "wait poll()", "/"):
    if want not in waits:
        bad("no %s slice" % want)

blocking = [ev for ev in events if ev["ph"] == "X" and ev["name"] == "/sleep?block=1"]
if len(blocking) != 1:
    bad("want one /sleep?block=1 handler slice, found %d" % len(blocking))
else:
    h = blocking[0]
    start, end = h["ts"], h["ts"] + h["dur"]
    if not (290e3 <= h["dur"] <= 1000e3):
        bad("blocking handler lasted %.1f ms, want about 300" % (h["dur"] / 1e3))
    for ev in events:
        if ev["ph"] == "X" and ev["name"] == "dispatch" and ev["tid"] == h["tid"] \
                and ev["pid"] == h["pid"]:
            d0, d1 = ev["ts"], ev["ts"] + ev["dur"]
            if start < d0 < end or start < d1 < end:
                bad("dispatch %.3f..%.3f inside the blocked handler %.3f..%.3f"
                    % (d0, d1, start, end))
    warned = [ev for ev in events if ev["ph"] == "i" and ev["tid"] == h["tid"]
              and start <= ev["ts"] <= end]
    if not warned:
        bad("no LOOP BLOCKED instant inside the blocking handler")
    print("blocking handler: %.1f ms, %d warning(s)" % (h["dur"] / 1e3, len(warned)))
for p in problems:
    print("  " + p)
print("%d trace events, %d request spans" % (len(events), len(spans)))
sys.exit(1 if problems else 0)
PY

# --- What a damaged or partial file gets ------------------------------------
size=$(stat -c %s "$work/run.rec")
head -c $((size - 5)) "$work/run.rec" >"$work/cut.rec"
"$evlab" trace "$work/cut.rec" -o "$work/cut.json" 2>"$work/cut.err"
check "cut-short recording: still converted (exit 0)" test $? = 0
check "cut-short recording: warning names the offset" \
    grep -q 'ends at offset [0-9]* .*cut short' "$work/cut.err"
check "cut-short recording: valid JSON" python3 -c "import json; json.load(open('$work/cut.json'))"

cp "$work/run.rec" "$work/bad.rec"
printf '\x55' | dd of="$work/bad.rec" bs=1 seek=$((size / 2)) conv=notrunc status=none
"$evlab" trace "$work/bad.rec" -o "$work/bad.json" 2>"$work/bad.err"
check "damaged recording: exit 1" test $? = 1
check "damaged recording: message names the offset" grep -q 'damaged record at offset' "$work/bad.err"
check "damaged recording: no JSON left behind" test ! -e "$work/bad.json"

printf 'EVLABREC\x02\x00\x00\x00' >"$work/v2.rec"; head -c 100 /dev/zero >>"$work/v2.rec"
check "another format version: named" \
    bash -c "'$evlab' trace '$work/v2.rec' -o '$work/v2.json' 2>&1 | grep -q 'version 2.*reads version 1'"
check "not a recording: said so" \
    bash -c "'$evlab' trace '$work/serve.out' -o '$work/x.json' 2>&1 | grep -q 'not an evlab recording'"
check "missing file: exit 1" test "$(status_of "$evlab" trace "$work/nope.rec")" = 1

# --- A recorder killed outright leaves a readable file ----------------------
"$evlab" record --quiet -o "$work/killed.rec" "$name" &
record_pid=$!
for _ in $(seq 50); do [ -s "$work/killed.rec" ] && break; sleep 0.1; done
curl -s -m 5 "http://127.0.0.1:$port/" >/dev/null
sleep 0.5
kill -KILL "$record_pid"; wait "$record_pid" 2>/dev/null; record_pid=""
"$evlab" trace "$work/killed.rec" -o "$work/killed.json" 2>"$work/killed.err"
check "killed recorder: file converts (exit 0)" test $? = 0
check "killed recorder: warned as cut short" grep -q 'cut short' "$work/killed.err"
check "killed recorder: the request before the kill is in it" \
    python3 -c "
import json, sys
ev = json.load(open('$work/killed.json'))['traceEvents']
sys.exit(0 if any(e['ph'] == 'b' and e['name'] == '/' for e in ev) else 1)"

# --- A recorder that falls behind says how much it lost ----------------------
# Stopped (SIGSTOP) for 0.8 s under load, the recorder is lapped by the
# loop's ring: the file must hold a gap with the count, and both readers
# must say so.
"$evlab" record --quiet -o "$work/gap.rec" "$name" 2>/dev/null &
record_pid=$!
for _ in $(seq 50); do [ -s "$work/gap.rec" ] && break; sleep 0.1; done
"$evlab" load -c 4 -d 2s --warmup 0 "$port" >/dev/null 2>&1 &
load_pid=$!
sleep 0.5
kill -STOP "$record_pid"; sleep 0.8; kill -CONT "$record_pid"
wait "$load_pid"
kill -INT "$record_pid"; wait "$record_pid"; record_pid=""
"$evlab" trace "$work/gap.rec" -o "$work/gap.json" 2>"$work/gap.err"
check "lapped recorder: trace says events were lost" grep -q 'events were lost' "$work/gap.err"
check "lapped recorder: the replay counts them as missed" \
    bash -c "'$evlab' view --replay '$work/gap.rec' --once --plain --at 60 | grep -q 'missed [1-9]'"

# --- A server that exits ends the recording by itself -----------------------
"$evlab" record --quiet -o "$work/gone.rec" "$name" 2>"$work/gone.err" &
record_pid=$!
for _ in $(seq 50); do [ -s "$work/gone.rec" ] && break; sleep 0.1; done
kill -TERM "$server_pid"; wait "$server_pid"; server_pid=""
for _ in $(seq 50); do kill -0 "$record_pid" 2>/dev/null || break; sleep 0.1; done
check "recorder ends once its server is gone" bash -c "! kill -0 $record_pid 2>/dev/null"
wait "$record_pid"
check "recorder of a server that exited: exit 0" test $? = 0
record_pid=""
"$evlab" trace "$work/gone.rec" -o "$work/gone.json" 2>"$work/gone-trace.err"
check "recording of a server that exited: complete" \
    bash -c "! grep -q 'warning:' '$work/gone-trace.err'"

echo "trace export: $fails failed"
[ "$fails" = 0 ]
