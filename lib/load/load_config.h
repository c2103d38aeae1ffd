/*
 * load_config.h — what one `evlab load` run is asked to do: the target,
 * closed or open loop, how long, and the request mix.
 *
 * The parsing functions here are pure (no sockets, no printing) so the
 * unit tests can feed them every malformed input a person might type.
 * Each returns 0 or a negative errno (-EINVAL for bad input) and fills
 * `err` with one sentence naming what is wrong and what was expected.
 *
 * Ownership: struct load_config and struct load_mix are plain values the
 * caller owns; nothing in them is allocated.
 */
#ifndef EVLAB_LOAD_CONFIG_H
#define EVLAB_LOAD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* --- Limits of the load generator (kept next to the code that uses
 * them; the server's limits live in common/limits.h). ---------------- */

/* Connections from one generator.  10,000 is the quality bar; the cap is
 * higher so a student can push until the kernel says no. */
#define LOAD_MAX_CONNECTIONS      100000

/* Requests written back to back on one connection before the first reply
 * (-p).  Each in-flight request needs one timestamp slot. */
#define LOAD_MAX_PIPELINE         256

/* Entries in --mix, and the longest path we will put in a request line. */
#define LOAD_MAX_MIX_ENTRIES      16
#define LOAD_MAX_PATH             1024
#define LOAD_MAX_WEIGHT           1000000

/* The formatted request (request line + Host header). */
#define LOAD_MAX_REQUEST_BYTES    (LOAD_MAX_PATH + 256)

/* Open loop: requests per second overall. */
#define LOAD_MAX_RATE             10000000

/* Descriptors we keep for ourselves besides the connections (stdio, the
 * poll backend, a probe reader, the odd file). */
#define LOAD_SPARE_FDS            32

enum load_mode {
    LOAD_CLOSED = 0,   /* -c N: next request when the last reply arrived */
    LOAD_OPEN,         /* -R RATE: requests on a fixed schedule           */
};

struct load_mix_entry {
    char path[LOAD_MAX_PATH + 1];   /* "/sleep/100", always starts with '/' */
    uint32_t weight;                /* 1..LOAD_MAX_WEIGHT */
};

struct load_mix {
    size_t count;
    uint64_t total_weight;
    struct load_mix_entry entries[LOAD_MAX_MIX_ENTRIES];
};

struct load_config {
    /* Where: filled by load_target_parse(). */
    char host[256];                 /* as typed, for the Host header */
    int port;
    struct sockaddr_storage addr;   /* resolved once, before the run */
    socklen_t addr_len;

    enum load_mode mode;
    uint32_t connections;           /* -c */
    uint32_t pipeline;              /* -p, in-flight requests per connection */
    uint64_t rate;                  /* -R, requests/s (open loop only) */
    bool idle;                      /* --idle: one request, then hold */
    bool no_read;                   /* --no-read: send, never read a reply */

    uint64_t duration_ns;           /* -d, measured part */
    uint64_t warmup_ns;             /* --warmup, before it, not measured */
    uint64_t connect_timeout_ns;
    uint64_t timeout_ns;            /* per request, from when it was sent */

    const char *backend;            /* "poll" or "epoll" */
    uint64_t seed;                  /* --seed: picks the mix; same seed, same sequence */
    struct load_mix mix;
};

/* Sensible defaults: 127.0.0.1, closed loop, 10 connections, pipeline 1,
 * 10 s, 1 s warm-up, 2 s connect timeout, 5 s request timeout, epoll,
 * mix "/" (port 0: the caller must set a target). */
void load_config_defaults(struct load_config *cfg);

/* Parses "PATH[:WEIGHT][,PATH[:WEIGHT]...]", e.g. "/:90,/sleep/100:10".
 * PATH starts with '/', has no blanks or control characters, no ':';
 * WEIGHT is a whole number 1..LOAD_MAX_WEIGHT (default 1). */
int load_mix_parse(const char *text, struct load_mix *mix, char *err, size_t err_len);

/* Formats a mix back as text ("/:90,/sleep/100:10"), for reports. */
void load_mix_format(const struct load_mix *mix, char *out, size_t out_len);

/* Picks the entry for a random number r (uniform in [0, 2^64)), by
 * weight: entry i is chosen with probability weight_i / total_weight. */
size_t load_mix_pick(const struct load_mix *mix, uint64_t r);

/* Splits a target into host and port: "HOST:PORT", ":PORT", "PORT",
 * "[v6addr]:PORT" or "http://HOST:PORT[/PATH]".  Stores the path of a URL
 * (or "" when none) in path_out.  Returns -ENOENT, without a message,
 * when the text has no port at all: then it may be an instrumentation
 * name (the caller looks it up).  Does not resolve the host. */
int load_target_split(const char *text, char *host, size_t host_len, int *port,
                      char *path_out, size_t path_len, char *err, size_t err_len);

/* Resolves cfg->host (numeric, or a name such as "localhost") into
 * cfg->addr.  Blocking; done once before the run starts. */
int load_target_resolve(struct load_config *cfg, char *err, size_t err_len);

/* Formats the request for one mix entry into out; returns its length, or
 * a negative errno when it does not fit. */
int load_request_format(const struct load_config *cfg, size_t entry,
                        char *out, size_t out_len);

#endif
