/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <strings.h>

#include "sts.h"

#define FORM_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

/* Regions whose STS calls went to the global endpoint under sts_regional_endpoints=legacy. */
static bool is_legacy_global_region(const char *region) {
        static const char *const regions[] = {
                "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "aws-global", "ca-central-1",
                "eu-central-1",   "eu-north-1", "eu-west-1",      "eu-west-2",      "eu-west-3",  "sa-east-1",
                "us-east-1",      "us-east-2",  "us-west-1",      "us-west-2",
        };
        for (size_t i = 0; i < ELEMENTSOF(regions); i++)
                if (streq(region, regions[i]))
                        return true;
        return false;
}

int sts_endpoint(const char *region, bool legacy_global, char **ret_url, const char **ret_signing_region,
                 char **ret_error) {
        const char *v;
        bool fips, dualstack;
        int r;

        *ret_error = NULL;
        *ret_signing_region = region;
        if (!env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
                v = getenv("AWS_ENDPOINT_URL_STS");
                if (isempty(v))
                        v = getenv("AWS_ENDPOINT_URL");
                if (!isempty(v)) {
                        *ret_url = strdup(v);
                        return *ret_url ? 0 : -ENOMEM;
                }
        }

        fips = env_true("AWS_USE_FIPS_ENDPOINT");
        dualstack = env_true("AWS_USE_DUALSTACK_ENDPOINT");
        if (strncmp(region, "cn-", 3) == 0) {
                if (fips) {
                        *ret_error = strdup("FIPS endpoints do not exist in the China partition");
                        return -EINVAL;
                }
                r = dualstack ? asprintf(ret_url, "https://sts.%s.api.amazonwebservices.com.cn", region)
                              : asprintf(ret_url, "https://sts.%s.amazonaws.com.cn", region);
        } else if (fips && strncmp(region, "us-gov-", 7) == 0)
                /* GovCloud's regular STS endpoints are the FIPS ones. */
                r = dualstack ? asprintf(ret_url, "https://sts.%s.api.aws", region)
                              : asprintf(ret_url, "https://sts.%s.amazonaws.com", region);
        else if (fips)
                r = dualstack ? asprintf(ret_url, "https://sts-fips.%s.api.aws", region)
                              : asprintf(ret_url, "https://sts-fips.%s.amazonaws.com", region);
        else if (dualstack)
                r = asprintf(ret_url, "https://sts.%s.api.aws", region);
        else if (legacy_global && is_legacy_global_region(region)) {
                *ret_signing_region = "us-east-1";
                r = asprintf(ret_url, "https://sts.amazonaws.com");
        } else
                r = asprintf(ret_url, "https://sts.%s.amazonaws.com", region);
        if (r < 0) {
                *ret_url = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Appends "&name=value" (value percent-encoded, RFC 3986 unreserved characters kept) to buf[*n]. */
static void form_add(char *buf, size_t *n, const char *name, const char *value) {
        static const char hex[] = "0123456789ABCDEF";

        if (*n > 0)
                buf[(*n)++] = '&';
        for (const char *s = name; *s; s++)
                buf[(*n)++] = *s;
        buf[(*n)++] = '=';
        for (const unsigned char *s = (const unsigned char *) value; *s; s++) {
                if (isalnum(*s) || *s == '-' || *s == '_' || *s == '.' || *s == '~')
                        buf[(*n)++] = (char) *s;
                else {
                        buf[(*n)++] = '%';
                        buf[(*n)++] = hex[*s >> 4];
                        buf[(*n)++] = hex[*s & 15];
                }
        }
        buf[*n] = 0;
}

int sts_form_body(const StsAssumeRole *a, bool web_identity, char **ret) {
        char duration[16];
        size_t max = 128, n = 0;
        char *buf;

        if (isempty(a->role_arn) || isempty(a->session_name) || (web_identity && isempty(a->web_identity_token)))
                return -EINVAL;
        max += 3 * strlen(a->role_arn) + 3 * strlen(a->session_name);
        if (a->external_id)
                max += 16 + 3 * strlen(a->external_id);
        if (web_identity)
                max += 24 + 3 * strlen(a->web_identity_token);
        buf = malloc(max);
        if (!buf)
                return -ENOMEM;
        buf[0] = 0;

        form_add(buf, &n, "Action", web_identity ? "AssumeRoleWithWebIdentity" : "AssumeRole");
        form_add(buf, &n, "Version", STS_API_VERSION);
        form_add(buf, &n, "RoleArn", a->role_arn);
        form_add(buf, &n, "RoleSessionName", a->session_name);
        if (a->external_id && !web_identity)
                form_add(buf, &n, "ExternalId", a->external_id);
        if (a->duration_seconds > 0) {
                snprintf(duration, sizeof(duration), "%u", a->duration_seconds);
                form_add(buf, &n, "DurationSeconds", duration);
        }
        if (web_identity)
                form_add(buf, &n, "WebIdentityToken", a->web_identity_token);
        *ret = buf;
        return 0;
}

int sts_assume_role_request_new(HttpClient *http, const char *url, const char *signing_region, const AwsCredentials *creds,
                                const StsAssumeRole *a, time_t when, HttpRequest **ret) {
        static const char *const headers[] = { "Content-Type", FORM_CONTENT_TYPE, NULL };
        _cleanup_secret_ char *body = NULL;
        int r;

        r = sts_form_body(a, false, &body);
        if (r < 0)
                return r;
        return aws_request_new_signed(http, url, signing_region, "sts", creds, when, headers, body, ret);
}

int sts_web_identity_request_new(HttpClient *http, const char *url, const StsAssumeRole *a, HttpRequest **ret) {
        _cleanup_(http_request_freep) HttpRequest *req = NULL;
        _cleanup_secret_ char *body = NULL;
        int r;

        r = sts_form_body(a, true, &body);
        if (r < 0)
                return r;
        r = http_request_new(http, "POST", url, &req);
        if (r < 0)
                return r;
        r = http_request_add_header(req, "Content-Type", FORM_CONTENT_TYPE);
        if (r < 0)
                return r;
        r = http_request_set_body(req, body, strlen(body));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(req);
        return 0;
}

/* ---- a small reader for the fixed shape of STS answers ---- */

/* Finds the first element named name (no namespace prefix, any attributes) in [s, end) and returns
 * its content range; an empty element <name/> has an empty range. */
static bool xml_find(const char *s, const char *end, const char *name, const char **ret_b, const char **ret_e) {
        size_t n = strlen(name);

        for (const char *p = s; p + n + 1 < end; p++) {
                const char *q, *gt;
                if (p[0] != '<' || memcmp(p + 1, name, n) != 0)
                        continue;
                q = p + 1 + n;
                if (*q != '>' && *q != '/' && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
                        continue;
                gt = memchr(q, '>', (size_t) (end - q));
                if (!gt)
                        return false;
                if (gt[-1] == '/') {
                        *ret_b = *ret_e = gt;
                        return true;
                }
                for (const char *c = gt + 1; c + n + 2 < end; c++) {
                        const char *t;
                        if (c[0] != '<' || c[1] != '/' || memcmp(c + 2, name, n) != 0)
                                continue;
                        t = c + 2 + n;
                        while (t < end && (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n'))
                                t++;
                        if (t < end && *t == '>') {
                                *ret_b = gt + 1;
                                *ret_e = c;
                                return true;
                        }
                }
                return false;
        }
        return false;
}

static void utf8_put(char *out, size_t *o, unsigned long cp) {
        if (cp < 0x80)
                out[(*o)++] = (char) cp;
        else if (cp < 0x800) {
                out[(*o)++] = (char) (0xc0 | (cp >> 6));
                out[(*o)++] = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                out[(*o)++] = (char) (0xe0 | (cp >> 12));
                out[(*o)++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[(*o)++] = (char) (0x80 | (cp & 0x3f));
        } else {
                out[(*o)++] = (char) (0xf0 | (cp >> 18));
                out[(*o)++] = (char) (0x80 | ((cp >> 12) & 0x3f));
                out[(*o)++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[(*o)++] = (char) (0x80 | (cp & 0x3f));
        }
}

/* The text of [b, e): entities decoded, surrounding whitespace trimmed. -EINVAL for markup inside or
 * an unknown entity. */
static int xml_text(const char *b, const char *e, char **ret) {
        char *out;
        size_t o = 0;

        while (b < e && isspace((unsigned char) *b))
                b++;
        while (e > b && isspace((unsigned char) e[-1]))
                e--;
        out = malloc((size_t) (e - b) + 1);
        if (!out)
                return -ENOMEM;
        for (const char *p = b; p < e; p++) {
                const char *semi;
                size_t n;

                if (*p == '<' || *p == 0)
                        goto invalid;
                if (*p != '&') {
                        out[o++] = *p;
                        continue;
                }
                semi = memchr(p, ';', (size_t) (e - p));
                if (!semi || semi - p > 10)
                        goto invalid;
                n = (size_t) (semi - p - 1);
                if (n == 2 && memcmp(p + 1, "lt", 2) == 0)
                        out[o++] = '<';
                else if (n == 2 && memcmp(p + 1, "gt", 2) == 0)
                        out[o++] = '>';
                else if (n == 3 && memcmp(p + 1, "amp", 3) == 0)
                        out[o++] = '&';
                else if (n == 4 && memcmp(p + 1, "quot", 4) == 0)
                        out[o++] = '"';
                else if (n == 4 && memcmp(p + 1, "apos", 4) == 0)
                        out[o++] = '\'';
                else if (n >= 2 && p[1] == '#') {
                        bool hex = p[2] == 'x' || p[2] == 'X';
                        unsigned long cp = 0;
                        const char *d = p + (hex ? 3 : 2);
                        if (d == semi)
                                goto invalid;
                        for (; d < semi; d++) {
                                int v = isdigit((unsigned char) *d) ? *d - '0'
                                        : hex && isxdigit((unsigned char) *d) ? tolower((unsigned char) *d) - 'a' + 10
                                        : -1;
                                if (v < 0)
                                        goto invalid;
                                cp = cp * (hex ? 16 : 10) + (unsigned long) v;
                                if (cp > 0x10ffff)
                                        goto invalid;
                        }
                        if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
                                goto invalid;
                        /* A character reference is never longer in UTF-8 than its source text. */
                        utf8_put(out, &o, cp);
                } else
                        goto invalid;
                p = semi;
        }
        out[o] = 0;
        *ret = out;
        return 0;

invalid:
        secure_zero(out, (size_t) (e - b) + 1);
        free(out);
        return -EINVAL;
}

static int parse_error(char **ret_error, const char *msg) {
        *ret_error = strdup(msg);
        return *ret_error ? -EINVAL : -ENOMEM;
}

int sts_parse_credentials(const char *body, size_t len, const char *action, const char *source, AwsCredentials **ret,
                          char **ret_assumed_arn, char **ret_error) {
        _cleanup_secret_ char *id = NULL, *secret = NULL, *token = NULL;
        _cleanup_free_ char *exp = NULL, *result_tag = NULL, *arn = NULL;
        const char *end = body + len, *rb, *re, *cb, *ce, *b, *e;
        usec_t expiration;
        int r;

        *ret_error = NULL;
        if (asprintf(&result_tag, "%sResult", action) < 0)
                return -ENOMEM;
        if (!xml_find(body, end, result_tag, &rb, &re)) {
                _cleanup_free_ char *msg = NULL;
                if (asprintf(&msg, "the response has no %s element", result_tag) < 0)
                        return -ENOMEM;
                return parse_error(ret_error, msg);
        }
        if (!xml_find(rb, re, "Credentials", &cb, &ce))
                return parse_error(ret_error, "the response has no Credentials element");

        static const struct {
                const char *name;
                size_t offset;
        } fields[] = {
                { "AccessKeyId", 0 },
                { "SecretAccessKey", 1 },
                { "SessionToken", 2 },
                { "Expiration", 3 },
        };
        char **dst[] = { &id, &secret, &token, &exp };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                _cleanup_free_ char *msg = NULL;
                if (!xml_find(cb, ce, fields[i].name, &b, &e) || b == e) {
                        if (asprintf(&msg, "the response's Credentials lack %s", fields[i].name) < 0)
                                return -ENOMEM;
                        return parse_error(ret_error, msg);
                }
                r = xml_text(b, e, dst[fields[i].offset]);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || isempty(*dst[fields[i].offset])) {
                        if (asprintf(&msg, "the response's %s is malformed", fields[i].name) < 0)
                                return -ENOMEM;
                        return parse_error(ret_error, msg);
                }
        }
        if (!aws_is_token_safe(id, strlen(id)))
                return parse_error(ret_error, "the response's AccessKeyId is malformed");
        if (aws_parse_timestamp(exp, &expiration) < 0)
                return parse_error(ret_error, "the response's Expiration is not a timestamp");

        if (ret_assumed_arn) {
                const char *ub, *ue;
                if (xml_find(rb, re, "AssumedRoleUser", &ub, &ue) && xml_find(ub, ue, "Arn", &b, &e)) {
                        r = xml_text(b, e, &arn);
                        if (r == -ENOMEM)
                                return r;
                }
        }

        r = aws_credentials_new(id, secret, token, expiration, source, ret);
        if (r < 0)
                return r;
        if (ret_assumed_arn)
                *ret_assumed_arn = TAKE_PTR(arn);
        return 0;
}

bool sts_error_is_retryable(long status, const char *code) {
        if (code && streq(code, "IDPCommunicationError"))
                return true;
        return aws_error_is_transient(status, code);
}
