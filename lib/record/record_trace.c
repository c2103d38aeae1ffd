/*
 * record_trace.c — recording to Chrome Trace Event Format (see
 * record_trace.h).
 *
 * Design.  One pass over the recording feeds three small machines per
 * server: the slicer (record_slices.h) for thread slices, a request
 * tracker per connection for the async spans, and the counters taken from
 * snapshots and timer events.  They all append to one array of trace
 * events in memory.  Slices are only complete when they end, so the array
 * is not in time order; it is sorted by track (process, thread) and time,
 * parents before their children, and then printed.  Sorting in memory
 * limits the size of a trace to what fits in RAM, which at ~100 bytes per
 * trace event is far beyond what the trace viewer itself can open.
 *
 * A request is tracked per file descriptor: it opens at the first read
 * with bytes (or at a handler that starts with no read before it, as the
 * second of two pipelined requests does), and closes at the last write
 * after its handler ended, when the next request starts or the
 * connection closes.
 */
#include "record/record_trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "http/routes.h"
#include "probe/probe.h"
#include "record/record.h"
#include "record/record_slices.h"

/* One JSON object of the output, before printing: numbers only (about
 * 72 bytes), formatted when printed, so a trace of millions of slices
 * still fits in memory. */
struct trace_event {
    char phase;                   /* 'X', 'b', 'e', 'C', 'i' */
    uint8_t server;
    uint8_t slice_kind;           /* 'X': enum record_slice_kind */
    int32_t tid;                  /* ring; -1 for process-wide tracks */
    int32_t fd;                   /* 'X', 'b', 'i' */
    uint32_t conn, request;       /* 'b', 'e' */
    uint64_t ts_ns, dur_ns;       /* dur: 'X'; 'i': how long it blocked */
    uint64_t seq;                 /* order of creation: a stable sort key */
    const char *name;             /* static text */
    const char *detail;           /* 'C': the value's key; 'i': what blocked */
    double value;                 /* 'C' */
};

/* A connection's request in progress. */
struct conn_state {
    int32_t fd;
    bool used, open, handler_done;
    uint32_t conn, requests;
    uint16_t route;
    uint64_t begin_ns, handler_end_ns, last_write_ns;
};

#define TRACE_MAX_FDS 65536       /* fds above this are not followed as requests */

struct server_state {
    bool known;
    struct probe_info info;
    char roles[PROBE_MAX_RINGS][PROBE_ROLE_MAX];
    int tids[PROBE_MAX_RINGS];
    bool ring_seen[PROBE_MAX_RINGS];
    struct record_slicer *slicer;
    struct conn_state *conns;     /* TRACE_MAX_FDS, indexed by fd */
    uint32_t next_conn;
    uint64_t last_t_ns;
};

struct exporter {
    struct trace_event *events;
    size_t count, capacity;
    bool out_of_memory;
    uint64_t base_ns;             /* ts 0: the earliest moment in the trace */
    uint64_t budget_ns;
    unsigned current;             /* server whose events are being fed */
    struct server_state servers[RECORD_MAX_SERVERS];
    struct record_trace_stats *stats;
};

static struct trace_event *add_event(struct exporter *x, char phase, unsigned server,
                                     int32_t tid, uint64_t ts_ns, const char *name)
{
    if (x->count == x->capacity) {
        size_t capacity = x->capacity ? x->capacity * 2 : 4096;
        struct trace_event *grown = realloc(x->events, capacity * sizeof *grown);
        if (grown == NULL) {
            x->out_of_memory = true;
            return NULL;
        }
        x->events = grown;
        x->capacity = capacity;
    }
    struct trace_event *ev = &x->events[x->count];
    memset(ev, 0, sizeof *ev);
    ev->phase = phase;
    ev->server = (uint8_t)server;
    ev->tid = tid;
    ev->ts_ns = ts_ns;
    ev->seq = x->count++;
    ev->name = name;
    return ev;
}

/* --- Slices ------------------------------------------------------------- */

static const char *wait_name(uint64_t call)
{
    static const char *const names[PROBE_CALL_COUNT] = {
        "wait ?()", "wait accept()", "wait read()", "wait write()", "wait poll()",
        "wait sleep()", "wait for work", "wait lock"
    };
    return call < PROBE_CALL_COUNT ? names[call] : "wait ?()";
}

static void on_slice(void *context, const struct record_slice *slice)
{
    struct exporter *x = context;
    struct server_state *s = &x->servers[x->current];
    const char *name = "turn";
    if (slice->kind == RECORD_SLICE_WAIT)
        name = wait_name(slice->detail);
    else if (slice->kind == RECORD_SLICE_DISPATCH)
        name = "dispatch";
    else if (slice->kind == RECORD_SLICE_HANDLER)
        name = route_name((enum route_id)slice->detail);
    struct trace_event *ev = add_event(x, 'X', x->current, slice->ring, slice->begin_ns, name);
    if (ev == NULL)
        return;
    ev->dur_ns = slice->end_ns - slice->begin_ns;
    ev->slice_kind = (uint8_t)slice->kind;
    ev->fd = slice->fd;
    x->stats->slices++;

    if (record_slice_blocks_server(slice, s->info.model, s->roles[slice->ring], x->budget_ns)) {
        struct trace_event *warn = add_event(x, 'i', x->current, slice->ring,
                                             slice->begin_ns + x->budget_ns,
                                             strcmp(s->info.model, "loop") == 0
                                                 ? "LOOP BLOCKED" : "SERVER BLOCKED");
        if (warn == NULL)
            return;
        warn->detail = name;
        warn->fd = slice->fd;
        warn->dur_ns = slice->end_ns - slice->begin_ns;
        x->stats->warnings++;
    }
}

/* --- Requests ----------------------------------------------------------- */

static void request_close(struct exporter *x, struct conn_state *c)
{
    if (!c->open)
        return;
    c->open = false;
    if (!c->handler_done)
        return;                   /* never answered in the recording: no span */
    uint64_t end = c->last_write_ns > c->handler_end_ns ? c->last_write_ns : c->handler_end_ns;
    const char *name = route_name((enum route_id)c->route);
    /* One at a time: adding an event may move the array. */
    for (int edge = 0; edge < 2; edge++) {
        struct trace_event *ev = add_event(x, edge == 0 ? 'b' : 'e', x->current, -1,
                                           edge == 0 ? c->begin_ns : end, name);
        if (ev == NULL)
            return;
        ev->fd = c->fd;
        ev->conn = c->conn;
        ev->request = c->requests;
    }
    x->stats->requests++;
}

static void request_open(struct exporter *x, struct server_state *s, struct conn_state *c,
                         int32_t fd, uint64_t t_ns)
{
    if (!c->used) {
        *c = (struct conn_state){ .fd = fd, .used = true, .conn = ++s->next_conn };
    }
    c->open = true;
    c->handler_done = false;
    c->requests++;
    c->begin_ns = t_ns;
    c->last_write_ns = 0;
    c->route = 0;
}

static void track_request(struct exporter *x, struct server_state *s,
                          const struct probe_event_record *ev)
{
    if (ev->fd < 0 || ev->fd >= TRACE_MAX_FDS || s->conns == NULL)
        return;
    struct conn_state *c = &s->conns[ev->fd];
    switch (ev->kind) {
    case PROBE_EV_ACCEPT:
        request_close(x, c);
        *c = (struct conn_state){ .fd = ev->fd, .used = true, .conn = ++s->next_conn };
        break;
    case PROBE_EV_READ:
        if (ev->a == 0)
            break;
        if (c->open && c->handler_done)
            request_close(x, c);
        if (!c->open)
            request_open(x, s, c, ev->fd, ev->t_ns);
        break;
    case PROBE_EV_HANDLER_BEGIN:
        if (c->open && c->handler_done)
            request_close(x, c);
        if (!c->open)
            request_open(x, s, c, ev->fd, ev->t_ns);
        c->route = (uint16_t)ev->a;
        break;
    case PROBE_EV_HANDLER_END:
        if (c->open) {
            c->handler_done = true;
            c->handler_end_ns = ev->t_ns;
        }
        break;
    case PROBE_EV_WRITE:
        if (c->open && c->handler_done)
            c->last_write_ns = ev->t_ns;
        break;
    case PROBE_EV_CLOSE:
    case PROBE_EV_REJECT:
        request_close(x, c);
        c->used = false;
        break;
    default:
        break;
    }
}

/* --- Counters ----------------------------------------------------------- */

static void add_counter(struct exporter *x, unsigned server, uint64_t t_ns, const char *name,
                        const char *key, double value)
{
    struct trace_event *ev = add_event(x, 'C', server, -1, t_ns, name);
    if (ev == NULL)
        return;
    ev->detail = key;
    ev->value = value;
    x->stats->counters++;
}

static void on_snapshot(struct exporter *x, unsigned server, const struct probe_snapshot *snap)
{
    struct server_state *s = &x->servers[server];
    for (size_t i = 0; i < snap->thread_count; i++) {
        const struct probe_thread_info *t = &snap->threads[i];
        if (s->roles[t->ring][0] == '\0') {
            snprintf(s->roles[t->ring], PROBE_ROLE_MAX, "%s", t->role);
            s->tids[t->ring] = t->tid;
        }
    }
    const int64_t *g = snap->gauges;
    bool loop = strcmp(s->info.model, "loop") == 0;
    add_counter(x, server, snap->taken_ns, "connections", "open", (double)g[PROBE_GAUGE_CONNECTIONS]);
    add_counter(x, server, snap->taken_ns, "queued", "events", (double)g[PROBE_GAUGE_QUEUED]);
    add_counter(x, server, snap->taken_ns, "ready", "events",
                (double)(loop ? g[PROBE_GAUGE_LOOP_LAST_READY] : g[PROBE_GAUGE_READY]));
}

/* --- Events ------------------------------------------------------------- */

static void on_events(struct exporter *x, unsigned server, const struct probe_event_record *events,
                      size_t n)
{
    struct server_state *s = &x->servers[server];
    x->current = server;
    for (size_t i = 0; i < n; i++) {
        const struct probe_event_record *ev = &events[i];
        if (ev->ring < PROBE_MAX_RINGS)
            s->ring_seen[ev->ring] = true;
        if (ev->t_ns > s->last_t_ns)
            s->last_t_ns = ev->t_ns;
        record_slicer_event(s->slicer, ev);
        track_request(x, s, ev);
        if (ev->kind == PROBE_EV_TIMER_FIRE)
            add_counter(x, server, ev->t_ns, "loop lag", "ms", (double)ev->a / 1e6);
    }
    x->stats->events_read += n;
}

static int server_start(struct exporter *x, unsigned server, const struct record_server *info)
{
    struct server_state *s = &x->servers[server];
    if (s->known)
        return 0;
    s->known = true;
    s->info = info->info;
    s->slicer = malloc(sizeof *s->slicer);
    s->conns = calloc(TRACE_MAX_FDS, sizeof *s->conns);
    if (s->slicer == NULL || s->conns == NULL)
        return -ENOMEM;
    record_slicer_init(s->slicer, on_slice, x);
    return 0;
}

static void finish_servers(struct exporter *x)
{
    for (unsigned i = 0; i < RECORD_MAX_SERVERS; i++) {
        struct server_state *s = &x->servers[i];
        if (!s->known)
            continue;
        x->current = i;
        record_slicer_finish(s->slicer, s->last_t_ns);
        for (size_t fd = 0; fd < TRACE_MAX_FDS; fd++)
            if (s->conns[fd].open)
                request_close(x, &s->conns[fd]);
    }
}

/* --- Output ------------------------------------------------------------- */

/* Track order: server, thread (process-wide tracks first), time, then
 * the longer slice first so a parent precedes the child it contains. */
static int compare_events(const void *left, const void *right)
{
    const struct trace_event *a = left, *b = right;
    if (a->server != b->server)
        return a->server < b->server ? -1 : 1;
    if (a->tid != b->tid)
        return a->tid < b->tid ? -1 : 1;
    if (a->ts_ns != b->ts_ns)
        return a->ts_ns < b->ts_ns ? -1 : 1;
    uint64_t a_dur = a->phase == 'X' ? a->dur_ns : 0, b_dur = b->phase == 'X' ? b->dur_ns : 0;
    if (a_dur != b_dur)
        return a_dur > b_dur ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* JSON string contents: names come from a segment, which a student's
 * server fills; keep only plain printable characters. */
static void json_text(FILE *out, const char *text)
{
    for (const char *p = text; *p != '\0'; p++)
        fputc(*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ? '_' : *p, out);
}

static double micros(const struct exporter *x, uint64_t t_ns)
{
    return (double)(t_ns - x->base_ns) / 1000.0;
}

/* Thread tracks are numbered ring + 1: viewers treat tid 0 as special,
 * and the process-wide tracks (requests, counters) use it. */
static int trace_tid(int ring)
{
    return ring < 0 ? 0 : ring + 1;
}

static void print_metadata(FILE *out, const struct exporter *x, bool *first)
{
    for (unsigned i = 0; i < RECORD_MAX_SERVERS; i++) {
        const struct server_state *s = &x->servers[i];
        if (!s->known)
            continue;
        int pid = s->info.pid;
        fprintf(out, "%s\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,"
                     "\"args\":{\"name\":\"", *first ? "" : ",", pid);
        json_text(out, s->info.name);
        fprintf(out, " (");
        json_text(out, s->info.model);
        fprintf(out, ", port %d)\"}}", s->info.port);
        fprintf(out, ",\n{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%d,\"tid\":0,"
                     "\"args\":{\"sort_index\":%u}}", pid, i);
        *first = false;
        for (int r = 0; r < PROBE_MAX_RINGS; r++) {
            if (!s->ring_seen[r] && s->roles[r][0] == '\0')
                continue;
            fprintf(out, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,"
                         "\"args\":{\"name\":\"", pid, trace_tid(r));
            json_text(out, s->roles[r][0] ? s->roles[r] : "thread");
            fprintf(out, " (ring %d, tid %d)\"}}", r, s->tids[r]);
            fprintf(out, ",\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%d,"
                         "\"tid\":%d,\"args\":{\"sort_index\":%d}}", pid, trace_tid(r), r);
        }
    }
}

static const char *const slice_kind_names[] = { "turn", "wait", "dispatch", "handler" };

/* What follows "ts": the fields and args of the event's phase. */
static void print_details(FILE *out, const struct exporter *x, const struct trace_event *ev)
{
    switch (ev->phase) {
    case 'X':
        fprintf(out, ",\"dur\":%.3f,\"cat\":\"thread\",\"args\":{\"kind\":\"%s\"",
                (double)ev->dur_ns / 1000.0, slice_kind_names[ev->slice_kind & 3]);
        if (ev->slice_kind != RECORD_SLICE_TURN)
            fprintf(out, ",\"fd\":%d", (int)ev->fd);
        fputc('}', out);
        break;
    case 'b': case 'e':
        /* Keyed by server, connection and request number. */
        fprintf(out, ",\"cat\":\"request\",\"id\":\"s%u.c%u.r%u\"", ev->server, ev->conn,
                ev->request);
        if (ev->phase == 'b')
            fprintf(out, ",\"args\":{\"fd\":%d,\"connection\":%u,\"request\":%u}",
                    (int)ev->fd, ev->conn, ev->request);
        break;
    case 'i':
        fprintf(out, ",\"s\":\"t\",\"cat\":\"warning\",\"args\":{\"what\":\"");
        json_text(out, ev->detail);
        fprintf(out, "\",\"fd\":%d,\"blocked_ms\":%.3f,\"budget_ms\":%.3f}", (int)ev->fd,
                (double)ev->dur_ns / 1e6, (double)x->budget_ns / 1e6);
        break;
    case 'C':
        fprintf(out, ",\"args\":{\"%s\":%.3f}", ev->detail, ev->value);
        break;
    default:
        break;
    }
}

static void print_events(FILE *out, struct exporter *x, bool *first)
{
    for (size_t i = 0; i < x->count; i++) {
        const struct trace_event *ev = &x->events[i];
        int pid = x->servers[ev->server].info.pid;
        fprintf(out, "%s\n{\"ph\":\"%c\",\"name\":\"", *first ? "" : ",", ev->phase);
        json_text(out, ev->name);
        fprintf(out, "\",\"pid\":%d,\"tid\":%d,\"ts\":%.3f", pid, trace_tid(ev->tid),
                micros(x, ev->ts_ns));
        print_details(out, x, ev);
        fputc('}', out);
        *first = false;
        x->stats->trace_events++;
    }
}

int record_trace_export(const char *path, FILE *out, const struct record_trace_options *options,
                        struct record_trace_stats *stats, char *err, size_t err_len)
{
    memset(stats, 0, sizeof *stats);
    struct record_reader *reader;
    int rc = record_reader_open(&reader, path, err, err_len);
    if (rc < 0)
        return rc;
    struct exporter *x = calloc(1, sizeof *x);
    if (x == NULL) {
        record_reader_close(reader);
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    x->budget_ns = options->budget_ns;
    x->stats = stats;

    struct record_item item;
    while ((rc = record_reader_next(reader, &item, err, err_len)) > 0 && !x->out_of_memory) {
        switch (item.type) {
        case RECORD_SERVER:
            rc = server_start(x, item.server, item.server_info);
            break;
        case RECORD_SNAPSHOT:
            if (x->servers[item.server].known)
                on_snapshot(x, item.server, item.snapshot);
            break;
        case RECORD_EVENTS:
            if (x->servers[item.server].known)
                on_events(x, item.server, item.events, item.event_count);
            break;
        case RECORD_GAP:
            if (x->servers[item.server].known)
                record_slicer_gap(x->servers[item.server].slicer);
            stats->lost += item.lost;
            break;
        default:
            break;
        }
        if (rc < 0)
            break;
    }
    if (rc == 0) {
        stats->truncated = record_reader_truncated(reader, &stats->truncated_at);
        finish_servers(x);
        if (x->out_of_memory) {
            snprintf(err, err_len, "out of memory converting %s", path);
            rc = -ENOMEM;
        }
    } else if (rc == -ENOMEM || (rc > 0 && x->out_of_memory)) {
        snprintf(err, err_len, "out of memory converting %s", path);
        rc = -ENOMEM;
    }
    if (rc == 0) {
        /* Time 0 is the earliest thing in the trace: events read at
         * attach time can be older than the first snapshot, or younger. */
        x->base_ns = UINT64_MAX;
        for (size_t i = 0; i < x->count; i++)
            if (x->events[i].ts_ns < x->base_ns)
                x->base_ns = x->events[i].ts_ns;
        qsort(x->events, x->count, sizeof *x->events, compare_events);
        bool first = true;
        fprintf(out, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[");
        print_metadata(out, x, &first);
        print_events(out, x, &first);
        fprintf(out, "\n]}\n");
        if (ferror(out)) {
            snprintf(err, err_len, "writing the trace failed");
            rc = -EIO;
        }
    }
    for (unsigned i = 0; i < RECORD_MAX_SERVERS; i++) {
        free(x->servers[i].slicer);
        free(x->servers[i].conns);
    }
    free(x->events);
    free(x);
    record_reader_close(reader);
    return rc;
}
