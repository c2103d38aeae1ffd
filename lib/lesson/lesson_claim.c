/*
 * lesson_claim.c — metrics, expressions and claims (see lesson_claim.h).
 *
 * Design.  A recursive-descent parser with one function per rule of the
 * grammar in lessons/FORMAT.md (expr, term, factor), reading tokens from
 * a cursor over the text.  Nodes go into the expression's fixed array and
 * refer to each other by index, so an expression is a plain value that
 * can be copied and needs no freeing.  Evaluation walks the same tree.
 *
 * The report of a failed claim substitutes the measured value of every
 * metric into the expression as written ("5 * 1.20 ms"), so a student
 * sees which measurement fell short, not only that something did.
 */
#include "lesson/lesson_claim.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/load_report.h"

const struct lesson_metric_info lesson_metrics[LESSON_METRIC_COUNT] = {
    [LESSON_M_CLIENT_P50] = { "client_p50", LESSON_SCOPE_CLIENT, LESSON_UNIT_NS,
                              "median latency the clients measured" },
    [LESSON_M_CLIENT_P99] = { "client_p99", LESSON_SCOPE_CLIENT, LESSON_UNIT_NS,
                              "99th-percentile latency the clients measured" },
    [LESSON_M_CLIENT_MAX] = { "client_max", LESSON_SCOPE_CLIENT, LESSON_UNIT_NS,
                              "longest latency the clients measured" },
    [LESSON_M_CLIENT_REQUESTS] = { "client_requests", LESSON_SCOPE_CLIENT, LESSON_UNIT_NONE,
                                   "replies the clients received" },
    [LESSON_M_CLIENT_RPS] = { "client_rps", LESSON_SCOPE_CLIENT, LESSON_UNIT_PER_S,
                              "replies per second the clients received" },
    [LESSON_M_CLIENT_ERRORS] = { "client_errors", LESSON_SCOPE_CLIENT, LESSON_UNIT_NONE,
                                 "failed requests and connections" },
    [LESSON_M_CLIENT_CONNECTIONS] = { "client_connections", LESSON_SCOPE_CLIENT,
                                      LESSON_UNIT_NONE, "most connections the clients held" },
    [LESSON_M_HANDLER_P50] = { "handler_p50", LESSON_SCOPE_SERVER, LESSON_UNIT_NS,
                               "median handler runtime" },
    [LESSON_M_HANDLER_P99] = { "handler_p99", LESSON_SCOPE_SERVER, LESSON_UNIT_NS,
                               "99th-percentile handler runtime" },
    [LESSON_M_HANDLER_MAX] = { "handler_max", LESSON_SCOPE_SERVER, LESSON_UNIT_NS,
                               "longest handler runtime" },
    [LESSON_M_REQUESTS] = { "requests", LESSON_SCOPE_SERVER, LESSON_UNIT_NONE,
                            "requests the server finished" },
    [LESSON_M_RPS] = { "rps", LESSON_SCOPE_SERVER, LESSON_UNIT_PER_S,
                       "requests per second the server finished" },
    [LESSON_M_LONGEST_HANDLER] = { "longest_handler", LESSON_SCOPE_SERVER, LESSON_UNIT_NS,
                                   "longest a handler was seen running" },
    [LESSON_M_BLOCKED] = { "blocked", LESSON_SCOPE_SERVER, LESSON_UNIT_NONE,
                           "1 if a loop handler ran past the budget" },
    [LESSON_M_LOOP_LAG_P99] = { "loop_lag_p99", LESSON_SCOPE_SERVER, LESSON_UNIT_NS,
                                "how late the loop's timers fired (p99)" },
    [LESSON_M_THREADS] = { "threads", LESSON_SCOPE_SERVER, LESSON_UNIT_NONE,
                           "most threads seen" },
    [LESSON_M_CONNECTIONS] = { "connections", LESSON_SCOPE_SERVER, LESSON_UNIT_NONE,
                               "most open connections seen" },
    [LESSON_M_QUEUED] = { "queued", LESSON_SCOPE_SERVER, LESSON_UNIT_NONE,
                          "most events seen queued" },
    [LESSON_M_WORK_QUEUED] = { "work_queued", LESSON_SCOPE_SERVER, LESSON_UNIT_NONE,
                               "most jobs seen waiting for a worker" },
    [LESSON_M_OUTPUT_QUEUED] = { "output_queued", LESSON_SCOPE_SERVER, LESSON_UNIT_BYTES,
                                 "most reply bytes seen written by handlers, not yet sent" },
    [LESSON_M_READS_PAUSED] = { "reads_paused", LESSON_SCOPE_SERVER, LESSON_UNIT_NONE,
                                "most connections seen paused by backpressure" },
    [LESSON_M_RSS] = { "rss", LESSON_SCOPE_SERVER, LESSON_UNIT_BYTES,
                       "most resident memory seen" },
    [LESSON_M_CPU] = { "cpu", LESSON_SCOPE_SERVER, LESSON_UNIT_NS,
                       "CPU time the server used" },
    [LESSON_M_CTX_SWITCHES] = { "ctx_switches", LESSON_SCOPE_SERVER, LESSON_UNIT_NONE,
                                "context switches of the server's threads" },
    [LESSON_M_KERNEL_STACK] = { "kernel_stack", LESSON_SCOPE_MACHINE, LESSON_UNIT_BYTES,
                                "kernel memory for thread stacks, whole machine" },
};

/* --- Numbers and units --------------------------------------------------- */

static const struct { const char *suffix; double scale; enum lesson_unit unit; } units[] = {
    { "ns", 1, LESSON_UNIT_NS },        { "us", 1e3, LESSON_UNIT_NS },
    { "ms", 1e6, LESSON_UNIT_NS },      { "s", 1e9, LESSON_UNIT_NS },
    { "B", 1, LESSON_UNIT_BYTES },      { "KiB", 1024.0, LESSON_UNIT_BYTES },
    { "MiB", 1048576.0, LESSON_UNIT_BYTES }, { "GiB", 1073741824.0, LESSON_UNIT_BYTES },
};

/* Parses a number and its unit from the start of `text`; returns the
 * characters used (0: not a number). */
static size_t number_prefix(const char *text, double *value, enum lesson_unit *unit)
{
    if (!isdigit((unsigned char)text[0]))
        return 0;
    char *end;
    double v = strtod(text, &end);
    if (end == text || !isfinite(v))
        return 0;
    size_t used = (size_t)(end - text);
    *unit = LESSON_UNIT_NONE;
    *value = v;
    /* The longest unit that matches and is not followed by a letter. */
    size_t best = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].suffix);
        if (strncmp(text + used, units[i].suffix, n) == 0 &&
            !isalpha((unsigned char)text[used + n]) && n > best) {
            best = n;
            *value = v * units[i].scale;
            *unit = units[i].unit;
        }
    }
    if (best == 0 && isalpha((unsigned char)text[used]))
        return 0;                 /* "5x": not a number we know */
    return used + best;
}

bool lesson_number_parse(const char *text, double *value, enum lesson_unit *unit)
{
    size_t used = number_prefix(text, value, unit);
    return used > 0 && text[used] == '\0';
}

void lesson_value_format(double value, enum lesson_unit unit, char *buf, size_t len)
{
    switch (unit) {
    case LESSON_UNIT_NS:
        if (value < 0)
            snprintf(buf, len, "%.3g ns", value);
        else
            load_format_ns((uint64_t)(value + 0.5), buf, len);
        return;
    case LESSON_UNIT_BYTES:
        if (value >= 1073741824.0)
            snprintf(buf, len, "%.2f GiB", value / 1073741824.0);
        else if (value >= 1048576.0)
            snprintf(buf, len, "%.1f MiB", value / 1048576.0);
        else if (value >= 1024.0)
            snprintf(buf, len, "%.1f KiB", value / 1024.0);
        else
            snprintf(buf, len, "%.0f B", value);
        return;
    case LESSON_UNIT_PER_S:
        snprintf(buf, len, "%.0f/s", value);
        return;
    case LESSON_UNIT_NONE:
        break;
    }
    if (value == floor(value) && fabs(value) < 1e15)
        snprintf(buf, len, "%.0f", value);
    else
        snprintf(buf, len, "%.3g", value);
}

const char *lesson_op_text(enum lesson_op op)
{
    static const char *const text[] = { ">=", "<=", ">", "<" };
    return text[op];
}

/* --- The parser ---------------------------------------------------------- */

struct parser {
    const char *p;                /* cursor */
    struct lesson_expr *expr;
    lesson_resolve_fn resolve;
    void *context;
    bool need_step;
    int step_count;
    char *err;
    size_t err_len;
    bool failed;
};

static void fail(struct parser *ps, const char *fmt, const char *detail)
{
    if (ps->failed)
        return;               /* the first error is the one to report */
    ps->failed = true;
    snprintf(ps->err, ps->err_len, fmt, detail);
}

static void skip_blanks(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static int new_node(struct parser *ps, enum lesson_node_kind kind)
{
    if (ps->expr->count == LESSON_EXPR_NODES) {
        fail(ps, "expression too long (at most %s numbers, metrics and operators)", "24");
        return -1;
    }
    int index = ps->expr->count++;
    memset(&ps->expr->nodes[index], 0, sizeof ps->expr->nodes[index]);
    ps->expr->nodes[index].kind = kind;
    ps->expr->nodes[index].left = ps->expr->nodes[index].right = -1;
    return index;
}

/* Reads an identifier ([a-z0-9_-]) into buf; returns its length. */
static size_t read_word(struct parser *ps, char *buf, size_t len)
{
    size_t n = 0;
    while (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '-') {
        if (n + 1 < len)
            buf[n++] = *ps->p;
        ps->p++;
    }
    buf[n] = '\0';
    return n;
}

/* Reads "during step N" if it comes next. */
static int read_during(struct parser *ps)
{
    const char *save = ps->p;
    char word[16];
    skip_blanks(ps);
    if (read_word(ps, word, sizeof word) == 0 || strcmp(word, "during") != 0) {
        ps->p = save;
        return 0;
    }
    skip_blanks(ps);
    if (read_word(ps, word, sizeof word) == 0 || strcmp(word, "step") != 0) {
        fail(ps, "expected 'during step N'%s", "");
        return 0;
    }
    skip_blanks(ps);
    char *end;
    long n = strtol(ps->p, &end, 10);
    if (end == ps->p) {
        fail(ps, "expected a step number after 'during step'%s", "");
        return 0;
    }
    ps->p = end;
    if (n < 1 || n > ps->step_count) {
        char detail[64];
        snprintf(detail, sizeof detail, "%ld' but the lesson has %d step%s", n, ps->step_count,
                 ps->step_count == 1 ? "" : "s");
        fail(ps, "'during step %s", detail);
        return 0;
    }
    return (int)n;
}

static int parse_expr(struct parser *ps);

static int parse_metric(struct parser *ps, const char *name)
{
    int m;
    for (m = 0; m < LESSON_METRIC_COUNT; m++)
        if (strcmp(lesson_metrics[m].name, name) == 0)
            break;
    if (m == LESSON_METRIC_COUNT) {
        fail(ps, "unknown metric '%s' (see lessons/FORMAT.md, \"Metrics\")", name);
        return -1;
    }
    const struct lesson_metric_info *info = &lesson_metrics[m];
    skip_blanks(ps);
    if (*ps->p != '(') {
        fail(ps, "expected '(' after metric '%s'", name);
        return -1;
    }
    ps->p++;
    skip_blanks(ps);
    char target[24];
    read_word(ps, target, sizeof target);
    skip_blanks(ps);
    if (*ps->p != ')') {
        fail(ps, "expected ')' after the name in %s(...)", name);
        return -1;
    }
    ps->p++;
    int node = new_node(ps, LESSON_NODE_METRIC);
    if (node < 0)
        return -1;
    struct lesson_node *n = &ps->expr->nodes[node];
    n->metric = (enum lesson_metric)m;
    snprintf(n->target_name, sizeof n->target_name, "%s", target);
    if (info->scope == LESSON_SCOPE_MACHINE) {
        if (target[0] != '\0') {
            fail(ps, "%s() takes no name: it measures the whole machine", name);
            return -1;
        }
        n->target = LESSON_TARGET_MACHINE;
    } else {
        bool is_load = false;
        int index = target[0] ? ps->resolve(ps->context, target, &is_load) : -1;
        if (target[0] == '\0') {
            fail(ps, "%s() needs the name of a server or load", name);
            return -1;
        }
        if (index < 0) {
            fail(ps, "no server or load named '%s' in this lesson", target);
            return -1;
        }
        if (is_load && info->scope == LESSON_SCOPE_SERVER) {
            fail(ps, "'%s' is a load; this metric needs a server", target);
            return -1;
        }
        n->target = index;
    }
    n->step = read_during(ps);
    if (n->step == 0 && ps->need_step)
        fail(ps, "every metric in a check needs 'during step N' (after %s)", name);
    return node;
}

static int parse_factor(struct parser *ps)
{
    skip_blanks(ps);
    if (*ps->p == '(') {
        ps->p++;
        int inner = parse_expr(ps);
        skip_blanks(ps);
        if (*ps->p != ')') {
            fail(ps, "expected ')'%s", "");
            return -1;
        }
        ps->p++;
        return inner;
    }
    double value;
    enum lesson_unit unit;
    size_t used = number_prefix(ps->p, &value, &unit);
    if (used > 0) {
        ps->p += used;
        int node = new_node(ps, LESSON_NODE_NUMBER);
        if (node >= 0) {
            ps->expr->nodes[node].number = value;
            ps->expr->nodes[node].unit = unit;
        }
        return node;
    }
    char word[32];
    if (read_word(ps, word, sizeof word) > 0)
        return parse_metric(ps, word);
    char here[24];
    snprintf(here, sizeof here, "%.20s", *ps->p ? ps->p : "end of line");
    fail(ps, "expected a number or a metric, found '%s'", here);
    return -1;
}

/* One level of left-associative binary operators. */
static int parse_binary(struct parser *ps, int (*operand)(struct parser *), char op1,
                        enum lesson_node_kind kind1, char op2, enum lesson_node_kind kind2)
{
    int left = operand(ps);
    while (!ps->failed) {
        skip_blanks(ps);
        char c = *ps->p;
        if (c != op1 && c != op2)
            break;
        ps->p++;
        int right = operand(ps);
        int node = new_node(ps, c == op1 ? kind1 : kind2);
        if (node < 0 || right < 0)
            return -1;
        ps->expr->nodes[node].left = left;
        ps->expr->nodes[node].right = right;
        left = node;
    }
    return ps->failed ? -1 : left;
}

static int parse_term(struct parser *ps)
{
    return parse_binary(ps, parse_factor, '*', LESSON_NODE_MUL, '/', LESSON_NODE_DIV);
}

static int parse_expr(struct parser *ps)
{
    return parse_binary(ps, parse_term, '+', LESSON_NODE_ADD, '-', LESSON_NODE_SUB);
}

int lesson_expr_parse(const char *text, lesson_resolve_fn resolve, void *context,
                      bool need_step, int step_count, struct lesson_expr *out,
                      char *err, size_t err_len)
{
    struct parser ps = { .p = text, .expr = out, .resolve = resolve, .context = context,
                         .need_step = need_step, .step_count = step_count,
                         .err = err, .err_len = err_len };
    out->count = 0;
    out->root = parse_expr(&ps);
    skip_blanks(&ps);
    if (!ps.failed && *ps.p != '\0') {
        char here[24];
        snprintf(here, sizeof here, "%.20s", ps.p);
        fail(&ps, "unexpected '%s' (expected an operator or the end)", here);
    }
    return ps.failed || out->root < 0 ? -EINVAL : 0;
}

int lesson_claim_parse(const char *text, lesson_resolve_fn resolve, void *context,
                       int step_count, struct lesson_claim *out, char *err, size_t err_len)
{
    /* Split at the comparison; ">=" and "<=" before ">" and "<". */
    static const struct { const char *text; enum lesson_op op; } ops[] = {
        { ">=", LESSON_OP_GE }, { "<=", LESSON_OP_LE }, { ">", LESSON_OP_GT }, { "<", LESSON_OP_LT },
    };
    const char *at = NULL;
    size_t op_len = 0;
    for (const char *p = text; *p != '\0' && at == NULL; p++) {
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            size_t n = strlen(ops[i].text);
            if (strncmp(p, ops[i].text, n) == 0) {
                at = p;
                op_len = n;
                out->op = ops[i].op;
                break;
            }
        }
    }
    if (at == NULL) {
        snprintf(err, err_len, "expected a comparison (>=, <=, > or <) between two expressions");
        return -EINVAL;
    }
    char left[1024];
    size_t left_len = (size_t)(at - text);
    if (left_len >= sizeof left) {
        snprintf(err, err_len, "claim too long");
        return -EINVAL;
    }
    memcpy(left, text, left_len);
    left[left_len] = '\0';
    if (strpbrk(at + op_len, "<>") != NULL) {
        snprintf(err, err_len, "one comparison per check");
        return -EINVAL;
    }
    int rc = lesson_expr_parse(left, resolve, context, true, step_count, &out->left, err, err_len);
    if (rc == 0)
        rc = lesson_expr_parse(at + op_len, resolve, context, true, step_count, &out->right,
                               err, err_len);
    return rc;
}

/* --- Evaluation ---------------------------------------------------------- */

static enum lesson_unit combine_units(enum lesson_node_kind kind, enum lesson_unit a,
                                      enum lesson_unit b)
{
    if (kind == LESSON_NODE_DIV)
        return a == b ? LESSON_UNIT_NONE : b == LESSON_UNIT_NONE ? a : LESSON_UNIT_NONE;
    return a != LESSON_UNIT_NONE ? a : b;
}

static int eval_node(const struct lesson_expr *expr, int index, const struct lesson_values *values,
                     int current_step, double *out, enum lesson_unit *unit, char *why,
                     size_t why_len)
{
    const struct lesson_node *n = &expr->nodes[index];
    if (n->kind == LESSON_NODE_NUMBER) {
        *out = n->number;
        *unit = n->unit;
        return 0;
    }
    if (n->kind == LESSON_NODE_METRIC) {
        int step = n->step != 0 ? n->step : current_step;
        const char *name = lesson_metrics[n->metric].name;
        if (step < 1 || step > LESSON_MAX_STEPS || !values->measured[step - 1] ||
            !values->have[step - 1][n->metric][n->target]) {
            snprintf(why, why_len, "%s(%s) was not measured in step %d", name, n->target_name,
                     step);
            return -ENODATA;
        }
        *out = values->v[step - 1][n->metric][n->target];
        *unit = lesson_metrics[n->metric].unit;
        return 0;
    }
    double a, b;
    enum lesson_unit ua, ub;
    int rc = eval_node(expr, n->left, values, current_step, &a, &ua, why, why_len);
    if (rc == 0)
        rc = eval_node(expr, n->right, values, current_step, &b, &ub, why, why_len);
    if (rc < 0)
        return rc;
    *unit = combine_units(n->kind, ua, ub);
    switch (n->kind) {
    case LESSON_NODE_ADD: *out = a + b; break;
    case LESSON_NODE_SUB: *out = a - b; break;
    case LESSON_NODE_MUL: *out = a * b; break;
    case LESSON_NODE_DIV:
        if (b == 0) {
            snprintf(why, why_len, "division by zero");
            return -EDOM;
        }
        *out = a / b;
        break;
    default:
        break;
    }
    return 0;
}

int lesson_expr_eval(const struct lesson_expr *expr, const struct lesson_values *values,
                     int current_step, double *out, enum lesson_unit *unit,
                     char *why, size_t why_len)
{
    if (expr->count == 0 || expr->root < 0) {
        snprintf(why, why_len, "empty expression");
        return -EINVAL;
    }
    return eval_node(expr, expr->root, values, current_step, out, unit, why, why_len);
}

/* Writes the expression with every metric replaced by its value. */
static size_t render_node(const struct lesson_expr *expr, int index,
                          const struct lesson_values *values, char *buf, size_t len)
{
    const struct lesson_node *n = &expr->nodes[index];
    char text[48];
    if (n->kind == LESSON_NODE_NUMBER || n->kind == LESSON_NODE_METRIC) {
        double v;
        enum lesson_unit u;
        char why[8];
        if (eval_node(expr, index, values, 0, &v, &u, why, sizeof why) == 0)
            lesson_value_format(v, u, text, sizeof text);
        else
            snprintf(text, sizeof text, "?");
        return (size_t)snprintf(buf, len, "%s", text);
    }
    static const char symbols[] = { [LESSON_NODE_ADD] = '+', [LESSON_NODE_SUB] = '-',
                                    [LESSON_NODE_MUL] = '*', [LESSON_NODE_DIV] = '/' };
    bool inner = n->kind == LESSON_NODE_ADD || n->kind == LESSON_NODE_SUB;
    size_t used = 0;
    if (inner && used < len)
        used += (size_t)snprintf(buf + used, len - used, "(");
    if (used < len)
        used += render_node(expr, n->left, values, buf + used, len - used);
    if (used < len)
        used += (size_t)snprintf(buf + used, len - used, " %c ", symbols[n->kind]);
    if (used < len)
        used += render_node(expr, n->right, values, buf + used, len - used);
    if (inner && used < len)
        used += (size_t)snprintf(buf + used, len - used, ")");
    return used;
}

int lesson_claim_eval(const struct lesson_claim *claim, const struct lesson_values *values,
                      bool *holds, char *report, size_t report_len)
{
    double left, right;
    enum lesson_unit left_unit, right_unit;
    char why[128];
    *holds = false;
    int rc = lesson_expr_eval(&claim->left, values, 0, &left, &left_unit, why, sizeof why);
    if (rc == 0)
        rc = lesson_expr_eval(&claim->right, values, 0, &right, &right_unit, why, sizeof why);
    if (rc < 0) {
        snprintf(report, report_len, "cannot evaluate: %s", why);
        return rc;
    }
    switch (claim->op) {
    case LESSON_OP_GE: *holds = left >= right; break;
    case LESSON_OP_LE: *holds = left <= right; break;
    case LESSON_OP_GT: *holds = left > right; break;
    case LESSON_OP_LT: *holds = left < right; break;
    }
    char left_text[48], right_text[48], formula[256];
    lesson_value_format(left, left_unit, left_text, sizeof left_text);
    lesson_value_format(right, right_unit, right_text, sizeof right_text);
    render_node(&claim->right, claim->right.root, values, formula, sizeof formula);
    /* Only show the formula when it says more than the bare value. */
    if (strcmp(formula, right_text) == 0)
        snprintf(report, report_len, "measured %s, required %s %s", left_text,
                 lesson_op_text(claim->op), right_text);
    else
        snprintf(report, report_len, "measured %s, required %s %s = %s", left_text,
                 lesson_op_text(claim->op), formula, right_text);
    return 0;
}
