/*
 * record_writer.c — appending records to a recording (see record.h and
 * lib/record/FORMAT.md for the bytes).
 *
 * Design.  Records are encoded into one memory buffer; flushing writes
 * the whole buffer with write(2) and empties it.  The recorder flushes
 * after every drain (lib/record/record_session.c), so a crash loses at
 * most the last few milliseconds, and because a record is complete in the
 * buffer before any of it is written, the file only ever ends with whole
 * records or, if the process dies inside write(2), one partial record
 * that the reader recognises and stops before.
 *
 * Every record is framed the same way:
 *     u8 type, u8 server, u16 zero, u32 payload length, payload, u32 CRC
 * with the CRC taken over the frame's first 8 bytes and the payload.  The
 * length is patched in once the payload is encoded, so encoders simply
 * append.
 */
#include "record/record.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "probe/histogram.h"
#include "record/record_internal.h"

struct record_writer {
    int fd;
    char path[256];
    struct buffer pending;         /* encoded records not yet written */
    uint64_t written;              /* bytes in the file */
    size_t record_start;           /* offset in `pending` of the open record */
    int first_error;               /* of any flush, kept for close */
};

static void fail(char *err, size_t err_len, const char *fmt, const char *path, int e)
{
    if (err != NULL && err_len > 0)
        snprintf(err, err_len, fmt, path, strerror(e));
}

int record_writer_open(struct record_writer **out, const char *path, char *err, size_t err_len)
{
    *out = NULL;
    struct record_writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL)
        return -ENOMEM;
    snprintf(writer->path, sizeof writer->path, "%s", path);
    writer->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (writer->fd < 0) {
        int e = errno;
        fail(err, err_len, "cannot create %s: %s", path, e);
        free(writer);
        return -e;
    }
    buffer_init(&writer->pending, 0);

    /* The file header: magic, version, the sizes a reader must agree on,
     * the wall-clock time, and a CRC of all that. */
    struct buffer *b = &writer->pending;
    int rc = record_put_bytes(b, RECORD_MAGIC, 8);
    rc |= record_put_u32(b, RECORD_FORMAT_VERSION);
    rc |= record_put_u16(b, PROBE_GAUGE_COUNT);
    rc |= record_put_u16(b, PROBE_HIST_COUNT);
    rc |= record_put_u16(b, HIST_BUCKETS);
    rc |= record_put_u16(b, PROBE_MAX_RINGS);
    rc |= record_put_u32(b, 0);
    rc |= record_put_u64(b, clock_realtime_ns());
    if (rc == 0)
        rc = record_put_u32(b, record_crc32(0, buffer_peek(b), buffer_pending(b)));
    assert(rc != 0 || buffer_pending(b) == RECORD_HEADER_BYTES);
    if (rc == 0)
        rc = record_writer_flush(writer, err, err_len);
    if (rc < 0) {
        close(writer->fd);
        buffer_free(&writer->pending);
        free(writer);
        return rc;
    }
    *out = writer;
    return 0;
}

/* --- Framing ------------------------------------------------------------ */

static int record_begin(struct record_writer *writer, enum record_type type, unsigned server)
{
    assert(server < RECORD_MAX_SERVERS);
    writer->record_start = buffer_pending(&writer->pending);
    int rc = record_put_u8(&writer->pending, (uint8_t)type);
    rc |= record_put_u8(&writer->pending, (uint8_t)server);
    rc |= record_put_u16(&writer->pending, 0);
    rc |= record_put_u32(&writer->pending, 0);      /* length, patched below */
    if (rc != 0) {
        /* Never leave half a frame in the buffer. */
        writer->pending.len = writer->pending.start + writer->record_start;
        return -ENOMEM;
    }
    return 0;
}

/* Patches the length in and appends the CRC; on a failed encode, drops
 * the half-built record so the buffer holds only whole ones. */
static int record_finish(struct record_writer *writer, int encode_rc)
{
    struct buffer *b = &writer->pending;
    char *start = b->data + b->start + writer->record_start;
    if (encode_rc != 0) {
        b->len = b->start + writer->record_start;
        return -ENOMEM;
    }
    size_t payload = buffer_pending(b) - writer->record_start - 8;
    assert(payload <= RECORD_MAX_PAYLOAD);
    for (int i = 0; i < 4; i++)
        start[4 + i] = (char)(uint8_t)(payload >> (8 * i));
    uint32_t crc = record_crc32(0, start, 8 + payload);
    if (record_put_u32(b, crc) != 0) {
        b->len = b->start + writer->record_start;
        return -ENOMEM;
    }
    return 0;
}

/* A fixed-width text field, NUL-padded. */
static int put_text(struct buffer *b, const char *text, size_t width)
{
    char field[64] = { 0 };
    assert(width <= sizeof field);
    size_t n = strnlen(text, width - 1);
    memcpy(field, text, n);
    return record_put_bytes(b, field, width);
}

/* --- Records ------------------------------------------------------------ */

int record_writer_server(struct record_writer *writer, unsigned server,
                         const struct probe_info *info, uint64_t attached_ns)
{
    if (record_begin(writer, RECORD_SERVER, server) < 0)
        return -ENOMEM;
    struct buffer *b = &writer->pending;
    int rc = record_put_u32(b, info->layout_version);
    rc |= record_put_u32(b, (uint32_t)info->pid);
    rc |= record_put_u32(b, (uint32_t)info->port);
    rc |= record_put_u64(b, info->start_realtime_ns);
    rc |= record_put_u64(b, info->start_mono_ns);
    rc |= record_put_u64(b, attached_ns);
    rc |= put_text(b, info->name, PROBE_NAME_MAX);
    rc |= put_text(b, info->model, PROBE_MODEL_MAX);
    return record_finish(writer, rc);
}

/* A histogram as its totals plus only the buckets that are not empty
 * (most of the 1,280 are): index step and count, both varints. */
static int put_histogram(struct buffer *b, const struct histogram *h)
{
    uint64_t nonzero = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        nonzero += atomic_load_explicit(&h->buckets[i], memory_order_relaxed) != 0;
    int rc = record_put_varint(b, atomic_load_explicit(&h->count, memory_order_relaxed));
    rc |= record_put_varint(b, atomic_load_explicit(&h->sum, memory_order_relaxed));
    rc |= record_put_varint(b, atomic_load_explicit(&h->min, memory_order_relaxed));
    rc |= record_put_varint(b, atomic_load_explicit(&h->max, memory_order_relaxed));
    rc |= record_put_varint(b, nonzero);
    size_t previous = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t count = atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (count == 0)
            continue;
        rc |= record_put_varint(b, i - previous);
        rc |= record_put_varint(b, count);
        previous = i;
    }
    return rc;
}

int record_writer_snapshot(struct record_writer *writer, unsigned server,
                           const struct probe_snapshot *snapshot, int64_t rss_bytes)
{
    if (record_begin(writer, RECORD_SNAPSHOT, server) < 0)
        return -ENOMEM;
    struct buffer *b = &writer->pending;
    int rc = record_put_u64(b, snapshot->taken_ns);
    rc |= record_put_u8(b, snapshot->writer_alive ? 1 : 0);
    rc |= record_put_signed(b, rss_bytes);
    for (size_t i = 0; i < PROBE_GAUGE_COUNT; i++)
        rc |= record_put_signed(b, snapshot->gauges[i]);
    for (size_t i = 0; i < PROBE_HIST_COUNT; i++)
        rc |= put_histogram(b, &snapshot->hists[i]);
    rc |= record_put_varint(b, snapshot->thread_count);
    for (size_t i = 0; i < snapshot->thread_count && i < PROBE_MAX_RINGS; i++) {
        const struct probe_thread_info *t = &snapshot->threads[i];
        rc |= record_put_varint(b, (uint64_t)t->ring);
        rc |= record_put_varint(b, (uint64_t)(uint32_t)t->tid);
        rc |= put_text(b, t->role, PROBE_ROLE_MAX);
        rc |= record_put_u8(b, t->state);
        rc |= record_put_u8(b, t->call);
        rc |= record_put_u16(b, t->route);
        rc |= record_put_signed(b, t->fd);
        rc |= record_put_u64(b, t->since_ns);
        rc |= record_put_varint(b, t->events_written);
    }
    return record_finish(writer, rc);
}

int record_writer_events(struct record_writer *writer, unsigned server,
                         const struct probe_event_record *events, size_t n)
{
    /* Long batches are split so no record passes RECORD_MAX_PAYLOAD. */
    while (n > 0) {
        size_t count = n < RECORD_EVENTS_PER_RECORD ? n : RECORD_EVENTS_PER_RECORD;
        if (record_begin(writer, RECORD_EVENTS, server) < 0)
            return -ENOMEM;
        struct buffer *b = &writer->pending;
        /* The first event's time in full, then each event's time as the
         * step from the one before: signed, because events of two rings
         * read in two drains can be a little out of order. */
        int rc = record_put_u64(b, events[0].t_ns);
        rc |= record_put_varint(b, count);
        uint64_t previous = events[0].t_ns;
        for (size_t i = 0; i < count; i++) {
            const struct probe_event_record *ev = &events[i];
            rc |= record_put_signed(b, (int64_t)(ev->t_ns - previous));
            rc |= record_put_varint(b, ev->kind);
            rc |= record_put_varint(b, ev->ring);
            rc |= record_put_signed(b, ev->fd);
            rc |= record_put_varint(b, ev->a);
            rc |= record_put_varint(b, ev->b);
            previous = ev->t_ns;
        }
        rc = record_finish(writer, rc);
        if (rc < 0)
            return rc;
        events += count;
        n -= count;
    }
    return 0;
}

int record_writer_gap(struct record_writer *writer, unsigned server, uint64_t t_ns,
                      uint64_t lost)
{
    if (record_begin(writer, RECORD_GAP, server) < 0)
        return -ENOMEM;
    int rc = record_put_u64(&writer->pending, t_ns);
    rc |= record_put_u64(&writer->pending, lost);
    return record_finish(writer, rc);
}

/* GONE and END carry one time and nothing else. */
static int write_time_record(struct record_writer *writer, enum record_type type,
                             unsigned server, uint64_t t_ns)
{
    if (record_begin(writer, type, server) < 0)
        return -ENOMEM;
    return record_finish(writer, record_put_u64(&writer->pending, t_ns));
}

int record_writer_gone(struct record_writer *writer, unsigned server, uint64_t t_ns)
{
    return write_time_record(writer, RECORD_GONE, server, t_ns);
}

/* --- Output ------------------------------------------------------------- */

int record_writer_flush(struct record_writer *writer, char *err, size_t err_len)
{
    struct buffer *b = &writer->pending;
    if (writer->first_error != 0) {
        /* After a failed write the file may end in half a record: adding
         * more behind it would only hide that the recording stopped. */
        buffer_clear(b);
        return writer->first_error;
    }
    while (buffer_pending(b) > 0) {
        ssize_t n = write(writer->fd, buffer_peek(b), buffer_pending(b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            fail(err, err_len, "writing %s: %s", writer->path, e);
            if (writer->first_error == 0)
                writer->first_error = -e;
            buffer_clear(b);           /* never write half a record later */
            return -e;
        }
        buffer_consume(b, (size_t)n);
        writer->written += (uint64_t)n;
    }
    buffer_clear(b);
    return 0;
}

uint64_t record_writer_bytes(const struct record_writer *writer)
{
    return writer->written;
}

int record_writer_close(struct record_writer *writer, uint64_t end_ns,
                        char *err, size_t err_len)
{
    if (writer == NULL)
        return 0;
    int rc = write_time_record(writer, RECORD_END, 0, end_ns);
    int flush_rc = record_writer_flush(writer, err, err_len);
    if (rc == 0)
        rc = flush_rc;
    if (close(writer->fd) < 0 && rc == 0) {
        int e = errno;
        fail(err, err_len, "closing %s: %s", writer->path, e);
        rc = -e;
    }
    if (writer->first_error != 0)
        rc = writer->first_error;
    buffer_free(&writer->pending);
    free(writer);
    return rc;
}
