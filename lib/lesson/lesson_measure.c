/*
 * lesson_measure.c — one step's measuring window (see lesson_measure.h).
 *
 * Design.  Begin copies a snapshot of every source; end takes another and
 * subtracts: histogram_window() for the latency histograms, plain
 * differences for counters.  Between them, samples keep the peaks that a
 * pair of snapshots cannot show (how many threads at most, how long the
 * longest handler had been running when we looked).  The values are then
 * written into the lesson's table (struct lesson_values) under the
 * step's number, so a claim reads "during step 2" as a table lookup.
 *
 * How long a handler has been running is read from the thread states in
 * the segment: a thread in a handler, or blocked in sleep() or on a lock
 * (a handler of the threaded models waiting inside its work), has been so
 * since its state's timestamp.  On the loop, any such thread other than a
 * worker is the loop itself, and past the budget it is blocked: that is
 * the same rule the live view uses for its red warning.
 */
#include "lesson/lesson_measure.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS 1000000ull

int64_t lesson_meminfo_kernel_stack(const char *text)
{
    const char *at = strstr(text, "KernelStack:");
    if (at == NULL)
        return -1;
    long long kb = 0;
    if (sscanf(at, "KernelStack: %lld kB", &kb) != 1)
        return -1;
    return kb * 1024;
}

static int64_t read_kernel_stack(void)
{
    FILE *file = fopen("/proc/meminfo", "r");
    if (file == NULL)
        return -1;
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[n] = '\0';
    return lesson_meminfo_kernel_stack(text);
}

/* What "queued" adds up to: every part a model publishes (the parts a
 * model does not have stay 0), or the server's own total if larger. */
static int64_t queued_total(const int64_t *gauges)
{
    static const enum probe_gauge parts[] = {
        PROBE_GAUGE_Q_ACCEPT_BACKLOG, PROBE_GAUGE_Q_PIPELINED, PROBE_GAUGE_Q_UNDISPATCHED,
        PROBE_GAUGE_Q_TIMERS_EXPIRED, PROBE_GAUGE_Q_COMPLETIONS, PROBE_GAUGE_Q_RUNNABLE,
    };
    int64_t sum = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (gauges[parts[i]] > 0)
            sum += gauges[parts[i]];
    return gauges[PROBE_GAUGE_QUEUED] > sum ? gauges[PROBE_GAUGE_QUEUED] : sum;
}

/* The longest any thread has been inside a handler right now, and
 * whether, on the loop, the loop thread itself is the one. */
static void handler_ages(const struct probe_snapshot *snap, bool is_loop, uint64_t budget_ns,
                         uint64_t *longest, bool *blocked)
{
    for (size_t i = 0; i < snap->thread_count && i < PROBE_MAX_RINGS; i++) {
        const struct probe_thread_info *t = &snap->threads[i];
        bool in_handler = t->state == PROBE_STATE_HANDLER ||
                          (t->state == PROBE_STATE_BLOCKED &&
                           (t->call == PROBE_CALL_SLEEP || t->call == PROBE_CALL_LOCK));
        if (!in_handler || t->since_ns == 0 || snap->taken_ns <= t->since_ns)
            continue;
        uint64_t age = snap->taken_ns - t->since_ns;
        if (age > *longest)
            *longest = age;
        if (is_loop && strncmp(t->role, "worker", 6) != 0 && age > budget_ns)
            *blocked = true;
    }
}

static void proc_sample(struct lesson_source_state *state, int pid)
{
    struct bench_proc_sample sample;
    if (pid <= 0 || bench_proc_read(pid, &sample) < 0)
        return;
    int64_t rss = (int64_t)sample.vm_rss_kb * 1024;
    if (rss > state->rss_bytes)
        state->rss_bytes = rss;
}

int lesson_window_begin(struct lesson_window *window, const struct lesson_source *sources,
                        uint64_t budget_ns, uint64_t now_ns)
{
    memset(window, 0, sizeof *window);
    window->begin_ns = now_ns;
    window->budget_ns = budget_ns;
    window->next_proc_ns = now_ns;
    window->kernel_stack_bytes = read_kernel_stack();
    window->scratch = malloc(sizeof *window->scratch);
    if (window->scratch == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < LESSON_TARGETS; i++) {
        const struct lesson_source *source = &sources[i];
        struct lesson_source_state *state = &window->states[i];
        state->rss_bytes = -1;
        if (source->reader == NULL)
            continue;
        state->begin = malloc(sizeof *state->begin);
        if (state->begin == NULL)
            continue;
        if (probe_reader_snapshot(source->reader, state->begin) == 0)
            state->have_begin = true;
        state->have_proc_begin =
            source->pid > 0 && bench_proc_read(source->pid, &state->proc_begin) == 0;
    }
    lesson_window_sample(window, sources, now_ns);
    return 0;
}

void lesson_window_sample(struct lesson_window *window, const struct lesson_source *sources,
                          uint64_t now_ns)
{
    bool proc_due = now_ns >= window->next_proc_ns;
    if (proc_due) {
        window->next_proc_ns = now_ns + LESSON_PROC_SAMPLE_MS * NS_PER_MS;
        int64_t stack = read_kernel_stack();
        if (stack > window->kernel_stack_bytes)
            window->kernel_stack_bytes = stack;
    }
    if (window->scratch == NULL)
        return;
    for (size_t i = 0; i < LESSON_TARGETS; i++) {
        const struct lesson_source *source = &sources[i];
        struct lesson_source_state *state = &window->states[i];
        if (source->reader == NULL || probe_reader_snapshot(source->reader, window->scratch) < 0)
            continue;
        const int64_t *g = window->scratch->gauges;
        if (g[PROBE_GAUGE_THREADS] > state->threads)
            state->threads = g[PROBE_GAUGE_THREADS];
        if (g[PROBE_GAUGE_CONNECTIONS] > state->connections)
            state->connections = g[PROBE_GAUGE_CONNECTIONS];
        int64_t queued = queued_total(g);
        if (queued > state->queued)
            state->queued = queued;
        if (g[PROBE_GAUGE_WORK_QUEUED] > state->work_queued)
            state->work_queued = g[PROBE_GAUGE_WORK_QUEUED];
        if (g[PROBE_GAUGE_OUTPUT_QUEUED] > state->output_queued)
            state->output_queued = g[PROBE_GAUGE_OUTPUT_QUEUED];
        if (g[PROBE_GAUGE_READS_PAUSED] > state->reads_paused)
            state->reads_paused = g[PROBE_GAUGE_READS_PAUSED];
        handler_ages(window->scratch, source->is_loop, window->budget_ns,
                     &state->longest_handler_ns, &state->blocked);
        if (proc_due)
            proc_sample(state, source->pid);
    }
}

static void put(struct lesson_values *values, size_t step, enum lesson_metric metric,
                int target, double value)
{
    values->v[step][metric][target] = value;
    values->have[step][metric][target] = true;
}

/* Percentiles of a window histogram; nothing when it saw no request. */
static void put_latency(struct lesson_values *values, size_t step, int target,
                        const struct histogram *window, enum lesson_metric p50,
                        enum lesson_metric p99, enum lesson_metric max)
{
    if (histogram_count(window) == 0)
        return;
    put(values, step, p50, target, (double)histogram_percentile(window, 50));
    put(values, step, p99, target, (double)histogram_percentile(window, 99));
    put(values, step, max, target, (double)histogram_max(window));
}

void lesson_window_discard(struct lesson_window *window)
{
    for (size_t i = 0; i < LESSON_TARGETS; i++) {
        free(window->states[i].begin);
        window->states[i].begin = NULL;
    }
    free(window->scratch);
    window->scratch = NULL;
}

/* Client values of one load, or of every load of one server together. */
struct client_sum {
    struct histogram latency;
    int64_t requests, errors, connections;
    bool any;
};

void lesson_window_end(struct lesson_window *window, const struct lesson_source *sources,
                       uint64_t now_ns, struct lesson_values *values, size_t step)
{
    lesson_window_sample(window, sources, now_ns);
    double seconds = now_ns > window->begin_ns ? (double)(now_ns - window->begin_ns) / 1e9 : 0;
    struct histogram *hist = malloc(sizeof *hist);
    struct client_sum *sums = calloc(LESSON_MAX_SERVERS, sizeof *sums);
    struct probe_snapshot *end = window->scratch;
    if (hist == NULL || sums == NULL || end == NULL || step >= LESSON_MAX_STEPS) {
        free(hist);
        free(sums);
        lesson_window_discard(window);
        return;
    }
    memset(values->have[step], 0, sizeof values->have[step]);
    for (size_t s = 0; s < LESSON_MAX_SERVERS; s++)
        histogram_init(&sums[s].latency);

    for (int i = 0; i < LESSON_TARGETS - 1; i++) {
        const struct lesson_source *source = &sources[i];
        struct lesson_source_state *state = &window->states[i];
        if (source->reader == NULL || probe_reader_snapshot(source->reader, end) < 0)
            continue;
        /* A source attached after the window began counts from zero. */
        struct probe_snapshot *begin = state->have_begin ? state->begin : NULL;
        const int64_t *g = end->gauges;
        int64_t requests = g[PROBE_GAUGE_REQUESTS_DONE] -
                           (begin ? begin->gauges[PROBE_GAUGE_REQUESTS_DONE] : 0);
        bool is_load = i >= LESSON_MAX_SERVERS;
        struct histogram empty;
        histogram_init(&empty);
        if (is_load) {
            histogram_window(hist, &end->hists[PROBE_HIST_CLIENT_NS],
                             begin ? &begin->hists[PROBE_HIST_CLIENT_NS] : &empty);
            int64_t errors = g[PROBE_GAUGE_CLIENT_ERRORS] -
                             (begin ? begin->gauges[PROBE_GAUGE_CLIENT_ERRORS] : 0);
            put_latency(values, step, i, hist, LESSON_M_CLIENT_P50, LESSON_M_CLIENT_P99,
                        LESSON_M_CLIENT_MAX);
            put(values, step, LESSON_M_CLIENT_REQUESTS, i, (double)requests);
            put(values, step, LESSON_M_CLIENT_RPS, i, seconds > 0 ? (double)requests / seconds : 0);
            put(values, step, LESSON_M_CLIENT_ERRORS, i, (double)errors);
            put(values, step, LESSON_M_CLIENT_CONNECTIONS, i, (double)state->connections);
            if (source->server >= 0 && source->server < LESSON_MAX_SERVERS) {
                struct client_sum *sum = &sums[source->server];
                histogram_merge(&sum->latency, hist);
                sum->requests += requests;
                sum->errors += errors;
                sum->connections += state->connections;
                sum->any = true;
            }
            continue;
        }
        histogram_window(hist, &end->hists[PROBE_HIST_HANDLER_NS],
                         begin ? &begin->hists[PROBE_HIST_HANDLER_NS] : &empty);
        put_latency(values, step, i, hist, LESSON_M_HANDLER_P50, LESSON_M_HANDLER_P99,
                    LESSON_M_HANDLER_MAX);
        histogram_window(hist, &end->hists[PROBE_HIST_LOOP_LAG_NS],
                         begin ? &begin->hists[PROBE_HIST_LOOP_LAG_NS] : &empty);
        if (histogram_count(hist) > 0)
            put(values, step, LESSON_M_LOOP_LAG_P99, i, (double)histogram_percentile(hist, 99));
        put(values, step, LESSON_M_REQUESTS, i, (double)requests);
        put(values, step, LESSON_M_RPS, i, seconds > 0 ? (double)requests / seconds : 0);
        put(values, step, LESSON_M_LONGEST_HANDLER, i, (double)state->longest_handler_ns);
        put(values, step, LESSON_M_BLOCKED, i, state->blocked ? 1 : 0);
        put(values, step, LESSON_M_THREADS, i, (double)state->threads);
        put(values, step, LESSON_M_CONNECTIONS, i, (double)state->connections);
        put(values, step, LESSON_M_QUEUED, i, (double)state->queued);
        put(values, step, LESSON_M_WORK_QUEUED, i, (double)state->work_queued);
        put(values, step, LESSON_M_OUTPUT_QUEUED, i, (double)state->output_queued);
        put(values, step, LESSON_M_READS_PAUSED, i, (double)state->reads_paused);
        proc_sample(state, source->pid);
        if (state->rss_bytes >= 0)
            put(values, step, LESSON_M_RSS, i, (double)state->rss_bytes);
        struct bench_proc_sample proc_end;
        if (state->have_proc_begin && bench_proc_read(source->pid, &proc_end) == 0) {
            put(values, step, LESSON_M_CPU, i,
                (double)(proc_end.cpu_ms - state->proc_begin.cpu_ms) * 1e6);
            put(values, step, LESSON_M_CTX_SWITCHES, i,
                (double)((proc_end.voluntary_ctxt + proc_end.involuntary_ctxt) -
                         (state->proc_begin.voluntary_ctxt + state->proc_begin.involuntary_ctxt)));
        }
    }
    /* A server as a client target: every load on it together. */
    for (int s = 0; s < LESSON_MAX_SERVERS; s++) {
        struct client_sum *sum = &sums[s];
        if (!sum->any)
            continue;
        put_latency(values, step, s, &sum->latency, LESSON_M_CLIENT_P50, LESSON_M_CLIENT_P99,
                    LESSON_M_CLIENT_MAX);
        put(values, step, LESSON_M_CLIENT_REQUESTS, s, (double)sum->requests);
        put(values, step, LESSON_M_CLIENT_RPS, s, seconds > 0 ? (double)sum->requests / seconds : 0);
        put(values, step, LESSON_M_CLIENT_ERRORS, s, (double)sum->errors);
        put(values, step, LESSON_M_CLIENT_CONNECTIONS, s, (double)sum->connections);
    }
    if (window->kernel_stack_bytes >= 0)
        put(values, step, LESSON_M_KERNEL_STACK, LESSON_TARGET_MACHINE,
            (double)window->kernel_stack_bytes);
    values->measured[step] = true;
    free(hist);
    free(sums);
    lesson_window_discard(window);
}
