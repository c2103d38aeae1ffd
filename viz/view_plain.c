/*
 * view_plain.c — panes as plain text (see view_plain.h).
 *
 * The layout is entirely view_text_pane()'s: this file only asks for
 * every line (a height no pane reaches, so no section is dropped, as a
 * terminal too short would) and writes them out, so what `--once --plain`
 * prints is what the painter draws on a tall enough screen.
 */
#include "view_plain.h"

#include <errno.h>
#include <stdlib.h>

#include "view_text.h"

/* More lines than a pane ever has: nothing is dropped. */
#define PLAIN_MAX_LINES 200

int view_plain_print(FILE *out, const struct view_pane *panes, size_t count, size_t width)
{
    struct view_line *lines = malloc(PLAIN_MAX_LINES * sizeof *lines);
    if (lines == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        size_t n = view_text_pane(&panes[i], width, PLAIN_MAX_LINES, VIEW_CHARSET_ASCII, lines,
                                  PLAIN_MAX_LINES);
        fprintf(out, "== %s\n", panes[i].name);
        for (size_t j = 0; j < n; j++)
            fprintf(out, "%s\n", lines[j].text);
        fprintf(out, "\n");
    }
    fflush(out);
    free(lines);
    return 0;
}
