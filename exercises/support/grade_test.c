/*
 * grade_test.c — the --list/--run protocol of a test binary, the failure
 * message format, and the small things every test needs (seeded random
 * numbers, end-of-test cleanup, a clock).
 *
 * One process runs one test: the grader starts `tests --run NAME` in a
 * sandbox and reads the exit status and what the test printed.  So the
 * state here (the current context, the cleanup list) is per process and
 * needs no locking; a test that starts threads must not call grade_fail()
 * from two of them at once (the first exit wins anyway).
 *
 * Output is line-buffered on purpose: when a test hangs and the grader
 * kills it, the last note the test printed is already in the pipe and
 * becomes the "timed out after N s in: ..." line.
 */
#include "grade_test.h"

#include "common/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GRADE_AT_END_MAX 16

struct grade_at_end_entry {
    void (*fn)(void *arg);
    void *arg;
};

static struct grade_at_end_entry at_end[GRADE_AT_END_MAX];
static int at_end_count;

#define GRADE_ON_FAIL_MAX 4
static void (*on_fail[GRADE_ON_FAIL_MAX])(void);
static int on_fail_count;

void grade_on_fail(void (*fn)(void))
{
    for (int i = 0; i < on_fail_count; i++)
        if (on_fail[i] == fn)
            return;
    if (on_fail_count == GRADE_ON_FAIL_MAX) {
        fprintf(stderr, "grade_on_fail: more than %d hooks\n", GRADE_ON_FAIL_MAX);
        abort();
    }
    on_fail[on_fail_count++] = fn;
}

/* Runs the registered cleanups newest first, each once. */
static void grade_run_at_end(void)
{
    while (at_end_count > 0) {
        struct grade_at_end_entry e = at_end[--at_end_count];
        e.fn(e.arg);
    }
}

void grade_at_end(void (*fn)(void *arg), void *arg)
{
    static bool registered;
    if (!registered) {
        atexit(grade_run_at_end);
        registered = true;
    }
    if (at_end_count == GRADE_AT_END_MAX) {
        fprintf(stderr, "grade_at_end: more than %d cleanups registered\n", GRADE_AT_END_MAX);
        abort();
    }
    at_end[at_end_count].fn = fn;
    at_end[at_end_count].arg = arg;
    at_end_count++;
}

uint64_t grade_now_ms(void)
{
    return clock_now_ns() / 1000000u;
}

void grade_sleep_ms(int ms)
{
    if (ms > 0)
        clock_sleep_ms((uint32_t)ms);
}

uint64_t grade_rand(struct grade_ctx *ctx)
{
    /* splitmix64: tiny, and every seed (even 0 or 1) gives a good stream. */
    uint64_t z = (ctx->rand_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint64_t grade_rand_below(struct grade_ctx *ctx, uint64_t bound)
{
    if (bound == 0)
        return 0;
    return grade_rand(ctx) % bound;
}

void grade_rand_bytes(struct grade_ctx *ctx, void *buf, size_t len)
{
    unsigned char *out = buf;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = grade_rand(ctx);
        for (size_t k = 0; k < 8 && i + k < len; k++)
            out[i + k] = (unsigned char)(r >> (8 * k));
    }
}

const char *grade_quote(const void *bytes, size_t len, char *out, size_t out_cap)
{
    const unsigned char *in = bytes;
    size_t used = 0;
    /* Keep room for the longest escape, the "...(N bytes)" tail and the NUL. */
    size_t limit = out_cap > 40 ? out_cap - 40 : 0;
    if (out_cap == 0)
        return out;
    out[0] = '\0';
    size_t i = 0;
    used += (size_t)snprintf(out + used, out_cap - used, "\"");
    for (; i < len && used < limit; i++) {
        unsigned char c = in[i];
        if (c == '\n')
            used += (size_t)snprintf(out + used, out_cap - used, "\\n");
        else if (c == '\r')
            used += (size_t)snprintf(out + used, out_cap - used, "\\r");
        else if (c == '\t')
            used += (size_t)snprintf(out + used, out_cap - used, "\\t");
        else if (c == '"' || c == '\\')
            used += (size_t)snprintf(out + used, out_cap - used, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            used += (size_t)snprintf(out + used, out_cap - used, "\\x%02x", c);
        else
            out[used++] = (char)c, out[used] = '\0';
    }
    if (i < len)
        snprintf(out + used, out_cap - used, "\"... (%zu bytes)", len);
    else if (used + 1 < out_cap)
        snprintf(out + used, out_cap - used, "\"");
    return out;
}

void grade_note(struct grade_ctx *ctx, const char *fmt, ...)
{
    (void)ctx;
    va_list ap;
    va_start(ap, fmt);
    fputs("note     ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

void grade_fail(struct grade_ctx *ctx, const char *checked, const char *expected,
                const char *input, const char *got_fmt, ...)
{
    va_list ap;
    va_start(ap, got_fmt);
    const char *description = ctx->test ? ctx->test->description : ctx->test_name;
    printf("FAILED   %s\n", description ? description : "(unnamed test)");
    printf("checked  %s\n", checked ? checked : "-");
    if (expected)
        printf("expected %s\n", expected);
    fputs("got      ", stdout);
    vprintf(got_fmt, ap);
    fputc('\n', stdout);
    if (input)
        printf("input    %s\n", input);
    for (int i = 0; i < on_fail_count; i++)
        on_fail[i]();
    printf("rerun    evlab grade %s --test %s --seed %" PRIu64 "\n",
           ctx->exercise, ctx->test_name, ctx->seed);
    va_end(ap);
    fflush(stdout);
    exit(1);
}

/* Flags as the grader reads them: the author's, plus "kept" for the
 * binary built from kept tests (named tests_kept by exercise.mk). */
static void print_flags(const char *flags, bool kept)
{
    bool any = flags != NULL && flags[0] != '\0';
    if (!any && !kept) {
        fputs("-", stdout);
        return;
    }
    if (any)
        fputs(flags, stdout);
    if (kept)
        printf("%skept", any ? "," : "");
}

static bool binary_is_kept(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    return strcmp(base, "tests_kept") == 0;
}

static void print_usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s --list\n"
            "       %s --run NAME [--seed S]\n"
            "       %s --run-all [--seed S]   (debugging: all tests in one process)\n"
            "The grader runs these for you: evlab grade NN [--test NAME]\n",
            argv0, argv0, argv0);
}

/* The exercise number: $EVLAB_GRADE_EXERCISE, else the first two
 * characters of the folder we run in ("03-nonblocking" -> "03"). */
static const char *exercise_number(void)
{
    static char number[8];
    const char *env = getenv("EVLAB_GRADE_EXERCISE");
    if (env && env[0])
        return env;
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) != NULL) {
        const char *base = strrchr(cwd, '/');
        base = base ? base + 1 : cwd;
        if (base[0] >= '0' && base[0] <= '9' && base[1] >= '0' && base[1] <= '9') {
            memcpy(number, base, 2);
            return number;
        }
    }
    return "NN";
}

static void ctx_init(struct grade_ctx *ctx, const struct grade_test *test, uint64_t seed)
{
    const char *build = getenv("EVLAB_GRADE_BUILD");
    memset(ctx, 0, sizeof *ctx);
    ctx->seed = seed;
    ctx->rand_state = seed;
    ctx->build_dir = build && build[0] ? build : "build";
    ctx->exercise = exercise_number();
    ctx->test_name = test->name;
    ctx->test = test;
}

int grade_main(int argc, char **argv, const struct grade_test *tests, size_t count)
{
    const char *run_name = NULL;
    bool list = false, run_all = false;
    uint64_t seed = 1;
    /* Line buffering: see the design note at the top of the file. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            list = true;
        } else if (strcmp(argv[i], "--run") == 0 && i + 1 < argc) {
            run_name = argv[++i];
        } else if (strcmp(argv[i], "--run-all") == 0) {
            run_all = true;
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || argv[i][0] == '-') {
                fprintf(stderr, "%s: --seed wants a whole number, not '%s'\n", argv[0], argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], argv[i]);
            print_usage(argv[0]);
            return 2;
        }
    }
    if (list) {
        bool kept = binary_is_kept(argv[0]);
        for (size_t i = 0; i < count; i++) {
            printf("%s\t%d\t", tests[i].name, tests[i].points);
            print_flags(tests[i].flags, kept);
            printf("\t%d\t%s\n", tests[i].timeout_s, tests[i].description);
        }
        return 0;
    }
    if (run_all) {
        int failed = 0;
        for (size_t i = 0; i < count; i++) {
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                struct grade_ctx ctx;
                ctx_init(&ctx, &tests[i], seed);
                tests[i].run(&ctx);
                exit(0);
            }
            int status = 0;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            printf("%s %s\n", ok ? "passed" : "FAILED", tests[i].name);
            failed += !ok;
        }
        return failed ? 1 : 0;
    }
    if (run_name == NULL) {
        print_usage(argv[0]);
        return 2;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(tests[i].name, run_name) != 0)
            continue;
        struct grade_ctx ctx;
        ctx_init(&ctx, &tests[i], seed);
        tests[i].run(&ctx);
        fflush(stdout);
        return 0;
    }
    fprintf(stderr, "%s: no test named '%s' (--list shows them)\n", argv[0], run_name);
    return 2;
}
