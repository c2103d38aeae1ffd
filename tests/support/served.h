/*
 * served.h — test support: run `evlab serve` as a child process on an
 * ephemeral port, talk HTTP to it over real loopback sockets, and stop it
 * by PID.  Used by the integration tests of every model.
 *
 * The server is started and stopped by lib/spawn/spawn.h (the same code
 * `evlab bench` and `evlab demo` use).  The evlab binary is found through
 * $EVLAB_BIN (make test sets it), else ./evlab.  Every wait here is bounded: a server that does not answer
 * fails the test, it does not hang it.
 */
#ifndef EVLAB_TEST_SERVED_H
#define EVLAB_TEST_SERVED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct served {
    pid_t pid;
    int port;
    char name[64];
};

/* Starts `evlab serve --model MODEL --port 0 --name <unique>` plus
 * extra_args (NULL-terminated, may be NULL).  nofile_limit > 0 lowers the
 * child's RLIMIT_NOFILE first.  Returns 0 or -1 (with a message on
 * stderr). */
int served_start(struct served *s, const char *model, const char *const *extra_args,
                 int nofile_limit);
/* SIGTERM, then wait up to 10 s (SIGKILL after).  Returns the exit status
 * (0 for a clean stop), or -1 if it had to be killed. */
int served_stop(struct served *s);
int served_fd_count(const struct served *s);      /* entries of /proc/PID/fd */
int served_thread_count(const struct served *s);  /* Threads: of /proc/PID/status */
long served_cpu_ms(const struct served *s);       /* utime + stime */
/* Polls until the server's descriptor count is `want` (up to timeout_ms);
 * returns the last count seen. */
int served_wait_fd_count(const struct served *s, int want, int timeout_ms);

/* A client connection with its own read buffer (for pipelining). */
struct client {
    int fd;
    char buf[1 << 16];
    size_t len;
};

struct response {
    int status;
    bool connection_close;
    size_t body_len;
    char *body;          /* malloc'd, NUL-terminated; free with response_free */
};

int  client_connect(struct client *c, int port);      /* 0 or -1 */
void client_close(struct client *c);
int  client_send(struct client *c, const void *data, size_t len);
int  client_send_str(struct client *c, const char *text);
/* Reads one whole response (headers + Content-Length body); 0 or -1 on
 * timeout/close/garbage. */
int  client_read_response(struct client *c, struct response *r, int timeout_ms);
/* True if the server closed the connection (read returns 0 or reset)
 * within timeout_ms, after any bytes still buffered. */
bool client_wait_closed(struct client *c, int timeout_ms);
void response_free(struct response *r);

/* One request on a fresh connection. Returns status, or -1. Body optional. */
int http_get(int port, const char *path, struct response *r);

/* Milliseconds on CLOCK_MONOTONIC. */
double now_ms(void);

/* Open descriptors of this (test) process. */
int self_fd_count(void);

#endif
