/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <time.h>
#include <json-c/json.h>

#include "health.h"
#include "log.h"
#include "metrics.h"
#include "sd-compat.h"

typedef struct Connection Connection;

struct HealthServer {
        sd_event *event;
        int fd;
        sd_event_source *listen_source;
        sd_event_source *retry_source; /* re-enables accept() after EMFILE and the like */
        uint16_t port;
        usec_t timeout;
        ReportFn fn;
        void *userdata;
        Connection *connections;
        unsigned n_connections;
};

struct Connection {
        HealthServer *server;
        Connection *prev, *next;
        int fd;
        sd_event_source *io, *timer;
        char in[HEALTH_REQUEST_MAX + 1];
        size_t in_len;
        char *out;
        size_t out_len, out_done;
};

int health_parse_listen(const char *listen, struct sockaddr_storage *ret, socklen_t *ret_len) {
        _cleanup_free_ char *host = NULL;
        const char *colon, *p;
        unsigned long port = 0;
        struct sockaddr_in *in4 = (struct sockaddr_in *) ret;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret;

        if (isempty(listen))
                return -EINVAL;
        if (listen[0] == '[') {
                const char *end = strchr(listen, ']');
                if (!end || end[1] != ':')
                        return -EINVAL;
                host = strndup(listen + 1, (size_t) (end - listen - 1));
                colon = end + 1;
        } else {
                colon = strrchr(listen, ':');
                if (!colon)
                        return -EINVAL;
                host = strndup(listen, (size_t) (colon - listen));
        }
        if (!host)
                return -ENOMEM;
        p = colon + 1;
        if (!*p || strlen(p) > 5)
                return -EINVAL;
        for (; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                port = port * 10 + (unsigned long) (*p - '0');
        }
        if (port > 65535)
                return -EINVAL;

        memset(ret, 0, sizeof(*ret));
        if (listen[0] == '[') {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
                        return -EINVAL;
                *ret_len = sizeof(*in6);
                return 0;
        }
        if (isempty(host)) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                in6->sin6_addr = in6addr_any;
                *ret_len = sizeof(*in6);
                return 0;
        }
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t) port);
        if (streq(host, "localhost"))
                in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
                return -EINVAL;
        *ret_len = sizeof(*in4);
        return 0;
}

/* ---- what is served ---- */

char *health_format(const Report *r, bool *ret_healthy) {
        json_object *root = NULL, *failing = NULL;
        char *out = NULL;
        bool healthy = true;

        root = json_object_new_object();
        failing = json_object_new_array();
        if (!root || !failing)
                goto finish;
        for (size_t i = 0; i < r->n; i++) {
                const RegistryReport *g = &r->registries[i];
                _cleanup_free_ char *name = NULL;
                const char *why;
                json_object *o;

                if (registry_report_token_valid(g, r->now))
                        continue;
                healthy = false;
                why = g->last_error ?: g->last_success == 0 ? "no token yet" : "token expired";
                if (asprintf(&name, "%s/%s", g->registry_id, g->region) < 0)
                        goto finish;
                o = json_object_new_object();
                if (!o || json_object_array_add(failing, o) < 0) {
                        json_object_put(o);
                        goto finish;
                }
                if (json_object_object_add(o, "registry", json_object_new_string(name)) < 0 ||
                    (g->password_file && json_object_object_add(o, "password_file", json_object_new_string(g->password_file)) < 0) ||
                    json_object_object_add(o, "error", json_object_new_string(why)) < 0)
                        goto finish;
        }
        if (json_object_object_add(root, "status", json_object_new_string(healthy ? "healthy" : "unhealthy")) < 0)
                goto finish;
        if (!healthy) {
                if (json_object_object_add(root, "failing", failing) < 0)
                        goto finish;
                failing = NULL;
        }
        out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (ret_healthy)
                *ret_healthy = healthy;
finish:
        json_object_put(failing);
        json_object_put(root);
        return out;
}

static const char *status_text(int code) {
        switch (code) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 431:
                return "Request Header Fields Too Large";
        case 503:
                return "Service Unavailable";
        case 505:
                return "HTTP Version Not Supported";
        default:
                return "Internal Server Error";
        }
}

/* Sets c->out to a complete response; body is copied (NULL for none), HEAD leaves it out. */
static int respond(Connection *c, int code, const char *content_type, const char *body, bool head) {
        char date[64];
        time_t now = time(NULL);
        struct tm tm;
        size_t blen = body ? strlen(body) : 0;
        FILE *f;

        if (!gmtime_r(&now, &tm) || strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
                date[0] = 0;
        free(c->out);
        c->out = NULL;
        f = open_memstream(&c->out, &c->out_len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "HTTP/1.1 %d %s\r\n", code, status_text(code));
        if (date[0])
                fprintf(f, "Date: %s\r\n", date);
        fprintf(f, "Server: %s/%s\r\nConnection: close\r\nCache-Control: no-store\r\n", PACKAGE_NAME, PACKAGE_VERSION);
        if (code == 405)
                fputs("Allow: GET, HEAD\r\n", f);
        fprintf(f, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", content_type, blen);
        if (!head && blen > 0)
                fwrite(body, 1, blen, f);
        if (fclose(f) != 0 || !c->out) {
                free(c->out);
                c->out = NULL;
                return -ENOMEM;
        }
        c->out_done = 0;
        return 0;
}

#define TEXT "text/plain; charset=utf-8"
#define JSON "application/json"
#define PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

static int respond_text(Connection *c, int code, const char *text, bool head) {
        return respond(c, code, TEXT, text, head);
}

/* Parses the request in c->in (complete header block) and prepares the response. */
static int handle_request(Connection *c) {
        HealthServer *s = c->server;
        char *line = c->in, *eol, *method, *target, *version, *q;
        bool head = false, health, metrics, root;
        Report report = {};
        _cleanup_free_ char *body = NULL;
        bool healthy = false;
        int r;

        eol = strpbrk(line, "\r\n");
        if (eol)
                *eol = 0;
        method = line;
        target = strchr(method, ' ');
        if (!target)
                return respond_text(c, 400, "bad request\n", false);
        *target++ = 0;
        version = strchr(target, ' ');
        if (!version)
                return respond_text(c, 400, "bad request\n", false);
        *version++ = 0;
        if (strchr(version, ' ') || isempty(method) || isempty(target))
                return respond_text(c, 400, "bad request\n", false);
        if (strncmp(version, "HTTP/", 5) != 0)
                return respond_text(c, 400, "bad request\n", false);
        if (strncmp(version, "HTTP/1.", 7) != 0 || !version[7])
                return respond_text(c, 505, "HTTP/1.x only\n", false);

        q = strpbrk(target, "?#");
        if (q)
                *q = 0;
        /* Absolute form (as proxies send it): keep the path only. */
        if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0) {
                char *p = strchr(strstr(target, "//") + 2, '/');
                target = p ?: strstr(target, "//") + 1; /* no path: "/" from the "//" */
                if (!p)
                        target[1] = 0;
        }

        head = streq(method, "HEAD");
        health = streq(target, "/health");
        metrics = streq(target, "/metrics");
        root = streq(target, "/");
        if (!health && !metrics && !root)
                return respond_text(c, 404, "not found; try /health or /metrics\n", head);
        if (!head && !streq(method, "GET"))
                return respond_text(c, 405, "method not allowed\n", false);

        if (root)
                return respond_text(c, 200, "ECR Token Refresh: see /health and /metrics\n", head);

        r = s->fn(s->userdata, &report);
        if (r < 0) {
                log_warning_errno(r, "Health endpoint: cannot get the refresh state: %m");
                return respond_text(c, 500, "internal error\n", head);
        }
        if (health) {
                _cleanup_free_ char *json = health_format(&report, &healthy);
                if (!json || asprintf(&body, "%s\n", json) < 0)
                        return respond_text(c, 500, "internal error\n", head);
                return respond(c, healthy ? 200 : 503, JSON, body, head);
        }
        body = metrics_format(&report);
        if (!body)
                return respond_text(c, 500, "internal error\n", head);
        return respond(c, 200, PROMETHEUS, body, head);
}

/* ---- connections ---- */

static Connection *connection_free(Connection *c) {
        HealthServer *s;

        if (!c)
                return NULL;
        s = c->server;
        c->io = sd_event_source_disable_unref(c->io);
        c->timer = sd_event_source_disable_unref(c->timer);
        if (c->fd >= 0)
                close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_connections--;
        free(c->out);
        free(c);

        /* A slot is free again. */
        if (s->listen_source && !s->retry_source)
                (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
        return NULL;
}

/* Sends what the socket takes now; done when all is out. Returns true when the connection ended. */
static bool connection_write(Connection *c) {
        while (c->out_done < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_done, c->out_len - c->out_done, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                (void) sd_event_source_set_io_events(c->io, EPOLLOUT);
                                return false;
                        }
                        connection_free(c);
                        return true;
                }
                c->out_done += (size_t) n;
        }
        (void) shutdown(c->fd, SHUT_WR);
        connection_free(c);
        return true;
}

static bool header_complete(const Connection *c) {
        return strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n");
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;

        if (c->out) {
                if (revents & (EPOLLERR | EPOLLHUP) && !(revents & EPOLLOUT))
                        connection_free(c);
                else
                        connection_write(c);
                return 0;
        }

        for (;;) {
                ssize_t n = recv(c->fd, c->in + c->in_len, HEALTH_REQUEST_MAX - c->in_len, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        connection_free(c);
                        return 0;
                }
                if (n == 0) { /* the client gave up before a full request */
                        connection_free(c);
                        return 0;
                }
                c->in_len += (size_t) n;
                c->in[c->in_len] = 0;
                if (memchr(c->in, 0, c->in_len)) {
                        if (respond_text(c, 400, "bad request\n", false) < 0) {
                                connection_free(c);
                                return 0;
                        }
                        break;
                }
                if (header_complete(c)) {
                        if (handle_request(c) < 0) {
                                connection_free(c);
                                return 0;
                        }
                        break;
                }
                if (c->in_len >= HEALTH_REQUEST_MAX) {
                        if (respond_text(c, 431, "request too large\n", false) < 0) {
                                connection_free(c);
                                return 0;
                        }
                        break;
                }
        }
        connection_write(c);
        return 0;
}

static int on_connection_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        Connection *c = userdata;

        log_debug("Health endpoint: closing a connection idle for too long.");
        connection_free(c);
        return 0;
}

static int connection_new(HealthServer *s, int fd) {
        Connection *c;
        uint64_t now;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        c->server = s;
        c->fd = fd;
        c->next = s->connections;
        if (c->next)
                c->next->prev = c;
        s->connections = c;
        s->n_connections++;

        r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, on_connection_io, c);
        if (r >= 0) {
                (void) sd_event_source_set_description(c->io, "health-connection");
                r = sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        }
        if (r >= 0)
                r = sd_event_add_time(s->event, &c->timer, CLOCK_MONOTONIC, now + s->timeout, 0, on_connection_timeout, c);
        if (r < 0) {
                connection_free(c);
                return r;
        }
        return 0;
}

static int on_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        HealthServer *s = userdata;

        s->retry_source = sd_event_source_disable_unref(s->retry_source);
        if (s->n_connections < HEALTH_CONNECTIONS_MAX)
                (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
        return 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        HealthServer *s = userdata;

        while (s->n_connections < HEALTH_CONNECTIONS_MAX) {
                int cfd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        uint64_t now;

                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        /* Out of descriptors or memory: pause accepting for a second instead of spinning. */
                        log_warning_errno(errno, "Health endpoint: accept() failed, pausing for 1s: %m");
                        (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
                        if (!s->retry_source && sd_event_now(s->event, CLOCK_MONOTONIC, &now) >= 0)
                                (void) sd_event_add_time(s->event, &s->retry_source, CLOCK_MONOTONIC, now + USEC_PER_SEC, 0,
                                                         on_retry, s);
                        return 0;
                }
                if (connection_new(s, cfd) < 0)
                        log_warning("Health endpoint: cannot set up a connection.");
        }
        /* Full: the rest waits in the backlog until a connection ends. */
        (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
        return 0;
}

/* ---- the server ---- */

static int listen_on(const struct sockaddr_storage *sa, socklen_t len) {
        _cleanup_close_ int fd = -EBADF;
        int one = 1, zero = 0, r;

        fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (sa->ss_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
                /* The wildcard serves IPv4 too; a specific IPv6 address only itself. */
                int v6only = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) ? zero : one;
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        }
        if (bind(fd, (const struct sockaddr *) sa, len) < 0)
                return -errno;
        if (listen(fd, 64) < 0)
                return -errno;
        r = fd;
        fd = -EBADF;
        return r;
}

int health_server_new(sd_event *e, const char *listen, ReportFn fn, void *userdata, HealthServer **ret) {
        struct sockaddr_storage sa, bound;
        socklen_t len, blen = sizeof(bound);
        HealthServer *s;
        int fd, r;

        r = health_parse_listen(listen, &sa, &len);
        if (r < 0)
                return log_error_errno(r, "Health endpoint: invalid listen address \"%s\".", listen ?: "");
        fd = listen_on(&sa, len);
        if (fd == -EAFNOSUPPORT && sa.ss_family == AF_INET6 &&
            IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *) &sa)->sin6_addr)) {
                /* No IPv6 on this host: all IPv4 addresses then. */
                struct sockaddr_in *in4 = (struct sockaddr_in *) &sa;
                uint16_t port = ((struct sockaddr_in6 *) &sa)->sin6_port;
                memset(&sa, 0, sizeof(sa));
                in4->sin_family = AF_INET;
                in4->sin_port = port;
                in4->sin_addr.s_addr = htonl(INADDR_ANY);
                fd = listen_on(&sa, sizeof(*in4));
        }
        if (fd < 0)
                return log_error_errno(fd, "Health endpoint: cannot listen on %s: %m", listen);
        if (getsockname(fd, (struct sockaddr *) &bound, &blen) < 0) {
                r = -errno;
                close(fd);
                return log_error_errno(r, "Health endpoint: getsockname() failed: %m");
        }

        s = calloc(1, sizeof(*s));
        if (!s) {
                close(fd);
                return log_oom();
        }
        s->event = sd_event_ref(e);
        s->fd = fd;
        s->fn = fn;
        s->userdata = userdata;
        s->timeout = HEALTH_TIMEOUT;
        s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &bound)->sin6_port
                                                    : ((struct sockaddr_in *) &bound)->sin_port);
        r = sd_event_add_io(e, &s->listen_source, fd, EPOLLIN, on_accept, s);
        if (r < 0) {
                health_server_free(s);
                return log_error_errno(r, "Health endpoint: cannot watch the socket: %m");
        }
        (void) sd_event_source_set_description(s->listen_source, "health-listen");
        log_info("Health endpoint listening on %s (port %u): /health, /metrics.", listen, (unsigned) s->port);
        *ret = s;
        return 0;
}

HealthServer *health_server_free(HealthServer *s) {
        if (!s)
                return NULL;
        s->listen_source = sd_event_source_disable_unref(s->listen_source);
        s->retry_source = sd_event_source_disable_unref(s->retry_source);
        while (s->connections)
                connection_free(s->connections);
        if (s->fd >= 0)
                close(s->fd);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void health_server_freep(HealthServer **s) {
        *s = health_server_free(*s);
}

uint16_t health_server_port(const HealthServer *s) {
        return s->port;
}

unsigned health_server_connections(const HealthServer *s) {
        return s->n_connections;
}

void health_server_set_timeout(HealthServer *s, usec_t timeout) {
        s->timeout = timeout;
}
