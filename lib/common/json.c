/*
 * json.c — JSON strings (see json.h).
 *
 * Both writers go through escape_byte(), which turns one byte into the
 * text that stands for it, so the FILE and the buffer version cannot
 * disagree on a single byte.
 */
#include "common/json.h"

#include <string.h>

/* The JSON text for byte c, NUL-terminated, in out (at most 6 bytes:
 * \u001f). */
static void escape_byte(unsigned char c, char out[8])
{
    static const char hex[] = "0123456789abcdef";

    if (c == '"' || c == '\\') {
        out[0] = '\\';
        out[1] = (char)c;
        out[2] = '\0';
    } else if (c < 0x20) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 15];
        out[6] = '\0';
    } else {
        out[0] = (char)c;
        out[1] = '\0';
    }
}

void json_write_string(FILE *out, const char *text)
{
    char piece[8];

    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        escape_byte(*c, piece);
        fputs(piece, out);
    }
    fputc('"', out);
}

/* Appends piece to buf[0..len) at *used, keeping room for the NUL;
 * *used always grows by the piece's length, fitting or not. */
static void append(char *buf, size_t len, size_t *used, const char *piece)
{
    for (; *piece != '\0'; piece++, (*used)++) {
        if (*used + 1 < len)
            buf[*used] = *piece;
    }
}

size_t json_format_string(char *buf, size_t len, const char *text)
{
    char piece[8];
    size_t used = 0;

    append(buf, len, &used, "\"");
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        escape_byte(*c, piece);
        append(buf, len, &used, piece);
    }
    append(buf, len, &used, "\"");
    if (len > 0)
        buf[used < len ? used : len - 1] = '\0';
    return used;
}
