/*
 * service.c — the fake service of service.h.
 *
 * Each request is a small struct on a list, with a loop timer that
 * delivers its reply.  SERVICE_TWICE re-arms the same timer once after
 * the first reply; a request stays on the list until it can produce no
 * more callbacks (replied for good, or cancelled), so service_cancel()
 * finds it and a late duplicate never reaches a caller who cancelled.
 */
#include "service.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_KEY_MAX    64
#define SERVICE_SCRIPT_MAX 256
#define TWICE_GAP_MS       20

struct script {
    char key[SERVICE_KEY_MAX];
    enum service_behaviour how;
    char value[SERVICE_KEY_MAX];
    int status;
    unsigned delay_ms;
};

struct request {
    int64_t id;
    const struct script *script;    /* NULL: unknown key */
    service_reply_cb cb;
    void *data;
    int replies_left;               /* 2 for SERVICE_TWICE, else 1 */
    bool counted_pending;           /* still in service_pending() */
    struct loop_timer timer;
    struct service *svc;
    struct request *next;
};

struct service {
    struct loop *loop;
    struct script scripts[SERVICE_SCRIPT_MAX];
    size_t script_count;
    struct request *requests;       /* every request that may still call back */
    int64_t next_id;
    size_t pending;
    size_t started;
};

int service_new(struct service **out, struct loop *loop)
{
    struct service *svc = calloc(1, sizeof *svc);
    if (svc == NULL)
        return -ENOMEM;
    svc->loop = loop;
    svc->next_id = 1;
    *out = svc;
    return 0;
}

static void request_unlink_free(struct service *svc, struct request *req)
{
    for (struct request **p = &svc->requests; *p != NULL; p = &(*p)->next) {
        if (*p == req) {
            *p = req->next;
            break;
        }
    }
    if (req->counted_pending)
        svc->pending--;
    loop_timer_stop(svc->loop, &req->timer);
    free(req);
}

void service_free(struct service *svc)
{
    if (svc == NULL)
        return;
    while (svc->requests != NULL)
        request_unlink_free(svc, svc->requests);
    free(svc);
}

void service_script(struct service *svc, const char *key, enum service_behaviour how,
                    const char *value, int status, unsigned delay_ms)
{
    if (svc->script_count == SERVICE_SCRIPT_MAX)
        abort();                    /* a test scripted too many keys */
    struct script *s = &svc->scripts[svc->script_count++];
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->value, sizeof s->value, "%s", value ? value : "");
    s->how = how;
    s->status = status;
    s->delay_ms = delay_ms;
}

static const struct script *find_script(const struct service *svc, const char *key)
{
    /* The latest script for a key wins. */
    for (size_t i = svc->script_count; i > 0; i--)
        if (strcmp(svc->scripts[i - 1].key, key) == 0)
            return &svc->scripts[i - 1];
    return NULL;
}

static void deliver(const struct request *req, service_reply_cb cb, void *data)
{
    if (req->script == NULL)
        cb(data, -ENOENT, NULL);
    else if (req->script->how == SERVICE_ERROR)
        cb(data, req->script->status, NULL);
    else
        cb(data, 0, req->script->value);
}

static void on_reply_due(struct loop *loop, struct loop_timer *timer)
{
    struct request *req = timer->data;
    struct service *svc = req->svc;
    service_reply_cb cb = req->cb;
    void *data = req->data;

    if (req->counted_pending) {
        req->counted_pending = false;
        svc->pending--;
    }
    req->replies_left--;
    if (req->replies_left > 0)
        loop_timer_start(loop, &req->timer, (uint64_t)TWICE_GAP_MS * 1000000u);
    /* Copy what the reply needs first: the callback may cancel (free) req. */
    struct request copy = *req;
    if (req->replies_left == 0)
        request_unlink_free(svc, req);
    deliver(&copy, cb, data);
}

int64_t service_get(struct service *svc, const char *key, service_reply_cb cb, void *data)
{
    const struct script *script = find_script(svc, key);
    if (script != NULL && script->how == SERVICE_REFUSE)
        return script->status < 0 ? script->status : -ECONNREFUSED;

    int64_t id = svc->next_id++;
    svc->started++;
    if (script != NULL && script->how == SERVICE_SYNC) {
        struct request now = { .id = id, .script = script };
        deliver(&now, cb, data);    /* before we even return the id */
        return id;
    }
    struct request *req = calloc(1, sizeof *req);
    if (req == NULL)
        return -ENOMEM;
    req->id = id;
    req->script = script;
    req->cb = cb;
    req->data = data;
    req->svc = svc;
    req->replies_left = script != NULL && script->how == SERVICE_TWICE ? 2 : 1;
    req->counted_pending = true;
    loop_timer_init(&req->timer, on_reply_due, req);
    req->next = svc->requests;
    svc->requests = req;
    svc->pending++;
    if (script == NULL || script->how != SERVICE_HANG) {
        unsigned delay = script != NULL ? script->delay_ms : 1;
        loop_timer_start(svc->loop, &req->timer, (uint64_t)delay * 1000000u);
    }
    return id;
}

void service_cancel(struct service *svc, int64_t id)
{
    for (struct request *req = svc->requests; req != NULL; req = req->next) {
        if (req->id == id) {
            request_unlink_free(svc, req);
            return;
        }
    }
}

size_t service_pending(const struct service *svc)
{
    return svc->pending;
}

size_t service_started(const struct service *svc)
{
    return svc->started;
}
