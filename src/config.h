/* SPDX-License-Identifier: MIT */
/* The YAML configuration file: parsed strictly into plain structs, validated, with errors of the
 * form "PATH:LINE:COLUMN: KEY: what is wrong" (KEY is left out for errors not about one key). */
#pragma once

#include <sys/types.h>

#include "macro.h"

#define CONFIG_INTERVAL_DEFAULT (30 * USEC_PER_MINUTE)
#define CONFIG_INTERVAL_MIN USEC_PER_SEC
#define CONFIG_INTERVAL_MAX (11 * USEC_PER_HOUR) /* ECR tokens live 12 h */
#define CONFIG_FILE_MODE_DEFAULT ((mode_t) 0640)
#define CONFIG_REGISTRIES_MAX 1024
#define CONFIG_CONCURRENCY_DEFAULT 8
#define CONFIG_CONCURRENCY_MIN 1
#define CONFIG_CONCURRENCY_MAX 64
#define CONFIG_CONNECT_TIMEOUT_DEFAULT (10 * USEC_PER_SEC)
#define CONFIG_CONNECT_TIMEOUT_MIN (100 * USEC_PER_MSEC)
#define CONFIG_CONNECT_TIMEOUT_MAX USEC_PER_MINUTE
#define CONFIG_REQUEST_TIMEOUT_DEFAULT (30 * USEC_PER_SEC)
#define CONFIG_REQUEST_TIMEOUT_MIN USEC_PER_SEC
#define CONFIG_REQUEST_TIMEOUT_MAX (5 * USEC_PER_MINUTE)
#define CONFIG_REFRESH_MARGIN_DEFAULT USEC_PER_HOUR
#define CONFIG_REFRESH_MARGIN_MIN 0
#define CONFIG_REFRESH_MARGIN_MAX (11 * USEC_PER_HOUR)
#define CONFIG_ON_REFRESH_TIMEOUT_DEFAULT (30 * USEC_PER_SEC)
#define CONFIG_ON_REFRESH_TIMEOUT_MIN USEC_PER_SEC
#define CONFIG_ON_REFRESH_TIMEOUT_MAX (10 * USEC_PER_MINUTE)
#define CONFIG_ON_REFRESH_ARGS_MAX 64
#define CONFIG_FILE_SIZE_MAX (1024 * 1024)

typedef struct Registry {
        char *registry_id;     /* exactly 12 ASCII digits, as written (leading zeros kept) */
        char *region;          /* e.g. us-west-2 */
        char *password_file;   /* NULL, or absolute, normalized path (at least one of password_file and docker_config_file is set) */
        char *docker_config_file; /* NULL, or absolute, normalized path of a config.json to merge the auth into (may be shared) */
        char *endpoint;        /* NULL or URL override (http:// or https://, with host) */
        mode_t file_mode;      /* default 0640 */
        char *role_arn;        /* NULL, or arn:aws…:iam::ACCOUNT:role/NAME to assume for this registry */
        char *external_id;     /* NULL, or the ExternalId for AssumeRole (only with role_arn) */
        char *role_session_name; /* NULL (meaning "ecr-token-refresh"), or the RoleSessionName (only with role_arn) */
        char **on_refresh;     /* NULL, or NULL-terminated argv (1..64 non-empty strings, [0] an absolute path) run after a write */
        usec_t on_refresh_timeout; /* default 30 s, 1 s..10 min (set even without on_refresh) */
        unsigned line, column; /* 1-based position of the list item, for messages */
} Registry;

typedef struct Config {
        char *path;
        usec_t interval;       /* default 30 min */
        unsigned concurrency;  /* default 8, 1..64: refreshes running at once */
        usec_t connect_timeout; /* default 10 s, 100 ms..1 min */
        usec_t request_timeout; /* default 30 s, 1 s..5 min (the daemon also caps it at WatchdogSec/2) */
        usec_t refresh_margin; /* default 1 h, 0..11 h: refresh early when the token has less than this left */
        char *health_listen;   /* NULL (off), or "HOST:PORT", "[IPv6]:PORT" or ":PORT", port 1..65535 */
        char *metrics_textfile; /* NULL (off), or absolute, normalized path ending in ".prom" */
        Registry *registries;
        size_t n_registries;
} Config;

/* Parses and validates the file at path. Returns 0 and *ret on success. On a configuration problem
 * returns -EINVAL (or -ENOENT/-EACCES/... for an unreadable file, -EFBIG above 1 MiB) and sets
 * *ret_error (if ret_error is not NULL) to a newly allocated one-line message
 * "PATH:LINE:COLUMN: KEY: what is wrong" ("PATH: strerror" for unreadable files); *ret_error is NULL
 * when even the message could not be allocated (-ENOMEM). */
int config_load(const char *path, Config **ret, char **ret_error);

/* Same from an in-memory buffer of len bytes (need not be NUL-terminated); 'name' is used in
 * messages and as Config.path. */
int config_load_buffer(const char *name, const void *data, size_t len, Config **ret, char **ret_error);

/* Frees the config and everything it owns. NULL-safe; returns NULL. */
Config *config_free(Config *c);
/* For _cleanup_(config_freep). */
void config_freep(Config **c);

/* Returns the registry whose (normalized) password_file equals password_file, or NULL (registries
 * without a password_file never match). */
const Registry *config_find_registry_by_file(const Config *c, const char *password_file);

/* Normalizes an absolute file path as config_load() does ("//" and "/./" collapsed; ".." and a
 * trailing "/" or "/." refused). Returns 0 and a new string in *ret, or -EINVAL/-ENOMEM. */
int config_path_normalize(const char *path, char **ret);
