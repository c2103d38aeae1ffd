#!/bin/bash
# test_demo_tmux.sh — `evlab demo` in a real terminal, driven through tmux.
#
# In a 160x45 pane: the demo shows three panes (blocking, threads, loop)
# whose numbers change between two captures; it survives a resize to
# 70x20 and back; p pauses (the tour's status line then stands still), <-
# and -> step through recorded events; q quits, leaving a shell prompt,
# the summary table, and no process that
# the demo started (every PID is recorded while it runs and checked after).
#
# Every wait is bounded; the tmux server (on its own socket, so a user's
# tmux is never touched) and anything left behind are killed on exit.
set -u

EVLAB_BIN=${EVLAB_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/evlab}
SOCKET="evlab-e2e-$$"
T="tmux -L $SOCKET -f /dev/null"
PANE=demo
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



count_of() { screen | grep -o "$1" | wc -l; }
three_panes() {
    [ "$(count_of 'QUEUED')" -ge 3 ] && [ "$(count_of 'READY')" -ge 3 ] &&
        [ "$(count_of 'HANDLER RUNTIME')" -ge 3 ]
}
prompt_back() { screen | grep -v '^$' | tail -1 | grep -qF "$PROMPT"; }

$T new-session -d -s demo -x 160 -y 45 "bash --norc --noprofile" || fail "tmux new-session"
$T set-option -t demo window-size manual >/dev/null 2>&1
$T send-keys -t demo "export PS1='$PROMPT '; export TERM=xterm-256color; ulimit -c 0; clear" Enter
wait_for 5 prompt_back || fail "no shell prompt in the tmux pane"
$T send-keys -t demo "$EVLAB_BIN demo" Enter

wait_for 20 three_panes || fail "the three panes did not appear"
for model in blocking threads loop; do
    screen | grep -q "^$model \|│$model \||$model " || screen | grep -q "$model " ||
        fail "no $model pane"
done

# Everything the demo started: its children (3 servers, 3+ load generators).
shell_pid=$($T display-message -p -t demo '#{pane_pid}')
demo_pid=$(pgrep -P "$shell_pid" | head -1)
[ -n "$demo_pid" ] || fail "cannot find the demo process"
pids+=("$demo_pid")
children() { pgrep -P "$demo_pid" | wc -l; }
wait_for 5 eval '[ "$(children)" -ge 6 ]' || fail "expected >= 6 children, found $(children)"
for child in $(pgrep -P "$demo_pid"); do pids+=("$child"); done
echo "demo pid $demo_pid, children: ${pids[*]:1}"

# Two captures a few seconds apart: the panes' bodies (not the bars, whose
# countdown changes by itself) must differ, i.e. the numbers move.
first=$(screen | sed -n '3,44p')
sleep 3
second=$(screen | sed -n '3,44p')
[ "$first" != "$second" ] || fail "nothing changed in 3 s"
echo "$second" | grep -q 'req/s' || fail "no request rate shown"
# The demo's load generators publish what their clients wait: every pane
# shows it beside the server's numbers.
wait_for 10 eval '[ "$(count_of "CLIENTS wait p50")" -ge 3 ]' || fail "not every pane shows its clients' latency"
echo "capture at 160x45 (bars included):"
screen

# Narrow: stacked panes (or, if too small, the message) — never garbage.
$T resize-window -t demo -x 70 -y 20 || fail "resize-window 70x20"
narrow_ok() {
    local s; s=$(screen)
    [ "$(echo "$s" | awk '{ if (length($0) > 70) bad = 1 } END { print bad + 0 }')" = 0 ] &&
        { echo "$s" | grep -q 'QUEUED' || echo "$s" | grep -q 'too small'; }
}
wait_for 5 narrow_ok || fail "no sensible layout at 70x20"
screen_has 'loop' || fail "the loop pane is missing at 70x20"
$T resize-window -t demo -x 160 -y 45 || fail "resize-window back to 160x45"
wait_for 5 three_panes || fail "the three panes did not come back after the resize"

# Pause, then step back and forward through the recorded events.
$T send-keys -t demo p
wait_for 5 screen_has 'PAUSED' || fail "p did not pause"
# Everything the presenter sees freezes, the tour's countdown included.
tour_line() { screen | sed -n 2p; }
frozen=$(tour_line)
sleep 1.5
[ "$(tour_line)" = "$frozen" ] || fail "the tour's status line moved while paused: '$frozen' then '$(tour_line)'"
$T send-keys -t demo Left
wait_for 5 screen_has 'STEP event' || fail "<- did not enter step mode"
step_number() { screen | sed -n 's/.*STEP event \([0-9]*\) of.*/\1/p' | tail -1; }
at=$(step_number)
$T send-keys -t demo Left Left
wait_for 5 eval '[ "$(step_number)" = $((at - 2)) ]' || fail "<- <- did not step back by two (at $at, now $(step_number))"
$T send-keys -t demo Right
wait_for 5 eval '[ "$(step_number)" = $((at - 1)) ]' || fail "-> did not step forward"
screen_has '^>' || screen_has '│>' || screen_has '|>' || fail "no current-event marker in the log"

# Resume and quit: a prompt, the summary, and nothing left running.
$T send-keys -t demo p
wait_for 5 eval '! screen_has PAUSED' || fail "p did not resume"
$T send-keys -t demo q
wait_for 15 prompt_back || fail "no shell prompt after q"
screen_has 'requests served' || fail "no summary table after q"
gone() {
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then return 1; fi
    done
    return 0
}
wait_for 5 gone || fail "processes still running after q: $(for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && echo -n "$p "; done)"
ls /dev/shm/evlab.demo-*-"$demo_pid" >/dev/null 2>&1 && fail "instrumentation segments left behind"
echo "ok: q stops every process the demo started"

# The other ways out: Ctrl-C (SIGINT) and a crash (SIGSEGV) of the demo
# itself must stop its children too.
for how in SIGINT SIGSEGV; do
    $T send-keys -t demo "clear; $EVLAB_BIN demo --pattern 2" Enter
    wait_for 20 three_panes || fail "[$how] the three panes did not appear"
    demo_pid=$(pgrep -P "$shell_pid" | head -1)
    [ -n "$demo_pid" ] || fail "[$how] cannot find the demo process"
    wait_for 5 eval '[ "$(children)" -ge 6 ]' || fail "[$how] expected >= 6 children"
    pids=("$demo_pid" $(pgrep -P "$demo_pid"))
    if [ "$how" = SIGINT ]; then $T send-keys -t demo C-c; else kill -SEGV "$demo_pid"; fi
    wait_for 15 prompt_back || fail "[$how] no shell prompt after the demo ended"
    wait_for 5 gone || fail "[$how] processes still running: $(for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && echo -n "$p "; done)"
    echo "ok: $how of the demo stops every process it started"
done
echo "PASS: demo in tmux: panes, changing numbers, resize, pause/step, quit, cleanup"
exit 0
