/*
 * view_replay.c — step mode's reconstruction of a server at recorded event
 * N (see view_replay.h).  No snapshot was taken at that instant,
 * so the state of every thread and of the loop's current turn is rebuilt
 * from the events themselves.
 *
 * Design.  Replaying is a fold: start from the state each thread had just
 * before the first recorded event, then apply events 0..N-1 one by one,
 * changing a thread's state exactly as probe.c changes its ring header
 * when the server emits that event.  The starting state is the tricky
 * part, because the recording begins in the middle of the run: it is
 * inferred backwards from the first thing each thread did (a BLOCK_END
 * means it was blocked in that call), and for threads that emitted
 * nothing, from the snapshot taken after the recording.
 */
#include "view_replay.h"

#include <assert.h>
#include <string.h>

size_t view_events_until(const struct probe_event_record *events, size_t n, uint64_t t_ns)
{
    /* Binary search for the first event later than t_ns. */
    size_t low = 0, high = n;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        if (events[mid].t_ns <= t_ns)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

/* Whether an event changes what its thread is doing. */
static bool changes_state(uint16_t kind)
{
    return kind == PROBE_EV_BLOCK_BEGIN || kind == PROBE_EV_BLOCK_END ||
           kind == PROBE_EV_HANDLER_BEGIN || kind == PROBE_EV_HANDLER_END ||
           kind == PROBE_EV_THREAD_START || kind == PROBE_EV_THREAD_EXIT;
}

/* The state a ring is in when nothing says otherwise: not started. */
static void ring_reset(struct view_ring_replay *ring)
{
    *ring = (struct view_ring_replay){ .state = PROBE_STATE_EXITED, .fd = -1 };
}

/* The state of each ring before events[0], worked out backwards from the
 * first thing each ring did in the recording: a BLOCK_END means it was
 * blocked in that call (since t - duration), a HANDLER_END that it was in
 * that handler, a THREAD_START that it did not exist yet.  Rings that did
 * nothing that changes state are left reset, marked not from_events. */
static void replay_infer_start(const struct probe_event_record *events, size_t n,
                               struct view_replay *out)
{
    bool *state_known = out->from_events;
    bool handler_known[PROBE_MAX_RINGS] = { false };
    for (int r = 0; r < PROBE_MAX_RINGS; r++) {
        ring_reset(&out->rings[r]);
        state_known[r] = false;
    }

    for (size_t i = 0; i < n; i++) {
        const struct probe_event_record *ev = &events[i];
        if (ev->ring >= PROBE_MAX_RINGS || !changes_state(ev->kind))
            continue;
        struct view_ring_replay *ring = &out->rings[ev->ring];
        uint64_t began = ev->t_ns > ev->b ? ev->t_ns - ev->b : 0;
        if (!handler_known[ev->ring] &&
            (ev->kind == PROBE_EV_HANDLER_BEGIN || ev->kind == PROBE_EV_HANDLER_END ||
             ev->kind == PROBE_EV_THREAD_START)) {
            handler_known[ev->ring] = true;
            if (ev->kind == PROBE_EV_HANDLER_END)
                ring->handler = (struct view_ring_handler){
                    .active = true, .route = (uint16_t)ev->a, .fd = ev->fd, .start_ns = began };
        }
        if (state_known[ev->ring])
            continue;
        state_known[ev->ring] = true;
        ring->exists = ev->kind != PROBE_EV_THREAD_START;
        ring->fd = -1;
        switch (ev->kind) {
        case PROBE_EV_BLOCK_END:
            ring->state = PROBE_STATE_BLOCKED;
            ring->call = (uint8_t)ev->a;
            ring->fd = ev->fd;
            ring->since_ns = began;
            break;
        case PROBE_EV_HANDLER_END:
            ring->state = PROBE_STATE_HANDLER;
            ring->fd = ev->fd;
            ring->since_ns = began;
            break;
        case PROBE_EV_THREAD_START:
            ring->state = PROBE_STATE_EXITED;
            break;
        default:
            /* BLOCK_BEGIN, HANDLER_BEGIN, THREAD_EXIT: it was not blocked;
             * whether it was in a handler is settled below. */
            ring->state = PROBE_STATE_IDLE;
            break;
        }
    }
    /* A BLOCK_BEGIN inside a handler: the thread was running that handler. */
    for (int r = 0; r < PROBE_MAX_RINGS; r++) {
        struct view_ring_replay *ring = &out->rings[r];
        if (state_known[r] && ring->state == PROBE_STATE_IDLE && ring->handler.active) {
            ring->state = PROBE_STATE_HANDLER;
            ring->fd = ring->handler.fd;
            ring->since_ns = ring->handler.start_ns;
        }
    }
}

void view_replay_fill_silent(struct view_replay *state, const struct probe_event_record *events,
                             size_t n, const struct probe_snapshot *fallback)
{
    /* Start over each time: the previous fallback may have said more
     * (an fd, a handler) than this one will. */
    for (int r = 0; r < PROBE_MAX_RINGS; r++)
        if (!state->from_events[r])
            ring_reset(&state->rings[r]);
    if (fallback == NULL)
        return;
    /* The snapshot taken after the recording says what these threads were
     * doing, if they were doing it already when the recording began. */
    uint64_t start = n > 0 ? events[0].t_ns : fallback->taken_ns;
    for (size_t i = 0; i < fallback->thread_count && i < PROBE_MAX_RINGS; i++) {
        const struct probe_thread_info *info = &fallback->threads[i];
        if (info->ring < 0 || info->ring >= PROBE_MAX_RINGS || state->from_events[info->ring])
            continue;
        struct view_ring_replay *ring = &state->rings[info->ring];
        ring->exists = info->state != PROBE_STATE_EXITED;
        if (info->since_ns <= start) {
            ring->state = info->state;
            ring->call = info->call;
            ring->fd = info->fd;
            ring->since_ns = info->since_ns;
            if (info->state == PROBE_STATE_HANDLER)
                ring->handler = (struct view_ring_handler){
                    .active = true, .route = info->route, .fd = info->fd,
                    .start_ns = info->since_ns };
        } else {
            /* It changed state after the recording: before, unknown; idle
             * is the honest default for a thread that emitted nothing. */
            ring->state = ring->exists ? PROBE_STATE_IDLE : PROBE_STATE_EXITED;
        }
    }
}

static void replay_turn_push(struct view_replay *out, uint32_t ready)
{
    if (out->turn_count == VIEW_TURN_STRIP_LEN) {
        memmove(out->turns, out->turns + 1, (VIEW_TURN_STRIP_LEN - 1) * sizeof out->turns[0]);
        out->turn_count--;
    }
    out->turns[out->turn_count++] = ready;
}

/* Applies one event, mirroring what probe.c does to the ring header. */
static void replay_apply(struct view_replay *out, const struct probe_event_record *ev)
{
    out->t_ns = ev->t_ns;
    struct view_ring_replay *ring = ev->ring < PROBE_MAX_RINGS ? &out->rings[ev->ring] : NULL;
    switch (ev->kind) {
    case PROBE_EV_THREAD_START:
        if (ring != NULL)
            *ring = (struct view_ring_replay){ .exists = true, .state = PROBE_STATE_IDLE,
                                               .fd = -1, .since_ns = ev->t_ns };
        break;
    case PROBE_EV_THREAD_EXIT:
        if (ring != NULL)
            *ring = (struct view_ring_replay){ .exists = false, .state = PROBE_STATE_EXITED,
                                               .fd = -1, .since_ns = ev->t_ns };
        break;
    case PROBE_EV_BLOCK_BEGIN:
        if (ring != NULL) {
            ring->exists = true;
            ring->state = PROBE_STATE_BLOCKED;
            ring->call = (uint8_t)ev->a;
            ring->fd = ev->fd;
            ring->since_ns = ev->t_ns;
        }
        break;
    case PROBE_EV_BLOCK_END:
        if (ring != NULL) {
            /* Back to the handler it blocked in, or to idle (probe.c). */
            ring->exists = true;
            if (ring->handler.active) {
                ring->state = PROBE_STATE_HANDLER;
                ring->fd = ring->handler.fd;
                ring->since_ns = ring->handler.start_ns;
            } else {
                ring->state = PROBE_STATE_IDLE;
                ring->fd = -1;
                ring->since_ns = ev->t_ns;
            }
            ring->call = PROBE_CALL_NONE;
        }
        break;
    case PROBE_EV_HANDLER_BEGIN:
        if (ring != NULL) {
            ring->exists = true;
            ring->handler = (struct view_ring_handler){
                .active = true, .route = (uint16_t)ev->a, .fd = ev->fd, .start_ns = ev->t_ns };
            ring->state = PROBE_STATE_HANDLER;
            ring->fd = ev->fd;
            ring->since_ns = ev->t_ns;
        }
        break;
    case PROBE_EV_HANDLER_END:
        out->handlers_done++;
        if (ring != NULL) {
            ring->exists = true;
            ring->handler.active = false;
            ring->state = PROBE_STATE_IDLE;
            ring->fd = -1;
            ring->since_ns = ev->t_ns;
        }
        break;
    case PROBE_EV_POLL_ENTER:
        out->in_turn = false;        /* the previous turn is over */
        break;
    case PROBE_EV_POLL_RETURN:
        out->in_turn = true;
        out->turn_ready = (uint32_t)ev->a;
        out->turn_dispatched = 0;
        replay_turn_push(out, (uint32_t)ev->a);
        break;
    case PROBE_EV_DISPATCH_BEGIN:
        /* Being dispatched means it is no longer waiting in the queue. */
        if (out->in_turn && out->turn_dispatched < out->turn_ready)
            out->turn_dispatched++;
        break;
    case PROBE_EV_ACCEPT:
        out->accepts++;
        break;
    case PROBE_EV_CLOSE:
        out->closes++;
        break;
    case PROBE_EV_TIMER_FIRE:
        out->last_lateness_ns = ev->a;
        break;
    default:
        break;
    }
}

void view_replay_begin(const struct probe_event_record *events, size_t n,
                       struct view_replay *out)
{
    memset(out, 0, sizeof *out);
    replay_infer_start(events, n, out);
    out->t_ns = n > 0 ? events[0].t_ns : 0;
    out->applied = 0;
}

void view_replay_continue(struct view_replay *state, const struct probe_event_record *events,
                          size_t n, size_t upto)
{
    if (upto > n)
        upto = n;
    /* Folding never goes backwards: the caller restores an earlier copy. */
    assert(state->applied <= upto);
    for (size_t i = state->applied; i < upto; i++)
        replay_apply(state, &events[i]);
    state->applied = upto;
}

void view_replay_run(const struct probe_event_record *events, size_t n, size_t upto,
                     const struct probe_snapshot *fallback, struct view_replay *out)
{
    view_replay_begin(events, n, out);
    view_replay_fill_silent(out, events, n, fallback);
    view_replay_continue(out, events, n, upto);
}
