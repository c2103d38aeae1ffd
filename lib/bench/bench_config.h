/*
 * bench_config.h — what one `evlab bench` sweep covers: which server
 * models, which connection counts, which workloads, and for how long.
 *
 * Defaults (bench_config_defaults): the three models, 1, 10, 100 and 1000
 * connections, the workloads "root" (GET /) and "mix" (90% GET /, 10%
 * GET /sleep/50), 4 s measured after 1 s of warm-up per run: 24 runs,
 * about 2.5 minutes.
 *
 * Workload presets: root = "/", mix = "/:90,/sleep/50:10",
 * sleep = "/sleep/50", cpu = "/cpu/1".  A custom one is NAME=MIX, with
 * MIX in the syntax of `evlab load --mix`.
 *
 * Parsers are pure and fill `err` with one sentence on -EINVAL.
 * Ownership: plain values, owned by the caller.
 */
#ifndef EVLAB_BENCH_CONFIG_H
#define EVLAB_BENCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "load/load_config.h"

#define BENCH_MAX_MODELS      3
#define BENCH_MAX_LEVELS      12
#define BENCH_MAX_WORKLOADS   6
#define BENCH_NAME_MAX        32

struct bench_workload {
    char name[BENCH_NAME_MAX];     /* used in file names: [a-z0-9_-] */
    char mix_text[256];
    struct load_mix mix;
};

struct bench_config {
    char models[BENCH_MAX_MODELS][16];
    size_t model_count;
    uint32_t connections[BENCH_MAX_LEVELS];
    size_t level_count;
    struct bench_workload workloads[BENCH_MAX_WORKLOADS];
    size_t workload_count;
    uint64_t duration_ns;
    uint64_t warmup_ns;
    uint64_t timeout_ns;           /* per request, as evlab load --timeout */
    const char *loop_backend;      /* passed to the loop model's --backend */
};

void bench_config_defaults(struct bench_config *cfg);

/* "loop,threads" — each one of blocking, threads, loop, at most once. */
int bench_parse_models(const char *text, struct bench_config *cfg, char *err, size_t err_len);

/* "1,10,100,1000" — ascending or not, each 1..LOAD_MAX_CONNECTIONS;
 * stored sorted ascending, duplicates refused. */
int bench_parse_levels(const char *text, struct bench_config *cfg, char *err, size_t err_len);

/* "root,mix" (presets, separated by ',' or ';') or
 * "fast=/;slow=/:50,/sleep/100:50" (custom ones need ';' as separator,
 * since a MIX contains commas). */
int bench_parse_workloads(const char *text, struct bench_config *cfg, char *err, size_t err_len);

/* Runs in the sweep: models x levels x workloads. */
size_t bench_run_count(const struct bench_config *cfg);

#endif
