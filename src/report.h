/* SPDX-License-Identifier: MIT */
/* A read-only snapshot of every registry's refresh state, filled by the manager on demand and
 * rendered by the health endpoint and the metrics writer. It holds no secret, by construction. */
#pragma once

#include "macro.h"

typedef struct RegistryReport {
        const char *registry_id, *region;
        const char *password_file; /* passwordFile, or dockerConfigFile for a registry without one */
        usec_t last_success;    /* CLOCK_REALTIME usec, 0 = never */
        usec_t expires_at;      /* CLOCK_REALTIME usec, 0 (or USEC_INFINITY) = unknown */
        usec_t last_duration;   /* usec of the last refresh attempt, 0 = none yet */
        unsigned failures;      /* consecutive */
        uint64_t refreshes_total, failures_total; /* attempts ended, and those that failed */
        const char *last_error; /* NULL when the last refresh succeeded (or none ended yet) */
} RegistryReport;

typedef struct Report {
        const RegistryReport *registries;
        size_t n;
        usec_t now; /* CLOCK_REALTIME usec the snapshot refers to */
} Report;

/* Fills *ret; its pointers stay valid until the next event loop iteration. Returns 0 or negative
 * errno. */
typedef int (*ReportFn)(void *userdata, Report *ret);

/* Does the registry's output hold a token that is valid at `now`? True when a refresh succeeded at
 * some point and either the token's expiry is known and still ahead (a failing refresh does not
 * matter yet), or the expiry is unknown and the last refresh succeeded. An expiry at or before the
 * last success counts as unknown: the token was "expired" when it arrived, so the clocks disagree
 * (AWS checks tokens by its own clock) or an emulator answers a fixed date. */
static inline bool registry_report_token_valid(const RegistryReport *r, usec_t now) {
        if (r->last_success == 0)
                return false;
        if (r->expires_at != 0 && r->expires_at != USEC_INFINITY && r->expires_at > r->last_success)
                return r->expires_at > now;
        return !r->last_error;
}
