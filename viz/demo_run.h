/*
 * demo_run.h — `evlab demo`: the three models side by side under the same
 * load, in the live view.
 *
 * It starts `evlab serve --model blocking|threads|loop --port 0` as child
 * processes (names demo-MODEL-PID), attaches the view to them, drives
 * them with demo_load.h, shows what the load does in a status line, and
 * on the way out — q, a quit signal, --duration, a crash — stops every
 * process it started, then prints a summary table.
 *
 * The demo is a client of the view (view_app.h hooks), not part of it.
 *
 * Errors: returns the process exit status (0; 1 when a server would not
 * start; 128+N when signal N ended it).
 */
#ifndef EVLAB_DEMO_RUN_H
#define EVLAB_DEMO_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "view_app.h"

struct demo_config {
    struct view_app_config app;   /* budget, refresh rate; duration 0: until q */
    int pattern;                  /* 0..3 to start with, or -1: the tour */
    bool no_load;                 /* servers only: drive them yourself */
    const char *backend;          /* the loop model's backend, or NULL */
    const char *record_path;      /* --record FILE (replay_recorder.h), or NULL */
};

int demo_run(const struct demo_config *config);

#endif
