/* SPDX-License-Identifier: MIT */
/* Logging to stderr, one line per event. Under journald (JOURNAL_STREAM matches stderr) each line
 * carries an sd-daemon "<N>" priority prefix so the journal keeps the priority. Never pass secrets. */
#pragma once

#include <syslog.h>
#include "macro.h"

/* Decides once whether stderr is the journal; called by main(), safe to call again. */
void log_setup(void);
/* Messages above this priority (numerically greater) are dropped. Default LOG_INFO. */
void log_set_max_level(int level);
int log_get_max_level(void);

/* Logs and returns -abs(error) (or 0 when error is 0), so "return log_error_errno(r, ...)" works.
 * "%m" in the format expands to strerror(error). */
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) _printf_(5, 6);

#define log_full_errno(level, error, ...) log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)
#define log_full(level, ...) (void) log_internal((level), 0, __FILE__, __LINE__, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
#define log_oom() log_full_errno(LOG_ERR, ENOMEM, "Out of memory.")
