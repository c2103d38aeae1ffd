/*
 * replay_recorder.h — `--record FILE` for the commands that start servers
 * themselves (evlab demo): one more child process, `evlab record -o FILE
 * NAME...`, started and stopped with the others (demo_children.h), so the
 * recording costs the view nothing and a crash of either cannot take the
 * other down.
 *
 * Errors: start returns the child's index (>= 0), or a negative errno
 * with a message in err (the recorder could not attach or create FILE).
 * Ownership: the child is in demo_children's table; stop it with
 * replay_recorder_stop() before stopping the servers, so the recording
 * ends with a last picture of them still running.
 */
#ifndef EVLAB_REPLAY_RECORDER_H
#define EVLAB_REPLAY_RECORDER_H

#include <stddef.h>

int  replay_recorder_start(const char *path, char *const *names, size_t count,
                           char *err, size_t err_len);

/* SIGTERM for the recorder (it writes its END record), a bounded wait;
 * then prints its last line ("wrote FILE: ... events") to stdout. */
void replay_recorder_stop(int index);

#endif
