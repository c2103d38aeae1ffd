/*
 * view_source.c — attaching to servers and reading them (see
 * view_source.h).
 *
 * Design.  One struct per server holds its reader, its tracker and its
 * history; the source is just an array of them.  All reading happens on
 * the view's one thread, between paints, so nothing needs a lock.  The
 * snapshot buffer is allocated once per server because a snapshot is
 * about 56 KiB: too big for a stack frame we call 10 times a second.
 */
#include "view_source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct view_server {
    char name[PROBE_NAME_MAX];
    struct probe_reader *reader;      /* NULL when attaching failed */
    struct view_tracker *tracker;
    struct view_history history;
    struct probe_snapshot *snapshot;  /* scratch for view_source_sample() */
    bool gone;
};

struct view_source {
    struct view_server servers[VIEW_MAX_SERVERS];
    size_t count;
    struct probe_event_record *scratch;   /* VIEW_DRAIN_MAX_EVENTS records */
};

void view_source_close(struct view_source *source)
{
    if (source == NULL)
        return;
    for (size_t i = 0; i < source->count; i++) {
        struct view_server *server = &source->servers[i];
        probe_reader_close(server->reader);
        view_tracker_free(server->tracker);
        view_history_free(&server->history);
        free(server->snapshot);
    }
    free(source->scratch);
    free(source);
}

/* Attaches one server.  A layout-version mismatch is not fatal: the pane
 * will show the reader's message instead of numbers. */
static int server_open(struct view_server *server, const char *name, char *err, size_t err_len)
{
    snprintf(server->name, sizeof server->name, "%s", name);
    struct probe_info placeholder = { 0 };
    snprintf(placeholder.name, sizeof placeholder.name, "%s", name);
    server->tracker = view_tracker_new(&placeholder);
    server->snapshot = malloc(sizeof *server->snapshot);
    if (server->tracker == NULL || server->snapshot == NULL ||
        view_history_init(&server->history, VIEW_HISTORY_EVENTS) < 0) {
        snprintf(err, err_len, "out of memory attaching to '%s'", name);
        return -ENOMEM;
    }
    char message[256] = "";
    int rc = probe_reader_open(&server->reader, name, message, sizeof message);
    if (rc == -EPROTO) {
        server->reader = NULL;
        server->gone = true;
        view_tracker_set_error(server->tracker, message);
        return 0;
    }
    if (rc < 0) {
        server->reader = NULL;
        snprintf(err, err_len, "%s", message[0] ? message : strerror(-rc));
        return rc;
    }
    view_tracker_init(server->tracker, probe_reader_info(server->reader));
    return 0;
}

int view_source_open(struct view_source **out, char *const *names, size_t count,
                     char *err, size_t err_len)
{
    *out = NULL;
    if (count == 0 || count > VIEW_MAX_SERVERS) {
        snprintf(err, err_len, "between 1 and %d server names, please", VIEW_MAX_SERVERS);
        return -EINVAL;
    }
    struct view_source *source = calloc(1, sizeof *source);
    if (source == NULL) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    source->scratch = malloc(VIEW_DRAIN_MAX_EVENTS * sizeof *source->scratch);
    if (source->scratch == NULL) {
        free(source);
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        source->count = i + 1;        /* so close() frees this one too */
        int rc = server_open(&source->servers[i], names[i], err, err_len);
        if (rc < 0) {
            view_source_close(source);
            return rc;
        }
    }
    *out = source;
    return 0;
}

size_t view_source_drain(struct view_source *source)
{
    size_t total = 0;
    for (size_t i = 0; i < source->count; i++) {
        struct view_server *server = &source->servers[i];
        if (server->reader == NULL || server->gone)
            continue;
        uint64_t missed = 0;
        size_t n = probe_reader_events(server->reader, source->scratch, VIEW_DRAIN_MAX_EVENTS,
                                       &missed);
        view_history_push(&server->history, source->scratch, n);
        view_tracker_add_events(server->tracker, source->scratch, n, missed);
        total += n;
    }
    return total;
}

int64_t view_source_rss(int pid)
{
    char path[64], text[128];
    snprintf(path, sizeof path, "/proc/%d/statm", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    /* statm: size resident shared ... in pages. */
    long long size_pages, resident_pages;
    if (sscanf(text, "%lld %lld", &size_pages, &resident_pages) != 2)
        return -1;
    return (int64_t)resident_pages * sysconf(_SC_PAGESIZE);
}

void view_source_sample(struct view_source *source)
{
    for (size_t i = 0; i < source->count; i++) {
        struct view_server *server = &source->servers[i];
        if (server->reader == NULL || server->gone)
            continue;
        bool alive = probe_reader_writer_alive(server->reader);
        if (probe_reader_snapshot(server->reader, server->snapshot) < 0)
            continue;
        if (!alive)
            server->snapshot->writer_alive = false;
        int pid = probe_reader_info(server->reader)->pid;
        view_tracker_add_snapshot(server->tracker, server->snapshot,
                                  alive ? view_source_rss(pid) : server->tracker->rss_bytes);
        if (!server->snapshot->writer_alive) {
            /* Its last events, then it is done: the picture stays. */
            view_source_drain(source);
            char why[VIEW_TEXT_MAX];
            snprintf(why, sizeof why, "server gone: pid %d exited; this is its last picture",
                     pid);
            view_tracker_mark_gone(server->tracker, why);
            server->gone = true;
        }
    }
}

size_t view_source_count(const struct view_source *source)
{
    return source->count;
}

struct view_tracker *view_source_tracker(struct view_source *source, size_t index)
{
    return index < source->count ? source->servers[index].tracker : NULL;
}

const struct view_history *view_source_history(const struct view_source *source, size_t index)
{
    return index < source->count ? &source->servers[index].history : NULL;
}

bool view_source_any_alive(const struct view_source *source)
{
    for (size_t i = 0; i < source->count; i++)
        if (!source->servers[i].gone)
            return true;
    return false;
}
