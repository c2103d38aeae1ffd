/*
 * bench_run.h — the sweep behind `evlab bench`: for every workload,
 * model and connection count, start a fresh server, load it (closed
 * loop, the same code as `evlab load`), sample what the server costs,
 * stop it.  One server at a time, so runs never compete for the CPU.
 *
 * What one run records (struct bench_row):
 *   - from the load generator: replies, req/s, latency percentiles
 *     (log-linear histogram, within 3.125%), errors by kind;
 *   - from /proc of the server (bench_procstat.h): peak RSS (VmHWM) and
 *     the most threads seen while the load ran; CPU time and voluntary /
 *     involuntary context switches *during the measured window*
 *     (difference between a sample when the warm-up ends and one just
 *     before the connections close).
 *
 * Progress: bench_run_sweep() calls `progress` a few times a second with
 * the run in progress, and once after each run with its row.
 *
 * Ownership: the caller owns cfg and the rows array (bench_run_count()
 * entries).  Errors: 0, or a negative errno when a server could not be
 * started (the rows done so far stay valid, *done says how many).
 */
#ifndef EVLAB_BENCH_RUN_H
#define EVLAB_BENCH_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/bench_config.h"
#include "load/load_client.h"

struct bench_row {
    char model[16];
    char workload[BENCH_NAME_MAX];
    uint32_t connections;

    uint64_t requests;
    double requests_per_sec;
    uint64_t p50_ns, p90_ns, p99_ns, p999_ns, max_ns;
    uint64_t errors_total;
    uint64_t errors[LOAD_ERR_COUNT];
    uint64_t unanswered;           /* no reply yet at the end (load_run.h) */
    uint64_t unanswered_oldest_ns;

    uint64_t peak_rss_kb;
    uint32_t threads_max;
    uint64_t cpu_ms;
    uint64_t voluntary_ctxt;
    uint64_t involuntary_ctxt;
    int server_exit;               /* 0 = stopped cleanly */
    bool server_died;              /* exited before we stopped it: invalid */
};

struct bench_status {
    size_t index;                  /* run number, 0-based */
    size_t total;
    const char *model;
    const char *workload;
    uint32_t connections;
    double run_fraction;           /* 0..1 of this run's load time */
    double seconds_left;           /* estimate for the whole sweep */
    const struct bench_row *finished;   /* set once, when the run ends */
};

typedef void (*bench_progress_cb)(const struct bench_status *status, void *data);

struct bench_run_options {
    const char *evlab_path;        /* the binary to run as server */
    int server_log_fd;             /* servers' stderr; -1 = /dev/null */
    bench_progress_cb progress;
    void *progress_data;
    volatile sig_atomic_t *stop_flag;   /* set to abandon the sweep */
};

int bench_run_sweep(const struct bench_config *cfg, const struct bench_run_options *options,
                    struct bench_row *rows, size_t *done, char *err, size_t err_len);

/* "[########----------]  7/24  loop  100 conns  mix   ~1m12s left" */
void bench_status_format(const struct bench_status *status, char *out, size_t out_len);

#endif
