#!/bin/bash
# test_lesson_tmux.sh — `evlab lesson 07` in a real terminal, through tmux.
#
# Checks what a presenter relies on: the lesson's panes with the clients'
# latency line, the narration above the bottom bar; n moves to step 2,
# whose prediction is asked first and whose measurement appears only
# after one more n; p freezes everything shown, the lesson's countdown
# included; ? twice shows the glossary of the focused pane's model; b goes
# back; q ends it with the claims printed, the terminal restored and no
# process of the lesson left running; and --auto (lesson 03) advances by
# itself.  Every wait is bounded.
set -u

EVLAB_BIN=${EVLAB_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/evlab}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SOCKET="evlab-lesson-e2e-$$"
T="tmux -L $SOCKET -f /dev/null"
PANE=lesson
. "$(dirname "$0")/tmux_support.sh"
PROMPT='E2E-PROMPT$'
pids=()

cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    $T kill-server 2>/dev/null
}
trap cleanup EXIT

command -v tmux >/dev/null || fail "tmux is not installed (make deps)"
[ -x "$EVLAB_BIN" ] || fail "no evlab binary at $EVLAB_BIN"
prompt_back() { screen | grep -v '^$' | tail -1 | grep -qF "$PROMPT"; }
status_line() { screen | sed -n 2p; }

$T new-session -d -s lesson -x 160 -y 45 "bash --norc --noprofile" || fail "tmux new-session"
$T set-option -t lesson window-size manual >/dev/null 2>&1
$T send-keys -t lesson "export PS1='$PROMPT '; export TERM=xterm-256color; ulimit -c 0; cd '$REPO'; clear" Enter
wait_for 5 prompt_back || fail "no shell prompt in the tmux pane"
$T send-keys -t lesson "$EVLAB_BIN lesson 07" Enter

wait_for 20 screen_has 'step 1/3' || fail "the lesson's status line did not appear"
wait_for 10 screen_has 'CLIENTS wait p50' || fail "no clients' latency line in the panes"
screen_has 'Ten clients ask the loop' || fail "no narration line"
shell_pid=$($T display-message -p -t lesson '#{pane_pid}')
lesson_pid=$(pgrep -P "$shell_pid" | head -1)
[ -n "$lesson_pid" ] || fail "cannot find the lesson process"
wait_for 10 eval '[ "$(pgrep -P "$lesson_pid" | wc -l)" -ge 3 ]' || fail "expected 2 servers and a load"
pids=("$lesson_pid" $(pgrep -P "$lesson_pid"))
wait_for 10 screen_has 'MEASURED fast clients' || fail "step 1 showed no measurement"

# Step 2 asks first; the answer waits for one more n.
$T send-keys -t lesson n
wait_for 5 screen_has 'step 2/3' || fail "n did not move to step 2"
screen_has 'PREDICT: What happens to the p99' || fail "step 2 did not ask for a prediction"
screen_has 'MEASURED' && fail "step 2 showed its measurement before it was asked for"
wait_for 15 screen_has 'n: show what was measured' || fail "step 2 never finished measuring"
screen_has 'MEASURED' && fail "the measurement appeared without n"
$T send-keys -t lesson n
wait_for 5 screen_has 'MEASURED fast clients' || fail "n did not reveal the measurement"
screen_has 'PREDICT' && fail "the prediction prompt stayed after the reveal"
echo "ok: step 2 asks, measures, and reveals on n"

# Step 3, paused while settling: the countdown must not move.
$T send-keys -t lesson n
wait_for 5 screen_has 'step 3/3' || fail "n did not move to step 3"
$T send-keys -t lesson p
wait_for 5 screen_has 'PAUSED' || fail "p did not pause"
first=$(status_line)
sleep 1.5
second=$(status_line)
[ "$first" = "$second" ] || fail "the status line changed while paused: '$first' then '$second'"
$T send-keys -t lesson p
wait_for 5 eval '! screen_has PAUSED' || fail "p did not resume"
wait_for 5 eval '[ "$(status_line)" != "$first" ]' || fail "the status line did not move after resuming"
echo "ok: p freezes the lesson's status, and it moves again after p"

# ? keys, ? again the glossary of the focused pane's model, ? closes.
$T send-keys -t lesson '?'
wait_for 5 screen_has 'evlab view: keys' || fail "? did not show the keys"
screen_has 'next step' || fail "the keys page does not list the lesson's n"
$T send-keys -t lesson '?'
wait_for 5 screen_has 'What the numbers mean: loop' || fail "? ? did not show the glossary"
screen_has 'what the last poll()/epoll_wait() returned' || fail "the loop glossary lacks READY"
$T send-keys -t lesson '?'
wait_for 5 eval '! screen_has "What the numbers mean"' || fail "? did not close the glossary"
echo "ok: keys page, glossary page, closed"

$T send-keys -t lesson b
wait_for 5 screen_has 'step 2/3' || fail "b did not go back to step 2"
$T send-keys -t lesson q
wait_for 15 prompt_back || fail "no shell prompt after q"
screen_has 'the claims as measured in this session' || fail "no claims printed after q"
gone() {
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 1; done
    return 0
}
wait_for 5 gone || fail "processes still running after q: ${pids[*]}"
ls /dev/shm/evlab.lesson-07-*-"$lesson_pid" >/dev/null 2>&1 && fail "instrumentation segments left behind"
echo "ok: q stops every process of the lesson"

# --auto, for self-study: lesson 03 (one step) measures, shows what it
# measured, and moves on to its claims by itself.
$T send-keys -t lesson "clear; $EVLAB_BIN lesson 03 --auto" Enter
wait_for 20 screen_has 'step 1/1' || fail "[--auto] lesson 03 did not start"
screen_has '  auto' || fail "[--auto] the status line does not say auto"
wait_for 15 screen_has 'MEASURED' || fail "[--auto] the measurement was not shown by itself"
wait_for 20 screen_has 'lesson 03: done' || fail "[--auto] did not move on to the claims by itself"
screen_has 'MEASURED PASS' || fail "[--auto] the claims were not shown as measured"
$T send-keys -t lesson q
wait_for 15 prompt_back || fail "[--auto] no shell prompt after q"
echo "PASS: lesson 07 live: narration, predict then reveal, pause freezes, glossary, back, quit, cleanup; --auto"
exit 0
