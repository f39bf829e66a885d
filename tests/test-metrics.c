/* SPDX-License-Identifier: MIT */
/* Prometheus exposition: names, labels and escaping, values, the textfile writer; and the output
 * checked by a real parser when one is installed (promtool, then Python's prometheus_client),
 * besides the strict line-by-line check here. */
#include <fcntl.h>
#include <regex.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "metrics.h"
#include "tap.h"

#define T0 ((usec_t) 1767323045 * USEC_PER_SEC) /* 2026-01-02 03:04:05 UTC */

static const RegistryReport REGS[] = {
        {
                .registry_id = "123456789012",
                .region = "us-west-2",
                .password_file = "/var/lib/ecr-token-refresh/a.pass",
                .last_success = T0 - 60 * USEC_PER_SEC + 250000,
                .expires_at = T0 + 12 * USEC_PER_HOUR,
                .last_duration = 123456,
                .refreshes_total = 7,
                .failures_total = 2,
        },
        {
                .registry_id = "210987654321",
                .region = "eu-central-1",
                /* Escaping: backslash, double quote and a line feed in a label value. */
                .password_file = "/tmp/we\"ird\\dir/b\n.pass",
                .last_duration = 30 * USEC_PER_SEC,
                .failures = 3,
                .refreshes_total = 3,
                .failures_total = 3,
                .last_error = "AccessDeniedException",
        },
};

static bool has_line(const char *text, const char *line) {
        size_t n = strlen(line);
        for (const char *p = text; (p = strstr(p, line)); p++)
                if ((p == text || p[-1] == '\n') && p[n] == '\n')
                        return true;
        return false;
}

/* Strict check of the 0.0.4 text format as written by this program: comment lines are HELP/TYPE
 * for a family whose samples follow them contiguously; sample lines are name{labels} value. */
static bool strict_check(const char *text, char *why, size_t n) {
        regex_t help, type, sample;
        char family[256] = "";
        char seen[64][256];
        size_t n_seen = 0, lineno = 0;
        bool ok_ = true;
        const char *p = text;

        regcomp(&help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]+$", REG_EXTENDED);
        regcomp(&type, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$", REG_EXTENDED);
        regcomp(&sample,
                "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\")"
                "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\")*\\})? "
                "(-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[-+]Inf)$",
                REG_EXTENDED);
        if (!*text || text[strlen(text) - 1] != '\n') {
                snprintf(why, n, "output does not end with a line feed");
                ok_ = false;
        }
        while (ok_ && *p) {
                const char *eol = strchr(p, '\n');
                char line[4096];
                regmatch_t m[3];
                size_t len = eol ? (size_t) (eol - p) : strlen(p);

                lineno++;
                snprintf(line, sizeof(line), "%.*s", (int) len, p);
                p += len + (eol ? 1 : 0);
                if (regexec(&help, line, 3, m, 0) == 0) {
                        snprintf(family, sizeof(family), "%.*s", (int) (m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
                        for (size_t i = 0; i < n_seen; i++)
                                if (streq(seen[i], family)) {
                                        snprintf(why, n, "line %zu: family %s appears twice", lineno, family);
                                        ok_ = false;
                                }
                        if (n_seen < ELEMENTSOF(seen))
                                snprintf(seen[n_seen++], sizeof(seen[0]), "%s", family);
                } else if (regexec(&type, line, 3, m, 0) == 0) {
                        if (strncmp(line + m[1].rm_so, family, (size_t) (m[1].rm_eo - m[1].rm_so)) != 0 ||
                            strlen(family) != (size_t) (m[1].rm_eo - m[1].rm_so)) {
                                snprintf(why, n, "line %zu: TYPE not right after its HELP", lineno);
                                ok_ = false;
                        }
                        if (strstr(line, " counter") && !strstr(line, "_total counter")) {
                                snprintf(why, n, "line %zu: counter name without _total", lineno);
                                ok_ = false;
                        }
                } else if (regexec(&sample, line, 3, m, 0) == 0) {
                        if (strncmp(line, family, strlen(family)) != 0 ||
                            (line[strlen(family)] != '{' && line[strlen(family)] != ' ')) {
                                snprintf(why, n, "line %zu: sample outside its family %.100s: %.300s", lineno, family, line);
                                ok_ = false;
                        }
                } else {
                        snprintf(why, n, "line %zu: not valid exposition format: %.300s", lineno, line);
                        ok_ = false;
                }
        }
        regfree(&help);
        regfree(&type);
        regfree(&sample);
        return ok_;
}

static int run(const char *cmd) {
        int st = system(cmd);
        return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A real parser: promtool (package prometheus), else prometheus_client (python3-prometheus-client).
 * Returns 0 when one was found and ran. */
static int real_parsers(const char *file) {
        char cmd[2048];
        int found = 0;

        if (run("command -v promtool >/dev/null 2>&1") == 0) {
                found++;
                snprintf(cmd, sizeof(cmd), "out=$(promtool check metrics <'%s' 2>&1); rc=$?; [ -z \"$out\" ] || printf '%%s\\n' \"$out\" | sed 's/^/#   /'; [ $rc = 0 ] && [ -z \"$out\" ]", file);
                ok(run(cmd) == 0, "promtool check metrics: parses, no lint problem");
        }
        /* Debian's python3-prometheus-client lives under /usr/bin/python3, not necessarily $PYTHON. */
        const char *pythons[] = { getenv("PYTHON"), "python3", "/usr/bin/python3" };
        for (size_t i = 0; i < ELEMENTSOF(pythons); i++) {
                if (isempty(pythons[i]))
                        continue;
                snprintf(cmd, sizeof(cmd), "'%s' -c 'import prometheus_client.parser' >/dev/null 2>&1", pythons[i]);
                if (run(cmd) != 0)
                        continue;
                found++;
                snprintf(cmd, sizeof(cmd),
                         "'%s' - '%s' <<'EOF'\n"
                         "import sys\n"
                         "from prometheus_client.parser import text_string_to_metric_families\n"
                         "fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))\n"
                         "names = {f.name: f for f in fams}\n"
                         "assert names['ecr_token_refresh_refreshes'].type == 'counter', names.keys()\n"
                         "s = [x for x in names['ecr_token_refresh_last_success_timestamp_seconds'].samples]\n"
                         "assert len(s) == 2, s\n"
                         "assert s[1].labels['password_file'] == '/tmp/we\"ird\\\\dir/b\\n.pass', s[1].labels\n"
                         "assert s[0].value == 1767322985.25, s[0].value\n"
                         "EOF",
                         pythons[i], file);
                ok(run(cmd) == 0, "prometheus_client (%s) parses it: families, types, escaped labels, values", pythons[i]);
                break;
        }
        return found ? 0 : -1;
}

int main(void) {
        Report r = { .registries = REGS, .n = ELEMENTSOF(REGS), .now = T0 };
        Report empty = { .now = T0 };
        char dir[256], path[512], why[512] = "";
        _cleanup_free_ char *text = NULL, *text0 = NULL;
        char *error = NULL;
        struct stat st;

        text = metrics_format(&r);
        ok(text != NULL, "formatted");
        if (!text)
                return done_testing();

        ok(has_line(text, "# TYPE ecr_token_refresh_build_info gauge"), "build_info is a gauge");
        ok(has_line(text, "ecr_token_refresh_build_info{version=\"" PACKAGE_VERSION "\"} 1"), "build_info{version} 1");
        ok(has_line(text, "ecr_token_refresh_registries 2"), "registries 2");
        ok(has_line(text, "# TYPE ecr_token_refresh_last_success_timestamp_seconds gauge"), "timestamps are gauges");
        ok(has_line(text, "ecr_token_refresh_last_success_timestamp_seconds{registry_id=\"123456789012\",region=\"us-west-2\","
                          "password_file=\"/var/lib/ecr-token-refresh/a.pass\"} 1767322985.250000"),
           "last success in seconds, exact to the microsecond");
        ok(has_line(text, "ecr_token_refresh_token_expiry_timestamp_seconds{registry_id=\"123456789012\",region=\"us-west-2\","
                          "password_file=\"/var/lib/ecr-token-refresh/a.pass\"} 1767366245.000000"),
           "token expiry");
        ok(has_line(text, "ecr_token_refresh_last_success_timestamp_seconds{registry_id=\"210987654321\",region=\"eu-central-1\","
                          "password_file=\"/tmp/we\\\"ird\\\\dir/b\\n.pass\"} 0.000000"),
           "never succeeded: 0; label value escaped (\\\", \\\\, \\n)");
        ok(has_line(text, "ecr_token_refresh_token_valid{registry_id=\"123456789012\",region=\"us-west-2\","
                          "password_file=\"/var/lib/ecr-token-refresh/a.pass\"} 1"),
           "token_valid 1 for a fresh token");
        ok(strstr(text, "ecr_token_refresh_token_valid{registry_id=\"210987654321\"") &&
                   strstr(strstr(text, "ecr_token_refresh_token_valid{registry_id=\"210987654321\""), "} 0\n"),
           "token_valid 0 for a registry without token");
        ok(strstr(text, "ecr_token_refresh_consecutive_failures{registry_id=\"210987654321\"") &&
                   strstr(strstr(text, "ecr_token_refresh_consecutive_failures{registry_id=\"210987654321\""), "} 3\n"),
           "consecutive failures 3");
        ok(has_line(text, "ecr_token_refresh_refresh_duration_seconds{registry_id=\"123456789012\",region=\"us-west-2\","
                          "password_file=\"/var/lib/ecr-token-refresh/a.pass\"} 0.123456"),
           "last refresh duration in seconds");
        ok(has_line(text, "# TYPE ecr_token_refresh_refreshes_total counter") &&
                   has_line(text, "# TYPE ecr_token_refresh_failures_total counter"),
           "the _total families are counters");
        ok(has_line(text, "ecr_token_refresh_failures_total{registry_id=\"123456789012\",region=\"us-west-2\","
                          "password_file=\"/var/lib/ecr-token-refresh/a.pass\"} 2"),
           "failures_total");
        ok(!strstr(text, "AccessDenied"), "no error text in metrics (label cardinality)");
        ok(strict_check(text, why, sizeof(why)), "strict format check%s%s", *why ? ": " : "", why);

        text0 = metrics_format(&empty);
        *why = 0;
        ok(text0 && has_line(text0, "ecr_token_refresh_registries 0") && strict_check(text0, why, sizeof(why)),
           "no registries: HELP/TYPE and build info only%s%s", *why ? ": " : "", why);

        /* The textfile collector's file. */
        snprintf(dir, sizeof(dir), "%s/test-metrics.XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(dir)) {
                printf("Bail out! mkdtemp failed\n");
                return 1;
        }
        snprintf(path, sizeof(path), "%s/ecr_token_refresh.prom", dir);
        umask(077);
        is_int(metrics_write_textfile(path, &r, &error), 0, "textfile written");
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "mode 0644 whatever the umask (node_exporter reads it)");
        {
                char buf[8192];
                int fd = open(path, O_RDONLY);
                ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
                if (fd >= 0)
                        close(fd);
                buf[n > 0 ? n : 0] = 0;
                is_str(buf, text, "same content as metrics_format()");
        }
        {
                char missing[600];
                snprintf(missing, sizeof(missing), "%s/nope/x.prom", dir);
                ok(metrics_write_textfile(missing, &r, &error) < 0 && error && strstr(error, missing),
                   "missing directory: error names the path");
                free(error);
        }

        if (real_parsers(path) < 0)
                ok(1, "# SKIP neither promtool nor python3 prometheus_client installed (strict check only)");

        {
                char cmd[600];
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                (void) !system(cmd);
        }
        return done_testing();
}
