/*
 * demo_summary.c — the closing table of `evlab demo` (see demo_summary.h).
 *
 * Design.  Models are columns, measurements are rows: a class compares
 * the models along one row ("handler p99: 101 ms, 101 ms, 9 ms"), and the
 * table stays narrow enough for any terminal with three models.
 */
#include "demo_summary.h"

#include <string.h>

#include "view_format.h"

void demo_summary_column_fill(struct demo_summary_column *column,
                              const struct view_tracker *tracker,
                              const struct demo_client_totals *client)
{
    memset(column, 0, sizeof *column);
    snprintf(column->model, sizeof column->model, "%s", tracker->info.model);
    column->gone = tracker->status == VIEW_STATUS_GONE;
    if (client != NULL)
        column->client = *client;
    if (!tracker->have_snapshot)
        return;
    const struct probe_snapshot *snap = &tracker->snap;
    const struct histogram *handler = &snap->hists[PROBE_HIST_HANDLER_NS];
    column->requests_served = snap->gauges[PROBE_GAUGE_REQUESTS_DONE] - tracker->first_requests;
    double seconds = (double)(snap->taken_ns - tracker->first_t_ns) / 1e9;
    column->served_per_s = seconds > 0 ? (double)column->requests_served / seconds : 0;
    column->handler_p50_ns = histogram_percentile(handler, 50);
    column->handler_p99_ns = histogram_percentile(handler, 99);
    column->handler_max_ns = histogram_max(handler);
    column->peak_queued = tracker->peak_queued;
    column->peak_threads = tracker->peak_threads;
    column->peak_rss = tracker->peak_rss;
}

/* One row: a label, then one right-aligned cell per column. */
static void print_row(FILE *out, const char *label, char cells[][32], size_t count)
{
    fprintf(out, "%-26s", label);
    for (size_t i = 0; i < count; i++)
        fprintf(out, " %12s", cells[i]);
    fputc('\n', out);
}

void demo_summary_print(FILE *out, const struct demo_summary_column *columns, size_t count,
                        double seconds, const char *patterns)
{
    char cells[DEMO_SERVERS + 5][32];
    if (count > DEMO_SERVERS + 5)
        count = DEMO_SERVERS + 5;
    fprintf(out, "\nevlab demo: %.1f s under load (%s), identical for every model\n\n",
            seconds, patterns[0] ? patterns : "none");

    for (size_t i = 0; i < count; i++)
        snprintf(cells[i], sizeof cells[i], "%s%s", columns[i].model,
                 columns[i].gone ? " (died)" : "");
    print_row(out, "", cells, count);

    fprintf(out, "server side (instrumentation)\n");
    for (size_t i = 0; i < count; i++)
        format_count(cells[i], sizeof cells[i], columns[i].requests_served);
    print_row(out, "  requests served", cells, count);
    for (size_t i = 0; i < count; i++)
        snprintf(cells[i], sizeof cells[i], "%.1f", columns[i].served_per_s);
    print_row(out, "  served per second", cells, count);
    for (size_t i = 0; i < count; i++)
        format_duration(cells[i], sizeof cells[i], columns[i].handler_p50_ns);
    print_row(out, "  handler runtime p50", cells, count);
    for (size_t i = 0; i < count; i++)
        format_duration(cells[i], sizeof cells[i], columns[i].handler_p99_ns);
    print_row(out, "  handler runtime p99", cells, count);
    for (size_t i = 0; i < count; i++)
        format_duration(cells[i], sizeof cells[i], columns[i].handler_max_ns);
    print_row(out, "  handler runtime max", cells, count);
    for (size_t i = 0; i < count; i++)
        format_count(cells[i], sizeof cells[i], columns[i].peak_queued);
    print_row(out, "  peak queued", cells, count);
    for (size_t i = 0; i < count; i++)
        format_count(cells[i], sizeof cells[i], columns[i].peak_threads);
    print_row(out, "  peak threads", cells, count);
    for (size_t i = 0; i < count; i++)
        format_bytes(cells[i], sizeof cells[i], columns[i].peak_rss);
    print_row(out, "  peak resident memory", cells, count);

    fprintf(out, "client side (evlab load, latency from intended send time)\n");
    for (size_t i = 0; i < count; i++)
        format_count(cells[i], sizeof cells[i], (int64_t)columns[i].client.requests);
    print_row(out, "  replies received", cells, count);
    for (size_t i = 0; i < count; i++)
        format_duration(cells[i], sizeof cells[i], columns[i].client.worst_p99_ns);
    print_row(out, "  latency p99 (worst load)", cells, count);
    for (size_t i = 0; i < count; i++)
        format_duration(cells[i], sizeof cells[i], columns[i].client.max_ns);
    print_row(out, "  latency max", cells, count);
    for (size_t i = 0; i < count; i++)
        format_count(cells[i], sizeof cells[i], (int64_t)columns[i].client.errors);
    print_row(out, "  errors", cells, count);
    fputc('\n', out);
    fflush(out);
}
