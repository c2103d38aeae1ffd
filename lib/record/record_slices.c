/*
 * record_slices.c — events back into nested per-thread slices (see
 * record_slices.h).
 */
#include "record/record_slices.h"

#include <string.h>

void record_slicer_init(struct record_slicer *slicer, record_slice_cb on_slice, void *context)
{
    memset(slicer, 0, sizeof *slicer);
    slicer->on_slice = on_slice;
    slicer->context = context;
}

static void push(struct record_slice_stack *stack, enum record_slice_kind kind,
                 const struct probe_event_record *ev, uint64_t detail)
{
    if (stack->depth == RECORD_SLICE_DEPTH)
        return;
    bool in_handler = false;
    for (unsigned i = 0; i < stack->depth; i++)
        in_handler |= stack->open[i].kind == RECORD_SLICE_HANDLER;
    stack->open[stack->depth] = (struct record_slice){
        .kind = kind, .ring = ev->ring, .fd = ev->fd, .detail = detail,
        .begin_ns = ev->t_ns, .depth = stack->depth, .in_handler = in_handler };
    stack->depth++;
}

/* Reports and removes the top slice, ending at t_ns. */
static void pop_one(struct record_slicer *slicer, struct record_slice_stack *stack, uint64_t t_ns)
{
    struct record_slice *slice = &stack->open[--stack->depth];
    slice->end_ns = t_ns > slice->begin_ns ? t_ns : slice->begin_ns;
    slicer->on_slice(slicer->context, slice);
}

/* Closes the innermost open slice of this kind (and detail, when
 * `match_detail`), and everything open inside it; nothing when there is
 * no such slice. */
static void pop_to(struct record_slicer *slicer, struct record_slice_stack *stack,
                   enum record_slice_kind kind, bool match_detail, uint64_t detail, uint64_t t_ns)
{
    unsigned i = stack->depth;
    while (i > 0) {
        const struct record_slice *s = &stack->open[i - 1];
        if (s->kind == kind && (!match_detail || s->detail == detail))
            break;
        i--;
    }
    if (i == 0)
        return;
    while (stack->depth >= i)
        pop_one(slicer, stack, t_ns);
}

void record_slicer_event(struct record_slicer *slicer, const struct probe_event_record *ev)
{
    if (ev->ring >= PROBE_MAX_RINGS)
        return;
    struct record_slice_stack *stack = &slicer->rings[ev->ring];
    switch (ev->kind) {
    case PROBE_EV_POLL_ENTER:
        /* A new turn ends the previous one. */
        pop_to(slicer, stack, RECORD_SLICE_TURN, false, 0, ev->t_ns);
        push(stack, RECORD_SLICE_TURN, ev, 0);
        break;
    case PROBE_EV_BLOCK_BEGIN:
        push(stack, RECORD_SLICE_WAIT, ev, ev->a);
        break;
    case PROBE_EV_BLOCK_END:
        pop_to(slicer, stack, RECORD_SLICE_WAIT, true, ev->a, ev->t_ns);
        break;
    case PROBE_EV_DISPATCH_BEGIN:
        push(stack, RECORD_SLICE_DISPATCH, ev, ev->a);
        break;
    case PROBE_EV_DISPATCH_END:
        pop_to(slicer, stack, RECORD_SLICE_DISPATCH, false, 0, ev->t_ns);
        break;
    case PROBE_EV_HANDLER_BEGIN:
        push(stack, RECORD_SLICE_HANDLER, ev, ev->a);
        break;
    case PROBE_EV_HANDLER_END:
        pop_to(slicer, stack, RECORD_SLICE_HANDLER, false, 0, ev->t_ns);
        break;
    case PROBE_EV_THREAD_START:
    case PROBE_EV_THREAD_EXIT:
        /* A ring changing hands: nothing of the old thread stays open. */
        while (stack->depth > 0)
            pop_one(slicer, stack, ev->t_ns);
        break;
    default:
        break;
    }
}

void record_slicer_gap(struct record_slicer *slicer)
{
    for (int r = 0; r < PROBE_MAX_RINGS; r++)
        slicer->rings[r].depth = 0;
}

void record_slicer_finish(struct record_slicer *slicer, uint64_t t_ns)
{
    for (int r = 0; r < PROBE_MAX_RINGS; r++)
        while (slicer->rings[r].depth > 0)
            pop_one(slicer, &slicer->rings[r], t_ns);
}

bool record_slice_blocks_server(const struct record_slice *slice, const char *model,
                                const char *role, uint64_t budget_ns)
{
    bool single_threaded = strcmp(model, "loop") == 0 || strcmp(model, "blocking") == 0;
    if (!single_threaded || strncmp(role, "worker", 6) == 0 || slice->in_handler)
        return false;
    if (slice->end_ns - slice->begin_ns <= budget_ns)
        return false;
    if (slice->kind == RECORD_SLICE_HANDLER)
        return true;
    /* The blocking model waits in read() and write() on its one client
     * by design; the lesson there is the accept queue, not this wait. */
    return slice->kind == RECORD_SLICE_WAIT && strcmp(model, "loop") == 0 &&
           slice->detail != PROBE_CALL_POLL && slice->detail != PROBE_CALL_ACCEPT &&
           slice->detail != PROBE_CALL_WORK_WAIT;
}
