/*
 * view_app.h — the live view's key loop: read the servers, build panes,
 * paint, answer keys, until `q` (or a quit signal, or a hook says stop).
 *
 * Keys: q quit; p pause/resume (the picture freezes, the servers keep
 * being read, and so does everything else the presenter sees: the status
 * and narration lines, and the hooks' clock); while paused, <- and -> (or space) step through the
 * recorded events one at a time and every pane shows the state at that
 * event; tab focuses the next pane; z zooms the focused pane; ? help, and
 * ? again the glossary of the focused pane's model;
 * + and - change the refresh rate.
 *
 * `evlab demo` reuses this loop unchanged and adds its own keys, status
 * line and clock through struct view_app_hooks, so the demo's moving parts
 * (child processes, load patterns) stay out of the view.
 *
 * Errors: view_app_run() returns 0, or a negative errno when the terminal
 * cannot be used (message in err).  The terminal is restored before it
 * returns, whatever happened.
 */
#ifndef EVLAB_VIEW_APP_H
#define EVLAB_VIEW_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "view_model.h"
#include "view_source.h"

/* The presenter's clock.  Hooks get time that stands still while the view
 * is paused (monotonic nanoseconds minus every pause so far), so a tour
 * or a lesson's timer freezes with the picture. */
struct view_app_hooks {
    void *context;
    /* Called at every drain tick with the presenter's clock; returning
     * false ends the loop. */
    bool (*tick)(void *context, uint64_t presenter_ns);
    /* A key the view does not use itself; returns true when it used it. */
    bool (*key)(void *context, int key);
    /* Fills the status bar shown under the top bar (NULL: no such bar). */
    void (*status)(void *context, char *buf, size_t len);
    /* Extra lines for the help overlay, '\n'-separated (may be NULL). */
    const char *help_extra;
    /* Fills lines of narration shown above the bottom bar, '\n'-separated
     * (at most VIEW_NARRATION_LINES); NULL or "" for none. */
    void (*narration)(void *context, char *buf, size_t len);
};

/* The presenter's clock of the running view (see above); outside
 * view_app_run() it is the monotonic clock. */
uint64_t view_app_presenter_now(void);

struct view_app_config {
    struct view_options options;
    unsigned refresh_hz;          /* 1..VIEW_MAX_REFRESH_HZ */
    uint64_t duration_ns;         /* stop after this long; 0: until q */
};

struct view_app_stats {
    uint64_t paints;              /* frames drawn */
    uint64_t drains;
    uint64_t events;              /* events read from all servers */
    uint64_t elapsed_ns;
    int quit_signal;              /* the signal that ended it, or 0 */
};

int view_app_run(struct view_source *source, const struct view_app_config *config,
                 const struct view_app_hooks *hooks, struct view_app_stats *stats,
                 char *err, size_t err_len);

#endif
