/*
 * record_reader.c — reading a recording back, record by record (see
 * record.h; the bytes are in lib/record/FORMAT.md).
 *
 * Design.  The file is mapped read-only and walked with a cursor, one
 * record per call.  Every check happens before a byte of a record is
 * trusted: the frame must fit in the file (otherwise the file was cut
 * short and we stop there, as a recorder killed by Ctrl-C or a crash
 * leaves it), the type and length must make sense and the CRC must match
 * (otherwise the file is damaged and we say at which offset), and the
 * payload must decode to exactly its length.  A file still being written
 * is fine: the reader sees the size it had at open.
 *
 * Decoded snapshots and events live in buffers the reader owns and
 * reuses, so reading a long recording allocates nothing per record.
 */
#include "record/record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe/histogram.h"
#include "record/record_internal.h"

struct record_reader {
    char path[256];
    const uint8_t *map;
    uint64_t size;
    uint64_t offset;               /* of the next record */
    bool at_end, truncated, saw_end;
    uint64_t truncated_at;
    struct record_server server;
    struct probe_snapshot *snapshot;
    struct probe_event_record *events;
    size_t events_capacity;
};

static int say(char *err, size_t err_len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int say(char *err, size_t err_len, int rc, const char *fmt, ...)
{
    if (err != NULL && err_len > 0) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err, err_len, fmt, args);
        va_end(args);
    }
    return rc;
}

/* --- Opening ------------------------------------------------------------ */

static int check_header(struct record_reader *reader, char *err, size_t err_len)
{
    const char *path = reader->path;
    if (reader->size < 8 || memcmp(reader->map, RECORD_MAGIC, 8) != 0)
        return say(err, err_len, -EINVAL,
                   "%s is not an evlab recording (no \"" RECORD_MAGIC "\" at offset 0; "
                   "%llu bytes)", path, (unsigned long long)reader->size);
    if (reader->size < 12)
        return say(err, err_len, -EINVAL, "%s is truncated inside its file header "
                   "(%llu of %d bytes)", path, (unsigned long long)reader->size,
                   RECORD_HEADER_BYTES);
    /* The version is read before anything else is judged: a newer file
     * may lay out the rest of its header differently. */
    uint32_t version = record_load_u32(reader->map + 8);
    if (version != RECORD_FORMAT_VERSION)
        return say(err, err_len, -EPROTO,
                   "%s is recording format version %u (offset 8) but this evlab reads "
                   "version %d; use the evlab that recorded it", path, version,
                   RECORD_FORMAT_VERSION);
    if (reader->size < RECORD_HEADER_BYTES)
        return say(err, err_len, -EINVAL, "%s is truncated inside its file header "
                   "(%llu of %d bytes)", path, (unsigned long long)reader->size,
                   RECORD_HEADER_BYTES);
    if (record_crc32(0, reader->map, RECORD_HEADER_BYTES - 4) !=
        record_load_u32(reader->map + RECORD_HEADER_BYTES - 4))
        return say(err, err_len, -EBADMSG, "%s: the file header is damaged (checksum "
                   "mismatch at offset %d)", path, RECORD_HEADER_BYTES - 4);
    struct record_cursor c = { reader->map + 12, reader->map + RECORD_HEADER_BYTES, false };
    unsigned gauges = record_get_u16(&c), hists = record_get_u16(&c);
    unsigned buckets = record_get_u16(&c), rings = record_get_u16(&c);
    if (gauges != PROBE_GAUGE_COUNT || hists != PROBE_HIST_COUNT || buckets != HIST_BUCKETS ||
        rings != PROBE_MAX_RINGS)
        return say(err, err_len, -EPROTO,
                   "%s was recorded by an evlab with %u gauges, %u histograms of %u buckets "
                   "and %u rings (offset 12); this one has %d, %d, %d and %d",
                   path, gauges, hists, buckets, rings, PROBE_GAUGE_COUNT, PROBE_HIST_COUNT,
                   (int)HIST_BUCKETS, PROBE_MAX_RINGS);
    return 0;
}

int record_reader_open(struct record_reader **out, const char *path, char *err, size_t err_len)
{
    *out = NULL;
    struct record_reader *reader = calloc(1, sizeof *reader);
    if (reader == NULL)
        return say(err, err_len, -ENOMEM, "out of memory");
    snprintf(reader->path, sizeof reader->path, "%s", path);
    reader->offset = RECORD_HEADER_BYTES;
    reader->snapshot = malloc(sizeof *reader->snapshot);
    if (reader->snapshot == NULL) {
        record_reader_close(reader);
        return say(err, err_len, -ENOMEM, "out of memory");
    }

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        record_reader_close(reader);
        return say(err, err_len, -e, "cannot open %s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        record_reader_close(reader);
        return say(err, err_len, -EINVAL, "%s is not a regular file", path);
    }
    reader->size = (uint64_t)st.st_size;
    if (reader->size > 0) {
        void *map = mmap(NULL, reader->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            record_reader_close(reader);
            return say(err, err_len, -e, "mmap(%s): %s", path, strerror(e));
        }
        reader->map = map;
    }
    close(fd);                      /* the mapping outlives the descriptor */
    int rc = check_header(reader, err, err_len);
    if (rc < 0) {
        record_reader_close(reader);
        return rc;
    }
    *out = reader;
    return 0;
}

void record_reader_close(struct record_reader *reader)
{
    if (reader == NULL)
        return;
    if (reader->map != NULL)
        munmap((void *)reader->map, reader->size);
    free(reader->snapshot);
    free(reader->events);
    free(reader);
}

/* --- Payloads ----------------------------------------------------------- */

static void get_text(struct record_cursor *c, char *out, size_t width)
{
    record_get_bytes(c, out, width);
    out[width - 1] = '\0';        /* the file is not trusted to end it */
}

static void decode_server(struct record_cursor *c, struct record_server *out)
{
    memset(out, 0, sizeof *out);
    out->info.layout_version = record_get_u32(c);
    out->info.pid = (int)record_get_u32(c);
    out->info.port = (int)record_get_u32(c);
    out->info.start_realtime_ns = record_get_u64(c);
    out->info.start_mono_ns = record_get_u64(c);
    out->attached_ns = record_get_u64(c);
    get_text(c, out->info.name, PROBE_NAME_MAX);
    get_text(c, out->info.model, PROBE_MODEL_MAX);
}

static void decode_histogram(struct record_cursor *c, struct histogram *h)
{
    histogram_init(h);
    atomic_store_explicit(&h->count, record_get_varint(c), memory_order_relaxed);
    atomic_store_explicit(&h->sum, record_get_varint(c), memory_order_relaxed);
    atomic_store_explicit(&h->min, record_get_varint(c), memory_order_relaxed);
    atomic_store_explicit(&h->max, record_get_varint(c), memory_order_relaxed);
    uint64_t nonzero = record_get_varint(c);
    if (nonzero > HIST_BUCKETS) {
        c->bad = true;
        return;
    }
    uint64_t index = 0;
    for (uint64_t i = 0; i < nonzero && !c->bad; i++) {
        index += record_get_varint(c);
        uint64_t count = record_get_varint(c);
        if (index >= HIST_BUCKETS) {
            c->bad = true;
            return;
        }
        atomic_store_explicit(&h->buckets[index], count, memory_order_relaxed);
    }
}

static void decode_snapshot(struct record_cursor *c, struct probe_snapshot *out, int64_t *rss)
{
    memset(out, 0, offsetof(struct probe_snapshot, hists));
    out->taken_ns = record_get_u64(c);
    out->writer_alive = record_get_u8(c) != 0;
    *rss = record_get_signed(c);
    for (size_t i = 0; i < PROBE_GAUGE_COUNT; i++)
        out->gauges[i] = record_get_signed(c);
    for (size_t i = 0; i < PROBE_HIST_COUNT; i++)
        decode_histogram(c, &out->hists[i]);
    uint64_t threads = record_get_varint(c);
    if (threads > PROBE_MAX_RINGS) {
        c->bad = true;
        return;
    }
    out->thread_count = (size_t)threads;
    for (size_t i = 0; i < out->thread_count && !c->bad; i++) {
        struct probe_thread_info *t = &out->threads[i];
        memset(t, 0, sizeof *t);
        t->ring = (int)record_get_varint(c);
        t->tid = (int)(uint32_t)record_get_varint(c);
        get_text(c, t->role, PROBE_ROLE_MAX);
        t->state = record_get_u8(c);
        t->call = record_get_u8(c);
        t->route = record_get_u16(c);
        t->fd = (int32_t)record_get_signed(c);
        t->since_ns = record_get_u64(c);
        t->events_written = record_get_varint(c);
        if (t->ring < 0 || t->ring >= PROBE_MAX_RINGS)
            c->bad = true;
    }
}

static int decode_events(struct record_reader *reader, struct record_cursor *c, size_t *count)
{
    uint64_t t = record_get_u64(c);
    uint64_t n = record_get_varint(c);
    if (c->bad || n == 0 || n > RECORD_EVENTS_PER_RECORD) {
        c->bad = true;
        return 0;
    }
    if (n > reader->events_capacity) {
        struct probe_event_record *grown = realloc(reader->events, n * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        reader->events = grown;
        reader->events_capacity = n;
    }
    for (size_t i = 0; i < n && !c->bad; i++) {
        struct probe_event_record *ev = &reader->events[i];
        t += (uint64_t)record_get_signed(c);
        ev->t_ns = t;
        ev->kind = (uint16_t)record_get_varint(c);
        ev->ring = (uint16_t)record_get_varint(c);
        ev->fd = (int32_t)record_get_signed(c);
        ev->a = record_get_varint(c);
        ev->b = record_get_varint(c);
    }
    *count = (size_t)n;
    return 0;
}

/* --- Records ------------------------------------------------------------ */

static const char *type_name(unsigned type)
{
    static const char *const names[] = { "?", "SERVER", "SNAPSHOT", "EVENTS", "GAP", "GONE",
                                         "END" };
    return type < sizeof names / sizeof names[0] ? names[type] : "?";
}

int record_reader_next(struct record_reader *reader, struct record_item *out,
                       char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (reader->at_end)
        return 0;
    uint64_t offset = reader->offset;
    uint64_t left = reader->size - offset;
    if (left == 0) {
        reader->at_end = true;
        return 0;
    }
    /* Not even a whole frame, or a payload that runs past the end: the
     * recorder stopped in the middle of writing this record. */
    const uint8_t *frame = reader->map + offset;
    uint32_t length = left >= 8 ? record_load_u32(frame + 4) : 0;
    unsigned type = frame[0];
    if (left >= 8 && (type < RECORD_SERVER || type > RECORD_END || frame[2] != 0 ||
                      frame[3] != 0 || frame[1] >= RECORD_MAX_SERVERS))
        return say(err, err_len, -EBADMSG,
                   "%s: damaged record at offset %llu: type %u, server %u is not a record "
                   "this format has", reader->path, (unsigned long long)offset, type, frame[1]);
    if (left >= 8 && length > RECORD_MAX_PAYLOAD)
        return say(err, err_len, -EBADMSG,
                   "%s: damaged record at offset %llu: a %s record claiming %u bytes",
                   reader->path, (unsigned long long)offset, type_name(type), length);
    if (left < 8 || left < (uint64_t)RECORD_FRAME_BYTES + length) {
        reader->at_end = true;
        reader->truncated = true;
        reader->truncated_at = offset;
        return 0;
    }
    if (record_crc32(0, frame, 8 + (size_t)length) != record_load_u32(frame + 8 + length))
        return say(err, err_len, -EBADMSG,
                   "%s: damaged record at offset %llu: %s record of %u bytes fails its "
                   "checksum", reader->path, (unsigned long long)offset, type_name(type),
                   length);

    struct record_cursor c = { frame + 8, frame + 8 + length, false };
    out->type = (enum record_type)type;
    out->server = frame[1];
    out->offset = offset;
    int rc = 0;
    switch (out->type) {
    case RECORD_SERVER:
        decode_server(&c, &reader->server);
        out->server_info = &reader->server;
        break;
    case RECORD_SNAPSHOT:
        decode_snapshot(&c, reader->snapshot, &out->rss_bytes);
        out->snapshot = reader->snapshot;
        out->t_ns = reader->snapshot->taken_ns;
        break;
    case RECORD_EVENTS:
        rc = decode_events(reader, &c, &out->event_count);
        out->events = reader->events;
        break;
    case RECORD_GAP:
        out->t_ns = record_get_u64(&c);
        out->lost = record_get_u64(&c);
        break;
    case RECORD_GONE:
    case RECORD_END:
        out->t_ns = record_get_u64(&c);
        break;
    }
    if (rc < 0)
        return say(err, err_len, rc, "out of memory reading %s", reader->path);
    if (c.bad || c.at != c.end)
        return say(err, err_len, -EBADMSG,
                   "%s: damaged record at offset %llu: %s record of %u bytes does not "
                   "decode", reader->path, (unsigned long long)offset, type_name(type), length);
    reader->offset = offset + RECORD_FRAME_BYTES + length;
    if (out->type == RECORD_END)
        reader->saw_end = true;
    return 1;
}

int record_reader_seek(struct record_reader *reader, uint64_t offset)
{
    if (offset < RECORD_HEADER_BYTES || offset > reader->size)
        return -EINVAL;
    reader->offset = offset;
    reader->at_end = false;
    return 0;
}

bool record_reader_truncated(const struct record_reader *reader, uint64_t *offset)
{
    if (offset != NULL)
        *offset = reader->truncated ? reader->truncated_at : reader->size;
    return reader->truncated || !reader->saw_end;
}

bool record_reader_saw_end(const struct record_reader *reader)
{
    return reader->saw_end;
}

uint64_t record_reader_size(const struct record_reader *reader)
{
    return reader->size;
}

const char *record_reader_path(const struct record_reader *reader)
{
    return reader->path;
}
