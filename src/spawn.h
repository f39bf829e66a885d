/* SPDX-License-Identifier: MIT */
/* What starting a child process takes, shared by onRefresh (hook.c) and credential_process
 * (process.c): finding the program, pipes that survive dup2() onto 0/1/2, and the child's set-up
 * between fork() and execve(). */
#pragma once

#include "macro.h"

/* Searches name (which has no '/') in $PATH, or default_path when $PATH is unset or empty; an empty
 * entry means the current directory, as for execvp(). A name with '/' is checked where it is.
 * Returns 0 and the path, -ENOENT if not found, -EACCES if only something not executable (or a
 * directory) was. */
int spawn_find_executable(const char *name, const char *default_path, char **ret);

/* Moves fd above the standard descriptors (close-on-exec), so the child's dup2() onto 0/1/2 cannot
 * clobber it. Returns the new fd or -errno (fd is closed either way). */
int spawn_fd_above_stdio(int fd);

/* A close-on-exec pipe, both ends above the standard descriptors, the read end non-blocking. On
 * failure returns -errno and both fds are -EBADF. */
int spawn_pipe(int fds[2]);
void spawn_close_pair(int fds[2]);

/* The highest descriptor number a child has to care about. */
long spawn_max_fd(void);

/* In the child, after fork(): its own process group, default signal dispositions, no blocked
 * signals, stdin/stdout/stderr from in_fd/out_fd/err_fd and every other descriptor closed except
 * keep_fd (-1: none). Async-signal-safe. Exits 127 if the descriptors cannot be set up. */
void spawn_child_setup(int in_fd, int out_fd, int err_fd, int keep_fd, long max_fd);
