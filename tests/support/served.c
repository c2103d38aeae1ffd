/*
 * served.c — see served.h.  Starting and stopping the server is
 * lib/spawn/spawn.c's job and reading its /proc files is
 * lib/bench/bench_procstat.c's, the same code `evlab bench` uses; what is
 * left here is the test side: a small blocking HTTP client with deadlines.
 */
#include "served.h"

#include "bench/bench_procstat.h"
#include "common/clock.h"
#include "net/net.h"
#include "spawn/spawn.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double now_ms(void)
{
    return (double)clock_now_ns() / (double)NS_PER_MS;
}

int self_fd_count(void)
{
    return net_count_open_fds();
}

static const char *evlab_bin(void)
{
    const char *bin = getenv("EVLAB_BIN");
    return bin && *bin ? bin : "./evlab";
}

int served_start(struct served *s, const char *model, const char *const *extra_args,
                 int nofile_limit)
{
    static int serial;
    const char *args[32] = { "--model", model, "--name", s->name };
    int argc = 4;
    struct spawn_child child;
    char err[512];

    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "test-%s-%d-%d", model, (int)getpid(), ++serial);
    for (int i = 0; extra_args && extra_args[i] && argc < 31; i++)
        args[argc++] = extra_args[i];
    args[argc] = NULL;
    /* The server's stderr stays the test's, so its warnings show in the
     * test log. */
    if (spawn_serve(&child, evlab_bin(), args, STDERR_FILENO, nofile_limit, err, sizeof err) < 0) {
        fprintf(stderr, "served_start(%s): %s\n", model, err);
        return -1;
    }
    /* Tests count this process's descriptors: keep none of the server's.
     * (Its later stdout writes fail with EPIPE, which it ignores.) */
    close(child.stdout_fd);
    s->pid = child.pid;
    s->port = child.port;
    return 0;
}

int served_stop(struct served *s)
{
    int status = spawn_stop_pid(s->pid, 10000);

    s->pid = 0;
    return status;
}

int served_fd_count(const struct served *s)
{
    /* The instrumentation's sampler thread opens /proc files for a moment
     * every few milliseconds; those are not the server's descriptors, so
     * they are left out, or a count taken mid-scan would be high. */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)s->pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char link[384], target[256];
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            if (strncmp(target, "/proc/", 6) == 0)
                continue;
        }
        count++;
    }
    closedir(dir);
    return count;
}

int served_wait_fd_count(const struct served *s, int want, int timeout_ms)
{
    double deadline = now_ms() + timeout_ms;
    int count;
    while ((count = served_fd_count(s)) != want && now_ms() < deadline)
        usleep(20000);
    return count;
}

int served_thread_count(const struct served *s)
{
    struct bench_proc_sample sample;
    return bench_proc_read(s->pid, &sample) == 0 ? (int)sample.threads : -1;
}

long served_cpu_ms(const struct served *s)
{
    struct bench_proc_sample sample;
    return bench_proc_read(s->pid, &sample) == 0 ? (long)sample.cpu_ms : -1;
}

int client_connect(struct client *c, int port)
{
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int client_send(struct client *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int client_send_str(struct client *c, const char *text)
{
    return client_send(c, text, strlen(text));
}

/* Reads more bytes into c->buf; 1 on data, 0 on close, -1 on timeout/error. */
static int client_fill(struct client *c, double deadline)
{
    if (c->len == sizeof c->buf)
        return -1;
    for (;;) {
        double left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int r = poll(&pfd, 1, (int)left + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == ECONNRESET ? 0 : -1;
        if (n == 0)
            return 0;
        c->len += (size_t)n;
        return 1;
    }
}

static void client_drop(struct client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

int client_read_response(struct client *c, struct response *r, int timeout_ms)
{
    memset(r, 0, sizeof *r);
    double deadline = now_ms() + timeout_ms;
    char *end;
    for (;;) {
        end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end)
            break;
        if (client_fill(c, deadline) <= 0)
            return -1;
    }
    size_t header_len = (size_t)(end - c->buf) + 4;
    char headers[8192];
    if (header_len >= sizeof headers)
        return -1;
    memcpy(headers, c->buf, header_len);
    headers[header_len] = '\0';
    if (sscanf(headers, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    size_t body_len = 0;
    for (char *line = strstr(headers, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            body_len = strtoul(line + 17, NULL, 10);
        if (strncasecmp(line + 2, "Connection:", 11) == 0) {
            char value[64] = "";
            sscanf(line + 13, " %63[^\r]", value);
            if (strcasestr(value, "close"))
                r->connection_close = true;
        }
    }
    client_drop(c, header_len);
    r->body = malloc(body_len + 1);
    if (r->body == NULL)
        return -1;
    size_t have = 0;
    while (have < body_len) {
        if (c->len == 0 && client_fill(c, deadline) <= 0) {
            response_free(r);
            return -1;
        }
        size_t take = c->len < body_len - have ? c->len : body_len - have;
        memcpy(r->body + have, c->buf, take);
        have += take;
        client_drop(c, take);
    }
    r->body[body_len] = '\0';
    r->body_len = body_len;
    return 0;
}

bool client_wait_closed(struct client *c, int timeout_ms)
{
    double deadline = now_ms() + timeout_ms;
    for (;;) {
        c->len = 0;    /* discard anything still arriving */
        int r = client_fill(c, deadline);
        if (r == 0)
            return true;
        if (r < 0)
            return false;
    }
}

void response_free(struct response *r)
{
    free(r->body);
    r->body = NULL;
}

int http_get(int port, const char *path, struct response *r)
{
    struct client c;
    if (client_connect(&c, port) < 0)
        return -1;
    char request[512];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path);
    int status = -1;
    struct response local;
    struct response *out = r ? r : &local;
    if (client_send_str(&c, request) == 0 && client_read_response(&c, out, 15000) == 0)
        status = out->status;
    if (r == NULL && status >= 0)
        response_free(&local);
    client_close(&c);
    return status;
}
