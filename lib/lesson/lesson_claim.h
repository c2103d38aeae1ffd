/*
 * lesson_claim.h — the measured values a lesson can name, and the small
 * expressions over them that `show` and `check` lines use
 * (lessons/FORMAT.md, "Claims"):
 *
 *     client_p99(fast) during step 2 >= 5 * client_p99(fast) during step 1
 *
 * A metric is a name and one target: a server, a load, or nothing (the
 * whole machine).  An expression is parsed once, when the scenario is
 * read, into a small tree of nodes kept in a fixed array; evaluating it
 * reads the values the runner measured (struct lesson_values).  Both are
 * pure: no I/O, so every rule is unit-tested (tests/unit/test_lesson.c).
 *
 * Units.  Durations are held in nanoseconds and sizes in bytes; a number
 * written with a unit ("2ms", "16KiB") is converted when parsed.  A result
 * carries the unit it was computed in, so it can be printed as "1.20 ms".
 *
 * Errors: the parse functions return 0 or -EINVAL and fill `err` with
 * what was expected.  Evaluation returns 0, -ENODATA (a value was not
 * measured) or -EDOM (division by zero), with the reason in `why`.
 * Ownership: plain values, nothing allocated.
 */
#ifndef EVLAB_LESSON_CLAIM_H
#define EVLAB_LESSON_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits of a scenario, with what each costs (see lessons/FORMAT.md). */
#define LESSON_MAX_SERVERS   4
#define LESSON_MAX_LOADS     8
#define LESSON_MAX_STEPS     16
#define LESSON_EXPR_NODES    24       /* a claim is a line, not a program */
/* Targets a value can belong to: the servers, then the loads, then the
 * machine as a whole. */
#define LESSON_TARGETS       (LESSON_MAX_SERVERS + LESSON_MAX_LOADS + 1)
#define LESSON_TARGET_MACHINE (LESSON_TARGETS - 1)

enum lesson_unit {
    LESSON_UNIT_NONE = 0,
    LESSON_UNIT_NS,               /* a duration */
    LESSON_UNIT_BYTES,
    LESSON_UNIT_PER_S             /* a rate */
};

/* What a metric's argument must be. */
enum lesson_metric_scope {
    LESSON_SCOPE_CLIENT,          /* a load, or a server (all its loads) */
    LESSON_SCOPE_SERVER,
    LESSON_SCOPE_MACHINE          /* no argument */
};

enum lesson_metric {
    LESSON_M_CLIENT_P50 = 0,
    LESSON_M_CLIENT_P99,
    LESSON_M_CLIENT_MAX,
    LESSON_M_CLIENT_REQUESTS,
    LESSON_M_CLIENT_RPS,
    LESSON_M_CLIENT_ERRORS,
    LESSON_M_CLIENT_CONNECTIONS,
    LESSON_M_HANDLER_P50,
    LESSON_M_HANDLER_P99,
    LESSON_M_HANDLER_MAX,
    LESSON_M_REQUESTS,
    LESSON_M_RPS,
    LESSON_M_LONGEST_HANDLER,
    LESSON_M_BLOCKED,
    LESSON_M_LOOP_LAG_P99,
    LESSON_M_THREADS,
    LESSON_M_CONNECTIONS,
    LESSON_M_QUEUED,
    LESSON_M_WORK_QUEUED,
    LESSON_M_OUTPUT_QUEUED,
    LESSON_M_READS_PAUSED,
    LESSON_M_RSS,
    LESSON_M_CPU,
    LESSON_M_CTX_SWITCHES,
    LESSON_M_KERNEL_STACK,
    LESSON_METRIC_COUNT
};

struct lesson_metric_info {
    const char *name;             /* as written in a scenario */
    enum lesson_metric_scope scope;
    enum lesson_unit unit;
    const char *what;             /* one line, for --help and errors */
};

extern const struct lesson_metric_info lesson_metrics[LESSON_METRIC_COUNT];

/* What the runner measured: one value per step, metric and target. */
struct lesson_values {
    bool measured[LESSON_MAX_STEPS];      /* the step's window completed */
    double v[LESSON_MAX_STEPS][LESSON_METRIC_COUNT][LESSON_TARGETS];
    bool have[LESSON_MAX_STEPS][LESSON_METRIC_COUNT][LESSON_TARGETS];
};

enum lesson_node_kind {
    LESSON_NODE_NUMBER = 0,
    LESSON_NODE_METRIC,
    LESSON_NODE_ADD,
    LESSON_NODE_SUB,
    LESSON_NODE_MUL,
    LESSON_NODE_DIV
};

struct lesson_node {
    enum lesson_node_kind kind;
    double number;                /* NUMBER: already in ns / bytes */
    enum lesson_unit unit;        /* NUMBER: as written */
    enum lesson_metric metric;    /* METRIC */
    int target;                   /* METRIC: index into the targets */
    int step;                     /* METRIC: 1-based; 0 = the current step */
    char target_name[24];         /* METRIC: as written, for messages */
    int left, right;              /* operators: node indexes */
};

struct lesson_expr {
    struct lesson_node nodes[LESSON_EXPR_NODES];
    int count;
    int root;
};

enum lesson_op { LESSON_OP_GE = 0, LESSON_OP_LE, LESSON_OP_GT, LESSON_OP_LT };

struct lesson_claim {
    struct lesson_expr left, right;
    enum lesson_op op;
};

/* Turns a name in a metric's parentheses into a target index: returns
 * the index (0..LESSON_TARGETS-2), or -1 when there is no such server or
 * load; *is_load says which it is. */
typedef int (*lesson_resolve_fn)(void *context, const char *name, bool *is_load);

/* Parses an expression from `text` (the whole string).  `need_step`:
 * every metric must say `during step N` (claims).  `step_count` bounds N. */
int lesson_expr_parse(const char *text, lesson_resolve_fn resolve, void *context,
                      bool need_step, int step_count, struct lesson_expr *out,
                      char *err, size_t err_len);

/* "LEFT OP RIGHT", every metric with its step. */
int lesson_claim_parse(const char *text, lesson_resolve_fn resolve, void *context,
                       int step_count, struct lesson_claim *out, char *err, size_t err_len);

/* Evaluates at `current_step` (1-based; used by metrics without a step). */
int lesson_expr_eval(const struct lesson_expr *expr, const struct lesson_values *values,
                     int current_step, double *out, enum lesson_unit *unit,
                     char *why, size_t why_len);

/* Evaluates a claim: *holds, and a sentence with both sides as measured:
 * "measured 143 ms, required >= 5 * 1.20 ms = 6.00 ms". */
int lesson_claim_eval(const struct lesson_claim *claim, const struct lesson_values *values,
                      bool *holds, char *report, size_t report_len);

/* A value with its unit: "1.20 ms", "18.0 KiB", "2000", "195/s". */
void lesson_value_format(double value, enum lesson_unit unit, char *buf, size_t len);

/* A number with an optional unit ("5", "2ms", "16KiB"); false if it is not one. */
bool lesson_number_parse(const char *text, double *value, enum lesson_unit *unit);

const char *lesson_op_text(enum lesson_op op);

#endif
