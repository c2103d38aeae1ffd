/*
 * json.h — the one writer of JSON strings in evlab.
 *
 * Every JSON evlab prints (evlab load --json, evlab bench's
 * results.json, GET /stats and evlab stats) quotes text it did not choose
 * itself: a target, a --mix path, a server name.  Such text may hold a
 * quote, a backslash or a control byte, and each must be escaped or the
 * output stops being JSON.  The rule lives here once: '"' and '\' get a
 * backslash, bytes below 0x20 become \u00XX, everything else (UTF-8
 * included) is copied.
 */
#ifndef EVLAB_JSON_H
#define EVLAB_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes text to out as a JSON string, quotes included. */
void json_write_string(FILE *out, const char *text);

/* The same into buf, like snprintf: writes at most len - 1 bytes and a
 * NUL (when len > 0) and returns the length the whole string needs, so a
 * return value >= len means it did not fit. */
size_t json_format_string(char *buf, size_t len, const char *text);

#endif
