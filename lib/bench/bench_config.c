/*
 * bench_config.c — defaults and the list options of `evlab bench`
 * (see the header).  Each list is split on its separator and every item
 * is checked on its own, so a message can quote the one that is wrong.
 */
#include "bench/bench_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/decimal.h"

static const char *const known_models[] = { "blocking", "threads", "loop" };

static const struct { const char *name, *mix; } presets[] = {
    { "root",  "/" },
    { "mix",   "/:90,/sleep/50:10" },
    { "sleep", "/sleep/50" },
    { "cpu",   "/cpu/1" },
};

static int workload_set(struct bench_workload *w, const char *name, size_t name_len,
                        const char *mix, char *err, size_t err_len)
{
    if (name_len == 0 || name_len >= sizeof w->name) {
        snprintf(err, err_len, "workload name '%.*s' must be 1..%d characters",
                 (int)name_len, name, BENCH_NAME_MAX - 1);
        return -EINVAL;
    }
    /* The name becomes part of a file name: keep it to safe characters. */
    for (size_t i = 0; i < name_len; i++) {
        char c = name[i];
        if (!isalnum((unsigned char)c) && c != '_' && c != '-') {
            snprintf(err, err_len, "workload name '%.*s' may only use letters, digits, '-' and '_'",
                     (int)name_len, name);
            return -EINVAL;
        }
    }
    if (strlen(mix) >= sizeof w->mix_text) {
        snprintf(err, err_len, "the mix of workload '%.*s' is too long", (int)name_len, name);
        return -EINVAL;
    }
    char mix_err[256];
    if (load_mix_parse(mix, &w->mix, mix_err, sizeof mix_err) < 0) {
        snprintf(err, err_len, "workload '%.*s': %s", (int)name_len, name, mix_err);
        return -EINVAL;
    }
    memcpy(w->name, name, name_len);
    w->name[name_len] = '\0';
    snprintf(w->mix_text, sizeof w->mix_text, "%s", mix);
    return 0;
}

void bench_config_defaults(struct bench_config *cfg)
{
    char err[256];

    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < BENCH_MAX_MODELS; i++)
        snprintf(cfg->models[i], sizeof cfg->models[i], "%s", known_models[i]);
    cfg->model_count = BENCH_MAX_MODELS;
    static const uint32_t levels[] = { 1, 10, 100, 1000 };
    for (size_t i = 0; i < 4; i++)
        cfg->connections[i] = levels[i];
    cfg->level_count = 4;
    (void)bench_parse_workloads("root,mix", cfg, err, sizeof err);
    cfg->duration_ns = 4 * NS_PER_S;
    cfg->warmup_ns = 1 * NS_PER_S;
    cfg->timeout_ns = 2 * NS_PER_S;
    cfg->loop_backend = "epoll";
}

int bench_parse_models(const char *text, struct bench_config *cfg, char *err, size_t err_len)
{
    char models[BENCH_MAX_MODELS][16];
    size_t count = 0;
    const char *s = text;

    for (;;) {
        size_t len = strcspn(s, ",");
        size_t k;
        for (k = 0; k < BENCH_MAX_MODELS; k++)
            if (strlen(known_models[k]) == len && strncmp(s, known_models[k], len) == 0)
                break;
        if (k == BENCH_MAX_MODELS) {
            snprintf(err, err_len, "unknown model '%.*s' (expected blocking, threads or loop)",
                     (int)len, s);
            return -EINVAL;
        }
        for (size_t j = 0; j < count; j++)
            if (strcmp(models[j], known_models[k]) == 0) {
                snprintf(err, err_len, "model '%s' is listed twice", known_models[k]);
                return -EINVAL;
            }
        snprintf(models[count++], sizeof models[0], "%s", known_models[k]);
        if (s[len] == '\0')
            break;
        s += len + 1;
    }
    memcpy(cfg->models, models, sizeof models);
    cfg->model_count = count;
    return 0;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int bench_parse_levels(const char *text, struct bench_config *cfg, char *err, size_t err_len)
{
    uint32_t levels[BENCH_MAX_LEVELS];
    size_t count = 0;
    const char *s = text;

    for (;;) {
        size_t len = strcspn(s, ",");
        uint64_t v = 0;
        if (!decimal_parse(s, len, LOAD_MAX_CONNECTIONS, &v) || v < 1) {
            snprintf(err, err_len, "bad connection count '%.*s' (expected 1..%d, e.g. 1,10,100)",
                     (int)len, s, LOAD_MAX_CONNECTIONS);
            return -EINVAL;
        }
        if (count == BENCH_MAX_LEVELS) {
            snprintf(err, err_len, "more than %d connection counts", BENCH_MAX_LEVELS);
            return -EINVAL;
        }
        levels[count++] = (uint32_t)v;
        if (s[len] == '\0')
            break;
        s += len + 1;
    }
    qsort(levels, count, sizeof levels[0], compare_u32);
    for (size_t i = 1; i < count; i++)
        if (levels[i] == levels[i - 1]) {
            snprintf(err, err_len, "connection count %u is listed twice", levels[i]);
            return -EINVAL;
        }
    memcpy(cfg->connections, levels, count * sizeof levels[0]);
    cfg->level_count = count;
    return 0;
}

int bench_parse_workloads(const char *text, struct bench_config *cfg, char *err, size_t err_len)
{
    struct bench_workload parsed[BENCH_MAX_WORKLOADS];
    size_t count = 0;
    /* Custom workloads contain commas, so with any '=' only ';' splits. */
    const char *separators = strchr(text, '=') != NULL ? ";" : ",;";
    const char *s = text;

    for (;;) {
        size_t len = strcspn(s, separators);
        const char *eq = memchr(s, '=', len);
        int rc;

        if (count == BENCH_MAX_WORKLOADS) {
            snprintf(err, err_len, "more than %d workloads", BENCH_MAX_WORKLOADS);
            return -EINVAL;
        }
        if (eq != NULL) {
            char mix[256];
            snprintf(mix, sizeof mix, "%.*s", (int)(len - (size_t)(eq + 1 - s)), eq + 1);
            rc = workload_set(&parsed[count], s, (size_t)(eq - s), mix, err, err_len);
        } else {
            size_t k;
            for (k = 0; k < sizeof presets / sizeof presets[0]; k++)
                if (strlen(presets[k].name) == len && strncmp(s, presets[k].name, len) == 0)
                    break;
            if (k == sizeof presets / sizeof presets[0]) {
                snprintf(err, err_len, "unknown workload '%.*s' (presets: root, mix, sleep, cpu; "
                         "or NAME=MIX, e.g. 'slow=/:50,/sleep/100:50')", (int)len, s);
                return -EINVAL;
            }
            rc = workload_set(&parsed[count], presets[k].name, len, presets[k].mix, err, err_len);
        }
        if (rc < 0)
            return rc;
        for (size_t j = 0; j < count; j++)
            if (strcmp(parsed[j].name, parsed[count].name) == 0) {
                snprintf(err, err_len, "workload '%s' is listed twice", parsed[count].name);
                return -EINVAL;
            }
        count++;
        if (s[len] == '\0')
            break;
        s += len + 1;
    }
    memcpy(cfg->workloads, parsed, count * sizeof parsed[0]);
    cfg->workload_count = count;
    return 0;
}

size_t bench_run_count(const struct bench_config *cfg)
{
    return cfg->model_count * cfg->level_count * cfg->workload_count;
}
