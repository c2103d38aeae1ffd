/*
 * replay_recorder.c — a recorder child for `evlab demo --record FILE`
 * (see replay_recorder.h).
 *
 * Design.  The recorder is `evlab record` itself, run from our own binary
 * by demo_child_spawn(): the one recording code path, tested once.  It
 * prints one line when it has attached and created the file; we wait for
 * that line, so a bad path is reported before the view takes the
 * terminal.  Stopping it is SIGTERM (its clean end: final drain, END
 * record), then its summary line is passed on to the user.
 */
#include "replay_recorder.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "demo_children.h"
#include "record/record.h"

/* Attaching and creating the file take milliseconds; 5 s is for a
 * machine under heavy load. */
#define RECORDER_START_TIMEOUT_MS 5000
#define RECORDER_STOP_GRACE_MS    3000

int replay_recorder_start(const char *path, char *const *names, size_t count,
                          char *err, size_t err_len)
{
    if (count > RECORD_MAX_SERVERS) {
        snprintf(err, err_len, "at most %d servers can be recorded", RECORD_MAX_SERVERS);
        return -EINVAL;
    }
    char *argv[RECORD_MAX_SERVERS + 6];
    size_t n = 0;
    argv[n++] = "evlab";
    argv[n++] = "record";
    argv[n++] = "--quiet";
    argv[n++] = "-o";
    argv[n++] = (char *)path;
    for (size_t i = 0; i < count; i++)
        argv[n++] = names[i];
    argv[n] = NULL;
    int index = demo_child_spawn("record", argv, err, err_len);
    if (index < 0)
        return index;
    char line[512] = "";
    int rc = demo_child_first_line(index, line, sizeof line, RECORDER_START_TIMEOUT_MS);
    if (rc < 0 || strstr(line, "evlab record: recording") == NULL) {
        snprintf(err, err_len, "%s", line[0] ? line : "the recorder did not start");
        demo_child_stop(index, RECORDER_STOP_GRACE_MS);
        demo_child_release(index);
        return rc < 0 ? rc : -EIO;
    }
    return index;
}

void replay_recorder_stop(int index)
{
    if (index < 0)
        return;
    /* SIGTERM, which the recorder takes as Ctrl-C: its clean end. */
    demo_child_stop(index, RECORDER_STOP_GRACE_MS);
    demo_child_drain(index);
    /* Its output ends with the summary line; show the user that one. */
    const struct demo_child *child = demo_child_get(index);
    const char *last = NULL;
    for (const char *p = child->output; p != NULL && p < child->output + child->output_len;) {
        const char *found = strstr(p, "evlab record: wrote");
        if (found == NULL)
            break;
        last = found;
        p = found + 1;
    }
    if (last != NULL) {
        const char *end = memchr(last, '\n', child->output + child->output_len - last);
        printf("%.*s\n", (int)(end ? end - last : child->output + child->output_len - last),
               last);
    }
    demo_child_release(index);
}
