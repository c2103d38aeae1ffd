/*
 * svg_plot.c — hand-written SVG line charts (see the header).
 *
 * Design: a chart is a box with margins for the labels.  Each axis maps
 * a value range onto a pixel range, linearly or through log10; the range
 * is first widened to "nice" tick values so the outermost grid lines sit
 * on round numbers.  Everything is drawn with plain SVG elements (line,
 * polyline, circle, text) in user units, so the file scales cleanly to
 * any size in a browser or on a slide.  No library, no JavaScript.
 */
#include "bench/svg_plot.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Geometry of one chart, in SVG user units. */
#define CHART_W       560.0
#define CHART_H       440.0
#define MARGIN_LEFT   80.0
#define MARGIN_RIGHT  40.0
#define MARGIN_TOP    44.0
#define MARGIN_BOTTOM 110.0   /* tick labels, axis label, legend, note */
#define TITLE_H       40.0

struct axis {
    double lo, hi;     /* value range after widening to ticks */
    bool log;
    double px_lo, px_hi;
    double ticks[SVG_MAX_TICKS];
    size_t tick_count;
};

void svg_format_number(double v, char *out, size_t out_len)
{
    double a = fabs(v);

    if (a == 0)
        snprintf(out, out_len, "0");
    else if (a >= 1e6)
        snprintf(out, out_len, "%.3gM", v / 1e6);
    else if (a >= 1e3)
        snprintf(out, out_len, "%.3gk", v / 1e3);
    else
        snprintf(out, out_len, "%.3g", v);
}

size_t svg_ticks_linear(double *lo, double *hi, double *ticks, size_t max)
{
    if (!(*hi > *lo))
        *hi = *lo + 1;
    /* Aim for about five intervals of 1, 2 or 5 times a power of ten. */
    double raw = (*hi - *lo) / 5;
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
    double first = floor(*lo / step) * step;
    double last = ceil(*hi / step) * step;
    size_t n = 0;

    for (double t = first; t <= last + step / 2 && n < max; t += step)
        ticks[n++] = fabs(t) < step / 1e6 ? 0 : t;   /* no "-0" */
    *lo = first;
    *hi = ticks[n - 1];
    return n;
}

size_t svg_ticks_log(double *lo, double *hi, double *ticks, size_t max)
{
    double e_lo = floor(log10(*lo));
    double e_hi = ceil(log10(*hi));
    size_t n = 0;

    if (e_hi <= e_lo)
        e_hi = e_lo + 1;
    /* One tick per decade, or every other decade when there are many;
     * over one or two decades, 2x and 5x too, or the axis looks empty. */
    double every = ceil((e_hi - e_lo + 1) / (double)max);
    bool fine = e_hi - e_lo <= 2;
    for (double e = e_lo; e <= e_hi && n < max; e += every) {
        ticks[n++] = pow(10, e);
        if (fine && e < e_hi && n + 2 <= max) {
            ticks[n++] = 2 * pow(10, e);
            ticks[n++] = 5 * pow(10, e);
        }
    }
    *lo = pow(10, e_lo);
    *hi = pow(10, e_hi);
    return n;
}

static double axis_map(const struct axis *a, double v)
{
    double f = a->log ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo))
                      : (v - a->lo) / (a->hi - a->lo);
    return a->px_lo + f * (a->px_hi - a->px_lo);
}

static bool drawable(bool log, double v)
{
    return isfinite(v) && (!log || v > 0);
}

/* Finds the data range of one axis over every drawable point, then
 * widens it to ticks.  `x` selects the x or the y values. */
static void axis_fit(struct axis *a, const struct svg_chart *c, bool x, bool log)
{
    double lo = INFINITY, hi = -INFINITY;

    a->log = log;
    for (size_t s = 0; s < c->series_count; s++) {
        const struct svg_series *ser = &c->series[s];
        for (size_t i = 0; i < ser->count; i++) {
            if (!drawable(c->x_log, ser->x[i]) || !drawable(c->y_log, ser->y[i]))
                continue;
            double v = x ? ser->x[i] : ser->y[i];
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
    }
    if (!(lo <= hi)) {            /* no drawable point at all */
        lo = log ? 1 : 0;
        hi = log ? 10 : 1;
    }
    /* A throughput axis starts at zero so heights compare honestly. */
    if (!log && !x && lo > 0)
        lo = 0;
    if (log)
        a->tick_count = svg_ticks_log(&lo, &hi, a->ticks, SVG_MAX_TICKS);
    else
        a->tick_count = svg_ticks_linear(&lo, &hi, a->ticks, SVG_MAX_TICKS);
    a->lo = lo;
    a->hi = hi;
}

/* Text content for XML: &, < and > must be escaped. */
static void xml_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default:  fputc(*s, out); break;
        }
    }
}

static void chart_write(FILE *out, const struct svg_chart *c, double ox, double oy)
{
    struct axis ax, ay;
    char label[32];

    ax.px_lo = ox + MARGIN_LEFT;
    ax.px_hi = ox + CHART_W - MARGIN_RIGHT;
    ay.px_lo = oy + CHART_H - MARGIN_BOTTOM;   /* y grows downwards in SVG */
    ay.px_hi = oy + MARGIN_TOP;
    axis_fit(&ax, c, true, c->x_log);
    axis_fit(&ay, c, false, c->y_log);

    fprintf(out, "<g class=\"chart\">\n<text x=\"%.1f\" y=\"%.1f\" class=\"title\">",
            ox + CHART_W / 2, oy + 26);
    xml_text(out, c->title);
    fputs("</text>\n", out);

    /* Grid lines and tick labels first, so the data is drawn over them. */
    for (size_t i = 0; i < ay.tick_count; i++) {
        double y = axis_map(&ay, ay.ticks[i]);
        svg_format_number(ay.ticks[i], label, sizeof label);
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"ytick\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                ax.px_lo, y, ax.px_hi, y, ax.px_lo - 8, y + 5, label);
    }
    for (size_t i = 0; i < ax.tick_count; i++) {
        double x = axis_map(&ax, ax.ticks[i]);
        svg_format_number(ax.ticks[i], label, sizeof label);
        fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                x, ay.px_lo, x, ay.px_hi, x, ay.px_lo + 22, label);
    }
    fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            ax.px_lo, ay.px_lo, ax.px_hi, ay.px_lo);
    fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            ax.px_lo, ay.px_lo, ax.px_lo, ay.px_hi);

    /* Axis labels: x centred below, y rotated along the left edge. */
    fprintf(out, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\">", (ax.px_lo + ax.px_hi) / 2,
            ay.px_lo + 48);
    xml_text(out, c->x_label);
    fputs("</text>\n", out);
    double ly = (ay.px_lo + ay.px_hi) / 2;
    fprintf(out, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-90 %.1f %.1f)\">",
            ox + 22, ly, ox + 22, ly);
    xml_text(out, c->y_label);
    fputs("</text>\n", out);

    /* The series, each a group with its line, its markers and its legend
     * entry (legend in one row under the axis label). */
    double legend_x = ax.px_lo;
    bool any_flagged = false;
    for (size_t s = 0; s < c->series_count; s++) {
        const struct svg_series *ser = &c->series[s];
        fputs("<g class=\"series\" data-series=\"", out);
        xml_text(out, ser->name);
        fprintf(out, "\">\n<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"3\" points=\"",
                ser->color);
        for (size_t i = 0; i < ser->count; i++)
            if (drawable(c->x_log, ser->x[i]) && drawable(c->y_log, ser->y[i]))
                fprintf(out, "%.1f,%.1f ", axis_map(&ax, ser->x[i]), axis_map(&ay, ser->y[i]));
        fputs("\"/>\n", out);
        for (size_t i = 0; i < ser->count; i++) {
            if (!drawable(c->x_log, ser->x[i]) || !drawable(c->y_log, ser->y[i]))
                continue;
            /* A flagged point is drawn hollow: "do not trust this one". */
            bool hollow = ser->flagged != NULL && ser->flagged[i];
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\" "
                    "stroke=\"%s\" stroke-width=\"2.5\"%s/>\n",
                    axis_map(&ax, ser->x[i]), axis_map(&ay, ser->y[i]), hollow ? "6" : "5",
                    hollow ? "white" : ser->color, ser->color,
                    hollow ? " class=\"flagged\"" : "");
            any_flagged |= hollow;
        }
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"6\" fill=\"%s\"/>"
                "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">",
                legend_x, ay.px_lo + 72, ser->color, legend_x + 28, ay.px_lo + 79);
        xml_text(out, ser->name);
        fputs("</text>\n</g>\n", out);
        legend_x += 40 + 9.0 * (double)strlen(ser->name);
    }
    if (any_flagged && c->flag_note != NULL) {
        fprintf(out, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\">", ax.px_lo, ay.px_lo + 96);
        xml_text(out, c->flag_note);
        fputs("</text>\n", out);
    }
    fputs("</g>\n", out);
}

int svg_plot_write(FILE *out, const char *title, const struct svg_chart *charts,
                   size_t chart_count)
{
    double width = CHART_W * (double)chart_count;
    double height = CHART_H + TITLE_H;

    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
            "<style>\n"
            ".title { font-size: 18px; font-weight: bold; text-anchor: middle; }\n"
            ".label { font-size: 15px; text-anchor: middle; }\n"
            ".xtick { font-size: 13px; text-anchor: middle; }\n"
            ".ytick { font-size: 13px; text-anchor: end; }\n"
            ".legend { font-size: 14px; }\n"
            ".note { font-size: 12px; fill: #555555; }\n"
            ".grid { stroke: #dddddd; stroke-width: 1; }\n"
            ".axis { stroke: #333333; stroke-width: 1.5; }\n"
            "</style>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            width, height, width, height);
    fprintf(out, "<text x=\"%.1f\" y=\"28\" class=\"title\">", width / 2);
    xml_text(out, title);
    fputs("</text>\n", out);
    for (size_t i = 0; i < chart_count; i++)
        chart_write(out, &charts[i], CHART_W * (double)i, TITLE_H);
    fputs("</svg>\n", out);
    return ferror(out) ? -EIO : 0;
}
