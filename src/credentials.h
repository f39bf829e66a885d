/* SPDX-License-Identifier: MIT */
/* The AWS credential provider chain (see chain.h for its order) and per-registry roles: fetches
 * credentials asynchronously on the event loop (STS, container endpoint, instance metadata,
 * credential_process), coalesces concurrent lookups of one identity into one fetch, and caches
 * temporary credentials until 5 minutes before they expire. */
#pragma once

#include "aws.h"
#include "config.h"
#include "http.h"

typedef struct CredentialsProvider CredentialsProvider;

/* Called from the event loop when an asynchronous resolution finishes: creds on success (borrowed,
 * valid during the call; copy with aws_credentials_dup() to keep), else error (one line, no secret). */
typedef void (*CredentialsDoneFn)(const AwsCredentials *creds, const char *error, void *userdata);

/* A provider whose requests go through http; timers and child processes run on the thread's default
 * sd-event loop (sd_event_default()), which must be the loop http is attached to. */
int credentials_provider_new(HttpClient *http, CredentialsProvider **ret);
/* Cancels pending lookups (their callbacks never run) and frees. NULL-safe. */
CredentialsProvider *credentials_provider_free(CredentialsProvider *p);

/* Gets the chain's credentials. Returns 1 with *ret (a new copy the caller frees) when they are
 * available at once; 0 when a lookup is in flight and done(…, userdata) will run later (never before
 * this returns); negative errno with *ret_error set on failure. Temporary credentials are cached until
 * 5 minutes before they expire (those without an expiration time for 15 minutes). */
int credentials_provider_get(CredentialsProvider *p, AwsCredentials **ret, char **ret_error, CredentialsDoneFn done,
                             void *userdata);

/* Like credentials_provider_get(), for role_arn assumed (STS AssumeRole) with the chain's credentials
 * through the regional STS endpoint of region. external_id may be NULL; session_name NULL means
 * "ecr-token-refresh". The result is cached per (role, external ID, session name); concurrent callers
 * share one STS call. */
int credentials_provider_get_role(CredentialsProvider *p, const char *role_arn, const char *external_id,
                                  const char *session_name, const char *region, AwsCredentials **ret, char **ret_error,
                                  CredentialsDoneFn done, void *userdata);

/* Forgets every pending callback registered with userdata (by either get function). */
void credentials_provider_cancel(CredentialsProvider *p, void *userdata);
/* Drops cached credentials, so the next get resolves the chain again. */
void credentials_provider_flush(CredentialsProvider *p);

/* Describes which source would be used, without contacting the network or printing secrets. */
char *credentials_provider_describe(CredentialsProvider *p);
/* The same for one registry: the chain, and the role it assumes if it has a roleArn. */
char *credentials_provider_describe_registry(CredentialsProvider *p, const Registry *reg);

/* Parses credential_process output: JSON {"Version": 1, "AccessKeyId", "SecretAccessKey",
 * optional "SessionToken" and "Expiration" (ISO 8601)}. Returns 0 with new credentials labelled
 * source, or -EINVAL with *ret_error set (never quoting the output). */
int credentials_parse_process_output(const char *json, size_t len, const char *source, AwsCredentials **ret,
                                     char **ret_error);
/* Parses a container credentials endpoint's answer: {"AccessKeyId", "SecretAccessKey", "Token",
 * "Expiration"}. Same contract. */
int credentials_parse_container_response(const char *json, size_t len, const char *source, AwsCredentials **ret,
                                         char **ret_error);
