/*
 * demo_load.c — starting and switching the demo's load (see demo_load.h).
 *
 * Design.  Load is never changed in place: switching a pattern stops the
 * old `evlab load` children and starts new ones.  That keeps each load
 * child's report about exactly one pattern, and keeps this file free of
 * any knowledge of how load is generated — it only builds command lines.
 *
 * Rates are deliberately modest: the demo runs three servers, three to
 * nine load generators and the view on one machine (the reference box
 * has two cores), and the point is the *shape* of each model's behaviour,
 * not its peak throughput.
 */
#include "demo_load.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_children.h"
#include "view_format.h"

/* How long a stopped load child may take to print its report. */
#define LOAD_STOP_GRACE_MS 1500

const struct demo_pattern demo_patterns[DEMO_PATTERNS] = {
    { "steady", "200 req/s of GET /", "10", "200", "/" },
    { "slow backend", "300 req/s, 1 in 10 waits 100 ms (/sleep/100)", "20", "300",
      "/:90,/sleep/100:10" },
    { "CPU burst", "100 req/s, 1 in 10 computes 30 ms (/cpu/30)", "10", "100",
      "/:90,/cpu/30:10" },
    { "blocking call", "100 req/s, 3 in 100 sleep 200 ms inside the handler", "10", "100",
      "/:97,/sleep/200?block=1:3" },
};

void demo_load_init(struct demo_load *load, char targets[][64], size_t count)
{
    memset(load, 0, sizeof *load);
    load->server_count = count < DEMO_SERVERS ? count : DEMO_SERVERS;
    for (size_t i = 0; i < load->server_count; i++) {
        snprintf(load->targets[i], sizeof load->targets[i], "%s", targets[i]);
        load->main_children[i] = load->cpu_children[i] = load->slow_children[i] = -1;
    }
    load->tour = true;
}

/* Finds the number after `key` (searching from `from`); false if absent. */
static bool json_number(const char *from, const char *key, uint64_t *out)
{
    const char *p = strstr(from, key);
    if (p == NULL)
        return false;
    p += strlen(key);
    while (*p == ' ' || *p == ':')
        p++;
    char *end;
    unsigned long long value = strtoull(p, &end, 10);
    if (end == p)
        return false;
    *out = value;
    return true;
}

bool demo_load_parse_report(const char *json, struct demo_client_totals *into)
{
    uint64_t requests, errors = 0, p99 = 0, max = 0;
    /* The top-level "requests" comes before the per-path ones in "mix". */
    if (strstr(json, "\"mode\"") == NULL || !json_number(json, "\"requests\"", &requests))
        return false;
    const char *latency = strstr(json, "\"latency_ns\"");
    if (latency != NULL) {
        json_number(latency, "\"p99\"", &p99);
        json_number(latency, "\"max\"", &max);
    }
    const char *error_block = strstr(json, "\"errors\"");
    if (error_block != NULL)
        json_number(error_block, "\"total\"", &errors);
    into->requests += requests;
    into->errors += errors;
    if (p99 > into->worst_p99_ns)
        into->worst_p99_ns = p99;
    if (max > into->max_ns)
        into->max_ns = max;
    into->runs++;
    return true;
}

/* Starts `evlab load` against server i with extra arguments. */
static int start_one(struct demo_load *load, size_t server, const char *label,
                     const char *const *extra)
{
    char *argv[24];
    size_t n = 0;
    argv[n++] = "evlab";
    argv[n++] = "load";
    argv[n++] = "--quiet";
    argv[n++] = "--json";
    argv[n++] = "--warmup";
    argv[n++] = "0";
    argv[n++] = "-d";
    argv[n++] = "24h";
    while (*extra != NULL && n < 22)
        argv[n++] = (char *)*extra++;
    argv[n++] = load->targets[server];
    argv[n] = NULL;
    char err[160];
    int index = demo_child_spawn(label, argv, err, sizeof err);
    if (index < 0)
        snprintf(load->problem, sizeof load->problem, "could not start load: %.100s", err);
    return index;
}

/* Stops the children in `slots`, adds their reports, frees the slots. */
static void stop_group(struct demo_load *load, int *slots)
{
    for (size_t i = 0; i < load->server_count; i++)
        demo_child_signal(slots[i], SIGTERM);
    for (size_t i = 0; i < load->server_count; i++) {
        if (slots[i] < 0)
            continue;
        demo_child_stop(slots[i], LOAD_STOP_GRACE_MS);
        struct demo_child *child = demo_child_get(slots[i]);
        if (child != NULL)
            demo_load_parse_report(child->output, &load->totals[i]);
        demo_child_release(slots[i]);
        slots[i] = -1;
    }
}

static void note_pattern_seen(struct demo_load *load, int pattern)
{
    const char *name = demo_patterns[pattern].name;
    if (strstr(load->patterns_seen, name) != NULL)
        return;
    size_t used = strlen(load->patterns_seen);
    snprintf(load->patterns_seen + used, sizeof load->patterns_seen - used, "%s%s",
             used ? ", " : "", name);
}

static void start_pattern(struct demo_load *load, int pattern, uint64_t now_ns)
{
    stop_group(load, load->main_children);
    load->pattern = pattern;
    load->pattern_since_ns = now_ns;
    note_pattern_seen(load, pattern);
    const struct demo_pattern *p = &demo_patterns[pattern];
    const char *extra[] = { "-c", p->connections, "-R", p->rate, "--mix", p->mix, NULL };
    for (size_t i = 0; i < load->server_count; i++)
        load->main_children[i] = start_one(load, i, "load", extra);
}

void demo_load_select(struct demo_load *load, int pattern, uint64_t now_ns)
{
    if (pattern < 0) {
        /* The tour restarts from the current pattern's beginning. */
        load->tour = true;
        start_pattern(load, load->pattern, now_ns);
        return;
    }
    load->tour = false;
    start_pattern(load, pattern % DEMO_PATTERNS, now_ns);
}

void demo_load_toggle_cpu(struct demo_load *load)
{
    load->cpu = !load->cpu;
    if (!load->cpu) {
        stop_group(load, load->cpu_children);
        return;
    }
    const char *extra[] = { "-c", "2", "-R", "4", "--mix", "/cpu/40", NULL };
    for (size_t i = 0; i < load->server_count; i++)
        load->cpu_children[i] = start_one(load, i, "load-cpu", extra);
}

void demo_load_toggle_slow(struct demo_load *load)
{
    load->slow = !load->slow;
    if (!load->slow) {
        stop_group(load, load->slow_children);
        return;
    }
    const char *extra[] = { "--idle", "-c", "20", NULL };
    for (size_t i = 0; i < load->server_count; i++)
        load->slow_children[i] = start_one(load, i, "load-slow", extra);
}

/* A load child that ended by itself failed (they run for 24 h): say so. */
static void check_group(struct demo_load *load, int *slots, const char *what)
{
    for (size_t i = 0; i < load->server_count; i++) {
        struct demo_child *child = demo_child_get(slots[i]);
        if (child == NULL || child->running)
            continue;
        demo_child_drain(slots[i]);
        char first[120];
        snprintf(first, sizeof first, "%.119s", child->output);
        char *newline = strchr(first, '\n');
        if (newline != NULL)
            *newline = '\0';
        snprintf(load->problem, sizeof load->problem, "%s load for %.24s stopped: %.80s", what,
                 load->targets[i], first[0] ? first : "(no message)");
        demo_load_parse_report(child->output, &load->totals[i]);
        demo_child_release(slots[i]);
        slots[i] = -1;
    }
}

void demo_load_tick(struct demo_load *load, uint64_t now_ns)
{
    /* The pipes must be drained while the children run, or a child that
     * prints a lot would block on a full pipe. */
    for (size_t i = 0; i < load->server_count; i++) {
        demo_child_drain(load->main_children[i]);
        demo_child_drain(load->cpu_children[i]);
        demo_child_drain(load->slow_children[i]);
    }
    check_group(load, load->main_children, "main");
    check_group(load, load->cpu_children, "CPU");
    check_group(load, load->slow_children, "slow-client");
    if (load->tour && now_ns - load->pattern_since_ns >= DEMO_TOUR_SECONDS * 1000000000ull)
        start_pattern(load, (load->pattern + 1) % DEMO_PATTERNS, now_ns);
}

void demo_load_status(const struct demo_load *load, uint64_t now_ns, char *buf, size_t len)
{
    const struct demo_pattern *p = &demo_patterns[load->pattern];
    char next[48] = "";
    if (load->tour) {
        uint64_t elapsed = (now_ns - load->pattern_since_ns) / 1000000000ull;
        uint64_t left = elapsed < DEMO_TOUR_SECONDS ? DEMO_TOUR_SECONDS - elapsed : 0;
        snprintf(next, sizeof next, ", next in %llu s", (unsigned long long)left);
    }
    snprintf(buf, len, " load %s %d/%d %s: %s%s | c cpu %s | s slow clients %s | 1-4 t c s%s%s",
             load->tour ? "tour" : "pattern", load->pattern + 1, DEMO_PATTERNS, p->name,
             p->what, next, load->cpu ? "ON" : "off", load->slow ? "ON" : "off",
             load->problem[0] ? " | " : "", load->problem);
}

void demo_load_stop(struct demo_load *load)
{
    stop_group(load, load->main_children);
    stop_group(load, load->cpu_children);
    stop_group(load, load->slow_children);
}
