/*
 * replay_source.h — a recording (lib/record/record.h) as the data source
 * of `evlab view --replay FILE`: the same panes the live view shows,
 * computed from the file alone, at any instant of the run.  No server and
 * no segment are needed.
 *
 * The picture at time T is rebuilt, not approximated, from two things:
 *   - a view_tracker (view_tracker.h) fed exactly the snapshots the
 *     recording holds up to T, in order, as the live view was fed them.
 *     To make jumping around cheap, a copy of the tracker is kept every
 *     REPLAY_CHECKPOINT_SNAPSHOTS snapshots (a checkpoint); going to T
 *     restores the nearest checkpoint at or before T and feeds the few
 *     snapshots after it, decoding them again from the file;
 *   - every recorded event up to T, folded into the state of each thread
 *     and of the loop's turn (view_replay.h).  The fold is kept the same
 *     way: a copy every REPLAY_FOLD_CHECKPOINT_EVENTS events, made once
 *     at open; a picture restores the nearest copy at or before its event
 *     (or goes on from the previous picture's fold when that is on the
 *     way) and folds the few events after it, so stepping back costs no
 *     more than stepping forward however long the recording.
 *
 * The blocked-loop moments (where a handler or a call held a loop or
 * blocking server past the budget) are found once at open, with the same
 * slices `evlab trace` exports (lib/record/record_slices.h).
 *
 * Times: T is CLOCK_MONOTONIC of the recording; replay_source_start()
 * is the moment the recorder attached (time 0 on screen), end() the last
 * thing recorded.  Events a ring still held when the recorder attached are
 * older than 0 and can be stepped to.
 *
 * Errors: open returns 0 or a negative errno with a message (the file's
 * own errors come from record_reader_next(), with offsets).
 * Ownership: open allocates everything; close frees it.  The event arrays
 * stay valid until close.
 */
#ifndef EVLAB_REPLAY_SOURCE_H
#define EVLAB_REPLAY_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe_reader.h"
#include "record/record.h"
#include "view_model.h"

/* A tracker copy every 20 snapshots: 2 s of a recording at 10 snapshots a
 * second, so a jump decodes at most 19 snapshots; about 150 KiB each. */
#define REPLAY_CHECKPOINT_SNAPSHOTS 20

/* A copy of the events' fold (view_replay.h) every 8192 events, so a
 * picture folds at most 8191 events wherever it is, instead of every
 * event from the start: ~8.7 KiB each, about 1 KiB per 1000 events,
 * against the 32 KiB those events take themselves. */
#define REPLAY_FOLD_CHECKPOINT_EVENTS 8192

/* One blocked-loop moment: the slice that held the server. */
struct replay_warning {
    size_t server;
    uint64_t begin_ns, end_ns;
    uint64_t moment_ns;       /* shown at: the last instant of the call it
                                 waited in, or of the handler */
    int32_t fd;
    uint16_t ring;
};

struct replay_source;

int  replay_source_open(struct replay_source **out, const char *path, uint64_t budget_ns,
                        char *err, size_t err_len);
void replay_source_close(struct replay_source *source);

size_t replay_source_count(const struct replay_source *source);
const struct probe_info *replay_source_info(const struct replay_source *source, size_t server);
uint64_t replay_source_start(const struct replay_source *source);
uint64_t replay_source_end(const struct replay_source *source);

/* One server's recorded events, in time order. */
const struct probe_event_record *replay_source_events(const struct replay_source *source,
                                                      size_t server, size_t *count);

/* The event a loop turn starts with on that server: PROBE_EV_POLL_RETURN
 * for a poll loop, PROBE_EV_HANDLER_BEGIN for the other models. */
uint16_t replay_source_turn_kind(const struct replay_source *source, size_t server);

/* Blocked-loop moments of every server, ordered by begin_ns. */
const struct replay_warning *replay_source_warnings(const struct replay_source *source,
                                                    size_t *count);

/* What the file said beyond its records: cut short (where), events lost. */
bool replay_source_truncated(const struct replay_source *source, uint64_t *offset);
uint64_t replay_source_lost(const struct replay_source *source);

/* Builds every server's pane at time t_ns into panes[0..count).  The
 * pane `focus` stands on its event `event_index` when `on_event` (step
 * mode's current event); the others show their state at t_ns.  Returns 0
 * or a negative errno when the file can no longer be read. */
int  replay_source_build(struct replay_source *source, uint64_t t_ns, size_t focus,
                         bool on_event, size_t event_index, const struct view_options *options,
                         struct view_pane *panes);

#endif
