/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <json-c/json.h>

#include "aws.h"
#include "log.h"
#include "sigv4.h"

AwsCredentials *aws_credentials_free(AwsCredentials *c) {
        if (!c)
                return NULL;
        secret_free(c->access_key_id);
        secret_free(c->secret_access_key);
        secret_free(c->session_token);
        free(c->source);
        free(c);
        return NULL;
}

void aws_credentials_freep(AwsCredentials **c) {
        *c = aws_credentials_free(*c);
}

int aws_credentials_new(const char *key_id, const char *secret, const char *session_token, usec_t expiration,
                        const char *source, AwsCredentials **ret) {
        AwsCredentials *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->access_key_id = strdup(key_id);
        c->secret_access_key = strdup(secret);
        c->session_token = isempty(session_token) ? NULL : strdup(session_token);
        c->source = strdup(source ?: "unknown");
        c->expiration = expiration;
        if (!c->access_key_id || !c->secret_access_key || !c->source || (!isempty(session_token) && !c->session_token)) {
                aws_credentials_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

AwsCredentials *aws_credentials_dup(const AwsCredentials *c) {
        AwsCredentials *d = NULL;
        if (aws_credentials_new(c->access_key_id, c->secret_access_key, c->session_token, c->expiration, c->source, &d) < 0)
                return NULL;
        return d;
}

const char *getenv_nonempty(const char *name) {
        const char *v = getenv(name);
        return isempty(v) ? NULL : v;
}

usec_t random_below(usec_t max) {
        uint64_t r;
        if (max == 0)
                return 0;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
                r = (uint64_t) rand();
        return r % max;
}

usec_t now_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

bool env_true(const char *name) {
        const char *v = getenv(name);
        return v && strcasecmp(v, "true") == 0;
}

char *aws_ecr_endpoint(const char *region, const char *override, char **ret_error) {
        const char *v;
        bool fips, dualstack, china;
        char *url = NULL;

        if (!isempty(override))
                return strdup(override);
        if (!env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
                v = getenv("AWS_ENDPOINT_URL_ECR");
                if (isempty(v))
                        v = getenv("AWS_ENDPOINT_URL");
                if (!isempty(v))
                        return strdup(v);
        }

        fips = env_true("AWS_USE_FIPS_ENDPOINT");
        dualstack = env_true("AWS_USE_DUALSTACK_ENDPOINT");
        china = strncmp(region, "cn-", 3) == 0;

        if (china && fips) {
                if (ret_error)
                        *ret_error = strdup("FIPS endpoints do not exist in the China partition");
                return NULL;
        }

        int r;
        if (china)
                r = dualstack ? asprintf(&url, "https://ecr.%s.api.amazonwebservices.com.cn", region)
                              : asprintf(&url, "https://api.ecr.%s.amazonaws.com.cn", region);
        else if (fips)
                r = dualstack ? asprintf(&url, "https://ecr-fips.%s.api.aws", region)
                              : asprintf(&url, "https://ecr-fips.%s.amazonaws.com", region);
        else
                r = dualstack ? asprintf(&url, "https://ecr.%s.api.aws", region)
                              : asprintf(&url, "https://api.ecr.%s.amazonaws.com", region);
        return r < 0 ? NULL : url;
}

/* Splits url into the Host header value as SigV4 signs it (port only when not the scheme's
 * default) and the request path. */
static int url_host_and_path(const char *url, char **ret_host, char **ret_path) {
        CURLU *u = curl_url();
        char *host = NULL, *port = NULL, *path = NULL, *scheme = NULL;
        int r = -EINVAL;

        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
                goto out;
        if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
                goto out;
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
                goto out;
        if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
                path = NULL;
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
                port = NULL;

        if (port && !((strcasecmp(scheme, "https") == 0 && streq(port, "443")) ||
                      (strcasecmp(scheme, "http") == 0 && streq(port, "80")))) {
                if (asprintf(ret_host, "%s:%s", host, port) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
        } else if (!(*ret_host = strdup(host))) {
                r = -ENOMEM;
                goto out;
        }
        *ret_path = strdup(isempty(path) ? "/" : path);
        if (!*ret_path) {
                free(*ret_host);
                r = -ENOMEM;
                goto out;
        }
        r = 0;
out:
        curl_free(host);
        curl_free(port);
        curl_free(path);
        curl_free(scheme);
        curl_url_cleanup(u);
        return r;
}

int aws_request_new_signed(HttpClient *http, const char *url, const char *region, const char *service,
                           const AwsCredentials *creds, time_t when, const char *const *extra_headers,
                           const char *body, HttpRequest **ret) {
        _cleanup_free_ char *host = NULL, *path = NULL, *authorization = NULL;
        _cleanup_(http_request_freep) HttpRequest *req = NULL;
        Sigv4Header headers[16];
        size_t n = 0;
        char amz_date[17];
        int r;

        r = url_host_and_path(url, &host, &path);
        if (r < 0)
                return r;
        sigv4_format_amz_date(when, amz_date);

        headers[n++] = (Sigv4Header) { "Host", host };
        headers[n++] = (Sigv4Header) { "X-Amz-Date", amz_date };
        if (creds->session_token)
                headers[n++] = (Sigv4Header) { "X-Amz-Security-Token", creds->session_token };
        for (const char *const *h = extra_headers; h && h[0] && h[1]; h += 2) {
                if (n >= ELEMENTSOF(headers))
                        return -E2BIG;
                headers[n++] = (Sigv4Header) { h[0], h[1] };
        }

        Sigv4Input in = {
                .method = "POST",
                .path = path,
                .query = NULL,
                .headers = headers,
                .n_headers = n,
                .payload = body,
                .payload_len = strlen(body),
                .region = region,
                .service = service,
                .when = when,
                .access_key_id = creds->access_key_id,
                .secret_access_key = creds->secret_access_key,
        };
        r = sigv4_sign(&in, &authorization, NULL, NULL);
        if (r < 0)
                return r;

        r = http_request_new(http, "POST", url, &req);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = http_request_add_header(req, headers[i].name, headers[i].value);
                if (r < 0)
                        return r;
        }
        r = http_request_add_header(req, "Authorization", authorization);
        if (r < 0)
                return r;
        r = http_request_set_body(req, body, strlen(body));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(req);
        return 0;
}

static char *one_line(const char *s, size_t max) {
        size_t n = 0;
        char *out = malloc(max + 4);
        if (!out)
                return NULL;
        for (; *s && n < max; s++) {
                unsigned char ch = (unsigned char) *s;
                out[n++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char) ch;
        }
        if (*s) {
                memcpy(out + n, "...", 3);
                n += 3;
        }
        while (n > 0 && out[n - 1] == ' ')
                n--;
        out[n] = 0;
        return out;
}

/* "com.amazonaws.ecr#AccessDeniedException" or "AccessDeniedException:http://..." → "AccessDeniedException" */
static char *clean_code(const char *t) {
        const char *hash = strrchr(t, '#');
        const char *start = hash ? hash + 1 : t;
        size_t n = strcspn(start, ":");
        char *c = strndup(start, MIN(n, (size_t) 100));
        if (c)
                for (char *p = c; *p; p++)
                        if (!isalnum((unsigned char) *p) && *p != '.' && *p != '_' && *p != '-')
                                *p = '_';
        return c;
}

static char *xml_element(const char *body, const char *name) {
        _cleanup_free_ char *open = NULL, *close = NULL;
        const char *a, *b;
        if (asprintf(&open, "<%s>", name) < 0 || asprintf(&close, "</%s>", name) < 0)
                return NULL;
        a = strstr(body, open);
        if (!a)
                return NULL;
        a += strlen(open);
        b = strstr(a, close);
        if (!b)
                return NULL;
        return strndup(a, (size_t) (b - a));
}

int aws_parse_error_body(long status, const char *error_type, const char *body, size_t len, char **ret_code,
                         char **ret_message) {
        _cleanup_free_ char *code = NULL, *message = NULL;
        json_object *j = NULL;

        if (!body)
                len = 0;
        if (error_type && *error_type)
                code = clean_code(error_type);

        if (len > 0) {
                json_tokener *tok = json_tokener_new();
                if (tok) {
                        j = json_tokener_parse_ex(tok, body, (int) MIN(len, (size_t) INT32_MAX));
                        if (json_tokener_get_error(tok) != json_tokener_success) {
                                if (j)
                                        json_object_put(j);
                                j = NULL;
                        }
                        json_tokener_free(tok);
                }
        }
        if (j && json_object_is_type(j, json_type_object)) {
                json_object *v;
                if (!code && (json_object_object_get_ex(j, "__type", &v) || json_object_object_get_ex(j, "code", &v) ||
                              json_object_object_get_ex(j, "Code", &v)) &&
                    json_object_is_type(v, json_type_string))
                        code = clean_code(json_object_get_string(v));
                if ((json_object_object_get_ex(j, "message", &v) || json_object_object_get_ex(j, "Message", &v)) &&
                    json_object_is_type(v, json_type_string))
                        message = one_line(json_object_get_string(v), 300);
        } else if (len > 0 && memchr(body, '<', len)) {
                /* The XML helpers need a terminated string: the body may be any bytes. */
                _cleanup_free_ char *copy = strndup(body, len);
                if (!copy) {
                        if (j)
                                json_object_put(j);
                        return -ENOMEM;
                }
                _cleanup_free_ char *c = xml_element(copy, "Code"), *m = xml_element(copy, "Message");
                if (!code && c)
                        code = clean_code(c);
                if (m)
                        message = one_line(m, 300);
        }
        if (j)
                json_object_put(j);

        /* An empty or unusable code ("#", ":x") says nothing: fall back to the status. */
        if (code && !*code) {
                free(code);
                code = NULL;
        }
        if (!code && asprintf(&code, "HTTP %ld", status) < 0)
                return -ENOMEM;
        if (!message && !(message = strdup("")))
                return -ENOMEM;
        *ret_code = TAKE_PTR(code);
        *ret_message = TAKE_PTR(message);
        return 0;
}

int aws_parse_error(const HttpRequest *r, char **ret_code, char **ret_message) {
        size_t len;
        const char *body = http_request_body(r, &len);

        return aws_parse_error_body(http_request_status(r), http_request_header(r, "x-amzn-ErrorType"), body, len,
                                    ret_code, ret_message);
}

void aws_scrub(char *s, const char *secret) {
        static const char red[] = "[redacted]";
        size_t n;
        char *p;

        if (!s || isempty(secret))
                return;
        n = strlen(secret);
        /* Search on after each replacement: a secret found in "[redacted]" itself must not loop. */
        while ((p = strstr(s, secret))) {
                if (n >= sizeof(red) - 1) {
                        memcpy(p, red, sizeof(red) - 1);
                        memmove(p + sizeof(red) - 1, p + n, strlen(p + n) + 1);
                        s = p + sizeof(red) - 1;
                } else {
                        memset(p, '*', n);
                        s = p + n;
                }
        }
}

bool aws_error_is_throttling(const char *code) {
        static const char *const codes[] = {
                "Throttling",           "ThrottlingException",      "ThrottledException",
                "RequestThrottledException", "TooManyRequestsException", "ProvisionedThroughputExceededException",
                "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
                "LimitExceededException", "RequestThrottled",       "SlowDown",
                "PriorRequestNotComplete", "EC2ThrottledException",
        };
        if (!code)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (streq(code, codes[i]))
                        return true;
        return false;
}

bool aws_error_is_transient(long status, const char *code) {
        if (status == 500 || status == 502 || status == 503 || status == 504)
                return true;
        if (code && (streq(code, "RequestTimeout") || streq(code, "RequestTimeoutException") ||
                     streq(code, "InternalError") || streq(code, "ServerException")))
                return true;
        return aws_error_is_throttling(code);
}

bool aws_error_is_clock_skew(const char *code) {
        /* AccessDeniedException too: some services answer a skewed signature with it. Callers only
         * act on these when the answer's Date is minutes away from our clock. */
        static const char *const codes[] = {
                "RequestTimeTooSkewed", "RequestExpired",      "InvalidSignatureException",
                "SignatureDoesNotMatch", "AuthFailure",        "RequestInTheFuture",
                "AccessDeniedException",
        };
        if (!code)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (streq(code, codes[i]))
                        return true;
        return false;
}

int aws_parse_timestamp(const char *s, usec_t *ret) {
        char *end;
        struct tm tm = {};
        const char *p;

        if (isempty(s))
                return -EINVAL;

        if (isdigit((unsigned char) s[0]) && !strchr(s, '-')) {
                errno = 0;
                double d = strtod(s, &end);
                if (errno != 0 || *end || !(d >= 0 && d <= 32503680000.0)) /* year 3000; NaN fails too */
                        return -EINVAL;
                *ret = (usec_t) (d * (double) USEC_PER_SEC);
                return 0;
        }

        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        usec_t frac = 0;
        if (*p == '.') {
                usec_t scale = USEC_PER_SEC / 10;
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (; isdigit((unsigned char) *p); p++) {
                        frac += (usec_t) (*p - '0') * scale;
                        scale /= 10;
                }
        }
        long offset = 0;
        if (*p == 'Z' || *p == 'z')
                p++;
        else if (*p == '+' || *p == '-') {
                /* Exactly "+HH:MM": sscanf("%2d:%2d") took "+07:0" and then stepped past the NUL. */
                if (!isdigit((unsigned char) p[1]) || !isdigit((unsigned char) p[2]) || p[3] != ':' ||
                    !isdigit((unsigned char) p[4]) || !isdigit((unsigned char) p[5]))
                        return -EINVAL;
                int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
                if (hh > 23 || mm > 59)
                        return -EINVAL;
                offset = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
                p += 6;
        } else
                return -EINVAL;
        if (*p)
                return -EINVAL;
        time_t t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        t -= offset;
        if (t < 0)
                return -EINVAL;
        *ret = (usec_t) t * USEC_PER_SEC + frac;
        return 0;
}

int aws_base64_decode(const char *in, size_t len, char **ret, size_t *ret_len) {
        gnutls_datum_t b64 = { (unsigned char *) in, (unsigned) len }, out = {};
        char *s;
        int r;

        if (len == 0 || len > 1024 * 1024)
                return -EINVAL;
        r = gnutls_base64_decode2(&b64, &out);
        if (r < 0)
                return -EINVAL;
        s = malloc(out.size + 1);
        if (s) {
                memcpy(s, out.data, out.size);
                s[out.size] = 0;
        }
        secure_zero(out.data, out.size);
        gnutls_free(out.data);
        if (!s)
                return -ENOMEM;
        *ret = s;
        if (ret_len)
                *ret_len = out.size;
        return 0;
}

int aws_base64_encode(const void *data, size_t len, char **ret) {
        gnutls_datum_t in = { (unsigned char *) data, (unsigned) len }, out = {};
        char *s;

        if (gnutls_base64_encode2(&in, &out) < 0)
                return -ENOMEM;
        s = strndup((const char *) out.data, out.size);
        secure_zero(out.data, out.size);
        gnutls_free(out.data);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

bool aws_is_token_safe(const char *s, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char) s[i];
                if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
                        return false;
        }
        return true;
}

const char *format_timestamp(usec_t t, char *buf, size_t n) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;
        if (t == USEC_INFINITY || !gmtime_r(&s, &tm) || strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, n, "never");
        return buf;
}
