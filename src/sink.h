/* SPDX-License-Identifier: MIT */
/* Atomic file replacement for secrets: a reader sees the old file or the new one, never a mix. */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* Replaces path with data: a temp file in the same directory created with mode (exactly, whatever
 * the umask) before any byte is written, write, fsync, rename over path, fsync the directory.
 * On failure the old file is untouched, no temp file remains, and *ret_error (if not NULL) gets a
 * one-line message naming the path. Returns 0 or negative errno. */
int sink_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char **ret_error);
