/*
 * view_plain.h — panes printed as plain text, for `evlab view --once
 * --plain` on running servers (cli/cmd_view.c) and on a recording
 * (cli/cmd_view_replay.c): one function, so both print a pane the same
 * way and a script that reads one reads the other.
 *
 * Each pane is "== NAME", then its lines as view_text_pane() lays them
 * out in ASCII at `width` columns with nothing dropped, then a blank line.
 *
 * Errors: returns 0, or -ENOMEM when the line buffer cannot be had
 * (nothing printed then).  Ownership: the caller's panes are only read.
 */
#ifndef EVLAB_VIEW_PLAIN_H
#define EVLAB_VIEW_PLAIN_H

#include <stddef.h>
#include <stdio.h>

#include "view_model.h"

int view_plain_print(FILE *out, const struct view_pane *panes, size_t count, size_t width);

#endif
