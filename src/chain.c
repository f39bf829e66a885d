/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <pwd.h>
#include <stdarg.h>
#include <strings.h>
#include <curl/curl.h>

#include "chain.h"
#include "sts.h"

#define ECS_CONTAINER_HOST "http://169.254.170.2"

static int errorf(char **ret_error, int error, const char *fmt, ...) _printf_(3, 4);
static int errorf(char **ret_error, int error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return *ret_error ? error : -ENOMEM;
}

ChainStep *chain_step_ref(ChainStep *s) {
        if (s)
                s->n_ref++;
        return s;
}

ChainStep *chain_step_unref(ChainStep *s) {
        if (!s || --s->n_ref > 0)
                return NULL;
        chain_step_unref(s->parent);
        free(s->key);
        free(s->label);
        aws_credentials_free(s->creds);
        free(s->role_arn);
        free(s->session_name);
        free(s->external_id);
        free(s->sts_url);
        free(s->sts_region);
        free(s->token_file);
        secret_free(s->command); /* a command line may carry a secret */
        free(s->url);
        secret_free(s->auth_token);
        free(s->auth_token_file);
        free(s);
        return NULL;
}

void chain_step_unrefp(ChainStep **s) {
        *s = chain_step_unref(*s);
}

static ChainStep *step_new(ChainStepType type, const char *label) {
        ChainStep *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->n_ref = 1;
        s->type = type;
        s->label = strdup(label);
        if (!s->label) {
                free(s);
                return NULL;
        }
        return s;
}

static int dup_to(char **dst, const char *s) {
        if (!s)
                return 0;
        *dst = strdup(s);
        return *dst ? 0 : -ENOMEM;
}

static int static_step(const char *label, const char *id, const char *secret, const char *token, ChainStep **ret) {
        _cleanup_(chain_step_unrefp) ChainStep *s = step_new(CHAIN_STATIC, label);
        int r;

        if (!s)
                return -ENOMEM;
        r = aws_credentials_new(id, secret, token, USEC_INFINITY, label, &s->creds);
        if (r < 0)
                return r;
        if (asprintf(&s->key, "static:%s", id) < 0) {
                s->key = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(s);
        return 1;
}

static int imds_step(ChainStep **ret) {
        ChainStep *s = step_new(CHAIN_IMDS, "EC2 instance metadata");
        if (!s || !(s->key = strdup("imds"))) {
                chain_step_unref(s);
                return -ENOMEM;
        }
        *ret = s;
        return 1;
}

/* ---- environment ---- */

static int resolve_environment(ChainStep **ret, char **ret_error) {
        const char *id = getenv_nonempty("AWS_ACCESS_KEY_ID") ?: getenv_nonempty("AWS_ACCESS_KEY");
        const char *secret = getenv_nonempty("AWS_SECRET_ACCESS_KEY") ?: getenv_nonempty("AWS_SECRET_KEY");

        if (!id && !secret)
                return 0;
        if (!id || !secret)
                return errorf(ret_error, -EINVAL, "environment: %s is set but %s is not",
                              id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                              id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        return static_step("environment", id, secret, getenv("AWS_SESSION_TOKEN"), ret);
}

static int web_identity_step(const char *label, const char *token_file, const char *role_arn, const char *session_name,
                             unsigned duration, const char *region, bool legacy, ChainStep **ret, char **ret_error) {
        _cleanup_(chain_step_unrefp) ChainStep *s = step_new(CHAIN_WEB_IDENTITY, label);
        const char *signing_region;
        int r;

        if (!s)
                return -ENOMEM;
        if (dup_to(&s->token_file, token_file) < 0 || dup_to(&s->role_arn, role_arn) < 0 ||
            dup_to(&s->session_name, session_name ?: CHAIN_DEFAULT_SESSION_NAME) < 0)
                return -ENOMEM;
        s->duration = duration;
        r = sts_endpoint(region, legacy, &s->sts_url, &signing_region, ret_error);
        if (r < 0)
                return r;
        if (dup_to(&s->sts_region, signing_region) < 0)
                return -ENOMEM;
        if (asprintf(&s->key, "web-identity:%s|%s|%s|%u|%s", token_file, role_arn, s->session_name, duration, s->sts_url) < 0) {
                s->key = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(s);
        return 1;
}

static int resolve_web_identity_env(const ChainFiles *f, ChainStep **ret, char **ret_error) {
        const char *file = getenv_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE");
        const char *role = getenv_nonempty("AWS_ROLE_ARN");

        if (!file)
                return 0;
        if (!role)
                return errorf(ret_error, -EINVAL,
                              "web identity from the environment: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
        return web_identity_step("web identity from the environment", file, role, getenv_nonempty("AWS_ROLE_SESSION_NAME"),
                                 0, f->sts_region, f->sts_legacy_global, ret, ret_error);
}

/* ---- container credentials ---- */

bool chain_container_url_allowed(const char *url) {
        CURLU *u = curl_url();
        char *host = NULL, *scheme = NULL;
        bool ok = false;

        if (!u)
                return false;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                goto out;
        if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
                goto out;

        if (host[0] == '[') {
                struct in6_addr a6, ecs6;
                size_t n = strlen(host);
                if (n < 3 || host[n - 1] != ']')
                        goto out;
                host[n - 1] = 0;
                if (strchr(host, '%') || inet_pton(AF_INET6, host + 1, &a6) != 1)
                        goto out;
                (void) inet_pton(AF_INET6, "fd00:ec2::23", &ecs6);
                ok = IN6_IS_ADDR_LOOPBACK(&a6) || memcmp(&a6, &ecs6, sizeof(a6)) == 0;
        } else {
                struct in_addr a4;
                if (strcasecmp(host, "localhost") == 0)
                        ok = true;
                else if (inet_pton(AF_INET, host, &a4) == 1)
                        ok = (ntohl(a4.s_addr) >> 24) == 127 || streq(host, "169.254.170.2") ||
                             streq(host, "169.254.170.23");
        }
out:
        curl_free(host);
        curl_free(scheme);
        curl_url_cleanup(u);
        return ok;
}

int chain_resolve_container(ChainStep **ret, char **ret_error) {
        const char *rel = getenv_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        const char *full = getenv_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        const char *token_file = getenv_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        const char *token = getenv_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        _cleanup_(chain_step_unrefp) ChainStep *s = NULL;
        _cleanup_free_ char *url = NULL;

        if (rel) {
                if (asprintf(&url, "%s%s%s", ECS_CONTAINER_HOST, rel[0] == '/' ? "" : "/", rel) < 0)
                        return -ENOMEM;
        } else if (full) {
                if (!chain_container_url_allowed(full))
                        return errorf(ret_error, -EPERM,
                                      "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI %.200s is not allowed: it must "
                                      "be an http(s) URL of a loopback address, 169.254.170.2, 169.254.170.23 or [fd00:ec2::23]",
                                      full);
                url = strdup(full);
                if (!url)
                        return -ENOMEM;
        } else
                return 0;

        s = step_new(CHAIN_CONTAINER, "container credentials");
        if (!s)
                return -ENOMEM;
        s->url = TAKE_PTR(url);
        if (dup_to(&s->auth_token_file, token_file) < 0 || (!token_file && dup_to(&s->auth_token, token) < 0))
                return -ENOMEM;
        if (s->auth_token && strpbrk(s->auth_token, "\r\n"))
                return errorf(ret_error, -EINVAL,
                              "container credentials: AWS_CONTAINER_AUTHORIZATION_TOKEN contains a line break");
        if (asprintf(&s->key, "container:%s", s->url) < 0) {
                s->key = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(s);
        return 1;
}

/* ---- roles ---- */

int chain_role(ChainStep *parent, const char *role_arn, const char *external_id, const char *session_name,
               unsigned duration, const char *region, bool legacy_global, const char *label, ChainStep **ret,
               char **ret_error) {
        _cleanup_(chain_step_unrefp) ChainStep *s = step_new(CHAIN_ROLE, label);
        const char *signing_region;
        int r;

        if (!s)
                return -ENOMEM;
        s->parent = chain_step_ref(parent);
        if (dup_to(&s->role_arn, role_arn) < 0 || dup_to(&s->external_id, external_id) < 0 ||
            dup_to(&s->session_name, session_name ?: CHAIN_DEFAULT_SESSION_NAME) < 0)
                return -ENOMEM;
        s->duration = duration;
        r = sts_endpoint(region, legacy_global, &s->sts_url, &signing_region, ret_error);
        if (r < 0)
                return r;
        if (dup_to(&s->sts_region, signing_region) < 0)
                return -ENOMEM;
        if (asprintf(&s->key, "%s > role:%s|%s|%s|%u", parent->key, role_arn, external_id ?: "", s->session_name,
                     duration) < 0) {
                s->key = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(s);
        return 1;
}

/* ---- profiles ---- */

typedef struct ProfileRef {
        const ChainFiles *f;
        const char *name;
        const char *config_section; /* NULL when the config file has no such profile */
} ProfileRef;

static ProfileRef profile_ref(const ChainFiles *f, const char *name) {
        return (ProfileRef) {
                .f = f,
                .name = name,
                .config_section = f->config ? ini_config_section(f->config, "profile", name) : NULL,
        };
}

/* A key of the profile: the credentials file wins over the config file, as in botocore. */
static const char *profile_get(const ProfileRef *p, const char *key) {
        const char *v = NULL;
        if (p->f->credentials && ini_has_section(p->f->credentials, p->name))
                v = ini_get(p->f->credentials, p->name, key);
        if (isempty(v) && p->config_section)
                v = ini_get(p->f->config, p->config_section, key);
        return isempty(v) ? NULL : v;
}

static bool profile_exists(const ProfileRef *p) {
        return (p->f->credentials && ini_has_section(p->f->credentials, p->name)) || p->config_section;
}

static int profile_static(const ProfileRef *p, ChainStep **ret, char **ret_error) {
        _cleanup_free_ char *label = NULL;
        const char *id = profile_get(p, "aws_access_key_id");
        const char *secret = profile_get(p, "aws_secret_access_key");

        if (!id && !secret)
                return 0;
        if (!id || !secret)
                return errorf(ret_error, -EINVAL, "profile %s: %s without %s", p->name,
                              id ? "aws_access_key_id" : "aws_secret_access_key",
                              id ? "aws_secret_access_key" : "aws_access_key_id");
        if (asprintf(&label, "profile %s", p->name) < 0)
                return -ENOMEM;
        return static_step(label, id, secret, profile_get(p, "aws_session_token"), ret);
}

static int parse_duration_seconds(const ProfileRef *p, unsigned *ret, char **ret_error) {
        const char *v = profile_get(p, "duration_seconds");
        unsigned long n = 0;

        *ret = 0;
        if (!v)
                return 0;
        if (strspn(v, "0123456789") != strlen(v) || strlen(v) > 6 || (n = strtoul(v, NULL, 10)) < 900 || n > 43200)
                return errorf(ret_error, -EINVAL,
                              "profile %s: duration_seconds must be a number of seconds from 900 to 43200", p->name);
        *ret = (unsigned) n;
        return 0;
}

static int credential_source_step(const ProfileRef *p, const char *cs, ChainStep **ret, char **ret_error) {
        int r;

        if (streq(cs, "Environment")) {
                r = resolve_environment(ret, ret_error);
                if (r == 0)
                        return errorf(ret_error, -ENOKEY,
                                      "profile %s: credential_source Environment, but AWS_ACCESS_KEY_ID and "
                                      "AWS_SECRET_ACCESS_KEY are not set", p->name);
                return r;
        }
        if (streq(cs, "Ec2InstanceMetadata"))
                return imds_step(ret);
        if (streq(cs, "EcsContainer")) {
                r = chain_resolve_container(ret, ret_error);
                if (r == 0)
                        return errorf(ret_error, -ENOKEY,
                                      "profile %s: credential_source EcsContainer, but neither "
                                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
                                      p->name);
                return r;
        }
        return errorf(ret_error, -EINVAL,
                      "profile %s: credential_source %.100s is not supported (use Environment, Ec2InstanceMetadata or "
                      "EcsContainer)", p->name, cs);
}

static int resolve_profile(const ChainFiles *f, const char *name, const char **visited, size_t n_visited, bool is_source,
                           bool must_exist, ChainStep **ret, char **ret_error);

static int format_loop(const char **visited, size_t n_visited, const char *last, char **ret) {
        size_t len = strlen(last) + 1;
        char *s;

        for (size_t i = 0; i < n_visited; i++)
                len += strlen(visited[i]) + 4;
        s = malloc(len);
        if (!s)
                return -ENOMEM;
        s[0] = 0;
        for (size_t i = 0; i < n_visited; i++) {
                strcat(s, visited[i]);
                strcat(s, " -> ");
        }
        strcat(s, last);
        *ret = s;
        return 0;
}

/* The credentials of source_profile src of profile p, which visited (in order) lead to. */
static int source_profile_step(const ProfileRef *p, const char *src, const char **visited, size_t n_visited,
                               ChainStep **ret, char **ret_error) {
        const char *chain[CHAIN_ROLE_DEPTH_MAX + 1];
        bool seen = streq(src, p->name);
        int r;

        if (n_visited >= CHAIN_ROLE_DEPTH_MAX)
                return errorf(ret_error, -ELOOP, "profile %s: source_profile chain longer than %d profiles", p->name,
                              CHAIN_ROLE_DEPTH_MAX);
        for (size_t i = 0; i < n_visited; i++)
                if (streq(visited[i], src))
                        seen = true;
        if (n_visited > 0)
                memcpy(chain, visited, n_visited * sizeof(char *));
        chain[n_visited] = p->name;

        if (seen) {
                _cleanup_free_ char *loop = NULL;
                /* A profile may name itself, to assume a role with its own static keys (botocore). */
                if (streq(src, p->name)) {
                        r = profile_static(p, ret, ret_error);
                        if (r != 0)
                                return r;
                }
                if (format_loop(chain, n_visited + 1, src, &loop) < 0)
                        return -ENOMEM;
                return errorf(ret_error, -ELOOP, "profile %s: source_profile loop: %s", p->name, loop);
        }
        r = resolve_profile(p->f, src, chain, n_visited + 1, true, true, ret, ret_error);
        if (r == 0)
                return errorf(ret_error, -ENOKEY, "profile %s: source_profile %s has no credentials", p->name, src);
        return r;
}

static int profile_role(const ProfileRef *p, const char *role_arn, const char **visited, size_t n_visited,
                        ChainStep **ret, char **ret_error) {
        _cleanup_(chain_step_unrefp) ChainStep *parent = NULL;
        _cleanup_free_ char *label = NULL;
        const char *src = profile_get(p, "source_profile");
        const char *cs = profile_get(p, "credential_source");
        unsigned duration;
        int r;

        if (src && cs)
                return errorf(ret_error, -EINVAL, "profile %s: has both source_profile and credential_source; use one",
                              p->name);
        if (!src && !cs)
                return errorf(ret_error, -EINVAL,
                              "profile %s: role_arn needs source_profile, credential_source or web_identity_token_file",
                              p->name);
        if (profile_get(p, "mfa_serial"))
                return errorf(ret_error, -EOPNOTSUPP,
                              "profile %s: mfa_serial is not supported (a service cannot ask for an MFA code)", p->name);
        r = parse_duration_seconds(p, &duration, ret_error);
        if (r < 0)
                return r;

        if (cs)
                r = credential_source_step(p, cs, &parent, ret_error);
        else
                r = source_profile_step(p, src, visited, n_visited, &parent, ret_error);
        if (r < 0)
                return r;

        if (asprintf(&label, "profile %s", p->name) < 0)
                return -ENOMEM;
        return chain_role(parent, role_arn, profile_get(p, "external_id"), profile_get(p, "role_session_name"), duration,
                          p->f->sts_region, p->f->sts_legacy_global, label, ret, ret_error);
}

static int resolve_profile(const ChainFiles *f, const char *name, const char **visited, size_t n_visited, bool is_source,
                           bool must_exist, ChainStep **ret, char **ret_error) {
        ProfileRef p = profile_ref(f, name);
        _cleanup_free_ char *label = NULL;
        const char *role_arn, *v;
        int r;

        if (!profile_exists(&p)) {
                if (is_source)
                        return errorf(ret_error, -ENOENT, "profile %s: source_profile %s does not exist in %s or %s",
                                      visited[n_visited - 1], name, f->credentials_path ?: "the credentials file",
                                      f->config_path ?: "the config file");
                if (must_exist)
                        return errorf(ret_error, -ENOENT, "profile %s: not found in %s or %s", name,
                                      f->credentials_path ?: "the credentials file", f->config_path ?: "the config file");
                return 0;
        }

        /* Static keys of a source profile end the chain, even when it has a role_arn (botocore). */
        if (is_source) {
                r = profile_static(&p, ret, ret_error);
                if (r != 0)
                        return r;
        }

        role_arn = profile_get(&p, "role_arn");
        v = profile_get(&p, "web_identity_token_file");
        if (v) {
                unsigned duration;
                if (!role_arn)
                        return errorf(ret_error, -EINVAL, "profile %s: web_identity_token_file needs role_arn", name);
                r = parse_duration_seconds(&p, &duration, ret_error);
                if (r < 0)
                        return r;
                if (asprintf(&label, "profile %s (web_identity_token_file)", name) < 0)
                        return -ENOMEM;
                return web_identity_step(label, v, role_arn, profile_get(&p, "role_session_name"), duration, f->sts_region,
                                         f->sts_legacy_global, ret, ret_error);
        }
        if (role_arn)
                return profile_role(&p, role_arn, visited, n_visited, ret, ret_error);

        r = profile_static(&p, ret, ret_error);
        if (r != 0)
                return r;
        if (profile_get(&p, "source_profile"))
                return errorf(ret_error, -EINVAL, "profile %s: source_profile needs role_arn", name);
        if (profile_get(&p, "credential_source"))
                return errorf(ret_error, -EINVAL, "profile %s: credential_source needs role_arn", name);

        v = profile_get(&p, "credential_process");
        if (v) {
                _cleanup_(chain_step_unrefp) ChainStep *s = NULL;
                if (asprintf(&label, "profile %s (credential_process)", name) < 0)
                        return -ENOMEM;
                s = step_new(CHAIN_PROCESS, label);
                if (!s || dup_to(&s->command, v) < 0)
                        return -ENOMEM;
                if (asprintf(&s->key, "process:%s", v) < 0) {
                        s->key = NULL;
                        return -ENOMEM;
                }
                *ret = TAKE_PTR(s);
                return 1;
        }
        if (profile_get(&p, "sso_session") || profile_get(&p, "sso_start_url"))
                return errorf(ret_error, -EOPNOTSUPP,
                              "profile %s: IAM Identity Center (SSO) profiles are not supported: they need an interactive "
                              "login; use a role, credential_process or static keys", name);
        return 0;
}

int chain_resolve_profile(const ChainFiles *f, const char *name, bool must_exist, ChainStep **ret, char **ret_error) {
        return resolve_profile(f, name, NULL, 0, false, must_exist, ret, ret_error);
}

/* ---- the whole chain ---- */

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

static int load_ini(const char *what, const char *path, IniFile **ret, char **ret_error) {
        int r = ini_load(path, ret, ret_error);
        if (r == -ENOENT) {
                *ret = NULL;
                free(*ret_error);
                *ret_error = NULL;
                return 0;
        }
        if (r < 0 && !*ret_error)
                return errorf(ret_error, r, "%s %s: %s", what, path, strerror(-r));
        return r;
}

static const char *selected_profile(bool *ret_explicit) {
        const char *name = getenv_nonempty("AWS_PROFILE") ?: getenv_nonempty("AWS_DEFAULT_PROFILE");
        *ret_explicit = name && !streq(name, "default"); /* botocore: a missing "default" is no error */
        return name ?: "default";
}

static int resolve_credentials_directory(ChainStep **ret, char **ret_error) {
        const char *dir = getenv_nonempty("CREDENTIALS_DIRECTORY");
        _cleanup_(ini_freep) IniFile *f = NULL;
        _cleanup_free_ char *path = NULL, *label = NULL;
        const char *name, *id, *secret;
        bool explicit_name;
        int r;

        if (!dir)
                return 0;
        if (asprintf(&path, "%s/aws-credentials", dir) < 0)
                return -ENOMEM;
        r = load_ini("systemd credential", path, &f, ret_error);
        if (r < 0)
                return r;
        if (!f)
                return 0;

        name = selected_profile(&explicit_name);
        if (asprintf(&label, "systemd credential aws-credentials (profile %s)", name) < 0)
                return -ENOMEM;
        if (!ini_has_section(f, name))
                return errorf(ret_error, -ENOENT, "%s: %s has no [%s] section", label, path, name);
        id = ini_get(f, name, "aws_access_key_id");
        secret = ini_get(f, name, "aws_secret_access_key");
        if (isempty(id) || isempty(secret))
                return errorf(ret_error, -EINVAL, "%s: needs aws_access_key_id and aws_secret_access_key (only static keys "
                              "are read from a systemd credential)", label);
        return static_step(label, id, secret, ini_get(f, name, "aws_session_token"), ret);
}

static bool region_is_sane(const char *s) {
        return !isempty(s) && strlen(s) < 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

int chain_resolve(ChainStep **ret, char **ret_error) {
        _cleanup_(ini_freep) IniFile *credentials = NULL, *config = NULL;
        _cleanup_free_ char *credentials_path = NULL, *config_path = NULL;
        ChainFiles f = {};
        const char *v, *name, *region, *regional;
        bool explicit_name;
        int r;

        *ret_error = NULL;
        r = resolve_credentials_directory(ret, ret_error);
        if (r != 0)
                return r < 0 ? r : 0;
        r = resolve_environment(ret, ret_error);
        if (r != 0)
                return r < 0 ? r : 0;

        v = getenv_nonempty("AWS_SHARED_CREDENTIALS_FILE");
        credentials_path = v ? expand_user(v) : home_path(".aws/credentials");
        v = getenv_nonempty("AWS_CONFIG_FILE");
        config_path = v ? expand_user(v) : home_path(".aws/config");
        if (!credentials_path || !config_path)
                return -ENOMEM;
        r = load_ini("shared credentials file", credentials_path, &credentials, ret_error);
        if (r < 0)
                return r;
        r = load_ini("shared config file", config_path, &config, ret_error);
        if (r < 0)
                return r;

        name = selected_profile(&explicit_name);
        f = (ChainFiles) {
                .credentials = credentials,
                .config = config,
                .credentials_path = credentials_path,
                .config_path = config_path,
        };
        ProfileRef selected = profile_ref(&f, name);
        region = getenv_nonempty("AWS_REGION") ?: getenv_nonempty("AWS_DEFAULT_REGION") ?: profile_get(&selected, "region")
                                                                                          ?: CHAIN_DEFAULT_REGION;
        if (!region_is_sane(region))
                return errorf(ret_error, -EINVAL, "region %.64s (for STS) is not a region name", region);
        f.sts_region = region;
        regional = getenv_nonempty("AWS_STS_REGIONAL_ENDPOINTS") ?: profile_get(&selected, "sts_regional_endpoints");
        if (regional && strcasecmp(regional, "legacy") != 0 && strcasecmp(regional, "regional") != 0)
                return errorf(ret_error, -EINVAL, "sts_regional_endpoints must be \"legacy\" or \"regional\", not %.32s",
                              regional);
        f.sts_legacy_global = regional && strcasecmp(regional, "legacy") == 0;

        r = resolve_web_identity_env(&f, ret, ret_error);
        if (r != 0)
                return r < 0 ? r : 0;
        r = chain_resolve_profile(&f, name, explicit_name, ret, ret_error);
        if (r != 0)
                return r < 0 ? r : 0;
        r = chain_resolve_container(ret, ret_error);
        if (r != 0)
                return r < 0 ? r : 0;

        if (env_true("AWS_EC2_METADATA_DISABLED"))
                return errorf(ret_error, -ENOKEY,
                              "no AWS credentials found: not in the environment (AWS_ACCESS_KEY_ID), not in the shared "
                              "credentials/config files, no container credentials, and EC2 instance metadata is disabled "
                              "(AWS_EC2_METADATA_DISABLED=true)");
        r = imds_step(ret);
        return r < 0 ? r : 0;
}

/* ---- describing ---- */

static int describe_into(const ChainStep *s, char **ret);

static int describe_role(const ChainStep *s, char **ret) {
        _cleanup_free_ char *parent = NULL, *duration = NULL;
        int r;

        r = describe_into(s->parent, &parent);
        if (r < 0)
                return r;
        if (s->duration > 0 && asprintf(&duration, ", %us", s->duration) < 0)
                return -ENOMEM;
        if (asprintf(ret, "role %s (%s; session %s%s%s) via STS %s, assumed with %s", s->role_arn, s->label,
                     s->session_name, s->external_id ? ", external ID set" : "", duration ?: "", s->sts_url, parent) < 0)
                return -ENOMEM;
        return 0;
}

static int describe_into(const ChainStep *s, char **ret) {
        int r = -ENOMEM;

        switch (s->type) {
        case CHAIN_STATIC:
                r = asprintf(ret, "%s (access key %.4s…)", s->label, s->creds->access_key_id);
                break;
        case CHAIN_WEB_IDENTITY:
                r = asprintf(ret, "%s: role %s with the token in %s (session %s) via STS %s", s->label, s->role_arn,
                             s->token_file, s->session_name, s->sts_url);
                break;
        case CHAIN_PROCESS: {
                /* Only the program: the arguments may hold something secret. */
                size_t n = strcspn(s->command, " \t");
                r = asprintf(ret, "%s: %.*s%s", s->label, (int) n, s->command, s->command[n] ? " …" : "");
                break;
        }
        case CHAIN_CONTAINER:
                if (s->auth_token_file)
                        r = asprintf(ret, "%s at %s, authorization token from %s", s->label, s->url, s->auth_token_file);
                else if (s->auth_token)
                        r = asprintf(ret, "%s at %s, authorization token from AWS_CONTAINER_AUTHORIZATION_TOKEN", s->label,
                                     s->url);
                else
                        r = asprintf(ret, "%s at %s", s->label, s->url);
                break;
        case CHAIN_IMDS: {
                const char *e = getenv_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
                const char *mode = getenv_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
                if (!e)
                        e = mode && strcasecmp(mode, "IPv6") == 0 ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
                r = asprintf(ret, "EC2 instance metadata at %s", e);
                break;
        }
        case CHAIN_ROLE:
                return describe_role(s, ret);
        }
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

char *chain_describe(const ChainStep *s) {
        char *d = NULL;
        if (describe_into(s, &d) < 0)
                return NULL;
        return d;
}
