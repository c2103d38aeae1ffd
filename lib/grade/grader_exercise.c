/*
 * grader_exercise.c — which exercises exist and what exercise.conf says.
 *
 * An exercise is a folder named NN-name (two digits, a dash) holding an
 * exercise.conf of `key = value` lines; `#` starts a comment anywhere on a
 * line.  Keys: title, kind (server | module), submit (the files a student
 * hands in, separated by spaces).  An unknown key is an error, so a typo
 * in an exercise cannot silently change what is graded.
 */
#include "grade/grader.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_exercise_name(const char *name)
{
    return isdigit((unsigned char)name[0]) && isdigit((unsigned char)name[1]) &&
           name[2] == '-' && name[3] != '\0';
}

/* Trims spaces on both ends, in place. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int parse_submit(struct grader_exercise *ex, char *value, char *err, size_t err_len)
{
    ex->submit_count = 0;
    for (char *tok = strtok(value, " \t"); tok; tok = strtok(NULL, " \t")) {
        if (ex->submit_count == GRADER_MAX_SUBMIT) {
            snprintf(err, err_len, "more than %d submit files", GRADER_MAX_SUBMIT);
            return -EINVAL;
        }
        /* A submit file names a file inside the exercise, never a path out of it. */
        if (strchr(tok, '/') != NULL || strcmp(tok, "..") == 0 || strlen(tok) >= sizeof ex->submit[0]) {
            snprintf(err, err_len, "submit file '%s' must be a plain file name", tok);
            return -EINVAL;
        }
        snprintf(ex->submit[ex->submit_count++], sizeof ex->submit[0], "%s", tok);
    }
    return 0;
}

int grader_read_exercise(const char *dir, struct grader_exercise *ex, char *err, size_t err_len)
{
    memset(ex, 0, sizeof *ex);
    snprintf(ex->dir, sizeof ex->dir, "%s", dir);
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    snprintf(ex->name, sizeof ex->name, "%s", base);
    snprintf(ex->number, sizeof ex->number, "%.2s", base);
    snprintf(ex->kind, sizeof ex->kind, "server");

    char path[4200];
    snprintf(path, sizeof path, "%s/exercise.conf", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -EINVAL;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *text = trim(line);
        if (*text == '\0')
            continue;
        char *eq = strchr(text, '=');
        if (eq == NULL) {
            snprintf(err, err_len, "%s:%d: expected 'key = value'", path, lineno);
            rc = -EINVAL;
            break;
        }
        *eq = '\0';
        char *key = trim(text), *value = trim(eq + 1);
        if (strcmp(key, "title") == 0) {
            snprintf(ex->title, sizeof ex->title, "%s", value);
        } else if (strcmp(key, "kind") == 0) {
            if (strcmp(value, "server") != 0 && strcmp(value, "module") != 0) {
                snprintf(err, err_len, "%s:%d: kind is server or module, not '%s'", path, lineno, value);
                rc = -EINVAL;
            }
            snprintf(ex->kind, sizeof ex->kind, "%s", value);
        } else if (strcmp(key, "submit") == 0) {
            char msg[256];
            if (parse_submit(ex, value, msg, sizeof msg) != 0) {
                snprintf(err, err_len, "%s:%d: %s", path, lineno, msg);
                rc = -EINVAL;
            }
        } else {
            snprintf(err, err_len, "%s:%d: unknown key '%s'", path, lineno, key);
            rc = -EINVAL;
        }
    }
    fclose(f);
    if (rc == 0 && ex->submit_count == 0) {
        snprintf(err, err_len, "%s: no 'submit =' line (which files does a student hand in?)", path);
        rc = -EINVAL;
    }
    return rc;
}

static int compare_exercises(const void *a, const void *b)
{
    return strcmp(((const struct grader_exercise *)a)->name, ((const struct grader_exercise *)b)->name);
}

int grader_find_exercises(const char *exercises_dir, struct grader_exercise **out)
{
    DIR *dir = opendir(exercises_dir);
    if (dir == NULL)
        return -errno;
    struct grader_exercise *list = NULL;
    int count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (!is_exercise_name(e->d_name))
            continue;
        char path[4096], conf[4200];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", exercises_dir, e->d_name);
        snprintf(conf, sizeof conf, "%s/exercise.conf", path);
        if (stat(conf, &st) != 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            struct grader_exercise *bigger = realloc(list, (size_t)cap * sizeof *list);
            if (bigger == NULL) {
                free(list);
                closedir(dir);
                return -ENOMEM;
            }
            list = bigger;
        }
        char err[512];
        if (grader_read_exercise(path, &list[count], err, sizeof err) != 0) {
            /* A broken exercise is the author's bug: say so, grade the rest. */
            fprintf(stderr, "evlab grade: skipping %s: %s\n", e->d_name, err);
            continue;
        }
        count++;
    }
    closedir(dir);
    if (count > 1)
        qsort(list, (size_t)count, sizeof *list, compare_exercises);
    *out = list;
    return count;
}

bool grader_has_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, flag, n) == 0)
            return true;
        p = comma ? comma + 1 : p + len;
    }
    return false;
}
