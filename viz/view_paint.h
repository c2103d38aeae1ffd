/*
 * view_paint.h — the only code that draws with ncurses.  It receives
 * finished panes (view_model.h), asks view_text.h for their lines and
 * layout, and copies them to the screen with the colour of each line's
 * style.  No numbers are computed here.
 *
 * Colour: when the terminal has colours and NO_COLOR is unset, styles map
 * to colour pairs (the blocked-loop alert is white on red); otherwise to
 * plain attributes (bold, reverse, underline), so a monochrome vt100 still
 * shows the alert in reverse video — and always in words.
 *
 * Errors: none (a terminal too small gets a message, not a layout).
 * Ownership: view_painter_new() allocates line buffers; _free releases.
 */
#ifndef EVLAB_VIEW_PAINT_H
#define EVLAB_VIEW_PAINT_H

#include <stdbool.h>
#include <stddef.h>

#include "view_model.h"

/* Everything one frame shows. */
struct view_screen {
    const struct view_pane *panes;
    size_t count;
    size_t focus;
    bool zoom, help;
    const char *top;          /* top bar: program, rate, pause state */
    const char *status;       /* a second bar (the demo's load), or NULL */
    const char *bottom;       /* key hints or step position */
    const char *help_extra;   /* extra help lines, '\n'-separated, or NULL */
    bool glossary;            /* the glossary page of the focused pane's model */
    /* Lesson text and the step's prompt above the bottom bar, '\n'-separated
     * (at most VIEW_NARRATION_LINES lines), or NULL. */
    const char *narration;
};

#define VIEW_NARRATION_LINES 6

struct view_painter;

/* Call after view_terminal_init(). */
struct view_painter *view_painter_new(void);
void view_painter_free(struct view_painter *painter);

/* What every full-screen view does first (the live view, the replay):
 * room for `pane_count` panes (zeroed), the terminal taken over
 * (view_terminal_init()) and a painter for it.  Returns 0, or a negative
 * errno with a message in err and nothing left allocated or taken over.
 * view_painter_close() gives the terminal back and frees all three. */
int  view_painter_open(size_t pane_count, struct view_pane **panes,
                       struct view_painter **painter, char *err, size_t err_len);
void view_painter_close(struct view_pane *panes, struct view_painter *painter);

/* The `?` key: off -> the keys -> the glossary of the focused pane's
 * model -> off (view_screen's help and glossary). */
void view_help_cycle(bool *help, bool *glossary);
void view_paint(struct view_painter *painter, const struct view_screen *screen);

#endif
