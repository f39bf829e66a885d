/* SPDX-License-Identifier: MIT */
/* Unit tests for the credential chain's resolution (no network): source order, profiles with role
 * chains and loops, credential_source, web identity, credential_process, container credentials and
 * their allowed hosts, STS regions and endpoints, and descriptions without secrets. */
#include <sys/stat.h>

#include "chain.h"
#include "tap.h"

static char dir[] = "/tmp/test-chain.XXXXXX";
static char credentials_path[256], config_path[256];

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "w");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0)
                abort();
}

static void files(const char *credentials, const char *config) {
        unlink(credentials_path);
        unlink(config_path);
        if (credentials)
                write_file(credentials_path, credentials);
        if (config)
                write_file(config_path, config);
}

static void clean_env(void) {
        static const char *const vars[] = {
                "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
                "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_DISABLED", "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_STS", "AWS_STS_REGIONAL_ENDPOINTS", "CREDENTIALS_DIRECTORY", "AWS_USE_FIPS_ENDPOINT",
                "AWS_USE_DUALSTACK_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        };
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                unsetenv(vars[i]);
        setenv("HOME", "/nonexistent", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", credentials_path, 1);
        setenv("AWS_CONFIG_FILE", config_path, 1);
        files(NULL, NULL);
}

static const char *type_name(ChainStepType t) {
        switch (t) {
        case CHAIN_STATIC: return "static";
        case CHAIN_WEB_IDENTITY: return "web-identity";
        case CHAIN_PROCESS: return "process";
        case CHAIN_CONTAINER: return "container";
        case CHAIN_IMDS: return "imds";
        case CHAIN_ROLE: return "role";
        }
        return "?";
}

/* A compact picture of a step chain: "role:NAME < role:NAME < static:LABEL". Role ARNs are shown by
 * their last path element. */
static void shape(const ChainStep *s, char *buf, size_t n) {
        size_t o = 0;
        buf[0] = 0;
        for (; s; s = s->parent) {
                const char *what = s->type == CHAIN_STATIC ? s->label
                                   : s->role_arn ? strrchr(s->role_arn, '/') + 1
                                   : s->type == CHAIN_PROCESS ? s->command
                                   : s->type == CHAIN_CONTAINER ? s->url : "";
                int k = snprintf(buf + o, n - o, "%s%s%s%s", o ? " < " : "", type_name(s->type), *what ? ":" : "", what);
                if (k < 0 || (size_t) k >= n - o)
                        return;
                o += (size_t) k;
        }
}

static ChainStep *resolve_ok(const char *want_shape, const char *what) {
        ChainStep *s = NULL;
        char *error = NULL, got[512] = "";
        int r = chain_resolve(&s, &error);

        if (s)
                shape(s, got, sizeof(got));
        if (!ok(r == 0 && s && !error && streq(got, want_shape), "%s: %s", what, want_shape))
                diag("r=%d got '%s' error: %s", r, got, error ?: "(none)");
        free(error);
        return s;
}

static void resolve_err(int want_r, const char *want_text, const char *what) {
        ChainStep *s = NULL;
        char *error = NULL;
        int r = chain_resolve(&s, &error);

        if (!ok(r == want_r && !s && error && strstr(error, want_text) && !strstr(error, "SeCrEt"), "%s: error \"%s\"", what,
                want_text))
                diag("r=%d error: %s", r, error ?: "(none)");
        free(error);
        chain_step_unref(s);
}

#define KEYS(id) "aws_access_key_id = " id "\naws_secret_access_key = SeCrEt-" id "\n"

static void test_order(void) {
        ChainStep *s;
        char cred_dir[300], path[400];

        clean_env();
        s = resolve_ok("imds", "nothing configured: instance metadata");
        chain_step_unref(s);
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        resolve_err(-ENOKEY, "AWS_EC2_METADATA_DISABLED", "nothing configured, IMDS disabled");

        files("[default]\n" KEYS("AKIAPROFILE"), NULL);
        s = resolve_ok("static:profile default", "default profile's static keys");
        ok(s && streq(s->creds->access_key_id, "AKIAPROFILE") && streq(s->creds->secret_access_key, "SeCrEt-AKIAPROFILE"),
           "  with its keys");
        chain_step_unref(s);

        setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt-env", 1);
        s = resolve_ok("static:environment", "environment beats the profile");
        chain_step_unref(s);
        unsetenv("AWS_SECRET_ACCESS_KEY");
        resolve_err(-EINVAL, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
                    "half the environment keys fail, no fall-through to the profile");
        setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt-env", 1);

        /* systemd credential first of all */
        snprintf(cred_dir, sizeof(cred_dir), "%s/creds", dir);
        mkdir(cred_dir, 0700);
        setenv("CREDENTIALS_DIRECTORY", cred_dir, 1);
        s = resolve_ok("static:environment", "$CREDENTIALS_DIRECTORY without aws-credentials is not a source");
        chain_step_unref(s);
        snprintf(path, sizeof(path), "%s/aws-credentials", cred_dir);
        write_file(path, "[default]\n" KEYS("AKIASYSTEMD"));
        s = resolve_ok("static:systemd credential aws-credentials (profile default)", "the systemd credential beats the environment");
        ok(s && streq(s->creds->access_key_id, "AKIASYSTEMD"), "  with its keys");
        chain_step_unref(s);
        setenv("AWS_PROFILE", "prod", 1);
        resolve_err(-ENOENT, "has no [prod] section", "the systemd credential must have the selected profile");
        write_file(path, "[prod]\naws_access_key_id = AKIAX\n");
        resolve_err(-EINVAL, "needs aws_access_key_id and aws_secret_access_key", "  and its two keys");
        write_file(path, "[prod]\n" KEYS("AKIAPROD") "aws_session_token = tok\n");
        s = resolve_ok("static:systemd credential aws-credentials (profile prod)", "the systemd credential with AWS_PROFILE");
        ok(s && s->creds->session_token && streq(s->creds->session_token, "tok"), "  and a session token");
        chain_step_unref(s);
        write_file(path, "[prod\n");
        resolve_err(-EINVAL, "aws-credentials", "a broken systemd credential is an error");
        unlink(path);
        unsetenv("CREDENTIALS_DIRECTORY");
        unsetenv("AWS_PROFILE");
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");

        /* web identity from the environment, before the profile */
        setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token", 1);
        resolve_err(-EINVAL, "AWS_ROLE_ARN is not", "a token file without AWS_ROLE_ARN is an error");
        setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa", 1);
        s = resolve_ok("web-identity:irsa", "web identity from the environment beats the profile");
        if (s) {
                is_str(s->token_file, "/var/run/secrets/token", "  token file");
                is_str(s->session_name, CHAIN_DEFAULT_SESSION_NAME, "  default session name");
                is_str(s->sts_url, "https://sts.us-east-1.amazonaws.com", "  STS endpoint of the default region");
        }
        chain_step_unref(s);
        setenv("AWS_ROLE_SESSION_NAME", "pod-1", 1);
        setenv("AWS_REGION", "eu-west-1", 1);
        s = resolve_ok("web-identity:irsa", "web identity with AWS_ROLE_SESSION_NAME and AWS_REGION");
        if (s) {
                is_str(s->session_name, "pod-1", "  session name");
                is_str(s->sts_url, "https://sts.eu-west-1.amazonaws.com", "  regional STS endpoint");
        }
        chain_step_unref(s);
        unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
        unsetenv("AWS_ROLE_ARN");
        unsetenv("AWS_ROLE_SESSION_NAME");
        unsetenv("AWS_REGION");

        /* container after the profile */
        setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
        s = resolve_ok("static:profile default", "the profile beats container credentials");
        chain_step_unref(s);
        files(NULL, NULL);
        s = resolve_ok("container:http://169.254.170.2/v2/credentials/abc", "container credentials (relative URI)");
        chain_step_unref(s);
        unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");

        /* missing profiles */
        setenv("AWS_PROFILE", "nosuch", 1);
        resolve_err(-ENOENT, "profile nosuch: not found", "AWS_PROFILE naming a missing profile is an error");
        setenv("AWS_PROFILE", "default", 1);
        resolve_err(-ENOKEY, "no AWS credentials found", "a missing default profile is not");
        unsetenv("AWS_PROFILE");
        setenv("AWS_DEFAULT_PROFILE", "nosuch", 1);
        resolve_err(-ENOENT, "profile nosuch: not found", "AWS_DEFAULT_PROFILE is honoured");
        unsetenv("AWS_DEFAULT_PROFILE");
        files("[default\n", NULL);
        resolve_err(-EINVAL, credentials_path, "a broken credentials file is an error");
        unsetenv("AWS_EC2_METADATA_DISABLED");
}

static void test_profiles(void) {
        ChainStep *s;

        clean_env();
        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("AWS_PROFILE", "top", 1);

        files("[base]\n" KEYS("AKIABASE"),
              "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = base\n"
              "external_id = ext-1\nrole_session_name = sess\nduration_seconds = 1800\nregion = ap-south-1\n");
        s = resolve_ok("role:top < static:profile base", "role_arn + source_profile");
        if (s) {
                is_str(s->external_id, "ext-1", "  external_id");
                is_str(s->session_name, "sess", "  role_session_name");
                is_int(s->duration, 1800, "  duration_seconds");
                is_str(s->sts_url, "https://sts.ap-south-1.amazonaws.com", "  the profile's region picks the STS endpoint");
                is_str(s->sts_region, "ap-south-1", "  and the signing region");
                ok(strstr(s->key, "static:AKIABASE > role:arn:aws:iam::123456789012:role/top|ext-1|sess|1800") != NULL,
                   "  cache key: source identity, role, external ID, session, duration");
                ok(!strstr(s->key, "SeCrEt"), "  the key holds no secret");
        }
        chain_step_unref(s);

        setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
        s = resolve_ok("role:top < static:profile base", "AWS_DEFAULT_REGION beats the profile's region");
        if (s)
                is_str(s->sts_url, "https://sts.us-west-1.amazonaws.com", "  STS endpoint");
        chain_step_unref(s);
        setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5000", 1);
        s = resolve_ok("role:top < static:profile base", "AWS_ENDPOINT_URL_STS");
        if (s)
                is_str(s->sts_url, "http://127.0.0.1:5000", "  overrides the endpoint");
        chain_step_unref(s);
        unsetenv("AWS_ENDPOINT_URL_STS");
        unsetenv("AWS_DEFAULT_REGION");

        files("[base]\n" KEYS("AKIABASE"),
              "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = mid\nsts_regional_endpoints = legacy\n"
              "[profile mid]\nrole_arn = arn:aws:iam::123456789012:role/mid\nsource_profile = base\n");
        s = resolve_ok("role:top < role:mid < static:profile base", "a chain of source profiles");
        if (s)
                is_str(s->sts_url, "https://sts.amazonaws.com", "  sts_regional_endpoints = legacy in us-east-1: global endpoint");
        chain_step_unref(s);

        files("[mid]\n" KEYS("AKIAMID"),
              "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = mid\n"
              "[profile mid]\nrole_arn = arn:aws:iam::123456789012:role/mid\nsource_profile = nowhere\n");
        s = resolve_ok("role:top < static:profile mid", "static keys of a source profile end the chain");
        chain_step_unref(s);

        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = a\n"
                    "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n"
                    "[profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = a\n");
        resolve_err(-ELOOP, "source_profile loop: top -> a -> b -> a", "a source_profile loop is detected");

        files("[top]\n" KEYS("AKIATOP"), "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = top\n");
        s = resolve_ok("role:top < static:profile top", "a profile may be its own source_profile with static keys");
        chain_step_unref(s);
        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = top\n");
        resolve_err(-ELOOP, "source_profile loop: top -> top", "  but not without them");

        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = gone\n");
        resolve_err(-ENOENT, "source_profile gone does not exist", "a missing source profile");
        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = empty\n[profile empty]\nregion = x\n");
        resolve_err(-ENOKEY, "source_profile empty has no credentials", "a source profile without credentials");
        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\n");
        resolve_err(-EINVAL, "role_arn needs source_profile, credential_source or web_identity_token_file", "role_arn alone");
        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = a\ncredential_source = Environment\n");
        resolve_err(-EINVAL, "both source_profile and credential_source", "source_profile and credential_source");
        files("[base]\n" KEYS("AKIABASE"),
              "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = base\nduration_seconds = 60\n");
        resolve_err(-EINVAL, "duration_seconds must be a number of seconds from 900 to 43200", "duration_seconds out of range");
        files("[base]\n" KEYS("AKIABASE"),
              "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = base\nmfa_serial = arn:x\n");
        resolve_err(-EOPNOTSUPP, "mfa_serial is not supported", "mfa_serial");

        /* credential_source */
        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\ncredential_source = Ec2InstanceMetadata\n");
        s = resolve_ok("role:top < imds", "credential_source = Ec2InstanceMetadata (even with IMDS off for the chain)");
        chain_step_unref(s);
        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\ncredential_source = EcsContainer\n");
        resolve_err(-ENOKEY, "credential_source EcsContainer, but neither", "EcsContainer without container variables");
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:8080/creds", 1);
        s = resolve_ok("role:top < container:http://127.0.0.1:8080/creds", "credential_source = EcsContainer");
        chain_step_unref(s);
        unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\ncredential_source = Environment\n");
        resolve_err(-ENOKEY, "credential_source Environment, but AWS_ACCESS_KEY_ID", "Environment without keys");
        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\ncredential_source = Magic\n");
        resolve_err(-EINVAL, "credential_source Magic is not supported", "an unknown credential_source");
        files(NULL, "[profile top]\ncredential_source = Environment\n");
        resolve_err(-EINVAL, "credential_source needs role_arn", "credential_source without role_arn");

        /* credential_source = Environment: the environment wins first in the chain, as in the SDKs;
         * the profile resolver itself still honours it. */
        {
                IniFile *cfg = NULL;
                char *error = NULL;
                const char *text = "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\ncredential_source = Environment\n";
                ChainFiles f = { .sts_region = "us-east-1" };
                char got[256] = "";
                ini_load_buffer("config", text, strlen(text), &cfg, NULL);
                f.config = cfg;
                setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
                setenv("AWS_SECRET_ACCESS_KEY", "SeCrEt-env", 1);
                s = NULL;
                ok(chain_resolve_profile(&f, "top", true, &s, &error) == 1 && s, "credential_source = Environment");
                if (s)
                        shape(s, got, sizeof(got));
                is_str(got, "role:top < static:environment", "  assumes the role with the environment's keys");
                chain_step_unref(s);
                free(error);
                ini_free(cfg);
                unsetenv("AWS_ACCESS_KEY_ID");
                unsetenv("AWS_SECRET_ACCESS_KEY");
        }

        /* web identity, process, SSO */
        files(NULL, "[profile top]\nrole_arn = arn:aws:iam::123456789012:role/wi\nweb_identity_token_file = /t\nsource_profile = x\n"
                    "role_session_name = s1\n");
        s = resolve_ok("web-identity:wi", "web_identity_token_file + role_arn (source_profile ignored)");
        if (s)
                ok(streq(s->token_file, "/t") && streq(s->session_name, "s1"), "  token file and session name");
        chain_step_unref(s);
        files(NULL, "[profile top]\nweb_identity_token_file = /t\n");
        resolve_err(-EINVAL, "web_identity_token_file needs role_arn", "web_identity_token_file without role_arn");
        files(NULL, "[profile top]\ncredential_process = /usr/bin/helper --secret SeCrEt\n");
        s = resolve_ok("process:/usr/bin/helper --secret SeCrEt", "credential_process");
        if (s) {
                char *d = chain_describe(s);
                ok(d && strstr(d, "/usr/bin/helper") && !strstr(d, "SeCrEt"), "  described without its arguments: %s", d ?: "-");
                free(d);
        }
        chain_step_unref(s);
        files("[top]\n" KEYS("AKIATOP"), "[profile top]\ncredential_process = /usr/bin/helper\n");
        s = resolve_ok("static:profile top", "static keys beat credential_process");
        chain_step_unref(s);
        files("[top]\naws_secret_access_key = SeCrEt\n", NULL);
        resolve_err(-EINVAL, "aws_secret_access_key without aws_access_key_id", "half a key pair in a profile");
        files(NULL, "[profile top]\nsso_session = corp\nsso_account_id = 1\n");
        resolve_err(-EOPNOTSUPP, "(SSO) profiles are not supported", "SSO profiles");
        files("[base]\n" KEYS("AKIABASE"), "[profile top]\ncredential_process = helper\n[profile x]\nrole_arn = arn:aws:iam::1:role/r\n"
              "source_profile = top\n");
        setenv("AWS_PROFILE", "x", 1);
        s = resolve_ok("role:r < process:helper", "a credential_process source profile");
        chain_step_unref(s);
        unsetenv("AWS_PROFILE");
}

static void test_container(void) {
        static const char *const allowed[] = {
                "http://127.0.0.1/creds", "http://127.0.0.1:8080/creds", "http://127.1.2.3/x", "http://localhost:80/x",
                "https://127.0.0.1/x", "http://[::1]:8080/x", "http://169.254.170.2/v2/credentials/x",
                "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials", "HTTP://LOCALHOST/x",
        };
        static const char *const refused[] = {
                "http://192.168.1.10/creds", "http://example.com/creds", "http://169.254.169.254/latest", "ftp://127.0.0.1/x",
                "http://[fd00:ec2::24]/x", "not a url", "http://127.0.0.1.evil.example/x", "http://localhost.evil.example/x",
                "file:///etc/passwd", "http://[::ffff:8.8.8.8]/x", "http://[fe80::1%25eth0]/x", "",
        };
        ChainStep *s;
        char *d;

        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                ok(chain_container_url_allowed(allowed[i]), "full URI allowed: %s", allowed[i]);
        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                ok(!chain_container_url_allowed(refused[i]), "full URI refused: %s", refused[i]);

        clean_env();
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.0.0.1/creds", 1);
        resolve_err(-EPERM, "is not allowed", "a disallowed full URI fails (no fall-through to IMDS)");
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials", 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "SeCrEt-token", 1);
        s = resolve_ok("container:http://169.254.170.23/v1/credentials", "EKS Pod Identity full URI with a token");
        ok(s && s->auth_token && streq(s->auth_token, "SeCrEt-token") && !s->auth_token_file, "  token from the environment");
        d = s ? chain_describe(s) : NULL;
        ok(d && !strstr(d, "SeCrEt") && strstr(d, "AWS_CONTAINER_AUTHORIZATION_TOKEN"), "  described without the token: %s",
           d ?: "-");
        free(d);
        chain_step_unref(s);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/secrets/eks-pod-identity-token", 1);
        s = resolve_ok("container:http://169.254.170.23/v1/credentials", "token file and token");
        ok(s && !s->auth_token && s->auth_token_file && streq(s->auth_token_file, "/var/run/secrets/eks-pod-identity-token"),
           "  the token file wins");
        chain_step_unref(s);
        unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "bad\r\nX-Injected: 1", 1);
        resolve_err(-EINVAL, "contains a line break", "a token with a line break is refused");
        unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/x", 1);
        s = resolve_ok("container:http://169.254.170.2/v2/x", "the relative URI beats the full URI");
        chain_step_unref(s);
}

static void test_roles_and_describe(void) {
        ChainStep *s = NULL, *role = NULL;
        char *error = NULL, *d;

        clean_env();
        files("[default]\n" KEYS("AKIADESCRIBE"), NULL);
        s = resolve_ok("static:profile default", "base identity");
        if (!s)
                return;
        ok(chain_role(s, "arn:aws:iam::210987654321:role/reader", "ext", NULL, 0, "us-west-2", false, "registry roleArn", &role,
                      &error) == 1 && role, "a registry role on top of the chain");
        if (role) {
                is_str(role->sts_url, "https://sts.us-west-2.amazonaws.com", "  regional STS endpoint of the registry");
                is_str(role->session_name, "ecr-token-refresh", "  default session name");
                d = chain_describe(role);
                ok(d && strstr(d, "role arn:aws:iam::210987654321:role/reader") && strstr(d, "external ID set") &&
                   strstr(d, "profile default (access key AKIA…)") && !strstr(d, "SeCrEt") && !strstr(d, "ext,") &&
                   !strstr(d, "AKIADESCRIBE"),
                   "  described without secrets: %s", d ?: "-");
                free(d);
        }
        chain_step_unref(role);
        role = NULL;
        ok(chain_role(s, "arn:aws-cn:iam::210987654321:role/reader", NULL, "mine", 0, "cn-north-1", false, "registry roleArn",
                      &role, &error) == 1 && role && streq(role->sts_url, "https://sts.cn-north-1.amazonaws.com.cn") &&
           streq(role->session_name, "mine"),
           "a registry role in China, own session name");
        chain_step_unref(role);
        chain_step_unref(s);
        free(error);
}

int main(void) {
        char cmd[300];

        if (!mkdtemp(dir))
                return 1;
        snprintf(credentials_path, sizeof(credentials_path), "%s/credentials", dir);
        snprintf(config_path, sizeof(config_path), "%s/config", dir);

        test_order();
        test_profiles();
        test_container();
        test_roles_and_describe();

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                diag("cleanup failed");
        return done_testing();
}
