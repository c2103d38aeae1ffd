/*
 * cmd_view_replay.c — `evlab view --replay FILE [--at T] [--once --plain]`
 * (see cmd_view_replay.h).
 *
 * The recording is loaded by viz/replay_source.c; the interactive
 * timeline is viz/replay_app.c; this file only turns --at into a
 * position and, for --plain, prints the panes at that position exactly as
 * `evlab view --once --plain` prints live ones, with one line above them
 * saying where in the recording they are.
 */
#include "cmd_view_replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "common/clock.h"
#include "replay_app.h"
#include "replay_source.h"
#include "replay_timeline.h"
#include "view_plain.h"

/* Whether `word` names server s of the recording: its instrumentation
 * name or its model ("loop", "blocking", "threads"). */
static bool server_named(const struct replay_source *source, size_t s, const char *word,
                         size_t len)
{
    const struct probe_info *info = replay_source_info(source, s);
    return (strlen(info->name) == len && strncmp(info->name, word, len) == 0) ||
           (strlen(info->model) == len && strncmp(info->model, word, len) == 0);
}

/* --at blocked[:SERVER][:N]: the N-th blocked-loop moment (from 1) of
 * every server, or of the servers SERVER names (a model or a name). */
static bool parse_at_blocked(const struct replay_source *source, const char *text,
                             uint64_t *t_ns, size_t *focus)
{
    const char *server = NULL;
    size_t server_len = 0;
    uint64_t n = 1;
    if (*text == ':' && (text[1] < '0' || text[1] > '9')) {
        server = text + 1;
        server_len = strcspn(server, ":");
        if (server_len == 0)
            return false;
        text = server + server_len;
    }
    if (*text == ':' && !cli_parse_u64(text + 1, 1, 1000000, &n))
        return false;
    if (*text != ':' && *text != '\0')
        return false;
    size_t count, seen = 0;
    const struct replay_warning *warnings = replay_source_warnings(source, &count);
    bool named = server == NULL;
    for (size_t s = 0; s < replay_source_count(source) && !named; s++)
        named = server_named(source, s, server, server_len);
    if (!named) {
        fprintf(stderr, "evlab view: no server of the recording is named or runs the model "
                        "'%.*s'\n", (int)server_len, server);
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        if (server != NULL && !server_named(source, warnings[i].server, server, server_len))
            continue;
        if (++seen == n) {
            *t_ns = replay_warning_moment(&warnings[i]);
            *focus = warnings[i].server;
            return true;
        }
    }
    fprintf(stderr, "evlab view: the recording has %zu blocked-loop moment%s%s%.*s, not %llu\n",
            seen, seen == 1 ? "" : "s", server != NULL ? " of " : "", (int)server_len,
            server != NULL ? server : "", (unsigned long long)n);
    return false;
}

/* --at: blocked[:SERVER][:N], or a time into the recording ("12.5",
 * "12500ms"). */
static bool parse_at(const struct replay_source *source, const char *text, uint64_t *t_ns,
                     size_t *focus)
{
    if (strncmp(text, "blocked", 7) == 0)
        return parse_at_blocked(source, text + 7, t_ns, focus);
    uint64_t offset;
    if (!cli_parse_duration(text, &offset))
        return false;
    *t_ns = replay_source_start(source) + offset;
    return true;
}

static void print_panes_at(struct replay_source *source, const char *file,
                           const struct replay_position *pos, size_t width,
                           const struct view_options *options)
{
    size_t count = replay_source_count(source);
    struct view_pane *panes = calloc(count, sizeof *panes);
    if (panes == NULL ||
        replay_source_build(source, pos->t_ns, pos->focus, false, 0, options, panes) < 0) {
        fprintf(stderr, "evlab view: cannot build the replay of %s\n", file);
        free(panes);
        return;
    }
    size_t warnings;
    replay_source_warnings(source, &warnings);
    uint64_t start = replay_source_start(source);
    printf("== replay of %s at %.6f s of %.3f s (%zu server%s, %zu blocked-loop moment%s)\n\n",
           file, ((double)pos->t_ns - (double)start) / 1e9,
           (double)(replay_source_end(source) - start) / 1e9, count, count == 1 ? "" : "s",
           warnings, warnings == 1 ? "" : "s");
    view_plain_print(stdout, panes, count, width);
    free(panes);
}

int cmd_view_replay(const char *file, const char *at, bool plain, size_t width, bool report,
                    const struct view_app_config *app)
{
    char err[512] = "";
    struct replay_source *source;
    uint64_t open_start = clock_now_ns();
    if (replay_source_open(&source, file, app->options.budget_ns, err, sizeof err) < 0) {
        fprintf(stderr, "evlab view: %s\n", err);
        return 1;
    }
    uint64_t open_ns = clock_now_ns() - open_start;
    uint64_t offset;
    if (replay_source_truncated(source, &offset))
        fprintf(stderr, "evlab view: warning: %s ends at offset %llu without its END record "
                        "(the recording was cut short); replaying everything before it\n",
                file, (unsigned long long)offset);
    struct replay_position pos;
    replay_position_init(source, &pos);
    if (at != NULL) {
        uint64_t t_ns;
        size_t focus = pos.focus;
        if (!parse_at(source, at, &t_ns, &focus)) {
            replay_source_close(source);
            return cli_usage_error("view", NULL, "--at wants a time (12.5, 1500ms) or "
                                   "blocked[:SERVER][:N], not '%s'", at);
        }
        replay_seek(source, &pos, t_ns);
        pos.focus = focus;
        /* Asked for one server's moments: n N keep to that server. */
        pos.warnings_in_focus = strncmp(at, "blocked:", 8) == 0 && (at[8] < '0' || at[8] > '9');
    }
    int rc = 0;
    struct replay_app_stats stats = { 0 };
    if (plain) {
        uint64_t build_start = clock_now_ns();
        print_panes_at(source, file, &pos, width, &app->options);
        stats.builds = 1;
        stats.build_ns_total = stats.build_ns_max = clock_now_ns() - build_start;
    } else if (replay_app_run(source, &pos, file, app, &stats, err, sizeof err) < 0) {
        fprintf(stderr, "evlab view: %s\n", err);
        rc = 1;
    }
    if (report) {
        size_t events = 0, n;
        for (size_t s = 0; s < replay_source_count(source); s++) {
            replay_source_events(source, s, &n);
            events += n;
        }
        fprintf(stderr, "evlab view: replay of %s: opened in %.1f ms (%zu events, %.1f s "
                        "recorded); %llu pictures rebuilt for %llu keys, %.2f ms each on "
                        "average, %.2f ms at most\n",
                file, (double)open_ns / 1e6, events,
                (double)(replay_source_end(source) - replay_source_start(source)) / 1e9,
                (unsigned long long)stats.builds, (unsigned long long)stats.keys,
                stats.builds ? (double)stats.build_ns_total / (double)stats.builds / 1e6 : 0.0,
                (double)stats.build_ns_max / 1e6);
    }
    replay_source_close(source);
    return rc;
}
