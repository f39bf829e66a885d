/* SPDX-License-Identifier: MIT */
/* Shared bits of the libFuzzer targets: each fuzz-NAME.c defines LLVMFuzzerTestOneInput() and checks
 * the contract of one parser on top of what AddressSanitizer/UBSan/LeakSanitizer catch. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken contract is a crash, so that libFuzzer keeps the input. */
#define fuzz_assert(cond)                                                                                  \
        do {                                                                                               \
                if (!(cond)) {                                                                             \
                        fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond);       \
                        abort();                                                                           \
                }                                                                                          \
        } while (0)

/* Messages go to logs and STATUS=: one line each. */
static inline void fuzz_assert_one_line(const char *s) {
        if (s)
                fuzz_assert(!strchr(s, '\n'));
}

/* A NUL-terminated copy of the input, for parsers that take C strings. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

/* Logging to stderr for every input would slow fuzzing down to a crawl. */
#define FUZZ_QUIET_INITIALIZE                                                  \
        int LLVMFuzzerInitialize(int *argc, char ***argv) {                    \
                (void) argc;                                                   \
                (void) argv;                                                   \
                log_set_max_level(getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_EMERG); \
                return 0;                                                      \
        }
