/* SPDX-License-Identifier: MIT */
/* The AWS shared config/credentials file parser, and lookups in what it accepted. */
#include "fuzz.h"
#include "ini.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const sections[] = { "default", "profile default", "profile dev", "dev", "DEFAULT", " default " };
        static const char *const keys[] = { "aws_access_key_id", "aws_secret_access_key", "role_arn", "source_profile",
                                            "s3", "s3.addressing_style", "region", "credential_process" };
        IniFile *f = NULL;
        char *error = NULL;
        int r;

        r = ini_load_buffer("fuzz.ini", (const char *) data, size, &f, &error);
        if (r >= 0) {
                fuzz_assert(f && !error);
                for (size_t i = 0; i < ELEMENTSOF(sections); i++) {
                        (void) ini_has_section(f, sections[i]);
                        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                                const char *v = ini_get(f, sections[i], keys[k]);
                                if (v)
                                        (void) strlen(v);
                        }
                }
                for (size_t i = 0; i < 3; i++) {
                        const char *kind = (const char *[]) { "profile", "sso-session", "services" }[i];
                        const char *s = ini_config_section(f, kind, i == 0 ? "default" : "dev");
                        if (s)
                                (void) ini_get(f, s, "region");
                }
        } else {
                fuzz_assert(!f);
                fuzz_assert(r == -ENOMEM || error);
                fuzz_assert_one_line(error);
        }
        ini_free(f);
        free(error);
        return 0;
}
