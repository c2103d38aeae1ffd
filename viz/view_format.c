/*
 * view_format.c — the view's pure text helpers (see view_format.h).
 *
 * Design.  Each helper picks a unit or a glyph and prints into a caller's
 * buffer with snprintf, so truncation is always safe.  Numbers keep three
 * significant digits: enough to compare two panes from the back of a
 * lecture hall, few enough that columns do not jitter as values change.
 *
 * Units are chosen on the *rounded* value: 999.96 us must print as
 * "1.00 ms", not "1000 us", or a column would suddenly grow a digit.
 */
#include "view_format.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Block elements from U+2581 (lower one eighth) to U+2588 (full block). */
static const char *const spark_unicode[8] = {
    "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"
};
/* The same eight heights for terminals without Unicode: the underscore is
 * the floor, so an idle stretch still shows as a line. */
static const char spark_ascii[8] = { '_', '.', '-', ':', '=', '+', '*', '#' };

/* Left-aligned partial blocks: index k is k/8 of a cell (0 = empty). */
static const char *const bar_eighths[8] = {
    " ", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589"
};

/* Prints `value` (already in the chosen unit) with three significant
 * digits followed by `unit`. */
static void print_three_digits(char *buf, size_t len, double value, const char *unit)
{
    if (value < 9.995)
        snprintf(buf, len, "%.2f %s", value, unit);
    else if (value < 99.95)
        snprintf(buf, len, "%.1f %s", value, unit);
    else
        snprintf(buf, len, "%.0f %s", value, unit);
}

char *format_duration(char *buf, size_t len, uint64_t ns)
{
    if (len == 0)
        return buf;
    double v = (double)ns;
    if (v < 999.5)
        snprintf(buf, len, "%" PRIu64 " ns", ns);
    else if (v < 999.5e3)
        print_three_digits(buf, len, v / 1e3, "us");
    else if (v < 999.5e6)
        print_three_digits(buf, len, v / 1e6, "ms");
    else if (v < 59.95e9)
        print_three_digits(buf, len, v / 1e9, "s");
    else {
        /* Minutes and seconds: a blocked loop can last that long in a demo. */
        uint64_t seconds = (ns + 500000000u) / 1000000000u;
        snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", seconds / 60, seconds % 60);
    }
    return buf;
}

char *format_relative(char *buf, size_t len, int64_t delta_ns)
{
    if (len == 0)
        return buf;
    if (delta_ns == 0) {
        snprintf(buf, len, "0");
        return buf;
    }
    char magnitude[32];
    /* Negate through uint64_t so INT64_MIN does not overflow. */
    uint64_t abs_ns = delta_ns < 0 ? (uint64_t)0 - (uint64_t)delta_ns : (uint64_t)delta_ns;
    format_duration(magnitude, sizeof magnitude, abs_ns);
    snprintf(buf, len, "%c%s", delta_ns < 0 ? '-' : '+', magnitude);
    return buf;
}

char *format_count(char *buf, size_t len, int64_t value)
{
    if (len == 0)
        return buf;
    const char *sign = value < 0 ? "-" : "";
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    double v = (double)mag;
    if (v < 999.5)
        snprintf(buf, len, "%s%" PRIu64, sign, mag);
    else if (v < 999.5e3)
        snprintf(buf, len, "%s%.*fk", sign, v < 9.995e3 ? 2 : v < 99.95e3 ? 1 : 0, v / 1e3);
    else if (v < 999.5e6)
        snprintf(buf, len, "%s%.*fM", sign, v < 9.995e6 ? 2 : v < 99.95e6 ? 1 : 0, v / 1e6);
    else
        snprintf(buf, len, "%s%.*fG", sign, v < 9.995e9 ? 2 : v < 99.95e9 ? 1 : 0, v / 1e9);
    return buf;
}

char *format_bytes(char *buf, size_t len, int64_t bytes)
{
    if (len == 0)
        return buf;
    double v = bytes < 0 ? 0.0 : (double)bytes;
    if (v < 1023.5)
        snprintf(buf, len, "%.0f B", v);
    else if (v < 1023.5 * 1024)
        print_three_digits(buf, len, v / 1024, "KiB");
    else if (v < 1023.5 * 1024 * 1024)
        print_three_digits(buf, len, v / (1024.0 * 1024), "MiB");
    else
        print_three_digits(buf, len, v / (1024.0 * 1024 * 1024), "GiB");
    return buf;
}

/* Appends `piece` to buf at *used if it fits whole; false when it does not,
 * so a multi-byte glyph is never cut in half. */
static bool append_piece(char *buf, size_t len, size_t *used, const char *piece)
{
    size_t n = strlen(piece);
    if (*used + n + 1 > len)
        return false;
    memcpy(buf + *used, piece, n);
    *used += n;
    buf[*used] = '\0';
    return true;
}

char *format_sparkline(char *buf, size_t len, const double *values, size_t count,
                       size_t width, double max, enum view_charset charset)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    size_t first = count > width ? count - width : 0;
    if (max <= 0) {
        for (size_t i = first; i < count; i++)
            if (values[i] > max)
                max = values[i];
    }
    size_t used = 0;
    for (size_t i = first; i < count; i++) {
        /* Level 0 is reserved for zero (and negative) values; anything
         * above zero gets at least level 1 so a single queued event shows. */
        int level = 0;
        if (values[i] > 0 && max > 0) {
            double scaled = ceil(values[i] / max * 7.0);
            level = scaled < 1 ? 1 : scaled > 7 ? 7 : (int)scaled;
        }
        char ascii[2] = { spark_ascii[level], '\0' };
        const char *glyph = charset == VIEW_CHARSET_UNICODE ? spark_unicode[level] : ascii;
        if (!append_piece(buf, len, &used, glyph))
            break;
    }
    return buf;
}

char *format_bar(char *buf, size_t len, double fraction, size_t width,
                 enum view_charset charset)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (!(fraction > 0))            /* also catches NaN */
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    /* Work in eighths of a cell; ASCII can only draw whole cells. */
    size_t eighths = (size_t)llround(fraction * (double)width * 8.0);
    if (fraction > 0 && eighths == 0)
        eighths = 1;
    if (charset == VIEW_CHARSET_ASCII && eighths % 8 != 0)
        eighths = (eighths / 8 + 1) * 8;
    size_t used = 0;
    for (size_t cell = 0; cell < width; cell++) {
        size_t filled = eighths > cell * 8 ? eighths - cell * 8 : 0;
        const char *glyph;
        if (filled >= 8)
            glyph = charset == VIEW_CHARSET_UNICODE ? "\u2588" : "#";
        else if (charset == VIEW_CHARSET_UNICODE)
            glyph = bar_eighths[filled];
        else
            glyph = " ";
        if (!append_piece(buf, len, &used, glyph))
            break;
    }
    return buf;
}

/* True for the first byte of a UTF-8 sequence (not a continuation byte). */
static bool is_lead_byte(unsigned char c)
{
    return (c & 0xC0) != 0x80;
}

size_t format_cells(const char *text)
{
    size_t cells = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (is_lead_byte(*p))
            cells++;
    return cells;
}

char *format_clip(char *buf, size_t len, const char *text, size_t cells)
{
    if (len == 0)
        return buf;
    size_t used = 0, seen = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        /* Measure the whole character before copying any of it. */
        size_t n = 1;
        while (p[n] && !is_lead_byte(p[n]))
            n++;
        if (seen == cells || used + n + 1 > len)
            break;
        memcpy(buf + used, p, n);
        used += n;
        seen++;
        p += n;
    }
    buf[used] = '\0';
    return buf;
}
