/*
 * test_probe_example.c — the example at the top of lib/probe/probe.h is
 * real code: probe_example_serve() (lib/probe/probe_example.c) serves two
 * clients over loopback while this test reads its instrumentation from
 * outside, the way `evlab stats` does; and the comment in probe.h quotes
 * the function's marked excerpt line for line, so the two cannot drift.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe/probe_example.h"
#include "probe/probe_reader.h"

/* Lines of `text` between the first line containing `from` and the next
 * containing `to`, each stripped of blanks and of a leading " * ". */
static size_t excerpt(const char *text, const char *from, const char *to, char lines[][128],
                      size_t max)
{
    const char *p = strstr(text, from);
    size_t count = 0;

    if (p == NULL)
        return 0;
    p = strchr(p, '\n');
    while (p != NULL && *++p != '\0' && count < max) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        if (strstr(line, to) != NULL)
            break;
        char *s = line;
        while (*s == ' ')
            s++;
        if (*s == '*')
            s++;
        while (*s == ' ')
            s++;
        size_t n = strlen(s);
        while (n > 0 && s[n - 1] == ' ')
            s[--n] = '\0';
        if (n > 0)
            snprintf(lines[count++], 128, "%.127s", s);
        p = end;
    }
    return count;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *text = calloc(1, 1 << 17);
    size_t n = text ? fread(text, 1, (1 << 17) - 1, f) : 0;
    (void)n;
    fclose(f);
    return text;
}

static void test_header_quotes_the_example(void **state)
{
    static char in_header[64][128], in_source[64][128];
    char *header = slurp("lib/probe/probe.h"), *source = slurp("lib/probe/probe_example.c");

    (void)state;
    if (header == NULL || source == NULL)
        fail_msg("run from the repository root (make test does): cannot read lib/probe/*");
    size_t h = excerpt(header, "publish the same way", "Design.", in_header, 64);
    size_t s = excerpt(source, "/* example-begin */", "/* example-end */", in_source, 64);
    /* The header's excerpt starts after the sentence that introduces it. */
    size_t skip = 0;
    while (skip < h && strcmp(in_header[skip], in_source[0]) != 0)
        skip++;
    assert_true(s > 10);
    if (h - skip != s)
        fail_msg("probe.h quotes %zu lines, probe_example.c has %zu between its markers",
                 h - skip, s);
    for (size_t i = 0; i < s; i++)
        if (strcmp(in_header[skip + i], in_source[i]) != 0)
            fail_msg("line %zu of the example: probe.h has '%s', probe_example.c has '%s'", i + 1,
                     in_header[skip + i], in_source[i]);
    free(header);
    free(source);
}

struct server_args {
    int listen_fd, port, rc;
    char name[64];
};

static void *serve(void *data)
{
    struct server_args *a = data;
    a->rc = probe_example_serve(a->listen_fd, a->name, a->port, 2, 5000);
    return NULL;
}

static void one_request(int port)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    char reply[256] = "";
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_true(write(fd, "GET / HTTP/1.1\r\n\r\n", 18) == 18);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_true(read(fd, reply, sizeof reply - 1) > 0);
    assert_non_null(strstr(reply, "200 OK"));
    close(fd);
}

static void test_example_serves_and_publishes(void **state)
{
    struct server_args a = { .rc = -1 };
    struct sockaddr_in addr = { .sin_family = AF_INET };
    socklen_t len = sizeof addr;
    pthread_t thread;

    (void)state;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(a.listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(a.listen_fd, 8), 0);
    assert_int_equal(getsockname(a.listen_fd, (struct sockaddr *)&addr, &len), 0);
    a.port = ntohs(addr.sin_port);
    snprintf(a.name, sizeof a.name, "test-example-%d", (int)getpid());
    assert_int_equal(pthread_create(&thread, NULL, serve, &a), 0);

    one_request(a.port);
#ifndef EVLAB_NO_PROBES
    /* After one request the segment shows it, as `evlab stats` would.
     * The reply is written inside the handler, so the client can have it
     * before probe_handler_end() counted it: look again for up to 5 s. */
    struct probe_reader *reader;
    char err[256];
    assert_int_equal(probe_reader_open(&reader, a.name, err, sizeof err), 0);
    struct probe_snapshot *snap = malloc(sizeof *snap);
    assert_non_null(snap);
    for (int tries = 0; tries < 500; tries++) {
        assert_int_equal(probe_reader_snapshot(reader, snap), 0);
        if (snap->gauges[PROBE_GAUGE_REQUESTS_DONE] >= 1)
            break;
        usleep(10000);
    }
    assert_int_equal(snap->gauges[PROBE_GAUGE_REQUESTS_DONE], 1);
    assert_int_equal(histogram_count(&snap->hists[PROBE_HIST_HANDLER_NS]), 1);
    assert_string_equal(probe_reader_info(reader)->model, "example");
    free(snap);
    probe_reader_close(reader);
#endif
    one_request(a.port);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(a.rc, 0);
    close(a.listen_fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_quotes_the_example),
        cmocka_unit_test(test_example_serves_and_publishes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
