/*
 * view_terminal.c — curses init and every way of restoring the terminal
 * (see view_terminal.h).
 *
 * Design.  Restoring has two paths because of what a signal handler may
 * do.  The normal path (q, a quit signal noticed by the loop, exit())
 * calls endwin(), which knows everything curses changed.  The crash path
 * may not call endwin() — it is not async-signal-safe and the heap may be
 * corrupt — so at init we copy, as plain bytes, the terminfo strings that
 * undo what curses did (rmcup: leave the alternate screen, cnorm: show
 * the cursor, sgr0: reset attributes, rmkx: keypad off) and keep the
 * termios settings from before curses changed them.  The handler only
 * write()s those bytes and calls tcsetattr(), both on the POSIX list of
 * async-signal-safe functions.  (htop's CRT.c does the same job in its
 * crash handler with endwin(); we stay on the strict side.)
 */
#include "view_terminal.h"

#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t quit_signal;     /* 0, or the signal that asked */
static volatile sig_atomic_t curses_active;   /* 1 between init and restore */
static void (*crash_hook)(void);
static bool signals_installed;
static bool has_colour;
static enum view_charset charset = VIEW_CHARSET_ASCII;

static struct termios saved_termios;
static bool have_saved_termios;
static char undo_bytes[256];                  /* rmcup cnorm sgr0 rmkx, unpadded */
static size_t undo_len;

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
static const int quit_signals[] = { SIGINT, SIGTERM, SIGHUP };

/* Appends a terminfo capability to undo_bytes, dropping "$<5>" padding
 * markers (delays meant for tputs(), which we cannot call from a handler). */
static void undo_append(const char *capability)
{
    char *text = tigetstr((char *)capability);
    if (text == NULL || text == (char *)-1)
        return;
    for (const char *p = text; *p != '\0'; p++) {
        if (p[0] == '$' && p[1] == '<') {
            const char *end = strchr(p, '>');
            if (end != NULL) {
                p = end;
                continue;
            }
        }
        if (undo_len + 1 < sizeof undo_bytes)
            undo_bytes[undo_len++] = *p;
    }
}

static void on_quit_signal(int signal_number)
{
    quit_signal = signal_number;
}

static void on_crash_signal(int signal_number)
{
    int saved_errno = errno;
    if (curses_active) {
        ssize_t ignored = write(STDOUT_FILENO, undo_bytes, undo_len);
        (void)ignored;
        if (have_saved_termios)
            tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        static const char crlf[] = "\r\n";
        ignored = write(STDOUT_FILENO, crlf, sizeof crlf - 1);
        curses_active = 0;
    }
    if (crash_hook != NULL)
        crash_hook();
    errno = saved_errno;
    /* Die of the same signal, so the shell and a core dump see the truth. */
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

void view_terminal_install_signals(void)
{
    if (signals_installed)
        return;
    signals_installed = true;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_handler = on_quit_signal;
    for (size_t i = 0; i < sizeof quit_signals / sizeof quit_signals[0]; i++)
        sigaction(quit_signals[i], &action, NULL);
    action.sa_handler = on_crash_signal;
    action.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
        sigaction(crash_signals[i], &action, NULL);
    /* A client or child that goes away must not kill the view. */
    signal(SIGPIPE, SIG_IGN);
}

bool view_terminal_quit_requested(int *signal_number)
{
    if (signal_number != NULL)
        *signal_number = quit_signal;
    return quit_signal != 0;
}

void view_terminal_set_crash_hook(void (*hook)(void))
{
    crash_hook = hook;
}

void view_terminal_restore(void)
{
    if (!curses_active)
        return;
    curses_active = 0;
    /* A terminal without an alternate screen (vt100, the Linux console)
     * would keep our last frame under the shell prompt: clear it first. */
    char *rmcup = tigetstr("rmcup");
    if (rmcup == NULL || rmcup == (char *)-1) {
        clear();
        refresh();
    }
    endwin();
    fflush(stdout);
}

static void restore_at_exit(void)
{
    view_terminal_restore();
}

/* Unicode blocks only where they will really show: a UTF-8 locale and a
 * terminal type that is not a hardware-terminal or Linux-console one. */
static enum view_charset pick_charset(void)
{
    const char *term = getenv("TERM");
    if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
        return VIEW_CHARSET_ASCII;
    if (term == NULL || strncmp(term, "vt", 2) == 0 || strcmp(term, "linux") == 0 ||
        strcmp(term, "dumb") == 0)
        return VIEW_CHARSET_ASCII;
    return VIEW_CHARSET_UNICODE;
}

int view_terminal_init(char *err, size_t err_len)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, err_len, "standard input and output must be a terminal "
                               "(use --once --plain for text)");
        return -ENOTTY;
    }
    setlocale(LC_ALL, "");
    have_saved_termios = tcgetattr(STDIN_FILENO, &saved_termios) == 0;
    view_terminal_install_signals();

    /* newterm() rather than initscr(): initscr() exits the process on an
     * unknown TERM, and we want to say so ourselves. */
    SCREEN *screen = newterm(NULL, stdout, stdin);
    if (screen == NULL) {
        const char *term = getenv("TERM");
        snprintf(err, err_len, "cannot drive terminal type '%s' (try TERM=xterm)",
                 term != NULL ? term : "(unset)");
        return -ENOTTY;
    }
    set_term(screen);
    undo_len = 0;
    undo_append("rmcup");
    undo_append("cnorm");
    undo_append("sgr0");
    undo_append("rmkx");
    curses_active = 1;
    atexit(restore_at_exit);

    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    charset = pick_charset();

    /* NO_COLOR (no-color.org): set and not empty means no colour at all. */
    const char *no_colour = getenv("NO_COLOR");
    has_colour = has_colors() && (no_colour == NULL || no_colour[0] == '\0');
    if (has_colour) {
        start_color();
        use_default_colors();
    }
    return 0;
}

bool view_terminal_has_colour(void)
{
    return has_colour;
}

enum view_charset view_terminal_charset(void)
{
    return charset;
}
