/*
 * demo_summary.h — the table `evlab demo` prints when it ends: one column
 * per model, one row per measurement, server side (from the view's
 * trackers) and client side (from the load generators' reports).
 *
 * Pure: rows are built from plain data and printed to any FILE, so a unit
 * test can check the table without running a demo.
 */
#ifndef EVLAB_DEMO_SUMMARY_H
#define EVLAB_DEMO_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "demo_load.h"
#include "view_model.h"

struct demo_summary_column {
    char model[PROBE_MODEL_MAX];
    bool gone;                    /* the server died during the demo */
    int64_t requests_served;
    double served_per_s;
    uint64_t handler_p50_ns, handler_p99_ns, handler_max_ns;
    int64_t peak_queued, peak_threads, peak_rss;
    struct demo_client_totals client;
};

/* Fills a column from a server's tracker and its load totals. */
void demo_summary_column_fill(struct demo_summary_column *column,
                              const struct view_tracker *tracker,
                              const struct demo_client_totals *client);

void demo_summary_print(FILE *out, const struct demo_summary_column *columns, size_t count,
                        double seconds, const char *patterns);

#endif
