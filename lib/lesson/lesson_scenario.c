/*
 * lesson_scenario.c — reading a scenario file (see lesson_scenario.h and
 * lessons/FORMAT.md).
 *
 * Design.  One pass over the lines with a small state machine for the
 * parts of the file (header, cast, steps, checks): each keyword says in
 * which parts it may appear, so "a statement out of order" is one check
 * in one place.  Options of servers and loads are checked against tables
 * that list every allowed key with the kind of value it takes, so the
 * error for a typo can list what was expected.
 *
 * Expressions in `show` lines may refer to later steps, so they are kept
 * as text and parsed in a second pass, once the number of steps is known.
 * Every error carries the file and line, and parsing stops at the first.
 */
#include "lesson/lesson_scenario.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parts of a file, in the order they must come. */
enum part { PART_START = 0, PART_HEADER, PART_CAST, PART_STEPS, PART_CHECKS };

enum value_kind { VALUE_FLAG, VALUE_INT, VALUE_DURATION, VALUE_TEXT, VALUE_CHOICE };

struct option_rule {
    const char *key;
    enum value_kind kind;
    long min, max;                /* VALUE_INT */
    const char *choices;          /* VALUE_CHOICE: "a|b|c" */
};

static const struct option_rule server_rules[] = {
    { "model", VALUE_CHOICE, 0, 0, "blocking|threads|loop" },
    { "backend", VALUE_CHOICE, 0, 0, "poll|epoll" },
    { "workers", VALUE_INT, 0, 64, NULL },
    { "max-threads", VALUE_INT, 1, 100000, NULL },
    { "stack-size", VALUE_INT, 16384, 1 << 30, NULL },
    { "no-backpressure", VALUE_FLAG, 0, 0, NULL },
    { "request-timeout", VALUE_DURATION, 0, 0, NULL },
    { "idle-timeout", VALUE_DURATION, 0, 0, NULL },
};

static const struct option_rule load_rules[] = {
    { "server", VALUE_TEXT, 0, 0, NULL },
    { "connections", VALUE_INT, 1, 100000, NULL },
    { "rate", VALUE_INT, 1, 10000000, NULL },
    { "pipeline", VALUE_INT, 1, 256, NULL },
    { "mix", VALUE_TEXT, 0, 0, NULL },
    { "idle", VALUE_FLAG, 0, 0, NULL },
    { "no-read", VALUE_FLAG, 0, 0, NULL },
    { "timeout", VALUE_DURATION, 0, 0, NULL },
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

struct reader {
    struct lesson_scenario *out;
    const char *path;
    int line;
    enum part part;
    char *err;
    size_t err_len;
    /* Second pass: the text of every `show`, parsed once steps are known. */
    int show_lines[LESSON_MAX_STEPS][LESSON_MAX_SHOWS];
};

static int error_at(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int error_at(struct reader *r, const char *fmt, ...)
{
    char message[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    snprintf(r->err, r->err_len, "%s:%d: %s", r->path, r->line, message);
    return -EINVAL;
}

int lesson_target_of_server(size_t server)
{
    return (int)server;
}

int lesson_target_of_load(size_t load)
{
    return LESSON_MAX_SERVERS + (int)load;
}

const char *lesson_option_get(const struct lesson_option *options, size_t count,
                              const char *key)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(options[i].key, key) == 0)
            return options[i].has_value ? options[i].value : "";
    return NULL;
}

bool lesson_load_runs_in_step(const struct lesson_scenario *scenario, size_t load, size_t step)
{
    bool runs = false;
    for (size_t s = 0; s <= step && s < scenario->step_count; s++) {
        if (scenario->steps[s].stop[load])
            runs = false;
        if (scenario->steps[s].start[load])
            runs = true;
    }
    return runs;
}

/* --- Names --------------------------------------------------------------- */

static bool name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= LESSON_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return false;
    return true;
}

static int find_server(const struct lesson_scenario *s, const char *name)
{
    for (size_t i = 0; i < s->server_count; i++)
        if (strcmp(s->servers[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int find_load(const struct lesson_scenario *s, const char *name)
{
    for (size_t i = 0; i < s->load_count; i++)
        if (strcmp(s->loads[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The resolver expressions use (lesson_claim.h). */
static int resolve_name(void *context, const char *name, bool *is_load)
{
    const struct lesson_scenario *s = context;
    int server = find_server(s, name);
    if (server >= 0) {
        *is_load = false;
        return lesson_target_of_server((size_t)server);
    }
    int load = find_load(s, name);
    if (load >= 0) {
        *is_load = true;
        return lesson_target_of_load((size_t)load);
    }
    return -1;
}

static int check_new_name(struct reader *r, const char *what, const char *name)
{
    if (!name_valid(name))
        return error_at(r, "%s name '%s': expected 1 to 16 letters, digits, '-' or '_'", what,
                        name);
    if (find_server(r->out, name) >= 0 || find_load(r->out, name) >= 0)
        return error_at(r, "the name '%s' is already used by another server or load", name);
    return 0;
}

/* --- Options ------------------------------------------------------------- */

static void rule_keys(const struct option_rule *rules, size_t count, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i == 0 ? "" : i + 1 == count ? " or " : ", ", rules[i].key);
}

static bool choice_valid(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = choices; *p != '\0';) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return true;
        p += len + (bar ? 1 : 0);
    }
    return false;
}

static int check_value(struct reader *r, const char *what, const struct option_rule *rule,
                       const char *value, bool has_value)
{
    if (rule->kind == VALUE_FLAG) {
        if (has_value)
            return error_at(r, "%s option '%s' is a flag: write it without '='", what, rule->key);
        return 0;
    }
    if (!has_value || value[0] == '\0')
        return error_at(r, "%s option '%s' needs a value: %s=...", what, rule->key, rule->key);
    double number;
    enum lesson_unit unit;
    switch (rule->kind) {
    case VALUE_INT: {
        char *end;
        long v = strtol(value, &end, 10);
        if (*end != '\0' || end == value || v < rule->min || v > rule->max)
            return error_at(r, "%s option %s=%s: expected a whole number from %ld to %ld", what,
                            rule->key, value, rule->min, rule->max);
        return 0;
    }
    case VALUE_DURATION:
        if (!lesson_number_parse(value, &number, &unit) || unit != LESSON_UNIT_NS)
            return error_at(r, "%s option %s=%s: expected a duration such as 500ms or 10s", what,
                            rule->key, value);
        return 0;
    case VALUE_CHOICE:
        if (!choice_valid(rule->choices, value))
            return error_at(r, "%s option %s=%s: expected one of %s", what, rule->key, value,
                            rule->choices);
        return 0;
    default:
        return 0;
    }
}

/* Parses "key=value key flag ..." into options, checking each against
 * `rules`; `required` must be present. */
static int parse_options(struct reader *r, const char *what, char **words, size_t word_count,
                         const struct option_rule *rules, size_t rule_count,
                         const char *required, struct lesson_option *options, size_t *count)
{
    *count = 0;
    for (size_t w = 0; w < word_count; w++) {
        char *word = words[w];
        char *eq = strchr(word, '=');
        bool has_value = eq != NULL;
        if (eq != NULL)
            *eq = '\0';
        const char *value = eq != NULL ? eq + 1 : "";
        const struct option_rule *rule = NULL;
        for (size_t i = 0; i < rule_count; i++)
            if (strcmp(rules[i].key, word) == 0)
                rule = &rules[i];
        if (rule == NULL) {
            char keys[256];
            rule_keys(rules, rule_count, keys, sizeof keys);
            return error_at(r, "unknown %s option '%s' (expected %s)", what, word, keys);
        }
        if (lesson_option_get(options, *count, word) != NULL)
            return error_at(r, "%s option '%s' given twice", what, word);
        int rc = check_value(r, what, rule, value, has_value);
        if (rc < 0)
            return rc;
        if (*count == LESSON_MAX_OPTIONS)
            return error_at(r, "too many %s options (at most %d)", what, LESSON_MAX_OPTIONS);
        if (strlen(value) >= LESSON_TEXT_MAX)
            return error_at(r, "%s option '%s': value too long", what, word);
        struct lesson_option *o = &options[(*count)++];
        snprintf(o->key, sizeof o->key, "%s", word);
        snprintf(o->value, sizeof o->value, "%s", value);
        o->has_value = has_value;
    }
    if (lesson_option_get(options, *count, required) == NULL)
        return error_at(r, "%s needs %s=...", what, required);
    return 0;
}

/* --- Statements ---------------------------------------------------------- */

/* Splits `line` in place at blanks; returns the number of words. */
static size_t split_words(char *line, char **words, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t", &save); w != NULL && n < max;
         w = strtok_r(NULL, " \t", &save))
        words[n++] = w;
    return n;
}

static int copy_text(struct reader *r, const char *keyword, const char *text, char *out,
                     size_t len)
{
    if (text[0] == '\0')
        return error_at(r, "'%s' needs text after it", keyword);
    if (strlen(text) >= len)
        return error_at(r, "'%s' text too long (at most %zu characters)", keyword, len - 1);
    snprintf(out, len, "%s", text);
    return 0;
}

static int parse_duration(struct reader *r, const char *keyword, const char *text,
                          uint64_t *out)
{
    double value;
    enum lesson_unit unit;
    if (!lesson_number_parse(text, &value, &unit) || unit != LESSON_UNIT_NS || value <= 0 ||
        value > 600e9)
        return error_at(r, "'%s %s': expected a duration such as 500ms or 3s (at most 600s)",
                        keyword, text);
    *out = (uint64_t)value;
    return 0;
}

static int statement_lesson(struct reader *r, const char *rest)
{
    struct lesson_scenario *s = r->out;
    char *end;
    long number = strtol(rest, &end, 10);
    if (end == rest || number < 0 || number > 99 || (*end != ' ' && *end != '\t'))
        return error_at(r, "expected 'lesson NN TITLE' with a two-digit number");
    while (*end == ' ' || *end == '\t')
        end++;
    s->number = (int)number;
    return copy_text(r, "lesson", end, s->title, sizeof s->title);
}

static int statement_server(struct reader *r, char *rest)
{
    struct lesson_scenario *s = r->out;
    char *words[LESSON_MAX_OPTIONS + 4];
    size_t n = split_words(rest, words, COUNT_OF(words));
    if (n == 0)
        return error_at(r, "expected 'server NAME model=...'");
    if (s->server_count == LESSON_MAX_SERVERS)
        return error_at(r, "too many servers (at most %d)", LESSON_MAX_SERVERS);
    int rc = check_new_name(r, "server", words[0]);
    if (rc < 0)
        return rc;
    struct lesson_server *server = &s->servers[s->server_count];
    memset(server, 0, sizeof *server);
    snprintf(server->name, sizeof server->name, "%s", words[0]);
    server->line = r->line;
    struct lesson_option options[LESSON_MAX_OPTIONS];
    size_t count;
    rc = parse_options(r, "server", words + 1, n - 1, server_rules, COUNT_OF(server_rules),
                       "model", options, &count);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(options[i].key, "model") == 0)
            snprintf(server->model, sizeof server->model, "%s", options[i].value);
        else
            server->options[server->option_count++] = options[i];
    }
    s->server_count++;
    return 0;
}

static int statement_load(struct reader *r, char *rest)
{
    struct lesson_scenario *s = r->out;
    char *words[LESSON_MAX_OPTIONS + 4];
    size_t n = split_words(rest, words, COUNT_OF(words));
    if (n == 0)
        return error_at(r, "expected 'load NAME server=NAME ...'");
    if (s->load_count == LESSON_MAX_LOADS)
        return error_at(r, "too many loads (at most %d)", LESSON_MAX_LOADS);
    int rc = check_new_name(r, "load", words[0]);
    if (rc < 0)
        return rc;
    struct lesson_load *load = &s->loads[s->load_count];
    memset(load, 0, sizeof *load);
    snprintf(load->name, sizeof load->name, "%s", words[0]);
    load->line = r->line;
    struct lesson_option options[LESSON_MAX_OPTIONS];
    size_t count;
    rc = parse_options(r, "load", words + 1, n - 1, load_rules, COUNT_OF(load_rules), "server",
                       options, &count);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(options[i].key, "server") != 0) {
            load->options[load->option_count++] = options[i];
            continue;
        }
        load->server = find_server(s, options[i].value);
        if (load->server < 0)
            return error_at(r, "load '%s': no server named '%s' declared above", load->name,
                            options[i].value);
    }
    bool idle = lesson_option_get(load->options, load->option_count, "idle") != NULL;
    if (idle && lesson_option_get(load->options, load->option_count, "rate") != NULL)
        return error_at(r, "load '%s': 'idle' and 'rate' do not go together", load->name);
    if (idle && lesson_option_get(load->options, load->option_count, "no-read") != NULL)
        return error_at(r, "load '%s': 'idle' and 'no-read' do not go together", load->name);
    s->load_count++;
    return 0;
}

static int statement_start_stop(struct reader *r, const char *keyword, char *rest, bool *flags)
{
    char *words[LESSON_MAX_LOADS + 1];
    size_t n = split_words(rest, words, COUNT_OF(words));
    if (n == 0)
        return error_at(r, "'%s' needs the names of loads", keyword);
    for (size_t i = 0; i < n; i++) {
        int load = find_load(r->out, words[i]);
        if (load < 0)
            return error_at(r, "%s: no load named '%s'", keyword, words[i]);
        flags[load] = true;
    }
    return 0;
}

static int statement_show(struct reader *r, struct lesson_step *step, const char *rest)
{
    if (step->show_count == LESSON_MAX_SHOWS)
        return error_at(r, "too many 'show' lines in one step (at most %d)", LESSON_MAX_SHOWS);
    struct lesson_show *show = &step->shows[step->show_count];
    const char *as = strstr(rest, " as ");
    size_t expr_len = as != NULL ? (size_t)(as - rest) : strlen(rest);
    if (expr_len == 0)
        return error_at(r, "'show' needs a value, e.g. show client_p99(fast)");
    if (expr_len >= sizeof show->text)
        return error_at(r, "'show' expression too long");
    memcpy(show->text, rest, expr_len);
    show->text[expr_len] = '\0';
    int rc = copy_text(r, "show ... as", as != NULL ? as + 4 : show->text, show->label,
                       sizeof show->label);
    if (rc < 0)
        return rc;
    r->show_lines[r->out->step_count - 1][step->show_count] = r->line;
    step->show_count++;
    return 0;
}

/* Which part of the file each keyword belongs to, and what it does. */
static int statement(struct reader *r, const char *keyword, char *rest)
{
    struct lesson_scenario *s = r->out;
    struct lesson_step *step = s->step_count > 0 ? &s->steps[s->step_count - 1] : NULL;

    if (r->part == PART_START && strcmp(keyword, "lesson") != 0)
        return error_at(r, "expected 'lesson NN TITLE' as the first statement");
    if (strcmp(keyword, "lesson") == 0) {
        if (r->part != PART_START)
            return error_at(r, "'lesson' only once, as the first statement");
        r->part = PART_HEADER;
        return statement_lesson(r, rest);
    }
    if (strcmp(keyword, "summary") == 0 || strcmp(keyword, "seed") == 0 ||
        strcmp(keyword, "budget") == 0) {
        if (r->part != PART_HEADER)
            return error_at(r, "'%s' belongs in the header, before servers, loads and steps",
                            keyword);
        if (strcmp(keyword, "summary") == 0 && s->summary[0] != '\0')
            return error_at(r, "'summary' given twice");
        if (strcmp(keyword, "summary") == 0)
            return copy_text(r, "summary", rest, s->summary, sizeof s->summary);
        if (strcmp(keyword, "budget") == 0)
            return parse_duration(r, "budget", rest, &s->budget_ns);
        char *end;
        unsigned long long seed = strtoull(rest, &end, 10);
        if (end == rest || *end != '\0')
            return error_at(r, "'seed %s': expected a whole number", rest);
        s->seed = seed;
        return 0;
    }
    if (strcmp(keyword, "server") == 0 || strcmp(keyword, "load") == 0) {
        if (r->part > PART_CAST)
            return error_at(r, "'%s' lines come before the first step", keyword);
        if (s->summary[0] == '\0')
            return error_at(r, "expected 'summary TEXT' before the servers");
        r->part = PART_CAST;
        return keyword[0] == 's' ? statement_server(r, rest) : statement_load(r, rest);
    }
    if (strcmp(keyword, "step") == 0) {
        if (r->part == PART_CHECKS)
            return error_at(r, "'step' after a 'check': the checks come after every step");
        if (s->server_count == 0)
            return error_at(r, "a lesson needs at least one 'server' before its steps");
        if (s->step_count == LESSON_MAX_STEPS)
            return error_at(r, "too many steps (at most %d)", LESSON_MAX_STEPS);
        r->part = PART_STEPS;
        step = &s->steps[s->step_count++];
        memset(step, 0, sizeof *step);
        step->line = r->line;
        step->settle_ns = LESSON_DEFAULT_SETTLE_NS;
        step->measure_ns = LESSON_DEFAULT_MEASURE_NS;
        return copy_text(r, "step", rest, step->title, sizeof step->title);
    }
    if (strcmp(keyword, "check") == 0) {
        if (s->step_count == 0)
            return error_at(r, "'check' comes after the steps");
        if (s->check_count == LESSON_MAX_CHECKS)
            return error_at(r, "too many checks (at most %d)", LESSON_MAX_CHECKS);
        r->part = PART_CHECKS;
        struct lesson_check *check = &s->checks[s->check_count];
        char message[300];
        if (lesson_claim_parse(rest, resolve_name, s, (int)s->step_count, &check->claim,
                               message, sizeof message) < 0)
            return error_at(r, "check: %s", message);
        snprintf(check->text, sizeof check->text, "%s", rest);
        check->line = r->line;
        s->check_count++;
        return 0;
    }
    static const char *const step_keywords[] = { "say", "start", "stop", "ask", "settle",
                                                 "measure", "show", "observe" };
    bool in_step_keyword = false;
    for (size_t i = 0; i < COUNT_OF(step_keywords); i++)
        if (strcmp(keyword, step_keywords[i]) == 0)
            in_step_keyword = true;
    if (!in_step_keyword)
        return error_at(r, "unknown statement '%s' (expected lesson, summary, seed, budget, "
                           "server, load, step, say, start, stop, ask, settle, measure, show, "
                           "observe or check)", keyword);
    if (r->part != PART_STEPS || step == NULL)
        return error_at(r, "'%s' belongs inside a step (after a 'step TITLE' line)", keyword);
    if (strcmp(keyword, "say") == 0 || strcmp(keyword, "observe") == 0) {
        bool say = keyword[0] == 's';
        size_t *count = say ? &step->say_count : &step->observe_count;
        size_t max = say ? LESSON_MAX_SAYS : LESSON_MAX_OBSERVES;
        if (*count == max)
            return error_at(r, "too many '%s' lines in one step (at most %zu)", keyword, max);
        char *into = say ? step->say[*count] : step->observe[*count];
        int rc = copy_text(r, keyword, rest, into, LESSON_TEXT_MAX);
        if (rc == 0)
            (*count)++;
        return rc;
    }
    if (strcmp(keyword, "ask") == 0) {
        if (step->ask[0] != '\0')
            return error_at(r, "one 'ask' per step");
        return copy_text(r, "ask", rest, step->ask, sizeof step->ask);
    }
    if (strcmp(keyword, "start") == 0)
        return statement_start_stop(r, "start", rest, step->start);
    if (strcmp(keyword, "stop") == 0)
        return statement_start_stop(r, "stop", rest, step->stop);
    if (strcmp(keyword, "settle") == 0)
        return parse_duration(r, "settle", rest, &step->settle_ns);
    if (strcmp(keyword, "measure") == 0)
        return parse_duration(r, "measure", rest, &step->measure_ns);
    return statement_show(r, step, rest);
}

/* Second pass: the `show` expressions, now that every step is known. */
static int parse_shows(struct reader *r)
{
    struct lesson_scenario *s = r->out;
    for (size_t i = 0; i < s->step_count; i++) {
        for (size_t j = 0; j < s->steps[i].show_count; j++) {
            struct lesson_show *show = &s->steps[i].shows[j];
            char message[300];
            r->line = r->show_lines[i][j];
            if (lesson_expr_parse(show->text, resolve_name, s, false, (int)s->step_count,
                                  &show->expr, message, sizeof message) < 0)
                return error_at(r, "show: %s", message);
        }
    }
    return 0;
}

int lesson_scenario_parse(const char *text, const char *path, struct lesson_scenario *out,
                          char *err, size_t err_len)
{
    struct reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        return -ENOMEM;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s", path);
    out->seed = 1;
    out->budget_ns = LESSON_DEFAULT_BUDGET_NS;
    *r = (struct reader){ .out = out, .path = path, .err = err, .err_len = err_len };

    int rc = 0;
    const char *p = text;
    while (*p != '\0' && rc == 0) {
        r->line++;
        const char *newline = strchr(p, '\n');
        size_t len = newline != NULL ? (size_t)(newline - p) : strlen(p);
        if (len > LESSON_LINE_MAX) {
            rc = error_at(r, "line too long (at most %d characters)", LESSON_LINE_MAX);
            break;
        }
        char line[LESSON_LINE_MAX + 1];
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (newline != NULL ? 1 : 0);
        /* Trim, skip blanks and comments, split off the keyword. */
        char *start = line;
        while (*start == ' ' || *start == '\t')
            start++;
        char *end = start + strlen(start);
        while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        if (*start == '\0' || *start == '#')
            continue;
        char *rest = start;
        while (*rest != '\0' && *rest != ' ' && *rest != '\t')
            rest++;
        if (*rest != '\0')
            *rest++ = '\0';
        while (*rest == ' ' || *rest == '\t')
            rest++;
        rc = statement(r, start, rest);
    }
    if (rc == 0) {
        r->line++;
        if (r->part == PART_START)
            rc = error_at(r, "empty scenario: expected 'lesson NN TITLE'");
        else if (out->summary[0] == '\0')
            rc = error_at(r, "expected a 'summary' line in the header");
        else if (out->step_count == 0)
            rc = error_at(r, "a lesson needs at least one 'step'");
        else if (out->check_count == 0)
            rc = error_at(r, "a lesson needs at least one 'check': its claim, on measured values");
    }
    if (rc == 0)
        rc = parse_shows(r);
    free(r);
    return rc;
}

int lesson_scenario_load(const char *path, struct lesson_scenario *out, char *err,
                         size_t err_len)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        int e = errno;
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(e));
        return -e;
    }
    /* Scenarios are small; 64 KiB is far more than 16 steps need. */
    size_t cap = 64 * 1024;
    char *text = malloc(cap + 1);
    if (text == NULL) {
        fclose(file);
        snprintf(err, err_len, "%s: out of memory", path);
        return -ENOMEM;
    }
    size_t n = fread(text, 1, cap + 1, file);
    bool failed = ferror(file);
    fclose(file);
    int rc;
    if (failed) {
        snprintf(err, err_len, "%s: read error", path);
        rc = -EIO;
    } else if (n > cap) {
        snprintf(err, err_len, "%s: too large for a scenario (more than 64 KiB)", path);
        rc = -EFBIG;
    } else {
        text[n] = '\0';
        rc = lesson_scenario_parse(text, path, out, err, err_len);
    }
    free(text);
    return rc;
}
