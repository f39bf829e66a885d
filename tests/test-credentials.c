/* SPDX-License-Identifier: MIT */
/* Tests of the credentials provider on a real event loop: credential_process helpers (caching until
 * 5 minutes before Expiration, re-fetch of credentials about to expire, coalescing, cancel, errors
 * without secrets), and STS / container endpoints served by a small fake HTTP server (a forked child
 * on 127.0.0.1) that records every request: AssumeRole signing and chaining, per-registry roles
 * cached per (role, external ID, session), web identity tokens re-read at every fetch, retries. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "credentials.h"
#include "tap.h"

static char dir[] = "/tmp/test-credentials.XXXXXX";
static sd_event *event;
static HttpClient *http;
static CredentialsProvider *provider;

static char *path_of(const char *name) {
        static char buf[4][512];
        static unsigned i;
        char *b = buf[i++ % 4];
        snprintf(b, 512, "%s/%s", dir, name);
        return b;
}

static void write_file(const char *name, const char *text) {
        char tmp[600];
        FILE *f;
        snprintf(tmp, sizeof(tmp), "%s.tmp", path_of(name));
        f = fopen(tmp, "w");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path_of(name)) < 0)
                abort();
}

static char *read_file(const char *name) {
        FILE *f = fopen(path_of(name), "r");
        char *buf = calloc(1, 256 * 1024);
        if (f) {
                size_t n = fread(buf, 1, 256 * 1024 - 1, f);
                buf[n] = 0;
                fclose(f);
        }
        return buf;
}

static unsigned count_lines(const char *name) {
        char *s = read_file(name);
        unsigned n = 0;
        for (char *p = s; *p; p++)
                n += *p == '\n';
        free(s);
        return n;
}

static unsigned count_substr(const char *s, const char *needle) {
        unsigned n = 0;
        for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

static unsigned count_requests(const char *needle) {
        char *all = read_file("requests");
        unsigned n = count_substr(all, needle);
        free(all);
        return n;
}

static usec_t mono(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static const char *iso_in(long seconds) {
        static char buf[4][32];
        static unsigned i;
        char *b = buf[i++ % 4];
        time_t t = time(NULL) + seconds;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(b, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return b;
}

/* ---- waiting for callbacks ---- */

typedef struct Result {
        bool called;
        AwsCredentials *creds;
        char *error;
} Result;

static void on_done(const AwsCredentials *creds, const char *error, void *userdata) {
        Result *res = userdata;
        res->called = true;
        res->creds = creds ? aws_credentials_dup(creds) : NULL;
        res->error = error ? strdup(error) : NULL;
}

static void result_done(Result *res) {
        aws_credentials_free(res->creds);
        free(res->error);
        *res = (Result) {};
}

/* Runs the loop until every result given is called (or 15 s pass). */
static bool run_until(Result *a, Result *b) {
        usec_t deadline = mono() + 15 * USEC_PER_SEC;
        while ((!a->called || (b && !b->called)) && mono() < deadline)
                sd_event_run(event, 100 * USEC_PER_MSEC);
        return a->called && (!b || b->called);
}

/* Runs the loop for a while (to see that a cancelled callback does not come). */
static void run_for(usec_t t) {
        usec_t deadline = mono() + t;
        while (mono() < deadline)
                sd_event_run(event, 20 * USEC_PER_MSEC);
}

/* get: 1 (immediate), 0 (async: waits) or negative. */
static int get(Result *res) {
        AwsCredentials *c = NULL;
        char *error = NULL;
        int r;

        *res = (Result) {};
        r = credentials_provider_get(provider, &c, &error, on_done, res);
        if (r == 1) {
                res->called = true;
                res->creds = c;
        } else if (r < 0) {
                res->called = true;
                res->error = error;
        }
        return r;
}

static int get_role(const char *arn, const char *external_id, const char *session, Result *res) {
        AwsCredentials *c = NULL;
        char *error = NULL;
        int r;

        *res = (Result) {};
        r = credentials_provider_get_role(provider, arn, external_id, session, "us-west-2", &c, &error, on_done, res);
        if (r == 1) {
                res->called = true;
                res->creds = c;
        } else if (r < 0) {
                res->called = true;
                res->error = error;
        }
        return r;
}

/* ---- environment ---- */

static void clean_env(void) {
        static const char *const vars[] = {
                "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
                "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
                "AWS_STS_REGIONAL_ENDPOINTS", "CREDENTIALS_DIRECTORY", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
                "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        };
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                unsetenv(vars[i]);
        setenv("HOME", "/nonexistent", 1);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", path_of("credentials"), 1);
        setenv("AWS_CONFIG_FILE", path_of("config"), 1);
        unlink(path_of("credentials"));
        unlink(path_of("config"));
        credentials_provider_flush(provider);
}

/* ---- parsing ---- */

static void check_parse(bool process, const char *json, int want_r, const char *want_error) {
        AwsCredentials *c = NULL;
        char *error = NULL;
        int r = process ? credentials_parse_process_output(json, strlen(json), "src", &c, &error)
                        : credentials_parse_container_response(json, strlen(json), "src", &c, &error);
        bool good = r == want_r && (want_r == 0 ? c && !error : !c && error && strstr(error, want_error) &&
                                                                     !strstr(error, "SeCrEt"));
        if (!ok(good, "%s %s: %s", process ? "credential_process" : "container", want_r == 0 ? "accepts" : "refuses",
                want_error ?: json))
                diag("r=%d error=%s", r, error ?: "(none)");
        aws_credentials_free(c);
        free(error);
}

static void test_parse(void) {
        AwsCredentials *c = NULL;
        char *error = NULL;
        usec_t want;
        const char *full = "{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", \"SecretAccessKey\": \"s\", \"SessionToken\": \"t\", "
                           "\"Expiration\": \"2030-01-02T03:04:05Z\", \"AccountId\": \"123456789012\"}\n";

        ok(credentials_parse_process_output(full, strlen(full), "profile p (credential_process)", &c, &error) == 0 && c,
           "credential_process output with every field");
        if (c) {
                aws_parse_timestamp("2030-01-02T03:04:05Z", &want);
                ok(streq(c->access_key_id, "ASIAPROC") && streq(c->secret_access_key, "s") && c->session_token &&
                   streq(c->session_token, "t") && c->expiration == want && streq(c->source, "profile p (credential_process)"),
                   "  fields and source");
        }
        aws_credentials_free(c);
        c = NULL;
        const char *min = "{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", \"SecretAccessKey\": \"s\"}";
        ok(credentials_parse_process_output(min, strlen(min), "x", &c, &error) == 0 && c && !c->session_token &&
           c->expiration == USEC_INFINITY, "long-term keys without SessionToken and Expiration");
        aws_credentials_free(c);

        check_parse(true, "{\"Version\": 1.0, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"s\", \"SessionToken\": null}", 0, NULL);
        check_parse(true, "{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"SeCrEt\"}", -EINVAL,
                    "unsupported \"Version\"");
        check_parse(true, "{\"Version\": \"1\", \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"SeCrEt\"}", -EINVAL,
                    "unsupported \"Version\"");
        check_parse(true, "{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"SeCrEt\"}", -EINVAL, "no \"Version\"");
        check_parse(true, "{\"Version\": 1, \"SecretAccessKey\": \"SeCrEt\"}", -EINVAL, "lacks \"AccessKeyId\"");
        check_parse(true, "{\"Version\": 1, \"AccessKeyId\": \"A\"}", -EINVAL, "lacks \"SecretAccessKey\"");
        check_parse(true, "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"SeCrEt\", \"Expiration\": \"soon\"}",
                    -EINVAL, "\"Expiration\" is not an ISO 8601 time");
        check_parse(true, "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"SeCrEt\", \"SessionToken\": 5}", -EINVAL,
                    "\"SessionToken\" is not a string");
        check_parse(true, "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"SeCrEt\"", -EINVAL, "not valid JSON");
        check_parse(true, "{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"SeCrEt\"} trailing", -EINVAL,
                    "not valid JSON");
        check_parse(true, "AccessKeyId=A SecretAccessKey=SeCrEt", -EINVAL, "not valid JSON");
        check_parse(true, "[1, \"SeCrEt\"]", -EINVAL, "not a JSON object");
        check_parse(true, "", -EINVAL, "empty");

        check_parse(false, "{\"AccessKeyId\": \"ASIA\", \"SecretAccessKey\": \"s\", \"Token\": \"t\", \"Expiration\": "
                           "\"2030-01-01T00:00:00Z\", \"RoleArn\": \"x\"}", 0, NULL);
        check_parse(false, "{\"AccessKeyId\": \"ASIA\", \"Token\": \"SeCrEt\"}", -EINVAL, "lacks \"SecretAccessKey\"");
        check_parse(false, "{\"code\": \"InvalidToken\", \"message\": \"SeCrEt\"}", -EINVAL, "lacks \"AccessKeyId\"");
}

/* ---- credential_process ---- */

static void helper(const char *name, const char *body) {
        char *script = NULL;
        asprintf(&script, "#!/bin/sh\n%s\n", body);
        write_file(name, script);
        chmod(path_of(name), 0755);
        free(script);
}

static void test_process(void) {
        Result a, b, c;
        char *config = NULL, *s;
        int r;

        clean_env();
        /* Each run appends a line to "count" and prints the expiration found in "exp". */
        helper("helper.sh", "echo run >> \"$(dirname \"$0\")/count\"\n"
                            "exp=$(cat \"$(dirname \"$0\")/exp\")\n"
                            "echo 'a note from the helper' >&2\n"
                            "printf '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC%s\", \"SecretAccessKey\": \"SeCrEt\", "
                            "\"SessionToken\": \"tok\"%s}' \"$(wc -l < \"$(dirname \"$0\")/count\")\" \"$exp\"");
        asprintf(&config, "[default]\ncredential_process = \"%s\" --flag 'two words'\n", path_of("helper.sh"));
        write_file("config", config);
        free(config);

        s = NULL;
        asprintf(&s, ", \"Expiration\": \"%s\"", iso_in(3600));
        write_file("exp", s);
        free(s);
        r = get(&a);
        ok(r == 0, "credential_process: the first get is asynchronous");
        ok(get(&b) == 0, "  a second caller while it runs waits too");
        ok(run_until(&a, &b) && a.creds && b.creds, "  both get credentials");
        ok(a.creds && b.creds && streq(a.creds->access_key_id, "ASIAPROC1") && streq(b.creds->access_key_id, "ASIAPROC1"),
           "  from one run of the helper");
        is_int(count_lines("count"), 1, "  the helper ran once");
        ok(a.creds && streq(a.creds->source, "profile default (credential_process)"), "  source: %s",
           a.creds ? a.creds->source : "-");
        result_done(&a);
        result_done(&b);

        ok(get(&a) == 1 && a.creds && streq(a.creds->access_key_id, "ASIAPROC1"),
           "credentials valid for an hour are reused, not fetched again");
        is_int(count_lines("count"), 1, "  the helper did not run again");
        result_done(&a);

        /* Credentials that expire in a minute: every get fetches again. */
        s = NULL;
        asprintf(&s, ", \"Expiration\": \"%s\"", iso_in(60));
        write_file("exp", s);
        free(s);
        credentials_provider_flush(provider);
        ok(get(&a) == 0 && run_until(&a, NULL) && a.creds && streq(a.creds->access_key_id, "ASIAPROC2"),
           "after a flush, the helper runs again");
        result_done(&a);
        ok(get(&a) == 0 && run_until(&a, NULL) && a.creds && streq(a.creds->access_key_id, "ASIAPROC3"),
           "credentials expiring in 1 minute are fetched again on the next get");
        is_int(count_lines("count"), 3, "  the helper ran three times in all");
        result_done(&a);

        /* Without Expiration: kept for a while (once per refresh cycle), not fetched for every registry. */
        write_file("exp", "");
        credentials_provider_flush(provider);
        ok(get(&a) == 0 && run_until(&a, NULL) && a.creds && a.creds->expiration == USEC_INFINITY, "no Expiration");
        result_done(&a);
        ok(get(&a) == 1, "  credentials without Expiration are reused within the cycle");
        result_done(&a);

        /* Cancel */
        credentials_provider_flush(provider);
        ok(get(&a) == 0 && get(&b) == 0, "two waiters");
        credentials_provider_cancel(provider, &a);
        ok(run_until(&b, NULL) && b.creds, "  the one not cancelled gets credentials");
        run_for(100 * USEC_PER_MSEC);
        ok(!a.called, "  the cancelled one is never called back");
        result_done(&a);
        result_done(&b);

        /* Failures */
        helper("fail.sh", "echo 'helper: no session, run login first' >&2\nexit 3");
        write_file("config", "[default]\ncredential_process = fail.sh\n");
        setenv("PATH", dir, 1);
        r = get(&a);
        run_until(&a, NULL);
        ok(r == 0 && a.called && !a.creds && a.error &&
           strstr(a.error, "profile default (credential_process): exited with status 3"), "a non-zero exit is an error: %s", a.error ?: "-");
        result_done(&a);
        setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);

        helper("bad.sh", "echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"SeCrEt\"'");
        config = NULL;
        asprintf(&config, "[default]\ncredential_process = %s\n", path_of("bad.sh"));
        write_file("config", config);
        free(config);
        r = get(&a);
        run_until(&a, NULL);
        ok(r == 0 && a.called && !a.creds && a.error && strstr(a.error, "not valid JSON") &&
           !strstr(a.error, "SeCrEt"), "bad JSON is an error, without the output in it: %s", a.error ?: "-");
        result_done(&a);

        write_file("config", "[default]\ncredential_process = no-such-helper-xyz --x\n");
        r = get(&a);
        ok(r == -ENOENT && a.error && strstr(a.error, "no-such-helper-xyz: command not found"), "a missing helper: %s",
           a.error ?: "-");
        result_done(&a);
        write_file("config", "[default]\ncredential_process = 'unclosed\n");
        r = get(&a);
        ok(r == -EINVAL && a.error && strstr(a.error, "no closing quotation"), "an unsplittable command: %s", a.error ?: "-");
        result_done(&a);

        /* The chain's callers in one cycle: three concurrent gets, one child. */
        write_file("count", "");
        write_file("exp", "");
        config = NULL;
        asprintf(&config, "[default]\ncredential_process = %s\n", path_of("helper.sh"));
        write_file("config", config);
        free(config);
        credentials_provider_flush(provider);
        ok(get(&a) == 0 && get(&b) == 0 && get(&c) == 0 && run_until(&a, &b) && run_until(&c, NULL) && a.creds && b.creds &&
           c.creds, "three concurrent gets");
        is_int(count_lines("count"), 1, "  one run of the helper");
        result_done(&a);
        result_done(&b);
        result_done(&c);
}

/* ---- a fake HTTP server ---- */

static pid_t server_pid;
static int server_port;

/* Serves one request per connection: appends "request line, headers, blank line, body" plus a
 * "----" line to "requests", answers with the file "response.N" (N = request number since the last
 * server_reset(), from 1) if it
 * exists, else "response": a first line with the status, "+Name: value" lines for extra headers,
 * the body after them. */
static void serve(int listen_fd) {
        for (;;) {
                char req[65536], name[32], *body, *resp, *status_end, *logged;
                unsigned n;
                size_t len = 0, want = 0;
                int fd = accept(listen_fd, NULL, NULL);
                FILE *log;
                long status;

                if (fd < 0)
                        _exit(0);
                for (;;) {
                        ssize_t k = read(fd, req + len, sizeof(req) - 1 - len);
                        if (k <= 0)
                                break;
                        len += (size_t) k;
                        req[len] = 0;
                        body = strstr(req, "\r\n\r\n");
                        if (body) {
                                char *cl = strcasestr(req, "\r\nContent-Length:");
                                want = (size_t) (body + 4 - req) + (cl && cl < body ? strtoul(cl + 17, NULL, 10) : 0);
                                if (len >= want)
                                        break;
                        }
                }
                req[len] = 0;
                logged = read_file("requests"); /* n: this request's number since server_reset() */
                n = count_substr(logged, "\n----\n") + 1;
                free(logged);
                log = fopen(path_of("requests"), "a");
                if (log) {
                        fprintf(log, "%s\n----\n", req);
                        fclose(log);
                }
                snprintf(name, sizeof(name), "response.%u", n);
                resp = read_file(name);
                if (!*resp) {
                        free(resp);
                        resp = read_file("response");
                }
                status = strtol(resp, &status_end, 10);
                if (*status_end == '\n')
                        status_end++;
                dprintf(fd, "HTTP/1.1 %ld X\r\nContent-Type: text/xml\r\nConnection: close\r\n", status);
                while (*status_end == '+') { /* "+Name: value" lines are extra headers */
                        size_t hl = strcspn(status_end + 1, "\n");
                        dprintf(fd, "%.*s\r\n", (int) hl, status_end + 1);
                        status_end += 1 + hl + (status_end[1 + hl] == '\n');
                }
                dprintf(fd, "Content-Length: %zu\r\n\r\n%s", strlen(status_end), status_end);
                free(resp);
                close(fd);
        }
}

static bool server_start(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t alen = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
            getsockname(fd, (struct sockaddr *) &a, &alen) < 0) {
                if (fd >= 0)
                        close(fd);
                return false;
        }
        server_port = ntohs(a.sin_port);
        server_pid = fork();
        if (server_pid == 0) {
                signal(SIGPIPE, SIG_IGN);
                serve(fd);
                _exit(0);
        }
        close(fd);
        return server_pid > 0;
}

static void server_reset(const char *response) {
        unlink(path_of("requests"));
        for (int i = 1; i < 10; i++) {
                char name[32];
                snprintf(name, sizeof(name), "response.%d", i);
                unlink(path_of(name));
        }
        write_file("response", response);
}

static char *sts_answer(const char *action, const char *key_id, const char *token, long expires_in) {
        char *s = NULL;
        asprintf(&s,
                 "200\n<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><%sResult><Credentials>"
                 "<AccessKeyId>%s</AccessKeyId><SecretAccessKey>SeCrEt-%s</SecretAccessKey><SessionToken>%s</SessionToken>"
                 "<Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>"
                 "</AssumedRoleUser></%sResult></%sResponse>",
                 action, action, key_id, key_id, token, iso_in(expires_in), action, action);
        return s;
}

/* The n-th recorded request (from 0), or "". */
static char *request_n(unsigned n) {
        char *all = read_file("requests"), *p = all, *end, *out;
        for (unsigned i = 0; i < n && p; i++) {
                p = strstr(p, "\n----\n");
                if (p)
                        p += 6;
        }
        if (!p) {
                free(all);
                return strdup("");
        }
        end = strstr(p, "\n----\n");
        out = strndup(p, end ? (size_t) (end - p) : strlen(p));
        free(all);
        return out;
}

static void test_sts(void) {
        char url[64], *ans, *req0, *req1, *all;
        Result a, b;
        int r;

        clean_env();
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", server_port);
        setenv("AWS_ENDPOINT_URL_STS", url, 1);
        write_file("credentials", "[default]\naws_access_key_id = AKIABASE\naws_secret_access_key = SeCrEt-base\n"
                                  "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = SeCrEt-base\n");

        /* Per-registry roles: coalesced, cached per (role, external ID, session). */
        ans = sts_answer("AssumeRole", "ASIAROLE1", "token-1", 3600);
        server_reset(ans);
        free(ans);
        ok(get_role("arn:aws:iam::210987654321:role/reader", "ext-1", NULL, &a) == 0 &&
           get_role("arn:aws:iam::210987654321:role/reader", "ext-1", NULL, &b) == 0,
           "registry role: two registries ask at once");
        ok(run_until(&a, &b) && a.creds && b.creds && streq(a.creds->access_key_id, "ASIAROLE1") &&
           streq(b.creds->access_key_id, "ASIAROLE1") && a.creds->session_token && streq(a.creds->session_token, "token-1"),
           "  both get the assumed role's credentials");
        all = read_file("requests");
        is_int(count_substr(all, "Action=AssumeRole&"), 1, "  one STS call");
        req0 = request_n(0);
        ok(strstr(req0, "POST / HTTP/1.1") && strstr(req0, "RoleArn=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2Freader") &&
           strstr(req0, "RoleSessionName=ecr-token-refresh") && strstr(req0, "ExternalId=ext-1") &&
           strstr(req0, "Version=2011-06-15"),
           "  AssumeRole with RoleArn, the default session name and ExternalId");
        ok(strstr(req0, "Authorization: AWS4-HMAC-SHA256 Credential=AKIABASE/") && strstr(req0, "/us-west-2/sts/aws4_request") &&
           !strstr(req0, "X-Amz-Security-Token") && !strstr(req0, "SeCrEt"),
           "  signed with the chain's keys for the registry's region and service sts");
        ok(a.creds && strstr(a.creds->source, "role arn:aws:iam::210987654321:role/reader"), "  source: %s",
           a.creds ? a.creds->source : "-");
        free(all);
        free(req0);
        result_done(&a);
        result_done(&b);

        ok(get_role("arn:aws:iam::210987654321:role/reader", "ext-1", NULL, &a) == 1 && a.creds,
           "  the next cycle reuses them (valid for an hour)");
        result_done(&a);
        ok(get_role("arn:aws:iam::210987654321:role/reader", "ext-2", NULL, &a) == 0 && run_until(&a, NULL) && a.creds,
           "  another external ID is another session");
        result_done(&a);
        ok(get_role("arn:aws:iam::210987654321:role/reader", "ext-1", "other-session", &a) == 0 && run_until(&a, NULL) &&
           a.creds, "  so is another session name");
        result_done(&a);
        all = read_file("requests");
        is_int(count_substr(all, "Action=AssumeRole&"), 3, "  three STS calls in all");
        ok(strstr(all, "RoleSessionName=other-session") != NULL, "  with the session name asked for");
        free(all);

        /* Cancel a role waiter */
        ok(get_role("arn:aws:iam::210987654321:role/cancel", NULL, NULL, &a) == 0 &&
           get_role("arn:aws:iam::210987654321:role/cancel", NULL, NULL, &b) == 0, "two waiters for a role");
        credentials_provider_cancel(provider, &a);
        ok(run_until(&b, NULL) && b.creds, "  the other one is served");
        run_for(100 * USEC_PER_MSEC);
        ok(!a.called, "  the cancelled one is not called back");
        result_done(&a);
        result_done(&b);

        /* Expiring soon: fetched again */
        ans = sts_answer("AssumeRole", "ASIASOON", "token-soon", 60);
        server_reset(ans);
        free(ans);
        ok(get_role("arn:aws:iam::210987654321:role/soon", NULL, NULL, &a) == 0 && run_until(&a, NULL) && a.creds, "a role session for 1 minute");
        result_done(&a);
        ok(get_role("arn:aws:iam::210987654321:role/soon", NULL, NULL, &a) == 0 && run_until(&a, NULL) && a.creds,
           "  is assumed again at the next get");
        result_done(&a);
        is_int(count_requests("Action=AssumeRole&"), 2, "  two STS calls");

        /* A profile role chain plus a registry role: the second AssumeRole carries the first's session. */
        ans = sts_answer("AssumeRole", "ASIACHAIN", "token-of-the-profile-role", 3600);
        server_reset(ans);
        free(ans);
        write_file("config", "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = base\nregion = eu-west-1\n");
        setenv("AWS_PROFILE", "top", 1);
        ok(get_role("arn:aws:iam::210987654321:role/reader", NULL, NULL, &a) == 0 && run_until(&a, NULL) && a.creds,
           "profile role, then a registry role");
        req0 = request_n(0);
        req1 = request_n(1);
        ok(strstr(req0, "role%2Ftop") && strstr(req0, "Credential=AKIABASE/") && strstr(req0, "/eu-west-1/sts/"),
           "  first the profile's role, signed with the source profile's keys in the profile's region");
        ok(strstr(req1, "role%2Freader") && strstr(req1, "Credential=ASIACHAIN/") && strstr(req1, "/us-west-2/sts/") &&
           strstr(req1, "X-Amz-Security-Token: token-of-the-profile-role"),
           "  then the registry's role, signed with the first session (token included) in the registry's region");
        free(req0);
        free(req1);
        result_done(&a);
        ok(get(&a) == 1 && a.creds && streq(a.creds->access_key_id, "ASIACHAIN"), "  the chain's own role session is cached too");
        result_done(&a);
        unsetenv("AWS_PROFILE");
        unlink(path_of("config"));

        /* Errors carry the AWS code and message, never a secret */
        server_reset("403\n<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User AKIABASE with "
                     "secret SeCrEt-base is not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>");
        credentials_provider_flush(provider);
        ok(get_role("arn:aws:iam::210987654321:role/denied", NULL, NULL, &a) == 0 && run_until(&a, NULL) && !a.creds && a.error,
           "AccessDenied");
        ok(a.error && strstr(a.error, "role arn:aws:iam::210987654321:role/denied (registry roleArn): STS AssumeRole: "
                                      "AccessDenied: User AKIABASE with secret [redacted] is not authorized") &&
           !strstr(a.error, "SeCrEt"),
           "  one line with the role, the code and the scrubbed message: %s", a.error ?: "-");
        is_int(count_requests("Action=AssumeRole&"), 1,
               "  not retried");
        result_done(&a);

        /* Throttling is retried */
        ans = sts_answer("AssumeRole", "ASIARETRY", "t", 3600);
        server_reset(ans);
        free(ans);
        write_file("response.1", "400\n<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>");
        ok(get_role("arn:aws:iam::210987654321:role/retry", NULL, NULL, &a) == 0 && run_until(&a, NULL) && a.creds &&
           streq(a.creds->access_key_id, "ASIARETRY"), "Throttling: retried, then served");
        is_int(count_requests("Action=AssumeRole&"), 2, "  two STS calls");
        result_done(&a);

        /* Clock skew: STS refuses the signature and its Date is an hour ahead: signed again with its time. */
        {
                char date[64], *msg = NULL;
                time_t later = time(NULL) + 3600;
                struct tm tm;
                gmtime_r(&later, &tm);
                strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
                ans = sts_answer("AssumeRole", "ASIASKEW", "t", 3600);
                server_reset(ans);
                free(ans);
                asprintf(&msg, "403\n+Date: %s\n<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>Signature "
                               "expired</Message></Error></ErrorResponse>", date);
                write_file("response.1", msg);
                free(msg);
                r = get_role("arn:aws:iam::210987654321:role/skew", NULL, NULL, &a);
                run_until(&a, NULL);
                ok(r == 0 && a.creds && streq(a.creds->access_key_id, "ASIASKEW"), "clock skew: signed again with STS's time");
                req0 = request_n(0);
                req1 = request_n(1);
                char *d0 = strstr(req0, "X-Amz-Date: "), *d1 = strstr(req1, "X-Amz-Date: ");
                struct tm t0 = {}, t1 = {};
                ok(d0 && d1 && strptime(d0 + 12, "%Y%m%dT%H%M%SZ", &t0) && strptime(d1 + 12, "%Y%m%dT%H%M%SZ", &t1) &&
                   timegm(&t1) - timegm(&t0) > 3500 && timegm(&t1) - timegm(&t0) < 3700,
                   "  the second request is dated an hour later");
                free(req0);
                free(req1);
                result_done(&a);
        }

        /* Web identity: unsigned, token file re-read at every fetch */
        clean_env();
        setenv("AWS_ENDPOINT_URL_STS", url, 1);
        write_file("token", "token-one\n");
        setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path_of("token"), 1);
        setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa", 1);
        setenv("AWS_ROLE_SESSION_NAME", "pod-a", 1);
        ans = sts_answer("AssumeRoleWithWebIdentity", "ASIAWEB", "web-token", 60);
        server_reset(ans);
        free(ans);
        ok(get(&a) == 0 && run_until(&a, NULL) && a.creds && streq(a.creds->access_key_id, "ASIAWEB"), "web identity from the environment");
        result_done(&a);
        write_file("token", "token-two");
        ok(get(&a) == 0 && run_until(&a, NULL) && a.creds, "  fetched again (expiring in a minute)");
        result_done(&a);
        req0 = request_n(0);
        req1 = request_n(1);
        ok(strstr(req0, "Action=AssumeRoleWithWebIdentity&") && strstr(req0, "WebIdentityToken=token-one") &&
           strstr(req0, "RoleSessionName=pod-a") && !strstr(req0, "Authorization:") && !strstr(req0, "token-one%0A"),
           "  the first call: unsigned, the token without its newline, AWS_ROLE_SESSION_NAME");
        ok(strstr(req1, "WebIdentityToken=token-two") != NULL, "  the second call read the rotated token");
        free(req0);
        free(req1);

        server_reset("400\n<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>Token token-two is expired"
                     "</Message></Error></ErrorResponse>");
        r = get(&a);
        run_until(&a, NULL);
        ok(r == 0 && a.called && a.error && strstr(a.error, "InvalidIdentityToken") &&
           strstr(a.error, "web identity from the environment (role arn:aws:iam::123456789012:role/irsa)") &&
           !strstr(a.error, "token-two"), "  an STS error names the source, the token is scrubbed: %s", a.error ?: "-");
        result_done(&a);
        unlink(path_of("token"));
        r = get(&a);
        ok(r < 0 && a.error && strstr(a.error, "cannot open") && strstr(a.error, "token"), "  a missing token file: %s",
           a.error ?: "-");
        result_done(&a);
}

static void test_container(void) {
        char url[96];
        char *req;
        Result a;
        int r;

        clean_env();
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/credentials", server_port);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token", 1);
        write_file("ctoken", "file-token\n");
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path_of("ctoken"), 1);
        server_reset("200\n{\"AccessKeyId\": \"ASIACONT\", \"SecretAccessKey\": \"s\", \"Token\": \"t\", \"Expiration\": \"2099-01-01T00:00:00Z\"}");
        ok(get(&a) == 0 && run_until(&a, NULL) && a.creds && streq(a.creds->access_key_id, "ASIACONT"), "container credentials");
        req = request_n(0);
        ok(strstr(req, "GET /v1/credentials HTTP/1.1") && strstr(req, "Authorization: file-token\r\n") &&
           !strstr(req, "env-token"), "  GET with the token file's token as Authorization");
        free(req);
        result_done(&a);

        server_reset("401\n{\"code\": \"InvalidToken\", \"message\": \"token file-token is not valid\"}");
        credentials_provider_flush(provider);
        r = get(&a);
        run_until(&a, NULL);
        ok(r == 0 && a.called && a.error && strstr(a.error, "HTTP 401: InvalidToken") &&
           !strstr(a.error, "file-token"), "  a refused token: %s", a.error ?: "-");
        result_done(&a);
}

int main(void) {
        char cmd[300];

        if (!mkdtemp(dir))
                return 1;
        signal(SIGPIPE, SIG_IGN);
        if (sd_event_default(&event) < 0 || http_client_new(event, NULL, &http) < 0 ||
            credentials_provider_new(http, &provider) < 0)
                return 1;

        test_parse();
        test_process();
        if (server_start()) {
                test_sts();
                test_container();
                kill(server_pid, SIGTERM);
                waitpid(server_pid, NULL, 0);
        } else
                ok(true, "fake STS and container endpoint # SKIP cannot listen on 127.0.0.1");

        credentials_provider_free(provider);
        http_client_free(http);
        sd_event_unref(event);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                diag("cleanup failed");
        return done_testing();
}
