/*
 * net.c — socket helpers shared by the three server models and the load
 * generator.  Each function is a thin wrapper that does one thing right
 * (EINTR, SIGPIPE, close-on-exec) so the models can stay about their
 * concurrency strategy and nothing else.
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/limits.h"

int net_listen(const char *addr, int port, int backlog, bool nonblocking,
               char *err, size_t err_len)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (port < 0 || port > 65535) {
        snprintf(err, err_len, "port %d is not in 0..65535", port);
        return -EINVAL;
    }
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        snprintf(err, err_len, "'%s' is not an IPv4 address", addr);
        return -EINVAL;
    }
    int flags = SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0);
    int fd = socket(AF_INET, flags, 0);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_len, "socket: %s", strerror(e));
        return -e;
    }
    /* Lets a restarted server bind its port while old connections of the
     * previous run are still in TIME_WAIT. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        int e = errno;
        snprintf(err, err_len, "bind %s:%d: %s", addr, port, strerror(e));
        close(fd);
        return -e;
    }
    if (listen(fd, backlog) < 0) {
        int e = errno;
        snprintf(err, err_len, "listen: %s", strerror(e));
        close(fd);
        return -e;
    }
    return fd;
}

int net_local_port(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
        return -errno;
    return ntohs(sin.sin_port);
}

int net_set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

int net_set_nodelay(int fd)
{
    /* Small replies go out at once instead of waiting for Nagle's
     * algorithm to batch them (a 40 ms stall per reply otherwise). */
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ? -errno : 0;
}

int net_accept(int listen_fd, bool nonblocking)
{
    int flags = SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0);
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, flags);
        if (fd >= 0)
            return fd;
        /* EINTR: a signal arrived; ECONNABORTED: the client gave up
         * between its connect and our accept.  Neither is our problem,
         * but a blocking caller must get the chance to see a stop
         * request, so EINTR is handed back; ECONNABORTED is retried. */
        if (errno == ECONNABORTED)
            continue;
        return -errno;
    }
}

void net_spare_fd_open(struct net_spare_fd *spare)
{
    spare->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void net_spare_fd_close(struct net_spare_fd *spare)
{
    if (spare->fd >= 0)
        close(spare->fd);
    spare->fd = -1;
}

int net_shed_connection(int listen_fd, struct net_spare_fd *spare)
{
    /* Only shed a connection that is already waiting.  The listener of
     * the thread models is blocking, and Linux reports EMFILE from a
     * blocking accept() *before* it waits, so an empty queue also ends
     * up here; accepting then would block until the next client arrived
     * and would shed that client even if descriptors had been freed
     * meanwhile.  (SOCK_NONBLOCK below is for the new socket, not for
     * this accept.) */
    struct pollfd waiting = { .fd = listen_fd, .events = POLLIN };
    int ready;
    do
        ready = poll(&waiting, 1, 0);
    while (ready < 0 && errno == EINTR);
    if (ready <= 0)
        return -EAGAIN;
    if (spare->fd < 0)
        net_spare_fd_open(spare);
    if (spare->fd < 0)
        return -EMFILE;
    net_spare_fd_close(spare);
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    int accept_errno = errno;
    if (fd >= 0)
        close(fd);
    net_spare_fd_open(spare);
    return fd >= 0 ? 0 : -accept_errno;
}

ssize_t net_read(int fd, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

ssize_t net_write(int fd, const void *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

int net_write_all(int fd, const void *buf, size_t len)
{
    const char *cursor = buf;      /* first byte not yet accepted by the kernel */
    size_t left = len;
    while (left > 0) {
        ssize_t n = net_write(fd, cursor, left);
        if (n < 0)
            return (int)n;
        cursor += n;
        left -= (size_t)n;
    }
    return 0;
}

void net_lingering_close(int fd)
{
    /* Bounds (limits.h): a client that keeps sending cannot keep us here. */
    shutdown(fd, SHUT_WR);
    uint64_t deadline = clock_now_ns() + (uint64_t)SERVER_LINGER_MS * 1000000u;
    size_t discarded = 0;
    char sink[4096];
    while (discarded < SERVER_LINGER_MAX_BYTES) {
        uint64_t now = clock_now_ns();
        if (now >= deadline)
            break;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int ready = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break;
        ssize_t n = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
        if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN)))
            break;
        if (n > 0)
            discarded += (size_t)n;
    }
    close(fd);
}

void net_ignore_sigpipe(void)
{
    struct sigaction sa = { .sa_handler = SIG_IGN };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
}

int net_count_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -errno;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            count++;
    closedir(dir);
    return count - 1;   /* the directory stream's own descriptor */
}
