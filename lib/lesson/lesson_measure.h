/*
 * lesson_measure.h — one step's measuring window: what the servers and
 * the loads' clients did between lesson_window_begin() and
 * lesson_window_end(), as the values `show` and `check` lines name
 * (lesson_claim.h, lessons/FORMAT.md "Metrics").
 *
 * Sources, all read-only:
 *   - each server's instrumentation segment (probe_reader.h): handler and
 *     timer-lag histograms, requests, threads, connections, queued, and
 *     the thread states that say how long a handler has been running;
 *   - each running load's segment, model "load" (load_run.h): the latency
 *     its clients measured, replies, errors, open connections;
 *   - /proc: resident memory, CPU time and context switches of each
 *     server (bench_procstat.h), and KernelStack of /proc/meminfo.
 * Histograms and counters are differences between the end and the
 * beginning of the window; "most seen" values are the peak over samples
 * taken by lesson_window_sample() (call it every LESSON_SAMPLE_MS).
 *
 * Errors: none are fatal; a source that cannot be read leaves its values
 * unmeasured, and a claim that needs one then says so.
 * Ownership: the caller owns the window and the readers; the window
 * keeps pointers to the readers until lesson_window_end().
 */
#ifndef EVLAB_LESSON_MEASURE_H
#define EVLAB_LESSON_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lesson/lesson_claim.h"
#include "bench/bench_procstat.h"
#include "probe/probe_reader.h"

/* How often the "most seen" values are sampled: a 200 ms handler is seen
 * several times, and reading a few segments costs well under 1 ms. */
#define LESSON_SAMPLE_MS        50
/* /proc of a server with thousands of threads costs more: every 500 ms. */
#define LESSON_PROC_SAMPLE_MS   500

/* One source to measure: a server (reader + pid) or a load (reader). */
struct lesson_source {
    struct probe_reader *reader;  /* NULL: not attached (not measured) */
    int pid;                      /* servers: for /proc; 0 otherwise */
    bool is_loop;                 /* servers: the model is the event loop */
    int server;                   /* loads: the index of their server */
};

struct lesson_source_state {
    bool have_begin;
    struct probe_snapshot *begin; /* allocated by begin, freed by end */
    struct bench_proc_sample proc_begin;
    bool have_proc_begin;
    /* Peaks over the samples. */
    int64_t threads, connections, queued, work_queued;
    int64_t rss_bytes;
    uint64_t longest_handler_ns;
    bool blocked;
};

struct lesson_window {
    uint64_t begin_ns;
    uint64_t budget_ns;
    uint64_t next_proc_ns;
    int64_t kernel_stack_bytes;   /* peak; -1 unknown */
    struct lesson_source_state states[LESSON_TARGETS];
    struct probe_snapshot *scratch;
};

/* Starts a window over sources[0..LESSON_TARGETS) (targets as in
 * lesson_claim.h; entries with a NULL reader are skipped). */
int lesson_window_begin(struct lesson_window *window, const struct lesson_source *sources,
                        uint64_t budget_ns, uint64_t now_ns);

/* Takes one sample for the peaks. */
void lesson_window_sample(struct lesson_window *window, const struct lesson_source *sources,
                          uint64_t now_ns);

/* Ends the window and stores every value into values->v[step] (0-based). */
void lesson_window_end(struct lesson_window *window, const struct lesson_source *sources,
                       uint64_t now_ns, struct lesson_values *values, size_t step);

/* Frees what a window holds without storing anything (safe twice). */
void lesson_window_discard(struct lesson_window *window);

/* KernelStack from the text of /proc/meminfo, in bytes; -1 if absent. */
int64_t lesson_meminfo_kernel_stack(const char *meminfo_text);

#endif
