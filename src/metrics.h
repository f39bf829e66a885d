/* SPDX-License-Identifier: MIT */
/* Prometheus text exposition (format 0.0.4) of a Report, for GET /metrics and for node_exporter's
 * textfile collector. Metrics are not secret; no token ever reaches a Report. */
#pragma once

#include "report.h"

/* The exposition of r: HELP and TYPE for every family, one sample per registry labelled
 * {registry_id, region, password_file} (timestamps 0 when never/unknown), and build info.
 * Returns a newly allocated NUL-terminated string, or NULL on OOM. */
char *metrics_format(const Report *r);

/* Writes metrics_format(r) atomically to path with mode 0644 (via sink_write_atomic). Returns 0 or
 * negative errno with *ret_error (if not NULL) set to a one-line message naming the path. */
int metrics_write_textfile(const char *path, const Report *r, char **ret_error);
