/*
 * service.h — exercise 10's fake asynchronous key-value service, given to
 * you (do not edit; the grader uses its own copy).
 *
 * It stands for any remote service you would call from an event loop: a
 * request goes out now, the reply comes back later, from the loop, as a
 * callback.  Like real services it can misbehave, and the tests script
 * each key's behaviour with service_script():
 *
 *     SERVICE_REPLY    replies (0, value) after delay_ms
 *     SERVICE_ERROR    replies (status, NULL) after delay_ms (status < 0)
 *     SERVICE_HANG     never replies (until cancelled)
 *     SERVICE_TWICE    replies (0, value) after delay_ms, and again 20 ms
 *                      later: a buggy service, or a retry gone wrong
 *     SERVICE_SYNC     replies (0, value) inside service_get(), before it
 *                      even returns the request id
 *     SERVICE_REFUSE   service_get() fails at once with `status`; no reply
 * A key nobody scripted replies (-ENOENT, NULL) after 1 ms.
 *
 * Replies are delivered on the loop thread (except SERVICE_SYNC).  The
 * value string is valid only during the callback: copy what you keep.
 *
 * service_cancel(id) guarantees no callback for that request after it
 * returns — including a late duplicate.  It is harmless on a request that
 * already replied or on id 0, so "cancel when done" is always safe.
 *
 * Errors: negative errno.  Ownership: service_new() allocates,
 * service_free() frees (cancelling whatever is still pending).
 */
#ifndef EX10_SERVICE_H
#define EX10_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"

struct service;

/* data is what you passed to service_get(); status 0 or negative errno. */
typedef void (*service_reply_cb)(void *data, int status, const char *value);

enum service_behaviour {
    SERVICE_REPLY,
    SERVICE_ERROR,
    SERVICE_HANG,
    SERVICE_TWICE,
    SERVICE_SYNC,
    SERVICE_REFUSE,
};

int  service_new(struct service **out, struct loop *loop);
void service_free(struct service *svc);

/* Scripts how requests for `key` behave (the tests call this). */
void service_script(struct service *svc, const char *key, enum service_behaviour how,
                    const char *value, int status, unsigned delay_ms);

/* Starts a request for `key`.  Returns its id (> 0), or a negative errno
 * when the request could not even start — then cb is never called. */
int64_t service_get(struct service *svc, const char *key, service_reply_cb cb, void *data);

/* No callback for request `id` after this returns. */
void service_cancel(struct service *svc, int64_t id);

/* Requests started and not yet replied to or cancelled. */
size_t service_pending(const struct service *svc);
/* Requests ever started (service_get() calls that returned an id). */
size_t service_started(const struct service *svc);

#endif
