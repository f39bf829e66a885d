/* SPDX-License-Identifier: MIT */
/* A client for AWS STS (Security Token Service) over its query protocol: AssumeRole, signed with the
 * caller's credentials, and AssumeRoleWithWebIdentity, unsigned (the OIDC token is the proof). Both
 * are a form-encoded POST with Action=…&Version=2011-06-15; the answer is XML. */
#pragma once

#include "aws.h"
#include "http.h"

#define STS_API_VERSION "2011-06-15"

typedef struct StsAssumeRole {
        const char *role_arn;
        const char *session_name;
        const char *external_id;        /* AssumeRole only; NULL for none */
        unsigned duration_seconds;      /* 0 for STS's default (1 hour) */
        const char *web_identity_token; /* AssumeRoleWithWebIdentity only (a secret) */
} StsAssumeRole;

/* The STS endpoint for region, as the SDKs pick it: AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL (both
 * unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true); else the regional endpoint
 * https://sts.REGION.amazonaws.com (China: .amazonaws.com.cn; AWS_USE_FIPS_ENDPOINT: sts-fips;
 * AWS_USE_DUALSTACK_ENDPOINT: sts.REGION.api.aws), or the global https://sts.amazonaws.com when
 * legacy_global is set (sts_regional_endpoints=legacy) and region is one of those that used it.
 * Returns 0 with a new URL and the SigV4 signing region (region itself, or "us-east-1" for the global
 * endpoint; a static string or region, not to be freed), or -EINVAL with *ret_error set. */
int sts_endpoint(const char *region, bool legacy_global, char **ret_url, const char **ret_signing_region,
                 char **ret_error);

/* The form body of an AssumeRole (web_identity false) or AssumeRoleWithWebIdentity call. The result
 * may hold the web identity token: free it with secret_free(). */
int sts_form_body(const StsAssumeRole *a, bool web_identity, char **ret);

/* A new AssumeRole POST to url, signed with creds for (signing_region, "sts") at time when. */
int sts_assume_role_request_new(HttpClient *http, const char *url, const char *signing_region, const AwsCredentials *creds,
                                const StsAssumeRole *a, time_t when, HttpRequest **ret);
/* A new, unsigned AssumeRoleWithWebIdentity POST to url. */
int sts_web_identity_request_new(HttpClient *http, const char *url, const StsAssumeRole *a, HttpRequest **ret);

/* Parses the XML answer of action ("AssumeRole" or "AssumeRoleWithWebIdentity"): the Credentials
 * element's AccessKeyId, SecretAccessKey, SessionToken and Expiration (all required). Returns 0 with
 * new credentials labelled source and, if ret_assumed_arn is not NULL, the AssumedRoleUser Arn (or
 * NULL); or -EINVAL/-ENOMEM with *ret_error set (a message that never quotes the response). */
int sts_parse_credentials(const char *body, size_t len, const char *action, const char *source, AwsCredentials **ret,
                          char **ret_assumed_arn, char **ret_error);

/* Is this STS error worth another attempt (the SDKs' transient and throttling errors, plus
 * IDPCommunicationError for web identity)? */
bool sts_error_is_retryable(long status, const char *code);
