/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stddef.h>

#include "metrics.h"
#include "sink.h"

#define PREFIX "ecr_token_refresh_"

/* Label values: backslash, double quote and line feed escaped, as the format requires. */
static void put_label_value(FILE *f, const char *s) {
        for (; s && *s; s++)
                switch (*s) {
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

static void put_labels(FILE *f, const RegistryReport *g) {
        fputs("{registry_id=\"", f);
        put_label_value(f, g->registry_id);
        fputs("\",region=\"", f);
        put_label_value(f, g->region);
        fputs("\",password_file=\"", f);
        put_label_value(f, g->password_file);
        fputs("\"}", f);
}

/* usec as decimal seconds, exactly (no floating point rounding). */
static void put_seconds(FILE *f, usec_t t) {
        if (t == USEC_INFINITY)
                t = 0;
        fprintf(f, "%" PRIu64 ".%06" PRIu64, t / USEC_PER_SEC, t % USEC_PER_SEC);
}

static void put_header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

enum { M_SECONDS, M_UINT };

static void put_family(FILE *f, const Report *r, const char *name, const char *type, const char *help,
                       size_t offset, int kind) {
        put_header(f, name, type, help);
        for (size_t i = 0; i < r->n; i++) {
                const RegistryReport *g = &r->registries[i];
                const char *field = (const char *) g + offset;

                fputs(PREFIX, f);
                fputs(name, f);
                put_labels(f, g);
                fputc(' ', f);
                if (kind == M_SECONDS)
                        put_seconds(f, *(const usec_t *) field);
                else
                        fprintf(f, "%" PRIu64, *(const uint64_t *) field);
                fputc('\n', f);
        }
}

char *metrics_format(const Report *r) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&buf, &len);
        if (!f)
                return NULL;

        put_header(f, "build_info", "gauge", "Always 1; the version label is the running ecr-token-refresh.");
        fputs(PREFIX "build_info{version=\"", f);
        put_label_value(f, PACKAGE_VERSION);
        fputs("\"} 1\n", f);

        put_header(f, "registries", "gauge", "Number of configured registries.");
        fprintf(f, PREFIX "registries %zu\n", r->n);

        put_family(f, r, "last_success_timestamp_seconds", "gauge",
                   "Unix time of the last successful refresh, 0 if none yet.",
                   offsetof(RegistryReport, last_success), M_SECONDS);
        put_family(f, r, "token_expiry_timestamp_seconds", "gauge",
                   "Unix time at which the token written last expires, 0 if unknown.",
                   offsetof(RegistryReport, expires_at), M_SECONDS);

        put_header(f, "token_valid", "gauge", "1 while the written token is valid (what /health checks), else 0.");
        for (size_t i = 0; i < r->n; i++) {
                fputs(PREFIX "token_valid", f);
                put_labels(f, &r->registries[i]);
                fprintf(f, " %d\n", registry_report_token_valid(&r->registries[i], r->now) ? 1 : 0);
        }

        put_header(f, "consecutive_failures", "gauge", "Refreshes that failed in a row since the last success.");
        for (size_t i = 0; i < r->n; i++) {
                fputs(PREFIX "consecutive_failures", f);
                put_labels(f, &r->registries[i]);
                fprintf(f, " %u\n", r->registries[i].failures);
        }

        put_family(f, r, "refresh_duration_seconds", "gauge", "Duration of the last refresh attempt.",
                   offsetof(RegistryReport, last_duration), M_SECONDS);
        put_family(f, r, "refreshes_total", "counter", "Refresh attempts that ended, successful or not.",
                   offsetof(RegistryReport, refreshes_total), M_UINT);
        put_family(f, r, "failures_total", "counter", "Refresh attempts that failed.",
                   offsetof(RegistryReport, failures_total), M_UINT);

        if (fclose(f) != 0 || !buf) {
                free(buf);
                return NULL;
        }
        return buf;
}

int metrics_write_textfile(const char *path, const Report *r, char **ret_error) {
        _cleanup_free_ char *text = NULL;

        text = metrics_format(r);
        if (!text) {
                if (ret_error && asprintf(ret_error, "Cannot format metrics for %s: %s", path, strerror(ENOMEM)) < 0)
                        *ret_error = NULL;
                return -ENOMEM;
        }
        return sink_write_atomic(path, text, strlen(text), 0644, ret_error);
}
