/* SPDX-License-Identifier: MIT */
/* The YAML configuration loader: no crash, leak or UB on any input, and whatever it accepts is valid. */
#include "config.h"
#include "fuzz.h"

FUZZ_QUIET_INITIALIZE

static bool all_digits(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return s[n] == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Config *c = NULL;
        char *error = NULL;
        int r;

        r = config_load_buffer("fuzz.yaml", data, size, &c, &error);
        if (r >= 0) {
                fuzz_assert(c && !error);
                fuzz_assert(c->interval >= CONFIG_INTERVAL_MIN && c->interval <= CONFIG_INTERVAL_MAX);
                fuzz_assert(c->n_registries <= CONFIG_REGISTRIES_MAX);
                for (size_t i = 0; i < c->n_registries; i++) {
                        const Registry *reg = &c->registries[i];
                        fuzz_assert(reg->registry_id && all_digits(reg->registry_id, 12));
                        fuzz_assert(reg->region && reg->region[0] >= 'a' && reg->region[0] <= 'z');
                        fuzz_assert(reg->password_file && reg->password_file[0] == '/');
                        fuzz_assert(!strstr(reg->password_file, "//") && !strstr(reg->password_file, "/./") &&
                                    !strstr(reg->password_file, "/../"));
                        fuzz_assert((reg->file_mode & ~(mode_t) 0644) == 0);
                        fuzz_assert(!reg->endpoint || strncmp(reg->endpoint, "https://", 8) == 0 ||
                                    strncmp(reg->endpoint, "http://", 7) == 0);
                        fuzz_assert(!reg->external_id || reg->role_arn);
                        /* Password files are unique, so the lookup finds this very registry. */
                        fuzz_assert(config_find_registry_by_file(c, reg->password_file) == reg);
                }
        } else {
                fuzz_assert(!c);
                fuzz_assert(r == -ENOMEM || error);
                fuzz_assert(!error || strncmp(error, "fuzz.yaml", 9) == 0);
                fuzz_assert_one_line(error);
        }
        config_free(c);
        free(error);
        return 0;
}
