/*
 * lookup.c — exercise 10, a WRONG solution kept for the grader's
 * self-check: on a timeout it completes once, as it should, but forgets
 * to cancel the request still pending at the service (lookup_finish),
 * so work goes on for a lookup that is over.
 *
 * Design.  Every way the chain can end — a step's error, the second
 * step's value, the timeout, a refused second request — goes through one
 * function, lookup_finish(), which ignores every call after the first.
 * That single door is what makes "exactly once" true.  lookup_finish()
 * cleans up at once (cancels the request in flight, stops the timeout)
 * but delivers done on the next loop turn through a zero-delay timer, for
 * two reasons:
 *   - rule 2: a service that replies synchronously would otherwise make
 *     done run inside lookup_start();
 *   - re-entrancy: lookup_finish() may run deep inside service_get(), and
 *     freeing the lookup there would pull the memory out from under the
 *     code that called service_get() and is about to look at the lookup.
 * Only lookup_cancel() completes on the spot (rule 6); it is called by
 * the user, never from inside our own callbacks.
 *
 * Duplicates (rule 5): on each reply we cancel that request id at once.
 * service_cancel() on a request that has replied is harmless, and it
 * guarantees no further callback — so a second reply can never reach a
 * lookup that has been freed.
 */
#include "lookup.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define LOOKUP_VALUE_MAX 64

struct lookup {
    struct loop *loop;
    struct service *svc;
    lookup_done_cb done;
    void *data;
    struct loop_timer timeout;      /* the whole chain's limit */
    struct loop_timer deliver;      /* runs done on the next turn */
    int step;                       /* 1: asking for key, 2: for value1 */
    int64_t request;                /* id in flight at the service, 0 = none */
    bool finished;                  /* the outcome is decided */
    int status;                     /* the outcome */
    char value[LOOKUP_VALUE_MAX];
};

static void on_reply(void *data, int status, const char *value);

/* The single door: the first outcome wins, later ones are ignored. */
static void lookup_finish(struct lookup *lk, int status, const char *value)
{
    if (lk->finished)
        return;
    lk->finished = true;
    lk->status = status;
    if (status == 0)
        snprintf(lk->value, sizeof lk->value, "%s", value);
    /* WRONG (on purpose): the request in flight is not cancelled. */
    lk->request = 0;
    loop_timer_stop(lk->loop, &lk->timeout);
    /* ...and tell the caller on the next turn (rule 2, re-entrancy). */
    loop_timer_start(lk->loop, &lk->deliver, 0);
}

static void on_deliver(struct loop *loop, struct loop_timer *timer)
{
    (void)loop;
    struct lookup *lk = timer->data;
    lk->done(lk->data, lk->status, lk->status == 0 ? lk->value : NULL);
    free(lk);
}

static void on_timeout(struct loop *loop, struct loop_timer *timer)
{
    (void)loop;
    lookup_finish(timer->data, -ETIMEDOUT, NULL);
}

static void start_second_step(struct lookup *lk, const char *key)
{
    char second_key[LOOKUP_VALUE_MAX];
    /* value is only valid during the callback; copy it first. */
    snprintf(second_key, sizeof second_key, "%s", key);
    lk->step = 2;
    int64_t id = service_get(lk->svc, second_key, on_reply, lk);
    if (id < 0)
        lookup_finish(lk, (int)id, NULL);
    else if (!lk->finished)         /* a synchronous reply may have finished us */
        lk->request = id;
}

static void on_reply(void *data, int status, const char *value)
{
    struct lookup *lk = data;

    /* This request has answered; make sure it cannot answer again. */
    service_cancel(lk->svc, lk->request);
    lk->request = 0;
    if (lk->finished)
        return;                     /* not reachable with the cancel above */
    if (status < 0)
        lookup_finish(lk, status, NULL);
    else if (lk->step == 1)
        start_second_step(lk, value);
    else
        lookup_finish(lk, 0, value);
}

int lookup_start(struct lookup **out, struct loop *loop, struct service *svc,
                 const char *key, unsigned timeout_ms, lookup_done_cb done, void *data)
{
    struct lookup *lk = calloc(1, sizeof *lk);
    if (lk == NULL)
        return -ENOMEM;
    lk->loop = loop;
    lk->svc = svc;
    lk->done = done;
    lk->data = data;
    lk->step = 1;
    loop_timer_init(&lk->timeout, on_timeout, lk);
    loop_timer_init(&lk->deliver, on_deliver, lk);
    loop_timer_start(loop, &lk->timeout, (uint64_t)timeout_ms * 1000000u);

    int64_t id = service_get(svc, key, on_reply, lk);
    if (id < 0) {
        /* Rule 1: an error now is returned, and done never runs. */
        loop_timer_stop(loop, &lk->timeout);
        free(lk);
        return (int)id;
    }
    if (!lk->finished && lk->step == 1)
        lk->request = id;           /* still waiting for the first step */
    *out = lk;
    return 0;
}

void lookup_cancel(struct lookup *lk)
{
    service_cancel(lk->svc, lk->request);
    loop_timer_stop(lk->loop, &lk->timeout);
    loop_timer_stop(lk->loop, &lk->deliver);
    /* Rule 6: exactly one completion, now, whatever was pending. */
    lk->done(lk->data, -ECANCELED, NULL);
    free(lk);
}
