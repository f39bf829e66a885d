/* SPDX-License-Identifier: MIT */
/* Child processes on the sd-event loop, for credential_process: started without a shell, stdout
 * collected and stderr logged line by line through non-blocking pipes, bounded by a timeout, so a
 * slow or hung helper never blocks signals, timers or watchdog pings. */
#pragma once

#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Process Process;

typedef struct ProcessResult {
        int error;       /* 0, or -ETIMEDOUT (killed at the timeout), -EFBIG (too much output), -EIO */
        int exit_status; /* exit code when it exited (error == 0 and signal == 0) */
        int signal;      /* the signal that killed it, or 0 */
        const char *out; /* stdout, NUL-terminated; valid during the callback only */
        size_t out_len;
} ProcessResult;

/* Runs once from the event loop when the process has exited and its output is read (or when it was
 * killed at the timeout). The callback may free the process. */
typedef void (*ProcessDoneFn)(Process *proc, const ProcessResult *result, void *userdata);

/* Splits a command line the way botocore does (Python's shlex.split(), POSIX mode, no comments):
 * whitespace separates words; '…' quotes literally; "…" quotes with \" and \\ escapes; a backslash
 * outside quotes escapes the next character. Returns 0 and a NULL-terminated list (free with
 * strv_free()), or -EINVAL with *ret_error set ("no closing quotation", "empty command", …). */
int process_split_command(const char *command, char ***ret_argv, char **ret_error);

/* Finds name as execvp() would: a name with '/' is taken as it is, else searched in $PATH (default
 * "/bin:/usr/bin"). Returns 0 and the path, -ENOENT if not found, -EACCES if not executable. */
int process_find_executable(const char *name, char **ret);

/* A copy of the environment without what the child has no business seeing: our AWS secrets
 * (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN, …), systemd's
 * $CREDENTIALS_DIRECTORY, and the sd_notify/socket activation variables. NULL on OOM. */
char **process_child_environment(void);

/* Starts path with argv and envp (copied as needed), stdin from /dev/null, in its own process group.
 * stdout is collected up to max_output bytes (more fails with -EFBIG); stderr lines are logged at
 * LOG_NOTICE prefixed with log_prefix. After timeout (usec, 0 for none) the process group is killed
 * with SIGKILL. Returns 0 and the process, or negative errno. */
int process_spawn(sd_event *e, const char *path, char *const *argv, char *const *envp, usec_t timeout, size_t max_output,
                  const char *log_prefix, ProcessDoneFn done, void *userdata, Process **ret);

/* Stops watching the process and frees it; a process still running is killed (SIGKILL to its group)
 * and reaped later without blocking. NULL-safe; returns NULL. */
Process *process_free(Process *p);
void process_freep(Process **p);

/* The process ID, for messages. */
pid_t process_pid(const Process *p);
