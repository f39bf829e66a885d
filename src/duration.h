/* SPDX-License-Identifier: MIT */
/* Durations in Go's time.ParseDuration syntax ("30m", "1h30m", "1.5h", "300ms"), as microseconds. */
#pragma once

#include "macro.h"

/* Large enough for any duration_format() result, including "infinity". */
#define DURATION_FORMAT_MAX 32

/* Parses a Go duration (no sign, no spaces; "0" alone is allowed) into microseconds, truncating
 * nanoseconds. Returns 0, -EINVAL for bad syntax (including any sign) or -ERANGE when the value
 * does not fit Go's int64 nanoseconds. *ret is only written on success. */
int duration_parse(const char *s, usec_t *ret);

/* Writes a short human form ("1h30m", "45s", "500ms", "0s", "infinity") into buf; whole seconds only
 * at or above 1s. Returns buf, or NULL when n is too small (buf then holds a truncated string). */
char *duration_format(usec_t u, char *buf, size_t n);
