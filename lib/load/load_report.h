/*
 * load_report.h — the result of `evlab load`, for people and for programs.
 *
 * Text: a few aligned lines in the spirit of wrk's summary.
 *
 * JSON (--json): one object, every latency in nanoseconds (integers, so
 * nothing is lost to rounding), fields in this order:
 *
 *   target              "127.0.0.1:8080"
 *   mode                "closed" | "open" | "idle"
 *   connections, pipeline
 *   rate                requests/s asked for (open loop), else 0
 *   duration_s, warmup_s   as asked
 *   elapsed_s           the measured window as it really was
 *   requests            replies received inside the measured window
 *   requests_per_sec
 *   bytes_read          whole run, warm-up included
 *   latency_ns          {min, mean, p50, p90, p99, p99_9, max}
 *   latency_from        "send" (closed loop) | "intended" (open loop:
 *                       corrected for coordinated omission)
 *   latency_relative_error  0.03125 (log-linear histogram)
 *   errors              {total, connect_refused, connect_timeout,
 *                        connect_other, timeout, reset, bad_status,
 *                        short_read, bad_response}
 *   status              {"2xx", "3xx", "4xx", "5xx", "other"}
 *   unsent              open loop: due in the window but never sent
 *   connects, max_open  successful connects; most open at once
 *   interrupted         true if stopped early (Ctrl-C)
 *   mix                 [{path, weight, requests}, ...]
 *
 * Nothing here allocates; output goes to the FILE given.
 */
#ifndef EVLAB_LOAD_REPORT_H
#define EVLAB_LOAD_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "load/load_config.h"
#include "load/load_run.h"

/* "850us", "12.3ms", "1.50s": three significant digits, a unit a person
 * reads at a glance. */
void load_format_ns(uint64_t ns, char *out, size_t out_len);

/* "mode" as in the JSON: closed, open or idle. */
const char *load_mode_name(const struct load_config *cfg);

void load_report_text(FILE *out, const struct load_config *cfg, const struct load_result *r);
void load_report_json(FILE *out, const struct load_config *cfg, const struct load_result *r);

#endif
