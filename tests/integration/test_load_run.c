/*
 * test_load_run.c — the load generator against small servers written in
 * this file, so each test controls exactly how the server misbehaves:
 * replies normally, split in pieces, never, cut short, with 503, or
 * stalls once for 500 ms.
 *
 * A client that never reads (--no-read) is checked from the server's
 * side as well as its own: the server offers 16 KiB replies without ever
 * blocking and counts the bytes the kernel took, which stay at a few
 * socket buffers' worth only if nobody reads them.
 *
 * The headline test is coordinated omission: against a server that stalls
 * once for 500 ms, the closed loop (which waits with the server) records
 * one slow sample and a small p99, while the open loop (latency from each
 * request's intended send time) shows the stall in its p99.  Both halves
 * are asserted.
 *
 * Every test counts this process's descriptors before and after: the run
 * must close every socket it opened, whatever happened to them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "load/load_config.h"
#include "net/fdlimit.h"
#include "load/load_run.h"

#define MS 1000000ull

/* --- a tiny single-threaded test server ------------------------------- */

enum server_mode {
    SERVE_OK,           /* 200 with a 6-byte body */
    SERVE_SPLIT,        /* the same, written in three pieces */
    SERVE_NEVER,        /* read requests, never answer */
    SERVE_CLOSE_MID,    /* half a reply, then close */
    SERVE_503,          /* 503, keep-alive */
    SERVE_BIG,          /* 16 KiB replies, written without blocking (no_read) */
};

#define BIG_REPLY_BYTES 16384

#define SERVER_MAX_CLIENTS 32

struct test_server {
    int listen_fd;
    int port;
    enum server_mode mode;
    int stall_at;                 /* request number that stalls (0: none) */
    int stall_ms;
    pthread_t thread;
    atomic_int stop;
    atomic_int requests;          /* complete requests seen */
    atomic_int max_batch;         /* most requests found in one read */
    atomic_int accepted;
    atomic_llong big_written;     /* SERVE_BIG: reply bytes the kernel took */
};

struct client_state {
    int fd;
    char buf[8192];
    size_t len;
};

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

/* Answers one request according to the mode; false = close the client. */
static bool server_reply(struct test_server *s, int fd)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n\r\nbusy\n";
    int n = atomic_fetch_add(&s->requests, 1) + 1;

    if (s->stall_at > 0 && n == s->stall_at)
        sleep_ms(s->stall_ms);   /* the whole server stops, as a blocked loop would */
    switch (s->mode) {
    case SERVE_OK:
        write_all(fd, ok, sizeof ok - 1);
        return true;
    case SERVE_SPLIT:
        /* Status line, then headers, then body: the client must stitch. */
        write_all(fd, ok, 10);
        sleep_ms(1);
        write_all(fd, ok + 10, 25);
        sleep_ms(1);
        write_all(fd, ok + 35, sizeof ok - 1 - 35);
        return true;
    case SERVE_NEVER:
        return true;
    case SERVE_CLOSE_MID:
        write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", 43);
        return false;
    case SERVE_503:
        write_all(fd, busy, sizeof busy - 1);
        return true;
    case SERVE_BIG: {
        /* Never blocks: whatever the kernel does not take is dropped (a
         * client that reads would then see garbled replies, and count
         * them; one that never reads sees nothing). */
        static char big[BIG_REPLY_BYTES];
        int head = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
                            BIG_REPLY_BYTES - 64);
        memset(big + head, 'b', sizeof big - (size_t)head);
        ssize_t took = send(fd, big, (size_t)head + BIG_REPLY_BYTES - 64, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (took > 0)
            atomic_fetch_add(&s->big_written, took);
        return true;
    }
    }
    return false;
}

/* Reads what is there and answers every complete request in it. */
static bool server_serve(struct test_server *s, struct client_state *c)
{
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    int batch = 0;

    if (n <= 0)
        return false;
    c->len += (size_t)n;
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end == NULL)
            break;
        size_t used = (size_t)(end + 4 - c->buf);
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        batch++;
        if (!server_reply(s, c->fd))
            return false;
    }
    if (batch > atomic_load(&s->max_batch))
        atomic_store(&s->max_batch, batch);
    return c->len < sizeof c->buf;
}

static void *server_main(void *arg)
{
    struct test_server *s = arg;
    struct client_state clients[SERVER_MAX_CLIENTS];
    struct pollfd pfd[SERVER_MAX_CLIENTS + 1];
    int count = 0;

    while (!atomic_load(&s->stop)) {
        pfd[0].fd = s->listen_fd;
        pfd[0].events = POLLIN;
        for (int i = 0; i < count; i++) {
            pfd[i + 1].fd = clients[i].fd;
            pfd[i + 1].events = POLLIN;
        }
        if (poll(pfd, (nfds_t)count + 1, 20) <= 0)
            continue;
        for (int i = count - 1; i >= 0; i--) {
            if (pfd[i + 1].revents == 0 || server_serve(s, &clients[i]))
                continue;
            close(clients[i].fd);
            clients[i] = clients[--count];   /* swap with the last */
        }
        if ((pfd[0].revents & POLLIN) && count < SERVER_MAX_CLIENTS) {
            int fd = accept(s->listen_fd, NULL, NULL);
            if (fd >= 0) {
                clients[count].fd = fd;
                clients[count].len = 0;
                count++;
                atomic_fetch_add(&s->accepted, 1);
            }
        }
    }
    for (int i = 0; i < count; i++)
        close(clients[i].fd);
    return NULL;
}

/* Binds 127.0.0.1:0 and returns the fd, filling *port. */
static int listen_ephemeral(int *port)
{
    struct sockaddr_in addr = { .sin_family = AF_INET };
    socklen_t len = sizeof addr;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

static struct test_server *server_start(enum server_mode mode, int stall_at, int stall_ms)
{
    struct test_server *s = calloc(1, sizeof *s);

    assert_non_null(s);
    s->mode = mode;
    s->stall_at = stall_at;
    s->stall_ms = stall_ms;
    s->listen_fd = listen_ephemeral(&s->port);
    assert_int_equal(listen(s->listen_fd, 64), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    return s;
}

static void server_stop(struct test_server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    free(s);
}

/* --- helpers ---------------------------------------------------------- */

static int count_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(dir);
    while (readdir(dir) != NULL)
        n++;
    closedir(dir);
    return n - 3;   /* ".", ".." and the one opendir holds */
}

static void config_for(struct load_config *cfg, int port, uint32_t connections,
                       uint64_t duration_ms)
{
    char err[256];

    load_config_defaults(cfg);
    cfg->port = port;
    cfg->connections = connections;
    cfg->duration_ns = duration_ms * MS;
    cfg->warmup_ns = 0;
    assert_int_equal(load_target_resolve(cfg, err, sizeof err), 0);
}

static struct load_result *run_ok(const struct load_config *cfg)
{
    struct load_result *r = malloc(sizeof *r);
    char err[256] = "";

    assert_non_null(r);
    int rc = load_run(cfg, NULL, r, err, sizeof err);
    if (rc != 0)
        fail_msg("load_run failed: %d %s", rc, err);
    return r;
}

static int fds_before;

static int setup(void **state)
{
    (void)state;
    fds_before = count_open_fds();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(count_open_fds(), fds_before);
    return 0;
}

/* --- tests ------------------------------------------------------------ */

static void test_closed_loop_counts_replies(void **state)
{
    struct test_server *s = server_start(SERVE_OK, 0, 0);
    struct load_config cfg;

    (void)state;
    config_for(&cfg, s->port, 4, 500);
    struct load_result *r = run_ok(&cfg);
    server_stop(s);

    assert_true(r->requests > 100);
    assert_int_equal(r->errors_total, 0);
    assert_int_equal(r->connects, 4);
    assert_int_equal(r->max_open, 4);
    assert_int_equal(r->status_classes[2], r->requests);
    assert_int_equal(histogram_count(&r->latency), r->requests);
    assert_int_equal(r->mix_requests[0], r->requests);
    /* Each reply is 44 bytes; warm-up is 0 so all bytes are in the run,
     * plus at most one reply per connection that arrived after the end. */
    assert_true(r->bytes_read >= r->requests * 44);
    /* The run ends at its duration: never early; late only by how long
     * this shared machine keeps us off the CPU (generous: 1.5 s). */
    assert_true(r->elapsed_ns >= 450 * MS && r->elapsed_ns <= 2000 * MS);
    free(r);
}

static void test_pipelined_split_replies(void **state)
{
    struct test_server *s = server_start(SERVE_SPLIT, 0, 0);
    struct load_config cfg;

    (void)state;
    config_for(&cfg, s->port, 2, 400);
    cfg.pipeline = 8;
    struct load_result *r = run_ok(&cfg);
    int max_batch = atomic_load(&s->max_batch);
    server_stop(s);

    assert_true(r->requests > 20);
    assert_int_equal(r->errors_total, 0);
    /* The server found several requests in one read: we pipelined. */
    assert_true(max_batch >= 2);
    free(r);
}

static void test_refused_port_counts_connect_errors(void **state)
{
    struct load_config cfg;
    int port;

    (void)state;
    /* A port that was just free: bound, never listened on, closed. */
    int fd = listen_ephemeral(&port);
    close(fd);
    config_for(&cfg, port, 3, 600);
    struct load_result *r = run_ok(&cfg);

    assert_int_equal(r->requests, 0);
    assert_int_equal(r->connects, 0);
    /* Three connections, each retried every 100 ms for 600 ms. */
    assert_true(r->errors[LOAD_ERR_CONNECT_REFUSED] >= 3);
    assert_true(r->errors[LOAD_ERR_CONNECT_REFUSED] <= 3 * 10);
    assert_int_equal(r->errors_total, r->errors[LOAD_ERR_CONNECT_REFUSED]);
    free(r);
}

static void test_silent_server_gives_timeouts(void **state)
{
    struct test_server *s = server_start(SERVE_NEVER, 0, 0);
    struct load_config cfg;

    (void)state;
    config_for(&cfg, s->port, 2, 800);
    cfg.timeout_ns = 200 * MS;
    struct load_result *r = run_ok(&cfg);
    server_stop(s);

    assert_int_equal(r->requests, 0);
    /* Each connection times out about every 200 ms (checked every 50). */
    assert_true(r->errors[LOAD_ERR_TIMEOUT] >= 4);
    assert_true(r->errors[LOAD_ERR_TIMEOUT] <= 16);
    /* ...and is reopened each time. */
    assert_true(r->connects >= 4);
    free(r);
}

static void test_cut_reply_is_a_short_read(void **state)
{
    struct test_server *s = server_start(SERVE_CLOSE_MID, 0, 0);
    struct load_config cfg;

    (void)state;
    config_for(&cfg, s->port, 2, 300);
    struct load_result *r = run_ok(&cfg);
    server_stop(s);

    assert_int_equal(r->requests, 0);
    assert_true(r->errors[LOAD_ERR_SHORT_READ] > 2);
    assert_int_equal(r->errors_total, r->errors[LOAD_ERR_SHORT_READ]);
    free(r);
}

static void test_503_is_a_bad_status(void **state)
{
    struct test_server *s = server_start(SERVE_503, 0, 0);
    struct load_config cfg;

    (void)state;
    config_for(&cfg, s->port, 2, 300);
    struct load_result *r = run_ok(&cfg);
    server_stop(s);

    assert_true(r->requests > 10);
    assert_int_equal(r->status_classes[5], r->requests);
    assert_int_equal(r->errors[LOAD_ERR_BAD_STATUS], r->requests);
    free(r);
}

static void test_open_loop_keeps_the_rate(void **state)
{
    struct test_server *s = server_start(SERVE_OK, 0, 0);
    struct load_config cfg;

    (void)state;
    config_for(&cfg, s->port, 4, 1000);
    cfg.mode = LOAD_OPEN;
    cfg.rate = 200;
    struct load_result *r = run_ok(&cfg);
    server_stop(s);

    /* 200 req/s for one second, give or take the edges. */
    assert_in_range(r->requests, 180, 210);
    assert_int_equal(r->unsent, 0);
    assert_int_equal(r->errors_total, 0);
    free(r);
}

static void test_idle_sends_one_request_per_connection(void **state)
{
    struct test_server *s = server_start(SERVE_OK, 0, 0);
    struct load_config cfg;

    (void)state;
    config_for(&cfg, s->port, 5, 300);
    cfg.idle = true;
    struct load_result *r = run_ok(&cfg);
    int seen = atomic_load(&s->requests);
    server_stop(s);

    assert_int_equal(seen, 5);
    assert_int_equal(r->requests, 5);
    assert_int_equal(r->max_open, 5);
    free(r);
}

/*
 * --no-read, closed loop: batches of 4 requests as fast as the server
 * takes them, and not one byte read.  If the client read, the server
 * could write 16 KiB per request it saw; since it does not, the kernel
 * takes a few socket buffers' worth (a few MiB) and then nothing.
 */
static void test_no_read_sends_and_never_reads(void **state)
{
    struct test_server *s = server_start(SERVE_BIG, 0, 0);
    struct load_config cfg;

    (void)state;
    config_for(&cfg, s->port, 1, 800);
    cfg.no_read = true;
    cfg.pipeline = 4;
    struct load_result *r = run_ok(&cfg);
    int seen = atomic_load(&s->requests);
    long long written = atomic_load(&s->big_written);
    server_stop(s);

    fprintf(stderr, "no-read: sent %llu requests, server saw %d and could write %lld KiB "
            "of the %lld KiB of replies\n", (unsigned long long)r->sent, seen, written >> 10,
            (long long)seen * BIG_REPLY_BYTES >> 10);
    assert_int_equal(r->bytes_read, 0);
    assert_int_equal(r->requests, 0);
    assert_int_equal(r->errors_total, 0);
    assert_int_equal(r->unanswered, 0);
    assert_true(r->sent >= 1000);
    assert_true(r->bytes_written >= r->sent * 30);   /* each request is ~40 bytes */
    /* The server read many of them (how many depends on how fast this
     * build's server thread parses: under ThreadSanitizer a fifth): what
     * it did not read was still in its socket buffer at the end. */
    assert_true(seen >= 500);
    /* Nobody drained the replies: the kernel took at most a quarter of
     * them (in practice a few MiB of the hundreds offered). */
    assert_true(written * 4 < (long long)seen * BIG_REPLY_BYTES);
    free(r);
}

/*
 * --no-read, open loop: the schedule, not the replies, decides what goes
 * out: 400/s for 0.5 s is 200 requests, all of them sent.
 */
static void test_no_read_open_loop_keeps_the_rate(void **state)
{
    struct test_server *s = server_start(SERVE_OK, 0, 0);
    struct load_config cfg;

    (void)state;
    config_for(&cfg, s->port, 2, 500);
    cfg.no_read = true;
    cfg.mode = LOAD_OPEN;
    cfg.rate = 400;
    struct load_result *r = run_ok(&cfg);
    sleep_ms(50);                 /* let the server read the last few */
    int seen = atomic_load(&s->requests);
    server_stop(s);

    assert_int_equal(r->bytes_read, 0);
    assert_int_equal(r->requests, 0);
    assert_true(r->sent + r->unsent >= 190 && r->sent + r->unsent <= 210);
    assert_true(r->sent >= 150);
    assert_true((uint64_t)seen >= r->sent);
    free(r);
}

/*
 * Coordinated omission.  The server answers at once, except that its
 * 100th request makes it stall 500 ms.
 */
static void test_open_loop_sees_the_stall_closed_loop_hides_it(void **state)
{
    struct test_server *s;
    struct load_config cfg;

    (void)state;
    /* Closed loop, one connection: the client waits with the server.  One
     * sample of ~500 ms among thousands of fast ones: p99 stays small. */
    s = server_start(SERVE_OK, 100, 500);
    config_for(&cfg, s->port, 1, 2000);
    struct load_result *closed = run_ok(&cfg);
    server_stop(s);

    /* Open loop, 1000 req/s: the ~500 requests due during the stall are
     * measured from when they were due, so their waits (0..500 ms) fill
     * the top quarter of the distribution. */
    s = server_start(SERVE_OK, 100, 500);
    config_for(&cfg, s->port, 1, 2000);
    cfg.mode = LOAD_OPEN;
    cfg.rate = 1000;
    struct load_result *open = run_ok(&cfg);
    server_stop(s);

    uint64_t closed_p99 = histogram_percentile(&closed->latency, 99);
    uint64_t open_p99 = histogram_percentile(&open->latency, 99);
    print_message("closed loop: %llu requests, p99 %.2f ms, max %.1f ms\n",
                  (unsigned long long)closed->requests, closed_p99 / 1e6,
                  histogram_max(&closed->latency) / 1e6);
    print_message("open loop:   %llu requests, p99 %.2f ms, max %.1f ms\n",
                  (unsigned long long)open->requests, open_p99 / 1e6,
                  histogram_max(&open->latency) / 1e6);

    /* Both saw the stall... */
    assert_true(histogram_max(&closed->latency) >= 450 * MS);
    assert_true(histogram_max(&open->latency) >= 450 * MS);
    /* ...the closed loop's p99 understates it... */
    assert_true(closed->requests > 500);
    assert_true(closed_p99 < 100 * MS);
    /* ...the corrected open loop's p99 includes it. */
    assert_true(open_p99 >= 400 * MS);
    assert_in_range(open->requests, 1700, 2050);
    free(closed);
    free(open);
}

static void test_fd_limit_message(void **state)
{
    struct rlimit lim;
    char err[512] = "";

    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_max == RLIM_INFINITY)
        skip();
    /* Beyond the hard limit: refused, and the message says why. */
    assert_int_equal(fdlimit_ensure((uint64_t)lim.rlim_max + 1, NULL, err, sizeof err),
                     -EMFILE);
    assert_non_null(strstr(err, "hard limit"));

    /* Below it, a lowered soft limit is raised again. */
    struct rlimit low = { .rlim_cur = 256, .rlim_max = lim.rlim_max };
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    uint64_t raised = 0;
    assert_int_equal(fdlimit_ensure(300, &raised, err, sizeof err), 0);
    assert_int_equal(raised, lim.rlim_max);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_closed_loop_counts_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_split_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_port_counts_connect_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_server_gives_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_reply_is_a_short_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_503_is_a_bad_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_loop_keeps_the_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_sends_one_request_per_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_read_sends_and_never_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_read_open_loop_keeps_the_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_loop_sees_the_stall_closed_loop_hides_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fd_limit_message, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
