/*
 * bench_run.c — run the sweep (see the header).
 *
 * Design: the sweep is three nested loops around one function,
 * bench_run_one(), which is the whole life of one run: start a server,
 * run the load with a progress hook, stop the server.  The hook is where
 * the server gets measured: load_run() calls it when the warm-up ends
 * (first /proc sample), every 250 ms (thread count; it changes as the
 * thread model spawns and reaps), and once more just before the
 * connections close (last sample) — so the numbers describe the server
 * under load, not the server shutting down.
 */
#include "bench/bench_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_procstat.h"
#include "load/load_run.h"
#include "spawn/spawn.h"

/* Seconds a run costs beyond warm-up + duration (start, stop). */
#define BENCH_RUN_OVERHEAD_S 0.4
/* How long a server may take to exit after SIGTERM before SIGKILL. */
#define BENCH_SERVER_STOP_MS 5000

struct run_probe {
    pid_t pid;
    struct bench_row *row;
    struct bench_proc_sample first, last;
    bool have_first, have_last;
    const struct bench_config *cfg;
    const struct bench_run_options *options;
    struct bench_status status;
};

static double run_seconds(const struct bench_config *cfg)
{
    return (double)(cfg->warmup_ns + cfg->duration_ns) / 1e9 + BENCH_RUN_OVERHEAD_S;
}

static void on_load_progress(const struct load_progress *p, void *data)
{
    struct run_probe *probe = data;
    struct bench_proc_sample sample;

    if (bench_proc_read(probe->pid, &sample) == 0) {
        if (sample.threads > probe->row->threads_max)
            probe->row->threads_max = sample.threads;
        if (p->phase == LOAD_PHASE_MEASURE && !probe->have_first) {
            probe->first = sample;
            probe->have_first = true;
        }
        if (p->phase == LOAD_PHASE_DONE) {
            probe->last = sample;
            probe->have_last = true;
        }
    }
    if (probe->options->progress != NULL && p->phase != LOAD_PHASE_DONE) {
        double total = (double)p->total_ns;
        probe->status.run_fraction = total > 0 ? (double)p->elapsed_ns / total : 1;
        probe->status.seconds_left =
            (double)(probe->status.total - probe->status.index) * run_seconds(probe->cfg) -
            probe->status.run_fraction * (run_seconds(probe->cfg) - BENCH_RUN_OVERHEAD_S);
        probe->options->progress(&probe->status, probe->options->progress_data);
    }
}

static int bench_run_one(const struct bench_config *cfg, const struct bench_run_options *options,
                         const char *model, const struct bench_workload *workload,
                         uint32_t connections, struct bench_row *row, struct bench_status *status,
                         char *err, size_t err_len)
{
    /* The server's stderr (warnings and errors only) goes to the log the
     * caller chose, so nothing a server says can scramble the progress
     * bar; its stdout is the pipe spawn_serve() reads the port from. */
    const char *loop_args[] = { "--model", model, "--backend", cfg->loop_backend, NULL };
    const char *other_args[] = { "--model", model, NULL };
    struct spawn_child server;
    int rc;

    memset(row, 0, sizeof *row);
    snprintf(row->model, sizeof row->model, "%s", model);
    snprintf(row->workload, sizeof row->workload, "%s", workload->name);
    row->connections = connections;

    rc = spawn_serve(&server, options->evlab_path,
                     strcmp(model, "loop") == 0 ? loop_args : other_args,
                     options->server_log_fd >= 0 ? options->server_log_fd : SPAWN_STDERR_NULL, 0,
                     err, err_len);
    if (rc < 0)
        return rc;

    struct load_config lc;
    load_config_defaults(&lc);
    lc.port = server.port;
    lc.connections = connections;
    lc.duration_ns = cfg->duration_ns;
    lc.warmup_ns = cfg->warmup_ns;
    lc.timeout_ns = cfg->timeout_ns;
    lc.mix = workload->mix;
    rc = load_target_resolve(&lc, err, err_len);

    struct run_probe probe = {
        .pid = server.pid, .row = row, .cfg = cfg, .options = options, .status = *status,
    };
    struct load_run_options lo = {
        .progress = on_load_progress,
        .progress_data = &probe,
        .progress_interval_ms = 250,
        .stop_flag = options->stop_flag,
    };
    struct load_result *result = malloc(sizeof *result);
    if (rc == 0 && result == NULL) {
        snprintf(err, err_len, "out of memory");
        rc = -ENOMEM;
    }
    if (rc == 0)
        rc = load_run(&lc, &lo, result, err, err_len);
    /* A server that is gone before we stop it (crashed, or killed by
     * someone else) makes this point meaningless: say so. */
    row->server_died = !spawn_running(&server);
    row->server_exit = spawn_stop(&server, BENCH_SERVER_STOP_MS);
    if (rc < 0) {
        free(result);
        return rc;
    }

    row->requests = result->requests;
    row->requests_per_sec = result->requests_per_sec;
    row->p50_ns = histogram_percentile(&result->latency, 50);
    row->p90_ns = histogram_percentile(&result->latency, 90);
    row->p99_ns = histogram_percentile(&result->latency, 99);
    row->p999_ns = histogram_percentile(&result->latency, 99.9);
    row->max_ns = histogram_max(&result->latency);
    row->errors_total = result->errors_total;
    memcpy(row->errors, result->errors, sizeof row->errors);
    row->unanswered = result->unanswered;
    row->unanswered_oldest_ns = result->unanswered_oldest_ns;
    if (probe.have_last) {
        row->peak_rss_kb = probe.last.vm_hwm_kb;
        if (probe.have_first) {
            row->cpu_ms = probe.last.cpu_ms - probe.first.cpu_ms;
            /* Threads that exited in the window take their counts with
             * them; never report a negative difference. */
            row->voluntary_ctxt = probe.last.voluntary_ctxt > probe.first.voluntary_ctxt
                ? probe.last.voluntary_ctxt - probe.first.voluntary_ctxt : 0;
            row->involuntary_ctxt = probe.last.involuntary_ctxt > probe.first.involuntary_ctxt
                ? probe.last.involuntary_ctxt - probe.first.involuntary_ctxt : 0;
        }
    }
    free(result);
    return 0;
}

int bench_run_sweep(const struct bench_config *cfg, const struct bench_run_options *options,
                    struct bench_row *rows, size_t *done, char *err, size_t err_len)
{
    struct bench_status status = { .total = bench_run_count(cfg) };

    *done = 0;
    for (size_t w = 0; w < cfg->workload_count; w++) {
        for (size_t m = 0; m < cfg->model_count; m++) {
            for (size_t l = 0; l < cfg->level_count; l++) {
                if (options->stop_flag != NULL && *options->stop_flag)
                    return -EINTR;
                status.model = cfg->models[m];
                status.workload = cfg->workloads[w].name;
                status.connections = cfg->connections[l];
                status.run_fraction = 0;
                status.finished = NULL;
                int rc = bench_run_one(cfg, options, cfg->models[m], &cfg->workloads[w],
                                       cfg->connections[l], &rows[*done], &status, err, err_len);
                if (rc < 0)
                    return rc;
                status.finished = &rows[*done];
                status.run_fraction = 1;
                status.index++;
                (*done)++;
                status.seconds_left = (double)(status.total - status.index) * run_seconds(cfg);
                if (options->progress != NULL)
                    options->progress(&status, options->progress_data);
            }
        }
    }
    return 0;
}

void bench_status_format(const struct bench_status *st, char *out, size_t out_len)
{
    char bar[21];
    double done = st->total > 0 ? ((double)st->index + (st->finished ? 0 : st->run_fraction)) /
                                  (double)st->total : 1;
    size_t filled = (size_t)(done * 20 + 0.5);
    unsigned left = (unsigned)(st->seconds_left > 0 ? st->seconds_left + 0.5 : 0);

    if (filled > 20)
        filled = 20;
    memset(bar, '#', filled);
    memset(bar + filled, '-', 20 - filled);
    bar[20] = '\0';
    snprintf(out, out_len, "[%s] %2zu/%zu  %-8s %5u conns  %-8s ~%um%02us left", bar,
             st->index + (st->finished ? 0 : 1), st->total, st->model ? st->model : "",
             st->connections, st->workload ? st->workload : "", left / 60, left % 60);
}
