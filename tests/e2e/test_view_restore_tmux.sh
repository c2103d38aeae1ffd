#!/bin/bash
# test_view_restore_tmux.sh — `evlab view` gives the terminal back, and
# copes with servers that die or cannot be read.
#
# In a tmux pane (TERM=xterm-256color, then vt100 with NO_COLOR): the view
# is ended by q, by Ctrl-C (SIGINT), by SIGTERM, and by SIGSEGV and
# SIGABRT (the catchable crash path); each time the shell prompt comes
# back with the exit status we expect and `stty -g` equal to what it was
# before.  One server is killed mid-view: its pane says it is gone while
# the other pane stays live.  A segment of another layout version gets a
# clear message (and exit status 1) from `evlab view --once --plain`.
#
# Every wait is bounded; the servers (by PID) and the tmux server (its own
# socket) are stopped on exit.
set -u

EVLAB_BIN=${EVLAB_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/evlab}
SOCKET="evlab-e2e-restore-$$"
T="tmux -L $SOCKET -f /dev/null"
PANE=view
. "$(dirname "$0")/tmux_support.sh"
PROMPT='E2E-PROMPT$'
LOOP="e2e-loop-$$"
THREADS="e2e-threads-$$"
FAKE="e2e-v99-$$"
server_pids=()

cleanup() {
    for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    sleep 0.2
    for pid in "${server_pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    $T kill-server 2>/dev/null
    rm -f "/dev/shm/evlab.$FAKE" "/dev/shm/evlab.$LOOP"
}
trap cleanup EXIT

command -v tmux >/dev/null || fail "tmux is not installed (make deps)"
[ -x "$EVLAB_BIN" ] || fail "no evlab binary at $EVLAB_BIN"

prompt_back() { screen | grep -v '^$' | tail -1 | grep -qF "$PROMPT"; }

# --- Another layout version: a clear message, exit status 1. -------------
# magic "elab" (0x62616c65 little-endian), layout version 99, pid 1, open.
printf 'elab\x63\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00' > "/dev/shm/evlab.$FAKE"
out=$("$EVLAB_BIN" view --once --plain "$FAKE" 2>&1); rc=$?
[ "$rc" = 1 ] || fail "view of a version-99 segment exited $rc, not 1"
echo "$out" | grep -q "layout version 99" || fail "no layout-version message: $out"
rm -f "/dev/shm/evlab.$FAKE"

# --- Two servers to watch. -------------------------------------------------
"$EVLAB_BIN" serve --model loop --name "$LOOP" >/dev/null 2>&1 &
server_pids+=($!)
"$EVLAB_BIN" serve --model threads --name "$THREADS" >/dev/null 2>&1 &
server_pids+=($!)
segments_ready() { [ -e "/dev/shm/evlab.$LOOP" ] && [ -e "/dev/shm/evlab.$THREADS" ]; }
wait_for 5 segments_ready || fail "servers did not start"

$T new-session -d -s view -x 160 -y 45 "bash --norc --noprofile" || fail "tmux new-session"
$T send-keys -t view "export PS1='$PROMPT '; ulimit -c 0; export TERM=xterm-256color; SAVED=\$(stty -g); clear" Enter
wait_for 5 prompt_back || fail "no shell prompt in the tmux pane"
shell_pid=$($T display-message -p -t view '#{pane_pid}')

# run_view HOW EXPECTED_STATUS: starts the view, ends it HOW, checks the
# prompt, the exit status and the terminal settings.
run_view() {
    local how=$1 expected=$2
    $T send-keys -t view "clear; $EVLAB_BIN view $LOOP $THREADS; echo EXIT=\$?" Enter
    two_panes() { [ "$(screen | grep -o 'QUEUED' | wc -l)" -ge 2 ]; }
    wait_for 10 two_panes || fail "[$how] the view did not show two panes"
    local view_pid
    view_pid=$(pgrep -P "$shell_pid" | head -1)
    [ -n "$view_pid" ] || fail "[$how] cannot find the view process"
    case $how in
        q)       $T send-keys -t view q ;;
        SIGINT)  $T send-keys -t view C-c ;;
        *)       kill -"${how#SIG}" "$view_pid" ;;
    esac
    wait_for 10 screen_has "EXIT=" || fail "[$how] the view did not end"
    screen_has "EXIT=$expected" || fail "[$how] exit status is not $expected"
    $T send-keys -t view "clear; [ \"\$(stty -g)\" = \"\$SAVED\" ] && echo TTY-RESTORED || echo TTY-BROKEN" Enter
    tty_answered() { screen_line TTY-RESTORED || screen_line TTY-BROKEN; }
    wait_for 5 tty_answered || fail "[$how] the shell did not answer"
    screen_line "TTY-RESTORED" || fail "[$how] terminal settings not restored"
    kill -0 "$view_pid" 2>/dev/null && fail "[$how] the view is still running"
    echo "ok: $how restores the terminal (exit $expected)"
}

run_view q 0
run_view SIGINT 130
run_view SIGTERM 143
run_view SIGSEGV 139
run_view SIGABRT 134

# --- Monochrome vt100, and a server dying mid-view. ----------------------------
$T send-keys -t view "clear; TERM=vt100 NO_COLOR=1 $EVLAB_BIN view $LOOP $THREADS; echo EXIT=\$?" Enter
wait_for 10 eval '[ "$(screen | grep -o QUEUED | wc -l)" -ge 2 ]' || fail "[vt100] no panes"
kill -KILL "${server_pids[0]}"
wait_for 10 screen_has "server gone" || fail "the dead server's pane does not say it is gone"
screen_has "GONE" || fail "no GONE state in the title"
screen_has "threads .*\[live\]" || fail "the other pane is not live any more"
screen_has "QUEUED" || fail "the gone pane lost its last picture"
$T send-keys -t view q
wait_for 10 screen_has "EXIT=0" || fail "[vt100] q did not quit"
$T send-keys -t view "clear; [ \"\$(stty -g)\" = \"\$SAVED\" ] && echo TTY-RESTORED || echo TTY-BROKEN" Enter
wait_for 5 screen_line "TTY-RESTORED" || fail "[vt100] terminal settings not restored"
echo "PASS: view restores the terminal on q/SIGINT/SIGTERM/SIGSEGV/SIGABRT; gone server; layout version"
exit 0
