/* SPDX-License-Identifier: MIT */
/* The health endpoint on a real sd-event loop, talked to over real sockets: /health verdicts,
 * /metrics, HEAD, errors, slow and excess clients, listen addresses. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <json-c/json.h>

#include "health.h"
#include "tap.h"

#define NOW ((usec_t) 1767323045 * USEC_PER_SEC)

static sd_event *event;
static RegistryReport regs[3];
static Report report;
static int report_error;

static int get_report(void *userdata, Report *ret) {
        if (report_error)
                return report_error;
        *ret = report;
        return 0;
}

static usec_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static int connect_to(int family, uint16_t port) {
        struct sockaddr_storage sa = {};
        socklen_t len;
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &sa;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                in6->sin6_addr = in6addr_loopback;
                len = sizeof(*in6);
        } else {
                struct sockaddr_in *in4 = (struct sockaddr_in *) &sa;
                in4->sin_family = AF_INET;
                in4->sin_port = htons(port);
                in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                len = sizeof(*in4);
        }
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, len) < 0) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        return fd;
}

/* Reads fd, turning the loop meanwhile, until EOF or the deadline. Returns what arrived. */
static char *read_all(int fd, usec_t max, bool *eof) {
        static char buf[1 << 16];
        size_t len = 0;
        usec_t end = now_usec() + max;

        *eof = false;
        while (now_usec() < end && len < sizeof(buf) - 1) {
                ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
                if (n > 0) {
                        len += (size_t) n;
                        continue;
                }
                if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                        *eof = true;
                        break;
                }
                sd_event_run(event, 10 * USEC_PER_MSEC);
        }
        buf[len] = 0;
        return buf;
}

typedef struct Response {
        int status;
        char headers[4096];
        char body[1 << 16];
        bool eof;
} Response;

static Response resp;

/* Sends raw as one request on a new connection to 127.0.0.1:port and parses the answer into resp. */
static Response *request_on(int family, uint16_t port, const char *raw) {
        int fd = connect_to(family, port);
        bool eof;
        char *all, *sep;

        memset(&resp, 0, sizeof(resp));
        if (fd < 0)
                return &resp;
        if (write(fd, raw, strlen(raw)) != (ssize_t) strlen(raw)) {
                close(fd);
                return &resp;
        }
        all = read_all(fd, 5 * USEC_PER_SEC, &eof);
        close(fd);
        resp.eof = eof;
        if (sscanf(all, "HTTP/1.1 %d ", &resp.status) != 1)
                return &resp;
        sep = strstr(all, "\r\n\r\n");
        if (!sep)
                return &resp;
        snprintf(resp.headers, sizeof(resp.headers), "%.*s", (int) (sep - all + 2), all);
        snprintf(resp.body, sizeof(resp.body), "%s", sep + 4);
        return &resp;
}

static uint16_t port;
static Response *request(const char *raw) {
        return request_on(AF_INET, port, raw);
}

static bool header_is(const Response *r, const char *name_value) {
        char needle[512];
        snprintf(needle, sizeof(needle), "\r\n%s\r\n", name_value);
        return strstr(r->headers, needle) != NULL;
}

static long content_length(const Response *r) {
        const char *p = strstr(r->headers, "\r\nContent-Length: ");
        return p ? strtol(p + 18, NULL, 10) : -1;
}

static void set_all_healthy(void) {
        regs[0] = (RegistryReport) { .registry_id = "123456789012", .region = "us-west-2",
                                     .password_file = "/run/a.pass", .last_success = NOW - USEC_PER_MINUTE,
                                     .expires_at = NOW + 11 * USEC_PER_HOUR, .refreshes_total = 1 };
        regs[1] = (RegistryReport) { .registry_id = "210987654321", .region = "eu-central-1",
                                     .password_file = "/run/b.pass", .last_success = NOW - USEC_PER_HOUR,
                                     .expires_at = NOW + 10 * USEC_PER_HOUR, .refreshes_total = 3 };
        report = (Report) { .registries = regs, .n = 2, .now = NOW };
}

static void test_parse_listen(void) {
        struct sockaddr_storage sa;
        socklen_t len;
        static const char *const bad[] = { "", "127.0.0.1", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:12a",
                                           "[::1]3277", "[::1", "::1:3277", "example.com:3277", "1.2.3:80", ":123456" };

        ok(health_parse_listen("127.0.0.1:3277", &sa, &len) == 0 && sa.ss_family == AF_INET &&
                   ntohs(((struct sockaddr_in *) &sa)->sin_port) == 3277,
           "127.0.0.1:3277");
        ok(health_parse_listen("[::1]:3277", &sa, &len) == 0 && sa.ss_family == AF_INET6 &&
                   IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *) &sa)->sin6_addr),
           "[::1]:3277");
        ok(health_parse_listen(":3277", &sa, &len) == 0 && sa.ss_family == AF_INET6 &&
                   IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *) &sa)->sin6_addr),
           ":3277 = every address");
        ok(health_parse_listen("0.0.0.0:0", &sa, &len) == 0 && sa.ss_family == AF_INET, "0.0.0.0:0");
        ok(health_parse_listen("localhost:80", &sa, &len) == 0 &&
                   ((struct sockaddr_in *) &sa)->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
           "localhost = 127.0.0.1");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                is_int(health_parse_listen(bad[i], &sa, &len), -EINVAL, bad[i]);
}

static void test_verdicts(void) {
        json_object *o, *failing, *f0, *v;
        Response *r;

        set_all_healthy();
        r = request("GET /health HTTP/1.1\r\nHost: localhost\r\nUser-Agent: kube-probe/1.29\r\n\r\n");
        is_int(r->status, 200, "GET /health: 200 while every token is valid");
        is_str(r->body, "{\"status\":\"healthy\"}\n", "body as the old tool's");
        ok(header_is(r, "Content-Type: application/json") && header_is(r, "Connection: close") &&
                   content_length(r) == (long) strlen(r->body),
           "JSON content type, Connection: close, exact Content-Length");
        ok(r->eof, "the server closes the connection");

        /* The last refresh failed, but the token written before is still valid: healthy. */
        regs[1].last_error = "ThrottlingException";
        regs[1].failures = 2;
        r = request("GET /health HTTP/1.1\r\n\r\n");
        is_int(r->status, 200, "a failing refresh with a still-valid token is healthy");

        /* Expired token. */
        regs[1].expires_at = NOW - USEC_PER_SEC;
        r = request("GET /health HTTP/1.1\r\n\r\n");
        is_int(r->status, 503, "an expired token: 503");
        o = json_tokener_parse(r->body);
        ok(o && json_object_object_get_ex(o, "status", &v) && streq(json_object_get_string(v), "unhealthy"),
           "status unhealthy");
        ok(o && json_object_object_get_ex(o, "failing", &failing) && json_object_array_length(failing) == 1,
           "one failing registry");
        f0 = o ? json_object_array_get_idx(failing, 0) : NULL;
        ok(f0 && json_object_object_get_ex(f0, "registry", &v) && streq(json_object_get_string(v), "210987654321/eu-central-1"),
           "named id/region");
        ok(f0 && json_object_object_get_ex(f0, "error", &v) && streq(json_object_get_string(v), "ThrottlingException"),
           "with its last error");
        ok(f0 && json_object_object_get_ex(f0, "password_file", &v) && streq(json_object_get_string(v), "/run/b.pass"),
           "and its password file");
        json_object_put(o);

        /* Succeeded last, but the token has run out since (the loop is stuck?): unhealthy. */
        regs[1].last_error = NULL;
        r = request("GET /health HTTP/1.1\r\n\r\n");
        ok(r->status == 503 && strstr(r->body, "\"error\":\"token expired\""), "expired without error: \"token expired\"");

        /* Never refreshed yet. */
        set_all_healthy();
        regs[2] = (RegistryReport) { .registry_id = "111122223333", .region = "ap-south-1", .password_file = "/run/c.pass" };
        report.n = 3;
        r = request("GET /health HTTP/1.1\r\n\r\n");
        ok(r->status == 503 && strstr(r->body, "\"registry\":\"111122223333/ap-south-1\"") &&
                   strstr(r->body, "\"error\":\"no token yet\""),
           "no token yet: 503");

        /* Unknown expiry: the last refresh decides. */
        regs[2].last_success = NOW - USEC_PER_MINUTE;
        regs[2].expires_at = USEC_INFINITY;
        r = request("GET /health HTTP/1.1\r\n\r\n");
        is_int(r->status, 200, "unknown expiry, last refresh succeeded: 200");
        regs[2].last_error = "Quote\"d \\ error\nwith newline";
        r = request("GET /health HTTP/1.1\r\n\r\n");
        o = json_tokener_parse(r->body);
        ok(r->status == 503 && o, "unknown expiry, last refresh failed: 503, valid JSON with an awkward error text");
        json_object_put(o);

        /* An expiry before the token even arrived (skewed clock, or moto's fixed 2015 date). */
        regs[2] = (RegistryReport) { .registry_id = "111122223333", .region = "ap-south-1",
                                     .last_success = NOW - USEC_PER_MINUTE, .expires_at = NOW - 10 * USEC_PER_HOUR };
        r = request("GET /health HTTP/1.1\r\n\r\n");
        is_int(r->status, 200, "expiry before the last success counts as unknown: the last refresh decides (200)");
        regs[2].last_error = "ExpiredTokenException";
        r = request("GET /health HTTP/1.1\r\n\r\n");
        is_int(r->status, 503, "... and 503 after a failed refresh");

        report.n = 0;
        r = request("GET /health HTTP/1.1\r\n\r\n");
        is_int(r->status, 200, "no registries: healthy");
        set_all_healthy();

        report_error = -ENOMEM;
        r = request("GET /health HTTP/1.1\r\n\r\n");
        is_int(r->status, 500, "the report cannot be had: 500");
        report_error = 0;
}

static void test_http(void) {
        Response *r;
        char big[HEALTH_REQUEST_MAX + 200];

        set_all_healthy();
        r = request("HEAD /health HTTP/1.1\r\n\r\n");
        ok(r->status == 200 && content_length(r) == (long) strlen("{\"status\":\"healthy\"}\n") && r->body[0] == 0,
           "HEAD /health: 200, the GET's Content-Length, no body");

        r = request("GET /metrics HTTP/1.1\r\n\r\n");
        is_int(r->status, 200, "GET /metrics: 200");
        ok(header_is(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"), "Prometheus content type");
        ok(strstr(r->body, "# TYPE ecr_token_refresh_build_info gauge\n") &&
                   strstr(r->body, "ecr_token_refresh_last_success_timestamp_seconds{registry_id=\"123456789012\""),
           "the exposition");
        ok(content_length(r) == (long) strlen(r->body), "Content-Length matches");
        r = request("HEAD /metrics HTTP/1.1\r\n\r\n");
        ok(r->status == 200 && r->body[0] == 0 && content_length(r) > 100, "HEAD /metrics");

        r = request("GET /health?verbose=1 HTTP/1.1\r\n\r\n");
        is_int(r->status, 200, "query string ignored");
        r = request("GET /health HTTP/1.0\r\n\r\n");
        is_int(r->status, 200, "HTTP/1.0 is fine");
        r = request("GET /health HTTP/1.1\n\n");
        is_int(r->status, 200, "bare LF line ends are tolerated");
        r = request("GET http://localhost:3277/health HTTP/1.1\r\n\r\n");
        is_int(r->status, 200, "absolute-form target");
        r = request("GET / HTTP/1.1\r\n\r\n");
        ok(r->status == 200 && strstr(r->body, "/health"), "GET / answers 200 like the old tool (probes on /)");

        r = request("GET /nope HTTP/1.1\r\n\r\n");
        is_int(r->status, 404, "other path: 404");
        r = request("GET /healthz HTTP/1.1\r\n\r\n");
        is_int(r->status, 404, "no prefix matching: 404");
        r = request("POST /health HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
        ok(r->status == 405 && header_is(r, "Allow: GET, HEAD"), "POST /health: 405 with Allow");
        r = request("DELETE /metrics HTTP/1.1\r\n\r\n");
        is_int(r->status, 405, "DELETE /metrics: 405");
        r = request("BLAH\r\n\r\n");
        is_int(r->status, 400, "garbage: 400");
        r = request("GET  /health HTTP/1.1\r\n\r\n");
        is_int(r->status, 400, "double space: 400");
        r = request("GET /health FTP/1.0\r\n\r\n");
        is_int(r->status, 400, "not HTTP: 400");
        r = request("GET /health HTTP/2.0\r\n\r\n");
        is_int(r->status, 505, "HTTP/2.0 over plain text: 505");

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        memcpy(big, "GET /health HTTP/1.1\r\nX: ", 25);
        r = request(big);
        ok(r->status == 431 && r->eof, "a request above %u bytes: 431 and closed", HEALTH_REQUEST_MAX);
}

static void test_clients(HealthServer *s) {
        int fds[HEALTH_CONNECTIONS_MAX + 8];
        bool eof;
        char *got;
        int fd;
        unsigned peak = 0;
        usec_t t;

        /* A request in pieces. */
        fd = connect_to(AF_INET, port);
        ok(fd >= 0 && write(fd, "GET /health HT", 14) == 14, "first half sent");
        got = read_all(fd, 200 * USEC_PER_MSEC, &eof);
        ok(!eof && !*got, "nothing answered yet");
        ok(write(fd, "TP/1.1\r\n\r\n", 10) == 10, "second half sent");
        got = read_all(fd, 5 * USEC_PER_SEC, &eof);
        ok(strncmp(got, "HTTP/1.1 200 ", 13) == 0 && eof, "answered once complete");
        close(fd);

        /* A client that never finishes its request is dropped at the timeout. */
        health_server_set_timeout(s, 300 * USEC_PER_MSEC);
        fd = connect_to(AF_INET, port);
        ok(fd >= 0 && write(fd, "GET /hea", 8) == 8, "slow client connected");
        t = now_usec();
        got = read_all(fd, 5 * USEC_PER_SEC, &eof);
        ok(eof && !*got && now_usec() - t < 2 * USEC_PER_SEC, "dropped after the per-connection timeout, without answer");
        close(fd);
        for (int i = 0; i < 5; i++)
                sd_event_run(event, 10 * USEC_PER_MSEC);
        is_int(health_server_connections(s), 0, "no connection left");

        /* More idle clients than the limit: never more connections than allowed, and a real
         * request still gets through once the idle ones time out. */
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = connect_to(AF_INET, port);
        for (int i = 0; i < 20; i++) {
                sd_event_run(event, 10 * USEC_PER_MSEC);
                peak = MAX(peak, health_server_connections(s));
        }
        is_int(peak, HEALTH_CONNECTIONS_MAX, "connections capped at the limit");
        t = now_usec();
        Response *r = request("GET /health HTTP/1.1\r\n\r\n");
        ok(r->status == 200 && now_usec() - t < 3 * USEC_PER_SEC, "a probe is still served (after the idle ones time out)");
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        /* A client that goes away at once. */
        fd = connect_to(AF_INET, port);
        close(fd);
        for (int i = 0; i < 50 && health_server_connections(s) > 0; i++)
                sd_event_run(event, 10 * USEC_PER_MSEC);
        is_int(health_server_connections(s), 0, "every connection cleaned up");
        health_server_set_timeout(s, HEALTH_TIMEOUT);
}

static void test_addresses(void) {
        HealthServer *s = NULL, *s2 = NULL;
        char listen[64];
        int fd;

        set_all_healthy();
        /* Port in use. */
        snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned) port);
        is_int(health_server_new(event, listen, get_report, NULL, &s2), -EADDRINUSE, "a port in use: EADDRINUSE");
        is_int(health_server_new(event, "not-an-address", get_report, NULL, &s2), -EINVAL, "bad address: EINVAL");

        /* Every address: reachable over IPv4 (and IPv6 where there is IPv6). */
        if (health_server_new(event, ":0", get_report, NULL, &s) == 0) {
                uint16_t p = health_server_port(s);
                ok(request_on(AF_INET, p, "GET /health HTTP/1.1\r\n\r\n")->status == 200, ":0 answers on 127.0.0.1");
                fd = socket(AF_INET6, SOCK_STREAM, 0);
                if (fd >= 0) {
                        close(fd);
                        ok(request_on(AF_INET6, p, "GET /health HTTP/1.1\r\n\r\n")->status == 200, ":0 answers on [::1]");
                } else
                        ok(1, "# SKIP no IPv6");
                s = health_server_free(s);
        } else
                ok(0, ":0 could not listen");

        fd = socket(AF_INET6, SOCK_STREAM, 0);
        if (fd >= 0 && (close(fd), health_server_new(event, "[::1]:0", get_report, NULL, &s)) == 0) {
                uint16_t p = health_server_port(s);
                ok(request_on(AF_INET6, p, "GET /health HTTP/1.1\r\n\r\n")->status == 200, "[::1]:0 answers on [::1]");
                ok(request_on(AF_INET, p, "GET /health HTTP/1.1\r\n\r\n")->status == 0, "and not on 127.0.0.1");
                s = health_server_free(s);
        } else
                ok(1, "# SKIP no IPv6 loopback");
}

int main(void) {
        HealthServer *s = NULL;
        int r;

        signal(SIGPIPE, SIG_IGN);
        if (sd_event_new(&event) < 0) {
                printf("Bail out! sd_event_new failed\n");
                return 1;
        }
        test_parse_listen();

        set_all_healthy();
        r = health_server_new(event, "127.0.0.1:0", get_report, NULL, &s);
        is_int(r, 0, "listening on 127.0.0.1:0");
        if (r < 0)
                return done_testing();
        port = health_server_port(s);
        ok(port != 0, "bound to port %u", (unsigned) port);

        test_verdicts();
        test_http();
        test_clients(s);
        test_addresses();

        health_server_free(s);
        sd_event_unref(event);
        return done_testing();
}
