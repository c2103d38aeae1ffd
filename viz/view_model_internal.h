/*
 * view_model_internal.h — what the pieces of the view model share, and
 * nothing else.  Not for the rest of the program: view_model.h is the
 * public interface.
 *
 * The view model is split by job (see the top of each file):
 *   view_tracker.c   feeding snapshots and events in over time: rates,
 *                    sparkline series, windows, peaks;
 *   view_replay.c    step mode's reconstruction of the server at event N;
 *   view_events.c    one recorded event in words, for the event log;
 *   view_model.c     building a pane's numbers and strings from the above.
 */
#ifndef EVLAB_VIEW_MODEL_INTERNAL_H
#define EVLAB_VIEW_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "view_model.h"

/* Fills `parts` (VIEW_MAX_PARTS entries) with what "queued" is made of
 * for a server of this kind, sets *count, and returns the total.  The
 * tracker uses it for the sparkline and the peak, the pane for its
 * numbers, so both always add up the same gauges. */
int64_t view_queued_parts(enum view_kind kind, const int64_t *gauges,
                          struct view_part *parts, size_t *count);

#endif
