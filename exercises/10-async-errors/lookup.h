/*
 * lookup.h — exercise 10: a two-step asynchronous lookup that always ends
 * in exactly one completion.  Given to you (do not edit); you write
 * lookup.c.
 *
 * lookup_start() asks the service (service.h) for `key`, then asks it for
 * the value that came back, and completes with the second value:
 *
 *     service_get(key)    -> value1
 *     service_get(value1) -> value2
 *     done(data, 0, value2)
 *
 * The contract — every rule is a graded test:
 *  1. lookup_start() returns 0 and then calls done exactly once, or
 *     returns a negative errno and never calls done (when the very first
 *     service_get() fails at once, return its error).
 *  2. done is never called from inside lookup_start(): always later, from
 *     the loop (a service that replies synchronously must not change that).
 *  3. An error from either step completes the lookup with that error:
 *     done(data, error, NULL).  After a failed first step, no second step.
 *  4. If the whole chain has not finished timeout_ms after lookup_start(),
 *     done(data, -ETIMEDOUT, NULL), and the request still pending at the
 *     service is cancelled.
 *  5. A reply that arrives after the lookup completed (late, or a
 *     duplicate) changes nothing and reaches no freed memory.
 *  6. lookup_cancel() on a running lookup calls done(data, -ECANCELED,
 *     NULL) before it returns.
 *  7. Once done has run, the lookup holds nothing: no loop timer, no
 *     request pending at the service, no memory.
 *
 * Ownership: lookup_start() allocates the lookup and gives it to the
 * caller through *out; the lookup frees itself right after done returns,
 * so the caller must not touch it (nor cancel it) from then on.  `value`
 * in done is valid only during the call.  done may call lookup_start()
 * again (for another lookup).
 */
#ifndef EX10_LOOKUP_H
#define EX10_LOOKUP_H

#include "loop/loop.h"
#include "service.h"

struct lookup;

typedef void (*lookup_done_cb)(void *data, int status, const char *value);

int  lookup_start(struct lookup **out, struct loop *loop, struct service *svc,
                  const char *key, unsigned timeout_ms, lookup_done_cb done, void *data);
void lookup_cancel(struct lookup *lookup);

#endif
