/*
 * record_session.h — a recorder attached to running servers: it reads
 * every event of every ring of each server's segment (probe_reader.h,
 * the same way `evlab view` does) and writes them, with periodic
 * snapshots, into one recording (record.h).  `evlab record` and
 * `evlab demo --record` drive it.
 *
 * The caller runs the rhythm: record_session_drain() often enough that no
 * ring wraps around between two calls (RECORD_DRAIN_INTERVAL_MS), and
 * record_session_sample() for snapshots.  A server that exits gets a last
 * snapshot, its last events and a GONE record; the session goes on with
 * the others.  Events a ring overwrote before they were read become a GAP
 * record with their number, never silently.
 *
 * Errors: 0 or a negative errno with a message in err.
 * Ownership: open allocates and creates the file; close writes END,
 * closes the file and frees everything (also after an error).
 */
#ifndef EVLAB_RECORD_SESSION_H
#define EVLAB_RECORD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/record.h"

/* How often events are drained: a ring of PROBE_RING_EVENTS (4096)
 * events fills in 41 ms at 100,000 events/s on one thread, so 10 ms
 * leaves four times the margin a busy loop needs. */
#define RECORD_DRAIN_INTERVAL_MS    10

/* After a drain that found at least this many events (half a ring: a
 * writer going at 200,000 events/s or more), the next comes sooner, so a
 * burst is read before it laps the recorder. */
#define RECORD_DRAIN_BUSY_EVENTS      (PROBE_RING_EVENTS / 2)
#define RECORD_DRAIN_BUSY_INTERVAL_MS 2

/* How often gauges, histograms and thread states are snapshotted: the
 * live view refreshes 10 times a second, so replay gets the same. */
#define RECORD_SNAPSHOT_INTERVAL_MS 100

/* Events read from one server in one probe_reader_events() call. */
#define RECORD_DRAIN_BATCH          8192

struct record_session;

struct record_session_stats {
    uint64_t events;              /* written */
    uint64_t lost;                /* overwritten before they were read */
    uint64_t snapshots;
    uint64_t bytes;               /* file size so far */
    size_t servers, alive;
};

int  record_session_open(struct record_session **out, char *const *names, size_t count,
                         const char *path, char *err, size_t err_len);

/* Reads new events of every live server and writes them; flushes the
 * file.  Returns the number of events read, or a negative errno when the
 * file cannot be written (message in err). */
long record_session_drain(struct record_session *session, char *err, size_t err_len);

/* Writes a snapshot of every live server; notices servers that exited. */
int  record_session_sample(struct record_session *session, char *err, size_t err_len);

void record_session_stats(const struct record_session *session,
                          struct record_session_stats *out);

/* Final drain, END record, close.  Fills *final (may be NULL) with the
 * totals, file size included.  Returns the first write error. */
int  record_session_close(struct record_session *session, struct record_session_stats *final,
                          char *err, size_t err_len);

#endif
