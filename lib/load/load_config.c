/*
 * load_config.c — defaults, the --mix syntax and the target syntax of
 * `evlab load`.
 *
 * Design: every parser walks the text once, left to right, and stops at
 * the first problem with a message that quotes the offending piece and
 * shows a correct example.  A load generator is often typed in a hurry in
 * front of a class; "bad weight 'x' in '/sleep/100:x'" is worth more than
 * a usage dump.  Nothing here touches a socket except
 * load_target_resolve(), which calls getaddrinfo() once before the run
 * (a DNS lookup inside the running loop would be exactly the blocking
 * call lesson 10 warns about).
 */
#include "load/load_config.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/decimal.h"

void load_config_defaults(struct load_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    cfg->port = 0;
    cfg->mode = LOAD_CLOSED;
    cfg->connections = 10;
    cfg->pipeline = 1;
    cfg->duration_ns = 10 * NS_PER_S;
    cfg->warmup_ns = 1 * NS_PER_S;
    cfg->connect_timeout_ns = 2 * NS_PER_S;
    cfg->timeout_ns = 5 * NS_PER_S;
    cfg->backend = "epoll";
    cfg->seed = 1;
    cfg->mix.count = 1;
    cfg->mix.total_weight = 1;
    snprintf(cfg->mix.entries[0].path, sizeof cfg->mix.entries[0].path, "/");
    cfg->mix.entries[0].weight = 1;
}

/* A path goes verbatim into "GET PATH HTTP/1.1": a blank would split the
 * request line and a CR/LF would inject a header, so both are refused. */
static bool path_char_ok(char c)
{
    return c > ' ' && c != 0x7f && c != ':';
}

/* Parses one "PATH[:WEIGHT]" entry of length len starting at s. */
static int mix_entry_parse(const char *s, size_t len, struct load_mix_entry *entry,
                           char *err, size_t err_len)
{
    const char *colon = memchr(s, ':', len);
    size_t path_len = colon != NULL ? (size_t)(colon - s) : len;

    if (len == 0) {
        snprintf(err, err_len, "empty entry in --mix (expected PATH:WEIGHT, e.g. /:90,/sleep/100:10)");
        return -EINVAL;
    }
    if (s[0] != '/') {
        snprintf(err, err_len, "path '%.*s' in --mix must start with '/' (e.g. /sleep/100:10)",
                 (int)path_len, s);
        return -EINVAL;
    }
    if (path_len > LOAD_MAX_PATH) {
        snprintf(err, err_len, "path in --mix is longer than %d bytes", LOAD_MAX_PATH);
        return -EINVAL;
    }
    for (size_t i = 0; i < path_len; i++) {
        if (!path_char_ok(s[i])) {
            snprintf(err, err_len, "path '%.*s' in --mix contains a blank or control character",
                     (int)path_len, s);
            return -EINVAL;
        }
    }
    memcpy(entry->path, s, path_len);
    entry->path[path_len] = '\0';
    entry->weight = 1;
    if (colon == NULL)
        return 0;

    /* The weight: digits only, at least one, no sign, in range. */
    const char *w = colon + 1;
    size_t w_len = len - path_len - 1;
    uint64_t weight = 0;
    if (!decimal_parse(w, w_len, LOAD_MAX_WEIGHT, &weight) || weight < 1) {
        snprintf(err, err_len,
                 "bad weight '%.*s' in --mix entry '%.*s' (expected a whole number 1..%d, e.g. /sleep/100:10)",
                 (int)w_len, w, (int)len, s, LOAD_MAX_WEIGHT);
        return -EINVAL;
    }
    entry->weight = (uint32_t)weight;
    return 0;
}

int load_mix_parse(const char *text, struct load_mix *mix, char *err, size_t err_len)
{
    struct load_mix parsed;
    const char *s = text;

    memset(&parsed, 0, sizeof parsed);
    if (text == NULL || text[0] == '\0') {
        snprintf(err, err_len, "--mix is empty (expected PATH:WEIGHT,..., e.g. /:90,/sleep/100:10)");
        return -EINVAL;
    }
    /* Entries are separated by commas; each is parsed on its own so the
     * message can quote exactly the entry that is wrong. */
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);

        if (parsed.count == LOAD_MAX_MIX_ENTRIES) {
            snprintf(err, err_len, "--mix has more than %d entries", LOAD_MAX_MIX_ENTRIES);
            return -EINVAL;
        }
        int rc = mix_entry_parse(s, len, &parsed.entries[parsed.count], err, err_len);
        if (rc < 0)
            return rc;
        parsed.total_weight += parsed.entries[parsed.count].weight;
        parsed.count++;
        if (comma == NULL)
            break;
        s = comma + 1;
    }
    *mix = parsed;
    return 0;
}

void load_mix_format(const struct load_mix *mix, char *out, size_t out_len)
{
    size_t used = 0;

    if (out_len == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < mix->count && used < out_len; i++) {
        int n;
        if (mix->count == 1 && mix->entries[i].weight == 1)
            n = snprintf(out + used, out_len - used, "%s", mix->entries[i].path);
        else
            n = snprintf(out + used, out_len - used, "%s%s:%u", i > 0 ? "," : "",
                         mix->entries[i].path, mix->entries[i].weight);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

size_t load_mix_pick(const struct load_mix *mix, uint64_t r)
{
    /* Scale r into [0, total_weight) without the bias of r % total: the
     * high 64 bits of the 128-bit product are uniform in that range. */
    uint64_t ticket = (uint64_t)(((unsigned __int128)r * mix->total_weight) >> 64);

    for (size_t i = 0; i < mix->count; i++) {
        if (ticket < mix->entries[i].weight)
            return i;
        ticket -= mix->entries[i].weight;
    }
    return mix->count - 1;   /* unreachable while weights sum to total */
}

/* Parses a port: 1..65535, digits only. */
static bool port_parse(const char *s, size_t len, int *port)
{
    uint64_t value;

    if (!decimal_parse(s, len, 65535, &value) || value < 1)
        return false;
    *port = (int)value;
    return true;
}

int load_target_split(const char *text, char *host, size_t host_len, int *port,
                      char *path_out, size_t path_len, char *err, size_t err_len)
{
    const char *s = text;
    const char *end;
    const char *host_start, *host_end, *port_start;
    bool url = false;

    if (path_len > 0)
        path_out[0] = '\0';
    if (strncmp(s, "http://", 7) == 0) {
        s += 7;
        url = true;
    }
    /* In a URL the authority ends at the first '/'; the rest is a path. */
    end = url ? s + strcspn(s, "/") : s + strlen(s);
    if (url && *end == '/') {
        if (strlen(end) > path_len - 1 || strlen(end) > LOAD_MAX_PATH) {
            snprintf(err, err_len, "the path in '%s' is too long", text);
            return -EINVAL;
        }
        snprintf(path_out, path_len, "%s", end);
    }

    /* A bare number is a port on the default host. */
    if (port_parse(s, (size_t)(end - s), port)) {
        snprintf(host, host_len, "127.0.0.1");
        return 0;
    }
    if (s[0] == '[') {                      /* [::1]:8080 */
        host_start = s + 1;
        host_end = memchr(s, ']', (size_t)(end - s));
        if (host_end == NULL || host_end[1] != ':') {
            snprintf(err, err_len, "bad target '%s' (expected [ADDRESS]:PORT)", text);
            return -EINVAL;
        }
        port_start = host_end + 2;
    } else {
        const char *colon = NULL;
        for (const char *p = s; p < end; p++)
            if (*p == ':')
                colon = p;
        if (colon == NULL) {
            if (url) {
                snprintf(err, err_len, "bad target '%s': a URL needs a port (http://HOST:PORT/)", text);
                return -EINVAL;
            }
            return -ENOENT;   /* no port: maybe an instrumentation name */
        }
        host_start = s;
        host_end = colon;
        port_start = colon + 1;
    }
    if (!port_parse(port_start, (size_t)(end - port_start), port)) {
        snprintf(err, err_len, "bad port '%.*s' in target '%s' (expected 1..65535)",
                 (int)(end - port_start), port_start, text);
        return -EINVAL;
    }
    size_t hlen = (size_t)(host_end - host_start);
    if (hlen == 0) {
        snprintf(host, host_len, "127.0.0.1");
        return 0;
    }
    if (hlen >= host_len) {
        snprintf(err, err_len, "host name in '%s' is too long", text);
        return -EINVAL;
    }
    memcpy(host, host_start, hlen);
    host[hlen] = '\0';
    return 0;
}

int load_target_resolve(struct load_config *cfg, char *err, size_t err_len)
{
    struct addrinfo hints, *res = NULL;
    char port_text[16];

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port_text, sizeof port_text, "%d", cfg->port);
    int rc = getaddrinfo(cfg->host, port_text, &hints, &res);
    if (rc != 0) {
        snprintf(err, err_len, "cannot resolve host '%s': %s", cfg->host, gai_strerror(rc));
        return -EINVAL;
    }
    memcpy(&cfg->addr, res->ai_addr, res->ai_addrlen);
    cfg->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int load_request_format(const struct load_config *cfg, size_t entry,
                        char *out, size_t out_len)
{
    bool v6 = strchr(cfg->host, ':') != NULL;
    int n;

    if (entry >= cfg->mix.count)
        return -EINVAL;
    /* HTTP/1.1 keeps the connection open by default, so no Connection
     * header; the Host header names the target as wrk does. */
    n = snprintf(out, out_len, "GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\n\r\n",
                 cfg->mix.entries[entry].path, v6 ? "[" : "", cfg->host, v6 ? "]" : "",
                 cfg->port);
    if (n < 0 || (size_t)n >= out_len)
        return -ENOBUFS;
    return n;
}
