/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "http.h"
#include "log.h"
#include "tls-trust.h"

#define HTTP_DEFAULT_MAX_BODY (1024U * 1024U)
#define HTTP_MAX_HEADERS_BYTES (64U * 1024U)

struct HttpClient {
        sd_event *event;
        CURLM *multi;        /* NULL while idle: created by the first request, freed when all are done */
        CURLSH *share;       /* TLS sessions and DNS answers, which outlive the idle periods */
        sd_event_source *timer;
        sd_event_source *idle; /* releases the multi handle once nothing runs */
        char *ca_file;       /* CURLOPT_CAINFO, or NULL for curl's default */
        bool no_ca_path;     /* set CURLOPT_CAPATH to NULL */
        TlsTrust *trust;     /* GnuTLS: ca_file parsed once, we verify servers and curl loads no CA */
        unsigned n_running;
        HttpRequest *requests; /* every live request, for cleanup */
};

struct HttpRequest {
        HttpClient *client;
        HttpRequest *prev, *next;
        CURL *easy;
        char *url;
        struct curl_slist *headers;
        char *body;
        size_t body_len;
        bool running;

        HttpDoneFn done;
        void *userdata;

        size_t max_body;
        char *resp;
        size_t resp_len, resp_alloc;
        char *resp_headers; /* "name: value\n" lines, lowercased names */
        size_t resp_headers_len;
        bool too_big;

        CURLcode result;
        long status;
        char errbuf[CURL_ERROR_SIZE];
        char *error;

        char *tls_host;   /* the name the server certificate must match (with c->trust) */
        bool tls_refused; /* on_prereq() refused the server's certificate ... */
        char *tls_error;  /* ... for this reason */
};

static int on_curl_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void check_done(HttpClient *c) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(c->multi, &left))) {
                HttpRequest *r = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
                if (!r)
                        continue;
                r->result = msg->data.result;
                curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
                curl_multi_remove_handle(c->multi, r->easy);
                r->running = false;
                c->n_running--;

                if (r->too_big) {
                        r->result = CURLE_FILESIZE_EXCEEDED;
                        r->error = strdup("response body too large");
                } else if (r->result == CURLE_ABORTED_BY_CALLBACK && r->tls_refused) {
                        /* Our certificate check (on_prereq()) refused the server: report it as
                         * curl reports its own, a permanent failure for every caller. */
                        r->result = CURLE_PEER_FAILED_VERIFICATION;
                        r->error = TAKE_PTR(r->tls_error);
                        if (!r->error)
                                r->error = strdup("TLS certificate not trusted");
                } else if (r->result != CURLE_OK) {
                        const char *e = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result);
                        r->error = strdup(e);
                        if (r->error) {
                                size_t n = strlen(r->error);
                                while (n > 0 && (r->error[n - 1] == '\n' || r->error[n - 1] == ' '))
                                        r->error[--n] = 0;
                        }
                }
                if (r->done)
                        r->done(r, r->userdata);
        }
        if (c->n_running == 0 && c->multi)
                (void) sd_event_source_set_enabled(c->idle, SD_EVENT_ONESHOT);
}

static int on_curl_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        HttpClient *c = userdata;
        int running;

        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(c);
        return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userdata) {
        HttpClient *c = userdata;
        uint64_t now;
        int r;

        if (timeout_ms < 0) {
                if (c->timer)
                        (void) sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
                return 0;
        }

        r = sd_event_now(c->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return -1;
        /* Fire on the next loop iteration for 0, never call back into curl from here. */
        uint64_t when = now + (uint64_t) timeout_ms * USEC_PER_MSEC;
        if (timeout_ms == 0)
                when = 1; /* already elapsed */

        if (c->timer) {
                r = sd_event_source_set_time(c->timer, when);
                if (r >= 0)
                        r = sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
        } else {
                /* Accuracy 1 us: curl's timeouts and happy-eyeballs delays are meant to the
                 * millisecond, not sd-event's default 250 ms slack. */
                r = sd_event_add_time(c->event, &c->timer, CLOCK_MONOTONIC, when, 1, on_curl_timer, c);
                if (r >= 0)
                        (void) sd_event_source_set_description(c->timer, "curl-timer");
        }
        return r < 0 ? -1 : 0;
}

static uint32_t events_for(int what) {
        switch (what) {
        case CURL_POLL_IN:
                return EPOLLIN;
        case CURL_POLL_OUT:
                return EPOLLOUT;
        case CURL_POLL_INOUT:
                return EPOLLIN | EPOLLOUT;
        default:
                return 0;
        }
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        HttpClient *c = userdata;
        sd_event_source *s = socketp;
        int r;

        if (what == CURL_POLL_REMOVE) {
                if (s) {
                        curl_multi_assign(c->multi, fd, NULL);
                        sd_event_source_disable_unref(s);
                }
                return 0;
        }

        if (s) {
                r = sd_event_source_set_io_events(s, events_for(what));
                if (r >= 0)
                        r = sd_event_source_set_enabled(s, SD_EVENT_ON);
        } else {
                r = sd_event_add_io(c->event, &s, fd, events_for(what), on_curl_io, c);
                if (r >= 0) {
                        (void) sd_event_source_set_description(s, "curl-io");
                        if (curl_multi_assign(c->multi, fd, s) != CURLM_OK) {
                                sd_event_source_disable_unref(s);
                                r = -EIO;
                        }
                }
        }
        return r < 0 ? -1 : 0;
}

static int on_curl_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HttpClient *c = userdata;
        int action = 0, running;

        if (revents & (EPOLLIN | EPOLLHUP))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                action |= CURL_CSELECT_ERR;

        curl_multi_socket_action(c->multi, fd, action, &running);
        check_done(c);
        return 0;
}

static int multi_new(HttpClient *c) {
        if (c->multi)
                return 0;
        c->multi = curl_multi_init();
        if (!c->multi)
                return -ENOMEM;
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
        return 0;
}

/* Once no request runs, close the idle connections: each one keeps its own TLS credentials, with
 * every CA certificate parsed (~4 MiB with the system store), and refreshes are minutes apart,
 * far beyond curl's 118 s limit for reusing a connection. Connections are reused within a burst;
 * TLS sessions (in the share) survive. */
static int on_idle(sd_event_source *s, void *userdata) {
        HttpClient *c = userdata;

        if (c->n_running > 0 || !c->multi)
                return 0;
        curl_multi_cleanup(c->multi); /* may still call curl_socket_cb(), which needs c->multi */
        c->multi = NULL;
        if (c->timer)
                (void) sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
#ifdef __GLIBC__
        /* The burst's memory is free but scattered; give its pages back for the long sleep. */
        (void) malloc_trim(0);
#endif
        return 0;
}

static bool curl_uses_gnutls(void) {
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        return v->ssl_version && strncmp(v->ssl_version, "GnuTLS", 6) == 0;
}

/* GnuTLS parses the CA certificates anew for every TLS connection (curl 7.88 caches nothing for it:
 * CURLOPT_CA_CACHE_TIMEOUT is OpenSSL-only, CURLOPT_SSL_CTX_FUNCTION and CURLOPT_CAINFO_BLOB are
 * not built in). Debian's libcurl3-gnutls has no default CAINFO and CAPATH /etc/ssl/certs: ~290
 * files, every CA in it three times over (NAME.pem, HASH.0 and ca-certificates.crt).
 * update-ca-certificates builds that directory and its ca-certificates.crt from the same
 * certificates, so the bundle file is the same trust. Returns 0 or -ENOMEM. */
static int pick_trust_store(HttpClient *c, const char *ca_file) {
        if (ca_file) { /* AWS_CA_BUNDLE replaces the system store, as in the SDKs */
                c->ca_file = strdup(ca_file);
                c->no_ca_path = true;
                return c->ca_file ? 0 : -ENOMEM;
        }
        if (!curl_uses_gnutls())
                return 0; /* OpenSSL looks CAPATH up lazily, by hash */
#if LIBCURL_VERSION_NUM >= 0x075400
        CURL *e = curl_easy_init();
        char *def_file = NULL, *def_path = NULL;
        int r = 0;

        if (!e)
                return -ENOMEM;
        (void) curl_easy_getinfo(e, CURLINFO_CAINFO, &def_file);
        (void) curl_easy_getinfo(e, CURLINFO_CAPATH, &def_path);
        if (!isempty(def_file)) {
                c->ca_file = strdup(def_file); /* the same as leaving curl's default */
                if (!c->ca_file)
                        r = -ENOMEM;
                c->no_ca_path = !isempty(def_path);
        } else if (!isempty(def_path)) {
                _cleanup_free_ char *bundle = NULL;
                if (asprintf(&bundle, "%s/ca-certificates.crt", def_path) < 0)
                        r = -ENOMEM;
                else if (access(bundle, R_OK) >= 0) {
                        c->ca_file = TAKE_PTR(bundle);
                        c->no_ca_path = true;
                }
        }
        curl_easy_cleanup(e);
        if (r < 0)
                return r;
#endif
        return 0;
}

/* With GnuTLS, even the one bundle file costs ~12 ms and ~3.7 MiB for each connection (Debian's
 * 144 CAs). So curl loads no CA and verifies nothing, and on_prereq() verifies the server before
 * curl sends the request, against the bundle parsed once for the process (tls-trust.c). Without
 * a bundle file, or with an older libcurl, curl verifies as before. Returns 0 or -ENOMEM. */
static int pick_verifier(HttpClient *c) {
#if LIBCURL_VERSION_NUM >= 0x075000 /* CURLOPT_PREREQFUNCTION */
        int r;

        if (!c->ca_file || !curl_uses_gnutls() || curl_version_info(CURLVERSION_NOW)->version_num < 0x075000)
                return 0;
        r = tls_trust_new(c->ca_file, &c->trust);
        if (r == -ENOMEM)
                return r;
        if (r < 0) /* curl reports it for each request, as it always did */
                log_debug_errno(r, "Cannot index CA file %s, curl verifies servers itself: %m", c->ca_file);
#endif
        return 0;
}

int http_client_new(sd_event *e, const char *ca_file, HttpClient **ret) {
        HttpClient *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(e);
        r = pick_trust_store(c, ca_file);
        if (r >= 0)
                r = pick_verifier(c);
        if (r < 0) {
                http_client_free(c);
                return r;
        }
        if (c->trust)
                log_debug("TLS trust store: %s, %zu CA certificate%s, each parsed when a server first needs it",
                          c->ca_file, tls_trust_n_certs(c->trust), tls_trust_n_certs(c->trust) == 1 ? "" : "s");
        else if (c->ca_file || c->no_ca_path)
                log_debug("TLS trust store: %s", c->ca_file ?: "curl's default CA bundle");
        /* One share for all requests: TLS session resumption (curl 7.88 with GnuTLS resumes TLS 1.2
         * sessions only) and the DNS cache. Not CURL_LOCK_DATA_CONNECT: the connection pool stays
         * in the multi handle, so that on_idle() can close it. */
        c->share = curl_share_init();
        if (!c->share) {
                http_client_free(c);
                return -ENOMEM;
        }
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        r = sd_event_add_defer(c->event, &c->idle, on_idle, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->idle, SD_EVENT_OFF);
        if (r < 0) {
                http_client_free(c);
                return r;
        }
        (void) sd_event_source_set_description(c->idle, "http-idle");
        *ret = c;
        return 0;
}

HttpClient *http_client_free(HttpClient *c) {
        if (!c)
                return NULL;
        while (c->requests)
                http_request_free(c->requests);
        if (c->multi)
                curl_multi_cleanup(c->multi);
        if (c->share)
                curl_share_cleanup(c->share); /* after every easy handle that used it */
        tls_trust_free(c->trust);             /* after every connection that used it */
        sd_event_source_disable_unref(c->timer);
        sd_event_source_disable_unref(c->idle);
        sd_event_unref(c->event);
        free(c->ca_file);
        free(c);
        return NULL;
}

unsigned http_client_running(const HttpClient *c) {
        return c->n_running;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
        HttpRequest *r = userdata;
        size_t n = size * nmemb;

        if (r->resp_len + n > r->max_body) {
                r->too_big = true;
                return 0; /* aborts the transfer */
        }
        if (r->resp_len + n + 1 > r->resp_alloc) {
                size_t a = MAX(r->resp_alloc * 2, r->resp_len + n + 1);
                char *p = malloc(a);
                if (!p)
                        return 0;
                /* Copy by hand so a token never lingers in memory realloc() gave back. */
                if (r->resp) {
                        memcpy(p, r->resp, r->resp_len);
                        secure_zero(r->resp, r->resp_alloc);
                        free(r->resp);
                }
                r->resp = p;
                r->resp_alloc = a;
        }
        memcpy(r->resp + r->resp_len, ptr, n);
        r->resp_len += n;
        r->resp[r->resp_len] = 0;
        return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata) {
        HttpRequest *r = userdata;
        size_t n = size * nmemb;
        char *p;

        /* A new status line (after 100-continue or a redirect) starts a new header block. */
        if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
                r->resp_headers_len = 0;
                if (r->resp_headers)
                        r->resp_headers[0] = 0;
                return n;
        }
        if (!memchr(ptr, ':', n))
                return n;
        if (r->resp_headers_len + n + 2 > HTTP_MAX_HEADERS_BYTES)
                return n; /* ignore excess headers rather than fail */
        p = realloc(r->resp_headers, r->resp_headers_len + n + 2);
        if (!p)
                return 0;
        r->resp_headers = p;
        for (size_t i = 0; i < n; i++) {
                char ch = ptr[i];
                if (ch == '\r' || ch == '\n')
                        continue;
                r->resp_headers[r->resp_headers_len++] = ch;
        }
        r->resp_headers[r->resp_headers_len++] = '\n';
        r->resp_headers[r->resp_headers_len] = 0;
        return n;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* The name curl 7.88 checks a server certificate against: the URL's host, IDN in punycode, an IPv6
 * address without brackets or zone, no trailing dot. NULL if the URL does not parse. */
static char *url_tls_host(const char *url) {
        CURLU *u = curl_url();
        char *host = NULL, *ret = NULL;

        if (!u)
                return NULL;
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, CURLU_PUNYCODE) != CURLUE_OK)
                (void) curl_url_get(u, CURLUPART_HOST, &host, 0); /* libcurl < 7.88 */
        if (host) {
                size_t n = strlen(host);
                const char *h = host;
                if (n >= 2 && host[0] == '[') {
                        h = host + 1;
                        n = strcspn(h, "%]");
                } else if (n > 1 && host[n - 1] == '.')
                        n--;
                ret = strndup(h, n);
        }
        curl_free(host);
        curl_url_cleanup(u);
        return ret;
}

static int refuse_server(HttpRequest *r, const char *why) {
        r->tls_refused = true;
        free(r->tls_error);
        if (asprintf(&r->tls_error, "TLS certificate of %s not verified: %s", r->tls_host ?: r->url, why) < 0)
                r->tls_error = NULL;
        return CURL_PREREQFUNC_ABORT;
}

/* Runs once the connection, TLS handshake included, is up (new or reused) and before curl sends
 * the request: nothing reaches a server we do not trust. */
static int on_prereq(void *userdata, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port) {
        HttpRequest *r = userdata;
        struct curl_tlssessioninfo *tls = NULL;
        char *scheme = NULL;

        r->tls_refused = false;
        free(r->tls_error);
        r->tls_error = NULL;
        if (curl_easy_getinfo(r->easy, CURLINFO_SCHEME, &scheme) != CURLE_OK || !scheme)
                return refuse_server(r, "unknown protocol");
        if (strcasecmp(scheme, "https") != 0)
                return CURL_PREREQFUNC_OK; /* plain HTTP: no certificate */
        if (!r->tls_host)
                return refuse_server(r, "no host name in the URL");
        if (curl_easy_getinfo(r->easy, CURLINFO_TLS_SSL_PTR, &tls) != CURLE_OK || !tls ||
            tls->backend != CURLSSLBACKEND_GNUTLS || !tls->internals)
                return refuse_server(r, "no GnuTLS session");
        if (tls_trust_verify(r->client->trust, tls->internals, r->tls_host, &r->tls_error) < 0) {
                r->tls_refused = true;
                return CURL_PREREQFUNC_ABORT;
        }
        return CURL_PREREQFUNC_OK;
}
#endif

/* Who verifies the server: with c->trust on_prereq(), else curl. */
static void request_set_verification(HttpRequest *r) {
        HttpClient *c = r->client;

#if LIBCURL_VERSION_NUM >= 0x075000
        if (c->trust) {
                r->tls_host = url_tls_host(r->url);
                if (curl_easy_setopt(r->easy, CURLOPT_PREREQFUNCTION, on_prereq) == CURLE_OK &&
                    curl_easy_setopt(r->easy, CURLOPT_PREREQDATA, r) == CURLE_OK) {
                        curl_easy_setopt(r->easy, CURLOPT_CAINFO, NULL);
                        curl_easy_setopt(r->easy, CURLOPT_CAPATH, NULL);
                        curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 0L);
                        curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 0L);
                        return;
                }
                (void) curl_easy_setopt(r->easy, CURLOPT_PREREQFUNCTION, NULL);
        }
#endif
        curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
        if (c->ca_file)
                curl_easy_setopt(r->easy, CURLOPT_CAINFO, c->ca_file);
        if (c->no_ca_path)
                curl_easy_setopt(r->easy, CURLOPT_CAPATH, NULL);
}

int http_request_new(HttpClient *c, const char *method, const char *url, HttpRequest **ret) {
        HttpRequest *r;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->client = c;
        r->max_body = HTTP_DEFAULT_MAX_BODY;
        r->status = 0;
        r->result = CURLE_OK;
        r->url = strdup(url);
        r->easy = curl_easy_init();
        if (!r->url || !r->easy) {
                curl_easy_cleanup(r->easy);
                free(r->url);
                free(r);
                return -ENOMEM;
        }

        /* Link first so http_request_free() below works on every path. */
        r->next = c->requests;
        if (c->requests)
                c->requests->prev = r;
        c->requests = r;

        curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
        curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
        curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
        curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(r->easy, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        curl_easy_setopt(r->easy, CURLOPT_SHARE, c->share);
        request_set_verification(r);

        if (streq(method, "POST"))
                curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
        else if (!streq(method, "GET"))
                curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);

        *ret = r;
        return 0;
}

int http_request_add_header(HttpRequest *r, const char *name, const char *value) {
        _cleanup_secret_ char *line = NULL;
        struct curl_slist *l;

        if (asprintf(&line, "%s: %s", name, value) < 0)
                return -ENOMEM;
        l = curl_slist_append(r->headers, line);
        if (!l)
                return -ENOMEM;
        r->headers = l;
        return 0;
}

int http_request_set_body(HttpRequest *r, const void *body, size_t len) {
        char *b = malloc(len + 1);
        if (!b)
                return -ENOMEM;
        memcpy(b, body, len);
        b[len] = 0;
        if (r->body) {
                secure_zero(r->body, r->body_len);
                free(r->body);
        }
        r->body = b;
        r->body_len = len;
        curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_len);
        return 0;
}

void http_request_set_timeouts(HttpRequest *r, unsigned connect_ms, unsigned total_ms) {
        if (connect_ms > 0)
                curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long) connect_ms);
        if (total_ms > 0)
                curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long) total_ms);
}

void http_request_set_max_body(HttpRequest *r, size_t max) {
        r->max_body = max;
}

void http_request_set_no_proxy(HttpRequest *r) {
        curl_easy_setopt(r->easy, CURLOPT_NOPROXY, "*");
}

int http_request_start(HttpRequest *r, HttpDoneFn done, void *userdata) {
        CURLMcode mc;

        if (r->running)
                return -EBUSY;
        /* An empty "Expect:" stops curl from waiting for 100-continue on larger bodies. */
        struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
        if (!l)
                return -ENOMEM;
        r->headers = l;
        curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);

        r->done = done;
        r->userdata = userdata;
        r->tls_refused = false;
        if (multi_new(r->client) < 0)
                return -ENOMEM;
        mc = curl_multi_add_handle(r->client->multi, r->easy);
        if (mc != CURLM_OK)
                return log_debug_errno(EIO, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
        r->running = true;
        r->client->n_running++;
        return 0;
}

static void wipe_slist(struct curl_slist *l) {
        for (; l; l = l->next)
                if (l->data)
                        secure_zero(l->data, strlen(l->data));
}

HttpRequest *http_request_free(HttpRequest *r) {
        if (!r)
                return NULL;
        if (r->running) {
                curl_multi_remove_handle(r->client->multi, r->easy);
                r->client->n_running--;
        }
        if (r->prev)
                r->prev->next = r->next;
        else
                r->client->requests = r->next;
        if (r->next)
                r->next->prev = r->prev;

        curl_easy_cleanup(r->easy);
        wipe_slist(r->headers);
        curl_slist_free_all(r->headers);
        if (r->body)
                secure_zero(r->body, r->body_len);
        free(r->body);
        if (r->resp)
                secure_zero(r->resp, r->resp_alloc);
        free(r->resp);
        free(r->resp_headers);
        free(r->error);
        free(r->tls_host);
        free(r->tls_error);
        free(r->url);
        free(r);
        return NULL;
}

void http_request_freep(HttpRequest **r) {
        *r = http_request_free(*r);
}

CURLcode http_request_result(const HttpRequest *r) {
        return r->result;
}

const char *http_request_error(const HttpRequest *r) {
        return r->error;
}

long http_request_status(const HttpRequest *r) {
        return r->status;
}

const char *http_request_body(const HttpRequest *r, size_t *len) {
        if (len)
                *len = r->resp_len;
        return r->resp ? r->resp : "";
}

const char *http_request_header(const HttpRequest *r, const char *name) {
        size_t n = strlen(name);
        const char *p = r->resp_headers;

        while (p && *p) {
                const char *eol = strchr(p, '\n');
                if (!eol)
                        break;
                if ((size_t) (eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
                        static __thread char value[1024];
                        const char *v = p + n + 1;
                        size_t vl;
                        while (v < eol && (*v == ' ' || *v == '\t'))
                                v++;
                        vl = MIN((size_t) (eol - v), sizeof(value) - 1);
                        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                                vl--;
                        memcpy(value, v, vl);
                        value[vl] = 0;
                        return value;
                }
                p = eol + 1;
        }
        return NULL;
}

time_t http_request_date(const HttpRequest *r) {
        const char *d = http_request_header(r, "date");
        if (!d)
                return (time_t) -1;
        time_t t = curl_getdate(d, NULL);
        return t;
}

const char *http_request_url(const HttpRequest *r) {
        return r->url;
}
