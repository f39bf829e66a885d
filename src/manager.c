/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "aws.h"
#include "credentials.h"
#include "dockerconfig.h"
#include "health.h"
#include "hook.h"
#include "metrics.h"
#include "duration.h"
#include "ecr.h"
#include "http.h"
#include "log.h"
#include "manager.h"
#include "report.h"
#include "sink.h"

/* READY=1 is sent after the first cycle, or after this long, whichever comes first; the unit's
 * TimeoutStartSec= must be larger. */
#define STARTUP_DEADLINE (60 * USEC_PER_SEC)
/* Attempts per refresh for transient errors, as in the SDKs' standard retry mode. */
#define MAX_ATTEMPTS 3U
#define RETRY_BACKOFF_CAP (20 * USEC_PER_SEC)
/* The SDKs' retry quota: an outage must not turn into a retry storm. A retry costs 5 tokens (10
 * after a timeout); a success gives back what its retries cost, or 1 when it needed none. */
#define RETRY_QUOTA 500U
#define RETRY_COST 5U
#define RETRY_COST_TIMEOUT 10U
/* After a failed refresh, try again after this, doubling up to the interval. */
#define FAILURE_BACKOFF_MIN (30 * USEC_PER_SEC)
/* The metrics textfile is rewritten at most this often (once per burst of refreshes). */
#define METRICS_DELAY USEC_PER_SEC
#define MIN_REFRESH_SPACING USEC_PER_MINUTE
#define CLOCK_SKEW_THRESHOLD (4 * USEC_PER_MINUTE)
/* A registry due within this long (and at most a tenth of the interval) rides along on a request
 * that is going out anyway for its identity and region, so that registries added by a reload fall
 * into step with the others instead of costing a request of their own forever. */
#define BATCH_SLACK (5 * USEC_PER_MINUTE)

typedef struct RegistryState {
        Manager *manager;
        const Registry *reg; /* points into manager->config */
        char *label;         /* "123456789012/us-west-2", for logs and status */

        HttpRequest *req;
        AwsCredentials *creds; /* the identity signing the request in flight */
        bool in_flight;
        bool waiting_for_creds;
        bool first_done;
        unsigned attempt;     /* transient-error attempts in the current refresh */
        unsigned retry_cost;  /* quota tokens its retries took */
        bool skew_retried;

        /* Batching: registries of one identity (default chain or role), region and endpoint share a
         * GetAuthorizationToken request of up to ECR_MAX_REGISTRY_IDS registry ids. The first due
         * one leads: it fetches the credentials, owns the request and counts against concurrency;
         * the others ride along, in flight without a request of their own. */
        struct RegistryState *leader; /* riding on this one's request, or NULL */
        struct RegistryState **riders; /* leader: the others its request serves */
        size_t n_riders;
        bool solo; /* asks on its own (a shared request was refused with InvalidParameterException) */
        /* Leader: the registry ids its request named, in order (copies: a reload may free the riders
         * and the config they point into while the request is in flight). */
        char req_ids[ECR_MAX_REGISTRY_IDS][13];
        size_t n_req_ids;

        usec_t next_due;     /* CLOCK_MONOTONIC */
        usec_t last_success; /* CLOCK_REALTIME, 0 if never */
        usec_t expires_at;   /* CLOCK_REALTIME, 0 if unknown */
        unsigned failures;   /* consecutive */
        char *last_error;    /* short cause for STATUS, NULL after a success */
        Hook *hook;          /* onRefresh command still running, or NULL */
        usec_t started;      /* CLOCK_MONOTONIC start of the refresh in progress or last ended */
        usec_t last_duration;
        uint64_t refreshes_total, failures_total;
} RegistryState;

struct Manager {
        sd_event *event;
        HttpClient *http;
        CredentialsProvider *creds;
        Config *config;
        char *config_path;
        bool oneshot;

        RegistryState **states;
        size_t n_states;

        sd_event_source *timer;
        sd_event_source *startup_timer;
        sd_event_source *sig_term, *sig_int, *sig_hup;

        unsigned running;
        size_t initial_pending;
        bool ready;
        bool stopping;
        bool dispatching, dispatch_again;
        bool oneshot_done;      /* oneshot: every registry was tried; exit once no onRefresh runs */
        int exit_code;
        unsigned retry_tokens;
        int64_t clock_offset_usec; /* server time minus local time, after a skew error */
        char *reload_error;
        RegistryReport *report; /* the last snapshot handed out */
        unsigned request_timeout_ms; /* never more than half of WatchdogSec= */
        unsigned connect_timeout_ms;
        HealthServer *health;
        char *health_listen;        /* what health is bound to */
        sd_event_source *metrics_timer;
};

static void dispatch(Manager *m);
static void update_status(Manager *m);
static void schedule_metrics(Manager *m);
static int on_metrics_timer(sd_event_source *source, uint64_t usec, void *userdata);
static bool hooks_running(Manager *m);
static int write_outputs(RegistryState *s, const EcrToken *token, char **error);
static void run_hook(RegistryState *s);
static int manager_report(void *userdata, Report *ret);
static void on_ecr_tokens(RegistryState *s, const EcrItem *items, size_t n_items);

static usec_t now_monotonic(Manager *m) {
        uint64_t t;
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &t) < 0)
                return 0;
        return t;
}

static RegistryState *state_new(Manager *m, const Registry *reg) {
        RegistryState *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->manager = m;
        s->reg = reg;
        if (asprintf(&s->label, "%s/%s", reg->registry_id, reg->region) < 0) {
                free(s);
                return NULL;
        }
        return s;
}

/* Detaches the riders of a leader (they are no longer in flight) and hands them to the caller. */
static size_t take_riders(RegistryState *s, RegistryState ***ret) {
        size_t n = s->n_riders;

        for (size_t i = 0; i < n; i++) {
                s->riders[i]->leader = NULL;
                s->riders[i]->in_flight = false;
        }
        *ret = TAKE_PTR(s->riders);
        s->n_riders = 0;
        return n;
}

/* Drops whatever the state has in flight; no callback of it runs afterwards. A rider leaves its
 * leader's request to the others; a leader's riders go back to the schedule, due at once. */
static void state_abort(RegistryState *s) {
        _cleanup_free_ RegistryState **riders = NULL;
        size_t n;

        if (s->leader) {
                RegistryState *l = s->leader;
                for (size_t i = 0; i < l->n_riders; i++)
                        if (l->riders[i] == s) {
                                memmove(l->riders + i, l->riders + i + 1, (l->n_riders - i - 1) * sizeof(*l->riders));
                                l->n_riders--;
                                break;
                        }
                s->leader = NULL;
                s->in_flight = false;
                return;
        }
        n = take_riders(s, &riders);
        for (size_t i = 0; i < n; i++)
                riders[i]->next_due = now_monotonic(s->manager);
        if (s->req)
                s->req = http_request_free(s->req);
        if (s->waiting_for_creds)
                credentials_provider_cancel(s->manager->creds, s);
        s->waiting_for_creds = false;
        s->creds = aws_credentials_free(s->creds);
        if (s->in_flight) {
                s->in_flight = false;
                s->manager->running--;
        }
}

static RegistryState *state_free(RegistryState *s) {
        if (!s)
                return NULL;
        state_abort(s);
        hook_free(s->hook);
        free(s->label);
        free(s->last_error);
        free(s);
        return NULL;
}

static void initial_done(Manager *m) {
        bool all_ok = true;

        for (size_t i = 0; i < m->n_states; i++)
                if (m->states[i]->failures > 0 || m->states[i]->last_success == 0)
                        all_ok = false;

        if (m->oneshot) {
                /* The cycle's onRefresh commands finish first; their outcome does not change the exit
                 * status (the files were written). The metrics are written now, not after a delay. */
                m->oneshot_done = true;
                m->exit_code = all_ok ? EXIT_OK : EXIT_REFRESH_FAILED;
                if (m->metrics_timer)
                        (void) sd_event_source_set_enabled(m->metrics_timer, SD_EVENT_OFF);
                (void) on_metrics_timer(NULL, 0, m);
                if (!hooks_running(m))
                        sd_event_exit(m->event, m->exit_code);
                return;
        }
        if (!m->ready) {
                m->ready = true;
                m->startup_timer = sd_event_source_disable_unref(m->startup_timer);
                update_status(m);
                (void) sd_notify(false, "READY=1");
        }
}

/* Called once per registry when its refresh (with in-cycle retries) has ended. Only the registry that
 * sent the request gives retry tokens back (refund); jitter (0 to 2^32) spreads the failure
 * backoff, the same for every registry of one request so that they stay together. */
static void state_finish_one(RegistryState *s, bool ok, const char *cause, const char *detail, bool refund,
                             uint64_t jitter) {
        Manager *m = s->manager;
        usec_t now = now_monotonic(m);
        char buf[64];

        state_abort(s);
        if (ok && refund)
                m->retry_tokens = MIN(RETRY_QUOTA, m->retry_tokens + (s->retry_cost > 0 ? s->retry_cost : 1));
        s->retry_cost = 0;
        s->attempt = 0;
        s->skew_retried = false;
        s->last_duration = now > s->started ? now - s->started : 0;
        s->refreshes_total++;
        if (!ok)
                s->failures_total++;

        if (ok) {
                usec_t delay = m->config->interval;
                s->failures = 0;
                free(s->last_error);
                s->last_error = NULL;
                s->last_success = now_realtime();
                /* Expiry-aware: never let a token get within the margin of its end. */
                if (s->expires_at != USEC_INFINITY && s->expires_at > 0) {
                        usec_t left = s->expires_at > s->last_success ? s->expires_at - s->last_success : 0;
                        usec_t until_margin = left > m->config->refresh_margin ? left - m->config->refresh_margin : 0;
                        delay = MIN(delay, until_margin);
                }
                delay = MAX(delay, MIN_REFRESH_SPACING);
                delay = MIN(delay, m->config->interval);
                s->next_due = now + delay;
        } else {
                usec_t delay = FAILURE_BACKOFF_MIN;
                s->failures++;
                for (unsigned i = 1; i < s->failures && delay < m->config->interval; i++)
                        delay *= 2;
                delay = MIN(delay, m->config->interval);
                /* Full jitter on the upper half so many replicas do not retry in step. */
                delay = delay / 2 + (usec_t) ((double) (delay / 2) * ((double) jitter / 4294967296.0));
                s->next_due = now + delay;
                free(s->last_error);
                s->last_error = strdup(cause ?: "error");
                if (m->oneshot)
                        log_error("%s: refresh failed: %s%s%s", s->label, cause ?: "error", detail && *detail ? ": " : "",
                                  detail ?: "");
                else
                        log_error("%s: refresh failed: %s%s%s (retrying in %s)", s->label, cause ?: "error",
                                  detail && *detail ? ": " : "", detail ?: "", duration_format(delay, buf, sizeof(buf)));
        }

        schedule_metrics(m);
        if (!s->first_done) {
                s->first_done = true;
                if (m->initial_pending > 0 && --m->initial_pending == 0)
                        initial_done(m);
        }
        update_status(m);
        dispatch(m);
}

/* Many registries end at once: one dispatch() afterwards, not one per registry. */
static bool dispatch_hold(Manager *m) {
        bool was = m->dispatching;
        m->dispatching = true;
        return was;
}

static void dispatch_release(Manager *m, bool was) {
        m->dispatching = was;
        if (!was)
                dispatch(m);
}

/* Ends the refresh of s and of every registry riding on its request with the same outcome. */
static void state_finish(RegistryState *s, bool ok, const char *cause, const char *detail) {
        Manager *m = s->manager;
        _cleanup_free_ RegistryState **riders = NULL;
        size_t n = take_riders(s, &riders);
        uint64_t jitter = random_below(UINT64_C(1) << 32);
        bool held = dispatch_hold(m);

        for (size_t i = 0; i < n; i++)
                state_finish_one(riders[i], ok, cause, detail, false, jitter);
        state_finish_one(s, ok, cause, detail, true, jitter);
        dispatch_release(m, held);
}

/* A label for the log: "ID/REGION" or "ID/REGION and 9 more". */
static const char *batch_label(const RegistryState *s, char *buf, size_t size) {
        if (s->n_riders == 0)
                return s->label;
        (void) snprintf(buf, size, "%s and %zu more", s->label, s->n_riders);
        return buf;
}

/* Due again after delay, s and its riders together; each keeps its attempt count in step. */
static void state_requeue(RegistryState *s, usec_t delay) {
        Manager *m = s->manager;
        _cleanup_free_ RegistryState **riders = NULL;
        size_t n = take_riders(s, &riders);
        usec_t due = now_monotonic(m) + delay;

        state_abort(s);
        s->next_due = due;
        for (size_t i = 0; i < n; i++) {
                riders[i]->attempt = s->attempt;
                riders[i]->skew_retried = s->skew_retried;
                riders[i]->next_due = due;
        }
        dispatch(m);
}

/* Schedules another attempt of the same refresh (transient error). */
static void state_retry(RegistryState *s, usec_t delay, const char *cause) {
        char buf[64], lbuf[256];

        log_warning("%s: %s, retrying in %s (attempt %u of %u)", batch_label(s, lbuf, sizeof(lbuf)), cause,
                    duration_format(delay, buf, sizeof(buf)), s->attempt + 1, MAX_ATTEMPTS);
        state_requeue(s, delay);
}

/* From now on the registry asks on its own, at once, as a new refresh (with its own retries). */
static void state_go_solo(RegistryState *s) {
        s->solo = true;
        s->attempt = 0;
        s->skew_retried = false;
        s->next_due = now_monotonic(s->manager);
}

/* A shared request was refused in a way one registry id can cause: ask for each on its own. */
static void state_split(RegistryState *s, const char *cause) {
        Manager *m = s->manager;
        _cleanup_free_ RegistryState **riders = NULL;
        char lbuf[256];
        size_t n;

        log_warning("%s: %s; asking for each registry on its own.", batch_label(s, lbuf, sizeof(lbuf)), cause);
        n = take_riders(s, &riders);
        state_abort(s);
        state_go_solo(s);
        for (size_t i = 0; i < n; i++)
                state_go_solo(riders[i]);
        dispatch(m);
}

/* The distinct registry ids s's request names, its own first. */
static size_t batch_ids(const RegistryState *s, const char *ids[static ECR_MAX_REGISTRY_IDS]) {
        size_t n = 0;

        for (size_t i = 0; i <= s->n_riders; i++) {
                const char *id = (i == 0 ? s : s->riders[i - 1])->reg->registry_id;
                bool seen = false;
                for (size_t j = 0; j < n; j++)
                        if (streq(ids[j], id))
                                seen = true;
                if (!seen && n < ECR_MAX_REGISTRY_IDS)
                        ids[n++] = id;
        }
        return n;
}

/* Takes cost tokens from the retry quota; false when it is exhausted (no retry then). */
static bool retry_quota_take(RegistryState *s, unsigned cost) {
        Manager *m = s->manager;

        if (m->retry_tokens < cost) {
                char lbuf[256];
                log_warning("%s: retry quota exhausted (too many failures at once), not retrying now.",
                            batch_label(s, lbuf, sizeof(lbuf)));
                return false;
        }
        m->retry_tokens -= cost;
        s->retry_cost += cost;
        return true;
}

static usec_t retry_delay(unsigned attempt) {
        usec_t cap = USEC_PER_SEC << MIN(attempt, 10U);
        return random_below(MIN(cap, RETRY_BACKOFF_CAP)) + 1;
}

static void on_ecr_done(HttpRequest *req, void *userdata) {
        RegistryState *s = userdata;
        Manager *m = s->manager;
        CURLcode cr = http_request_result(req);
        long status = http_request_status(req);
        int r;

        if (cr != CURLE_OK) {
                _cleanup_free_ char *msg = NULL;
                bool transient = cr != CURLE_COULDNT_RESOLVE_HOST && cr != CURLE_PEER_FAILED_VERIFICATION &&
                                 cr != CURLE_SSL_CACERT_BADFILE && cr != CURLE_UNSUPPORTED_PROTOCOL &&
                                 cr != CURLE_URL_MALFORMAT && cr != CURLE_FILESIZE_EXCEEDED;
                if (asprintf(&msg, "%s (%s)", http_request_error(req) ?: curl_easy_strerror(cr), http_request_url(req)) < 0)
                        msg = NULL;
                if (transient && s->attempt + 1 < MAX_ATTEMPTS &&
                    retry_quota_take(s, cr == CURLE_OPERATION_TIMEDOUT ? RETRY_COST_TIMEOUT : RETRY_COST)) {
                        s->attempt++;
                        return state_retry(s, retry_delay(s->attempt), msg ?: "request failed");
                }
                return state_finish(s, false, curl_easy_strerror(cr), msg);
        }

        if (status != 200) {
                _cleanup_free_ char *code = NULL, *message = NULL, *cause = NULL;
                r = aws_parse_error(req, &code, &message);
                if (r < 0)
                        return state_finish(s, false, "out of memory", NULL);
                if (s->creds) {
                        aws_scrub(message, s->creds->secret_access_key);
                        aws_scrub(message, s->creds->session_token);
                }

                /* Clock skew: retry once with the server's clock, as the SDKs do. */
                time_t date = http_request_date(req);
                if (aws_error_is_clock_skew(code) && date != (time_t) -1 && !s->skew_retried) {
                        int64_t offset = (int64_t) date * (int64_t) USEC_PER_SEC - (int64_t) now_realtime();
                        if (offset > (int64_t) CLOCK_SKEW_THRESHOLD || offset < -(int64_t) CLOCK_SKEW_THRESHOLD) {
                                m->clock_offset_usec = offset;
                                s->skew_retried = true;
                                char lbuf[256];
                                log_warning("%s: clock skew of %+llds against AWS, signing with the server's time.",
                                            batch_label(s, lbuf, sizeof(lbuf)), (long long) (offset / (int64_t) USEC_PER_SEC));
                                return state_requeue(s, 0);
                        }
                }
                if (asprintf(&cause, "%s%s%s", code, *message ? ": " : "", message) < 0)
                        cause = NULL;
                /* Only a registry id can make ECR refuse a request this way; find which one. */
                if (s->n_req_ids > 1 && streq(code, "InvalidParameterException"))
                        return state_split(s, cause ?: code);
                if (aws_error_is_transient(status, code) && s->attempt + 1 < MAX_ATTEMPTS && retry_quota_take(s, RETRY_COST)) {
                        s->attempt++;
                        return state_retry(s, retry_delay(s->attempt), cause ?: code);
                }
                return state_finish(s, false, code, message);
        }

        EcrItem *items = NULL;
        size_t n_items = 0, len;
        _cleanup_free_ char *error = NULL;
        const char *body = http_request_body(req, &len);
        r = ecr_parse_items(body, len, &items, &n_items, &error);
        if (r < 0)
                return state_finish(s, false, "InvalidResponse", error ?: strerror(-r));
        on_ecr_tokens(s, items, n_items);
        ecr_items_free(items, n_items);
}

/* Hands each registry of the request its own token from the answer. */
static void on_ecr_tokens(RegistryState *s, const EcrItem *items, size_t n_items) {
        Manager *m = s->manager;
        _cleanup_free_ RegistryState **riders = NULL;
        const char *ids[ECR_MAX_REGISTRY_IDS] = {};
        size_t n_ids = s->n_req_ids, n;
        uint64_t jitter = random_below(UINT64_C(1) << 32);
        bool held = dispatch_hold(m);

        for (size_t i = 0; i < n_ids; i++)
                ids[i] = s->req_ids[i];
        /* The request succeeded: it gives its retry tokens back once, whatever each registry makes of
         * its item (a leader that fails to write, or asks again on its own, must not keep them). */
        m->retry_tokens = MIN(RETRY_QUOTA, m->retry_tokens + (s->retry_cost > 0 ? s->retry_cost : 1));
        s->retry_cost = 0;

        n = take_riders(s, &riders);
        for (size_t i = 0; i <= n; i++) {
                RegistryState *x = i < n ? riders[i] : s;
                _cleanup_free_ char *error = NULL;
                size_t which = 0;
                ssize_t k;
                int r;

                while (which < n_ids && !streq(ids[which], x->reg->registry_id))
                        which++;
                k = which < n_ids ? ecr_match_item(items, n_items, ids, n_ids, which) : -1;
                if (k < 0 && n_ids > 1) {
                        log_warning("%s: the answer to a request for %zu registries has no token for it; asking on its own.",
                                    x->label, n_ids);
                        state_abort(x);
                        state_go_solo(x);
                        continue;
                }
                if (k < 0) {
                        state_finish_one(x, false, "InvalidResponse", "the answer has no token for this registry", false,
                                         jitter);
                        continue;
                }
                if (items[k].error) {
                        state_finish_one(x, false, "InvalidResponse", items[k].error, false, jitter);
                        continue;
                }
                r = write_outputs(x, &items[k].token, &error);
                if (r < 0) {
                        state_finish_one(x, false, "WriteFailed", error ?: strerror(-r), false, jitter);
                        continue;
                }
                x->expires_at = items[k].token.expires_at;
                x->solo = false;
                run_hook(x); /* before finishing: in oneshot mode that may end the loop */
                state_finish_one(x, true, NULL, NULL, false, jitter);
        }
        dispatch_release(m, held);
}

static bool hooks_running(Manager *m) {
        for (size_t i = 0; i < m->n_states; i++)
                if (m->states[i]->hook)
                        return true;
        return false;
}

/* Every output of the registry: the password file and/or the docker config.json. */
static int write_outputs(RegistryState *s, const EcrToken *token, char **error) {
        const Registry *reg = s->reg;
        char when[64];
        int r;

        format_timestamp(token->expires_at, when, sizeof(when));
        if (reg->password_file) {
                r = sink_write_atomic(reg->password_file, token->password, strlen(token->password), reg->file_mode, error);
                if (r < 0)
                        return r;
                log_info("%s: wrote %s (token expires %s)", s->label, reg->password_file, when);
        }
        if (reg->docker_config_file) {
                _cleanup_free_ char *host = NULL;
                /* A token shared by several registries may carry another registry's endpoint. */
                r = ecr_proxy_names(token->proxy_endpoint, reg->registry_id) ? docker_registry_host(token->proxy_endpoint, &host)
                                                                            : -EINVAL;
                if (r < 0)
                        r = docker_registry_host_default(reg->registry_id, reg->region, &host);
                if (r < 0)
                        return r;
                free(*error);
                *error = NULL;
                r = docker_config_merge(reg->docker_config_file, host, token->password, 0, error);
                if (r < 0)
                        return r;
                log_info("%s: updated %s for %s (token expires %s)", s->label, reg->docker_config_file, host, when);
        }
        return 0;
}

static void on_hook_done(Hook *h, const HookResult *result, void *userdata) {
        RegistryState *s = userdata;
        Manager *m = s->manager;

        s->hook = hook_free(h); /* the hook logged the outcome */
        if (m->oneshot_done && !hooks_running(m))
                sd_event_exit(m->event, m->exit_code);
}

/* onRefresh, after a successful write; never two at once for one registry. */
static void run_hook(RegistryState *s) {
        const Registry *reg = s->reg;
        _cleanup_free_ char *e_id = NULL, *e_region = NULL, *e_pw = NULL, *e_docker = NULL;
        char *env[5] = {};
        size_t n = 0;

        if (!reg->on_refresh)
                return;
        if (s->hook) {
                log_warning("%s: onRefresh from the previous refresh is still running; not starting another.", s->label);
                return;
        }
        if (asprintf(&e_id, "REGISTRY_ID=%s", reg->registry_id) < 0 || asprintf(&e_region, "REGION=%s", reg->region) < 0)
                return (void) log_oom();
        env[n++] = e_id;
        env[n++] = e_region;
        if (reg->password_file) {
                if (asprintf(&e_pw, "PASSWORD_FILE=%s", reg->password_file) < 0)
                        return (void) log_oom();
                env[n++] = e_pw;
        }
        if (reg->docker_config_file) {
                if (asprintf(&e_docker, "DOCKER_CONFIG_FILE=%s", reg->docker_config_file) < 0)
                        return (void) log_oom();
                env[n++] = e_docker;
        }
        (void) hook_run(s->manager->event, s->label, reg->on_refresh, env, reg->on_refresh_timeout, on_hook_done, s,
                        &s->hook);
}

static void send_request(RegistryState *s, AwsCredentials *creds) {
        Manager *m = s->manager;
        _cleanup_free_ char *url = NULL, *error = NULL;
        int r;

        s->creds = creds;
        url = aws_ecr_endpoint(s->reg->region, s->reg->endpoint, &error);
        if (!url)
                return state_finish(s, false, "InvalidEndpoint", error ?: "out of memory");

        time_t when = (time_t) (((int64_t) now_realtime() + m->clock_offset_usec) / (int64_t) USEC_PER_SEC);
        const char *ids[ECR_MAX_REGISTRY_IDS] = {};
        size_t n_ids = batch_ids(s, ids);
        for (size_t i = 0; i < n_ids; i++)
                (void) snprintf(s->req_ids[i], sizeof(s->req_ids[i]), "%s", ids[i]);
        s->n_req_ids = n_ids;
        r = ecr_request_new(m->http, url, s->reg->region, ids, n_ids, creds, when, &s->req);
        if (r < 0)
                return state_finish(s, false, "RequestFailed", strerror(-r));
        http_request_set_timeouts(s->req, MIN(m->connect_timeout_ms, m->request_timeout_ms), m->request_timeout_ms);
        r = http_request_start(s->req, on_ecr_done, s);
        if (r < 0)
                return state_finish(s, false, "RequestFailed", strerror(-r));
        log_debug("%s: GetAuthorizationToken for %zu registr%s at %s with credentials from %s", s->label, n_ids,
                  n_ids == 1 ? "y" : "ies", url, creds->source);
}

static void on_credentials(const AwsCredentials *creds, const char *error, void *userdata) {
        RegistryState *s = userdata;
        AwsCredentials *copy;

        s->waiting_for_creds = false;
        if (!creds)
                return state_finish(s, false, "NoCredentials", error);
        copy = aws_credentials_dup(creds);
        if (!copy)
                return state_finish(s, false, "NoCredentials", "out of memory");
        send_request(s, copy);
}

/* Whether o may ride on the request l is about to send: same identity, region and endpoint, in the
 * same retry state, and due (or, if it is healthy, due soon). */
static bool can_ride(const RegistryState *l, const RegistryState *o, usec_t now) {
        const Registry *a = l->reg, *b = o->reg;
        usec_t slack = MIN(BATCH_SLACK, l->manager->config->interval / 10);

        if (o == l || o->in_flight || o->solo || o->attempt != l->attempt || o->skew_retried != l->skew_retried)
                return false;
        if (o->next_due > now && (o->failures > 0 || o->last_success == 0 || o->next_due - now > slack))
                return false;
        return streq(a->region, b->region) && streq_ptr(a->endpoint, b->endpoint) && streq_ptr(a->role_arn, b->role_arn) &&
               streq_ptr(a->external_id, b->external_id) && streq_ptr(a->role_session_name, b->role_session_name);
}

/* Takes along every registry that can share s's request, up to ECR_MAX_REGISTRY_IDS distinct ids. */
static void gather_riders(RegistryState *s, usec_t now) {
        Manager *m = s->manager;
        const char *ids[ECR_MAX_REGISTRY_IDS] = {};
        size_t n_ids;

        if (s->solo)
                return;
        n_ids = batch_ids(s, ids);
        for (size_t i = 0; i < m->n_states; i++) {
                RegistryState *o = m->states[i], **a;
                bool known = false;

                if (!can_ride(s, o, now))
                        continue;
                for (size_t j = 0; j < n_ids; j++)
                        if (streq(ids[j], o->reg->registry_id))
                                known = true;
                if (!known && n_ids == ECR_MAX_REGISTRY_IDS)
                        continue;
                a = reallocarray(s->riders, s->n_riders + 1, sizeof(*a));
                if (!a)
                        return; /* it goes on its own later */
                s->riders = a;
                s->riders[s->n_riders++] = o;
                if (!known)
                        ids[n_ids++] = o->reg->registry_id;
                o->leader = s;
                o->in_flight = true;
                s->retry_cost += o->retry_cost; /* the request's success gives it back */
                o->retry_cost = 0;
                o->next_due = USEC_INFINITY;
                if (o->attempt == 0 && !o->skew_retried)
                        o->started = now;
        }
}

static void state_start(RegistryState *s) {
        Manager *m = s->manager;
        AwsCredentials *creds = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        s->in_flight = true;
        m->running++;
        s->next_due = USEC_INFINITY;
        if (s->attempt == 0 && !s->skew_retried)
                s->started = now_monotonic(m);
        gather_riders(s, now_monotonic(m));

        if (s->reg->role_arn)
                r = credentials_provider_get_role(m->creds, s->reg->role_arn, s->reg->external_id, s->reg->role_session_name,
                                                  s->reg->region, &creds, &error, on_credentials, s);
        else
                r = credentials_provider_get(m->creds, &creds, &error, on_credentials, s);
        if (r < 0)
                return state_finish(s, false, "NoCredentials", error ?: strerror(-r));
        if (r == 0) {
                s->waiting_for_creds = true;
                return;
        }
        send_request(s, creds);
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        dispatch(userdata);
        return 0;
}

/* Starts every due registry (up to the concurrency bound) and arms the timer for the next one. */
static void dispatch_once(Manager *m);

static void dispatch(Manager *m) {
        /* A refresh that fails at once finishes (and dispatches) from inside state_start(): loop
         * here instead of recursing once per registry. */
        if (m->dispatching) {
                m->dispatch_again = true;
                return;
        }
        m->dispatching = true;
        do {
                m->dispatch_again = false;
                dispatch_once(m);
        } while (m->dispatch_again && !m->stopping);
        m->dispatching = false;
}

static void dispatch_once(Manager *m) {
        usec_t now, next = USEC_INFINITY;

        if (m->stopping)
                return;
        now = now_monotonic(m);
        for (size_t i = 0; i < m->n_states; i++) {
                RegistryState *s = m->states[i];
                if (s->in_flight)
                        continue;
                if (s->next_due <= now && m->running < m->config->concurrency)
                        state_start(s);
                if (m->stopping)
                        return;
                if (!s->in_flight)
                        next = MIN(next, s->next_due);
        }

        if (next == USEC_INFINITY) {
                if (m->timer)
                        (void) sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
                return;
        }
        /* Due but held back by the concurrency bound: a finishing request dispatches again. */
        if (next <= now && m->running >= m->config->concurrency) {
                if (m->timer)
                        (void) sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
                return;
        }
        if (m->timer) {
                (void) sd_event_source_set_time(m->timer, next);
                (void) sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
        } else if (sd_event_add_time(m->event, &m->timer, CLOCK_MONOTONIC, next, 0, on_timer, m) >= 0)
                (void) sd_event_source_set_description(m->timer, "schedule");
        /* Coalesce wake-ups for far-away refreshes, be punctual for retries a moment away. */
        if (m->timer)
                (void) sd_event_source_set_time_accuracy(m->timer,
                                                         MAX(MIN(USEC_PER_SEC, (next > now ? next - now : 0) / 10), USEC_PER_MSEC));
}

static void update_status(Manager *m) {
        size_t fresh = 0;
        usec_t now = now_realtime(), next = USEC_INFINITY, mono = now_monotonic(m);
        const RegistryState *failing = NULL;
        _cleanup_free_ char *status = NULL;
        char buf[64];
        int r;

        if (m->oneshot)
                return;
        for (size_t i = 0; i < m->n_states; i++) {
                const RegistryState *s = m->states[i];
                if (s->last_success > 0 && !s->last_error && (s->expires_at == 0 || s->expires_at > now))
                        fresh++;
                else if (s->last_error && !failing)
                        failing = s;
                if (!s->in_flight)
                        next = MIN(next, s->next_due);
        }
        const char *in = next == USEC_INFINITY ? NULL : duration_format(next > mono ? next - mono : 0, buf, sizeof(buf));

        if (m->n_states == 0)
                r = asprintf(&status, "No registries configured in %s", m->config_path);
        else if (failing) {
                char b2[64];
                usec_t when = failing->next_due > mono ? failing->next_due - mono : 0;
                r = asprintf(&status, "%zu/%zu fresh; %s: %s (retrying in %s)", fresh, m->n_states, failing->label,
                             failing->last_error, failing->in_flight ? "progress" : duration_format(when, b2, sizeof(b2)));
        } else if (!m->ready)
                r = asprintf(&status, "%zu/%zu registries fresh, first refresh in progress", fresh, m->n_states);
        else if (!in)
                r = asprintf(&status, "%zu/%zu registries fresh, refresh in progress", fresh, m->n_states);
        else
                r = asprintf(&status, "%zu/%zu registries fresh, next refresh in %s", fresh, m->n_states, in);
        if (r < 0)
                return;
        if (m->reload_error) {
                _cleanup_free_ char *s2 = NULL;
                if (asprintf(&s2, "%s; reload failed: %s", status, m->reload_error) >= 0) {
                        free(status);
                        status = TAKE_PTR(s2);
                }
        }
        for (char *p = status; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        (void) sd_notifyf(false, "STATUS=%s", status);
}

/* ReportFn: a snapshot of every registry for the health endpoint and the metrics. */
static int manager_report(void *userdata, Report *ret) {
        Manager *m = userdata;
        RegistryReport *r = reallocarray(m->report, MAX(m->n_states, (size_t) 1), sizeof(RegistryReport));

        if (!r)
                return -ENOMEM;
        m->report = r;
        for (size_t i = 0; i < m->n_states; i++) {
                const RegistryState *s = m->states[i];
                r[i] = (RegistryReport) {
                        .registry_id = s->reg->registry_id,
                        .region = s->reg->region,
                        .password_file = s->reg->password_file ?: s->reg->docker_config_file,
                        .last_success = s->last_success,
                        .expires_at = s->expires_at,
                        .last_duration = s->last_duration,
                        .failures = s->failures,
                        .refreshes_total = s->refreshes_total,
                        .failures_total = s->failures_total,
                        .last_error = s->last_error,
                };
        }
        *ret = (Report) { .registries = r, .n = m->n_states, .now = now_realtime() };
        return 0;
}

static int on_metrics_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *error = NULL;
        Report report;
        int r;

        if (!m->config->metrics_textfile)
                return 0;
        r = manager_report(m, &report);
        if (r >= 0)
                r = metrics_write_textfile(m->config->metrics_textfile, &report, &error);
        if (r < 0)
                log_warning("Cannot write metrics: %s", error ?: strerror(-r));
        return 0;
}

/* Rewrites the node_exporter textfile once per burst of refreshes. */
static void schedule_metrics(Manager *m) {
        if (!m->config->metrics_textfile || m->stopping)
                return;
        if (m->metrics_timer) {
                int enabled = SD_EVENT_OFF;
                (void) sd_event_source_get_enabled(m->metrics_timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return;
                (void) sd_event_source_set_time(m->metrics_timer, now_monotonic(m) + METRICS_DELAY);
                (void) sd_event_source_set_enabled(m->metrics_timer, SD_EVENT_ONESHOT);
        } else if (sd_event_add_time(m->event, &m->metrics_timer, CLOCK_MONOTONIC, now_monotonic(m) + METRICS_DELAY, 0,
                                     on_metrics_timer, m) >= 0)
                (void) sd_event_source_set_description(m->metrics_timer, "metrics");
}

/* Request timeouts from the config, never above half of WatchdogSec= (the loop never blocks, but a
 * request outliving that would hold a registry's refresh back for too long). */
static void apply_timeouts(Manager *m) {
        uint64_t wd;

        m->request_timeout_ms = (unsigned) (m->config->request_timeout / USEC_PER_MSEC);
        m->connect_timeout_ms = (unsigned) (m->config->connect_timeout / USEC_PER_MSEC);
        if (sd_watchdog_enabled(false, &wd) > 0 && wd / 2 / USEC_PER_MSEC < m->request_timeout_ms)
                m->request_timeout_ms = (unsigned) MAX(wd / 2 / USEC_PER_MSEC, (uint64_t) 1000);
}

/* Starts, moves or stops the health endpoint as the config says. */
static int apply_health(Manager *m) {
        const char *listen = m->config->health_listen;
        int r;

        if (streq_ptr(listen, m->health_listen) && (!listen || m->health))
                return 0;
        m->health = health_server_free(m->health);
        free(m->health_listen);
        m->health_listen = NULL;
        if (!listen)
                return 0;
        r = health_server_new(m->event, listen, manager_report, m, &m->health);
        if (r < 0)
                return r;
        m->health_listen = strdup(listen);
        if (!m->health_listen)
                return -ENOMEM;
        log_info("Serving /health and /metrics on %s.", listen);
        return 0;
}

/* Whether a reload leaves the registry as it was (its state, and any request in flight, is kept). */
static bool registry_unchanged(const Registry *a, const Registry *b) {
        return streq_ptr(a->password_file, b->password_file) && streq(a->registry_id, b->registry_id) &&
               streq(a->region, b->region) && streq_ptr(a->endpoint, b->endpoint) && a->file_mode == b->file_mode &&
               streq_ptr(a->role_arn, b->role_arn) && streq_ptr(a->external_id, b->external_id) &&
               streq_ptr(a->role_session_name, b->role_session_name) &&
               streq_ptr(a->docker_config_file, b->docker_config_file);
}

/* The states for config c: unchanged registries keep theirs (moved out of m->states, which then
 * holds only the ones to free), the others get new ones. On failure m->states is left as it was. */
static int build_states(Manager *m, const Config *c, RegistryState ***ret, size_t *ret_n) {
        _cleanup_free_ RegistryState **states = NULL;
        _cleanup_free_ size_t *from = NULL;
        _cleanup_free_ bool *taken = NULL;
        size_t n = c->n_registries;

        states = calloc(MAX(n, (size_t) 1), sizeof(RegistryState *));
        from = calloc(MAX(n, (size_t) 1), sizeof(size_t));
        taken = calloc(MAX(m->n_states, (size_t) 1), sizeof(bool));
        if (!states || !from || !taken)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                from[i] = SIZE_MAX;
                for (size_t j = 0; j < m->n_states; j++)
                        if (!taken[j] && registry_unchanged(m->states[j]->reg, &c->registries[i])) {
                                from[i] = j;
                                taken[j] = true;
                                break;
                        }
                if (from[i] != SIZE_MAX)
                        continue;
                states[i] = state_new(m, &c->registries[i]);
                if (!states[i]) {
                        for (size_t k = 0; k < i; k++)
                                state_free(states[k]); /* only new ones so far */
                        return -ENOMEM;
                }
                /* Registries added by a reload are not part of the start-up cycle. */
                states[i]->first_done = m->ready;
        }
        for (size_t i = 0; i < n; i++)
                if (from[i] != SIZE_MAX) {
                        states[i] = m->states[from[i]];
                        m->states[from[i]] = NULL;
                        states[i]->reg = &c->registries[i];
                }
        *ret = TAKE_PTR(states);
        *ret_n = n;
        return 0;
}

static int on_reload(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *error = NULL;
        RegistryState **states = NULL, **old;
        size_t n = 0, n_old;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long) now_monotonic(m));
        log_info("Reloading configuration from %s.", m->config_path);

        r = config_load(m->config_path, &c, &error);
        if (r < 0) {
                log_error("Reload failed, keeping the previous configuration: %s", error ?: strerror(-r));
                free(m->reload_error);
                m->reload_error = TAKE_PTR(error);
                update_status(m);
                (void) sd_notify(false, "READY=1");
                return 0;
        }
        free(m->reload_error);
        m->reload_error = NULL;

        r = build_states(m, c, &states, &n);
        if (r < 0) {
                log_error_errno(r, "Reload failed: %m");
                (void) sd_notify(false, "READY=1");
                return 0;
        }
        old = m->states;
        n_old = m->n_states;
        for (size_t j = 0; j < n_old; j++)
                state_free(old[j]); /* the ones not carried over */
        free(old);
        m->states = states;
        m->n_states = n;
        config_free(m->config);
        m->config = TAKE_PTR(c);
        apply_timeouts(m);
        r = apply_health(m);
        if (r < 0)
                log_error_errno(r, "Cannot serve the health endpoint on %s: %m", m->config->health_listen);
        schedule_metrics(m);
        if (!m->ready) {
                m->initial_pending = 0;
                for (size_t i = 0; i < m->n_states; i++)
                        if (!m->states[i]->first_done)
                                m->initial_pending++;
                if (m->initial_pending == 0)
                        initial_done(m);
        }
        log_info("Configuration reloaded: %zu %s.", m->n_states, m->n_states == 1 ? "registry" : "registries");

        update_status(m);
        (void) sd_notify(false, "READY=1");
        dispatch(m);
        return 0;
}

static int on_terminate(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        bool all_ok = true;

        (void) sd_notify(false, "STOPPING=1");
        log_info("Received %s, stopping.", si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        m->stopping = true;
        for (size_t i = 0; i < m->n_states; i++) {
                if (m->states[i]->in_flight || m->states[i]->failures > 0 || m->states[i]->last_success == 0)
                        all_ok = false;
                state_abort(m->states[i]);
        }
        sd_event_exit(m->event, m->oneshot && !all_ok ? EXIT_REFRESH_FAILED : EXIT_OK);
        return 0;
}

static int on_startup_deadline(sd_event_source *source, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (m->ready)
                return 0;
        log_warning("First refresh not finished after %llus; reporting ready, refreshes go on.",
                    (unsigned long long) (STARTUP_DEADLINE / USEC_PER_SEC));
        m->ready = true;
        update_status(m);
        (void) sd_notify(false, "READY=1");
        return 0;
}

int manager_new(Config *config, const char *config_path, bool oneshot, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        const char *ca;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->oneshot = oneshot;
        m->retry_tokens = RETRY_QUOTA;
        m->config = config; /* owned from here on, also on failure */
        m->config_path = strdup(config_path);
        if (!m->config_path)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        ca = getenv("AWS_CA_BUNDLE");
        r = http_client_new(m->event, isempty(ca) ? NULL : ca, &m->http);
        if (r < 0)
                return r;
        r = credentials_provider_new(m->http, &m->creds);
        if (r < 0)
                return r;

        r = sd_event_add_signal(m->event, &m->sig_term, SIGTERM, on_terminate, m);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, &m->sig_int, SIGINT, on_terminate, m);
        if (r < 0)
                return r;
        if (!oneshot) {
                r = sd_event_add_signal(m->event, &m->sig_hup, SIGHUP, on_reload, m);
                if (r < 0)
                        return r;
        }
        apply_timeouts(m);
        r = apply_health(m);
        if (r < 0)
                return r;

        /* Pings WATCHDOG=1 at half of WatchdogSec= whenever the loop turns; a no-op without one. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        r = build_states(m, config, &m->states, &m->n_states);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->stopping = true;
        for (size_t i = 0; i < m->n_states; i++)
                state_free(m->states[i]);
        free(m->states);
        credentials_provider_free(m->creds);
        http_client_free(m->http);
        health_server_free(m->health);
        free(m->health_listen);
        sd_event_source_disable_unref(m->metrics_timer);
        sd_event_source_disable_unref(m->timer);
        sd_event_source_disable_unref(m->startup_timer);
        sd_event_source_disable_unref(m->sig_term);
        sd_event_source_disable_unref(m->sig_int);
        sd_event_source_disable_unref(m->sig_hup);
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->config_path);
        free(m->reload_error);
        free(m->report);
        free(m);
        return NULL;
}

void manager_freep(Manager **m) {
        *m = manager_free(*m);
}

int manager_run(Manager *m) {
        char buf[64];
        int r;

        log_info("Starting %s %s%s: %zu %s from %s, interval %s.", PACKAGE_NAME, PACKAGE_VERSION,
                 m->oneshot ? " (oneshot)" : "", m->n_states, m->n_states == 1 ? "registry" : "registries", m->config_path,
                 duration_format(m->config->interval, buf, sizeof(buf)));

        m->initial_pending = m->n_states;
        if (m->n_states == 0) {
                log_warning("No registries configured in %s; nothing to refresh.", m->config_path);
                if (m->oneshot)
                        return EXIT_OK;
                initial_done(m);
        } else if (!m->oneshot) {
                r = sd_event_add_time(m->event, &m->startup_timer, CLOCK_MONOTONIC, now_monotonic(m) + STARTUP_DEADLINE, 0,
                                      on_startup_deadline, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to add start-up timer: %m"), EXIT_REFRESH_FAILED;
        }
        update_status(m);
        dispatch(m);

        r = sd_event_loop(m->event);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_REFRESH_FAILED;
        }
        return r;
}
