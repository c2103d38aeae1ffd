/*
 * view_app.c — the key loop (see view_app.h).
 *
 * Design.  One thread, one loop, two deadlines: the next drain of the
 * servers' event rings (every VIEW_DRAIN_INTERVAL_MS) and the next paint
 * (1/refresh rate).  Between them the loop sleeps in poll() on the
 * keyboard, so a key is answered at once and an idle view costs nothing.
 * The view is itself a small event loop — the subject of the course.
 *
 * Pausing copies each tracker and each server's event history into a
 * "frozen" set.  While paused the live trackers keep being fed (the data
 * keeps being read, so nothing is lost on resume), but panes are built
 * from the frozen copies: the unchanged picture, or in step mode the
 * picture at recorded event N.  Step mode walks the focused pane's
 * recording; the other panes show their state at the same instant.
 */
#include "view_app.h"

#include <curses.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "view_format.h"
#include "view_paint.h"
#include "view_terminal.h"

#define MS 1000000ull

static const unsigned refresh_steps[] = { 1, 2, 5, 10, 20, 30, 60 };
#define REFRESH_STEP_COUNT (sizeof refresh_steps / sizeof refresh_steps[0])

/* The picture at the moment of pausing. */
struct frozen {
    struct view_tracker *trackers[VIEW_MAX_SERVERS];
    struct probe_event_record *events[VIEW_MAX_SERVERS];
    size_t counts[VIEW_MAX_SERVERS];
    uint64_t paused_at_ns;
};

/* The presenter's clock: one view runs at a time, and hooks read it from
 * their own key handlers, so it lives here rather than in struct app. */
static uint64_t paused_total_ns;      /* every finished pause, added up */
static uint64_t pause_began_ns;       /* 0: not paused now */

uint64_t view_app_presenter_now(void)
{
    uint64_t now = pause_began_ns != 0 ? pause_began_ns : clock_now_ns();
    return now - paused_total_ns;
}

struct app {
    struct view_source *source;
    const struct view_app_config *config;
    const struct view_app_hooks *hooks;
    struct view_options options;
    size_t count;
    size_t refresh_step;
    size_t focus;
    bool zoom, help, glossary, paused, stepping, quit;
    /* What the hooks said last; while paused it is shown unchanged. */
    char status[256], narration[VIEW_NARRATION_LINES * 256];
    size_t step_index;                /* in the focused pane's recording */
    uint64_t step_t_ns;
    struct frozen frozen;
    struct view_pane *panes;          /* count of them */
    struct view_painter *painter;
};

static void frozen_release(struct frozen *frozen)
{
    for (size_t i = 0; i < VIEW_MAX_SERVERS; i++) {
        free(frozen->trackers[i]);
        free(frozen->events[i]);
        frozen->trackers[i] = NULL;
        frozen->events[i] = NULL;
        frozen->counts[i] = 0;
    }
}

/* Copies every tracker and history; false when memory ran out. */
static bool frozen_take(struct app *app)
{
    struct frozen *frozen = &app->frozen;
    for (size_t i = 0; i < app->count; i++) {
        const struct view_history *history = view_source_history(app->source, i);
        frozen->trackers[i] = malloc(sizeof *frozen->trackers[i]);
        frozen->events[i] = malloc((history->count ? history->count : 1) *
                                   sizeof *frozen->events[i]);
        if (frozen->trackers[i] == NULL || frozen->events[i] == NULL) {
            frozen_release(frozen);
            return false;
        }
        memcpy(frozen->trackers[i], view_source_tracker(app->source, i),
               sizeof *frozen->trackers[i]);
        frozen->counts[i] = view_history_copy(history, frozen->events[i], history->count);
    }
    frozen->paused_at_ns = frozen->trackers[0]->snap.taken_ns;
    return true;
}

/* A frozen recording seen as a full history, for view_build_live(). */
static struct view_history frozen_history(const struct frozen *frozen, size_t i)
{
    return (struct view_history){ .slots = frozen->events[i], .capacity = frozen->counts[i],
                                  .count = frozen->counts[i], .next = 0,
                                  .total = frozen->counts[i] };
}

static void build_panes(struct app *app)
{
    for (size_t i = 0; i < app->count; i++) {
        if (!app->paused) {
            view_build_live(view_source_tracker(app->source, i),
                            view_source_history(app->source, i), &app->options,
                            &app->panes[i]);
        } else if (!app->stepping) {
            struct view_history history = frozen_history(&app->frozen, i);
            view_build_live(app->frozen.trackers[i], &history, &app->options, &app->panes[i]);
        } else if (i == app->focus) {
            view_build_step(app->frozen.trackers[i], app->frozen.events[i],
                            app->frozen.counts[i], app->step_index, true, app->step_t_ns,
                            &app->options, &app->panes[i]);
        } else {
            view_build_step(app->frozen.trackers[i], app->frozen.events[i],
                            app->frozen.counts[i], 0, false, app->step_t_ns, &app->options,
                            &app->panes[i]);
        }
    }
}

static void paint(struct app *app)
{
    char top[256], status[256], bottom[256];
    snprintf(top, sizeof top, " evlab view  %zu server%s  %u Hz  budget %s%s", app->count,
             app->count == 1 ? "" : "s", refresh_steps[app->refresh_step],
             format_duration(bottom, sizeof bottom, app->options.budget_ns),
             app->paused ? "   PAUSED" : "");
    if (app->stepping) {
        char when[32];
        size_t n = app->frozen.counts[app->focus];
        format_duration(when, sizeof when, app->frozen.paused_at_ns > app->step_t_ns
                                               ? app->frozen.paused_at_ns - app->step_t_ns : 0);
        snprintf(bottom, sizeof bottom,
                 " STEP event %zu of %zu in %s, %s before the pause   <- -> space step  "
                 "p resume  q quit", n ? app->step_index + 1 : 0, n,
                 app->panes[app->focus].name, when);
    } else if (app->paused) {
        snprintf(bottom, sizeof bottom,
                 " paused: <- -> or space step through recorded events   p resume  q quit");
    } else {
        snprintf(bottom, sizeof bottom,
                 " q quit  p pause  tab focus  z zoom  +/- refresh  ? help");
    }
    bool has_status = app->hooks != NULL && app->hooks->status != NULL;
    bool has_narration = app->hooks != NULL && app->hooks->narration != NULL;
    /* Paused, the bars keep what they said: the presenter froze it all. */
    if (has_status && !app->paused)
        app->hooks->status(app->hooks->context, app->status, sizeof app->status);
    if (has_narration && !app->paused)
        app->hooks->narration(app->hooks->context, app->narration, sizeof app->narration);
    snprintf(status, sizeof status, "%s", app->status);
    struct view_screen screen = {
        .panes = app->panes, .count = app->count, .focus = app->focus, .zoom = app->zoom,
        .help = app->help, .glossary = app->glossary, .top = top,
        .status = has_status ? status : NULL,
        .bottom = bottom, .help_extra = app->hooks != NULL ? app->hooks->help_extra : NULL,
        .narration = has_narration && app->narration[0] ? app->narration : NULL,
    };
    view_paint(app->painter, &screen);
}

/* Moves the step cursor by `delta` events of the focused pane. */
static void step_move(struct app *app, long delta)
{
    if (!app->paused)
        return;
    size_t n = app->frozen.counts[app->focus];
    if (n == 0)
        return;
    if (!app->stepping) {
        /* Enter step mode on the newest recorded event. */
        app->stepping = true;
        app->step_index = n - 1;
        if (delta > 0)
            delta = 0;
    }
    long target = (long)app->step_index + delta;
    if (target < 0)
        target = 0;
    if (target >= (long)n)
        target = (long)n - 1;
    app->step_index = (size_t)target;
    app->step_t_ns = app->frozen.events[app->focus][app->step_index].t_ns;
}

static void toggle_pause(struct app *app)
{
    if (app->paused) {
        frozen_release(&app->frozen);
        app->paused = false;
        app->stepping = false;
        paused_total_ns += clock_now_ns() - pause_began_ns;
        pause_began_ns = 0;
        return;
    }
    app->paused = frozen_take(app);
    if (app->paused)
        pause_began_ns = clock_now_ns();
}

/* Focus moves on; in step mode the new pane's cursor goes to its last
 * event at or before the current instant. */
static void focus_next(struct app *app)
{
    app->focus = (app->focus + 1) % app->count;
    if (app->stepping) {
        size_t n = app->frozen.counts[app->focus];
        size_t k = view_events_until(app->frozen.events[app->focus], n, app->step_t_ns);
        if (n == 0) {
            app->stepping = false;
            return;
        }
        app->step_index = k > 0 ? k - 1 : 0;
        app->step_t_ns = app->frozen.events[app->focus][app->step_index].t_ns;
    }
}

static void handle_key(struct app *app, int key)
{
    switch (key) {
    case 'q': case 'Q':
        app->quit = true;
        break;
    case 'p': case 'P':
        toggle_pause(app);
        break;
    case KEY_RIGHT: case ' ':
        step_move(app, 1);
        break;
    case KEY_LEFT:
        step_move(app, -1);
        break;
    case KEY_NPAGE:
        step_move(app, 100);
        break;
    case KEY_PPAGE:
        step_move(app, -100);
        break;
    case KEY_HOME:
        step_move(app, -(long)VIEW_HISTORY_EVENTS);
        break;
    case KEY_END:
        step_move(app, (long)VIEW_HISTORY_EVENTS);
        break;
    case '\t':
        focus_next(app);
        break;
    case 'z': case 'Z':
        app->zoom = !app->zoom;
        break;
    case '?': case 'h':
        view_help_cycle(&app->help, &app->glossary);
        break;
    case '+': case '=':
        if (app->refresh_step + 1 < REFRESH_STEP_COUNT)
            app->refresh_step++;
        break;
    case '-': case '_':
        if (app->refresh_step > 0)
            app->refresh_step--;
        break;
    case KEY_RESIZE:
        break;                        /* the next paint lays out again */
    default:
        if (app->hooks != NULL && app->hooks->key != NULL)
            app->hooks->key(app->hooks->context, key);
        break;
    }
}

static size_t nearest_refresh_step(unsigned hz)
{
    size_t best = 0;
    for (size_t i = 0; i < REFRESH_STEP_COUNT; i++)
        if (refresh_steps[i] <= hz)
            best = i;
    return best;
}

int view_app_run(struct view_source *source, const struct view_app_config *config,
                 const struct view_app_hooks *hooks, struct view_app_stats *stats,
                 char *err, size_t err_len)
{
    memset(stats, 0, sizeof *stats);
    struct app app = {
        .source = source, .config = config, .hooks = hooks, .options = config->options,
        .count = view_source_count(source),
        .refresh_step = nearest_refresh_step(config->refresh_hz),
    };
    int rc = view_painter_open(app.count, &app.panes, &app.painter, err, err_len);
    if (rc < 0)
        return rc;

    uint64_t start = clock_now_ns();
    paused_total_ns = 0;
    pause_began_ns = 0;
    uint64_t next_drain = start, next_paint = start;
    while (!app.quit) {
        int quit_signal;
        if (view_terminal_quit_requested(&quit_signal)) {
            stats->quit_signal = quit_signal;
            break;
        }
        uint64_t now = clock_now_ns();
        /* --duration counts the presenter's time: a pause holds it too. */
        if (config->duration_ns != 0 && view_app_presenter_now() - start >= config->duration_ns)
            break;
        if (now >= next_drain) {
            stats->events += view_source_drain(source);
            stats->drains++;
            /* If we fell behind, do not try to catch up with a burst. */
            next_drain += VIEW_DRAIN_INTERVAL_MS * MS;
            if (next_drain <= now)
                next_drain = now + VIEW_DRAIN_INTERVAL_MS * MS;
            if (hooks != NULL && hooks->tick != NULL &&
                !hooks->tick(hooks->context, view_app_presenter_now()))
                break;
        }
        if (now >= next_paint) {
            view_source_sample(source);
            build_panes(&app);
            paint(&app);
            stats->paints++;
            next_paint += 1000 * MS / refresh_steps[app.refresh_step];
            if (next_paint <= now)
                next_paint = now + 1000 * MS / refresh_steps[app.refresh_step];
        }
        now = clock_now_ns();
        uint64_t wake = next_drain < next_paint ? next_drain : next_paint;
        int timeout_ms = wake > now ? (int)((wake - now + MS - 1) / MS) : 0;
        struct pollfd keyboard = { .fd = STDIN_FILENO, .events = POLLIN };
        /* Sleep until a key, a deadline or a signal (EINTR, e.g. a resize:
         * curses then hands us KEY_RESIZE).  Either way, read the keys. */
        poll(&keyboard, 1, timeout_ms);
        int key;
        bool any = false;
        while ((key = getch()) != ERR) {
            handle_key(&app, key);
            any = true;
        }
        /* Answer a key at once rather than at the next paint. */
        if (any && !app.quit) {
            build_panes(&app);
            paint(&app);
            stats->paints++;
        }
    }
    stats->elapsed_ns = clock_now_ns() - start;
    pause_began_ns = 0;
    paused_total_ns = 0;
    view_painter_close(app.panes, app.painter);
    frozen_release(&app.frozen);
    return 0;
}
