#!/bin/bash
# test_grade_watch_tmux.sh — `evlab grade NN --watch` shows the server a
# test started in the live view while the tests run, then gives the
# terminal back and prints the table.
#
# In a tmux pane: grade the reference solution of the first server
# exercise with --watch; the screen must show a pane named after the
# grader (grade-NN-PID), the status bar with the test being run, and at the
# end the table with full marks, the exit status 0 and the terminal
# settings as they were.  Every wait is bounded; the tmux server (its own
# socket) is stopped on exit.
set -u
. "$(dirname "$0")/grade_support.sh"
EVLAB_BIN=${EVLAB_BIN:-$root/evlab}
SOCKET="evlab-e2e-grade-watch-$$"
T="tmux -L $SOCKET -f /dev/null"
PANE=watch
. "$(dirname "$0")/tmux_support.sh"
PROMPT='E2E-PROMPT$'
trap '$T kill-server 2>/dev/null' EXIT

command -v tmux >/dev/null || fail "tmux is not installed (make deps)"
# A server exercise with a solution: its program publishes to the view.
ex=""
for dir in "$root"/exercises/solutions/[0-9][0-9]-*/; do
    name=$(basename "$dir")
    if grep -q '^kind *= *server' "$root/exercises/$name/exercise.conf" 2>/dev/null; then ex=$name; break; fi
done
if [ -z "$ex" ]; then echo "no server exercise with a solution yet: nothing to watch"; exit 0; fi
nn=${ex%%-*}

prompt_back() { screen | grep -v '^$' | tail -1 | grep -qF "$PROMPT"; }
$T new-session -d -s watch -x 160 -y 45 "bash --norc --noprofile" || fail "tmux new-session"
$T send-keys -t watch "export PS1='$PROMPT '; export TERM=xterm-256color; SAVED=\$(stty -g); cd '$root'; clear" Enter
wait_for 5 prompt_back || fail "no shell prompt in the tmux pane"

$T send-keys -t watch "clear; $EVLAB_BIN grade $nn --dir exercises/solutions --watch; echo EXIT=\$?" Enter
wait_for 60 screen_has "grade-$nn-" || fail "the view never showed the test's server (grade-$nn-PID)"
echo "ok: the view shows the server under test"
wait_for 10 screen_has "evlab grade --watch: " || fail "no grading status bar in the view"
echo "ok: the status bar says which test runs"
wait_for 180 screen_has "EXIT=" || fail "grading with --watch did not end"
screen_has "EXIT=0" || fail "grading the solution with --watch did not exit 0"
screen_has "^total \([0-9]*\)/\1 " || fail "no table with full marks after the view"
echo "ok: the table follows, full marks, exit 0"
$T send-keys -t watch "clear; [ \"\$(stty -g)\" = \"\$SAVED\" ] && echo TTY-RESTORED || echo TTY-BROKEN" Enter
wait_for 5 screen_has "TTY-" || fail "the shell did not answer"
screen_has "TTY-RESTORED" || fail "terminal settings not restored"
echo "ok: the terminal is restored"
