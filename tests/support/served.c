/*
 * served.c — see served.h.
 */
#include "served.h"

#include "net/net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
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
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "test-%s-%d-%d", model, (int)getpid(), ++serial);
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return -1;
    const char *argv[32] = { evlab_bin(), "serve", "--model", model, "--port", "0",
                             "--name", s->name };
    int argc = 8;
    for (int i = 0; extra_args && extra_args[i] && argc < 31; i++)
        argv[argc++] = extra_args[i];
    argv[argc] = NULL;

    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* If the test dies (a failed assertion, a timeout kill), the
         * server must not outlive it. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(out[1], STDOUT_FILENO);
        if (nofile_limit > 0) {
            struct rlimit rl = { (rlim_t)nofile_limit, (rlim_t)nofile_limit };
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    s->pid = pid;

    /* Read the "listening on" line, bounded by 10 s. */
    char line[512];
    size_t len = 0;
    double deadline = now_ms() + 10000;
    while (len < sizeof line - 1 && now_ms() < deadline) {
        struct pollfd pfd = { .fd = out[0], .events = POLLIN };
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t n = read(out[0], line + len, sizeof line - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        line[len] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    close(out[0]);
    line[len] = '\0';
    const char *at = strstr(line, "listening on ");
    if (at == NULL || sscanf(at, "listening on %*[^:]:%d", &s->port) != 1) {
        fprintf(stderr, "served_start(%s): no 'listening on' line, got '%s'\n", model, line);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return 0;
}

int served_stop(struct served *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    double deadline = now_ms() + 10000;
    int status = 0;
    while (now_ms() < deadline) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid) {
            s->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        usleep(10000);
    }
    fprintf(stderr, "served_stop: pid %d ignored SIGTERM for 10 s; killing\n", (int)s->pid);
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    return -1;
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
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)s->pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    int threads = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &threads) == 1)
            break;
    fclose(f);
    return threads;
}

long served_cpu_ms(const struct served *s)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)s->pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* Fields after the command name (which may hold spaces) start after
     * the last ')'; utime and stime are fields 14 and 15. */
    char *p = strrchr(text, ')');
    if (p == NULL)
        return -1;
    unsigned long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (long)((utime + stime) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
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
