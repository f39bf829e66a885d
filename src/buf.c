/* SPDX-License-Identifier: MIT */
#include "buf.h"

void buf_wipe(Buf *b) {
        if (b->data) {
                explicit_bzero(b->data, b->cap);
                free(b->data);
        }
        *b = (Buf) {};
}

int buf_reserve(Buf *b, size_t extra) {
        size_t need, cap;
        char *p;

        if (extra >= SIZE_MAX - b->len)
                return -ENOMEM;
        need = b->len + extra + 1;
        if (need <= b->cap)
                return 0;

        cap = MAX(need, (size_t) 128);
        if (b->cap <= SIZE_MAX / 2)
                cap = MAX(cap, b->cap * 2);

        p = malloc(cap);
        if (!p)
                return -ENOMEM;
        if (b->data) {
                memcpy(p, b->data, b->len + 1);
                explicit_bzero(b->data, b->cap);
                free(b->data);
        } else
                p[0] = 0;

        b->data = p;
        b->cap = cap;
        return 0;
}

int buf_append(Buf *b, const char *p, size_t n) {
        int r = buf_reserve(b, n);

        if (r < 0)
                return r;
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = 0;
        return 0;
}

char *buf_steal(Buf *b) {
        char *s;

        if (!b->data && buf_reserve(b, 0) < 0)
                return NULL;
        s = b->data;
        *b = (Buf) {};
        return s;
}
