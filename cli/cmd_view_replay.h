/*
 * cmd_view_replay.h — `evlab view --replay FILE`: the part of `evlab view`
 * that shows a recording instead of running servers (cli/cmd_view.c
 * parses the options and hands over here).
 *
 * Returns the process exit status: 0, 1 for a file that cannot be read
 * (one line saying what and where), 2 for a bad --at.
 */
#ifndef EVLAB_CMD_VIEW_REPLAY_H
#define EVLAB_CMD_VIEW_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "view_app.h"

/* report: print to stderr how long opening the file and rebuilding each
 * picture took. */
int cmd_view_replay(const char *file, const char *at, bool plain, size_t width, bool report,
                    const struct view_app_config *app);

#endif
