/*
 * view_text.c — one pane as styled lines (see view_text.h).
 *
 * Design.  The pane is written top to bottom into a scratch list where
 * every line carries a priority (0 = must stay).  Then the lines that fit
 * are chosen: the largest priority P such that every line of priority <= P
 * fits, plus as many lines of priority P + 1 as still fit.  For the event
 * log those are the newest lines, for everything else the first ones.
 * Choosing after writing keeps the layout code a plain sequence of
 * "write this, then that", with no height arithmetic mixed into it.
 *
 * Texts are short on purpose: three panes side by side on a 160-column
 * projector leave 52 cells each, and everything must read from the back
 * of the room.
 */
#include "view_text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/routes.h"
#include "view_events.h"

/* Priorities, most important first. */
enum {
    PRIO_TITLE = 0,
    PRIO_ALERT = 1,
    PRIO_NUMBERS = 2,      /* queued and ready values */
    PRIO_HEADER = 3,
    PRIO_NOW = 4,          /* the handler running now */
    PRIO_SPARK = 5,
    PRIO_DETAIL = 6,
    PRIO_HIST = 7,
    PRIO_THREADS = 8,
    PRIO_LOG = 9,
    PRIO_COUNT
};

#define SCRATCH_LINES 160

/* Sparklines are scaled to their largest value, but never to less than
 * this: a strip of "1 ready" turns should look low, not full. */
#define SPARK_MIN_SCALE 4.0

static double spark_scale(const double *values, size_t count)
{
    double max = SPARK_MIN_SCALE;
    for (size_t i = 0; i < count; i++)
        if (values[i] > max)
            max = values[i];
    return max;
}

struct builder {
    struct view_line *lines;
    unsigned char prio[SCRATCH_LINES];
    size_t count;
    size_t width;
    enum view_charset charset;
};

/* Adds one line, clipped to the pane's width. */
static void add(struct builder *b, int prio, enum view_style style, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(struct builder *b, int prio, enum view_style style, const char *fmt, ...)
{
    if (b->count == SCRATCH_LINES)
        return;
    char raw[VIEW_LINE_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    struct view_line *line = &b->lines[b->count];
    format_clip(line->text, sizeof line->text, raw, b->width);
    line->style = style;
    b->prio[b->count] = (unsigned char)prio;
    b->count++;
}

/* Adds `text` word-wrapped to the width, continuation lines indented. */
static void add_wrapped(struct builder *b, int prio, enum view_style style, const char *text)
{
    size_t width = b->width > 4 ? b->width : 4;
    const char *p = text;
    bool first = true;
    while (*p != '\0') {
        size_t room = first ? width : width - 2;
        size_t len = strlen(p);
        size_t take = len;
        if (format_cells(p) > room) {
            /* Break at the last space that fits (bytes == cells here: the
             * texts we wrap are ASCII). */
            take = room;
            while (take > 0 && p[take] != ' ')
                take--;
            if (take == 0)
                take = room;
        }
        add(b, prio, style, "%s%.*s", first ? "" : "  ", (int)take, p);
        p += take;
        while (*p == ' ')
            p++;
        first = false;
    }
}

char *view_text_alert(const struct view_pane *pane, char *buf, size_t len)
{
    char d[32];
    const char *route = route_name((enum route_id)pane->alert_route);
    const char *call = probe_call_name((enum probe_call)pane->alert_call);
    format_duration(d, sizeof d, pane->alert_ns);
    if (pane->alert == VIEW_ALERT_NONE) {
        snprintf(buf, len, "%s", "");
        return buf;
    }
    if (pane->alert == VIEW_ALERT_SLOW) {
        snprintf(buf, len, "slow handler: %s for %s (fd %d); other threads keep serving",
                 route, d, pane->alert_fd);
        return buf;
    }
    bool loop = pane->kind == VIEW_KIND_LOOP;
    const char *who = loop ? "LOOP BLOCKED" : "SERVER BLOCKED";
    const char *victims = loop ? "no other connection is served" : "every other client waits";
    switch (pane->alert_cause) {
    case VIEW_CAUSE_HANDLER_IN_CALL:
        snprintf(buf, len, "%s for %s: handler %s (fd %d) waits in %s(); %s", who, d, route,
                 pane->alert_fd, call, victims);
        break;
    case VIEW_CAUSE_HANDLER_RUNNING:
        snprintf(buf, len, "%s for %s: handler %s (fd %d) is still running; %s", who, d, route,
                 pane->alert_fd, victims);
        break;
    case VIEW_CAUSE_WAITING_IN_CALL:
        snprintf(buf, len, "%s for %s: waiting in %s() on fd %d; %s", who, d, call,
                 pane->alert_fd, victims);
        break;
    }
    return buf;
}

char *view_text_thread_doing(const struct view_thread_row *row, char *buf, size_t len)
{
    const char *call = probe_call_name((enum probe_call)row->call);
    const char *route = route_name((enum route_id)row->route);
    if (row->group_count > 0) {
        if (row->state == PROBE_STATE_BLOCKED)
            snprintf(buf, len, "%7zu waiting in %s()", row->group_count, call);
        else if (row->state == PROBE_STATE_HANDLER)
            snprintf(buf, len, "%7zu running handler %s", row->group_count, route);
        else
            snprintf(buf, len, "%7zu %s", row->group_count,
                     probe_thread_state_name((enum probe_thread_state)row->state));
    } else if (row->state == PROBE_STATE_BLOCKED && row->in_handler) {
        snprintf(buf, len, "%s fd %d: in %s()", route, (int)row->handler_fd, call);
    } else if (row->state == PROBE_STATE_BLOCKED && row->fd >= 0) {
        snprintf(buf, len, "waits in %s() fd %d", call, (int)row->fd);
    } else if (row->state == PROBE_STATE_BLOCKED) {
        snprintf(buf, len, "waits in %s()", call);
    } else if (row->state == PROBE_STATE_HANDLER) {
        snprintf(buf, len, "running %s fd %d", route, (int)row->fd);
    } else {
        snprintf(buf, len, "idle");
    }
    return buf;
}

char *view_text_log_line(const struct view_log_line *line, char *buf, size_t len)
{
    char when[32], what[80], who[PROBE_ROLE_MAX + 16];
    snprintf(who, sizeof who, "%s/%u", line->role, (unsigned)line->event.ring);
    format_relative(when, sizeof when, line->delta_ns);
    view_event_describe(&line->event, what, sizeof what);
    snprintf(buf, len, "%10s %-10.10s %s", when, who, what);
    return buf;
}

/* --- The glossary ---------------------------------------------------------
 * One table of definitions, each tagged with the models whose panes show
 * that number, so a definition is written once and every model's page is
 * complete.  The words match the labels view_text_pane() writes. */

enum { FOR_BLOCKING = 1, FOR_THREADS = 2, FOR_LOOP = 4, FOR_OTHER = 8, FOR_ALL = 15 };

static const struct { unsigned models; const char *text; } glossary[] = {
    { FOR_ALL, "conns      client connections the server has open now" },
    { FOR_ALL, "threads    threads of the server (the loop: 1 + its workers)" },
    { FOR_ALL, "req/s      requests finished per second, over the last second" },
    { FOR_ALL, "mem        resident memory of the server process (/proc/PID/statm)" },
    { FOR_ALL, "handler p50/p99  how long handlers ran, requests of the last 5-10 s;" },
    { FOR_ALL, "           timed around the handler only: waiting before it is not in it" },
    { FOR_ALL, "dropped    events the server could not record (no free ring)" },
    { FOR_ALL, "missed     events this view read too late (the ring had wrapped)" },
    { FOR_ALL, "CLIENTS    what the load generators aimed at this server measured:" },
    { FOR_ALL, "  wait     from sending a request (or, with -R, from when it was due)" },
    { FOR_ALL, "           to its reply, last 5-10 s: every wait a client sees is in it" },
    { FOR_ALL, "  /s err   replies per second; failed requests since the view started" },
    { FOR_ALL, "  conns p99  connections they hold; p99 of each sample, as a sparkline" },
    { FOR_BLOCKING, "QUEUED     accept queue: connections the kernel took that the one" },
    { FOR_BLOCKING, "           thread has not accepted yet (TCP_INFO, sampled), plus" },
    { FOR_BLOCKING, "           pipelined requests waiting behind the one being served" },
    { FOR_BLOCKING, "READY      the one connection being served now (0 or 1)" },
    { FOR_THREADS, "QUEUED     accept queue (TCP_INFO, sampled) plus runnable threads:" },
    { FOR_THREADS, "           threads ready to run that wait for a CPU (state R in /proc)" },
    { FOR_THREADS, "READY      threads inside a handler right now" },
    { FOR_THREADS, "slow handler  one thread is past the budget; the others keep serving" },
    { FOR_LOOP, "READY      what the last poll()/epoll_wait() returned: fds with an event" },
    { FOR_LOOP, "last turns  READY of the newest loop turns, oldest first" },
    { FOR_LOOP, "QUEUED     ready events of this turn not dispatched yet, expired timers" },
    { FOR_LOOP, "           not run yet, and worker completions not yet delivered" },
    { FOR_LOOP, "turns/s    loop turns (wait, dispatch, timers) per second" },
    { FOR_LOOP, "busy       share of time the loop spends outside the wait" },
    { FOR_LOOP, "timer lag p99  how late timers fired: the loop was busy when they were due" },
    { FOR_LOOP, "timers, workers, jobs waiting  pending timers; the --workers pool" },
    { FOR_LOOP, "LOOP BLOCKED  the one thread has run a handler (or waited in a call)" },
    { FOR_LOOP, "           longer than the budget: no other connection is served" },
    { FOR_BLOCKING, "SERVER BLOCKED  the one thread waits on one client past the budget" },
    { FOR_OTHER, "QUEUED     every queue part the server publishes, added up" },
    { FOR_OTHER, "READY      the server's own READY gauge" },
    { FOR_ALL, "serving fd connections inside a handler (or being read) now" },
    { FOR_ALL, "HANDLER RUNTIME  finished handlers per decade of duration" },
    { FOR_ALL, "now        the longest handler running at this instant" },
    { FOR_ALL, "THREADS    each instrumented thread: what it does, for how long" },
    { FOR_ALL, "EVENTS     newest recorded events: time before now, thread, what" },
};

size_t view_text_glossary(enum view_kind kind, const char **lines, size_t max)
{
    unsigned want = kind == VIEW_KIND_BLOCKING ? FOR_BLOCKING
                    : kind == VIEW_KIND_THREADS ? FOR_THREADS
                    : kind == VIEW_KIND_LOOP ? FOR_LOOP : FOR_OTHER;
    size_t n = 0;
    for (size_t i = 0; i < sizeof glossary / sizeof glossary[0] && n < max; i++)
        if (glossary[i].models & want)
            lines[n++] = glossary[i].text;
    return n;
}

static const char *status_word(const struct view_pane *pane)
{
    switch (pane->status) {
    case VIEW_STATUS_WAITING: return "waiting";
    case VIEW_STATUS_LIVE:    return pane->stepping ? "STEP" : "live";
    case VIEW_STATUS_GONE:    return "GONE";
    case VIEW_STATUS_ERROR:   return "ERROR";
    }
    return "?";
}

static void write_title(struct builder *b, const struct view_pane *pane)
{
    char step[48] = "";
    if (pane->stepping && pane->step_has_event)
        snprintf(step, sizeof step, " %zu/%zu", pane->step_index + 1, pane->step_count);
    else if (pane->stepping)
        snprintf(step, sizeof step, " same instant");
    const char *model = pane->model[0] ? pane->model : "?";
    /* The name repeats model and pid in the demo: drop it first when the
     * pane is narrow, never the model or the state. */
    char title[VIEW_LINE_BYTES];
    snprintf(title, sizeof title, "%s  %s  port %d  pid %d  [%s%s]", model, pane->name,
             pane->port, pane->pid, status_word(pane), step);
    if (format_cells(title) > b->width)
        snprintf(title, sizeof title, "%s  port %d  pid %d  [%s%s]", model, pane->port,
                 pane->pid, status_word(pane), step);
    add(b, PRIO_TITLE, VIEW_STYLE_TITLE, "%s", title);
}

static void write_header(struct builder *b, const struct view_pane *pane)
{
    char rate[16], mem[24], conns[16], p50[16], p99[16], missed[16];
    format_count(rate, sizeof rate, (int64_t)(pane->requests_per_s + 0.5));
    format_count(conns, sizeof conns, pane->connections);
    if (pane->rss_bytes >= 0)
        format_bytes(mem, sizeof mem, pane->rss_bytes);
    else
        snprintf(mem, sizeof mem, "?");
    add(b, PRIO_HEADER, VIEW_STYLE_NORMAL, "conns %s  threads %lld  %s req/s  mem %s", conns,
        (long long)pane->threads, rate, mem);
    if (pane->hist_total > 0) {
        format_duration(p50, sizeof p50, pane->p50_ns);
        format_duration(p99, sizeof p99, pane->p99_ns);
    } else {
        snprintf(p50, sizeof p50, "-");
        snprintf(p99, sizeof p99, "-");
    }
    format_count(missed, sizeof missed, (int64_t)pane->view_missed);
    add(b, PRIO_HEADER, pane->events_dropped > 0 ? VIEW_STYLE_WARN : VIEW_STYLE_NORMAL,
        "handler p50 %s p99 %s  dropped %lld  missed %s", p50, p99,
        (long long)pane->events_dropped, missed);
}

/* What the clients wait, beside what the handlers took: on the loop a
 * /cpu handler makes every other client wait, and only this line says so. */
static void write_clients(struct builder *b, const struct view_pane *pane)
{
    if (!pane->clients_present)
        return;
    char p50[16], p99[16], rate[16], conns[16];
    format_count(rate, sizeof rate, (int64_t)(pane->client_rps + 0.5));
    format_count(conns, sizeof conns, pane->client_connections);
    if (pane->client_window_count > 0) {
        format_duration(p50, sizeof p50, pane->client_p50_ns);
        format_duration(p99, sizeof p99, pane->client_p99_ns);
    } else {
        snprintf(p50, sizeof p50, "-");
        snprintf(p99, sizeof p99, "-");
    }
    add(b, PRIO_NUMBERS, pane->client_errors > 0 ? VIEW_STYLE_WARN : VIEW_STYLE_HEADING,
        "CLIENTS wait p50 %s p99 %s  %s/s  err %lld", p50, p99, rate,
        (long long)pane->client_errors);
    if (pane->client_series_len > 0) {
        char spark[VIEW_LINE_BYTES];
        format_sparkline(spark, sizeof spark, pane->client_series, pane->client_series_len,
                         b->width > 20 ? b->width - 20 : 1, 0, b->charset);
        add(b, PRIO_SPARK, VIEW_STYLE_GOOD, "  %5s conns  p99 %s", conns, spark);
    }
}

static void write_queued(struct builder *b, const struct view_pane *pane)
{
    /* "QUEUED 3: accept queue 1, pipelined requests 2" */
    char parts[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < pane->part_count && used < sizeof parts; i++)
        used += (size_t)snprintf(parts + used, sizeof parts - used, "%s%s %lld",
                                 i ? ", " : "", pane->parts[i].label,
                                 (long long)pane->parts[i].value);
    char text[640];
    snprintf(text, sizeof text, "QUEUED %lld = %s", (long long)pane->queued, parts);
    add_wrapped(b, PRIO_NUMBERS, VIEW_STYLE_HEADING, text);
    if (pane->queued_series_len > 0) {
        char spark[VIEW_LINE_BYTES];
        format_sparkline(spark, sizeof spark, pane->queued_series, pane->queued_series_len,
                         b->width > 2 ? b->width - 2 : 1,
                         spark_scale(pane->queued_series, pane->queued_series_len), b->charset);
        add(b, PRIO_SPARK, VIEW_STYLE_GOOD, "  %s", spark);
    }
}

static void write_ready(struct builder *b, const struct view_pane *pane)
{
    char spark[VIEW_LINE_BYTES], fds[96] = "";
    if (pane->ready_is_turns) {
        char turns[16];
        format_count(turns, sizeof turns, (int64_t)(pane->turns_per_s + 0.5));
        add(b, PRIO_NUMBERS, VIEW_STYLE_HEADING, "READY %lld: what the last poll() returned",
            (long long)pane->ready);
        if (pane->turn_count > 0) {
            double values[VIEW_TURN_STRIP_LEN];
            for (size_t i = 0; i < pane->turn_count; i++)
                values[i] = pane->turns[i];
            format_sparkline(spark, sizeof spark, values, pane->turn_count,
                             b->width > 14 ? b->width - 14 : 1,
                             spark_scale(values, pane->turn_count), b->charset);
            add(b, PRIO_SPARK, VIEW_STYLE_GOOD, "  last turns %s", spark);
        }
        char busy[16], lag[16];
        if (pane->loop_utilisation >= 0)
            snprintf(busy, sizeof busy, "%.0f%%", pane->loop_utilisation * 100);
        else
            snprintf(busy, sizeof busy, "?");
        format_duration(lag, sizeof lag, pane->loop_lag_p99_ns);
        add(b, PRIO_DETAIL, VIEW_STYLE_DIM, "  %s turns/s  busy %s  timer lag p99 %s", turns,
            busy, lag);
        if (pane->workers > 0 || pane->timers_pending > 0)
            add(b, PRIO_DETAIL, VIEW_STYLE_DIM, "  timers %lld  workers %lld, jobs waiting %lld",
                (long long)pane->timers_pending, (long long)pane->workers,
                (long long)pane->work_queued);
        return;
    }
    size_t used = 0;
    for (size_t i = 0; i < pane->served_count && i < VIEW_SERVED_MAX && used < sizeof fds; i++)
        used += (size_t)snprintf(fds + used, sizeof fds - used, "%s%d", i ? " " : "",
                                 pane->served_fds[i]);
    if (pane->served_count > VIEW_SERVED_MAX && used < sizeof fds)
        snprintf(fds + used, sizeof fds - used, " ...");
    if (pane->kind == VIEW_KIND_THREADS)
        add(b, PRIO_NUMBERS, VIEW_STYLE_HEADING, "READY %lld: threads inside a handler",
            (long long)pane->ready);
    else
        add(b, PRIO_NUMBERS, VIEW_STYLE_HEADING, "READY %lld: connection being served",
            (long long)pane->ready);
    if (pane->ready_series_len > 0) {
        format_sparkline(spark, sizeof spark, pane->ready_series, pane->ready_series_len,
                         b->width > 2 ? b->width - 2 : 1,
                         spark_scale(pane->ready_series, pane->ready_series_len), b->charset);
        add(b, PRIO_SPARK, VIEW_STYLE_GOOD, "  %s", spark);
    }
    if (pane->served_count > 0)
        add(b, PRIO_DETAIL, VIEW_STYLE_DIM, "  serving fd %s", fds);
}

static void write_handlers(struct builder *b, const struct view_pane *pane)
{
    char count[16], d[16], p90[16], max[16];
    format_count(count, sizeof count, (int64_t)pane->hist_total);
    add(b, PRIO_HIST, VIEW_STYLE_HEADING, "HANDLER RUNTIME %s, %s requests",
        pane->window_recent ? "last 5-10 s" : "since start", count);
    uint64_t largest = 0;
    for (size_t i = 0; i < VIEW_HIST_ROWS; i++)
        if (pane->hist_rows[i] > largest)
            largest = pane->hist_rows[i];
    size_t bar_width = b->width > 16 ? b->width - 16 : 1;
    for (size_t i = 0; i < VIEW_HIST_ROWS; i++) {
        char bar[VIEW_LINE_BYTES], n[16];
        double fraction = largest > 0 ? (double)pane->hist_rows[i] / (double)largest : 0;
        format_bar(bar, sizeof bar, fraction, bar_width, b->charset);
        format_count(n, sizeof n, (int64_t)pane->hist_rows[i]);
        add(b, PRIO_HIST, VIEW_STYLE_GOOD, "%7s %s %6s", view_hist_row_labels[i], bar, n);
    }
    if (pane->hist_total > 0)
        add(b, PRIO_HIST, VIEW_STYLE_DIM, "  p90 %s  p99 %s  max %s",
            format_duration(p90, sizeof p90, pane->p90_ns),
            format_duration(d, sizeof d, pane->p99_ns),
            format_duration(max, sizeof max, pane->max_ns));
    if (pane->handler_running)
        add(b, PRIO_NOW, pane->alert == VIEW_ALERT_NONE ? VIEW_STYLE_NORMAL : VIEW_STYLE_WARN,
            "now: %s on fd %d running for %s%s",
            route_name((enum route_id)pane->longest_route), pane->longest_fd,
            format_duration(d, sizeof d, pane->longest_ns),
            pane->longest_blocked_in_call ? " (in a call)" : "");
    else
        add(b, PRIO_NOW, VIEW_STYLE_DIM, "now: no handler running");
}

static void write_threads(struct builder *b, const struct view_pane *pane)
{
    if (pane->threads_collapsed)
        add(b, PRIO_THREADS, VIEW_STYLE_HEADING, "THREADS %zu instrumented, by what they do",
            pane->thread_total);
    else
        add(b, PRIO_THREADS, VIEW_STYLE_HEADING, "THREADS %zu instrumented", pane->thread_total);
    /* Columns: role, tid, what it does (takes the spare width), how long. */
    int doing_width = (int)b->width - 1 - 8 - 1 - 7 - 2 - 1 - 9;
    if (doing_width < 10)
        doing_width = 10;
    for (size_t i = 0; i < pane->thread_row_count; i++) {
        const struct view_thread_row *row = &pane->thread_rows[i];
        enum view_style style = row->over_budget ? VIEW_STYLE_WARN
                                : row->state == PROBE_STATE_IDLE ? VIEW_STYLE_DIM
                                                                 : VIEW_STYLE_NORMAL;
        char doing[96];
        view_text_thread_doing(row, doing, sizeof doing);
        if (row->role[0] == '\0') {
            add(b, PRIO_THREADS, style, " %s", doing);
            continue;
        }
        char age[16];
        if (row->age_known)
            format_duration(age, sizeof age, row->age_ns);
        else
            snprintf(age, sizeof age, "?");
        add(b, PRIO_THREADS, style, " %-8.8s %7d  %-*.*s %9s", row->role, row->tid, doing_width,
            doing_width, doing, age);
    }
}

static void write_log(struct builder *b, const struct view_pane *pane)
{
    add(b, PRIO_LOG, VIEW_STYLE_HEADING, "EVENTS %s",
        pane->stepping ? "up to the current one (>)" : "newest last");
    for (size_t i = 0; i < pane->log_count; i++) {
        char text[200];
        view_text_log_line(&pane->log[i], text, sizeof text);
        add(b, PRIO_LOG, pane->log[i].current ? VIEW_STYLE_CURRENT : VIEW_STYLE_NORMAL, "%c%s",
            pane->log[i].current ? '>' : ' ', text);
    }
}

/* Writes every line the pane could show, in display order. */
static void write_all(struct builder *b, const struct view_pane *pane)
{
    write_title(b, pane);
    if (pane->status == VIEW_STATUS_ERROR) {
        add_wrapped(b, PRIO_ALERT, VIEW_STYLE_ALERT, pane->status_text);
        return;
    }
    if (pane->status == VIEW_STATUS_WAITING) {
        add(b, PRIO_ALERT, VIEW_STYLE_DIM, "waiting for the first snapshot...");
        return;
    }
    if (pane->status == VIEW_STATUS_GONE)
        add_wrapped(b, PRIO_ALERT, VIEW_STYLE_WARN, pane->status_text);
    if (pane->alert != VIEW_ALERT_NONE) {
        char alert[VIEW_TEXT_MAX + 64];
        add_wrapped(b, PRIO_ALERT,
                    pane->alert == VIEW_ALERT_BLOCKED ? VIEW_STYLE_ALERT : VIEW_STYLE_WARN,
                    view_text_alert(pane, alert, sizeof alert));
    }
    write_header(b, pane);
    write_clients(b, pane);
    write_queued(b, pane);
    write_ready(b, pane);
    write_handlers(b, pane);
    write_threads(b, pane);
    write_log(b, pane);
}

size_t view_text_full_height(const struct view_pane *pane, size_t width)
{
    struct builder b = { .width = width, .charset = VIEW_CHARSET_ASCII };
    b.lines = malloc(SCRATCH_LINES * sizeof *b.lines);
    if (b.lines == NULL)
        return 0;
    write_all(&b, pane);
    free(b.lines);
    return b.count;
}

size_t view_text_pane(const struct view_pane *pane, size_t width, size_t height,
                      enum view_charset charset, struct view_line *lines, size_t max_lines)
{
    if (height > max_lines)
        height = max_lines;
    if (height == 0 || width == 0)
        return 0;
    struct builder b = { .width = width, .charset = charset };
    b.lines = malloc(SCRATCH_LINES * sizeof *b.lines);
    if (b.lines == NULL)
        return 0;
    write_all(&b, pane);

    /* Find the largest priority whose lines (and all more important ones)
     * fit; the next priority fills what is left. */
    size_t per_prio[PRIO_COUNT] = { 0 };
    for (size_t i = 0; i < b.count; i++)
        per_prio[b.prio[i]]++;
    int keep = -1;
    size_t used = 0;
    while (keep + 1 < PRIO_COUNT && used + per_prio[keep + 1] <= height) {
        keep++;
        used += per_prio[keep];
    }
    int partial = keep + 1;
    size_t partial_room = height - used;
    /* Of the partly shown priority, skip the oldest log lines or keep the
     * first lines of anything else. */
    size_t skip = 0;
    if (partial == PRIO_LOG && partial < PRIO_COUNT && per_prio[partial] > partial_room)
        skip = per_prio[partial] - partial_room;

    size_t out = 0, seen_partial = 0;
    for (size_t i = 0; i < b.count && out < height; i++) {
        int prio = b.prio[i];
        if (prio == partial) {
            size_t position = seen_partial++;
            if (partial == PRIO_LOG) {
                /* Keep the heading (position 0) and the newest lines. */
                if (position != 0 && position < skip + 1)
                    continue;
                if (partial_room == 0)
                    continue;
            } else if (position >= partial_room) {
                continue;
            }
        } else if (prio > keep) {
            continue;
        }
        lines[out++] = b.lines[i];
    }
    free(b.lines);
    return out;
}

bool view_layout(int cols, int rows, size_t count, bool zoom, size_t focus,
                 struct view_rect *rects, bool *side_by_side, int *need_cols, int *need_rows)
{
    int n = (int)count;
    *side_by_side = false;
    *need_cols = VIEW_MIN_PANE_COLS;
    *need_rows = zoom ? VIEW_MIN_PANE_ROWS : VIEW_MIN_PANE_ROWS * n;
    for (int i = 0; i < n; i++)
        rects[i] = (struct view_rect){ 0, 0, 0, 0 };
    if (n == 0 || cols < *need_cols)
        return false;
    if (zoom) {
        if (rows < VIEW_MIN_PANE_ROWS)
            return false;
        rects[focus < count ? focus : 0] = (struct view_rect){ 0, 0, cols, rows };
        return true;
    }
    if (cols >= n * VIEW_SIDE_BY_SIDE_COLS + (n - 1) && rows >= VIEW_MIN_PANE_ROWS) {
        /* Side by side: equal widths, the leftover columns to the last. */
        *side_by_side = true;
        int width = (cols - (n - 1)) / n;
        for (int i = 0; i < n; i++) {
            int x = i * (width + 1);
            rects[i] = (struct view_rect){ x, 0, i == n - 1 ? cols - x : width, rows };
        }
        return true;
    }
    if (rows < *need_rows)
        return false;
    /* Stacked: equal heights, the leftover rows to the last. */
    int height = rows / n;
    for (int i = 0; i < n; i++) {
        int y = i * height;
        rects[i] = (struct view_rect){ 0, y, cols, i == n - 1 ? rows - y : height };
    }
    return true;
}
