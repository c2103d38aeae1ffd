/*
 * lesson_run.h — playing a scenario (lesson_scenario.h) on real servers:
 * start them, move from step to step, set the loads each step runs,
 * measure its window, evaluate the claims.  No terminal: the plain
 * player (lesson_plain.h) and the live player (viz/lesson_player.h) both
 * drive a run the same way, by calling lesson_run_tick() regularly.
 *
 * A step goes through three phases:
 *     SETTLING   the loads were just changed; nothing is measured yet
 *     MEASURING  the window is open (lesson_measure.h)
 *     MEASURED   the step's values are in lesson_run_values()
 * Entering a step (forward or back) sets the running loads to exactly
 * those the step runs (lesson_load_runs_in_step()) and measures again.
 *
 * Processes.  Servers and loads are `evlab serve` / `evlab load` child
 * processes started through the caller's struct lesson_spawner, so this
 * library does not decide how children are started, watched and stopped
 * (the evlab program uses viz/demo_children.h).  Servers are named
 * "lesson-NN-NAME-PID"; each load publishes itself as "load-PORT-PID"
 * (load_run.h) and is attached by that name.
 *
 * Errors: 0 or a negative errno with a message in err.
 * Ownership: lesson_run_new() allocates; lesson_run_free() stops every
 * child it started and frees.  The scenario must outlive the run.
 */
#ifndef EVLAB_LESSON_RUN_H
#define EVLAB_LESSON_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lesson/lesson_claim.h"
#include "lesson/lesson_scenario.h"
#include "probe/probe.h"

struct lesson_spawner {
    void *context;
    /* Starts `evlab argv[1]...`; returns an id >= 0 or a negative errno. */
    int (*start)(void *context, const char *label, char *const argv[], char *err,
                 size_t err_len);
    /* The child's first whole line of output, waiting up to timeout_ms. */
    int (*first_line)(void *context, int id, char *line, size_t len, unsigned timeout_ms);
    int (*pid)(void *context, int id);
    /* Whether it is still running (after reaping what exited). */
    bool (*running)(void *context, int id);
    /* Stops it (SIGTERM, then SIGKILL after grace_ms) and forgets the id. */
    void (*stop)(void *context, int id, unsigned grace_ms);
    /* Drains children's output so none blocks on a full pipe. */
    void (*poll)(void *context);
};

enum lesson_phase { LESSON_PHASE_SETTLING = 0, LESSON_PHASE_MEASURING, LESSON_PHASE_MEASURED };

struct lesson_run;

int lesson_run_new(struct lesson_run **out, const struct lesson_scenario *scenario,
                   const struct lesson_spawner *spawner, uint64_t seed,
                   char *err, size_t err_len);
void lesson_run_free(struct lesson_run *run);

/* Starts every server and attaches to its instrumentation.  `progress`
 * (may be NULL) gets one line per server started. */
int lesson_run_start_servers(struct lesson_run *run, void (*progress)(const char *line),
                             char *err, size_t err_len);

/* Instrumentation name of server i (for the live view). */
const char *lesson_run_server_name(const struct lesson_run *run, size_t server);

/* Enters step `step` (0-based): sets the loads and starts settling. */
int lesson_run_enter_step(struct lesson_run *run, size_t step, uint64_t now_ns,
                          char *err, size_t err_len);

/* Advances the phases, samples the window; call every LESSON_SAMPLE_MS. */
void lesson_run_tick(struct lesson_run *run, uint64_t now_ns);

size_t lesson_run_step(const struct lesson_run *run);
enum lesson_phase lesson_run_phase(const struct lesson_run *run);
/* Time left in the current phase (0 when MEASURED). */
uint64_t lesson_run_phase_left_ns(const struct lesson_run *run, uint64_t now_ns);

const struct lesson_values *lesson_run_values(const struct lesson_run *run);

/* "client_p99(fast) = 1.20 ms": show `index` of the current step, as
 * measured (or "... measuring" while it is not). */
void lesson_run_show_text(const struct lesson_run *run, size_t step, size_t index,
                          char *buf, size_t len);

/* A problem to show instead of values (a load or server died), or "". */
const char *lesson_run_problem(const struct lesson_run *run);

#endif
