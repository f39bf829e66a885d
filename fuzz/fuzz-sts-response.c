/* SPDX-License-Identifier: MIT */
/* STS AssumeRole / AssumeRoleWithWebIdentity XML answers. The first byte picks the action. */
#include "aws.h"
#include "fuzz.h"
#include "sts.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AwsCredentials *creds = NULL;
        char *arn = NULL, *error = NULL;
        const char *action = "AssumeRole";
        int r;

        if (size > 0) {
                if (data[0] & 1)
                        action = "AssumeRoleWithWebIdentity";
                data++;
                size--;
        }
        uint8_t *body = malloc(size ? size : 1); /* not NUL-terminated: any over-read shows */
        if (!body)
                abort();
        memcpy(body, data, size);
        r = sts_parse_credentials((const char *) body, size, action, "fuzz", &creds, &arn, &error);
        if (r >= 0) {
                fuzz_assert(creds && !error);
                fuzz_assert(!isempty(creds->access_key_id) && !isempty(creds->secret_access_key));
                fuzz_assert(aws_is_token_safe(creds->access_key_id, strlen(creds->access_key_id)));
        } else {
                fuzz_assert(!creds && !arn);
                fuzz_assert(r == -ENOMEM || error);
                fuzz_assert_one_line(error);
        }
        aws_credentials_free(creds);
        free(arn);
        free(error);
        free(body);
        return 0;
}
