/*
 * grader_stage.c — copies files into a stage folder (see grader_stage.h).
 *
 * Copying is done here rather than by running cp so that it needs no
 * child process and works the same on every system; symlinks are copied
 * as the files they point to only inside the exercise (a submission is
 * plain files, and a link pointing elsewhere is refused).
 */
#include "grade/grader_stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int copy_file(const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return -errno;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 0777);
    if (out < 0) {
        int e = errno;
        close(in);
        return -e;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                rc = -errno;
                break;
            }
            off += w;
        }
        if (rc != 0)
            break;
    }
    if (n < 0)
        rc = -errno;
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* Copies the tree `from` into `to`; top-level folders named in `skip`
 * (NULL-terminated) are left out. */
static int copy_tree(const char *from, const char *to, const char *const skip[],
                     char *err, size_t err_len)
{
    if (mkdir(to, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "mkdir %s: %s", to, strerror(errno));
        return -errno;
    }
    DIR *dir = opendir(from);
    if (dir == NULL) {
        snprintf(err, err_len, "%s: %s", from, strerror(errno));
        return -errno;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        bool skipped = false;
        for (int i = 0; skip && skip[i]; i++)
            skipped |= strcmp(e->d_name, skip[i]) == 0;
        if (skipped)
            continue;
        char src[4096], dst[4096];
        snprintf(src, sizeof src, "%s/%s", from, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", to, e->d_name);
        struct stat st;
        if (lstat(src, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            rc = copy_tree(src, dst, NULL, err, err_len);
        } else if (S_ISREG(st.st_mode)) {
            rc = copy_file(src, dst, st.st_mode);
            if (rc != 0)
                snprintf(err, err_len, "copy %s: %s", src, strerror(-rc));
        }
    }
    closedir(dir);
    return rc;
}

int grader_stage_copy(const struct grader_exercise *ex, const char *stage_dir,
                      char *err, size_t err_len)
{
    /* build/ holds whatever the student built in place; kept_tests/ is
     * only ever filled by the grader. */
    static const char *const skip[] = { "build", "kept_tests", NULL };
    return copy_tree(ex->dir, stage_dir, skip, err, err_len);
}

int grader_stage_toolkit(const char *root, const char *dest, char *err, size_t err_len)
{
    char from[4096], to[4096];
    static const char *const folders[] = { "lib", "exercises/support", NULL };
    if (mkdir(dest, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "mkdir %s: %s", dest, strerror(errno));
        return -errno;
    }
    snprintf(to, sizeof to, "%s/exercises", dest);
    mkdir(to, 0755);
    snprintf(to, sizeof to, "%s/build", dest);
    mkdir(to, 0755);
    snprintf(to, sizeof to, "%s/build/release", dest);
    mkdir(to, 0755);
    for (int i = 0; folders[i]; i++) {
        snprintf(from, sizeof from, "%s/%s", root, folders[i]);
        snprintf(to, sizeof to, "%s/%s", dest, folders[i]);
        int rc = copy_tree(from, to, NULL, err, err_len);
        if (rc != 0)
            return rc;
    }
    snprintf(from, sizeof from, "%s/build/release/libevlab.a", root);
    snprintf(to, sizeof to, "%s/build/release/libevlab.a", dest);
    int rc = copy_file(from, to, 0644);
    if (rc != 0)
        snprintf(err, err_len, "%s: %s (build the toolkit first: make -C %s)", from, strerror(-rc), root);
    return rc;
}

int grader_stage_overlay(const struct grader_exercise *ex, const char *submission_dir,
                         const char *stage_dir, char *err, size_t err_len)
{
    char src[4096], dst[4096];
    /* First check them all, so a partial overlay never happens. */
    for (int i = 0; i < ex->submit_count; i++) {
        struct stat st;
        snprintf(src, sizeof src, "%s/%s/%s", submission_dir, ex->name, ex->submit[i]);
        if (lstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
            snprintf(err, err_len, "missing %s (the file you hand in for exercise %s)",
                     src, ex->number);
            return -ENOENT;
        }
    }
    for (int i = 0; i < ex->submit_count; i++) {
        snprintf(src, sizeof src, "%s/%s/%s", submission_dir, ex->name, ex->submit[i]);
        snprintf(dst, sizeof dst, "%s/%s", stage_dir, ex->submit[i]);
        /* Grading the pristine folder in place: source and stage copy are
         * the same content already. */
        int rc = copy_file(src, dst, 0644);
        if (rc != 0) {
            snprintf(err, err_len, "copy %s: %s", src, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

int grader_stage_kept(const struct grader_exercise *ex, const char *kept_dir,
                      const char *stage_dir, char *err, size_t err_len)
{
    char src[4096], dst[4096];
    struct stat st;
    snprintf(src, sizeof src, "%s/%s/tests", kept_dir, ex->name);
    if (stat(src, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    snprintf(dst, sizeof dst, "%s/kept_tests", stage_dir);
    int rc = copy_tree(src, dst, NULL, err, err_len);
    return rc == 0 ? 1 : rc;
}

static int open_up_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_D || type == FTW_DP)
        chmod(path, 0777);
    else if (type == FTW_F)
        chmod(path, (st->st_mode & 0100) ? 0777 : 0666);
    return 0;
}

void grader_stage_open_up(const char *stage_dir)
{
    nftw(stage_dir, open_up_one, 16, FTW_PHYS);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void grader_stage_remove(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
