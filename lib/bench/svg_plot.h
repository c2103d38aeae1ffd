/*
 * svg_plot.h — line charts as a standalone SVG file: axes with ticks and
 * labels, a title, a legend, one polyline (with point markers) per
 * series.  Enough for "throughput and p99 latency against connections,
 * one line per model", readable in a browser and large enough for a slide.
 *
 * Several charts go side by side in one file.  Either axis may be
 * logarithmic (connections 1, 10, 100, 1000 are evenly spaced that way);
 * on a log axis, points with a value <= 0 cannot be drawn and are left
 * out of their line (the legend still lists the series).
 *
 * A point can be flagged (drawn as a hollow circle, with the chart's
 * flag_note underneath) to say "this value is not the whole story", e.g.
 * a run whose requests timed out.
 *
 * Every series is one <g class="series" data-series="NAME"> element, so
 * a test (or a script) can count them.
 *
 * Ownership: the caller owns every array; nothing is kept after the call.
 * Errors: 0, or -EIO when writing failed.
 */
#ifndef EVLAB_SVG_PLOT_H
#define EVLAB_SVG_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SVG_MAX_TICKS 16

struct svg_series {
    const char *name;        /* legend text */
    const char *color;       /* "#1f77b4" */
    size_t count;
    const double *x;
    const double *y;
    const bool *flagged;     /* may be NULL; true = draw that point hollow */
};

struct svg_chart {
    const char *title;
    const char *x_label;
    const char *y_label;
    bool x_log;
    bool y_log;
    size_t series_count;
    const struct svg_series *series;
    const char *flag_note;   /* shown under the legend when a point is flagged */
};

int svg_plot_write(FILE *out, const char *title, const struct svg_chart *charts,
                   size_t chart_count);

/* Axis helpers, exposed for the unit tests. */

/* Round tick values covering [lo, hi] on a linear axis (steps of 1, 2 or
 * 5 times a power of ten); widens *lo / *hi to the outer ticks.  Returns
 * how many ticks were stored (at most max). */
size_t svg_ticks_linear(double *lo, double *hi, double *ticks, size_t max);

/* Powers of ten covering [lo, hi] (lo > 0) on a log axis; widens the
 * range to whole decades. */
size_t svg_ticks_log(double *lo, double *hi, double *ticks, size_t max);

/* "0", "2.5", "10", "1k", "25k", "1.5M", "0.01": short tick labels. */
void svg_format_number(double v, char *out, size_t out_len);

#endif
