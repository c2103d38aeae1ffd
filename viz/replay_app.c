/*
 * replay_app.c — the replay's key loop (see replay_app.h).
 *
 * Design.  The same shape as the live view's loop (view_app.c): one
 * thread sleeping in poll() on the keyboard until the next frame.  There
 * is nothing to drain: each frame asks replay_source_build() for the panes
 * at the timeline's position and paints them with the live view's
 * painter, so a replayed pane and a live one are drawn by the same code.
 * While playing, the position moves by the wall time since the last frame
 * times the speed; every other key moves it directly.
 *
 * The status bar is the timeline: where we are, a bar with the blocked-
 * loop moments marked '!', the speed, and the event we stand on.
 */
#include "replay_app.h"

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
#define TIMELINE_BAR_CELLS 32
#define SEEK_TEXT_MAX 16

static const char replay_help[] =
    "replay:\n"
    "space, p  play / pause\n"
    "+ -       faster / slower (1/1000x .. 10x)\n"
    "<- ->     one event of the focused pane back / forward\n"
    ", .       one loop turn back / forward\n"
    "N n       previous / next blocked-loop moment\n"
    "w         n N stop at every server's moments / the focused pane's only\n"
    "          (tab picks the pane; the bar's ! marks follow)\n"
    "g         seek: type seconds, Enter (Esc cancels)\n"
    "0-9       seek to 0% .. 90%;  Home End: start, end";

struct replay_app {
    struct replay_source *source;
    struct replay_position *pos;
    const char *file;
    struct view_options options;
    unsigned refresh_hz;
    size_t count;
    bool zoom, help, glossary, quit;
    bool seeking;                        /* typing a time after 'g' */
    char seek_text[SEEK_TEXT_MAX];
    char message[192];                   /* one-off note: "no more blocked moments" */
    struct view_pane *panes;
    struct view_painter *painter;
};

/* "[####|-----!----]": elapsed part, the position, blocked moments. */
static void timeline_bar(const struct replay_app *app, char *out, size_t len)
{
    uint64_t first = replay_first_ns(app->source), end = replay_source_end(app->source);
    uint64_t span = end > first ? end - first : 1;
    char cells[TIMELINE_BAR_CELLS + 1];
    size_t here = (size_t)((double)(app->pos->t_ns - first) / (double)span *
                           (TIMELINE_BAR_CELLS - 1));
    for (size_t i = 0; i < TIMELINE_BAR_CELLS; i++)
        cells[i] = i < here ? '#' : '-';
    size_t count;
    const struct replay_warning *warnings = replay_source_warnings(app->source, &count);
    for (size_t w = 0; w < count; w++) {
        if (!replay_warning_counts(app->pos, &warnings[w]))
            continue;
        uint64_t moment = replay_warning_moment(&warnings[w]);
        size_t cell = (size_t)((double)(moment - first) / (double)span * (TIMELINE_BAR_CELLS - 1));
        if (cell < TIMELINE_BAR_CELLS)
            cells[cell] = '!';
    }
    cells[here < TIMELINE_BAR_CELLS ? here : TIMELINE_BAR_CELLS - 1] = '|';
    cells[TIMELINE_BAR_CELLS] = '\0';
    snprintf(out, len, "[%s]", cells);
}

static void paint(struct replay_app *app)
{
    const struct replay_position *pos = app->pos;
    uint64_t start = replay_source_start(app->source);
    double now_s = ((double)pos->t_ns - (double)start) / 1e9;
    double end_s = ((double)replay_source_end(app->source) - (double)start) / 1e9;
    char top[256], status[512], bottom[256], bar[TIMELINE_BAR_CELLS + 4], where[96] = "";
    snprintf(top, sizeof top, " evlab view --replay %s  %zu server%s  budget %s", app->file,
             app->count, app->count == 1 ? "" : "s",
             format_duration(where, sizeof where, app->options.budget_ns));
    timeline_bar(app, bar, sizeof bar);
    size_t n;
    replay_source_events(app->source, pos->focus, &n);
    if (pos->on_event)
        snprintf(where, sizeof where, "event %zu of %zu in %s", pos->event_index + 1, n,
                 app->panes[pos->focus].name);
    else
        snprintf(where, sizeof where, "focus %s", app->panes[pos->focus].name);
    snprintf(status, sizeof status, " REPLAY %10.6f s / %.3f s %s %s %s  %s%s%s", now_s, end_s,
             bar, pos->playing ? "PLAYING" : "paused", replay_speed_name(pos->speed), where,
             app->message[0] ? "  -- " : "", app->message);
    if (app->seeking)
        snprintf(bottom, sizeof bottom, " seek to (seconds from the start): %s_   Enter go, "
                 "Esc cancel", app->seek_text);
    else
        snprintf(bottom, sizeof bottom, " space play  +/- speed  <- -> event  , . turn  n N "
                 "blocked (%s, w)  g seek  tab focus  ? help  q quit",
                 pos->warnings_in_focus ? "this pane" : "all");
    struct view_screen screen = {
        .panes = app->panes, .count = app->count, .focus = pos->focus, .zoom = app->zoom,
        .help = app->help, .glossary = app->glossary, .top = top, .status = status,
        .bottom = bottom,
        .help_extra = replay_help,
    };
    view_paint(app->painter, &screen);
}

static int build(struct replay_app *app, char *err, size_t err_len)
{
    const struct replay_position *pos = app->pos;
    if (replay_source_build(app->source, pos->t_ns, pos->focus, pos->on_event, pos->event_index,
                            &app->options, app->panes) < 0) {
        snprintf(err, err_len, "%s can no longer be read", app->file);
        return -EIO;
    }
    return 0;
}

/* build(), timed for --report. */
static int timed_build(struct replay_app *app, struct replay_app_stats *stats, char *err,
                       size_t err_len)
{
    uint64_t start = clock_now_ns();
    int rc = build(app, err, err_len);
    uint64_t took = clock_now_ns() - start;
    stats->builds++;
    stats->build_ns_total += took;
    if (took > stats->build_ns_max)
        stats->build_ns_max = took;
    return rc;
}

/* Keys while typing a time after 'g'. */
static void seek_key(struct replay_app *app, int key)
{
    size_t len = strlen(app->seek_text);
    if (key == 27) {                                  /* Esc */
        app->seeking = false;
    } else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
        char *end;
        double seconds = strtod(app->seek_text, &end);
        app->seeking = false;
        if (end == app->seek_text || *end != '\0' || seconds < 0) {
            snprintf(app->message, sizeof app->message, "not a time: '%s'", app->seek_text);
            return;
        }
        replay_seek(app->source, app->pos,
                    replay_source_start(app->source) + (uint64_t)(seconds * 1e9));
    } else if ((key == KEY_BACKSPACE || key == 127 || key == 8) && len > 0) {
        app->seek_text[len - 1] = '\0';
    } else if (((key >= '0' && key <= '9') || key == '.') && len + 1 < SEEK_TEXT_MAX) {
        app->seek_text[len] = (char)key;
        app->seek_text[len + 1] = '\0';
    }
}

static void handle_key(struct replay_app *app, int key)
{
    struct replay_position *pos = app->pos;
    app->message[0] = '\0';
    if (app->seeking) {
        seek_key(app, key);
        return;
    }
    uint64_t first = replay_first_ns(app->source), end = replay_source_end(app->source);
    switch (key) {
    case 'q': case 'Q':
        app->quit = true;
        break;
    case ' ': case 'p': case 'P':
        pos->playing = !pos->playing;
        if (pos->playing && pos->t_ns >= end)
            replay_seek(app->source, pos, replay_source_start(app->source));
        pos->on_event = false;
        break;
    case '+': case '=': case '>':
        replay_speed_change(pos, 1);
        break;
    case '-': case '_': case '<':
        replay_speed_change(pos, -1);
        break;
    case KEY_RIGHT:
        pos->playing = false;
        replay_step_event(app->source, pos, 1);
        break;
    case KEY_LEFT:
        pos->playing = false;
        replay_step_event(app->source, pos, -1);
        break;
    case '.':
        pos->playing = false;
        replay_step_turn(app->source, pos, 1);
        break;
    case ',':
        pos->playing = false;
        replay_step_turn(app->source, pos, -1);
        break;
    case 'n': case 'N': {
        int direction = key == 'n' ? 1 : -1;
        if (!replay_jump_warning(app->source, pos, direction))
            snprintf(app->message, sizeof app->message, "no blocked-loop moment%s%s %s this",
                     pos->warnings_in_focus ? " of " : "",
                     pos->warnings_in_focus ? app->panes[pos->focus].name : "",
                     direction > 0 ? "after" : "before");
        break;
    }
    case 'w': case 'W':
        pos->warnings_in_focus = !pos->warnings_in_focus;
        snprintf(app->message, sizeof app->message, "n N: blocked moments of %s%s",
                 pos->warnings_in_focus ? app->panes[pos->focus].name : "every server",
                 pos->warnings_in_focus ? " only (tab: another pane)" : "");
        break;
    case 'g': case 'G':
        app->seeking = true;
        app->seek_text[0] = '\0';
        pos->playing = false;
        break;
    case KEY_HOME:
        replay_seek(app->source, pos, first);
        break;
    case KEY_END:
        replay_seek(app->source, pos, end);
        break;
    case '\t':
        pos->focus = (pos->focus + 1) % app->count;
        pos->on_event = false;
        break;
    case 'z': case 'Z':
        app->zoom = !app->zoom;
        break;
    case '?': case 'h':
        view_help_cycle(&app->help, &app->glossary);
        break;
    default:
        if (key >= '0' && key <= '9')
            replay_seek(app->source, pos, first + (end - first) / 10 * (uint64_t)(key - '0'));
        break;
    }
}

int replay_app_run(struct replay_source *source, struct replay_position *pos, const char *file,
                   const struct view_app_config *config, struct replay_app_stats *stats,
                   char *err, size_t err_len)
{
    memset(stats, 0, sizeof *stats);
    struct replay_app app = {
        .source = source, .pos = pos, .file = file, .options = config->options,
        .refresh_hz = config->refresh_hz ? config->refresh_hz : VIEW_DEFAULT_REFRESH_HZ,
        .count = replay_source_count(source),
    };
    int rc = view_painter_open(app.count, &app.panes, &app.painter, err, err_len);
    if (rc < 0)
        return rc;
    uint64_t start = clock_now_ns(), last = start;
    uint64_t frame_ns = 1000 * MS / app.refresh_hz;
    bool dirty = true;
    while (!app.quit && rc == 0) {
        if (view_terminal_quit_requested(NULL))
            break;
        uint64_t now = clock_now_ns();
        if (config->duration_ns != 0 && now - start >= config->duration_ns)
            break;
        if (pos->playing) {
            replay_advance(source, pos, now - last);
            dirty = true;
        }
        last = now;
        if (dirty) {
            rc = timed_build(&app, stats, err, err_len);
            if (rc == 0)
                paint(&app);
            dirty = false;
        }
        /* Playing: the next frame; paused: only a key changes anything. */
        struct pollfd keyboard = { .fd = STDIN_FILENO, .events = POLLIN };
        poll(&keyboard, 1, pos->playing ? (int)(frame_ns / MS) : 1000);
        int key;
        while ((key = getch()) != ERR) {
            handle_key(&app, key);
            stats->keys++;
            dirty = true;
            /* A held key: answer each press with its own picture, so a
             * burst of steps is as exact (and as costly) as single ones. */
            if (!app.quit && !app.seeking && (rc = timed_build(&app, stats, err, err_len)) < 0)
                break;
        }
        if (!pos->playing && !dirty)
            dirty = true;                 /* a resize repaints once a second */
    }
    view_painter_close(app.panes, app.painter);
    return rc;
}
