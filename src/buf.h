/* SPDX-License-Identifier: MIT */
/* A growable NUL-terminated byte buffer for secrets (the canonical request with its session token,
 * the INI files with their keys): growing copies and wipes, never realloc()s, which could leave a
 * copy behind in freed memory; buf_wipe() zeroes the whole allocation. */
#pragma once

#include "macro.h"

typedef struct Buf {
        char *data; /* NULL until the first reserve; then always NUL-terminated */
        size_t len, cap;
} Buf;

void buf_wipe(Buf *b);
static inline void bufp_wipe(Buf *b) {
        buf_wipe(b);
}
/* Room for extra more bytes and the NUL; -ENOMEM on overflow or allocation failure. */
int buf_reserve(Buf *b, size_t extra);
int buf_append(Buf *b, const char *p, size_t n);
static inline int buf_puts(Buf *b, const char *s) {
        return buf_append(b, s, strlen(s));
}
static inline int buf_putc(Buf *b, char c) {
        return buf_append(b, &c, 1);
}
/* Hands the string to the caller; an empty buffer still yields an allocated "". NULL on ENOMEM. */
char *buf_steal(Buf *b);
