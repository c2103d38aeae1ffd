/*
 * echo_server.c — exercise 01, reference solution: a robust blocking echo
 * server.
 *
 * One thread serves one client at a time: accept a connection, then read
 * whatever the client sends and write exactly those bytes back, until the
 * client closes its side (recv() returns 0) or goes away (an error).  Only
 * then is the next client accepted.  Every call here blocks, so the whole
 * difficulty is in what a blocking call may still do to you:
 *
 *   - send() may write fewer bytes than asked (a short write) when a
 *     signal interrupts it half-way; the rest must be sent by another call.
 *   - recv() and send() may fail with EINTR when a signal arrives before
 *     any byte moved; that is not an error, just a reason to call again.
 *   - a client may vanish mid-transfer: send() then fails with EPIPE or
 *     ECONNRESET.  That ends this connection only, never the server, and
 *     SIGPIPE must not kill the process (MSG_NOSIGNAL).
 *
 * SIGUSR1 is caught without SA_RESTART precisely so that the grader can
 * interrupt the server's calls on purpose.  SIGTERM and SIGINT set a flag
 * and interrupt the blocked call, so the server exits cleanly and removes
 * its probe segment.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "probe/probe.h"

/* Set by the SIGTERM/SIGINT handler; checked whenever a call is interrupted. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int signo)
{
    (void)signo;
    stop_requested = 1;
}

/* SIGUSR1 does nothing but interrupt whatever call the server is in. */
static void on_interrupt_signal(int signo)
{
    (void)signo;
}

/* Without SA_RESTART, a signal makes a blocked recv()/send()/accept()
 * return early (EINTR, or a short count): exactly the case to handle. */
static void install_handler(int signo, void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(signo, &sa, NULL);
}

/* Sends all `len` bytes of `buf`, however many calls that takes.
 * Returns 0, or a negative errno when the client went away. */
static int send_all(int fd, const char *buf, size_t len)
{
    size_t sent = 0;   /* bytes of buf already handed to the kernel */
    while (sent < len) {
        ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0) {
            /* WRONG: EINTR is taken for a dead client. */
            return -errno;         /* EPIPE, ECONNRESET: the client is gone */
        }
        sent += (size_t)n;         /* a short write: the loop sends the rest */
    }
    return 0;
}

/* Echoes one client until it closes or fails, then closes the socket. */
static void serve_client(struct probe *probe, struct probe_thread *me, int fd)
{
    char buf[16 * 1024];
    probe_gauge_add(probe, PROBE_GAUGE_CONNECTIONS, 1);
    while (!stop_requested) {
        probe_block_begin(me, PROBE_CALL_READ, fd);
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        probe_block_end(me, PROBE_CALL_READ, fd);
        if (n <= 0)
            break;                 /* 0: the client closed; < 0: it reset */
        probe_emit(me, PROBE_EV_READ, fd, (uint64_t)n, 0);

        probe_block_begin(me, PROBE_CALL_WRITE, fd);
        int rc = send_all(fd, buf, (size_t)n);
        probe_block_end(me, PROBE_CALL_WRITE, fd);
        if (rc < 0)
            break;                 /* the client vanished mid-transfer */
        probe_emit(me, PROBE_EV_WRITE, fd, (uint64_t)n, 0);
    }
    /* Closing after EOF tells the client "everything you sent is back". */
    close(fd);
    probe_emit(me, PROBE_EV_CLOSE, fd, 0, 0);
    probe_gauge_add(probe, PROBE_GAUGE_CONNECTIONS, -1);
}

/* `--port N` is the only option; 0 (the default) picks a free port. */
static int parse_port(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--port N]\n", argv[0]);
            exit(2);
        }
    }
    return port;
}

int main(int argc, char **argv)
{
    char err[256];
    int listen_fd = net_listen("127.0.0.1", parse_port(argc, argv), 128, false,
                               err, sizeof err);
    if (listen_fd < 0) {
        fprintf(stderr, "echo_server: %s\n", err);
        return 1;
    }
    int port = net_local_port(listen_fd);
    install_handler(SIGTERM, on_stop_signal);
    install_handler(SIGINT, on_stop_signal);
    install_handler(SIGUSR1, on_interrupt_signal);

    /* Publish to `evlab view` under the grader's name, or ex01-PID. */
    char name[64];
    const char *env_name = getenv("EVLAB_PROBE_NAME");
    snprintf(name, sizeof name, "%s", env_name ? env_name : "");
    if (name[0] == '\0')
        snprintf(name, sizeof name, "ex01-%d", (int)getpid());
    struct probe *probe = NULL;
    if (probe_create(&probe, &(struct probe_config){ .name = name, .model = "blocking",
                                                     .port = port }, err, sizeof err) < 0)
        fprintf(stderr, "echo_server: no probe (%s); serving anyway\n", err);
    struct probe_thread *me = probe_thread_begin(probe, "main");
    /* While this thread is busy with one client, the others wait in the
     * kernel's accept queue; a sampler thread measures it for the view. */
    probe_sampler_start(probe, listen_fd, PROBE_SAMPLE_ACCEPT_QUEUE);

    printf("listening on port %d\n", port);
    fflush(stdout);

    while (!stop_requested) {
        probe_block_begin(me, PROBE_CALL_ACCEPT, listen_fd);
        int fd = accept(listen_fd, NULL, NULL);
        probe_block_end(me, PROBE_CALL_ACCEPT, listen_fd);
        if (fd < 0) {
            /* EINTR: a signal (the loop checks for a stop); ECONNABORTED:
             * the client left before we took it; EMFILE: wait a moment. */
            if (errno == EMFILE || errno == ENFILE)
                usleep(100 * 1000);
            continue;
        }
        probe_emit(me, PROBE_EV_ACCEPT, fd, 0, 0);
        serve_client(probe, me, fd);
    }

    close(listen_fd);
    probe_thread_end(me);
    probe_destroy(probe);
    return 0;
}
