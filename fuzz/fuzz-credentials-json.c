/* SPDX-License-Identifier: MIT */
/* JSON credentials: credential_process output and container/IMDS credentials endpoint answers. The
 * first byte picks which. */
#include "aws.h"
#include "credentials.h"
#include "fuzz.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AwsCredentials *creds = NULL;
        char *error = NULL;
        bool process = false;
        int r;

        if (size > 0) {
                process = data[0] & 1;
                data++;
                size--;
        }
        uint8_t *body = malloc(size ? size : 1);
        if (!body)
                abort();
        memcpy(body, data, size);
        if (process)
                r = credentials_parse_process_output((const char *) body, size, "fuzz", &creds, &error);
        else
                r = credentials_parse_container_response((const char *) body, size, "fuzz", &creds, &error);
        if (r >= 0) {
                fuzz_assert(creds && !error);
                fuzz_assert(!isempty(creds->access_key_id) && !isempty(creds->secret_access_key));
        } else {
                fuzz_assert(!creds);
                fuzz_assert(r == -ENOMEM || error);
                fuzz_assert_one_line(error);
        }
        aws_credentials_free(creds);
        free(error);
        free(body);
        return 0;
}
