/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdarg.h>
#include <strings.h>
#include <json-c/json.h>

#include "chain.h"
#include "credentials.h"
#include "log.h"
#include "process.h"
#include "sts.h"

/* Refresh temporary credentials this long before they expire (the Go SDK's window). */
#define EXPIRY_WINDOW (5 * USEC_PER_MINUTE)
/* Credentials without an expiration time (credential_process, container) are fetched again after
 * this: once per refresh cycle, not once per registry. */
#define UNDATED_TTL (15 * USEC_PER_MINUTE)
#define CACHE_MAX 64U

#define STS_ATTEMPTS 3U
#define STS_CONNECT_TIMEOUT_MS 10000U
#define STS_TIMEOUT_MS 30000U
#define STS_BACKOFF_CAP (20 * USEC_PER_SEC)
#define CLOCK_SKEW_THRESHOLD (4 * USEC_PER_MINUTE)

#define CONTAINER_ATTEMPTS 3U
#define CONTAINER_CONNECT_TIMEOUT_MS 2000U
#define CONTAINER_TIMEOUT_MS 5000U
#define CONTAINER_RETRY_DELAY USEC_PER_SEC

#define IMDS_TIMEOUT_MS 1000U
#define IMDS_ATTEMPTS 2U
#define IMDS_TOKEN_TTL 21600
#define IMDS_MAX_BODY (64U * 1024U)

#define PROCESS_TIMEOUT (60 * USEC_PER_SEC)
#define PROCESS_MAX_OUTPUT (64U * 1024U)
#define TOKEN_FILE_MAX (64U * 1024U)

typedef struct Waiter {
        CredentialsDoneFn done; /* NULL once cancelled during a notification */
        void *userdata;
} Waiter;

/* The waiters being notified right now; cancel() must reach them too. Notifications nest. */
typedef struct NotifyFrame {
        Waiter *waiters;
        size_t n_waiters;
        struct NotifyFrame *up;
} NotifyFrame;

typedef struct CacheEntry {
        char *key;
        AwsCredentials *creds;
        usec_t valid_until; /* CLOCK_REALTIME */
} CacheEntry;

typedef enum ImdsStep {
        IMDS_TOKEN,
        IMDS_ROLE,
        IMDS_CREDS,
} ImdsStep;

typedef struct Fetch Fetch;

struct CredentialsProvider {
        HttpClient *http;
        sd_event *event;

        Fetch *fetches; /* in flight, one per identity */
        NotifyFrame *notifying;
        CacheEntry *cache;
        size_t n_cache;
        int64_t clock_offset_usec; /* STS's clock minus ours, after a skew error */

        /* The IMDSv2 session outlives single fetches. */
        char *imds_endpoint;
        char *imds_token;
        usec_t imds_token_expiry; /* CLOCK_REALTIME */
        bool imds_v1;             /* token endpoint refused: IMDSv1 */
};

/* One identity being fetched, with everyone waiting for it. */
struct Fetch {
        CredentialsProvider *p;
        Fetch *prev, *next;
        ChainStep *step;
        Waiter *waiters;
        size_t n_waiters;

        bool waiting_parent;
        AwsCredentials *parent_creds; /* CHAIN_ROLE: signs AssumeRole */
        HttpRequest *req;
        Process *proc;
        sd_event_source *retry_timer;
        unsigned attempt;
        bool skew_retried;
        char *scrub; /* a secret sent with the request (token), kept out of error messages */

        ImdsStep imds_step;
        bool imds_token_retried;
        char *imds_role;
};

int credentials_provider_new(HttpClient *http, CredentialsProvider **ret) {
        CredentialsProvider *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        r = sd_event_default(&p->event);
        if (r < 0) {
                free(p);
                return r;
        }
        p->http = http;
        *ret = p;
        return 0;
}

/* ---- cache ---- */

static void cache_entry_done(CacheEntry *e) {
        free(e->key);
        aws_credentials_free(e->creds);
}

static const AwsCredentials *cache_lookup(CredentialsProvider *p, const char *key) {
        usec_t now = now_realtime();
        for (size_t i = 0; i < p->n_cache; i++)
                if (streq(p->cache[i].key, key))
                        return now < p->cache[i].valid_until ? p->cache[i].creds : NULL;
        return NULL;
}

static void cache_drop(CredentialsProvider *p, size_t i) {
        cache_entry_done(&p->cache[i]);
        memmove(p->cache + i, p->cache + i + 1, (p->n_cache - i - 1) * sizeof(CacheEntry));
        p->n_cache--;
}

static void cache_store(CredentialsProvider *p, const char *key, const AwsCredentials *c) {
        usec_t now = now_realtime(), until;
        CacheEntry *a;

        if (c->expiration == USEC_INFINITY)
                until = now + UNDATED_TTL;
        else
                until = c->expiration > EXPIRY_WINDOW ? c->expiration - EXPIRY_WINDOW : 0;

        for (size_t i = 0; i < p->n_cache; i++)
                if (streq(p->cache[i].key, key)) {
                        cache_drop(p, i);
                        break;
                }
        if (until <= now)
                return; /* expires too soon to reuse: the next get fetches again */
        for (size_t i = p->n_cache; i > 0; i--)
                if (p->cache[i - 1].valid_until <= now)
                        cache_drop(p, i - 1);
        if (p->n_cache >= CACHE_MAX)
                cache_drop(p, 0);

        a = reallocarray(p->cache, p->n_cache + 1, sizeof(CacheEntry));
        if (!a)
                return;
        p->cache = a;
        a[p->n_cache] = (CacheEntry) { .key = strdup(key), .creds = aws_credentials_dup(c), .valid_until = until };
        if (!a[p->n_cache].key || !a[p->n_cache].creds) {
                cache_entry_done(&a[p->n_cache]);
                return;
        }
        p->n_cache++;
}

void credentials_provider_flush(CredentialsProvider *p) {
        for (size_t i = 0; i < p->n_cache; i++)
                cache_entry_done(&p->cache[i]);
        free(p->cache);
        p->cache = NULL;
        p->n_cache = 0;
}

/* ---- fetches and their waiters ---- */

static Fetch *fetch_find(CredentialsProvider *p, const char *key) {
        for (Fetch *f = p->fetches; f; f = f->next)
                if (streq(f->step->key, key))
                        return f;
        return NULL;
}

static int fetch_add_waiter(Fetch *f, CredentialsDoneFn done, void *userdata) {
        Waiter *w = reallocarray(f->waiters, f->n_waiters + 1, sizeof(Waiter));
        if (!w)
                return -ENOMEM;
        f->waiters = w;
        f->waiters[f->n_waiters++] = (Waiter) { done, userdata };
        return 0;
}

static void fetch_unlink(Fetch *f) {
        CredentialsProvider *p = f->p;
        if (f->prev)
                f->prev->next = f->next;
        else if (p->fetches == f)
                p->fetches = f->next;
        if (f->next)
                f->next->prev = f->prev;
        f->prev = f->next = NULL;
}

static void fetch_free(Fetch *f) {
        if (!f)
                return;
        fetch_unlink(f);
        if (f->waiting_parent)
                credentials_provider_cancel(f->p, f);
        f->req = http_request_free(f->req);
        f->proc = process_free(f->proc);
        f->retry_timer = sd_event_source_disable_unref(f->retry_timer);
        aws_credentials_free(f->parent_creds);
        secret_free(f->scrub);
        free(f->imds_role);
        free(f->waiters);
        chain_step_unref(f->step);
        free(f);
}

void credentials_provider_cancel(CredentialsProvider *p, void *userdata) {
        for (Fetch *f = p->fetches; f; f = f->next) {
                size_t j = 0;
                for (size_t i = 0; i < f->n_waiters; i++)
                        if (f->waiters[i].userdata != userdata)
                                f->waiters[j++] = f->waiters[i];
                f->n_waiters = j;
        }
        for (NotifyFrame *fr = p->notifying; fr; fr = fr->up)
                for (size_t i = 0; i < fr->n_waiters; i++)
                        if (fr->waiters[i].userdata == userdata)
                                fr->waiters[i].done = NULL;
}

CredentialsProvider *credentials_provider_free(CredentialsProvider *p) {
        if (!p)
                return NULL;
        while (p->fetches) {
                Fetch *f = p->fetches;
                f->waiting_parent = false; /* its parent is freed here too */
                fetch_free(f);
        }
        credentials_provider_flush(p);
        p->imds_token = secret_free(p->imds_token);
        free(p->imds_endpoint);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}

/* Ends the fetch: caches the result, then tells every waiter (who may start or cancel others). */
static void fetch_finish(Fetch *f, AwsCredentials *c, const char *error) {
        CredentialsProvider *p = f->p;
        NotifyFrame frame = { .waiters = TAKE_PTR(f->waiters), .n_waiters = f->n_waiters, .up = p->notifying };

        f->n_waiters = 0;
        if (c) {
                char buf[64];
                cache_store(p, f->step->key, c);
                log_debug("Got credentials from %s (expire %s).", c->source,
                          format_timestamp(c->expiration, buf, sizeof(buf)));
        }
        fetch_free(f);

        p->notifying = &frame;
        for (size_t i = 0; i < frame.n_waiters; i++)
                if (frame.waiters[i].done)
                        frame.waiters[i].done(c, c ? NULL : error ?: "credentials: error", frame.waiters[i].userdata);
        p->notifying = frame.up;
        free(frame.waiters);
        aws_credentials_free(c);
}

static void fetch_fail(Fetch *f, const char *fmt, ...) _printf_(2, 3);
static void fetch_fail(Fetch *f, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (msg && f->scrub)
                aws_scrub(msg, f->scrub);
        fetch_finish(f, NULL, msg ?: "credentials: out of memory");
}

static int seterror(char **ret_error, int error, const char *fmt, ...) _printf_(3, 4);
static int seterror(char **ret_error, int error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return error;
}

static int fetch_run(Fetch *f, char **ret_error);

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Fetch *f = userdata;
        _cleanup_free_ char *error = NULL;
        int r;

        f->retry_timer = sd_event_source_disable_unref(f->retry_timer);
        r = fetch_run(f, &error);
        if (r < 0)
                fetch_fail(f, "%s", error ?: strerror(-r));
        return 0;
}

static int fetch_retry_later(Fetch *f, usec_t delay) {
        uint64_t now;
        int r;

        f->req = http_request_free(f->req);
        r = sd_event_now(f->p->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        return sd_event_add_time(f->p->event, &f->retry_timer, CLOCK_MONOTONIC, now + delay, 0, on_retry_timer, f);
}

static bool curl_error_is_transient(CURLcode cr) {
        return cr != CURLE_COULDNT_RESOLVE_HOST && cr != CURLE_PEER_FAILED_VERIFICATION && cr != CURLE_SSL_CACERT_BADFILE &&
               cr != CURLE_UNSUPPORTED_PROTOCOL && cr != CURLE_URL_MALFORMAT && cr != CURLE_FILESIZE_EXCEEDED;
}

/* Reads a small token file, trailing whitespace removed. Returns 0, or -errno with *ret_error. */
static int read_token_file(const char *what, const char *path, char **ret, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        char *buf;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return seterror(ret_error, -errno, "%s: cannot open %s: %s", what, path, strerror(errno));
        buf = malloc(TOKEN_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, TOKEN_FILE_MAX + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int e = errno;
                        secure_zero(buf, n);
                        free(buf);
                        return seterror(ret_error, -e, "%s: cannot read %s: %s", what, path, strerror(e));
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > TOKEN_FILE_MAX) {
                        secure_zero(buf, n);
                        free(buf);
                        return seterror(ret_error, -EFBIG, "%s: %s is larger than %u bytes", what, path, TOKEN_FILE_MAX);
                }
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
                n--;
        buf[n] = 0;
        if (n == 0 || strlen(buf) != n) {
                secure_zero(buf, n);
                free(buf);
                return seterror(ret_error, -EINVAL, "%s: %s is empty or not text", what, path);
        }
        *ret = buf;
        return 0;
}

/* ---- parsing JSON credentials (credential_process, container endpoint) ---- */

static void json_wipe_string(json_object *o) {
        if (o && json_object_is_type(o, json_type_string))
                secure_zero((char *) json_object_get_string(o), (size_t) json_object_get_string_len(o));
}

static int parse_json_credentials(const char *json, size_t len, bool process, const char *source, AwsCredentials **ret,
                                  char **ret_error) {
        json_tokener *tok;
        json_object *j, *v, *id = NULL, *secret = NULL, *token = NULL, *exp = NULL;
        const char *token_key = process ? "SessionToken" : "Token";
        usec_t expiration = USEC_INFINITY;
        size_t end;
        int r = -EINVAL;

        *ret_error = NULL;
        if (len == 0 || len > INT32_MAX)
                return seterror(ret_error, -EINVAL, "the output is empty");
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        j = json_tokener_parse_ex(tok, json, (int) len);
#if HAVE_JSON_TOKENER_GET_PARSE_END
        end = json_tokener_get_error(tok) == json_tokener_success ? json_tokener_get_parse_end(tok) : 0;
#else
        end = json_tokener_get_error(tok) == json_tokener_success ? (size_t) tok->char_offset : 0; /* json-c < 0.15 */
#endif
        json_tokener_free(tok);
        while (end > 0 && end < len && (json[end] == ' ' || json[end] == '\n' || json[end] == '\r' || json[end] == '\t'))
                end++;
        if (!j || end != len) {
                json_object_put(j);
                return seterror(ret_error, -EINVAL, "the output is not valid JSON");
        }
        if (!json_object_is_type(j, json_type_object)) {
                json_object_put(j);
                return seterror(ret_error, -EINVAL, "the output is not a JSON object");
        }

        if (process) {
                if (!json_object_object_get_ex(j, "Version", &v)) {
                        seterror(ret_error, -EINVAL, "the output has no \"Version\" (must be 1)");
                        goto out;
                }
                if (!((json_object_is_type(v, json_type_int) && json_object_get_int64(v) == 1) ||
                      (json_object_is_type(v, json_type_double) && json_object_get_double(v) == 1.0))) {
                        seterror(ret_error, -EINVAL, "unsupported \"Version\" (must be 1)");
                        goto out;
                }
        }
        (void) json_object_object_get_ex(j, "AccessKeyId", &id);
        (void) json_object_object_get_ex(j, "SecretAccessKey", &secret);
        (void) json_object_object_get_ex(j, token_key, &token);
        (void) json_object_object_get_ex(j, "Expiration", &exp);
        if (!id || !json_object_is_type(id, json_type_string) || json_object_get_string_len(id) == 0) {
                seterror(ret_error, -EINVAL, "the output lacks \"AccessKeyId\"");
                goto out;
        }
        if (!secret || !json_object_is_type(secret, json_type_string) || json_object_get_string_len(secret) == 0) {
                seterror(ret_error, -EINVAL, "the output lacks \"SecretAccessKey\"");
                goto out;
        }
        if (!aws_is_token_safe(json_object_get_string(id), (size_t) json_object_get_string_len(id))) {
                seterror(ret_error, -EINVAL, "the output's \"AccessKeyId\" is malformed");
                goto out;
        }
        if (token && !json_object_is_type(token, json_type_null) && !json_object_is_type(token, json_type_string)) {
                seterror(ret_error, -EINVAL, "the output's \"%s\" is not a string", token_key);
                goto out;
        }
        if (exp && !json_object_is_type(exp, json_type_null) &&
            (!json_object_is_type(exp, json_type_string) || aws_parse_timestamp(json_object_get_string(exp), &expiration) < 0)) {
                seterror(ret_error, -EINVAL, "the output's \"Expiration\" is not an ISO 8601 time");
                goto out;
        }
        r = aws_credentials_new(json_object_get_string(id), json_object_get_string(secret),
                                token && json_object_is_type(token, json_type_string) ? json_object_get_string(token) : NULL,
                                expiration, source, ret);
out:
        json_wipe_string(secret);
        if (token)
                json_wipe_string(token);
        json_object_put(j);
        return r;
}

int credentials_parse_process_output(const char *json, size_t len, const char *source, AwsCredentials **ret,
                                     char **ret_error) {
        return parse_json_credentials(json, len, true, source, ret, ret_error);
}

int credentials_parse_container_response(const char *json, size_t len, const char *source, AwsCredentials **ret,
                                         char **ret_error) {
        return parse_json_credentials(json, len, false, source, ret, ret_error);
}

/* ---- STS: AssumeRole and AssumeRoleWithWebIdentity ---- */

static void on_sts_done(HttpRequest *req, void *userdata);

static const char *sts_action(const Fetch *f) {
        return f->step->type == CHAIN_ROLE ? "AssumeRole" : "AssumeRoleWithWebIdentity";
}

/* "role ARN (profile dev)" or "web identity from the environment (role ARN)", for messages. */
static char *sts_what(const Fetch *f) {
        char *s;
        int r = f->step->type == CHAIN_ROLE ? asprintf(&s, "role %s (%s)", f->step->role_arn, f->step->label)
                                            : asprintf(&s, "%s (role %s)", f->step->label, f->step->role_arn);
        return r < 0 ? NULL : s;
}

static int sts_run(Fetch *f, char **ret_error) {
        CredentialsProvider *p = f->p;
        ChainStep *s = f->step;
        _cleanup_free_ char *what = sts_what(f);
        StsAssumeRole a = {
                .role_arn = s->role_arn,
                .session_name = s->session_name,
                .external_id = s->external_id,
                .duration_seconds = s->duration,
        };
        int r;

        f->req = http_request_free(f->req);
        if (s->type == CHAIN_WEB_IDENTITY) {
                f->scrub = secret_free(f->scrub);
                r = read_token_file(what ?: s->label, s->token_file, &f->scrub, ret_error);
                if (r < 0)
                        return r;
                a.web_identity_token = f->scrub;
                r = sts_web_identity_request_new(p->http, s->sts_url, &a, &f->req);
        } else
                r = sts_assume_role_request_new(p->http, s->sts_url, s->sts_region, f->parent_creds, &a,
                                                (time_t) (((int64_t) now_realtime() + p->clock_offset_usec) /
                                                          (int64_t) USEC_PER_SEC),
                                                &f->req);
        if (r < 0)
                return seterror(ret_error, r, "%s: cannot build the STS request: %s", what ?: s->label, strerror(-r));
        http_request_set_timeouts(f->req, STS_CONNECT_TIMEOUT_MS, STS_TIMEOUT_MS);
        r = http_request_start(f->req, on_sts_done, f);
        if (r < 0)
                return seterror(ret_error, r, "%s: cannot start the STS request: %s", what ?: s->label, strerror(-r));
        log_debug("STS %s for %s at %s", sts_action(f), s->role_arn, s->sts_url);
        return 0;
}

static void sts_retry_or_fail(Fetch *f, const char *what, const char *cause) {
        usec_t delay = random_below(MIN(USEC_PER_SEC << MIN(f->attempt, 10U), STS_BACKOFF_CAP)) + 1;

        if (++f->attempt < STS_ATTEMPTS && fetch_retry_later(f, delay) >= 0) {
                log_warning("%s: STS %s failed: %s; retrying (attempt %u of %u)", what, sts_action(f), cause,
                            f->attempt + 1, STS_ATTEMPTS);
                return;
        }
        fetch_fail(f, "%s: STS %s: %s", what, sts_action(f), cause);
}

static void on_sts_done(HttpRequest *req, void *userdata) {
        Fetch *f = userdata;
        _cleanup_free_ char *what = sts_what(f), *code = NULL, *message = NULL, *cause = NULL, *error = NULL,
                            *source = NULL, *arn = NULL;
        CURLcode cr = http_request_result(req);
        long status = http_request_status(req);
        AwsCredentials *c = NULL;
        size_t len;
        const char *body;
        int r;

        if (!what)
                return fetch_fail(f, "out of memory");
        if (cr != CURLE_OK) {
                if (asprintf(&cause, "%s (%s)", http_request_error(req) ?: curl_easy_strerror(cr), http_request_url(req)) < 0)
                        cause = NULL;
                if (curl_error_is_transient(cr))
                        return sts_retry_or_fail(f, what, cause ?: "request failed");
                return fetch_fail(f, "%s: STS %s: %s", what, sts_action(f), cause ?: "request failed");
        }
        if (status != 200) {
                if (aws_parse_error(req, &code, &message) < 0)
                        return fetch_fail(f, "out of memory");
                if (f->parent_creds) {
                        aws_scrub(message, f->parent_creds->secret_access_key);
                        aws_scrub(message, f->parent_creds->session_token);
                }
                aws_scrub(message, f->scrub);
                if (asprintf(&cause, "%s%s%s", code, *message ? ": " : "", message) < 0)
                        return fetch_fail(f, "out of memory");
                /* A signature refused because our clock is off: sign once more with STS's time, as the SDKs do. */
                time_t date = http_request_date(req);
                if (f->step->type == CHAIN_ROLE && aws_error_is_clock_skew(code) && date != (time_t) -1 && !f->skew_retried) {
                        int64_t offset = (int64_t) date * (int64_t) USEC_PER_SEC - (int64_t) now_realtime();
                        if ((offset > (int64_t) CLOCK_SKEW_THRESHOLD || offset < -(int64_t) CLOCK_SKEW_THRESHOLD) &&
                            fetch_retry_later(f, 1) >= 0) {
                                f->p->clock_offset_usec = offset;
                                f->skew_retried = true;
                                log_warning("%s: clock skew of %+llds against STS, signing with its time.", what,
                                            (long long) (offset / (int64_t) USEC_PER_SEC));
                                return;
                        }
                }
                if (sts_error_is_retryable(status, code))
                        return sts_retry_or_fail(f, what, cause);
                return fetch_fail(f, "%s: STS %s: %s", what, sts_action(f), cause);
        }

        body = http_request_body(req, &len);
        if (f->step->type == CHAIN_ROLE)
                r = asprintf(&source, "role %s (%s)", f->step->role_arn, f->step->label);
        else
                r = asprintf(&source, "%s (role %s)", f->step->label, f->step->role_arn);
        if (r < 0)
                return fetch_fail(f, "out of memory");
        r = sts_parse_credentials(body, len, sts_action(f), source, &c, &arn, &error);
        if (r < 0)
                return fetch_fail(f, "%s: STS %s: invalid response: %s", what, sts_action(f), error ?: strerror(-r));
        log_debug("Assumed %s as %s.", what, arn ?: "?");
        fetch_finish(f, c, NULL);
}

/* ---- container credentials (ECS, EKS Pod Identity) ---- */

static void on_container_done(HttpRequest *req, void *userdata);

static int container_run(Fetch *f, char **ret_error) {
        ChainStep *s = f->step;
        _cleanup_free_ char *what = NULL;
        int r;

        if (asprintf(&what, "container credentials (%s)", s->url) < 0)
                return -ENOMEM;
        f->req = http_request_free(f->req);
        f->scrub = secret_free(f->scrub);
        if (s->auth_token_file) {
                r = read_token_file(what, s->auth_token_file, &f->scrub, ret_error);
                if (r < 0)
                        return r;
                if (strpbrk(f->scrub, "\r\n"))
                        return seterror(ret_error, -EINVAL, "%s: the authorization token in %s contains a line break", what,
                                        s->auth_token_file);
        } else if (s->auth_token && !(f->scrub = strdup(s->auth_token)))
                return -ENOMEM;

        r = http_request_new(f->p->http, "GET", s->url, &f->req);
        if (r < 0)
                return seterror(ret_error, r, "%s: %s", what, strerror(-r));
        http_request_set_no_proxy(f->req);
        http_request_set_timeouts(f->req, CONTAINER_CONNECT_TIMEOUT_MS, CONTAINER_TIMEOUT_MS);
        http_request_set_max_body(f->req, IMDS_MAX_BODY);
        r = http_request_add_header(f->req, "Accept", "application/json");
        if (r >= 0 && f->scrub)
                r = http_request_add_header(f->req, "Authorization", f->scrub);
        if (r >= 0)
                r = http_request_start(f->req, on_container_done, f);
        if (r < 0)
                return seterror(ret_error, r, "%s: cannot start the request: %s", what, strerror(-r));
        return 0;
}

static void on_container_done(HttpRequest *req, void *userdata) {
        Fetch *f = userdata;
        _cleanup_free_ char *what = NULL, *code = NULL, *message = NULL, *error = NULL;
        CURLcode cr = http_request_result(req);
        long status = http_request_status(req);
        AwsCredentials *c = NULL;
        const char *body;
        size_t len;
        int r;

        if (asprintf(&what, "container credentials (%s)", f->step->url) < 0)
                return fetch_fail(f, "out of memory");
        if (cr != CURLE_OK || status >= 500) {
                if (++f->attempt < CONTAINER_ATTEMPTS && fetch_retry_later(f, CONTAINER_RETRY_DELAY) >= 0)
                        return;
                if (cr != CURLE_OK)
                        return fetch_fail(f, "%s: %s", what, http_request_error(req) ?: curl_easy_strerror(cr));
        }
        if (status != 200) {
                if (aws_parse_error(req, &code, &message) < 0)
                        return fetch_fail(f, "out of memory");
                aws_scrub(message, f->scrub);
                return fetch_fail(f, "%s: HTTP %ld%s%s%s%s", what, status, strncmp(code, "HTTP ", 5) ? ": " : "",
                                  strncmp(code, "HTTP ", 5) ? code : "", *message ? ": " : "", message);
        }
        body = http_request_body(req, &len);
        r = credentials_parse_container_response(body, len, what, &c, &error);
        if (r < 0)
                return fetch_fail(f, "%s: %s", what, error ?: strerror(-r));
        fetch_finish(f, c, NULL);
}

/* ---- credential_process ---- */

static void on_process_done(Process *proc, const ProcessResult *res, void *userdata) {
        Fetch *f = userdata;
        _cleanup_free_ char *error = NULL;
        const char *what = f->step->label;
        AwsCredentials *c = NULL;
        int r;

        if (res->error == -ETIMEDOUT)
                return fetch_fail(f, "%s: timed out after %llus and was killed", what,
                                  (unsigned long long) (PROCESS_TIMEOUT / USEC_PER_SEC));
        if (res->error == -EFBIG)
                return fetch_fail(f, "%s: wrote more than %u bytes to standard output", what, PROCESS_MAX_OUTPUT);
        if (res->error < 0)
                return fetch_fail(f, "%s: %s", what, strerror(-res->error));
        if (res->signal > 0)
                return fetch_fail(f, "%s: killed by signal %d (%s)", what, res->signal, strsignal(res->signal));
        if (res->exit_status != 0)
                return fetch_fail(f, "%s: exited with status %d", what, res->exit_status);

        r = credentials_parse_process_output(res->out, res->out_len, what, &c, &error);
        f->proc = process_free(f->proc);
        if (r < 0)
                return fetch_fail(f, "%s: %s", what, error ?: strerror(-r));
        fetch_finish(f, c, NULL);
}

static int process_run(Fetch *f, char **ret_error) {
        const char *what = f->step->label;
        _cleanup_(strv_freep) char **argv = NULL, **env = NULL;
        _cleanup_free_ char *error = NULL, *path = NULL;
        int r;

        r = process_split_command(f->step->command, &argv, &error);
        if (r < 0)
                return seterror(ret_error, r, "%s: cannot split the command line: %s", what, error ?: strerror(-r));
        r = process_find_executable(argv[0], &path);
        if (r == -ENOENT)
                return seterror(ret_error, r, "%s: %.200s: command not found", what, argv[0]);
        if (r < 0)
                return seterror(ret_error, r, "%s: %.200s: %s", what, argv[0], strerror(-r));
        env = process_child_environment();
        if (!env)
                return -ENOMEM;
        r = process_spawn(f->p->event, path, argv, env, PROCESS_TIMEOUT, PROCESS_MAX_OUTPUT, what, on_process_done, f,
                          &f->proc);
        if (r < 0)
                return seterror(ret_error, r, "%s: cannot start %.200s: %s", what, argv[0], strerror(-r));
        log_debug("%s: started %s (PID %d)", what, path, (int) process_pid(f->proc));
        return 0;
}

/* ---- EC2 instance metadata (IMDSv2, IMDSv1 fallback only where the SDKs do it) ---- */

static const char *imds_endpoint(CredentialsProvider *p) {
        if (!p->imds_endpoint) {
                const char *e = getenv_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
                const char *mode = getenv_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
                if (!e)
                        e = mode && strcasecmp(mode, "IPv6") == 0 ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
                p->imds_endpoint = strdup(e);
                if (p->imds_endpoint) {
                        size_t n = strlen(p->imds_endpoint);
                        while (n > 0 && p->imds_endpoint[n - 1] == '/')
                                p->imds_endpoint[--n] = 0;
                }
        }
        return p->imds_endpoint ?: "http://169.254.169.254";
}

static void imds_fail(Fetch *f, const char *fmt, ...) _printf_(2, 3);
static void imds_fail(Fetch *f, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        fetch_fail(f, "EC2 instance metadata (%s): %s", imds_endpoint(f->p), msg ?: "error");
}

static int imds_send(Fetch *f);

static void imds_got_credentials(Fetch *f, const char *body, size_t len) {
        _cleanup_free_ char *source = NULL, *error = NULL;
        AwsCredentials *c = NULL;
        json_object *j, *code;
        int r;

        j = json_tokener_parse(body);
        if (j && json_object_is_type(j, json_type_object) && json_object_object_get_ex(j, "Code", &code) &&
            !streq(json_object_get_string(code) ?: "", "Success")) {
                _cleanup_free_ char *cs = strndup(json_object_get_string(code) ?: "", 64);
                for (char *s = cs; s && *s; s++)
                        if ((unsigned char) *s < 0x20)
                                *s = ' ';
                json_object_put(j);
                return imds_fail(f, "credentials not available (Code %s)", cs ?: "?");
        }
        json_object_put(j);
        if (asprintf(&source, "EC2 instance metadata (role %s)", f->imds_role) < 0)
                source = NULL;
        r = credentials_parse_container_response(body, len, source ?: "EC2 instance metadata", &c, &error);
        if (r < 0)
                return imds_fail(f, "credentials: %s", error ?: strerror(-r));
        fetch_finish(f, c, NULL);
}

static void on_imds_done(HttpRequest *req, void *userdata) {
        Fetch *f = userdata;
        CredentialsProvider *p = f->p;
        CURLcode cr = http_request_result(req);
        long status = http_request_status(req);
        size_t len;
        const char *body = http_request_body(req, &len);

        if (cr != CURLE_OK) {
                if (f->attempt + 1 < IMDS_ATTEMPTS) {
                        f->attempt++;
                        if (imds_send(f) < 0)
                                imds_fail(f, "cannot send request");
                        return;
                }
                if (cr == CURLE_OPERATION_TIMEDOUT || cr == CURLE_COULDNT_CONNECT)
                        imds_fail(f,
                                  "no answer (%s). Not on EC2? Set credentials another way, or AWS_EC2_METADATA_DISABLED=true. "
                                  "In a container on EC2, the instance metadata hop limit must be at least 2.",
                                  http_request_error(req) ?: curl_easy_strerror(cr));
                else
                        imds_fail(f, "%s", http_request_error(req) ?: curl_easy_strerror(cr));
                return;
        }

        switch (f->imds_step) {
        case IMDS_TOKEN:
                if (status == 200 && len > 0 && aws_is_token_safe(body, len)) {
                        p->imds_token = secret_free(p->imds_token);
                        p->imds_token = strndup(body, len);
                        if (!p->imds_token)
                                return imds_fail(f, "out of memory");
                        p->imds_token_expiry = now_realtime() + (IMDS_TOKEN_TTL - 60) * USEC_PER_SEC;
                        p->imds_v1 = false;
                } else if ((status == 403 || status == 404 || status == 405) && !env_true("AWS_EC2_METADATA_V1_DISABLED")) {
                        log_debug("IMDSv2 token request answered HTTP %ld, falling back to IMDSv1.", status);
                        p->imds_v1 = true;
                } else if (status == 200)
                        return imds_fail(f, "malformed session token");
                else
                        return imds_fail(f, "session token request failed with HTTP %ld", status);
                f->imds_step = IMDS_ROLE;
                break;

        case IMDS_ROLE:
        case IMDS_CREDS:
                if (status == 401 && !p->imds_v1 && !f->imds_token_retried) {
                        /* The token expired or was revoked: get a new one, once. */
                        p->imds_token = secret_free(p->imds_token);
                        f->imds_token_retried = true;
                        f->imds_step = IMDS_TOKEN;
                        break;
                }
                if (status == 404 && f->imds_step == IMDS_ROLE)
                        return imds_fail(f, "no IAM role is attached to this instance");
                if (status != 200)
                        return imds_fail(f, "%s request failed with HTTP %ld",
                                         f->imds_step == IMDS_ROLE ? "role name" : "credentials", status);
                if (f->imds_step == IMDS_CREDS)
                        return imds_got_credentials(f, body, len);

                size_t n = strcspn(body, "\r\n");
                if (n == 0 || n > 128 || !aws_is_token_safe(body, n))
                        return imds_fail(f, "malformed role name");
                free(f->imds_role);
                f->imds_role = strndup(body, n);
                if (!f->imds_role)
                        return imds_fail(f, "out of memory");
                f->imds_step = IMDS_CREDS;
                break;
        }

        f->attempt = 0;
        if (imds_send(f) < 0)
                imds_fail(f, "cannot send request");
}

static int imds_send(Fetch *f) {
        CredentialsProvider *p = f->p;
        _cleanup_free_ char *url = NULL;
        int r;

        f->req = http_request_free(f->req);
        if (f->imds_step == IMDS_TOKEN && p->imds_token && now_realtime() < p->imds_token_expiry)
                f->imds_step = IMDS_ROLE;

        switch (f->imds_step) {
        case IMDS_TOKEN:
                r = asprintf(&url, "%s/latest/api/token", imds_endpoint(p));
                break;
        case IMDS_ROLE:
                r = asprintf(&url, "%s/latest/meta-data/iam/security-credentials/", imds_endpoint(p));
                break;
        case IMDS_CREDS:
                r = asprintf(&url, "%s/latest/meta-data/iam/security-credentials/%s", imds_endpoint(p), f->imds_role);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return -ENOMEM;

        r = http_request_new(p->http, f->imds_step == IMDS_TOKEN ? "PUT" : "GET", url, &f->req);
        if (r < 0)
                return r;
        http_request_set_no_proxy(f->req);
        http_request_set_timeouts(f->req, IMDS_TIMEOUT_MS, IMDS_TIMEOUT_MS);
        http_request_set_max_body(f->req, IMDS_MAX_BODY);
        if (f->imds_step == IMDS_TOKEN)
                r = http_request_add_header(f->req, "X-aws-ec2-metadata-token-ttl-seconds", "21600");
        else if (!p->imds_v1 && p->imds_token)
                r = http_request_add_header(f->req, "X-aws-ec2-metadata-token", p->imds_token);
        if (r < 0)
                return r;
        return http_request_start(f->req, on_imds_done, f);
}

static int imds_run(Fetch *f, char **ret_error) {
        int r;

        f->imds_step = IMDS_TOKEN;
        f->attempt = 0;
        f->imds_token_retried = false;
        r = imds_send(f);
        if (r < 0)
                return seterror(ret_error, r, "EC2 instance metadata (%s): cannot start request: %s", imds_endpoint(f->p),
                                strerror(-r));
        return 0;
}

/* ---- getting a step ---- */

static int fetch_run(Fetch *f, char **ret_error) {
        switch (f->step->type) {
        case CHAIN_ROLE:
        case CHAIN_WEB_IDENTITY:
                return sts_run(f, ret_error);
        case CHAIN_CONTAINER:
                return container_run(f, ret_error);
        case CHAIN_PROCESS:
                return process_run(f, ret_error);
        case CHAIN_IMDS:
                return imds_run(f, ret_error);
        case CHAIN_STATIC:
                break;
        }
        return -EINVAL;
}

static int provider_get_step(CredentialsProvider *p, ChainStep *step, AwsCredentials **ret, char **ret_error,
                             CredentialsDoneFn done, void *userdata);

static void on_parent_done(const AwsCredentials *creds, const char *error, void *userdata) {
        Fetch *f = userdata;
        _cleanup_free_ char *e = NULL;
        int r;

        f->waiting_parent = false;
        if (!creds)
                return fetch_finish(f, NULL, error);
        f->parent_creds = aws_credentials_dup(creds);
        if (!f->parent_creds)
                return fetch_fail(f, "out of memory");
        r = fetch_run(f, &e);
        if (r < 0)
                fetch_fail(f, "%s", e ?: strerror(-r));
}

static int provider_get_step(CredentialsProvider *p, ChainStep *step, AwsCredentials **ret, char **ret_error,
                             CredentialsDoneFn done, void *userdata) {
        const AwsCredentials *cached;
        Fetch *f;
        int r;

        if (step->type == CHAIN_STATIC) {
                *ret = aws_credentials_dup(step->creds);
                return *ret ? 1 : -ENOMEM;
        }
        cached = cache_lookup(p, step->key);
        if (cached) {
                *ret = aws_credentials_dup(cached);
                return *ret ? 1 : -ENOMEM;
        }
        f = fetch_find(p, step->key);
        if (f) {
                r = fetch_add_waiter(f, done, userdata);
                return r < 0 ? r : 0;
        }

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->p = p;
        f->step = chain_step_ref(step);
        f->next = p->fetches;
        if (p->fetches)
                p->fetches->prev = f;
        p->fetches = f;
        r = fetch_add_waiter(f, done, userdata);
        if (r < 0) {
                fetch_free(f);
                return r;
        }

        if (step->type == CHAIN_ROLE) {
                AwsCredentials *parent = NULL;
                r = provider_get_step(p, step->parent, &parent, ret_error, on_parent_done, f);
                if (r == 0) {
                        f->waiting_parent = true;
                        return 0;
                }
                if (r < 0) {
                        fetch_free(f);
                        return r;
                }
                f->parent_creds = parent;
        }
        r = fetch_run(f, ret_error);
        if (r < 0) {
                fetch_free(f);
                return r;
        }
        return 0;
}

static int get_with_error(CredentialsProvider *p, ChainStep *step, AwsCredentials **ret, char **ret_error,
                          CredentialsDoneFn done, void *userdata) {
        int r = provider_get_step(p, step, ret, ret_error, done, userdata);
        if (r < 0 && !*ret_error && asprintf(ret_error, "credentials: %s", strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

int credentials_provider_get(CredentialsProvider *p, AwsCredentials **ret, char **ret_error, CredentialsDoneFn done,
                             void *userdata) {
        _cleanup_(chain_step_unrefp) ChainStep *step = NULL;
        int r;

        *ret_error = NULL;
        r = chain_resolve(&step, ret_error);
        if (r < 0) {
                if (!*ret_error && asprintf(ret_error, "credentials: %s", strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        return get_with_error(p, step, ret, ret_error, done, userdata);
}

static int role_step(const char *role_arn, const char *external_id, const char *session_name, const char *region,
                     ChainStep **ret, char **ret_error) {
        _cleanup_(chain_step_unrefp) ChainStep *chain = NULL;
        int r;

        r = chain_resolve(&chain, ret_error);
        if (r < 0)
                return r;
        /* The registry's region picks the regional STS endpoint (never the legacy global one). */
        return chain_role(chain, role_arn, external_id, session_name, 0, region, false, "registry roleArn", ret, ret_error);
}

int credentials_provider_get_role(CredentialsProvider *p, const char *role_arn, const char *external_id,
                                  const char *session_name, const char *region, AwsCredentials **ret, char **ret_error,
                                  CredentialsDoneFn done, void *userdata) {
        _cleanup_(chain_step_unrefp) ChainStep *step = NULL;
        int r;

        *ret_error = NULL;
        r = role_step(role_arn, external_id, session_name, region, &step, ret_error);
        if (r < 0) {
                if (!*ret_error && asprintf(ret_error, "credentials: %s", strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        return get_with_error(p, step, ret, ret_error, done, userdata);
}

/* ---- describing ---- */

static char *describe_result(int r, ChainStep *step, const char *error) {
        char *s = NULL;
        if (r < 0) {
                if (asprintf(&s, "error: %s", error ?: strerror(-r)) < 0)
                        return NULL;
                return s;
        }
        return chain_describe(step);
}

char *credentials_provider_describe(CredentialsProvider *p) {
        _cleanup_(chain_step_unrefp) ChainStep *step = NULL;
        _cleanup_free_ char *error = NULL;
        int r = chain_resolve(&step, &error);
        return describe_result(r, step, error);
}

char *credentials_provider_describe_registry(CredentialsProvider *p, const Registry *reg) {
        _cleanup_(chain_step_unrefp) ChainStep *step = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        if (!reg->role_arn)
                return credentials_provider_describe(p);
        r = role_step(reg->role_arn, reg->external_id, reg->role_session_name, reg->region, &step, &error);
        return describe_result(r, step, error);
}
