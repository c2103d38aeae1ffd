/*
 * record.h — the evlab recording file: what `evlab record` writes and
 * what `evlab trace` and `evlab view --replay` read.  The byte layout is
 * described in lib/record/FORMAT.md; this header is the C interface to it.
 *
 * A recording is a small fixed header followed by a sequence of records.
 * Every record is framed the same way (type, server, length, payload,
 * checksum), so a reader can always tell a complete record from one that
 * was cut short, and a damaged one from a good one:
 *
 *     SERVER    a watched server's segment header: name, model, port, pid
 *     SNAPSHOT  gauges, histograms and every thread's ring header (role,
 *               tid, state) at one instant
 *     EVENTS    a batch of one server's events, in the order read
 *     GAP       the reader was overrun: this many events are missing here
 *     GONE      the server exited
 *     END       the recorder stopped on purpose (a file without it was
 *               cut short: still readable up to its last whole record)
 *
 * The writer appends records to a memory buffer and hands them to the
 * kernel in record_writer_flush(), so what is in the file is always a run
 * of whole records plus, after a crash, at most one partial one.
 *
 * Errors: 0 or a negative errno; `err` (when not NULL) gets one line a
 * person can act on, naming the file and, for a bad record, its offset.
 * Ownership: record_writer_open() and record_reader_open() allocate;
 * record_writer_close() and record_reader_close() free (and close the
 * file).  What record_reader_next() returns points into the reader and is
 * valid until the next call.
 */
#ifndef EVLAB_RECORD_H
#define EVLAB_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe_reader.h"

#define RECORD_FORMAT_VERSION 1
#define RECORD_MAGIC          "EVLABREC"     /* 8 bytes at offset 0 */
#define RECORD_HEADER_BYTES   36
#define RECORD_FRAME_BYTES    12             /* 8 before the payload, 4 after */
#define RECORD_MAX_SERVERS    8              /* one byte in the frame: plenty */

/* A payload longer than this is taken for a damaged length field: a
 * snapshot of 256 threads is about 25 KiB and the writer never puts more
 * than RECORD_EVENTS_PER_RECORD events into one EVENTS record. */
#define RECORD_MAX_PAYLOAD    (4u * 1024 * 1024)
#define RECORD_EVENTS_PER_RECORD 16384

enum record_type {
    RECORD_SERVER = 1,
    RECORD_SNAPSHOT = 2,
    RECORD_EVENTS = 3,
    RECORD_GAP = 4,
    RECORD_GONE = 5,
    RECORD_END = 6
};

/* --- Writing ------------------------------------------------------------ */

struct record_writer;

int  record_writer_open(struct record_writer **out, const char *path, char *err, size_t err_len);

/* Each appends one record to the writer's buffer (nothing reaches the
 * file before record_writer_flush()).  `server` is 0..RECORD_MAX_SERVERS-1.
 * Return 0 or -ENOMEM. */
int  record_writer_server(struct record_writer *writer, unsigned server,
                          const struct probe_info *info, uint64_t attached_ns);
int  record_writer_snapshot(struct record_writer *writer, unsigned server,
                            const struct probe_snapshot *snapshot, int64_t rss_bytes);
int  record_writer_events(struct record_writer *writer, unsigned server,
                          const struct probe_event_record *events, size_t n);
int  record_writer_gap(struct record_writer *writer, unsigned server, uint64_t t_ns,
                       uint64_t lost);
int  record_writer_gone(struct record_writer *writer, unsigned server, uint64_t t_ns);

/* Writes the buffered records to the file.  0 or a negative errno (with
 * a message: "writing FILE: No space left on device"). */
int  record_writer_flush(struct record_writer *writer, char *err, size_t err_len);

/* Bytes handed to the file so far (header included). */
uint64_t record_writer_bytes(const struct record_writer *writer);

/* Appends END, flushes, closes and frees.  Returns the first error any
 * flush met (the file is closed and the writer freed either way). */
int  record_writer_close(struct record_writer *writer, uint64_t end_ns,
                         char *err, size_t err_len);

/* --- Reading ------------------------------------------------------------ */

/* A SERVER record, decoded. */
struct record_server {
    struct probe_info info;
    uint64_t attached_ns;         /* CLOCK_MONOTONIC when the recorder attached */
};

/* One record as record_reader_next() returns it.  Only the member that
 * matches `type` is filled; pointers stay valid until the next call. */
struct record_item {
    enum record_type type;
    unsigned server;
    uint64_t offset;              /* of the record's first byte in the file */
    const struct record_server *server_info;         /* SERVER */
    const struct probe_snapshot *snapshot;           /* SNAPSHOT */
    int64_t rss_bytes;                               /* SNAPSHOT; -1 unknown */
    const struct probe_event_record *events;         /* EVENTS */
    size_t event_count;
    uint64_t t_ns;                /* GAP, GONE, END; SNAPSHOT: taken_ns */
    uint64_t lost;                /* GAP */
};

struct record_reader;

/* Opens and checks the file header: -ENOENT and friends, -EINVAL for
 * "not an evlab recording", -EPROTO for another format version. */
int  record_reader_open(struct record_reader **out, const char *path, char *err, size_t err_len);
void record_reader_close(struct record_reader *reader);

/* The next record: 1 and *out filled; 0 at the end of the file; or a
 * negative errno for a damaged record (-EBADMSG), with a message naming
 * the offset.  At the end, record_reader_truncated() says whether the
 * file stopped in the middle of a record (a recording cut short). */
int  record_reader_next(struct record_reader *reader, struct record_item *out,
                        char *err, size_t err_len);

/* Moves to the record at `offset`, one that an earlier record_reader_next()
 * returned (struct record_item.offset): how the replay decodes a snapshot
 * again without keeping every one in memory.  -EINVAL for an offset
 * outside the file. */
int  record_reader_seek(struct record_reader *reader, uint64_t offset);

/* After the end: true when the last record was incomplete (its offset
 * in *offset) or no END record was seen (*offset is then the file size). */
bool record_reader_truncated(const struct record_reader *reader, uint64_t *offset);
bool record_reader_saw_end(const struct record_reader *reader);
uint64_t record_reader_size(const struct record_reader *reader);
const char *record_reader_path(const struct record_reader *reader);

#endif
