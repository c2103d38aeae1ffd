# tmux_support.sh — shared by the e2e scripts that drive evlab in a real
# terminal (sourced, not run: the runner only runs test_*.sh).
#
# The caller sets T (its tmux command, on its own socket) and PANE (the
# target), then gets fail, screen, screen_has and wait_for.

# fail MESSAGE: says why, shows the last screen, ends the test.
fail() {
    echo "FAIL: $*"
    echo "--- last screen:"
    $T capture-pane -p -t "$PANE" 2>/dev/null
    exit 1
}

screen() { $T capture-pane -p -t "$PANE"; }
screen_has() { screen | grep -q -- "$1"; }
# screen_line TEXT: a whole line of the screen is TEXT.  Use it to wait for
# a command's output, which screen_has would also find in the command line
# itself while it is still being typed (then the test races the shell).
screen_line() { screen | grep -qx -- "$1"; }

# wait_for SECONDS COMMAND...: retries COMMAND every 0.2 s until it
# succeeds or SECONDS have passed, so no wait is unbounded.
wait_for() {
    local limit=$1; shift
    local tries=$((limit * 5))
    while [ "$tries" -gt 0 ]; do
        if "$@"; then return 0; fi
        sleep 0.2
        tries=$((tries - 1))
    done
    return 1
}
