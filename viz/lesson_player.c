/*
 * lesson_player.c — a lesson in the live view (see lesson_player.h).
 *
 * Design.  The view's key loop (view_app.c) runs unchanged; the lesson
 * lives in its four hooks.  tick() advances the run (lesson_run.h) and,
 * with --auto, the step timer; key() answers n and b; status() and
 * narration() put the step, its prompt and its measurement into words.
 * The run measures on the real clock, because the servers do not stop
 * when the presenter pauses; the step timer runs on the presenter's
 * clock, which a pause holds (view_app_presenter_now()).
 *
 * Predict, then observe: on a step that asks a question, the measured
 * values stay hidden until the presenter presses n once more, so a class
 * commits to an answer before it sees one.
 */
#include "lesson_player.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "demo_children.h"
#include "lesson/lesson_plain.h"
#include "view_app.h"
#include "view_paint.h"
#include "view_source.h"
#include "view_terminal.h"

#define NS_PER_S 1000000000ull

struct player {
    struct lesson_run *run;
    const struct lesson_scenario *scenario;
    bool auto_advance;
    size_t step;
    bool revealed;                /* the measurement of an `ask` step is shown */
    bool finished;                /* past the last step: the claims are shown */
    bool measured_seen;           /* --auto: when the step's values arrived */
    uint64_t measured_at_ns;      /* presenter's clock */
    char problem[200];
};

static const char lesson_help[] =
    "n         next step (after a prediction: first show the measurement)\n"
    "b         back to the previous step (it measures again)";

void lesson_player_install_signals(void)
{
    view_terminal_install_signals();
    view_terminal_set_crash_hook(demo_children_kill_from_signal);
}

static void enter(struct player *player, size_t step)
{
    char err[200];
    player->step = step;
    player->revealed = false;
    player->finished = false;
    player->measured_seen = false;
    if (lesson_run_enter_step(player->run, step, clock_now_ns(), err, sizeof err) < 0)
        snprintf(player->problem, sizeof player->problem, "%s", err);
    else
        player->problem[0] = '\0';
}

static bool has_ask(const struct player *player)
{
    return player->scenario->steps[player->step].ask[0] != '\0';
}

static void next(struct player *player)
{
    if (player->finished)
        return;
    bool measured = lesson_run_phase(player->run) == LESSON_PHASE_MEASURED;
    if (has_ask(player) && measured && !player->revealed) {
        player->revealed = true;
        return;
    }
    if (player->step + 1 < player->scenario->step_count)
        enter(player, player->step + 1);
    else
        player->finished = true;
}

static bool player_tick(void *context, uint64_t presenter_ns)
{
    struct player *player = context;
    lesson_run_tick(player->run, clock_now_ns());
    if (!player->auto_advance || player->finished)
        return true;
    if (lesson_run_phase(player->run) != LESSON_PHASE_MEASURED)
        return true;
    if (!player->measured_seen) {
        player->measured_seen = true;
        player->measured_at_ns = presenter_ns;
        player->revealed = true;        /* alone at night: show it */
    }
    if (presenter_ns - player->measured_at_ns >= LESSON_PLAYER_READ_S * NS_PER_S)
        next(player);
    return true;
}

static bool player_key(void *context, int key)
{
    struct player *player = context;
    switch (key) {
    case 'n': case 'N':
        next(player);
        return true;
    case 'b': case 'B':
        if (player->finished)
            player->finished = false;
        else if (player->step > 0)
            enter(player, player->step - 1);
        return true;
    default:
        return false;
    }
}

static void player_status(void *context, char *buf, size_t len)
{
    struct player *player = context;
    const struct lesson_scenario *sc = player->scenario;
    if (player->finished) {
        snprintf(buf, len, " lesson %02d: done - the claims, measured   b back  q quit",
                 sc->number);
        return;
    }
    char phase[48];
    uint64_t left = lesson_run_phase_left_ns(player->run, clock_now_ns());
    switch (lesson_run_phase(player->run)) {
    case LESSON_PHASE_SETTLING:
        snprintf(phase, sizeof phase, "settling %.1f s", (double)left / 1e9);
        break;
    case LESSON_PHASE_MEASURING:
        snprintf(phase, sizeof phase, "measuring %.1f s", (double)left / 1e9);
        break;
    default:
        snprintf(phase, sizeof phase, "measured");
        break;
    }
    snprintf(buf, len, " lesson %02d  step %zu/%zu: %s  [%s]%s   n next  b back", sc->number,
             player->step + 1, sc->step_count, sc->steps[player->step].title, phase,
             player->auto_advance ? "  auto" : "");
}

/* Appends one line to the narration buffer. */
static void line(char *buf, size_t len, size_t *used, const char *text)
{
    if (*used < len)
        *used += (size_t)snprintf(buf + *used, len - *used, "%s%s", *used ? "\n" : "", text);
}

static void claims_narration(struct player *player, char *buf, size_t len, size_t *used)
{
    const struct lesson_scenario *sc = player->scenario;
    const struct lesson_values *values = lesson_run_values(player->run);
    for (size_t i = 0; i < sc->check_count && i < VIEW_NARRATION_LINES; i++) {
        bool holds;
        char report[300], text[600];
        lesson_claim_eval(&sc->checks[i].claim, values, &holds, report, sizeof report);
        snprintf(text, sizeof text, "MEASURED %s  %s: %s", holds ? "PASS" : "FAIL",
                 sc->checks[i].text, report);
        line(buf, len, used, text);
    }
}

static void player_narration(void *context, char *buf, size_t len)
{
    struct player *player = context;
    const struct lesson_step *step = &player->scenario->steps[player->step];
    size_t used = 0;
    buf[0] = '\0';
    const char *problem = player->problem[0] ? player->problem : lesson_run_problem(player->run);
    if (problem[0] != '\0') {
        char text[260];
        snprintf(text, sizeof text, "PROBLEM: %s", problem);
        line(buf, len, &used, text);
    }
    if (player->finished) {
        claims_narration(player, buf, len, &used);
        return;
    }
    bool measured = lesson_run_phase(player->run) == LESSON_PHASE_MEASURED;
    bool show = measured && (!has_ask(player) || player->revealed);
    /* Room: the prompt or the measurement and one observation line keep
     * their place; narration fills the rest. */
    size_t reserved = (has_ask(player) && !show ? 1 : 0) + (show ? 1 + (step->observe_count > 0) : 0);
    size_t says = step->say_count;
    if (says + reserved > VIEW_NARRATION_LINES)
        says = VIEW_NARRATION_LINES - reserved;
    for (size_t i = 0; i < says; i++)
        line(buf, len, &used, step->say[i]);
    if (has_ask(player) && !show) {
        char text[300];
        snprintf(text, sizeof text, "PREDICT: %s%s", step->ask,
                 measured ? "   (n: show what was measured)" : "");
        line(buf, len, &used, text);
    }
    if (show) {
        char text[900];
        size_t n = (size_t)snprintf(text, sizeof text, "MEASURED");
        for (size_t i = 0; i < step->show_count && n < sizeof text; i++) {
            char value[300];
            lesson_run_show_text(player->run, player->step, i, value, sizeof value);
            n += (size_t)snprintf(text + n, sizeof text - n, "%s %s", i ? " |" : "", value);
        }
        line(buf, len, &used, text);
        for (size_t i = 0; i < step->observe_count && i < 1; i++)
            line(buf, len, &used, step->observe[i]);
    }
}

int lesson_player_run(struct lesson_run *run, const struct lesson_scenario *scenario,
                      bool auto_advance, char *err, size_t err_len)
{
    char *names[LESSON_MAX_SERVERS];
    for (size_t i = 0; i < scenario->server_count; i++)
        names[i] = (char *)lesson_run_server_name(run, i);
    struct view_source *source;
    int rc = view_source_open(&source, names, scenario->server_count, err, err_len);
    if (rc < 0)
        return rc;
    struct player player = { .run = run, .scenario = scenario, .auto_advance = auto_advance };
    enter(&player, 0);

    struct view_app_config config = { .refresh_hz = VIEW_DEFAULT_REFRESH_HZ };
    view_options_init(&config.options);
    config.options.budget_ns = scenario->budget_ns;
    struct view_app_hooks hooks = {
        .context = &player, .tick = player_tick, .key = player_key, .status = player_status,
        .narration = player_narration, .help_extra = lesson_help,
    };
    struct view_app_stats stats;
    rc = view_app_run(source, &config, &hooks, &stats, err, err_len);
    view_source_close(source);
    if (rc < 0)
        return rc;
    if (player.finished || lesson_run_values(run)->measured[0]) {
        /* What was measured stays on the terminal after the view. */
        printf("evlab lesson %02d: the claims as measured in this session\n", scenario->number);
        lesson_print_claims(scenario, lesson_run_values(run), stdout);
    }
    return stats.quit_signal != 0 ? 128 + stats.quit_signal : 0;
}
