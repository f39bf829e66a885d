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
        error = NULL;

        /* The same answer to a request for several registries: every item is a safe password or an
         * error, and every match points at an item. */
        static const char *const ids[] = { "123456789012", "210987654321", "111111111111" };
        EcrItem *items = NULL;
        size_t n = 0;
        r = ecr_parse_items(body, size, &items, &n, &error);
        if (r >= 0) {
                fuzz_assert(!error && n >= 1);
                for (size_t i = 0; i < n; i++)
                        fuzz_assert(!!items[i].error != !!items[i].token.password &&
                                    (!items[i].token.password ||
                                     aws_is_token_safe(items[i].token.password, strlen(items[i].token.password))));
                for (size_t w = 0; w < ELEMENTSOF(ids); w++) {
                        ssize_t k = ecr_match_item(items, n, ids, ELEMENTSOF(ids), w);
                        fuzz_assert(k >= -1 && k < (ssize_t) n);
                }
        } else
                fuzz_assert(!items && (r == -ENOMEM || error));
        ecr_items_free(items, n);
        free(error);
        free(body);
        return 0;
}
