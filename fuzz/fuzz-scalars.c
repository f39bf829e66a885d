/* SPDX-License-Identifier: MIT */
/* The small parsers under the big ones: AWS timestamps, Go durations (round trip through the
 * formatter), base64. */
#include "aws.h"
#include "duration.h"
#include "fuzz.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = fuzz_strndup(data, size), buf[DURATION_FORMAT_MAX], *decoded = NULL;
        usec_t u;
        size_t n;

        if (aws_parse_timestamp(s, &u) >= 0) {
                /* Up to year 9999 (ISO-8601) or 3000 (epoch seconds): never a wrapped-around value. */
                fuzz_assert(u <= 253402300800ULL * USEC_PER_SEC);
                (void) format_timestamp(u, buf, sizeof(buf));
        }
        if (duration_parse(s, &u) >= 0) {
                usec_t v;
                fuzz_assert(duration_format(u, buf, sizeof(buf)));
                /* What we print parses again (to the whole second shown). */
                fuzz_assert(duration_parse(buf, &v) >= 0);
                fuzz_assert(u < USEC_PER_SEC ? v <= u : v <= u && u - v < USEC_PER_SEC);
        }
        if (aws_base64_decode(s, size, &decoded, &n) >= 0) {
                char *again = NULL;
                fuzz_assert(aws_base64_encode(decoded, n, &again) >= 0);
                free(again);
                secure_zero(decoded, n);
                free(decoded);
        }
        free(s);
        return 0;
}
