/*
 * replay_timeline.h — where a replay stands and how it moves: play and
 * pause, speed from 1/1000 to 10x, one event or one loop turn forward or
 * back, the next or previous blocked-loop moment, a time to seek to.
 *
 * A position is a time T plus, in step mode, the event of the focused
 * server that T is the time of.  Every move is a pure function of the
 * position and the recording (replay_source.h), so the tests can drive a
 * replay without a terminal, and stepping back is exact: the panes at a
 * position are rebuilt from the recording each time, never undone.
 *
 * A loop turn is stepped from one "poll() returned" to the next; on a
 * server without a poll loop (blocking, threads), from one handler start
 * to the next.  A blocked-loop moment is shown at its last instant (the
 * last instant of the call the handler waits in, when it waits in one),
 * where the pane says for how long the loop has been held.
 *
 * Errors: none; moves past either end stop there.
 * Ownership: plain structs owned by the caller.
 */
#ifndef EVLAB_REPLAY_TIMELINE_H
#define EVLAB_REPLAY_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replay_source.h"

/* Playback speeds, as fractions, slowest first; the default is 1x. */
#define REPLAY_SPEED_COUNT   9
#define REPLAY_SPEED_DEFAULT 5

struct replay_position {
    uint64_t t_ns;
    size_t focus;             /* the server whose events are stepped */
    bool on_event;            /* step mode: T is the time of event_index */
    size_t event_index;       /* in the focused server's events */
    bool playing;
    size_t speed;             /* index into the speed table */
    /* false: n N jump between the blocked moments of every server;
     * true: only between those of the focused server (a blocking server
     * warns at every slow request, which would hide the loop's). */
    bool warnings_in_focus;
};

/* At the moment the recorder attached, paused, 1x, first server. */
void replay_position_init(const struct replay_source *source, struct replay_position *pos);

/* "1/1000x", "1x", "10x" ... for the status bar. */
const char *replay_speed_name(size_t speed);
void replay_speed_change(struct replay_position *pos, int delta);

/* Playing: moves T on by `real_ns` of wall time at the position's speed;
 * pauses at the end of the recording. */
void replay_advance(const struct replay_source *source, struct replay_position *pos,
                    uint64_t real_ns);

/* Steps one event of the focused server forward (+1) or back (-1). */
void replay_step_event(const struct replay_source *source, struct replay_position *pos,
                       int direction);

/* Steps to the next or previous loop turn of the focused server. */
void replay_step_turn(const struct replay_source *source, struct replay_position *pos,
                      int direction);

/* Jumps to the nearest blocked-loop moment after (+1) or before (-1) T:
 * of any server, which then becomes the focus, or with
 * pos->warnings_in_focus of the focused server only.  Returns false when
 * there is none that way. */
bool replay_jump_warning(const struct replay_source *source, struct replay_position *pos,
                         int direction);

/* Whether n N stop at this moment from this position. */
bool replay_warning_counts(const struct replay_position *pos,
                           const struct replay_warning *warning);

/* Goes to T (clamped to the recording), out of step mode. */
void replay_seek(const struct replay_source *source, struct replay_position *pos,
                 uint64_t t_ns);

/* The time at which a blocked-loop moment is shown. */
uint64_t replay_warning_moment(const struct replay_warning *warning);

/* The earliest recorded instant (events the rings still held when the
 * recorder attached may come before replay_source_start()). */
uint64_t replay_first_ns(const struct replay_source *source);

#endif
