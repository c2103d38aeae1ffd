/*
 * kv_run.c — runs the student's kv_test against a kv_server (kv_run.h).
 *
 * The student's program is a child of the grading test, in its process
 * group, so the grader's kill at the end of a test reaches it too.  Its
 * stdout is read through a pipe until it closes or the time limit passes
 * (then it is killed); its stderr goes where the test's stderr goes.
 */
#include "kv_run.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grade_server.h"

/* The last few lines of the output, for failure messages. */
static const char *output_tail(const struct kv_run *run, char *out, size_t cap)
{
    size_t start = run->output_len, lines = 0;
    while (start > 0 && lines < 6) {
        start--;
        if (run->output[start] == '\n' && start + 1 < run->output_len)
            lines++;
    }
    if (start > 0)
        start++;
    return grade_quote(run->output + start, run->output_len - start, out, cap);
}

static void describe_end(const struct kv_run *run, char *out, size_t cap)
{
    if (run->timed_out)
        snprintf(out, cap, "still running after %d s (killed): a wait without a timeout?",
                 KV_RUN_TIMEOUT_MS / 1000);
    else if (!run->exited)
        snprintf(out, cap, "killed by signal %d (%s)", run->signal, strsignal(run->signal));
    else
        snprintf(out, cap, "exit status %d", run->exit_status);
}

void kv_run(struct grade_ctx *ctx, const char *server, int port, struct kv_run *run)
{
    struct grade_server srv = { .pid = -1 };
    char path[512], port_text[16];

    memset(run, 0, sizeof *run);
    snprintf(run->server, sizeof run->server, "%s", server);
    if (port == 0) {
        snprintf(path, sizeof path, "%s/%s", ctx->build_dir, server);
        grade_server_start_program(ctx, &srv, path, NULL);
        srv.allow_crash = true;     /* a faulty server may die: that is the test's business */
        port = srv.port;
    }
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(path, sizeof path, "%s/kv_test", ctx->build_dir);

    int out[2];
    if (pipe(out) < 0)
        grade_fail(ctx, "starting your test", "a pipe", NULL, "pipe: %s", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        grade_fail(ctx, "starting your test", "fork", NULL, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(path, path, "--port", port_text, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(out[1]);

    uint64_t start = grade_now_ms();
    for (;;) {
        uint64_t elapsed = grade_now_ms() - start;
        if (elapsed >= KV_RUN_TIMEOUT_MS) {
            run->timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd pfd = { .fd = out[0], .events = POLLIN };
        if (poll(&pfd, 1, (int)(KV_RUN_TIMEOUT_MS - elapsed)) <= 0)
            continue;
        char chunk[4096];
        ssize_t n = read(out[0], chunk, sizeof chunk);
        if (n <= 0)
            break;                  /* the program closed its stdout: it is ending */
        size_t room = sizeof run->output - 1 - run->output_len;
        size_t keep = (size_t)n < room ? (size_t)n : room;
        memcpy(run->output + run->output_len, chunk, keep);
        run->output_len += keep;
    }
    close(out[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    run->elapsed_ms = grade_now_ms() - start;
    run->output[run->output_len] = '\0';
    if (WIFEXITED(status)) {
        run->exited = true;
        run->exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        run->signal = WTERMSIG(status);
    }
    if (srv.pid > 0)
        grade_server_stop(ctx, &srv);
}

int kv_count_lines(const struct kv_run *run, const char *prefix)
{
    int count = 0;
    size_t len = strlen(prefix);
    for (const char *line = run->output; *line != '\0';) {
        if (strncmp(line, prefix, len) == 0)
            count++;
        const char *end = strchr(line, '\n');
        if (end == NULL)
            break;
        line = end + 1;
    }
    return count;
}

void kv_require_pass_on_correct(struct grade_ctx *ctx, struct kv_run *run)
{
    char end[160], tail[1200];
    kv_run(ctx, "kv_server", 0, run);
    describe_end(run, end, sizeof end);
    int passes = kv_count_lines(run, "PASS ");
    int fails = kv_count_lines(run, "FAIL ");
    if (run->exited && run->exit_status == 0 && passes > 0 && fails == 0)
        return;
    grade_fail(ctx, "your test on the CORRECT server (a test that fails there proves nothing)",
               "exit status 0, at least one PASS line, no FAIL line",
               "build/kv_test --port N against build/kv_server",
               "%s, %d PASS and %d FAIL lines; its last lines: %s", end, passes, fails,
               output_tail(run, tail, sizeof tail));
}

void kv_expect_caught(struct grade_ctx *ctx, int fault, const char *what_is_wrong)
{
    static struct kv_run run;
    char server[32], checked[256], input[160], end[160], tail[1200];

    kv_require_pass_on_correct(ctx, &run);
    snprintf(server, sizeof server, "kv_server_fault%d", fault);
    grade_note(ctx, "your test passes on the correct server; now against %s", server);
    kv_run(ctx, server, 0, &run);
    int fails = kv_count_lines(&run, "FAIL ");
    if (run.exited && run.exit_status == 1 && fails > 0)
        return;
    describe_end(&run, end, sizeof end);
    snprintf(checked, sizeof checked, "your test catches seeded fault %d: %s", fault, what_is_wrong);
    snprintf(input, sizeof input, "build/kv_test --port N against build/%s "
             "(try it: build/%s --port 0, then build/kv_test --port N)", server, server);
    grade_fail(ctx, checked, "exit status 1 and at least one FAIL line", input,
               "%s, %d FAIL lines; its last lines: %s", end, fails,
               output_tail(&run, tail, sizeof tail));
}

void kv_require_can_fail(struct grade_ctx *ctx)
{
    static struct kv_run run;
    /* Cheapest faults first; one catch is enough. */
    static const int faults[] = { 1, 3, 5, 2, 4 };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        char server[32];
        snprintf(server, sizeof server, "kv_server_fault%d", faults[i]);
        kv_run(ctx, server, 0, &run);
        if (run.exited && run.exit_status == 1 && kv_count_lines(&run, "FAIL ") > 0)
            return;
    }
    grade_fail(ctx, "your test can fail (a test that cannot fail scores nothing)",
               "a FAIL line and exit status 1 against at least one of kv_server_fault1..5",
               "build/kv_test --port N against each of build/kv_server_fault1..5",
               "it passed against all five faulty servers: it checks too little");
}
