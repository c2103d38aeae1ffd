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

#include "common/clock.h"

/* Load generators one pane adds up (a lesson runs at most a few per
 * server), and how often to look for new ones. */
#define VIEW_MAX_CLIENTS        8
#define CLIENT_SCAN_INTERVAL_NS 1000000000ull

struct view_server {
    char name[PROBE_NAME_MAX];
    struct probe_reader *reader;      /* NULL when attaching failed */
    struct view_tracker *tracker;
    struct view_history history;
    struct probe_snapshot *snapshot;  /* scratch for view_source_sample() */
    bool gone;
    /* The loads aimed at this server. */
    struct probe_reader *clients[VIEW_MAX_CLIENTS];
    struct view_client_totals *totals;  /* scratch: their sum */
    struct view_client_totals retired;  /* loads that ended, kept counted */
    bool any_client;
};

struct view_source {
    struct view_server servers[VIEW_MAX_SERVERS];
    size_t count;
    uint64_t next_client_scan_ns;
    struct probe_event_record *scratch;   /* VIEW_DRAIN_MAX_EVENTS records */
};

void view_source_close(struct view_source *source)
{
    if (source == NULL)
        return;
    for (size_t i = 0; i < source->count; i++) {
        struct view_server *server = &source->servers[i];
        probe_reader_close(server->reader);
        for (size_t c = 0; c < VIEW_MAX_CLIENTS; c++)
            probe_reader_close(server->clients[c]);
        free(server->totals);
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
    server->totals = malloc(sizeof *server->totals);
    histogram_init(&server->retired.latency);
    if (server->tracker == NULL || server->snapshot == NULL || server->totals == NULL ||
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

/* Attaches to load generators aimed at a server we show that we do not
 * read yet (same port, model "load", still running). */
static void clients_scan(struct view_source *source)
{
    struct probe_info infos[64];
    int found = probe_list(infos, 64);
    for (int i = 0; i < found && i < 64; i++) {
        if (!infos[i].alive || strcmp(infos[i].model, "load") != 0)
            continue;
        for (size_t s = 0; s < source->count; s++) {
            struct view_server *server = &source->servers[s];
            if (server->reader == NULL || server->gone ||
                infos[i].port != probe_reader_info(server->reader)->port)
                continue;
            size_t free_slot = VIEW_MAX_CLIENTS;
            bool known = false;
            for (size_t c = 0; c < VIEW_MAX_CLIENTS; c++) {
                if (server->clients[c] == NULL && free_slot == VIEW_MAX_CLIENTS)
                    free_slot = c;
                if (server->clients[c] != NULL &&
                    strcmp(probe_reader_info(server->clients[c])->name, infos[i].name) == 0)
                    known = true;
            }
            if (!known && free_slot < VIEW_MAX_CLIENTS &&
                probe_reader_open(&server->clients[free_slot], infos[i].name, NULL, 0) < 0)
                server->clients[free_slot] = NULL;
        }
    }
}

/* Adds one load's numbers into a sum. */
static void totals_add(struct view_client_totals *into, const struct probe_snapshot *snap)
{
    into->replies += snap->gauges[PROBE_GAUGE_REQUESTS_DONE];
    into->errors += snap->gauges[PROBE_GAUGE_CLIENT_ERRORS];
    histogram_merge(&into->latency, &snap->hists[PROBE_HIST_CLIENT_NS]);
}

/* Feeds the sum of a server's loads to its tracker.  `scratch` is a
 * snapshot buffer free for reuse. */
static void clients_sample(struct view_server *server, struct probe_snapshot *scratch)
{
    struct view_client_totals *totals = server->totals;
    memset(totals, 0, sizeof *totals);
    histogram_init(&totals->latency);
    for (size_t c = 0; c < VIEW_MAX_CLIENTS; c++) {
        struct probe_reader *reader = server->clients[c];
        if (reader == NULL || probe_reader_snapshot(reader, scratch) < 0)
            continue;
        server->any_client = true;
        if (!probe_reader_writer_alive(reader)) {
            /* Ended: its final numbers join the retired sum. */
            totals_add(&server->retired, scratch);
            probe_reader_close(reader);
            server->clients[c] = NULL;
            continue;
        }
        totals->loads++;
        totals->connections += scratch->gauges[PROBE_GAUGE_CONNECTIONS];
        totals_add(totals, scratch);
    }
    if (!server->any_client)
        return;
    totals->replies += server->retired.replies;
    totals->errors += server->retired.errors;
    histogram_merge(&totals->latency, &server->retired.latency);
    view_tracker_add_clients(server->tracker, totals, clock_now_ns());
}

void view_source_sample(struct view_source *source)
{
    uint64_t now = clock_now_ns();
    if (now >= source->next_client_scan_ns) {
        source->next_client_scan_ns = now + CLIENT_SCAN_INTERVAL_NS;
        clients_scan(source);
    }
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
        /* Last: the snapshot buffer is reused for the clients. */
        clients_sample(server, server->snapshot);
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
