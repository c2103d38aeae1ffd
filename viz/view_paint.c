/*
 * view_paint.c — panes to the screen (see view_paint.h).
 *
 * Design.  One frame is: erase, bars, each pane's lines at its rectangle,
 * separators, the help overlay, then one refresh().  erase() plus a full
 * redraw looks wasteful but is not: curses compares the new picture with
 * what the terminal shows and sends only the cells that changed, so a
 * frame that changes a few numbers costs a few bytes of output.
 */
#include "view_paint.h"

#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view_terminal.h"
#include "view_text.h"

#define MAX_ROWS 512

struct view_painter {
    struct view_line *lines;      /* MAX_ROWS lines of scratch */
    bool colour;
    enum view_charset charset;
};

/* Colour pair numbers (0 is the terminal's default). */
enum {
    PAIR_TITLE = 1, PAIR_TITLE_FOCUS, PAIR_HEADING, PAIR_GOOD, PAIR_WARN, PAIR_ALERT,
    PAIR_CURRENT, PAIR_BAR
};

struct view_painter *view_painter_new(void)
{
    struct view_painter *painter = calloc(1, sizeof *painter);
    if (painter == NULL)
        return NULL;
    painter->lines = malloc(MAX_ROWS * sizeof *painter->lines);
    if (painter->lines == NULL) {
        free(painter);
        return NULL;
    }
    painter->colour = view_terminal_has_colour();
    painter->charset = view_terminal_charset();
    if (painter->colour) {
        /* -1 is the terminal's own background (use_default_colors()). */
        init_pair(PAIR_TITLE, COLOR_WHITE, COLOR_BLUE);
        init_pair(PAIR_TITLE_FOCUS, COLOR_BLACK, COLOR_CYAN);
        init_pair(PAIR_HEADING, COLOR_CYAN, -1);
        init_pair(PAIR_GOOD, COLOR_GREEN, -1);
        init_pair(PAIR_WARN, COLOR_YELLOW, -1);
        init_pair(PAIR_ALERT, COLOR_WHITE, COLOR_RED);
        init_pair(PAIR_CURRENT, COLOR_BLACK, COLOR_YELLOW);
        init_pair(PAIR_BAR, COLOR_BLACK, COLOR_WHITE);
    }
    return painter;
}

void view_painter_free(struct view_painter *painter)
{
    if (painter == NULL)
        return;
    free(painter->lines);
    free(painter);
}

int view_painter_open(size_t pane_count, struct view_pane **panes,
                      struct view_painter **painter, char *err, size_t err_len)
{
    *painter = NULL;
    *panes = calloc(pane_count > 0 ? pane_count : 1, sizeof **panes);
    if (*panes == NULL) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    int rc = view_terminal_init(err, err_len);
    if (rc == 0) {
        *painter = view_painter_new();
        if (*painter == NULL) {
            view_terminal_restore();
            snprintf(err, err_len, "out of memory");
            rc = -ENOMEM;
        }
    }
    if (rc < 0) {
        free(*panes);
        *panes = NULL;
    }
    return rc;
}

void view_painter_close(struct view_pane *panes, struct view_painter *painter)
{
    /* The terminal first: whatever happens next, the user gets it back. */
    view_terminal_restore();
    view_painter_free(painter);
    free(panes);
}

void view_help_cycle(bool *help, bool *glossary)
{
    if (*glossary) {
        *glossary = false;
    } else if (*help) {
        *help = false;
        *glossary = true;
    } else {
        *help = true;
    }
}

/* The attributes of a style, in colour or in monochrome. */
static attr_t style_attr(const struct view_painter *painter, enum view_style style, bool focus)
{
    if (painter->colour) {
        switch (style) {
        case VIEW_STYLE_TITLE:
            return COLOR_PAIR(focus ? PAIR_TITLE_FOCUS : PAIR_TITLE) | A_BOLD;
        case VIEW_STYLE_HEADING: return COLOR_PAIR(PAIR_HEADING) | A_BOLD;
        case VIEW_STYLE_DIM:     return A_DIM;
        case VIEW_STYLE_GOOD:    return COLOR_PAIR(PAIR_GOOD);
        case VIEW_STYLE_WARN:    return COLOR_PAIR(PAIR_WARN) | A_BOLD;
        case VIEW_STYLE_ALERT:   return COLOR_PAIR(PAIR_ALERT) | A_BOLD;
        case VIEW_STYLE_CURRENT: return COLOR_PAIR(PAIR_CURRENT);
        default:                 return A_NORMAL;
        }
    }
    switch (style) {
    case VIEW_STYLE_TITLE:   return focus ? A_REVERSE | A_BOLD : A_BOLD | A_UNDERLINE;
    case VIEW_STYLE_HEADING: return A_BOLD;
    case VIEW_STYLE_WARN:    return A_BOLD;
    case VIEW_STYLE_ALERT:   return A_REVERSE | A_BOLD;
    case VIEW_STYLE_CURRENT: return A_REVERSE;
    default:                 return A_NORMAL;
    }
}

/* Draws `text` at (y, x), at most `width` cells; styles that are bars
 * (titles, alerts) are padded so the colour spans the whole width. */
static void draw_text(int y, int x, int width, const char *text, attr_t attr, bool pad)
{
    char clipped[VIEW_LINE_BYTES];
    format_clip(clipped, sizeof clipped, text, (size_t)width);
    attron(attr);
    mvaddstr(y, x, clipped);
    if (pad) {
        int used = (int)format_cells(clipped);
        for (int i = used; i < width; i++)
            addch(' ');
    }
    attroff(attr);
}

static void draw_bar(const struct view_painter *painter, int y, const char *text)
{
    attr_t attr = painter->colour ? COLOR_PAIR(PAIR_BAR) : A_REVERSE;
    draw_text(y, 0, COLS, text != NULL ? text : "", attr, true);
}

static void draw_pane(struct view_painter *painter, const struct view_pane *pane,
                      const struct view_rect *rect, bool focus)
{
    size_t n = view_text_pane(pane, (size_t)rect->w, (size_t)rect->h, painter->charset,
                              painter->lines, MAX_ROWS);
    for (size_t i = 0; i < n; i++) {
        const struct view_line *line = &painter->lines[i];
        bool pad = line->style == VIEW_STYLE_TITLE || line->style == VIEW_STYLE_ALERT ||
                   line->style == VIEW_STYLE_CURRENT;
        draw_text(rect->y + (int)i, rect->x, rect->w, line->text,
                  style_attr(painter, line->style, focus), pad);
    }
}

/* A vertical line between panes, drawn as text ("│" or "|") rather than
 * with the alternate character set, which some terminals and tmux's
 * capture show as the letter 'x'. */
static void draw_separator(const struct view_painter *painter, int y, int x, int height)
{
    const char *glyph = painter->charset == VIEW_CHARSET_UNICODE ? "\u2502" : "|";
    for (int i = 0; i < height; i++)
        mvaddstr(y + i, x, glyph);
}

static void draw_too_small(int cols, int rows, int need_cols, int need_rows, int bars)
{
    char message[160];
    snprintf(message, sizeof message,
             "Terminal too small: %dx%d. The view needs at least %dx%d. Resize, or press q.",
             cols, rows, need_cols, need_rows + bars);
    /* Wrap by hand: the message itself may be wider than the terminal. */
    int y = rows / 2 - 1, len = (int)strlen(message);
    for (int start = 0; start < len && y < rows; start += cols > 0 ? cols : len, y++)
        mvaddnstr(y < 0 ? 0 : y, 0, message + start, cols);
}

/* A box of reverse-video lines in the middle of the screen. */
static void draw_overlay(const char *title, const char *const *lines, size_t count)
{
    int longest = (int)strlen(title);
    for (size_t i = 0; i < count; i++)
        if ((int)format_cells(lines[i]) > longest)
            longest = (int)format_cells(lines[i]);
    int width = longest + 4 < COLS - 2 ? longest + 4 : COLS - 2;
    int height = (int)count + 4;
    int top = (LINES - height) / 2, left = (COLS - width) / 2;
    if (top < 0)
        top = 0;
    if (left < 0)
        left = 0;
    for (int y = 0; y < height && top + y < LINES; y++) {
        move(top + y, left);
        for (int x = 0; x < width; x++)
            addch(' ' | A_REVERSE);
    }
    attron(A_REVERSE | A_BOLD);
    mvaddnstr(top + 1, left + 2, title, width - 4);
    attroff(A_BOLD);
    for (size_t i = 0; i < count && top + 3 + (int)i < LINES; i++)
        mvaddnstr(top + 3 + (int)i, left + 2, lines[i], width - 4);
    attroff(A_REVERSE);
}

static void draw_glossary(const struct view_screen *screen)
{
    const struct view_pane *pane = &screen->panes[screen->focus];
    const char *lines[64];
    size_t count = view_text_glossary(pane->kind, lines, 64);
    char title[128];
    snprintf(title, sizeof title, "What the numbers mean: %s (%s)   ? close  tab other pane",
             pane->model[0] ? pane->model : "?", pane->name);
    draw_overlay(title, lines, count);
}

static void draw_help(const struct view_screen *screen)
{
    static const char *const keys[] = {
        "q         quit",
        "p         pause / resume (data keeps being read)",
        "<- ->     paused: step one recorded event back / forward",
        "space     paused: step forward",
        "PgUp/PgDn paused: step 100 events",
        "tab       focus the next pane",
        "z         zoom the focused pane / all panes",
        "+ -       refresh rate",
        "?         this help",
    };
    const char *lines[32];
    size_t count = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        lines[count++] = keys[i];
    char extra[1024] = "";
    if (screen->help_extra != NULL) {
        snprintf(extra, sizeof extra, "%s", screen->help_extra);
        for (char *line = strtok(extra, "\n"); line != NULL && count < 32;
             line = strtok(NULL, "\n"))
            lines[count++] = line;
    }
    if (count + 2 <= 32) {
        lines[count++] = "";
        lines[count++] = "?         again: what every number means (glossary)";
    }
    draw_overlay("evlab view: keys", lines, count);
}

void view_paint(struct view_painter *painter, const struct view_screen *screen)
{
    erase();
    /* Narration lines sit above the bottom bar and take rows from the panes. */
    const char *narration[VIEW_NARRATION_LINES];
    char narration_text[VIEW_NARRATION_LINES * 256];
    size_t narration_count = 0;
    if (screen->narration != NULL) {
        snprintf(narration_text, sizeof narration_text, "%s", screen->narration);
        char *save = NULL;
        for (char *line = strtok_r(narration_text, "\n", &save);
             line != NULL && narration_count < VIEW_NARRATION_LINES;
             line = strtok_r(NULL, "\n", &save))
            narration[narration_count++] = line;
    }
    int bars = 2 + (screen->status != NULL ? 1 : 0) + (int)narration_count;
    int body_top = 1 + (screen->status != NULL ? 1 : 0);
    int cols = COLS, rows = LINES - bars;
    struct view_rect rects[VIEW_MAX_SERVERS];
    bool side_by_side;
    int need_cols, need_rows;
    size_t count = screen->count < VIEW_MAX_SERVERS ? screen->count : VIEW_MAX_SERVERS;
    if (rows < 1 || !view_layout(cols, rows, count, screen->zoom, screen->focus, rects,
                                 &side_by_side, &need_cols, &need_rows)) {
        if (rows < 1)
            need_cols = VIEW_MIN_PANE_COLS, need_rows = VIEW_MIN_PANE_ROWS * (int)count;
        draw_too_small(COLS, LINES, need_cols, need_rows, bars);
        refresh();
        return;
    }
    draw_bar(painter, 0, screen->top);
    if (screen->status != NULL)
        draw_bar(painter, 1, screen->status);
    for (size_t i = 0; i < count; i++) {
        if (rects[i].w == 0)
            continue;
        struct view_rect rect = rects[i];
        rect.y += body_top;
        draw_pane(painter, &screen->panes[i], &rect, i == screen->focus);
        if (side_by_side && i + 1 < count)
            draw_separator(painter, rect.y, rect.x + rect.w, rect.h);
    }
    for (size_t i = 0; i < narration_count; i++) {
        /* A prompt ("PREDICT") and a measurement stand out from the text. */
        bool strong = strncmp(narration[i], "PREDICT", 7) == 0 ||
                      strncmp(narration[i], "MEASURED", 8) == 0 ||
                      strncmp(narration[i], "PROBLEM", 7) == 0;
        draw_text(LINES - 1 - (int)narration_count + (int)i, 0, COLS, narration[i],
                  strong ? style_attr(painter, VIEW_STYLE_CURRENT, false) | A_BOLD
                         : style_attr(painter, VIEW_STYLE_HEADING, false), strong);
    }
    draw_bar(painter, LINES - 1, screen->bottom);
    if (screen->glossary && screen->count > 0)
        draw_glossary(screen);
    else if (screen->help)
        draw_help(screen);
    refresh();
}
