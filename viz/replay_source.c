/*
 * replay_source.c — a recording loaded for replay (see replay_source.h).
 *
 * Design.  Opening reads the file once, front to back.  Events are kept
 * in memory, one sorted array per server (32 bytes an event: a minute of
 * the demo is a few tens of MiB).  Snapshots are not: each is ~60 KiB
 * decoded, so only its time and file offset are kept, and the full
 * snapshot is decoded again when needed.  While reading, a tracker per
 * server is fed every snapshot, exactly as the live view feeds it, and
 * copied every REPLAY_CHECKPOINT_SNAPSHOTS snapshots: those copies are
 * the checkpoints that make a jump backwards as cheap as one forwards.
 * Once loaded and sorted, each server's events are folded front to back
 * once (view_replay.h), with a copy of the fold kept every
 * REPLAY_FOLD_CHECKPOINT_EVENTS events, for the same reason: a picture
 * then folds only the events since the copy before it.
 *
 * Events from one recorder drain can reach the file a little out of time
 * order across rings (lib/probe/probe_reader.c); each server's array is
 * sorted once after loading (a stable sort, so one ring's order stays).
 */
#include "replay_source.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record_slices.h"
#include "view_replay.h"
#include "view_tracker.h"

/* Where one snapshot is in the file. */
struct snapshot_mark {
    uint64_t t_ns;
    uint64_t offset;
};

struct gap_mark {
    uint64_t t_ns, lost;
};

/* A tracker after the first `fed` snapshots of its server. */
struct checkpoint {
    size_t fed;
    struct view_tracker *tracker;
};

struct replay_server {
    bool known;
    uint16_t turn_kind;               /* the event that starts a turn here */
    struct record_server header;
    char roles[PROBE_MAX_RINGS][PROBE_ROLE_MAX];

    struct probe_event_record *events;
    size_t event_count, event_capacity;
    struct snapshot_mark *snapshots;
    size_t snapshot_count, snapshot_capacity;
    struct gap_mark *gaps;
    size_t gap_count, gap_capacity;
    struct checkpoint *checkpoints;
    size_t checkpoint_count, checkpoint_capacity;

    struct view_tracker *tracker;     /* the working copy */
    size_t fed;                       /* snapshots it has been fed */

    /* The fold of the events (view_replay.h): folds[k] holds the first
     * k * REPLAY_FOLD_CHECKPOINT_EVENTS events folded; `fold` is the
     * working copy, left where the last picture needed it. */
    struct view_replay *folds;
    size_t fold_count;
    struct view_replay *fold;
};

struct replay_source {
    struct record_reader *reader;     /* kept open to decode snapshots again */
    struct replay_server servers[RECORD_MAX_SERVERS];
    size_t count;                     /* highest server index + 1 */
    uint64_t start_ns, end_ns;
    struct replay_warning *warnings;
    size_t warning_count, warning_capacity;
    uint64_t budget_ns;
    bool truncated;
    uint64_t truncated_at, lost;
};

/* Grows *array (of `size`-byte items) to hold one more; false when out
 * of memory. */
static bool grow(void **array, size_t *capacity, size_t count, size_t size)
{
    if (count < *capacity)
        return true;
    size_t wanted = *capacity ? *capacity * 2 : 256;
    void *grown = realloc(*array, wanted * size);
    if (grown == NULL)
        return false;
    *array = grown;
    *capacity = wanted;
    return true;
}

static int out_of_memory(char *err, size_t err_len)
{
    snprintf(err, err_len, "out of memory loading the recording");
    return -ENOMEM;
}

/* --- Loading ------------------------------------------------------------ */

static int load_server(struct replay_source *source, const struct record_item *item)
{
    struct replay_server *server = &source->servers[item->server];
    if (server->known)
        return 0;
    server->known = true;
    server->header = *item->server_info;
    server->tracker = view_tracker_new(&server->header.info);
    if (server->tracker == NULL)
        return -ENOMEM;
    if (item->server + 1 > source->count)
        source->count = item->server + 1;
    if (source->start_ns == 0 || server->header.attached_ns < source->start_ns)
        source->start_ns = server->header.attached_ns;
    return 0;
}

static int save_checkpoint(struct replay_server *server)
{
    if (!grow((void **)&server->checkpoints, &server->checkpoint_capacity,
              server->checkpoint_count, sizeof *server->checkpoints))
        return -ENOMEM;
    struct view_tracker *copy = malloc(sizeof *copy);
    if (copy == NULL)
        return -ENOMEM;
    memcpy(copy, server->tracker, sizeof *copy);
    server->checkpoints[server->checkpoint_count++] =
        (struct checkpoint){ .fed = server->fed, .tracker = copy };
    return 0;
}

static int load_snapshot(struct replay_server *server, const struct record_item *item)
{
    if (!grow((void **)&server->snapshots, &server->snapshot_capacity, server->snapshot_count,
              sizeof *server->snapshots))
        return -ENOMEM;
    server->snapshots[server->snapshot_count++] =
        (struct snapshot_mark){ .t_ns = item->t_ns, .offset = item->offset };
    const struct probe_snapshot *snap = item->snapshot;
    for (size_t i = 0; i < snap->thread_count; i++)
        if (server->roles[snap->threads[i].ring][0] == '\0')
            snprintf(server->roles[snap->threads[i].ring], PROBE_ROLE_MAX, "%s",
                     snap->threads[i].role);
    /* A checkpoint before snapshots 0, 20, 40 ... are fed. */
    if (server->fed % REPLAY_CHECKPOINT_SNAPSHOTS == 0 && save_checkpoint(server) < 0)
        return -ENOMEM;
    view_tracker_add_snapshot(server->tracker, snap, item->rss_bytes);
    server->fed++;
    return 0;
}

static int load_events(struct replay_server *server, const struct record_item *item)
{
    size_t need = server->event_count + item->event_count;
    if (need > server->event_capacity) {
        size_t wanted = server->event_capacity ? server->event_capacity : 4096;
        while (wanted < need)
            wanted *= 2;
        struct probe_event_record *grown = realloc(server->events, wanted * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        server->events = grown;
        server->event_capacity = wanted;
    }
    memcpy(server->events + server->event_count, item->events,
           item->event_count * sizeof *item->events);
    server->event_count = need;
    return 0;
}

static int load_gap(struct replay_server *server, const struct record_item *item)
{
    if (!grow((void **)&server->gaps, &server->gap_capacity, server->gap_count,
              sizeof *server->gaps))
        return -ENOMEM;
    server->gaps[server->gap_count++] = (struct gap_mark){ .t_ns = item->t_ns, .lost = item->lost };
    return 0;
}

static int compare_events(const void *left, const void *right)
{
    const struct probe_event_record *a = left, *b = right;
    if (a->t_ns != b->t_ns)
        return a->t_ns < b->t_ns ? -1 : 1;
    return 0;
}

/* Whether events are already in time order (they nearly always are). */
static bool sorted(const struct probe_event_record *events, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (events[i].t_ns < events[i - 1].t_ns)
            return false;
    return true;
}

/* Sorts by time without reordering equal times (qsort is not stable,
 * and one ring's events must keep their order): a bottom-up merge sort
 * through a scratch array, O(n log n). */
static int sort_events(struct replay_server *server)
{
    if (sorted(server->events, server->event_count))
        return 0;
    struct probe_event_record *events = server->events;
    size_t n = server->event_count;
    struct probe_event_record *scratch = malloc(n * sizeof *scratch);
    if (scratch == NULL)
        return -ENOMEM;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t low = 0; low < n; low += 2 * width) {
            size_t mid = low + width < n ? low + width : n;
            size_t high = low + 2 * width < n ? low + 2 * width : n;
            size_t i = low, j = mid, k = low;
            while (i < mid && j < high)
                scratch[k++] = compare_events(&events[j], &events[i]) < 0 ? events[j++]
                                                                          : events[i++];
            while (i < mid)
                scratch[k++] = events[i++];
            while (j < high)
                scratch[k++] = events[j++];
        }
        memcpy(events, scratch, n * sizeof *events);
    }
    free(scratch);
    return 0;
}

/* Folds the server's events once, front to back, keeping a copy every
 * REPLAY_FOLD_CHECKPOINT_EVENTS events. */
static int fold_checkpoints(struct replay_server *server)
{
    size_t n = server->event_count;
    server->fold_count = n / REPLAY_FOLD_CHECKPOINT_EVENTS + 1;
    server->folds = malloc(server->fold_count * sizeof *server->folds);
    server->fold = malloc(sizeof *server->fold);
    if (server->folds == NULL || server->fold == NULL)
        return -ENOMEM;
    view_replay_begin(server->events, n, server->fold);
    for (size_t k = 0; k < server->fold_count; k++) {
        view_replay_continue(server->fold, server->events, n, k * REPLAY_FOLD_CHECKPOINT_EVENTS);
        memcpy(&server->folds[k], server->fold, sizeof *server->fold);
    }
    return 0;
}

/* The kind of event that starts a loop turn: "poll() returned" on a
 * server that has a poll loop, a handler start on the others. */
static uint16_t find_turn_kind(const struct replay_server *server)
{
    for (size_t i = 0; i < server->event_count; i++)
        if (server->events[i].kind == PROBE_EV_POLL_RETURN)
            return PROBE_EV_POLL_RETURN;
    return PROBE_EV_HANDLER_BEGIN;
}

/* --- Blocked-loop moments ------------------------------------------------ */

struct warning_scan {
    struct replay_source *source;
    size_t server;
    bool failed;
    uint64_t inner_wait_end[PROBE_MAX_RINGS];   /* of the last wait in a handler */
};

static void on_slice(void *context, const struct record_slice *slice)
{
    struct warning_scan *scan = context;
    struct replay_source *source = scan->source;
    struct replay_server *server = &source->servers[scan->server];
    /* Slices close inner first: remember where a wait inside a handler
     * ended, so the handler's moment can be shown inside that wait
     * ("handler waits in sleep()") rather than after it. */
    if (slice->kind == RECORD_SLICE_WAIT && slice->in_handler)
        scan->inner_wait_end[slice->ring] = slice->end_ns;
    if (!record_slice_blocks_server(slice, server->header.info.model, server->roles[slice->ring],
                                    source->budget_ns))
        return;
    uint64_t moment = slice->end_ns;
    uint64_t inner = scan->inner_wait_end[slice->ring];
    if (slice->kind == RECORD_SLICE_HANDLER && inner > slice->begin_ns + source->budget_ns &&
        inner <= slice->end_ns)
        moment = inner;
    moment = moment > slice->begin_ns ? moment - 1 : moment;
    if (!grow((void **)&source->warnings, &source->warning_capacity, source->warning_count,
              sizeof *source->warnings)) {
        scan->failed = true;
        return;
    }
    source->warnings[source->warning_count++] = (struct replay_warning){
        .server = scan->server, .begin_ns = slice->begin_ns, .end_ns = slice->end_ns,
        .moment_ns = moment, .fd = slice->fd, .ring = slice->ring };
}

static int compare_warnings(const void *left, const void *right)
{
    const struct replay_warning *a = left, *b = right;
    if (a->begin_ns != b->begin_ns)
        return a->begin_ns < b->begin_ns ? -1 : 1;
    return a->server < b->server ? -1 : a->server > b->server;
}

static int find_warnings(struct replay_source *source)
{
    struct record_slicer *slicer = malloc(sizeof *slicer);
    if (slicer == NULL)
        return -ENOMEM;
    for (size_t s = 0; s < source->count; s++) {
        struct replay_server *server = &source->servers[s];
        if (!server->known)
            continue;
        struct warning_scan scan = { .source = source, .server = s };
        record_slicer_init(slicer, on_slice, &scan);
        size_t gap = 0;
        for (size_t i = 0; i < server->event_count; i++) {
            /* A gap breaks every slice open across it (record_slices.h). */
            while (gap < server->gap_count && server->gaps[gap].t_ns <= server->events[i].t_ns) {
                record_slicer_gap(slicer);
                gap++;
            }
            record_slicer_event(slicer, &server->events[i]);
        }
        record_slicer_finish(slicer, server->event_count
                                         ? server->events[server->event_count - 1].t_ns : 0);
        if (scan.failed) {
            free(slicer);
            return -ENOMEM;
        }
    }
    free(slicer);
    qsort(source->warnings, source->warning_count, sizeof *source->warnings, compare_warnings);
    return 0;
}

/* --- Opening ------------------------------------------------------------ */

static int load(struct replay_source *source, char *err, size_t err_len)
{
    struct record_item item;
    int rc;
    while ((rc = record_reader_next(source->reader, &item, err, err_len)) > 0) {
        struct replay_server *server = &source->servers[item.server];
        if (item.type != RECORD_SERVER && item.type != RECORD_END && !server->known) {
            snprintf(err, err_len, "%s: record at offset %llu is for server %u, which has no "
                     "SERVER record before it", record_reader_path(source->reader),
                     (unsigned long long)item.offset, item.server);
            return -EBADMSG;
        }
        switch (item.type) {
        case RECORD_SERVER:   rc = load_server(source, &item); break;
        case RECORD_SNAPSHOT: rc = load_snapshot(server, &item); break;
        case RECORD_EVENTS:   rc = load_events(server, &item); break;
        case RECORD_GAP:      rc = load_gap(server, &item); source->lost += item.lost; break;
        default:              rc = 0; break;
        }
        if (rc < 0)
            return out_of_memory(err, err_len);
        if (item.t_ns > source->end_ns && item.type != RECORD_EVENTS)
            source->end_ns = item.t_ns;
    }
    if (rc < 0)
        return rc;
    source->truncated = record_reader_truncated(source->reader, &source->truncated_at);
    if (source->count == 0) {
        snprintf(err, err_len, "%s holds no recorded server", record_reader_path(source->reader));
        return -EINVAL;
    }
    for (size_t s = 0; s < source->count; s++) {
        struct replay_server *server = &source->servers[s];
        if (!server->known)
            continue;
        if (sort_events(server) < 0 || fold_checkpoints(server) < 0)
            return out_of_memory(err, err_len);
        server->turn_kind = find_turn_kind(server);
        if (server->event_count > 0 && server->events[server->event_count - 1].t_ns > source->end_ns)
            source->end_ns = server->events[server->event_count - 1].t_ns;
    }
    if (source->end_ns < source->start_ns)
        source->end_ns = source->start_ns;
    if (find_warnings(source) < 0)
        return out_of_memory(err, err_len);
    return 0;
}

int replay_source_open(struct replay_source **out, const char *path, uint64_t budget_ns,
                       char *err, size_t err_len)
{
    *out = NULL;
    struct replay_source *source = calloc(1, sizeof *source);
    if (source == NULL)
        return out_of_memory(err, err_len);
    source->budget_ns = budget_ns;
    int rc = record_reader_open(&source->reader, path, err, err_len);
    if (rc == 0)
        rc = load(source, err, err_len);
    if (rc < 0) {
        replay_source_close(source);
        return rc;
    }
    *out = source;
    return 0;
}

void replay_source_close(struct replay_source *source)
{
    if (source == NULL)
        return;
    for (size_t s = 0; s < RECORD_MAX_SERVERS; s++) {
        struct replay_server *server = &source->servers[s];
        free(server->events);
        free(server->snapshots);
        free(server->gaps);
        for (size_t c = 0; c < server->checkpoint_count; c++)
            free(server->checkpoints[c].tracker);
        free(server->checkpoints);
        free(server->folds);
        free(server->fold);
        view_tracker_free(server->tracker);
    }
    free(source->warnings);
    record_reader_close(source->reader);
    free(source);
}

/* --- Questions ---------------------------------------------------------- */

size_t replay_source_count(const struct replay_source *source)
{
    return source->count;
}

const struct probe_info *replay_source_info(const struct replay_source *source, size_t server)
{
    return &source->servers[server].header.info;
}

uint64_t replay_source_start(const struct replay_source *source)
{
    return source->start_ns;
}

uint64_t replay_source_end(const struct replay_source *source)
{
    return source->end_ns;
}

const struct probe_event_record *replay_source_events(const struct replay_source *source,
                                                      size_t server, size_t *count)
{
    *count = source->servers[server].event_count;
    return source->servers[server].events;
}

uint16_t replay_source_turn_kind(const struct replay_source *source, size_t server)
{
    return source->servers[server].turn_kind;
}

const struct replay_warning *replay_source_warnings(const struct replay_source *source,
                                                    size_t *count)
{
    *count = source->warning_count;
    return source->warnings;
}

bool replay_source_truncated(const struct replay_source *source, uint64_t *offset)
{
    if (offset != NULL)
        *offset = source->truncated_at;
    return source->truncated;
}

uint64_t replay_source_lost(const struct replay_source *source)
{
    return source->lost;
}

/* --- The picture at T ---------------------------------------------------- */

/* Snapshots taken at or before t_ns (at least one, so a pane always has
 * numbers: before the first snapshot it shows the first one's). */
static size_t snapshots_until(const struct replay_server *server, uint64_t t_ns)
{
    size_t low = 0, high = server->snapshot_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (server->snapshots[mid].t_ns <= t_ns)
            low = mid + 1;
        else
            high = mid;
    }
    return low > 0 ? low : (server->snapshot_count > 0 ? 1 : 0);
}

/* Brings the server's working tracker to exactly `want` snapshots fed:
 * from the nearest checkpoint when going back or far ahead, then one
 * snapshot at a time, each decoded again from the file. */
static int tracker_seek(struct replay_source *source, struct replay_server *server, size_t want)
{
    size_t checkpoint = want / REPLAY_CHECKPOINT_SNAPSHOTS;
    if (checkpoint >= server->checkpoint_count)
        checkpoint = server->checkpoint_count - 1;
    const struct checkpoint *c = &server->checkpoints[checkpoint];
    if (want < server->fed || c->fed > server->fed) {
        memcpy(server->tracker, c->tracker, sizeof *server->tracker);
        server->fed = c->fed;
    }
    char err[256];
    while (server->fed < want) {
        if (record_reader_seek(source->reader, server->snapshots[server->fed].offset) < 0)
            return -EIO;
        struct record_item item;
        if (record_reader_next(source->reader, &item, err, sizeof err) <= 0 ||
            item.type != RECORD_SNAPSHOT)
            return -EIO;
        view_tracker_add_snapshot(server->tracker, item.snapshot, item.rss_bytes);
        server->fed++;
    }
    return 0;
}

/* Brings the server's working fold to exactly `upto` events: onward from
 * where it stands when that is fewer than REPLAY_FOLD_CHECKPOINT_EVENTS
 * events away (stepping forward, playing), otherwise from the nearest
 * checkpoint at or before `upto` (stepping back, jumping).  Either way at
 * most REPLAY_FOLD_CHECKPOINT_EVENTS - 1 events are folded. */
static void fold_seek(struct replay_server *server, size_t upto)
{
    struct view_replay *fold = server->fold;
    if (fold->applied > upto || upto - fold->applied >= REPLAY_FOLD_CHECKPOINT_EVENTS) {
        size_t k = upto / REPLAY_FOLD_CHECKPOINT_EVENTS;
        assert(k < server->fold_count);
        memcpy(fold, &server->folds[k], sizeof *fold);
    }
    view_replay_continue(fold, server->events, server->event_count, upto);
}

/* Events the recording says were lost up to t_ns. */
static uint64_t lost_until(const struct replay_server *server, uint64_t t_ns)
{
    uint64_t lost = 0;
    for (size_t g = 0; g < server->gap_count && server->gaps[g].t_ns <= t_ns; g++)
        lost += server->gaps[g].lost;
    return lost;
}

int replay_source_build(struct replay_source *source, uint64_t t_ns, size_t focus,
                        bool on_event, size_t event_index, const struct view_options *options,
                        struct view_pane *panes)
{
    for (size_t s = 0; s < source->count; s++) {
        struct replay_server *server = &source->servers[s];
        if (!server->known || server->snapshot_count == 0) {
            memset(&panes[s], 0, sizeof panes[s]);
            snprintf(panes[s].name, sizeof panes[s].name, "%s",
                     server->known ? server->header.info.name : "?");
            continue;
        }
        int rc = tracker_seek(source, server, snapshots_until(server, t_ns));
        if (rc < 0)
            return rc;
        server->tracker->missed = lost_until(server, t_ns);
        bool here = on_event && s == focus && event_index < server->event_count;
        size_t index = here ? event_index : 0;
        fold_seek(server, view_step_upto(server->events, server->event_count, index, here, t_ns));
        view_build_step_from(server->tracker, server->events, server->event_count, index, here,
                             t_ns, server->fold, options, &panes[s]);
        /* Between events the title still says how far into this server's
         * recording T is ("STEP 1234/5678": the last event at or before
         * T), where the live step mode says "same instant". */
        size_t upto = view_events_until(server->events, server->event_count, t_ns);
        if (!here && upto > 0) {
            panes[s].step_has_event = true;
            panes[s].step_index = upto - 1;
        }
    }
    return 0;
}
