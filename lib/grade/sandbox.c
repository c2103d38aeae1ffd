/*
 * sandbox.c — one contained child per command, and a reader that never
 * blocks on it.
 *
 * The life of a run:
 *   1. fork; the child moves into its own process group, points stdin at
 *      /dev/null and stdout+stderr at the pipe, sets its limits, drops to
 *      its slot's uid when we are root, and execs.  Between fork and exec
 *      the child only makes async-signal-safe calls: the grader has
 *      several threads, and anything else (malloc, stdio) could deadlock.
 *   2. the parent drains the pipe with poll() in short steps, keeping the
 *      head and a ring of the tail, and watches the wall clock;
 *   3. when the child exits (or the wall limit passes) the whole group is
 *      killed, then every process of the slot's uid (catching ones that
 *      made a group of their own), the pipe is drained for a moment more
 *      (grandchildren may hold it open: we stop waiting for them), and the
 *      killed processes are reaped: the grader is their subreaper
 *      (PR_SET_CHILD_SUBREAPER), so nothing is left as a zombie of init.
 *
 * The uid of a slot is picked from this grader's pid, so two graders on
 * one machine (several engineers, or CI jobs) never share a uid and never
 * count, or kill, each other's processes.
 */
#include "grade/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"

extern char **environ;

/* uids from here up are used for sandboxed children (far above the
 * ranges distributions hand out to people and services). */
#define SANDBOX_UID_BASE  200000u
#define SANDBOX_NOGROUP   65534u
/* After the child ended: how long to keep reading output that
 * grandchildren may still write. */
#define SANDBOX_DRAIN_MS  200

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool can_drop;
static uid_t uid_base;

uid_t sandbox_uid(int slot)
{
    return uid_base + (uid_t)slot;
}

gid_t sandbox_gid(void)
{
    return SANDBOX_NOGROUP;
}

/* Tries setuid in a throwaway child: containers can forbid it even for root. */
static bool probe_setuid(uid_t uid)
{
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(SANDBOX_NOGROUP) != 0 || setuid(uid) != 0)
            _exit(1);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void sandbox_init(void)
{
    uid_base = SANDBOX_UID_BASE + (uid_t)(getpid() % 100000) * SANDBOX_MAX_SLOTS;
    can_drop = geteuid() == 0 && getenv("EVLAB_GRADE_NO_SETUID") == NULL && probe_setuid(uid_base);
    /* Orphans of a killed test come back to us to be reaped. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
}

bool sandbox_drops_privileges(void)
{
    pthread_once(&init_once, sandbox_init);
    return can_drop;
}

/* Threads (= processes for RLIMIT_NPROC) our real uid runs now, so that
 * an unprivileged grader adds headroom on top of what the user already
 * runs instead of starving their desktop.  Read once at the first run. */
static int threads_of_our_uid(void)
{
    static int counted = -1;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    if (counted < 0) {
        counted = 0;
        DIR *proc = opendir("/proc");
        struct dirent *e;
        while (proc && (e = readdir(proc)) != NULL) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9')
                continue;
            char path[300];
            struct stat st;
            snprintf(path, sizeof path, "/proc/%s/task", e->d_name);
            if (stat(path, &st) != 0 || st.st_uid != getuid())
                continue;
            DIR *tasks = opendir(path);
            struct dirent *t;
            while (tasks && (t = readdir(tasks)) != NULL)
                counted += t->d_name[0] != '.';
            if (tasks)
                closedir(tasks);
        }
        if (proc)
            closedir(proc);
    }
    int n = counted;
    pthread_mutex_unlock(&lock);
    return n;
}

static void set_limit(int resource, uint64_t value)
{
    struct rlimit rl = { .rlim_cur = (rlim_t)value, .rlim_max = (rlim_t)value };
    setrlimit(resource, &rl);
}

/* Everything the child does between fork and exec (async-signal-safe). */
static void child_exec(const char *const argv[], char *const envp[], const char *cwd,
                       int out_fd, const struct sandbox_limits *lim, int nproc, bool drop,
                       uid_t uid)
{
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    if (cwd != NULL && chdir(cwd) != 0) {
        static const char msg[] = "sandbox: cannot enter the working directory\n";
        write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(126);
    }
    if (lim->cpu_s > 0) {
        /* The soft limit sends SIGXCPU; one second later the hard one SIGKILL. */
        struct rlimit rl = { .rlim_cur = (rlim_t)lim->cpu_s, .rlim_max = (rlim_t)lim->cpu_s + 1 };
        setrlimit(RLIMIT_CPU, &rl);
    }
    if (lim->mem_bytes > 0)
        set_limit(RLIMIT_AS, lim->mem_bytes);
    if (lim->fsize_bytes > 0)
        set_limit(RLIMIT_FSIZE, lim->fsize_bytes);
    if (lim->nofile > 0)
        set_limit(RLIMIT_NOFILE, (uint64_t)lim->nofile);
    if (nproc > 0)
        set_limit(RLIMIT_NPROC, (uint64_t)nproc);
    set_limit(RLIMIT_CORE, 0);
    if (drop) {
        if (setgroups(0, NULL) != 0 || setgid(SANDBOX_NOGROUP) != 0 || setuid(uid) != 0) {
            static const char msg[] = "sandbox: cannot drop privileges\n";
            write(STDERR_FILENO, msg, sizeof msg - 1);
            _exit(126);
        }
    }
    /* If the grader dies, its tests die with it (set after setuid, which
     * clears this setting). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execve(argv[0], (char *const *)argv, envp);
    static const char msg[] = "sandbox: cannot execute the program\n";
    write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(127);
}

/* Kills every process of uid (kill(-1) as that uid reaches exactly
 * those), repeating while new ones appear, from a helper child so the
 * grader itself keeps its root privileges. */
static void kill_uid(uid_t uid)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(SANDBOX_NOGROUP) != 0 || setuid(uid) != 0)
            _exit(1);
        for (int round = 0; round < 100; round++)
            if (kill(-1, SIGKILL) != 0 && errno == ESRCH)
                break;
        _exit(0);
    }
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
}

/* How many processes are in group pgid now (from /proc/PID/stat, whose
 * fifth field is the group), to tell a fork bomb from a plain hang. */
static int count_group(pid_t pgid)
{
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(proc)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        const char *after = strrchr(buf, ')');
        int group = 0;
        if (after && sscanf(after + 1, " %*c %*d %d", &group) == 1 && group == pgid)
            count++;
    }
    closedir(proc);
    return count;
}

/* The kept output: the first half of SANDBOX_KEEP_BYTES as it came, then
 * a ring holding the most recent second half. */
struct capture {
    char head[SANDBOX_KEEP_BYTES / 2];
    size_t head_len;
    char tail[SANDBOX_KEEP_BYTES / 2];
    size_t tail_pos;      /* next write position in the ring */
    size_t tail_len;      /* bytes in the ring (<= its size) */
    size_t total;
};

static void capture_add(struct capture *c, const char *data, size_t len)
{
    c->total += len;
    size_t to_head = sizeof c->head - c->head_len;
    if (to_head > len)
        to_head = len;
    memcpy(c->head + c->head_len, data, to_head);
    c->head_len += to_head;
    for (size_t i = to_head; i < len; i++) {
        c->tail[c->tail_pos] = data[i];
        c->tail_pos = (c->tail_pos + 1) % sizeof c->tail;
        if (c->tail_len < sizeof c->tail)
            c->tail_len++;
    }
}

/* Reads what is in the pipe now; false once it reached EOF. */
static bool drain(int fd, struct capture *c)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            capture_add(c, buf, (size_t)n);
            continue;
        }
        if (n == 0)
            return false;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

static void capture_finish(struct capture *c, struct sandbox_result *out)
{
    size_t kept = c->head_len + c->tail_len;
    bool cut = c->total > kept;
    char marker[96] = "";
    if (cut)
        snprintf(marker, sizeof marker, "\n[... %zu bytes of output left out ...]\n", c->total - kept);
    size_t mlen = strlen(marker);
    out->output = malloc(kept + mlen + 1);
    if (out->output == NULL) {
        out->output_len = 0;
        return;
    }
    memcpy(out->output, c->head, c->head_len);
    memcpy(out->output + c->head_len, marker, mlen);
    size_t start = (c->tail_pos + sizeof c->tail - c->tail_len) % sizeof c->tail;
    for (size_t i = 0; i < c->tail_len; i++)
        out->output[c->head_len + mlen + i] = c->tail[(start + i) % sizeof c->tail];
    out->output_len = kept + mlen;
    out->output[out->output_len] = '\0';
    out->output_total = c->total;
    out->output_cut = cut;

    /* The last non-empty line, for "timed out after N s in: ...". */
    const char *end = out->output + out->output_len;
    while (end > out->output && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    const char *begin = end;
    while (begin > out->output && begin[-1] != '\n')
        begin--;
    size_t n = (size_t)(end - begin);
    if (n >= sizeof out->last_line)
        n = sizeof out->last_line - 1;
    memcpy(out->last_line, begin, n);
    out->last_line[n] = '\0';
}

/* environ plus the extra entries (which win over same-named ones). */
static char **build_env(const char *const extra[])
{
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env] != NULL)
        n_env++;
    while (extra != NULL && extra[n_extra] != NULL)
        n_extra++;
    char **envp = calloc(n_env + n_extra + 1, sizeof *envp);
    if (envp == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++) {
        bool overridden = false;
        for (size_t j = 0; j < n_extra && !overridden; j++) {
            const char *eq = strchr(extra[j], '=');
            size_t key = eq ? (size_t)(eq - extra[j]) + 1 : strlen(extra[j]);
            overridden = strncmp(environ[i], extra[j], key) == 0;
        }
        if (!overridden)
            envp[k++] = environ[i];
    }
    for (size_t j = 0; j < n_extra; j++)
        envp[k++] = (char *)extra[j];
    envp[k] = NULL;
    return envp;
}

int sandbox_run(const char *const argv[], const char *cwd, const char *const extra_env[],
                const struct sandbox_limits *lim, struct sandbox_result *out)
{
    bool drop = sandbox_drops_privileges();
    if (lim->slot < 0 || lim->slot >= SANDBOX_MAX_SLOTS)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    uid_t uid = sandbox_uid(lim->slot);
    int nproc = lim->nproc;
    if (nproc > 0 && !drop)
        nproc += threads_of_our_uid();

    struct capture *cap = calloc(1, sizeof *cap);
    char **envp = build_env(extra_env);
    int pipefd[2] = { -1, -1 };
    if (cap == NULL || envp == NULL || pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
        int e = errno ? errno : ENOMEM;
        free(cap);
        free(envp);
        return -e;
    }
    /* The child's end must block like any stdout does. */
    fcntl(pipefd[1], F_SETFL, 0);
    uint64_t start = clock_now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        free(cap);
        free(envp);
        return -e;
    }
    if (pid == 0)
        child_exec(argv, envp, cwd, pipefd[1], lim, nproc, drop, uid);
    /* Also here, so the group exists before we might signal it. */
    setpgid(pid, pid);
    close(pipefd[1]);
    free(envp);

    bool open_pipe = true, exited = false;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    uint64_t deadline = lim->wall_ms > 0 ? start + (uint64_t)lim->wall_ms * 1000000u : 0;
    while (!exited) {
        if (open_pipe) {
            struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
            if (poll(&p, 1, 50) > 0)
                open_pipe = drain(pipefd[0], cap);
        } else {
            clock_sleep_ms(10);
        }
        pid_t r = wait4(pid, &out->wait_status, WNOHANG, &usage);
        if (r == pid) {
            exited = true;
        } else if (deadline != 0 && clock_now_ns() >= deadline) {
            out->timed_out = true;
            out->group_processes = count_group(pid);
            kill(-pid, SIGKILL);
            while (wait4(pid, &out->wait_status, 0, &usage) < 0 && errno == EINTR) {
            }
            exited = true;
        }
    }
    /* The test is over: nothing it started may outlive it. */
    kill(-pid, SIGKILL);
    if (drop)
        kill_uid(uid);
    uint64_t drain_until = clock_now_ns() + (uint64_t)SANDBOX_DRAIN_MS * 1000000u;
    while (open_pipe && clock_now_ns() < drain_until) {
        struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
        if (poll(&p, 1, 20) > 0)
            open_pipe = drain(pipefd[0], cap);
    }
    close(pipefd[0]);
    /* Reap the killed members of the group (they are ours as subreaper). */
    for (int round = 0; round < 100; round++) {
        pid_t r = waitpid(-pid, NULL, WNOHANG);
        if (r < 0)
            break;
        if (r == 0)
            clock_sleep_ms(5);
    }
    out->wall_s = (double)(clock_now_ns() - start) / 1e9;
    out->cpu_s = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
                 (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
    capture_finish(cap, out);
    free(cap);
    return 0;
}

void sandbox_result_free(struct sandbox_result *r)
{
    free(r->output);
    r->output = NULL;
}

const char *sandbox_describe_status(int wait_status, char *buf, size_t cap)
{
    if (WIFSIGNALED(wait_status)) {
        int sig = WTERMSIG(wait_status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(buf, cap, "crashed with SIG%s (%s)", abbrev ? abbrev : "?", strsignal(sig));
    } else if (WIFEXITED(wait_status)) {
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(wait_status));
    } else {
        snprintf(buf, cap, "ended with wait status 0x%x", wait_status);
    }
    return buf;
}
