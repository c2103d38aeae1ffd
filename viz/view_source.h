/*
 * view_source.h — the collection layer of `evlab view`: attaches a
 * read-only probe_reader to each named server, drains their events into
 * a bounded history and feeds snapshots to one view_tracker per server.
 * Nothing here draws; nothing in view_model.h reads shared memory.
 *
 * Two rhythms (view_limits.h): view_source_drain() every
 * VIEW_DRAIN_INTERVAL_MS, so a busy server's rings are read before they
 * wrap around, and view_source_sample() once per refresh for snapshots.
 *
 * Clients.  Once a second the source looks for load generators aimed at
 * each server (segments of model "load" with the server's port, see
 * lib/load/load_run.h), attaches to them, and at every sample feeds their
 * sum to the server's tracker (view_tracker_add_clients()).  A load that
 * ends stays counted, so the window's numbers never go backwards.
 *
 * A server that exits keeps its pane: the source takes one last snapshot
 * and the last events, marks the tracker gone and stops reading it.  A
 * segment of another layout version becomes a pane with the reader's
 * message; only a name that does not exist at all fails the open.
 *
 * Errors: view_source_open() returns 0 or a negative errno with a message
 * in err.  Ownership: open allocates everything, close frees everything.
 */
#ifndef EVLAB_VIEW_SOURCE_H
#define EVLAB_VIEW_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "view_history.h"
#include "view_model.h"

struct view_source;

int  view_source_open(struct view_source **out, char *const *names, size_t count,
                      char *err, size_t err_len);
void view_source_close(struct view_source *source);

/* Reads new events of every live server into its history and tracker.
 * Returns how many events were read. */
size_t view_source_drain(struct view_source *source);

/* Takes a snapshot of every live server (and its resident memory) and
 * notices servers that are gone. */
void view_source_sample(struct view_source *source);

size_t view_source_count(const struct view_source *source);
struct view_tracker *view_source_tracker(struct view_source *source, size_t index);
const struct view_history *view_source_history(const struct view_source *source, size_t index);

/* Whether at least one server is still running. */
bool view_source_any_alive(const struct view_source *source);

/* Resident memory of process `pid` in bytes from /proc, or -1. */
int64_t view_source_rss(int pid);

#endif
