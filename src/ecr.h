/* SPDX-License-Identifier: MIT */
/* ECR GetAuthorizationToken: the signed request and the parsed answer. */
#pragma once

#include "aws.h"
#include "http.h"

typedef struct EcrToken {
        char *password;       /* the part after "AWS:" in the decoded token; a secret */
        usec_t expires_at;    /* CLOCK_REALTIME usec; USEC_INFINITY if the answer had none */
        char *proxy_endpoint; /* e.g. "https://123456789012.dkr.ecr.us-west-2.amazonaws.com" */
} EcrToken;

/* Wipes and frees the members (not the struct). */
void ecr_token_done(EcrToken *t);

/* A signed, not yet started GetAuthorizationToken request for registry_id at url. */
int ecr_request_new(HttpClient *http, const char *url, const char *region, const char *registry_id,
                    const AwsCredentials *creds, time_t when, HttpRequest **ret);

/* Parses a 200 response body. On failure returns -EBADMSG with *ret_error naming what is wrong
 * (never containing token material). */
int ecr_parse_response(const char *body, size_t len, EcrToken *ret, char **ret_error);
