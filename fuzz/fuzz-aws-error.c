/* SPDX-License-Identifier: MIT */
/* AWS error answers (JSON, XML, or anything a proxy sends): the code and message that end up in logs
 * and STATUS= are one printable line, the code is never empty. Input: one byte picking the status,
 * the x-amzn-ErrorType header up to the first newline, then the body. */
#include "aws.h"
#include "fuzz.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const long statuses[] = { 400, 403, 404, 500, 502, 503, 504, 200 };
        char *code = NULL, *message = NULL, *header = NULL;
        const uint8_t *nl;
        size_t hlen;
        long status = 400;
        int r;

        if (size > 0) {
                status = statuses[data[0] % ELEMENTSOF(statuses)];
                data++;
                size--;
        }
        nl = memchr(data, '\n', size);
        hlen = nl ? (size_t) (nl - data) : 0;
        if (nl) {
                header = fuzz_strndup(data, hlen);
                data += hlen + 1;
                size -= hlen + 1;
        }
        /* Not NUL-terminated: a copy of exactly size bytes, so ASan sees any over-read. */
        uint8_t *body = malloc(size ? size : 1);
        if (!body)
                abort();
        memcpy(body, data, size);

        r = aws_parse_error_body(status, header, (const char *) body, size, &code, &message);
        if (r >= 0) {
                fuzz_assert(code && message && *code);
                fuzz_assert(strlen(message) <= 303);
                for (const char *p = message; *p; p++)
                        fuzz_assert((unsigned char) *p >= 0x20 && *p != 0x7f);
                /* "HTTP 503", or a code made of [A-Za-z0-9._-]. */
                if (strncmp(code, "HTTP ", 5) != 0)
                        for (const char *p = code; *p; p++)
                                fuzz_assert((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                            (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-');
                /* Classification must cope with whatever the code is. */
                (void) aws_error_is_transient(status, code);
                (void) aws_error_is_clock_skew(code);
        } else
                fuzz_assert(r == -ENOMEM);
        free(code);
        free(message);
        free(header);
        free(body);
        return 0;
}
