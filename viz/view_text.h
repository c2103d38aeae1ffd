/*
 * view_text.h — lays one pane (struct view_pane) out as lines of text for
 * a box of `width` x `height` cells, each line tagged with a style.
 *
 * This is still pure: the ncurses painter (view_paint.h) only copies these
 * lines to the screen with the colour of their style, and `evlab view
 * --once --plain` prints the very same lines, so what a script greps is
 * what a class sees.
 *
 * When the box is too short for everything, whole sections are dropped
 * from the least important up: the event log first, then the threads,
 * the histogram rows, the sparklines; the title, a blocked-loop alert
 * and the queued/ready numbers stay to the end.
 *
 * Errors: none.  Ownership: the caller supplies the line array.
 */
#ifndef EVLAB_VIEW_TEXT_H
#define EVLAB_VIEW_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "view_format.h"
#include "view_model.h"

/* Enough bytes for a full-screen line of 3-byte Unicode cells. */
#define VIEW_LINE_BYTES 1024

enum view_style {
    VIEW_STYLE_NORMAL = 0,
    VIEW_STYLE_TITLE,         /* the pane's first line */
    VIEW_STYLE_HEADING,       /* QUEUED, READY, ... */
    VIEW_STYLE_DIM,           /* explanations, idle things */
    VIEW_STYLE_GOOD,          /* bars and sparklines */
    VIEW_STYLE_WARN,          /* a slow handler; a server gone */
    VIEW_STYLE_ALERT,         /* the loop is blocked: red */
    VIEW_STYLE_CURRENT,       /* step mode: the event we stand on */
    VIEW_STYLE_COUNT
};

struct view_line {
    char text[VIEW_LINE_BYTES];
    enum view_style style;
};

/* Lays `pane` out in at most `height` lines of at most `width` cells;
 * returns how many lines it stored (<= height and <= max_lines). */
size_t view_text_pane(const struct view_pane *pane, size_t width, size_t height,
                      enum view_charset charset, struct view_line *lines, size_t max_lines);

/* The sentences of a pane, one function each so the tests can read
 * them.  Each writes at most `len` bytes, NUL-terminated, and returns buf.
 *
 * view_text_alert: "LOOP BLOCKED for 150 ms: handler /cpu (fd 12) is
 * still running; no other connection is served" (empty: no alert).
 * view_text_thread_doing: "waits in read() fd 7", "60 waiting in read()".
 * view_text_log_line: "  -1.23 ms loop/0      accept -> fd 7". */
char *view_text_alert(const struct view_pane *pane, char *buf, size_t len);
char *view_text_thread_doing(const struct view_thread_row *row, char *buf, size_t len);
char *view_text_log_line(const struct view_log_line *line, char *buf, size_t len);

/* The glossary page of `?`: what every number on a pane of this kind
 * counts and how it is measured there (queued and ready differ per
 * model).  Stores at most `max` pointers to static lines of at most
 * VIEW_GLOSSARY_WIDTH characters; returns how many. */
#define VIEW_GLOSSARY_WIDTH 78
size_t view_text_glossary(enum view_kind kind, const char **lines, size_t max);

/* Where each pane goes inside a body of `cols` x `rows` cells. */
struct view_rect {
    int x, y, w, h;           /* w == 0: not shown (another pane is zoomed) */
};

/* Side by side when every pane gets VIEW_SIDE_BY_SIDE_COLS columns (one
 * column between panes for a separator), stacked otherwise; with `zoom`
 * only pane `focus`, full size.  Returns false when even that does not
 * fit, with the smallest body that would in *need_cols x *need_rows. */
bool view_layout(int cols, int rows, size_t count, bool zoom, size_t focus,
                 struct view_rect *rects, bool *side_by_side, int *need_cols, int *need_rows);

/* The longest line view_text_pane() can need for `height` unlimited; the
 * number of lines a pane has when nothing is dropped. */
size_t view_text_full_height(const struct view_pane *pane, size_t width);

#endif
