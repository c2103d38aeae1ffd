/*
 * upper.c — a submission whose server crashes (SIGSEGV) on the first
 * bytes it reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"

static char transform(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static void serve(int fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = net_read(fd, buf, sizeof buf)) > 0) {
        volatile char *nowhere = (volatile char *)0;
        *nowhere = buf[0];
        for (ssize_t i = 0; i < n; i++)
            buf[i] = transform(buf[i]);
        if (net_write_all(fd, buf, (size_t)n) < 0)
            break;
    }
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
    char err[128];
    int listen_fd = net_listen("127.0.0.1", port, 64, false, err, sizeof err);
    if (listen_fd < 0) {
        fprintf(stderr, "upper: %s\n", err);
        return 1;
    }
    net_ignore_sigpipe();
    printf("listening on port %d\n", net_local_port(listen_fd));
    fflush(stdout);
    for (;;) {
        int fd = net_accept(listen_fd, false);
        if (fd < 0)
            continue;
        serve(fd);
        close(fd);
    }
}
