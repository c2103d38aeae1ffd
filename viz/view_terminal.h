/*
 * view_terminal.h — taking over the terminal for the live view and, above
 * all, giving it back: on `q`, on SIGINT/SIGTERM/SIGHUP, at exit(), and on
 * a crash that can be caught (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT).
 *
 * Quit signals only set a flag (view_terminal_quit_requested()); the key
 * loop sees it within one tick and leaves through the normal path, which
 * restores the terminal and lets the demo stop its children.  Crash
 * signals cannot wait for the loop: their handler writes the terminal's
 * own "leave full-screen mode, show the cursor, reset colours" strings,
 * fetched from terminfo at init time, puts back the saved termios
 * settings — both async-signal-safe — runs the crash hook, and re-raises
 * the signal so the exit status still says what happened.
 *
 * Resizing: ncurses installs its own SIGWINCH handler when none is set and
 * then reports a resize as the key KEY_RESIZE with LINES/COLS updated; the
 * key loop simply lays out again.  We deliberately leave SIGWINCH to it.
 *
 * Errors: init returns 0 or a negative errno with a message in err (no
 * terminal, unknown TERM).  Ownership: one terminal per process.
 */
#ifndef EVLAB_VIEW_TERMINAL_H
#define EVLAB_VIEW_TERMINAL_H

#include <stdbool.h>
#include <stddef.h>

#include "view_format.h"

int  view_terminal_init(char *err, size_t err_len);

/* Ends curses mode; safe to call any number of times, also before init. */
void view_terminal_restore(void);

/* True once SIGINT, SIGTERM or SIGHUP arrived; which one in *signal. */
bool view_terminal_quit_requested(int *signal);

/* A function the crash handler calls after restoring the terminal.  It
 * runs inside a signal handler: async-signal-safe calls only (kill()). */
void view_terminal_set_crash_hook(void (*hook)(void));

/* Installs only the signal handlers (quit flag, crash hook), without
 * taking over the terminal: for `--once --plain` and the demo's setup. */
void view_terminal_install_signals(void);

bool view_terminal_has_colour(void);
enum view_charset view_terminal_charset(void);

#endif
