/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <sys/stat.h>

#include "log.h"

static int max_level = LOG_INFO;
static int use_prefix = -1;

/* JOURNAL_STREAM is "DEV:INODE" of the journal stream systemd connected stderr to. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_setup(void) {
        use_prefix = stderr_is_journal();
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        char buf[2048], msg[2048];
        const char *p;
        size_t n = 0;
        va_list ap;

        (void) file;
        (void) line;

        if (error < 0)
                error = -error;
        if (level > max_level)
                return -error;
        if (use_prefix < 0)
                log_setup();

        /* Expand %m ourselves so it refers to 'error', not to whatever errno happens to be. */
        for (p = fmt; *p && n < sizeof(buf) - 1; p++) {
                if (p[0] == '%' && p[1] == '%') {
                        if (n + 2 >= sizeof(buf))
                                break;
                        buf[n++] = '%';
                        buf[n++] = '%';
                        p++;
                } else if (p[0] == '%' && p[1] == 'm') {
                        const char *s = strerror(error);
                        for (; *s && n < sizeof(buf) - 2; s++) {
                                if (*s == '%')
                                        buf[n++] = '%';
                                buf[n++] = *s;
                        }
                        p++;
                } else
                        buf[n++] = *p;
        }
        buf[n] = 0;

        va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        vsnprintf(msg, sizeof(msg), buf, ap);
#pragma GCC diagnostic pop
        va_end(ap);

        /* One event, one line: never let an embedded newline forge a second log line. */
        for (char *q = msg; *q; q++)
                if (*q == '\n' || *q == '\r')
                        *q = ' ';

        if (use_prefix)
                fprintf(stderr, "<%d>%s\n", level, msg);
        else
                fprintf(stderr, "%s\n", msg);
        return -error;
}
