/*
 * record_session.c — recording running servers (see record_session.h).
 *
 * Design.  One struct per server holds its reader; the session is an
 * array of them plus the file writer.  Everything happens on the caller's
 * thread, so nothing needs a lock.  A drain reads each server's rings in
 * batches until they have nothing more (bounded, so one flood cannot
 * starve the others' turn), writes the events as they came, and turns the
 * reader's "missed" count into a GAP record.  Then the file is flushed:
 * at most one drain interval of events is ever only in memory.
 *
 * The recorder reads the shared memory exactly as the live view does, so
 * it costs the server nothing: a reader cannot slow a writer down
 * (lib/probe/probe_reader.c).
 */
#include "record/record_session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

/* Batches one drain may read from one server before moving on. */
#define DRAIN_MAX_BATCHES 8

struct recorded_server {
    struct probe_reader *reader;
    bool gone;
};

struct record_session {
    struct record_writer *writer;
    struct recorded_server servers[RECORD_MAX_SERVERS];
    size_t count;
    struct probe_event_record *scratch;      /* RECORD_DRAIN_BATCH of them */
    struct probe_snapshot *snapshot;          /* ~56 KiB: not on the stack */
    struct record_session_stats stats;
};

static int out_of_memory(char *err, size_t err_len)
{
    snprintf(err, err_len, "out of memory");
    return -ENOMEM;
}

/* Resident memory of a process from /proc/PID/statm (the second number,
 * in pages), so replay can show what the live view showed; -1 if gone. */
static int64_t process_rss(int pid)
{
    char path[64], text[128];
    snprintf(path, sizeof path, "/proc/%d/statm", pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    long long pages_total = 0, pages_resident = 0;
    if (sscanf(text, "%lld %lld", &pages_total, &pages_resident) != 2)
        return -1;
    return (int64_t)pages_resident * sysconf(_SC_PAGESIZE);
}

int record_session_open(struct record_session **out, char *const *names, size_t count,
                        const char *path, char *err, size_t err_len)
{
    *out = NULL;
    if (count == 0 || count > RECORD_MAX_SERVERS) {
        snprintf(err, err_len, "between 1 and %d server names, please", RECORD_MAX_SERVERS);
        return -EINVAL;
    }
    struct record_session *session = calloc(1, sizeof *session);
    if (session == NULL)
        return out_of_memory(err, err_len);
    session->scratch = malloc(RECORD_DRAIN_BATCH * sizeof *session->scratch);
    session->snapshot = malloc(sizeof *session->snapshot);
    if (session->scratch == NULL || session->snapshot == NULL) {
        record_session_close(session, NULL, NULL, 0);
        return out_of_memory(err, err_len);
    }
    /* Attach to every server before creating the file, so a typo in a
     * name does not leave an empty recording behind. */
    for (size_t i = 0; i < count; i++) {
        session->count = i + 1;
        int rc = probe_reader_open(&session->servers[i].reader, names[i], err, err_len);
        if (rc < 0) {
            record_session_close(session, NULL, NULL, 0);
            return rc;
        }
    }
    int rc = record_writer_open(&session->writer, path, err, err_len);
    uint64_t now = clock_now_ns();
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = record_writer_server(session->writer, (unsigned)i,
                                  probe_reader_info(session->servers[i].reader), now);
    if (rc == 0)
        rc = record_session_sample(session, err, err_len);
    if (rc < 0) {
        record_session_close(session, NULL, NULL, 0);
        return rc;
    }
    session->stats.servers = count;
    *out = session;
    return 0;
}

/* Reads one server's new events into the file. */
static long drain_server(struct record_session *session, unsigned index)
{
    struct recorded_server *server = &session->servers[index];
    long total = 0;
    for (int batch = 0; batch < DRAIN_MAX_BATCHES; batch++) {
        uint64_t missed = 0;
        size_t n = probe_reader_events(server->reader, session->scratch, RECORD_DRAIN_BATCH,
                                       &missed);
        if (missed > 0) {
            /* The gap goes before the events read after it. */
            if (record_writer_gap(session->writer, index, clock_now_ns(), missed) < 0)
                return -ENOMEM;
            session->stats.lost += missed;
        }
        if (n > 0 && record_writer_events(session->writer, index, session->scratch, n) < 0)
            return -ENOMEM;
        total += (long)n;
        if (n < RECORD_DRAIN_BATCH)
            break;
    }
    session->stats.events += (uint64_t)total;
    return total;
}

long record_session_drain(struct record_session *session, char *err, size_t err_len)
{
    long total = 0;
    for (size_t i = 0; i < session->count; i++) {
        if (session->servers[i].gone)
            continue;
        long n = drain_server(session, (unsigned)i);
        if (n < 0)
            return out_of_memory(err, err_len);
        total += n;
    }
    int rc = record_writer_flush(session->writer, err, err_len);
    session->stats.bytes = record_writer_bytes(session->writer);
    return rc < 0 ? rc : total;
}

int record_session_sample(struct record_session *session, char *err, size_t err_len)
{
    size_t alive = 0;
    for (size_t i = 0; i < session->count; i++) {
        struct recorded_server *server = &session->servers[i];
        if (server->gone)
            continue;
        bool writer_alive = probe_reader_writer_alive(server->reader);
        if (!writer_alive && drain_server(session, (unsigned)i) < 0)
            return out_of_memory(err, err_len);
        probe_reader_snapshot(server->reader, session->snapshot);
        int pid = probe_reader_info(server->reader)->pid;
        int rc = record_writer_snapshot(session->writer, (unsigned)i, session->snapshot,
                                        writer_alive ? process_rss(pid) : -1);
        if (rc == 0 && !writer_alive) {
            rc = record_writer_gone(session->writer, (unsigned)i, clock_now_ns());
            server->gone = true;
        }
        if (rc < 0)
            return out_of_memory(err, err_len);
        session->stats.snapshots++;
        alive += !server->gone;
    }
    session->stats.alive = alive;
    int rc = record_writer_flush(session->writer, err, err_len);
    session->stats.bytes = record_writer_bytes(session->writer);
    return rc;
}

void record_session_stats(const struct record_session *session,
                          struct record_session_stats *out)
{
    *out = session->stats;
}

int record_session_close(struct record_session *session, struct record_session_stats *final,
                         char *err, size_t err_len)
{
    if (session == NULL)
        return 0;
    int rc = 0;
    if (session->writer != NULL) {
        /* The last events and a last picture, then END. */
        long drained = record_session_drain(session, err, err_len);
        if (drained >= 0)
            rc = record_session_sample(session, err, err_len);
        else
            rc = (int)drained;
        int close_rc = record_writer_close(session->writer, clock_now_ns(), err, err_len);
        if (rc == 0)
            rc = close_rc;
        session->stats.bytes += RECORD_FRAME_BYTES + 8;     /* the END record */
    }
    if (final != NULL)
        *final = session->stats;
    for (size_t i = 0; i < session->count; i++)
        probe_reader_close(session->servers[i].reader);
    free(session->scratch);
    free(session->snapshot);
    free(session);
    return rc;
}
