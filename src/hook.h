/* SPDX-License-Identifier: MIT */
/* The per-registry onRefresh command: run without a shell after a successful write, watched from
 * the sd-event loop (child source, non-blocking stderr pipe, timers), so it never blocks the loop.
 * Needs SIGCHLD blocked in every thread before the loop starts (sd_event_add_child's rule). */
#pragma once

#include <systemd/sd-event.h>

#include "macro.h"

#define HOOK_TIMEOUT_DEFAULT (30 * USEC_PER_SEC)
/* Between SIGTERM at the timeout and SIGKILL; the timeout itself when that is shorter. */
#define HOOK_KILL_GRACE (5 * USEC_PER_SEC)

typedef struct Hook Hook;

typedef struct HookResult {
        int error;        /* 0; -ETIMEDOUT (stopped at the timeout); or -errno of a failed execve() */
        int exit_status;  /* the exit code, when it exited */
        int signal;       /* the signal that ended it, or 0 */
        usec_t duration;  /* from start to exit */
} HookResult;

/* Runs once from the event loop when the command has ended (its stderr is logged by then). It may
 * free the hook. */
typedef void (*HookDoneFn)(Hook *h, const HookResult *result, void *userdata);

/* Starts argv (argv[0] a path, or a name looked up in $PATH) in its own process group, stdin and
 * stdout on /dev/null, stderr into a pipe whose lines are logged (LOG_NOTICE, "LABEL: onRefresh: ...",
 * long lines cut, at most 50 lines a run). Environment: ours minus AWS secrets (AWS_SECRET_ACCESS_KEY,
 * AWS_SECRET_KEY, AWS_SESSION_TOKEN, AWS_SECURITY_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN), systemd's
 * notify/socket/journal/credentials variables, plus extra_env ("NAME=value", NULL-terminated, may be
 * NULL; it overrides). timeout 0 = HOOK_TIMEOUT_DEFAULT; at the timeout the group gets SIGTERM, then
 * SIGKILL after the grace. The outcome (exit status, signal, timeout, exec failure) is logged with
 * label. Returns 0 and the hook, or negative errno (logged) when it could not be started. */
int hook_run(sd_event *e, const char *label, char *const *argv, char *const *extra_env, usec_t timeout,
             HookDoneFn done, void *userdata, Hook **ret);

/* True until the done callback has run. */
bool hook_running(const Hook *h);
/* The child's pid (also its process group). */
pid_t hook_pid(const Hook *h);

/* Frees the hook without calling back. A command still running is killed (SIGKILL to its group) and
 * reaped later by the event loop, without blocking. NULL-safe; returns NULL. */
Hook *hook_free(Hook *h);
void hook_freep(Hook **h);
