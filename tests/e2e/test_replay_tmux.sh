#!/bin/bash
# test_replay_tmux.sh — `evlab demo --record FILE`, then `evlab view
# --replay FILE` in a real terminal driven through tmux, after every
# server is gone: replaying needs nothing of the original run.
#
# Checked: the demo prints the recorder's summary line and leaves a
# complete recording; --once --plain --at blocked prints the three panes
# at a blocked moment, in words; bad --at values are refused; in the
# live replay, n jumps to a blocked moment (LOOP or SERVER BLOCKED on
# screen), -> and <- step one event forward and back (the event number
# moves by one each way), . steps a loop turn, w keeps n to the focused
# pane's server (the loop's moment, with --at blocked:loop as text too),
# ? twice shows the glossary, space plays, - slows down
# to 1/1000x, q gives the shell back; --report says what the steps cost.
#
# Every wait is bounded; the tmux server runs on its own socket and is
# killed on exit, with the work directory.
set -u

EVLAB_BIN=${EVLAB_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/evlab}
SOCKET="evlab-replay-$$"
T="tmux -L $SOCKET -f /dev/null"
PANE=replay
. "$(dirname "$0")/tmux_support.sh"
PROMPT='E2E-PROMPT$'
work=$(mktemp -d)
cleanup() {
    $T kill-server 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

command -v tmux >/dev/null || fail "tmux is not installed (make deps)"
[ -x "$EVLAB_BIN" ] || fail "no evlab binary at $EVLAB_BIN"
prompt_back() { screen | grep -v '^$' | tail -1 | grep -qF "$PROMPT"; }

$T new-session -d -s replay -x 160 -y 45 "bash --norc --noprofile" || fail "tmux new-session"
$T set-option -t replay window-size manual >/dev/null 2>&1
$T send-keys -t replay "export PS1='$PROMPT '; export TERM=xterm-256color; cd $work; clear" Enter
wait_for 5 prompt_back || fail "no shell prompt in the tmux pane"

# Pattern 4: 3 in 100 requests block for 200 ms inside the handler.
$T send-keys -t replay "$EVLAB_BIN demo --duration 6s --pattern 4 --record $work/demo.rec" Enter
wait_for 20 screen_has 'QUEUED' || fail "the demo's view did not appear"
wait_for 40 prompt_back || fail "the demo did not end within 40 s"
screen_has 'evlab record: wrote' || fail "the demo did not pass on the recorder's summary"
[ -s "$work/demo.rec" ] || fail "no recording"
"$EVLAB_BIN" trace "$work/demo.rec" -o "$work/demo.json" 2>"$work/trace.err" ||
    fail "trace of the demo recording: $(cat "$work/trace.err")"
grep -q 'warning:' "$work/trace.err" && fail "the demo's recording is incomplete: $(cat "$work/trace.err")"
echo "ok: the demo recorded $(stat -c %s "$work/demo.rec") bytes"

# The picture at the first blocked moment, as text.
"$EVLAB_BIN" view --replay "$work/demo.rec" --once --plain --at blocked >"$work/at.txt" ||
    fail "--once --plain --at blocked failed"
[ "$(grep -c '^== demo-' "$work/at.txt")" = 3 ] || fail "want three panes: $(cat "$work/at.txt")"
grep -q 'BLOCKED for' "$work/at.txt" || fail "no blocked alert at the blocked moment: $(cat "$work/at.txt")"
head -1 "$work/at.txt" | grep -q 'replay of .* at [0-9.]* s of' || fail "no position line"
echo "ok: --at blocked shows: $(grep -o '[A-Z]* BLOCKED for [0-9.]* [mu]*s' "$work/at.txt" | head -1)"
# The loop's first blocked moment, skipping the blocking server's.
"$EVLAB_BIN" view --replay "$work/demo.rec" --once --plain --at blocked:loop >"$work/loop.txt" ||
    fail "--once --plain --at blocked:loop failed"
sed -n '/^== demo-loop/,/^$/p' "$work/loop.txt" | grep -q 'LOOP BLOCKED for' ||
    fail "--at blocked:loop: the loop pane is not blocked: $(cat "$work/loop.txt")"
echo "ok: --at blocked:loop shows the loop's moment"
for bad in bogus blocked:1000000 -3 blocked:nosuchserver blocked:loop:x; do
    "$EVLAB_BIN" view --replay "$work/demo.rec" --once --plain --at "$bad" >/dev/null 2>&1
    [ $? = 2 ] || fail "--at $bad was not refused with status 2"
done
"$EVLAB_BIN" view --at 1 >/dev/null 2>&1
[ $? = 2 ] || fail "--at without --replay was not refused"

# Interactive, with no server left anywhere.
$T send-keys -t replay "clear; $EVLAB_BIN view --replay $work/demo.rec --report 2>$work/report.txt" Enter
wait_for 10 screen_has 'REPLAY ' || fail "the replay did not start"
[ "$(screen | grep -o 'QUEUED' | wc -l)" -ge 3 ] || fail "not three panes in the replay"
$T send-keys -t replay n
wait_for 5 screen_has 'BLOCKED for' || fail "n did not jump to a blocked moment"
$T send-keys -t replay Right
event_number() { screen | sed -n 's/.* event \([0-9]*\) of [0-9]* in .*/\1/p' | head -1; }
wait_for 5 eval '[ -n "$(event_number)" ]' || fail "-> did not stand on an event"
at=$(event_number)
$T send-keys -t replay Right
wait_for 5 eval '[ "$(event_number)" = $((at + 1)) ]' || fail "-> did not step forward (at $at, now $(event_number))"
$T send-keys -t replay Left Left
wait_for 5 eval '[ "$(event_number)" = $((at - 1)) ]' || fail "<- <- did not step back by two (now $(event_number))"
screen_has '^>' || screen_has '│>' || screen_has '|>' || fail "no current-event marker in the log"
$T send-keys -t replay .
wait_for 5 eval '[ "$(event_number)" != $((at - 1)) ]' || fail ". did not step a turn"
# w: n N keep to the focused pane's server; tab onto the loop, n finds its moment.
$T send-keys -t replay w
wait_for 5 screen_has 'blocked (this pane, w)' || fail "w did not keep n N to the focused pane"
for _ in 1 2 3; do
    screen | grep -q 'focus demo-loop' && break
    $T send-keys -t replay Tab
    sleep 0.3
done
screen_has 'focus demo-loop' || fail "tab did not reach the loop pane"
$T send-keys -t replay Home n
wait_for 5 screen_has 'LOOP BLOCKED for' || fail "w, n did not jump to the loop's blocked moment"
screen_has 'focus demo-loop' || fail "n with w moved the focus off the loop pane"
$T send-keys -t replay w
wait_for 5 screen_has 'blocked (all, w)' || fail "w again did not go back to every server"
# ? the keys, ? again the glossary of the focused pane's model, ? closes.
$T send-keys -t replay '?'
wait_for 5 screen_has 'n N stop at every server' || fail "? did not show the replay's keys"
$T send-keys -t replay '?'
wait_for 5 screen_has 'What the numbers mean' || fail "? ? did not show the glossary"
$T send-keys -t replay '?'
wait_for 5 eval '! screen_has "What the numbers mean"' || fail "? did not close the glossary"
for _ in 1 2 3 4 5 6; do $T send-keys -t replay -; done
wait_for 5 screen_has '1/1000x' || fail "- did not slow down to 1/1000x"
$T send-keys -t replay Space
wait_for 5 screen_has 'PLAYING' || fail "space did not play"
$T send-keys -t replay q
wait_for 10 prompt_back || fail "no shell prompt after q"
grep -q 'pictures rebuilt' "$work/report.txt" || fail "no --report line: $(cat "$work/report.txt")"
echo "ok: $(cat "$work/report.txt")"
echo "replay tmux: ok"
