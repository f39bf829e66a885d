/* SPDX-License-Identifier: MIT */
#include <pwd.h>
#include <stdarg.h>
#include <strings.h>
#include <json-c/json.h>

#include "credentials.h"
#include "ini.h"
#include "log.h"

/* Refresh temporary credentials this long before they expire (the Go SDK's window). */
#define EXPIRY_WINDOW (5 * USEC_PER_MINUTE)
#define IMDS_TIMEOUT_MS 1000U
#define IMDS_ATTEMPTS 2
#define IMDS_TOKEN_TTL 21600
#define IMDS_MAX_BODY (64U * 1024U)

typedef struct Waiter {
        CredentialsDoneFn done;
        void *userdata;
} Waiter;

typedef enum ImdsStep {
        IMDS_IDLE,
        IMDS_TOKEN,
        IMDS_ROLE,
        IMDS_CREDS,
} ImdsStep;

struct CredentialsProvider {
        HttpClient *http;
        AwsCredentials *cached; /* temporary credentials from IMDS */

        Waiter *waiters;
        size_t n_waiters;

        /* IMDS lookup state */
        ImdsStep step;
        HttpRequest *req;
        unsigned attempt;
        bool token_retried;
        char *endpoint;
        char *token;
        usec_t token_expiry; /* CLOCK_REALTIME */
        bool v1;             /* token endpoint refused: IMDSv1 */
        char *role;
};

static bool env_true(const char *name) {
        const char *v = getenv(name);
        return v && strcasecmp(v, "true") == 0;
}

static const char *getenv_nonempty(const char *name) {
        const char *v = getenv(name);
        return isempty(v) ? NULL : v;
}

int credentials_provider_new(HttpClient *http, CredentialsProvider **ret) {
        CredentialsProvider *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->http = http;
        *ret = p;
        return 0;
}

static void imds_reset(CredentialsProvider *p) {
        p->req = http_request_free(p->req);
        p->step = IMDS_IDLE;
        p->attempt = 0;
        p->token_retried = false;
        free(p->role);
        p->role = NULL;
}

CredentialsProvider *credentials_provider_free(CredentialsProvider *p) {
        if (!p)
                return NULL;
        imds_reset(p);
        aws_credentials_free(p->cached);
        p->token = secret_free(p->token);
        free(p->endpoint);
        free(p->waiters);
        free(p);
        return NULL;
}

void credentials_provider_flush(CredentialsProvider *p) {
        p->cached = aws_credentials_free(p->cached);
}

void credentials_provider_cancel(CredentialsProvider *p, void *userdata) {
        size_t j = 0;
        for (size_t i = 0; i < p->n_waiters; i++)
                if (p->waiters[i].userdata != userdata)
                        p->waiters[j++] = p->waiters[i];
        p->n_waiters = j;
}

/* ---- environment ---- */

static int from_environment(AwsCredentials **ret, char **ret_error) {
        const char *id = getenv_nonempty("AWS_ACCESS_KEY_ID") ?: getenv_nonempty("AWS_ACCESS_KEY");
        const char *secret = getenv_nonempty("AWS_SECRET_ACCESS_KEY") ?: getenv_nonempty("AWS_SECRET_KEY");

        if (!id && !secret)
                return 0;
        if (!id || !secret) {
                *ret_error = strdup(id ? "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                                       : "environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
                return -EINVAL;
        }
        int r = aws_credentials_new(id, secret, getenv("AWS_SESSION_TOKEN"), USEC_INFINITY, "environment", ret);
        return r < 0 ? r : 1;
}

/* ---- shared credentials and config files ---- */

static char *home_path(const char *rel) {
        const char *home = getenv_nonempty("HOME");
        char *s;
        if (!home) {
                struct passwd *pw = getpwuid(getuid());
                home = pw ? pw->pw_dir : "/";
        }
        if (asprintf(&s, "%s/%s", home, rel) < 0)
                return NULL;
        return s;
}

static char *expand_user(const char *path) {
        if (path[0] == '~' && (path[1] == '/' || path[1] == 0))
                return home_path(path[1] ? path + 2 : "");
        return strdup(path);
}

typedef struct Profile {
        const char *name;
        bool explicit_name;
        char *credentials_path, *config_path;
        IniFile *credentials, *config;
        char *config_section;
} Profile;

static void profile_done(Profile *pr) {
        free(pr->credentials_path);
        free(pr->config_path);
        ini_free(pr->credentials);
        ini_free(pr->config);
        free(pr->config_section);
}

static int profile_load(Profile *pr, char **ret_error) {
        const char *v;
        int r;

        *pr = (Profile) {};
        pr->name = getenv_nonempty("AWS_PROFILE") ?: getenv_nonempty("AWS_DEFAULT_PROFILE");
        pr->explicit_name = !!pr->name;
        if (!pr->name)
                pr->name = "default";

        v = getenv_nonempty("AWS_SHARED_CREDENTIALS_FILE");
        pr->credentials_path = v ? expand_user(v) : home_path(".aws/credentials");
        v = getenv_nonempty("AWS_CONFIG_FILE");
        pr->config_path = v ? expand_user(v) : home_path(".aws/config");
        if (!pr->credentials_path || !pr->config_path)
                return -ENOMEM;
        if (streq(pr->name, "default"))
                pr->config_section = strdup("default");
        else if (asprintf(&pr->config_section, "profile %s", pr->name) < 0)
                pr->config_section = NULL;
        if (!pr->config_section)
                return -ENOMEM;

        r = ini_load(pr->credentials_path, &pr->credentials, ret_error);
        if (r < 0 && r != -ENOENT) {
                if (!*ret_error && asprintf(ret_error, "shared credentials file %s: %s", pr->credentials_path, strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        free(*ret_error);
        *ret_error = NULL;
        r = ini_load(pr->config_path, &pr->config, ret_error);
        if (r < 0 && r != -ENOENT) {
                if (!*ret_error && asprintf(ret_error, "shared config file %s: %s", pr->config_path, strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        free(*ret_error);
        *ret_error = NULL;
        return 0;
}

/* A key of the selected profile: the credentials file wins over the config file, as in botocore. */
static const char *profile_get(const Profile *pr, const char *key) {
        const char *v = NULL;
        if (pr->credentials)
                v = ini_get(pr->credentials, pr->name, key);
        if (!v && pr->config)
                v = ini_get(pr->config, pr->config_section, key);
        return isempty(v) ? NULL : v;
}

static bool profile_exists(const Profile *pr) {
        return (pr->credentials && ini_has_section(pr->credentials, pr->name)) ||
               (pr->config && ini_has_section(pr->config, pr->config_section));
}

static int from_profile(AwsCredentials **ret, char **ret_error) {
        _cleanup_(profile_done) Profile pr = {};
        _cleanup_free_ char *source = NULL;
        int r;

        r = profile_load(&pr, ret_error);
        if (r < 0)
                return r;

        if (!profile_exists(&pr)) {
                if (pr.explicit_name) {
                        if (asprintf(ret_error, "profile %s: not found in %s or %s", pr.name, pr.credentials_path,
                                     pr.config_path) < 0)
                                *ret_error = NULL;
                        return -ENOENT;
                }
                return 0;
        }

        /* Sources this version cannot use yet must fail loudly, not fall through to another identity. */
        static const char *const unsupported[] = { "role_arn", "credential_process", "web_identity_token_file",
                                                   "sso_session", "sso_start_url", "credential_source" };
        for (size_t i = 0; i < ELEMENTSOF(unsupported); i++)
                if (profile_get(&pr, unsupported[i]) && !profile_get(&pr, "aws_access_key_id")) {
                        if (asprintf(ret_error, "profile %s: %s is not supported by this version", pr.name,
                                     unsupported[i]) < 0)
                                *ret_error = NULL;
                        return -EOPNOTSUPP;
                }

        const char *id = profile_get(&pr, "aws_access_key_id");
        const char *secret = profile_get(&pr, "aws_secret_access_key");
        if (!id && !secret)
                return 0; /* a profile with only settings (region, …) */
        if (!id || !secret) {
                if (asprintf(ret_error, "profile %s: %s without %s", pr.name,
                             id ? "aws_access_key_id" : "aws_secret_access_key",
                             id ? "aws_secret_access_key" : "aws_access_key_id") < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        if (asprintf(&source, "profile %s", pr.name) < 0)
                return -ENOMEM;
        r = aws_credentials_new(id, secret, profile_get(&pr, "aws_session_token"), USEC_INFINITY, source, ret);
        return r < 0 ? r : 1;
}

/* ---- EC2 instance metadata (IMDSv2, IMDSv1 fallback only where the SDKs do it) ---- */

static const char *imds_endpoint(CredentialsProvider *p) {
        if (!p->endpoint) {
                const char *e = getenv_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
                const char *mode = getenv_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
                if (!e)
                        e = mode && strcasecmp(mode, "IPv6") == 0 ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
                p->endpoint = strdup(e);
                if (p->endpoint) {
                        size_t n = strlen(p->endpoint);
                        while (n > 0 && p->endpoint[n - 1] == '/')
                                p->endpoint[--n] = 0;
                }
        }
        return p->endpoint;
}

static void notify_waiters(CredentialsProvider *p, const AwsCredentials *c, const char *error) {
        /* Callbacks may add or cancel waiters: work on a detached list. */
        Waiter *w = p->waiters;
        size_t n = p->n_waiters;
        p->waiters = NULL;
        p->n_waiters = 0;
        for (size_t i = 0; i < n; i++)
                w[i].done(c, error, w[i].userdata);
        free(w);
}

static void imds_fail(CredentialsProvider *p, const char *fmt, ...) _printf_(2, 3);
static void imds_fail(CredentialsProvider *p, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *full = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (asprintf(&full, "EC2 instance metadata (%s): %s", p->endpoint ?: "?", msg ?: "error") < 0)
                full = NULL;
        imds_reset(p);
        notify_waiters(p, NULL, full ?: "EC2 instance metadata: error");
}

static int imds_send(CredentialsProvider *p);

static void on_imds_done(HttpRequest *req, void *userdata) {
        CredentialsProvider *p = userdata;
        CURLcode cr = http_request_result(req);
        long status = http_request_status(req);
        size_t len;
        const char *body = http_request_body(req, &len);

        if (cr != CURLE_OK) {
                if (p->attempt + 1 < IMDS_ATTEMPTS) {
                        p->attempt++;
                        if (imds_send(p) < 0)
                                imds_fail(p, "cannot send request");
                        return;
                }
                if (cr == CURLE_OPERATION_TIMEDOUT || cr == CURLE_COULDNT_CONNECT)
                        imds_fail(p,
                                  "no answer (%s). Not on EC2? Set credentials another way, or AWS_EC2_METADATA_DISABLED=true. "
                                  "In a container on EC2, the instance metadata hop limit must be at least 2.",
                                  http_request_error(req) ?: curl_easy_strerror(cr));
                else
                        imds_fail(p, "%s", http_request_error(req) ?: curl_easy_strerror(cr));
                return;
        }

        switch (p->step) {
        case IMDS_TOKEN:
                if (status == 200 && len > 0 && aws_is_token_safe(body, len)) {
                        p->token = secret_free(p->token);
                        p->token = strndup(body, len);
                        if (!p->token)
                                return imds_fail(p, "out of memory");
                        p->token_expiry = now_realtime() + (IMDS_TOKEN_TTL - 60) * USEC_PER_SEC;
                        p->v1 = false;
                } else if ((status == 403 || status == 404 || status == 405) && !env_true("AWS_EC2_METADATA_V1_DISABLED")) {
                        log_debug("IMDSv2 token request answered HTTP %ld, falling back to IMDSv1.", status);
                        p->v1 = true;
                } else if (status == 200)
                        return imds_fail(p, "malformed session token");
                else
                        return imds_fail(p, "session token request failed with HTTP %ld", status);
                p->step = IMDS_ROLE;
                break;

        case IMDS_ROLE:
        case IMDS_CREDS:
                if (status == 401 && !p->v1 && !p->token_retried) {
                        /* The token expired or was revoked: get a new one, once. */
                        p->token = secret_free(p->token);
                        p->token_retried = true;
                        p->step = IMDS_TOKEN;
                        break;
                }
                if (status == 404 && p->step == IMDS_ROLE)
                        return imds_fail(p, "no IAM role is attached to this instance");
                if (status != 200)
                        return imds_fail(p, "%s request failed with HTTP %ld",
                                         p->step == IMDS_ROLE ? "role name" : "credentials", status);
                if (p->step == IMDS_ROLE) {
                        size_t n = strcspn(body, "\r\n");
                        if (n == 0 || n > 128 || !aws_is_token_safe(body, n))
                                return imds_fail(p, "malformed role name");
                        free(p->role);
                        p->role = strndup(body, n);
                        if (!p->role)
                                return imds_fail(p, "out of memory");
                        p->step = IMDS_CREDS;
                        break;
                } else {
                        _cleanup_free_ char *source = NULL;
                        AwsCredentials *c = NULL;
                        json_object *j, *code, *id, *secret, *token, *exp;
                        usec_t expiration = USEC_INFINITY;
                        int r;

                        j = json_tokener_parse(body);
                        if (!j || !json_object_is_type(j, json_type_object)) {
                                if (j)
                                        json_object_put(j);
                                return imds_fail(p, "credentials are not valid JSON");
                        }
                        if (json_object_object_get_ex(j, "Code", &code) &&
                            !streq(json_object_get_string(code) ?: "", "Success")) {
                                _cleanup_free_ char *cs = strndup(json_object_get_string(code) ?: "", 64);
                                json_object_put(j);
                                return imds_fail(p, "credentials not available (Code %s)", cs ?: "?");
                        }
                        if (!json_object_object_get_ex(j, "AccessKeyId", &id) ||
                            !json_object_object_get_ex(j, "SecretAccessKey", &secret) ||
                            !json_object_is_type(id, json_type_string) || !json_object_is_type(secret, json_type_string)) {
                                json_object_put(j);
                                return imds_fail(p, "credentials lack AccessKeyId or SecretAccessKey");
                        }
                        if (!json_object_object_get_ex(j, "Token", &token) || !json_object_is_type(token, json_type_string))
                                token = NULL;
                        if (json_object_object_get_ex(j, "Expiration", &exp) && json_object_is_type(exp, json_type_string) &&
                            aws_parse_timestamp(json_object_get_string(exp), &expiration) < 0) {
                                json_object_put(j);
                                return imds_fail(p, "credentials have an invalid Expiration");
                        }
                        if (asprintf(&source, "EC2 instance metadata (role %s)", p->role) < 0)
                                source = NULL;
                        r = aws_credentials_new(json_object_get_string(id), json_object_get_string(secret),
                                                token ? json_object_get_string(token) : NULL, expiration,
                                                source ?: "EC2 instance metadata", &c);
                        secure_zero((char *) json_object_get_string(secret), (size_t) json_object_get_string_len(secret));
                        if (token)
                                secure_zero((char *) json_object_get_string(token), (size_t) json_object_get_string_len(token));
                        json_object_put(j);
                        if (r < 0)
                                return imds_fail(p, "out of memory");

                        aws_credentials_free(p->cached);
                        p->cached = c;
                        log_debug("Got credentials from %s.", c->source);
                        imds_reset(p);
                        notify_waiters(p, c, NULL);
                        return;
                }
        case IMDS_IDLE:
                return;
        }

        p->attempt = 0;
        if (imds_send(p) < 0)
                imds_fail(p, "cannot send request");
}

static int imds_send(CredentialsProvider *p) {
        _cleanup_free_ char *url = NULL;
        HttpRequest *req = NULL;
        int r;

        p->req = http_request_free(p->req);
        if (p->step == IMDS_TOKEN && p->token && now_realtime() < p->token_expiry)
                p->step = IMDS_ROLE;

        switch (p->step) {
        case IMDS_TOKEN:
                r = asprintf(&url, "%s/latest/api/token", imds_endpoint(p));
                break;
        case IMDS_ROLE:
                r = asprintf(&url, "%s/latest/meta-data/iam/security-credentials/", imds_endpoint(p));
                break;
        case IMDS_CREDS:
                r = asprintf(&url, "%s/latest/meta-data/iam/security-credentials/%s", imds_endpoint(p), p->role);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return -ENOMEM;

        r = http_request_new(p->http, p->step == IMDS_TOKEN ? "PUT" : "GET", url, &req);
        if (r < 0)
                return r;
        p->req = req;
        http_request_set_no_proxy(req);
        http_request_set_timeouts(req, IMDS_TIMEOUT_MS, IMDS_TIMEOUT_MS);
        http_request_set_max_body(req, IMDS_MAX_BODY);
        if (p->step == IMDS_TOKEN)
                r = http_request_add_header(req, "X-aws-ec2-metadata-token-ttl-seconds", "21600");
        else if (!p->v1 && p->token)
                r = http_request_add_header(req, "X-aws-ec2-metadata-token", p->token);
        if (r < 0)
                return r;
        return http_request_start(req, on_imds_done, p);
}

static int add_waiter(CredentialsProvider *p, CredentialsDoneFn done, void *userdata) {
        Waiter *w = reallocarray(p->waiters, p->n_waiters + 1, sizeof(Waiter));
        if (!w)
                return -ENOMEM;
        p->waiters = w;
        p->waiters[p->n_waiters++] = (Waiter) { done, userdata };
        return 0;
}

/* The synchronous part of the chain. Returns 1 with credentials, 0 when no such source is
 * configured (go on to IMDS), negative errno with *ret_error on a configured source's failure. */
static int resolve_static(AwsCredentials **ret, char **ret_error) {
        int r;

        r = from_environment(ret, ret_error);
        if (r != 0)
                return r;
        return from_profile(ret, ret_error);
}

int credentials_provider_get(CredentialsProvider *p, AwsCredentials **ret, char **ret_error, CredentialsDoneFn done,
                             void *userdata) {
        int r;

        *ret_error = NULL;
        r = resolve_static(ret, ret_error);
        if (r != 0) {
                if (r < 0 && !*ret_error && asprintf(ret_error, "credentials: %s", strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }

        if (env_true("AWS_EC2_METADATA_DISABLED")) {
                *ret_error = strdup("no AWS credentials found: not in the environment (AWS_ACCESS_KEY_ID), "
                                    "not in the shared credentials/config files, and EC2 instance metadata is "
                                    "disabled (AWS_EC2_METADATA_DISABLED=true)");
                return -ENOKEY;
        }

        if (p->cached && (p->cached->expiration == USEC_INFINITY || now_realtime() + EXPIRY_WINDOW < p->cached->expiration)) {
                *ret = aws_credentials_dup(p->cached);
                return *ret ? 1 : -ENOMEM;
        }

        r = add_waiter(p, done, userdata);
        if (r < 0)
                return r;
        if (p->step == IMDS_IDLE) {
                p->step = IMDS_TOKEN;
                p->attempt = 0;
                p->token_retried = false;
                r = imds_send(p);
                if (r < 0) {
                        p->n_waiters--;
                        imds_reset(p);
                        *ret_error = strdup("EC2 instance metadata: cannot start request");
                        return r;
                }
        }
        return 0;
}

char *credentials_provider_describe(CredentialsProvider *p) {
        _cleanup_(aws_credentials_freep) AwsCredentials *c = NULL;
        _cleanup_free_ char *error = NULL;
        char *s = NULL;
        int r;

        r = resolve_static(&c, &error);
        if (r > 0)
                r = asprintf(&s, "%s (access key %.4s…)", c->source, c->access_key_id);
        else if (r < 0)
                r = asprintf(&s, "error: %s", error ?: strerror(-r));
        else if (env_true("AWS_EC2_METADATA_DISABLED"))
                r = asprintf(&s, "none (EC2 instance metadata disabled)");
        else
                r = asprintf(&s, "EC2 instance metadata at %s", imds_endpoint(p));
        return r < 0 ? NULL : s;
}
