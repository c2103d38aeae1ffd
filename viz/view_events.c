/*
 * view_events.c — one recorded event as a short line of words, for the
 * event log of a pane: "accept -> fd 7", "poll() returned 3 ready" (see
 * view_events.h).  Part of the text layer: the view model keeps raw
 * records and view_text.c calls this to word them.
 *
 * Design.  One switch over the event kinds, each case printing with
 * snprintf into the caller's buffer, so a long line is cut short rather
 * than overflowing.  The words follow the lesson's vocabulary (poll(),
 * dispatch, handler) and reuse the route and call names of the libraries,
 * so the log reads like the diagrams students have seen.  Kinds this view
 * does not know still get a line ("event kind 42"): a student's server may
 * emit events of its own.
 */
#include "view_events.h"

#include <stdbool.h>

#include <inttypes.h>
#include <stdio.h>

#include "http/routes.h"
#include "loop/loop.h"
#include "view_format.h"

static const char *revents_text(uint64_t revents)
{
    bool readable = revents & LOOP_READABLE, writable = revents & LOOP_WRITABLE;
    if (revents & LOOP_ERROR)
        return "error/hang-up";
    if (readable && writable)
        return "readable+writable";
    return readable ? "readable" : writable ? "writable" : "-";
}

void view_event_describe(const struct probe_event_record *ev, char *buf, size_t len)
{
    char d[32];
    switch (ev->kind) {
    case PROBE_EV_ACCEPT:
        snprintf(buf, len, "accept -> fd %d", (int)ev->fd);
        break;
    case PROBE_EV_READ:
        if (ev->a == 0)
            snprintf(buf, len, "read fd %d: peer closed", (int)ev->fd);
        else
            snprintf(buf, len, "read fd %d: %" PRIu64 " B", (int)ev->fd, ev->a);
        break;
    case PROBE_EV_WRITE:
        snprintf(buf, len, "write fd %d: %" PRIu64 " B", (int)ev->fd, ev->a);
        break;
    case PROBE_EV_CLOSE:
        snprintf(buf, len, "close fd %d", (int)ev->fd);
        break;
    case PROBE_EV_POLL_ENTER:
        if (ev->a == UINT64_MAX)
            snprintf(buf, len, "poll() waits, no timeout");
        else
            snprintf(buf, len, "poll() waits, timeout %" PRIu64 " ms", ev->a);
        break;
    case PROBE_EV_POLL_RETURN:
        snprintf(buf, len, "poll() returned %" PRIu64 " ready", ev->a);
        break;
    case PROBE_EV_DISPATCH_BEGIN:
        snprintf(buf, len, "dispatch fd %d (%s)", (int)ev->fd, revents_text(ev->a));
        break;
    case PROBE_EV_DISPATCH_END:
        snprintf(buf, len, "dispatch fd %d done, %s", (int)ev->fd,
                 format_duration(d, sizeof d, ev->b));
        break;
    case PROBE_EV_HANDLER_BEGIN:
        snprintf(buf, len, "handler %s fd %d starts", route_name((enum route_id)ev->a),
                 (int)ev->fd);
        break;
    case PROBE_EV_HANDLER_END:
        snprintf(buf, len, "handler %s fd %d took %s", route_name((enum route_id)ev->a),
                 (int)ev->fd, format_duration(d, sizeof d, ev->b));
        break;
    case PROBE_EV_TIMER_FIRE:
        snprintf(buf, len, "timer fired %s late", format_duration(d, sizeof d, ev->a));
        break;
    case PROBE_EV_WORK_SUBMIT:
        snprintf(buf, len, "work queued for fd %d", (int)ev->fd);
        break;
    case PROBE_EV_WORK_DONE:
        snprintf(buf, len, "work for fd %d done in %s", (int)ev->fd,
                 format_duration(d, sizeof d, ev->b));
        break;
    case PROBE_EV_THREAD_START:
        snprintf(buf, len, "thread %" PRIu64 " starts", ev->a);
        break;
    case PROBE_EV_THREAD_EXIT:
        snprintf(buf, len, "thread %" PRIu64 " exits", ev->a);
        break;
    case PROBE_EV_BLOCK_BEGIN:
        if (ev->fd >= 0)
            snprintf(buf, len, "waits in %s() fd %d", probe_call_name((enum probe_call)ev->a),
                     (int)ev->fd);
        else
            snprintf(buf, len, "waits in %s()", probe_call_name((enum probe_call)ev->a));
        break;
    case PROBE_EV_BLOCK_END:
        snprintf(buf, len, "%s() returns after %s", probe_call_name((enum probe_call)ev->a),
                 format_duration(d, sizeof d, ev->b));
        break;
    case PROBE_EV_REJECT:
        snprintf(buf, len, "reject fd %d with %" PRIu64, (int)ev->fd, ev->a);
        break;
    default:
        snprintf(buf, len, "event kind %u", (unsigned)ev->kind);
        break;
    }
}
