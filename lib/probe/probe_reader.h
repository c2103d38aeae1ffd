/*
 * probe_reader.h — attach read-only to a running server's instrumentation
 * segment (see probe.h) and read its gauges, histograms, thread states and
 * event stream.  Used by `evlab stats`, `evlab list` and `evlab view`.
 *
 * Any number of readers may attach to one segment; none of them can slow
 * the server down or change anything in it (the mapping is PROT_READ).
 * Each reader keeps its own cursor per ring.  A reader that falls more
 * than a ring's length behind a writer has been overrun: it skips to the
 * oldest event still present and adds what it skipped to *missed.
 *
 * A segment always begins with two 32-bit words, a magic number and the
 * layout version; a reader that finds another version refuses it with
 * -EPROTO and a message naming both versions.
 *
 * When the server exits (or is killed) the reader keeps its mapping, so
 * the last picture stays readable; probe_reader_writer_alive() says
 * whether the server is still there.
 *
 * Errors: 0 or a negative errno; `err` (when not NULL) gets a message a
 * person can act on ("no evlab server named 'x' (see evlab list)").
 * Ownership: probe_reader_open() allocates, probe_reader_close() unmaps
 * and frees.  Snapshots and event records are plain copies the caller owns.
 */
#ifndef EVLAB_PROBE_READER_H
#define EVLAB_PROBE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "probe.h"

#define PROBE_MAGIC 0x62616c65u   /* "elab" in little-endian bytes */

struct probe_info {
    uint32_t layout_version;
    char name[PROBE_NAME_MAX];
    char model[PROBE_MODEL_MAX];
    int port;
    int pid;
    uint64_t start_realtime_ns;   /* CLOCK_REALTIME at creation */
    uint64_t start_mono_ns;       /* CLOCK_MONOTONIC at creation */
    bool alive;                   /* filled by probe_list() */
};

/* One event as a reader sees it. */
struct probe_event_record {
    uint64_t t_ns;                /* CLOCK_MONOTONIC */
    uint16_t kind;                /* enum probe_event_kind */
    uint16_t ring;                /* which thread's ring */
    int32_t  fd;
    uint64_t a, b;                /* see enum probe_event_kind */
};

/* One thread's ring header as a reader sees it. */
struct probe_thread_info {
    int ring;
    int tid;
    char role[PROBE_ROLE_MAX];
    uint8_t state;                /* enum probe_thread_state */
    uint8_t call;                 /* enum probe_call, when BLOCKED */
    uint16_t route;               /* enum route_id, when HANDLER */
    int32_t fd;                   /* connection, when known; else -1 */
    uint64_t since_ns;            /* when it entered this state */
    uint64_t events_written;      /* total ever written to its ring */
    bool outside_handler;         /* the writer's own flag, read now, says it
                                     is in no handler (newer than any event a
                                     reader has drained); false when unknown,
                                     as in a recording */
};

struct probe_snapshot {
    uint64_t taken_ns;            /* CLOCK_MONOTONIC when copied */
    bool writer_alive;
    int64_t gauges[PROBE_GAUGE_COUNT];
    struct histogram hists[PROBE_HIST_COUNT];
    size_t thread_count;          /* rings in use (and exited, not reused) */
    struct probe_thread_info threads[PROBE_MAX_RINGS];
};

struct probe_reader;

int  probe_reader_open(struct probe_reader **out, const char *name,
                       char *err, size_t err_len);
void probe_reader_close(struct probe_reader *reader);
const struct probe_info *probe_reader_info(const struct probe_reader *reader);
bool probe_reader_writer_alive(const struct probe_reader *reader);

/* Copies gauges, histograms and thread states.  The snapshot is large
 * (~50 KiB): allocate it, don't put it on a small stack. */
int probe_reader_snapshot(struct probe_reader *reader, struct probe_snapshot *out);

/* New events of every ring since the previous call (the first call starts
 * at the oldest event still present), merged in time order, at most `max`.
 * Adds events lost to overrun to *missed (may be NULL).  Returns how many
 * were stored in out. */
size_t probe_reader_events(struct probe_reader *reader,
                           struct probe_event_record *out, size_t max,
                           uint64_t *missed);

/* Renders a snapshot as the same JSON that probe_stats_json() serves on
 * GET /stats (for `evlab stats`).  Returns the length written, or
 * -ENOSPC when buf is too small. */
int probe_snapshot_json(const struct probe_info *info, const struct probe_snapshot *snapshot,
                        char *buf, size_t buf_len);

/* Lists segments in /dev/shm named evlab.*, alive or not; stores at most
 * `max` in out and returns the total found, or a negative errno. */
int probe_list(struct probe_info *out, size_t max);

/* Removes segments whose server is gone.  Returns how many. */
int probe_list_clean(void);

#endif
