/*
 * lookup.c — exercise 10: a two-step asynchronous lookup that must end in
 * exactly one completion (the contract is in lookup.h).  This is the file
 * you edit and hand in (see README.md).
 *
 * What is here: the happy path, written the way it is often first
 * written — start step 1, in its callback start step 2, in its callback
 * call done.  It works when the service behaves.  It breaks every other
 * rule of lookup.h:
 *   - a service_get() that fails at once is ignored: done never runs;
 *   - a service that never replies leaves the lookup waiting forever
 *     (no timeout);
 *   - a duplicate reply calls done twice, the second time on freed memory;
 *   - a synchronous reply makes done run inside lookup_start();
 *   - lookup_cancel() does nothing.
 * Fix them all.  Look for TODO.
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
    int step;                       /* 1: asking for key, 2: for value1 */
    /* TODO: what else must a lookup remember?  (the request in flight, a
     * timer for the timeout, whether it has finished, ...) */
};

static void on_reply(void *data, int status, const char *value)
{
    struct lookup *lk = data;

    if (status < 0 || lk->step == 2) {
        /* TODO: done may run twice here, and lk is freed while the
         * service may still call back. */
        lk->done(lk->data, status, status == 0 ? value : NULL);
        free(lk);
        return;
    }
    char second_key[LOOKUP_VALUE_MAX];
    snprintf(second_key, sizeof second_key, "%s", value);
    lk->step = 2;
    /* TODO: the result is ignored; a failure here means done never runs. */
    service_get(lk->svc, second_key, on_reply, lk);
}

int lookup_start(struct lookup **out, struct loop *loop, struct service *svc,
                 const char *key, unsigned timeout_ms, lookup_done_cb done, void *data)
{
    (void)timeout_ms;               /* TODO: rule 4 */
    struct lookup *lk = calloc(1, sizeof *lk);
    if (lk == NULL)
        return -ENOMEM;
    lk->loop = loop;
    lk->svc = svc;
    lk->done = done;
    lk->data = data;
    lk->step = 1;
    /* TODO: the result is ignored (rule 1). */
    service_get(svc, key, on_reply, lk);
    *out = lk;
    return 0;
}

void lookup_cancel(struct lookup *lk)
{
    (void)lk;                       /* TODO: rule 6 */
}
