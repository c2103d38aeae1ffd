/*
 * probe_names.c — printable names for the probe enums, used by
 * `evlab stats` (JSON keys), `evlab view` and the tests.
 *
 * Each table is indexed by the enum value and checked against the
 * enum's COUNT at compile time, so adding a gauge without naming it is a
 * build error instead of a "?" on a student's screen.  Names are short,
 * lowercase and stable: scripts and course platforms read them.
 * Always compiled, even with EVLAB_NO_PROBES.
 */
#include "probe/probe.h"

#include <stddef.h>

#define COUNT_OF(table) (sizeof(table) / sizeof((table)[0]))

static const char *const event_kind_names[] = {
    [PROBE_EV_NONE] = "none",
    [PROBE_EV_ACCEPT] = "accept",
    [PROBE_EV_READ] = "read",
    [PROBE_EV_WRITE] = "write",
    [PROBE_EV_CLOSE] = "close",
    [PROBE_EV_POLL_ENTER] = "poll_enter",
    [PROBE_EV_POLL_RETURN] = "poll_return",
    [PROBE_EV_DISPATCH_BEGIN] = "dispatch_begin",
    [PROBE_EV_DISPATCH_END] = "dispatch_end",
    [PROBE_EV_HANDLER_BEGIN] = "handler_begin",
    [PROBE_EV_HANDLER_END] = "handler_end",
    [PROBE_EV_TIMER_FIRE] = "timer_fire",
    [PROBE_EV_WORK_SUBMIT] = "work_submit",
    [PROBE_EV_WORK_DONE] = "work_done",
    [PROBE_EV_THREAD_START] = "thread_start",
    [PROBE_EV_THREAD_EXIT] = "thread_exit",
    [PROBE_EV_BLOCK_BEGIN] = "block_begin",
    [PROBE_EV_BLOCK_END] = "block_end",
    [PROBE_EV_REJECT] = "reject",
    [PROBE_EV_HANDLER_RUN] = "handler_run",
};
_Static_assert(COUNT_OF(event_kind_names) == PROBE_EV_KIND_COUNT, "name every event kind");

static const char *const call_names[] = {
    [PROBE_CALL_NONE] = "none",
    [PROBE_CALL_ACCEPT] = "accept",
    [PROBE_CALL_READ] = "read",
    [PROBE_CALL_WRITE] = "write",
    [PROBE_CALL_POLL] = "poll",
    [PROBE_CALL_SLEEP] = "sleep",
    [PROBE_CALL_WORK_WAIT] = "work_wait",
    [PROBE_CALL_LOCK] = "lock",
};
_Static_assert(COUNT_OF(call_names) == PROBE_CALL_COUNT, "name every call");

static const char *const gauge_names[] = {
    [PROBE_GAUGE_CONNECTIONS] = "connections",
    [PROBE_GAUGE_THREADS] = "threads",
    [PROBE_GAUGE_QUEUED] = "queued",
    [PROBE_GAUGE_READY] = "ready",
    [PROBE_GAUGE_HANDLERS_RUNNING] = "handlers_running",
    [PROBE_GAUGE_REQUESTS_DONE] = "requests_done",
    [PROBE_GAUGE_EVENTS_DROPPED] = "events_dropped",
    [PROBE_GAUGE_Q_ACCEPT_BACKLOG] = "q_accept_backlog",
    [PROBE_GAUGE_Q_PIPELINED] = "q_pipelined",
    [PROBE_GAUGE_Q_UNDISPATCHED] = "q_undispatched",
    [PROBE_GAUGE_Q_TIMERS_EXPIRED] = "q_timers_expired",
    [PROBE_GAUGE_Q_COMPLETIONS] = "q_completions",
    [PROBE_GAUGE_Q_RUNNABLE] = "q_runnable",
    [PROBE_GAUGE_LOOP_TURNS] = "loop_turns",
    [PROBE_GAUGE_LOOP_BUSY_NS] = "loop_busy_ns",
    [PROBE_GAUGE_LOOP_LAST_READY] = "loop_last_ready",
    [PROBE_GAUGE_TIMERS_PENDING] = "timers_pending",
    [PROBE_GAUGE_WORK_QUEUED] = "work_queued",
    [PROBE_GAUGE_WORKERS] = "workers",
    [PROBE_GAUGE_ACCEPTS] = "accepts",
    [PROBE_GAUGE_CLOSES] = "closes",
    [PROBE_GAUGE_BYTES_IN] = "bytes_in",
    [PROBE_GAUGE_BYTES_OUT] = "bytes_out",
    [PROBE_GAUGE_ERRORS_4XX] = "errors_4xx",
    [PROBE_GAUGE_REJECTED_503] = "rejected_503",
    [PROBE_GAUGE_ACCEPT_PAUSES] = "accept_pauses",
    [PROBE_GAUGE_READS_PAUSED] = "reads_paused",
    [PROBE_GAUGE_OUTPUT_QUEUED] = "output_queued",
    [PROBE_GAUGE_BUFFER_BYTES] = "buffer_bytes",
    [PROBE_GAUGE_CLIENT_ERRORS] = "client_errors",
};
_Static_assert(COUNT_OF(gauge_names) == PROBE_GAUGE_COUNT, "name every gauge");

static const char *const hist_names[] = {
    [PROBE_HIST_HANDLER_NS] = "handler_ns",
    [PROBE_HIST_LOOP_LAG_NS] = "loop_lag_ns",
    [PROBE_HIST_POLL_READY] = "poll_ready",
    [PROBE_HIST_DISPATCH_NS] = "dispatch_ns",
    [PROBE_HIST_CLIENT_NS] = "client_ns",
};
_Static_assert(COUNT_OF(hist_names) == PROBE_HIST_COUNT, "name every histogram");

static const char *const thread_state_names[] = {
    [PROBE_STATE_IDLE] = "idle",
    [PROBE_STATE_BLOCKED] = "blocked",
    [PROBE_STATE_HANDLER] = "handler",
    [PROBE_STATE_EXITED] = "exited",
};

/* Looks a value up in a table, "?" for anything out of range (a reader
 * may find values from a newer writer, or garbage). */
static const char *lookup(const char *const *table, size_t count, unsigned value)
{
    if (value >= count || table[value] == NULL)
        return "?";
    return table[value];
}

const char *probe_event_kind_name(enum probe_event_kind kind)
{
    return lookup(event_kind_names, COUNT_OF(event_kind_names), (unsigned)kind);
}

const char *probe_call_name(enum probe_call call)
{
    return lookup(call_names, COUNT_OF(call_names), (unsigned)call);
}

const char *probe_gauge_name(enum probe_gauge gauge)
{
    return lookup(gauge_names, COUNT_OF(gauge_names), (unsigned)gauge);
}

const char *probe_hist_name(enum probe_hist hist)
{
    return lookup(hist_names, COUNT_OF(hist_names), (unsigned)hist);
}

const char *probe_thread_state_name(enum probe_thread_state state)
{
    return lookup(thread_state_names, COUNT_OF(thread_state_names), (unsigned)state);
}
