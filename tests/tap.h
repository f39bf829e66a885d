/* SPDX-License-Identifier: MIT */
/* A tiny TAP producer for automake's tap-driver.sh. ok() prints one test point; done_testing()
 * prints the plan and returns the exit status for main(). */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline int tap_ok(int cond, const char *file, int line, const char *fmt, ...) {
        va_list ap;
        tap_count++;
        printf("%s %d - ", cond ? "ok" : "not ok", tap_count);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        if (!cond) {
                tap_failed++;
                printf("#   failed at %s:%d\n", file, line);
        }
        fflush(stdout);
        return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, name)                                                                 \
        do {                                                                                    \
                long long _g = (long long) (got), _w = (long long) (want);                      \
                if (!ok(_g == _w, "%s", name))                                                  \
                        printf("#   got %lld, want %lld\n", _g, _w);                            \
        } while (0)
#define is_str(got, want, name)                                                                 \
        do {                                                                                    \
                const char *_g = (got), *_w = (want);                                           \
                if (!ok(_g && _w && strcmp(_g, _w) == 0, "%s", name))                           \
                        printf("#   got '%s'\n#  want '%s'\n", _g ? _g : "(null)", _w ? _w : "(null)"); \
        } while (0)
#define diag(...) (printf("# "), printf(__VA_ARGS__), printf("\n"))

static inline int done_testing(void) {
        printf("1..%d\n", tap_count);
        return tap_failed ? 1 : 0;
}
