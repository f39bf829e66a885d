/* SPDX-License-Identifier: MIT */
/* The AWS credential provider chain, in the SDKs' order: environment, shared credentials/config
 * files (the selected profile), EC2 instance metadata (IMDSv2). The first source that is
 * configured wins; if it then fails, that is the error (no silent fall-through). */
#pragma once

#include "aws.h"
#include "http.h"

typedef struct CredentialsProvider CredentialsProvider;

/* Called from the event loop when an asynchronous resolution finishes: creds on success (borrowed,
 * valid during the call; copy with aws_credentials_dup() to keep), else error (one line, no secret). */
typedef void (*CredentialsDoneFn)(const AwsCredentials *creds, const char *error, void *userdata);

int credentials_provider_new(HttpClient *http, CredentialsProvider **ret);
/* Cancels pending lookups (their callbacks never run) and frees. NULL-safe. */
CredentialsProvider *credentials_provider_free(CredentialsProvider *p);

/* Gets credentials. Returns 1 with *ret (a new copy the caller frees) when they are available at
 * once; 0 when a lookup is in flight and done(…, userdata) will run later; negative errno with
 * *ret_error set on failure. Temporary credentials are cached until 5 minutes before they expire. */
int credentials_provider_get(CredentialsProvider *p, AwsCredentials **ret, char **ret_error, CredentialsDoneFn done,
                             void *userdata);
/* Forgets every pending callback registered with userdata. */
void credentials_provider_cancel(CredentialsProvider *p, void *userdata);
/* Drops cached credentials, so the next get resolves the chain again. */
void credentials_provider_flush(CredentialsProvider *p);

/* Describes which source would be used, without contacting the network or printing secrets. */
char *credentials_provider_describe(CredentialsProvider *p);
