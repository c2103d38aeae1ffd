/*
 * replay_timeline.c — moving through a recording (see replay_timeline.h).
 *
 * Design.  Every move only changes the position: which instant, which
 * server's event.  The picture is rebuilt from the recording for the new
 * position by replay_source_build(), so moving back costs the same as
 * moving forward and can never drift from what was recorded.
 */
#include "replay_timeline.h"

#include "probe/probe.h"
#include "view_replay.h"

struct speed {
    uint64_t numerator, denominator;
    const char *name;
};

static const struct speed speeds[REPLAY_SPEED_COUNT] = {
    { 1, 1000, "1/1000x" }, { 1, 100, "1/100x" }, { 1, 10, "1/10x" }, { 1, 4, "1/4x" },
    { 1, 2, "1/2x" }, { 1, 1, "1x" }, { 2, 1, "2x" }, { 5, 1, "5x" }, { 10, 1, "10x" },
};

_Static_assert(REPLAY_SPEED_DEFAULT < REPLAY_SPEED_COUNT, "default speed is in the table");

uint64_t replay_first_ns(const struct replay_source *source)
{
    uint64_t first = replay_source_start(source);
    for (size_t s = 0; s < replay_source_count(source); s++) {
        size_t n;
        const struct probe_event_record *events = replay_source_events(source, s, &n);
        if (n > 0 && events[0].t_ns < first)
            first = events[0].t_ns;
    }
    return first;
}

void replay_position_init(const struct replay_source *source, struct replay_position *pos)
{
    *pos = (struct replay_position){ .t_ns = replay_source_start(source),
                                     .speed = REPLAY_SPEED_DEFAULT };
}

const char *replay_speed_name(size_t speed)
{
    return speed < REPLAY_SPEED_COUNT ? speeds[speed].name : "?";
}

void replay_speed_change(struct replay_position *pos, int delta)
{
    long next = (long)pos->speed + delta;
    if (next < 0)
        next = 0;
    if (next >= REPLAY_SPEED_COUNT)
        next = REPLAY_SPEED_COUNT - 1;
    pos->speed = (size_t)next;
}

void replay_seek(const struct replay_source *source, struct replay_position *pos,
                 uint64_t t_ns)
{
    uint64_t first = replay_first_ns(source), end = replay_source_end(source);
    pos->t_ns = t_ns < first ? first : t_ns > end ? end : t_ns;
    pos->on_event = false;
}

void replay_advance(const struct replay_source *source, struct replay_position *pos,
                    uint64_t real_ns)
{
    const struct speed *speed = &speeds[pos->speed];
    uint64_t step = real_ns / speed->denominator * speed->numerator;
    uint64_t end = replay_source_end(source);
    replay_seek(source, pos, pos->t_ns + step);
    if (pos->t_ns >= end)
        pos->playing = false;
}

/* Puts the position on event `index` of the focused server. */
static void stand_on(const struct probe_event_record *events, struct replay_position *pos,
                     size_t index)
{
    pos->on_event = true;
    pos->event_index = index;
    pos->t_ns = events[index].t_ns;
}

/* The event the position is on, or (out of step mode) the last one at or
 * before T; `*any` false when there is none before T. */
static size_t current_event(const struct probe_event_record *events, size_t n,
                            const struct replay_position *pos, bool *any)
{
    if (pos->on_event && pos->event_index < n) {
        *any = true;
        return pos->event_index;
    }
    size_t until = view_events_until(events, n, pos->t_ns);
    *any = until > 0;
    return until > 0 ? until - 1 : 0;
}

void replay_step_event(const struct replay_source *source, struct replay_position *pos,
                       int direction)
{
    size_t n;
    const struct probe_event_record *events = replay_source_events(source, pos->focus, &n);
    if (n == 0)
        return;
    bool any;
    size_t at = current_event(events, n, pos, &any);
    if (direction > 0)
        stand_on(events, pos, !any ? 0 : at + 1 < n ? at + 1 : at);
    else if (!pos->on_event && any)
        stand_on(events, pos, at);        /* back: first onto the event at T */
    else
        stand_on(events, pos, at > 0 ? at - 1 : 0);
}

void replay_step_turn(const struct replay_source *source, struct replay_position *pos,
                      int direction)
{
    size_t n;
    const struct probe_event_record *events = replay_source_events(source, pos->focus, &n);
    if (n == 0)
        return;
    uint16_t kind = replay_source_turn_kind(source, pos->focus);
    bool any;
    size_t at = current_event(events, n, pos, &any);
    if (direction > 0) {
        for (size_t i = any ? at + 1 : 0; i < n; i++) {
            if (events[i].kind == kind) {
                stand_on(events, pos, i);
                return;
            }
        }
        return;
    }
    /* Back: the turn start before the current event (or at it, when T
     * was between events and the last one before is a turn start). */
    size_t i = pos->on_event ? at : at + 1;
    while (any && i > 0) {
        i--;
        if (events[i].kind == kind) {
            stand_on(events, pos, i);
            return;
        }
    }
}

uint64_t replay_warning_moment(const struct replay_warning *warning)
{
    return warning->moment_ns;
}

bool replay_warning_counts(const struct replay_position *pos,
                           const struct replay_warning *warning)
{
    return !pos->warnings_in_focus || warning->server == pos->focus;
}

bool replay_jump_warning(const struct replay_source *source, struct replay_position *pos,
                         int direction)
{
    size_t count;
    const struct replay_warning *warnings = replay_source_warnings(source, &count);
    const struct replay_warning *found = NULL;
    /* The nearest moment that way: warnings are ordered by when they
     * began, and a long one can be shown after a shorter one that began
     * later, so every one is looked at. */
    for (size_t i = 0; i < count; i++) {
        const struct replay_warning *warning = &warnings[i];
        uint64_t moment = replay_warning_moment(warning);
        if (!replay_warning_counts(pos, warning))
            continue;
        bool ahead = direction > 0 ? moment > pos->t_ns : moment < pos->t_ns;
        bool nearer = found == NULL ||
                      (direction > 0 ? moment < replay_warning_moment(found)
                                     : moment > replay_warning_moment(found));
        if (ahead && nearer)
            found = warning;
    }
    if (found == NULL)
        return false;
    pos->focus = found->server;
    pos->on_event = false;
    pos->t_ns = replay_warning_moment(found);
    pos->playing = false;
    return true;
}
