/* SPDX-License-Identifier: MIT */
/* ECR GetAuthorizationToken answers: no crash, leak or UB, and a password that is accepted is safe to
 * write for Clouddriver (printable, no whitespace). */
#include "aws.h"
#include "ecr.h"
#include "fuzz.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        EcrToken token = {};
        char *error = NULL;
        int r;

        /* The body from http.c is always NUL-terminated past len; the parser must not rely on more. */
        char *body = fuzz_strndup(data, size);
        r = ecr_parse_response(body, size, &token, &error);
        if (r >= 0) {
                fuzz_assert(!error);
                fuzz_assert(token.password && aws_is_token_safe(token.password, strlen(token.password)));
                fuzz_assert(token.expires_at == USEC_INFINITY || token.expires_at <= 253402300800ULL * USEC_PER_SEC); /* year 9999 */
        } else {
                fuzz_assert(!token.password);
                fuzz_assert(r == -ENOMEM || error);
                fuzz_assert_one_line(error);
        }
        ecr_token_done(&token);
        free(error);
        free(body);
        return 0;
}
