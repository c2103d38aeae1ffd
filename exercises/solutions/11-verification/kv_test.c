/*
 * kv_test.c — exercise 11, reference solution: a test for kv_server.
 *
 * Runs as `build/kv_test --port N` against a kv_server on 127.0.0.1:N and
 * prints PASS/FAIL <kind> <name> per check and one METRIC line; exits 0
 * when every check passed.  The checks follow the protocol, not the
 * seeded faults: each one states a promise of the protocol and tests it
 * on the input most likely to break it.  Every wait is bounded.
 *
 * Keys are made unique per run (the pid), so the checks also work on a
 * server that other runs have used before.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"

#define REPLY_TIMEOUT_MS 1000      /* the server answers in well under this */

static int server_port;
static int failures;

/* ---- reporting ------------------------------------------------------ */

static void pass(const char *kind, const char *name)
{
    printf("PASS %s %s\n", kind, name);
}

static void fail(const char *kind, const char *name, const char *why)
{
    printf("FAIL %s %s: %s\n", kind, name, why);
    failures++;
}

static void metric(const char *name, double value, const char *unit)
{
    printf("METRIC %s %.1f %s\n", name, value, unit);
}

/* ---- talking to the server ------------------------------------------ */

/* A blocking connection to the server, or -1. */
static int connect_to_server(void)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)server_port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_text(int fd, const char *text)
{
    return net_write_all(fd, text, strlen(text)) == 0;
}

/* Sends text one byte at a time, delay_ms apart. */
static bool send_dribble(int fd, const char *text, int delay_ms)
{
    for (size_t i = 0; text[i] != '\0'; i++) {
        if (net_write_all(fd, &text[i], 1) < 0)
            return false;
        usleep((useconds_t)delay_ms * 1000);
    }
    return true;
}

/* Reads one line (with its '\n') within timeout_ms.  Returns its length,
 * 0 if the server closed first, -1 on timeout. */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;
    while (len + 1 < cap) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return -1;
        ssize_t n = recv(fd, &buf[len], 1, 0);
        if (n <= 0)
            return 0;
        len++;
        if (buf[len - 1] == '\n')
            break;
    }
    buf[len] = '\0';
    return (int)len;
}

/* Reads a line and compares it with want (NULL: any "COUNT <n>" line).
 * On a mismatch fills why. */
static bool expect_reply(int fd, const char *want, char *why, size_t why_cap)
{
    char line[512];
    int n = read_line(fd, line, sizeof line, REPLY_TIMEOUT_MS);
    if (want == NULL)               /* any reply that starts with COUNT */
        want = n > 0 && strncmp(line, "COUNT ", 6) == 0 ? line : "COUNT <n>\n";
    if (n > 0 && strcmp(line, want) == 0)
        return true;
    line[strcspn(line, "\n")] = '\0';
    snprintf(why, why_cap, "expected \"%.*s\", got %s%s%s", (int)strcspn(want, "\n"), want,
             n < 0 ? "no reply within 1 s" : n == 0 ? "a closed connection" : "\"",
             n > 0 ? line : "", n > 0 ? "\"" : "");
    return false;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- the checks ----------------------------------------------------- */

/* The example: a value stored with SET comes back with GET. */
static void check_set_then_get(void)
{
    char why[600];
    int fd = connect_to_server();
    if (fd < 0) {
        fail("happy", "set_then_get", "cannot connect to the server");
        return;
    }
    if (send_text(fd, "SET color blue\n") && expect_reply(fd, "OK\n", why, sizeof why) &&
        send_text(fd, "GET color\n") && expect_reply(fd, "VALUE blue\n", why, sizeof why))
        pass("happy", "set_then_get");
    else
        fail("happy", "set_then_get", why);
    close(fd);
}

static char key_prefix[32];

/* "<prefix><name>": a key no other run of this test uses. */
static const char *key(const char *name)
{
    static char buf[4][64];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, 64, "%s%s", key_prefix, name);
    return out;
}

/* Sends `request` and expects `want` on fd; reports under kind/name. */
static bool exchange(int fd, const char *request, const char *want, char *why, size_t why_cap)
{
    if (!send_text(fd, request)) {
        snprintf(why, why_cap, "the server closed the connection before \"%.*s\"",
                 (int)strcspn(request, "\n"), request);
        return false;
    }
    return expect_reply(fd, want, why, why_cap);
}

static void check_overwrite_and_spaces(void)
{
    char why[600], req[256], want[256];
    int fd = connect_to_server();
    bool ok = fd >= 0;
    if (!ok)
        snprintf(why, sizeof why, "cannot connect");
    snprintf(req, sizeof req, "SET %s first value\n", key("doc"));
    ok = ok && exchange(fd, req, "OK\n", why, sizeof why);
    snprintf(req, sizeof req, "SET %s second value with spaces\n", key("doc"));
    ok = ok && exchange(fd, req, "OK\n", why, sizeof why);
    snprintf(req, sizeof req, "GET %s\n", key("doc"));
    snprintf(want, sizeof want, "VALUE second value with spaces\n");
    ok = ok && exchange(fd, req, want, why, sizeof why);
    if (ok)
        pass("happy", "overwrite_keeps_last_value_with_spaces");
    else
        fail("happy", "overwrite_keeps_last_value_with_spaces", why);
    if (fd >= 0)
        close(fd);
}

static void check_delete(void)
{
    char why[600], req[256];
    int fd = connect_to_server();
    bool ok = fd >= 0;
    if (!ok)
        snprintf(why, sizeof why, "cannot connect");
    snprintf(req, sizeof req, "SET %s x\n", key("gone"));
    ok = ok && exchange(fd, req, "OK\n", why, sizeof why);
    snprintf(req, sizeof req, "DEL %s\n", key("gone"));
    ok = ok && exchange(fd, req, "DELETED\n", why, sizeof why);
    snprintf(req, sizeof req, "GET %s\n", key("gone"));
    ok = ok && exchange(fd, req, "NOTFOUND\n", why, sizeof why);
    snprintf(req, sizeof req, "DEL %s\n", key("gone"));
    ok = ok && exchange(fd, req, "NOTFOUND\n", why, sizeof why);
    snprintf(req, sizeof req, "GET %s\n", key("never-set"));
    ok = ok && exchange(fd, req, "NOTFOUND\n", why, sizeof why);
    if (ok)
        pass("happy", "delete_then_notfound");
    else
        fail("happy", "delete_then_notfound", why);
    if (fd >= 0)
        close(fd);
}

static void check_dribbled_and_pipelined(void)
{
    char why[600], req[256], want[256];
    int fd = connect_to_server();
    bool ok = fd >= 0;
    if (!ok)
        snprintf(why, sizeof why, "cannot connect");
    /* One byte at a time: the server must assemble the line. */
    snprintf(req, sizeof req, "SET %s in pieces\n", key("slow"));
    if (ok && !send_dribble(fd, req, 5)) {
        ok = false;
        snprintf(why, sizeof why, "the server closed while the request was dribbled");
    }
    ok = ok && expect_reply(fd, "OK\n", why, sizeof why);
    /* Two requests in one write: two replies, in order. */
    snprintf(req, sizeof req, "GET %s\nGET %s\n", key("slow"), key("slow"));
    snprintf(want, sizeof want, "VALUE in pieces\n");
    ok = ok && send_text(fd, req) && expect_reply(fd, want, why, sizeof why) &&
         expect_reply(fd, want, why, sizeof why);
    if (ok)
        pass("edge", "dribbled_and_pipelined_requests");
    else
        fail("edge", "dribbled_and_pipelined_requests", why);
    if (fd >= 0)
        close(fd);
}

static void check_malformed(void)
{
    char why[600];
    int fd = connect_to_server();
    bool ok = fd >= 0;
    if (!ok)
        snprintf(why, sizeof why, "cannot connect");
    ok = ok && exchange(fd, "FETCH everything\n", "ERROR bad request\n", why, sizeof why);
    ok = ok && exchange(fd, "SET\n", "ERROR bad request\n", why, sizeof why);
    ok = ok && exchange(fd, "GET two words\n", "ERROR bad request\n", why, sizeof why);
    /* ...and the connection is still usable afterwards. */
    ok = ok && exchange(fd, "COUNT\n", NULL, why, sizeof why);
    if (ok)
        pass("failure", "malformed_requests_get_error");
    else
        fail("failure", "malformed_requests_get_error", why);
    if (fd >= 0)
        close(fd);
}

static void check_line_too_long(void)
{
    char why[600], req[400];
    int fd = connect_to_server();
    bool ok = fd >= 0;
    if (!ok)
        snprintf(why, sizeof why, "cannot connect");
    int head = snprintf(req, sizeof req, "SET %s ", key("long"));
    memset(req + head, 'x', 300);
    snprintf(req + head + 300, sizeof req - (size_t)head - 300, "\n");
    ok = ok && exchange(fd, req, "ERROR line too long\n", why, sizeof why);
    if (ok) {
        char line[64];
        if (read_line(fd, line, sizeof line, REPLY_TIMEOUT_MS) != 0) {
            ok = false;
            snprintf(why, sizeof why, "expected the server to close after ERROR line too long");
        }
    }
    if (ok)
        pass("failure", "line_too_long_closes");
    else
        fail("failure", "line_too_long_closes", why);
    if (fd >= 0)
        close(fd);
}

static void check_survives_reset(void)
{
    char why[600];
    int fd = connect_to_server();
    if (fd >= 0) {
        /* Half a request, then a reset (SO_LINGER 0). */
        send_text(fd, "SET half");
        struct linger lin = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
        close(fd);
    }
    usleep(100 * 1000);
    fd = connect_to_server();
    bool ok = fd >= 0;
    if (!ok)
        snprintf(why, sizeof why, "after a client reset mid-request the server no longer accepts");
    ok = ok && exchange(fd, "COUNT\n", NULL, why, sizeof why);
    if (ok)
        pass("failure", "survives_client_reset");
    else
        fail("failure", "survives_client_reset", why);
    if (fd >= 0)
        close(fd);
}

/* The metric: round-trip latency of GET, the worst of 200. */
static void measure_get_latency(void)
{
    char why[600], req[128];
    int fd = connect_to_server();
    if (fd < 0) {
        fail("happy", "get_latency", "cannot connect");
        return;
    }
    snprintf(req, sizeof req, "SET %s 1\n", key("hot"));
    if (!exchange(fd, req, "OK\n", why, sizeof why)) {
        fail("happy", "get_latency", why);
        close(fd);
        return;
    }
    snprintf(req, sizeof req, "GET %s\n", key("hot"));
    uint64_t worst = 0, total = 0;
    for (int i = 0; i < 200; i++) {
        uint64_t start = now_us();
        if (!exchange(fd, req, "VALUE 1\n", why, sizeof why)) {
            fail("happy", "get_latency", why);
            close(fd);
            return;
        }
        uint64_t took = now_us() - start;
        total += took;
        if (took > worst)
            worst = took;
    }
    metric("get_latency_mean", (double)total / 200.0, "us");
    metric("get_latency_max", (double)worst, "us");
    close(fd);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--port") == 0)
            server_port = atoi(argv[i + 1]);
    if (server_port <= 0) {
        fprintf(stderr, "usage: kv_test --port N   (a kv_server listening on 127.0.0.1:N)\n");
        return 2;
    }
    net_ignore_sigpipe();

    snprintf(key_prefix, sizeof key_prefix, "t%d-", (int)getpid());
    check_set_then_get();
    check_overwrite_and_spaces();
    check_delete();
    check_dribbled_and_pipelined();
    check_malformed();
    check_line_too_long();
    check_survives_reset();
    measure_get_latency();

    return failures == 0 ? 0 : 1;
}
