/*
 * view_format.h — pure text formatting for the live view: durations,
 * counts, sparklines and bars.  No ncurses and no state, so every helper
 * is tested by cmocka (tests/unit/test_view_format.c).
 *
 * Every function writes a NUL-terminated string into the caller's buffer,
 * never more than `len` bytes including the NUL, and returns `buf` so a
 * call can sit inside a printf argument list.  A buffer too short for the
 * text gets a truncated (still terminated) string.
 *
 * Charsets.  A sparkline or bar can be drawn with Unicode block elements
 * (UTF-8 terminals) or with plain ASCII (vt100, the Linux console, or a
 * locale that is not UTF-8).  The caller picks; the painter decides from
 * the locale and TERM.  Widths are always counted in terminal cells, not
 * bytes: a Unicode block is 3 bytes but one cell.
 */
#ifndef EVLAB_VIEW_FORMAT_H
#define EVLAB_VIEW_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum view_charset {
    VIEW_CHARSET_ASCII = 0,
    VIEW_CHARSET_UNICODE
};

/* "340 ns", "12.3 us", "12.3 ms", "1.23 s", "2m05s".  Three significant
 * digits, so a column of them lines up and reads at a glance. */
char *format_duration(char *buf, size_t len, uint64_t ns);

/* A signed time relative to a reference: "-12.3 ms", "+1.20 s", "0". */
char *format_relative(char *buf, size_t len, int64_t delta_ns);

/* A count in at most five characters: "999", "12.3k", "1.20M", "3.4G". */
char *format_count(char *buf, size_t len, int64_t value);

/* Bytes: "512 B", "12.0 KiB", "3.40 MiB", "1.20 GiB". */
char *format_bytes(char *buf, size_t len, int64_t bytes);

/* One cell per value, oldest first, scaled so `max` is the tallest cell
 * (max <= 0: scaled to the largest value).  Shows the newest `width`
 * values when there are more.  A zero value is the lowest mark, so time
 * still visibly passes on an idle server. */
char *format_sparkline(char *buf, size_t len, const double *values, size_t count,
                       size_t width, double max, enum view_charset charset);

/* A horizontal bar `width` cells wide, filled to `fraction` (0..1).  Any
 * fraction above zero shows at least a sliver, so a rare slow handler
 * never disappears from a histogram. */
char *format_bar(char *buf, size_t len, double fraction, size_t width,
                 enum view_charset charset);

/* Terminal cells a UTF-8 string occupies (every code point counts one:
 * the view only uses narrow characters). */
size_t format_cells(const char *text);

/* Copies at most `cells` cells of UTF-8 `text` into buf, never splitting a
 * multi-byte character. */
char *format_clip(char *buf, size_t len, const char *text, size_t cells);

#endif
