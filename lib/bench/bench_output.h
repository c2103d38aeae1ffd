/*
 * bench_output.h — write a sweep's rows as files:
 *
 *   results.csv       one line per run, header first (columns below)
 *   results.json      {"config": {...}, "runs": [{...}, ...]}
 *   results.md        the same table in Markdown, for a README or report
 *   WORKLOAD.svg      one per workload: throughput and p99 latency
 *                     against connections (log scale), one line per model
 *
 * CSV / JSON columns: workload, model, connections, requests,
 * req_per_sec, p50_ms, p90_ms, p99_ms, p999_ms, max_ms, errors, then one
 * count per error kind (connect_refused, connect_timeout, connect_other,
 * timeout, reset, bad_status, short_read, bad_response), peak_rss_kb,
 * threads, cpu_ms, voluntary_ctxt, involuntary_ctxt, server_exit.
 * Latencies are from a log-linear histogram (within 3.125%).
 *
 * Errors: 0, or a negative errno with `err` naming the file.
 */
#ifndef EVLAB_BENCH_OUTPUT_H
#define EVLAB_BENCH_OUTPUT_H

#include <stddef.h>

#include "bench/bench_config.h"
#include "bench/bench_run.h"

/* Creates dir and its parents (mkdir -p). */
int bench_output_mkdir(const char *dir, char *err, size_t err_len);

int bench_write_csv(const char *path, const struct bench_row *rows, size_t count,
                    char *err, size_t err_len);
int bench_write_json(const char *path, const struct bench_config *cfg,
                     const struct bench_row *rows, size_t count, char *err, size_t err_len);
int bench_write_markdown(const char *path, const struct bench_row *rows, size_t count,
                         char *err, size_t err_len);
/* The plot of one workload. */
int bench_write_svg(const char *path, const struct bench_config *cfg,
                    const struct bench_workload *workload, const struct bench_row *rows,
                    size_t count, char *err, size_t err_len);

/* The color a model is drawn in, the same in every plot. */
const char *bench_model_color(const char *model);

#endif
