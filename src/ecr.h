/* SPDX-License-Identifier: MIT */
/* ECR GetAuthorizationToken: the signed request and the parsed answer. */
#pragma once

#include "aws.h"
#include "http.h"

/* ECR takes 1 to 10 registryIds per GetAuthorizationToken call. */
#define ECR_MAX_REGISTRY_IDS 10U

typedef struct EcrToken {
        char *password;       /* the part after "AWS:" in the decoded token; a secret */
        usec_t expires_at;    /* CLOCK_REALTIME usec; USEC_INFINITY if the answer had none */
        char *proxy_endpoint; /* e.g. "https://123456789012.dkr.ecr.us-west-2.amazonaws.com" */
} EcrToken;

/* One authorizationData item: a token, or why the item is unusable (never token material). */
typedef struct EcrItem {
        EcrToken token;
        char *error;
} EcrItem;

/* Wipes and frees the members (not the struct). */
void ecr_token_done(EcrToken *t);

/* A signed, not yet started GetAuthorizationToken request for 1 to ECR_MAX_REGISTRY_IDS distinct
 * registry ids at url (one identity and region serves them all). */
int ecr_request_new(HttpClient *http, const char *url, const char *region, const char *const *registry_ids,
                    size_t n_ids, const AwsCredentials *creds, time_t when, HttpRequest **ret);

/* Parses a 200 response body into its items. Fails with -EBADMSG and *ret_error when the document as
 * a whole is unusable (not JSON, no or an empty authorizationData list); an item that is unusable
 * on its own has its error set instead. */
int ecr_parse_items(const char *body, size_t len, EcrItem **ret, size_t *ret_n, char **ret_error);
EcrItem *ecr_items_free(EcrItem *items, size_t n);

/* Which item answers ids[which] of the n_ids ids a request named: the item whose proxyEndpoint
 * names that registry; else the only item (the token serves every registry the identity may use);
 * else, when the answer names none of the ids, the item in the same position (the API answers in
 * request order). -1 if none does. */
ssize_t ecr_match_item(const EcrItem *items, size_t n_items, const char *const *ids, size_t n_ids, size_t which);

/* Parses a 200 response body for a single registry (its first item). On failure returns -EBADMSG
 * with *ret_error naming what is wrong (never containing token material). */
int ecr_parse_response(const char *body, size_t len, EcrToken *ret, char **ret_error);

/* Whether proxy_endpoint ("https://ID.dkr.ecr.REGION.amazonaws.com") names registry id. */
bool ecr_proxy_names(const char *proxy_endpoint, const char *id);
