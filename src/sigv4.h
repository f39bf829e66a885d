/* SPDX-License-Identifier: MIT */
/* AWS Signature Version 4 (AWS4-HMAC-SHA256) request signing, as the AWS SDKs do it for services other
 * than S3: normalized, double-encoded canonical URI; decoded and re-encoded, sorted query; trimmed,
 * merged, sorted headers. Hashing and HMAC go through GnuTLS. */
#pragma once

#include <stddef.h>
#include <time.h>

typedef struct Sigv4Header {
        const char *name;
        const char *value;
} Sigv4Header;

typedef struct Sigv4Input {
        const char *method;          /* "POST" */
        const char *path;            /* raw request path as sent, e.g. "/" or "/foo/../bar" */
        const char *query;           /* raw query string without '?', or NULL */
        const Sigv4Header *headers;  /* every header to sign, INCLUDING host and x-amz-date (and
                                      * x-amz-security-token when used); names in any case, values
                                      * untrimmed; a value spanning several lines is folded with ',' */
        size_t n_headers;
        const void *payload;         /* may be NULL when payload_len is 0 */
        size_t payload_len;
        const char *region;          /* "us-east-1" */
        const char *service;         /* "ecr", "sts" */
        time_t when;                 /* signing time, UTC; must match the x-amz-date header */
        const char *access_key_id, *secret_access_key;
} Sigv4Input;

/* Computes the Authorization header value ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=..."). Returns 0 or negative errno: -EINVAL for bad input (including a missing host or
 * x-amz-date header, or an x-amz-date that does not match `when`), -ENOMEM, -EIO on a GnuTLS failure.
 * The optional ret_canonical_request / ret_string_to_sign receive newly allocated copies owned by the
 * caller (for tests and debugging). The canonical request holds every signed header value, the
 * session token included: free it with secret_free() and never log it. */
int sigv4_sign(const Sigv4Input *in, char **ret_authorization, char **ret_canonical_request, char **ret_string_to_sign);

/* Formats t as "YYYYMMDDTHHMMSSZ" (UTC) into buf (>= 17 bytes). A time outside years 1000..9999 gives
 * "00000000T000000Z"; sigv4_sign() rejects such times. */
void sigv4_format_amz_date(time_t t, char buf[static 17]);

/* Lowercase hex SHA-256 of data into hex (>= 65 bytes, NUL-terminated). data may be NULL only when len
 * is 0. Returns 0, -EINVAL or -EIO. */
int sigv4_sha256_hex(const void *data, size_t len, char hex[static 65]);

