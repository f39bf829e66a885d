/* SPDX-License-Identifier: MIT */
/* Which AWS identity the credential chain would use, worked out from the environment and the shared
 * files without any network access or child process: a short list of steps, each either a source of
 * credentials or a role assumed with the credentials of the step before it. credentials.c fetches
 * and caches them. The order, as the SDKs (aws-sdk-go v1) have it, after a systemd credential:
 *
 *   0. $CREDENTIALS_DIRECTORY/aws-credentials (LoadCredential=/SetCredential=): static keys of the
 *      selected profile in shared credentials file format
 *   1. environment keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
 *   2. web identity from the environment (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN)
 *   3. the selected profile of the shared config/credentials files
 *   4. container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI)
 *   5. EC2 instance metadata
 *
 * The first source that is configured wins; if it is broken, that is the error. */
#pragma once

#include "aws.h"
#include "ini.h"

#define CHAIN_DEFAULT_SESSION_NAME "ecr-token-refresh"
#define CHAIN_DEFAULT_REGION "us-east-1"
#define CHAIN_ROLE_DEPTH_MAX 16

typedef enum ChainStepType {
        CHAIN_STATIC,       /* keys known now: environment, files, systemd credential */
        CHAIN_WEB_IDENTITY, /* STS AssumeRoleWithWebIdentity with a token read from a file */
        CHAIN_PROCESS,      /* credential_process */
        CHAIN_CONTAINER,    /* ECS/EKS container credentials endpoint */
        CHAIN_IMDS,         /* EC2 instance metadata */
        CHAIN_ROLE,         /* STS AssumeRole signed with the parent step's credentials */
} ChainStepType;

typedef struct ChainStep ChainStep;
struct ChainStep {
        unsigned n_ref;
        ChainStepType type;
        ChainStep *parent;     /* CHAIN_ROLE: the identity that assumes the role */
        char *key;             /* identifies the identity, for caching; holds no secret */
        char *label;           /* where it is configured, for messages: "profile dev", "environment" */

        AwsCredentials *creds; /* CHAIN_STATIC */

        /* CHAIN_ROLE and CHAIN_WEB_IDENTITY */
        char *role_arn;
        char *session_name;
        char *external_id;     /* CHAIN_ROLE; NULL for none */
        unsigned duration;     /* seconds; 0 for STS's default */
        char *sts_url;
        char *sts_region;      /* the SigV4 signing region */
        char *token_file;      /* CHAIN_WEB_IDENTITY, read at every fetch */

        char *command;         /* CHAIN_PROCESS, split at fetch time */

        /* CHAIN_CONTAINER */
        char *url;
        char *auth_token;      /* a secret; or NULL */
        char *auth_token_file; /* read at every fetch; beats auth_token */
};

ChainStep *chain_step_ref(ChainStep *s);
/* Drops a reference; the last one frees (and wipes secrets). NULL-safe; returns NULL. */
ChainStep *chain_step_unref(ChainStep *s);
void chain_step_unrefp(ChainStep **s);

/* Resolves the whole chain from the environment and files. Returns 0 and the final step (never NULL:
 * EC2 instance metadata is the last resort), or negative errno with *ret_error set: a configured
 * source is broken, or -ENOKEY when nothing is configured and AWS_EC2_METADATA_DISABLED=true. */
int chain_resolve(ChainStep **ret, char **ret_error);

/* The shared files and the profile selection, as chain_resolve() reads them. */
typedef struct ChainFiles {
        const IniFile *credentials;  /* NULL if absent */
        const IniFile *config;       /* NULL if absent */
        const char *credentials_path, *config_path; /* for messages */
        const char *sts_region;      /* region for the profile's STS calls */
        bool sts_legacy_global;      /* sts_regional_endpoints=legacy */
} ChainFiles;

/* Resolves profile name from the files (role_arn with source_profile chains and loop detection,
 * credential_source, web_identity_token_file, credential_process, static keys). Returns 1 and the
 * step, 0 when the profile configures no credentials (or does not exist and !must_exist), or negative
 * errno with *ret_error set. */
int chain_resolve_profile(const ChainFiles *f, const char *name, bool must_exist, ChainStep **ret, char **ret_error);

/* Container credentials from the environment: 1 and the step, 0 when not configured, negative errno
 * with *ret_error for a URL outside the allowed hosts. */
int chain_resolve_container(ChainStep **ret, char **ret_error);

/* May AWS_CONTAINER_CREDENTIALS_FULL_URI point here? http(s) to a loopback address (127.0.0.0/8, ::1,
 * localhost), the ECS agent (169.254.170.2) or EKS Pod Identity (169.254.170.23, [fd00:ec2::23]). */
bool chain_container_url_allowed(const char *url);

/* A step assuming role_arn with parent's credentials through the STS endpoint of region. session_name
 * NULL means CHAIN_DEFAULT_SESSION_NAME; label says where the role is configured ("registry …").
 * The key leaves out the region: one cached session serves every region. */
int chain_role(ChainStep *parent, const char *role_arn, const char *external_id, const char *session_name,
               unsigned duration, const char *region, bool legacy_global, const char *label, ChainStep **ret,
               char **ret_error);

/* One line describing the step and what it is built on, without secrets (an access key ID is shown
 * as its first four characters). NULL on OOM. */
char *chain_describe(const ChainStep *s);
