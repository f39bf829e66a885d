/* SPDX-License-Identifier: MIT */
/* What every AWS call shares: credentials, endpoint resolution as the SDKs do it, signed requests,
 * and error responses turned into an AWS error code plus a message safe to log. */
#pragma once

#include <time.h>

#include "http.h"
#include "macro.h"

typedef struct AwsCredentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token; /* NULL for long-term keys */
        usec_t expiration;   /* CLOCK_REALTIME usec, USEC_INFINITY when it does not expire */
        char *source;        /* human-readable origin, e.g. "environment"; never a secret */
} AwsCredentials;

/* Frees and wipes the secrets. NULL-safe; returns NULL. */
AwsCredentials *aws_credentials_free(AwsCredentials *c);
void aws_credentials_freep(AwsCredentials **c);
/* Deep copy. Returns NULL on OOM. */
AwsCredentials *aws_credentials_dup(const AwsCredentials *c);
/* New credentials from the given strings (copied). session_token may be NULL or empty. */
int aws_credentials_new(const char *key_id, const char *secret, const char *session_token, usec_t expiration,
                        const char *source, AwsCredentials **ret);

/* Is the environment variable set to "true" (any case), as the SDKs read boolean settings? */
bool env_true(const char *name);
/* The variable's value, or NULL when unset or empty. */
const char *getenv_nonempty(const char *name);
/* A uniformly random value in [0, max); 0 for max 0. For retry jitter, not for secrets. */
usec_t random_below(usec_t max);

/* Current CLOCK_REALTIME in usec. */
usec_t now_realtime(void);

/* The ECR API endpoint for region, in SDK order: override (the registry's `endpoint`),
 * AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), then the
 * standard, FIPS (AWS_USE_FIPS_ENDPOINT) or dual-stack (AWS_USE_DUALSTACK_ENDPOINT) host for the
 * partition. Returns a newly allocated URL, or NULL with *ret_error set. */
char *aws_ecr_endpoint(const char *region, const char *override, char **ret_error);

/* Creates an HTTP POST to url signed with SigV4 for (region, service): sets Host, X-Amz-Date,
 * X-Amz-Security-Token when creds has one, the extra headers (pairs name, value, NULL-terminated)
 * and Authorization. when is the signing time. Returns 0 or negative errno. */
int aws_request_new_signed(HttpClient *http, const char *url, const char *region, const char *service,
                           const AwsCredentials *creds, time_t when, const char *const *extra_headers,
                           const char *body, HttpRequest **ret);

/* Extracts the AWS error code and message of a failed response: JSON (`__type`, `message`/`Message`),
 * the x-amzn-ErrorType header, or XML (<Code>, <Message>). Falls back to "HTTP <status>". The
 * message is cut to one line of at most 300 characters. Returns 0 or -ENOMEM. */
int aws_parse_error(const HttpRequest *r, char **ret_code, char **ret_message);
/* The same from the parts of a response: status, the x-amzn-ErrorType header (or NULL) and the body
 * (len bytes, any content, need not be NUL-terminated). The code is never empty. */
int aws_parse_error_body(long status, const char *error_type, const char *body, size_t len, char **ret_code,
                         char **ret_message);

/* Replaces every occurrence of secret in s (in place) with "[redacted]" when it fits, else '*'s. */
void aws_scrub(char *s, const char *secret);

/* Error classes of the SDKs' standard retry mode. */
bool aws_error_is_throttling(const char *code);
bool aws_error_is_transient(long status, const char *code);
/* May this error come from a skewed clock (to be retried once with the server's Date, when that is
 * more than a few minutes off)? */
bool aws_error_is_clock_skew(const char *code);

/* Parses an AWS timestamp: epoch seconds (with fraction) or ISO-8601 "2026-01-02T03:04:05Z" /
 * "...05.123Z" / "...05+00:00". Returns 0 and CLOCK_REALTIME usec, or -EINVAL. */
int aws_parse_timestamp(const char *s, usec_t *ret);

/* Decodes standard base64 (no whitespace). *ret is allocated, NUL-terminated, to be wiped by caller. */
int aws_base64_decode(const char *in, size_t len, char **ret, size_t *ret_len);
/* Encodes data as standard base64; *ret allocated, NUL-terminated. */
int aws_base64_encode(const void *data, size_t len, char **ret);

/* Is the string made of printable ASCII only (no spaces, quotes, or control characters)? */
bool aws_is_token_safe(const char *s, size_t len);

/* Formats usec (CLOCK_REALTIME) as "2026-01-02 03:04:05 UTC" into buf. */
const char *format_timestamp(usec_t t, char *buf, size_t n);
