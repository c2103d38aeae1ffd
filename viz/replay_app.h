/*
 * replay_app.h — the key loop of `evlab view --replay FILE`: the live
 * view's panes and painter (view_paint.h), driven by a recording
 * (replay_source.h) and a timeline (replay_timeline.h) instead of running
 * servers.
 *
 * Keys: space or p play/pause; + - speed (1/1000x .. 10x); -> <- one event
 * of the focused pane forward/back; . , one loop turn forward/back;
 * n N next/previous blocked-loop moment; w those of every server or of
 * the focused pane's only; g seek (type seconds, Enter); 0-9 seek to
 * 0%..90%; Home End start/end; tab focus; z zoom; ? help, twice the
 * glossary; q quit.
 *
 * Errors: returns 0, or a negative errno when the terminal cannot be used
 * or the file can no longer be read (message in err).  The terminal is
 * restored before it returns, whatever happened.
 */
#ifndef EVLAB_REPLAY_APP_H
#define EVLAB_REPLAY_APP_H

#include <stddef.h>

#include "replay_source.h"
#include "replay_timeline.h"
#include "view_app.h"

/* What a session cost, for `--report`: how many pictures were rebuilt
 * from the recording and how long that took (each step is one). */
struct replay_app_stats {
    uint64_t builds;
    uint64_t build_ns_total, build_ns_max;
    uint64_t keys;
};

int replay_app_run(struct replay_source *source, struct replay_position *pos, const char *file,
                   const struct view_app_config *config, struct replay_app_stats *stats,
                   char *err, size_t err_len);

#endif
