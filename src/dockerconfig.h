/* SPDX-License-Identifier: MIT */
/* The registry's token as an `auths` entry of a docker/podman config.json (also read by skopeo,
 * buildah, crictl and the kubelet), merged into whatever else the file holds. */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* Default mode of a config.json this service creates: it holds credentials. */
#define DOCKER_CONFIG_MODE_DEFAULT ((mode_t) 0600)

/* The auths key for an ECR proxyEndpoint: "https://123456789012.dkr.ecr.us-west-2.amazonaws.com"
 * -> "123456789012.dkr.ecr.us-west-2.amazonaws.com" (scheme and any path dropped, port kept).
 * Returns 0 and a new string, or -EINVAL for an empty/unusable endpoint, -ENOMEM. */
int docker_registry_host(const char *proxy_endpoint, char **ret);
/* The registry host when an answer had no proxyEndpoint: "ID.dkr.ecr.REGION.amazonaws.com" (".com.cn"
 * for cn-* regions). Returns 0 and a new string, or -ENOMEM. */
int docker_registry_host_default(const char *registry_id, const char *region, char **ret);

/* Sets auths[registry_host] = {"auth": base64("AWS:" + password)} in the config.json at path,
 * replacing any previous entry for that host and keeping every other key and entry with its
 * meaning. A missing (or empty) file counts as {}. A symlink at path is followed (the target is
 * replaced, as docker does). The file is replaced atomically (sink_write_atomic) with the existing
 * file's mode, or mode_if_new (0 = DOCKER_CONFIG_MODE_DEFAULT) when it did not exist; it is owned by
 * the writing user.
 * A malformed file (invalid JSON, top level or "auths" not an object, numbers json-c cannot carry
 * exactly) is an error and stays untouched. Logs a warning when "credsStore" or
 * "credHelpers"[registry_host] would make docker ignore the entry. Returns 0, or negative errno with
 * *ret_error (if not NULL) a one-line message naming the path and never holding secrets. Every copy
 * of the password and of the file's contents is wiped before returning. */
int docker_config_merge(const char *path, const char *registry_host, const char *password, mode_t mode_if_new,
                        char **ret_error);
