/*
 * routes.c — decides which workload a request asks for (see routes.h).
 *
 * Design.  route_match() is a pure function of the parsed request: it
 * looks at the method, the path and the query and fills a small struct.
 * It never sleeps, burns CPU or writes a reply, because *how* to wait is
 * exactly what differs between the blocking, threaded and event-loop
 * models; keeping the decision here means the three cannot disagree on
 * what /sleep/abc or DELETE / should get.
 *
 * The order of checks is: a method anyone implements? (501 if not) ->
 * known path?  (404 if not) -> allowed method? (405) -> valid argument?
 * (400).  HEAD is allowed wherever GET is: the model sends the same head
 * without the body.
 */
#include "http/routes.h"

#include <assert.h>
#include <string.h>

#include "common/limits.h"

/* Turns a limit macro into a string literal for the error texts. */
#define ROUTE_STR2(x) #x
#define ROUTE_STR(x) ROUTE_STR2(x)

/* A millisecond argument has at most this many digits (4294967295 fits
 * in uint32_t's ten digits; every limit is far below it anyway). */
#define ROUTE_MS_MAX_DIGITS 10

static bool path_is(const struct http_request *req, const char *path)
{
    return req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

static bool method_is_get_like(enum http_method m)
{
    return m == HTTP_GET || m == HTTP_HEAD;
}

/* If the path is "<prefix>" or "<prefix>/<anything>", sets *arg to what
 * follows the slash (empty when there is none) and returns true. */
static bool path_has_prefix(const struct http_request *req, const char *prefix,
                            const char **arg, size_t *arg_len)
{
    size_t n = strlen(prefix);

    if (req->path_len < n || memcmp(req->path, prefix, n) != 0)
        return false;
    if (req->path_len == n) {                 /* "/sleep": no argument */
        *arg = req->path + n;
        *arg_len = 0;
        return true;
    }
    if (req->path[n] != '/')                  /* "/sleepy" is another path */
        return false;
    *arg = req->path + n + 1;
    *arg_len = req->path_len - n - 1;
    return true;
}

/* Parses MS: one to ten decimal digits, no sign, at most `max`.  Returns
 * NULL and sets *ms, or returns why the argument is refused. */
static const char *parse_ms(const char *s, size_t len, uint32_t max,
                            const char *too_large, uint32_t *ms)
{
    uint64_t value = 0;

    if (len == 0)
        return "missing milliseconds";
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return "milliseconds must be a decimal number";
    }
    /* Checked after the digits, so "/sleep/abcdefghijkl" says "not a
     * number" rather than "too large". */
    if (len > ROUTE_MS_MAX_DIGITS)
        return too_large;
    for (size_t i = 0; i < len; i++)
        value = value * 10 + (uint64_t)(s[i] - '0');   /* < 10^10: no overflow */
    if (value > max)
        return too_large;
    *ms = (uint32_t)value;
    return NULL;
}

/* True if the query holds the parameter "block=1" (parameters are
 * separated by '&'; any other parameter, or block=0, is ignored). */
static bool query_wants_blocking(const struct http_request *req)
{
    const char *param = req->query;
    const char *end = req->query + req->query_len;

    while (param < end) {
        const char *amp = memchr(param, '&', (size_t)(end - param));
        size_t n = (size_t)((amp != NULL ? amp : end) - param);

        if (n == 7 && memcmp(param, "block=1", 7) == 0)
            return true;
        if (amp == NULL)
            break;
        param = amp + 1;
    }
    return false;
}

static void match_timed(const struct http_request *req, const char *arg, size_t arg_len,
                        bool is_sleep, struct route_match *out)
{
    const char *why;

    if (!method_is_get_like(req->method)) {
        out->id = ROUTE_METHOD_NOT_ALLOWED;
        return;
    }
    if (is_sleep)
        why = parse_ms(arg, arg_len, ROUTE_MAX_SLEEP_MS,
                       "milliseconds above " ROUTE_STR(ROUTE_MAX_SLEEP_MS), &out->ms);
    else
        why = parse_ms(arg, arg_len, ROUTE_MAX_CPU_MS,
                       "milliseconds above " ROUTE_STR(ROUTE_MAX_CPU_MS), &out->ms);
    if (why != NULL) {
        out->id = ROUTE_BAD_ARGUMENT;
        out->ms = 0;
        out->error_detail = why;
        return;
    }
    if (!is_sleep)
        out->id = ROUTE_CPU;
    else
        out->id = query_wants_blocking(req) ? ROUTE_SLEEP_BLOCKING : ROUTE_SLEEP;
}

void route_match(const struct http_request *req, struct route_match *out)
{
    const char *arg;
    size_t arg_len;

    assert(req != NULL && out != NULL);
    out->id = ROUTE_NOT_FOUND;
    out->ms = 0;
    out->echo = NULL;
    out->echo_len = 0;
    out->error_detail = NULL;

    if (req->method == HTTP_METHOD_UNKNOWN) {
        out->id = ROUTE_NOT_IMPLEMENTED;
        out->error_detail = "method not implemented";
    } else if (path_is(req, "/")) {
        out->id = method_is_get_like(req->method) ? ROUTE_ROOT : ROUTE_METHOD_NOT_ALLOWED;
    } else if (path_is(req, "/echo")) {
        if (req->method == HTTP_POST || req->method == HTTP_PUT) {
            out->id = ROUTE_ECHO;
            out->echo = req->body;
            out->echo_len = req->body_len;
        } else if (method_is_get_like(req->method)) {
            out->id = ROUTE_ECHO;
            out->echo = req->query;
            out->echo_len = req->query_len;
        } else {
            out->id = ROUTE_METHOD_NOT_ALLOWED;
        }
    } else if (path_is(req, "/stats")) {
        out->id = method_is_get_like(req->method) ? ROUTE_STATS : ROUTE_METHOD_NOT_ALLOWED;
    } else if (path_has_prefix(req, "/sleep", &arg, &arg_len)) {
        match_timed(req, arg, arg_len, true, out);
    } else if (path_has_prefix(req, "/cpu", &arg, &arg_len)) {
        match_timed(req, arg, arg_len, false, out);
    }
    if (out->id == ROUTE_METHOD_NOT_ALLOWED)
        out->error_detail = "method not allowed on this path";
}

const char *route_name(enum route_id id)
{
    switch (id) {
    case ROUTE_ROOT:               return "/";
    case ROUTE_ECHO:               return "/echo";
    case ROUTE_SLEEP:              return "/sleep";
    case ROUTE_SLEEP_BLOCKING:     return "/sleep?block=1";
    case ROUTE_CPU:                return "/cpu";
    case ROUTE_STATS:              return "/stats";
    case ROUTE_NOT_FOUND:          return "not-found";
    case ROUTE_BAD_ARGUMENT:       return "bad-argument";
    case ROUTE_METHOD_NOT_ALLOWED: return "method-not-allowed";
    case ROUTE_NOT_IMPLEMENTED:    return "not-implemented";
    case ROUTE_COUNT:              break;
    }
    return "?";
}
