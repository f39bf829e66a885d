/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "process.h"
#include "sd-compat.h"
#include "spawn.h"

#define STDERR_LINE_MAX 400U
#define REAP_POLL_MIN (2 * USEC_PER_MSEC)
#define REAP_POLL_MAX (100 * USEC_PER_MSEC)
#define ORPHANS_MAX 64

extern char **environ;

struct Process {
        sd_event *event;
        pid_t pid;
        int out_fd, err_fd;
        sd_event_source *out_source, *err_source, *timeout_source, *reap_source;

        char *out;
        size_t out_len, out_alloc, max_output;
        char errline[STDERR_LINE_MAX + 1];
        size_t errline_len;
        bool errline_cut;
        char *log_prefix;

        bool out_eof, err_eof, exited, finished;
        int wait_status;
        int error;
        usec_t reap_interval;

        ProcessDoneFn done;
        void *userdata;
};

/* Killed children that had not exited yet when their Process was freed: reaped later, never waited for. */
static pid_t orphans[ORPHANS_MAX];
static size_t n_orphans;

static void reap_orphans(void) {
        size_t j = 0;
        for (size_t i = 0; i < n_orphans; i++) {
                pid_t r = waitpid(orphans[i], NULL, WNOHANG);
                if (r == 0)
                        orphans[j++] = orphans[i];
        }
        n_orphans = j;
}

static int strv_push(char ***l, size_t *n, char *s) {
        char **m = reallocarray(*l, *n + 2, sizeof(char *));
        if (!m) {
                free(s);
                return -ENOMEM;
        }
        m[(*n)++] = s;
        m[*n] = NULL;
        *l = m;
        return 0;
}

int process_split_command(const char *command, char ***ret_argv, char **ret_error) {
        _cleanup_(strv_freep) char **argv = NULL;
        _cleanup_free_ char *word = NULL;
        size_t n = 0, len = 0;
        char quote = 0;       /* inside '…' or "…" */
        bool have_word = false;
        int r;

        *ret_error = NULL;
        word = malloc(strlen(command) + 1);
        if (!word)
                return -ENOMEM;

        for (const char *s = command;; s++) {
                char c = *s;

                if (c == 0 && quote) {
                        *ret_error = strdup("no closing quotation");
                        return -EINVAL;
                }
                if (quote) {
                        if (c == quote)
                                quote = 0;
                        else if (c == '\\' && quote == '"' && (s[1] == '"' || s[1] == '\\'))
                                word[len++] = *++s;
                        else if (c == '\\' && quote == '"' && s[1] == 0) {
                                *ret_error = strdup("no escaped character");
                                return -EINVAL;
                        } else
                                word[len++] = c;
                        continue;
                }
                if (c == 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                        if (have_word) {
                                char *w = strndup(word, len);
                                if (!w)
                                        return -ENOMEM;
                                r = strv_push(&argv, &n, w);
                                if (r < 0)
                                        return r;
                                len = 0;
                                have_word = false;
                        }
                        if (c == 0)
                                break;
                        continue;
                }
                have_word = true;
                if (c == '\'' || c == '"')
                        quote = c;
                else if (c == '\\') {
                        if (s[1] == 0) {
                                *ret_error = strdup("no escaped character");
                                return -EINVAL;
                        }
                        word[len++] = *++s;
                } else
                        word[len++] = c;
        }

        if (n == 0) {
                *ret_error = strdup("empty command");
                return -EINVAL;
        }
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

int process_find_executable(const char *name, char **ret) {
        return spawn_find_executable(name, "/bin:/usr/bin" /* Python's os.defpath */, ret);
}

char **process_child_environment(void) {
        static const char *const drop[] = {
                "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
                "AWS_SECURITY_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET",
                "WATCHDOG_PID", "WATCHDOG_USEC", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
        };
        char **l = NULL;
        size_t n = 0;

        for (char **e = environ; e && *e; e++) {
                size_t k = strcspn(*e, "=");
                bool skip = false;
                char *copy;

                for (size_t i = 0; i < ELEMENTSOF(drop); i++)
                        if (strlen(drop[i]) == k && strncmp(*e, drop[i], k) == 0)
                                skip = true;
                if (skip)
                        continue;
                copy = strdup(*e);
                if (!copy || strv_push(&l, &n, copy) < 0)
                        return strv_free(l);
        }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return NULL;
        }
        return l;
}

/* ---- the child, between fork() and execve(): async-signal-safe calls only ---- */

static void write_all_safe(int fd, const char *s) {
        size_t n = strlen(s);
        while (n > 0) {
                ssize_t k = write(fd, s, n);
                if (k <= 0)
                        return;
                s += k;
                n -= (size_t) k;
        }
}

static _noreturn_ void child_exec(const char *path, char *const *argv, char *const *envp, int in_fd, int out_fd,
                                  int err_fd, long max_fd) {
        char num[16];
        int e, i = (int) sizeof(num) - 1;

        spawn_child_setup(in_fd, out_fd, err_fd, -1, max_fd);
        execve(path, argv, envp);

        e = errno;
        num[i] = 0;
        do {
                num[--i] = (char) ('0' + e % 10);
                e /= 10;
        } while (e > 0 && i > 0);
        write_all_safe(STDERR_FILENO, "cannot execute ");
        write_all_safe(STDERR_FILENO, path);
        write_all_safe(STDERR_FILENO, " (errno ");
        write_all_safe(STDERR_FILENO, num + i);
        write_all_safe(STDERR_FILENO, ")\n");
        _exit(127);
}

/* ---- the parent ---- */

static void stop_io(Process *p) {
        p->out_source = sd_event_source_disable_unref(p->out_source);
        p->err_source = sd_event_source_disable_unref(p->err_source);
        if (p->out_fd >= 0)
                close(p->out_fd);
        if (p->err_fd >= 0)
                close(p->err_fd);
        p->out_fd = p->err_fd = -EBADF;
}

static void flush_errline(Process *p) {
        if (p->errline_len == 0 && !p->errline_cut)
                return;
        p->errline[p->errline_len] = 0;
        for (size_t i = 0; i < p->errline_len; i++)
                if ((unsigned char) p->errline[i] < 0x20 || p->errline[i] == 0x7f)
                        p->errline[i] = ' ';
        log_full(LOG_NOTICE, "%s: %s%s", p->log_prefix, p->errline, p->errline_cut ? "..." : "");
        p->errline_len = 0;
        p->errline_cut = false;
}

static void finish(Process *p) {
        ProcessResult res = {
                .error = p->error,
                .out = p->out ?: "",
                .out_len = p->out_len,
        };

        if (p->finished)
                return;
        p->finished = true;
        stop_io(p);
        flush_errline(p);
        p->timeout_source = sd_event_source_disable_unref(p->timeout_source);
        p->reap_source = sd_event_source_disable_unref(p->reap_source);
        if (!res.error && p->exited) {
                if (WIFEXITED(p->wait_status))
                        res.exit_status = WEXITSTATUS(p->wait_status);
                else if (WIFSIGNALED(p->wait_status))
                        res.signal = WTERMSIG(p->wait_status);
        }
        p->done(p, &res, p->userdata);
}

static void kill_group(Process *p) {
        if (p->pid > 0 && !p->exited) {
                (void) kill(-p->pid, SIGKILL);
                (void) kill(p->pid, SIGKILL);
        }
}

static void fail(Process *p, int error) {
        p->error = error;
        kill_group(p);
        finish(p);
}

static int on_reap_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* Both pipes are at EOF: the process has normally exited or is about to. Poll for it without
 * blocking (SIGCHLD is not ours to block, and pidfds are not everywhere). */
static void try_reap(Process *p) {
        pid_t r;
        uint64_t now;

        if (!p->out_eof || !p->err_eof || p->finished)
                return;
        r = waitpid(p->pid, &p->wait_status, WNOHANG);
        if (r == p->pid) {
                p->exited = true;
                return finish(p);
        }
        if (r < 0) {
                p->exited = true; /* someone else reaped it */
                return fail(p, -EIO);
        }
        if (sd_event_now(p->event, CLOCK_MONOTONIC, &now) < 0)
                return fail(p, -EIO);
        p->reap_interval = p->reap_interval ? MIN(p->reap_interval * 2, REAP_POLL_MAX) : REAP_POLL_MIN;
        if (p->reap_source) {
                (void) sd_event_source_set_time(p->reap_source, now + p->reap_interval);
                (void) sd_event_source_set_enabled(p->reap_source, SD_EVENT_ONESHOT);
        } else if (sd_event_add_time(p->event, &p->reap_source, CLOCK_MONOTONIC, now + p->reap_interval, 0, on_reap_timer, p) < 0)
                fail(p, -EIO);
}

static int on_reap_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        try_reap(userdata);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        fail(userdata, -ETIMEDOUT);
        return 0;
}

static void on_stderr_data(Process *p, const char *buf, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                        flush_errline(p);
                        continue;
                }
                if (p->errline_len < STDERR_LINE_MAX)
                        p->errline[p->errline_len++] = buf[i];
                else
                        p->errline_cut = true;
        }
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Process *p = userdata;
        bool is_out = fd == p->out_fd;
        char buf[4096];

        for (;;) {
                ssize_t k = read(fd, buf, sizeof(buf));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        fail(p, -EIO);
                        return 0;
                }
                if (k == 0) {
                        if (is_out) {
                                p->out_eof = true;
                                p->out_source = sd_event_source_disable_unref(p->out_source);
                                close(p->out_fd);
                                p->out_fd = -EBADF;
                        } else {
                                p->err_eof = true;
                                p->err_source = sd_event_source_disable_unref(p->err_source);
                                close(p->err_fd);
                                p->err_fd = -EBADF;
                        }
                        try_reap(p);
                        return 0;
                }
                if (!is_out) {
                        on_stderr_data(p, buf, (size_t) k);
                        continue;
                }
                if (p->out_len + (size_t) k > p->max_output) {
                        secure_zero(buf, sizeof(buf));
                        fail(p, -EFBIG);
                        return 0;
                }
                if (p->out_len + (size_t) k + 1 > p->out_alloc) {
                        size_t a = MAX(p->out_alloc * 2, p->out_len + (size_t) k + 1);
                        char *m = malloc(a);
                        if (!m) {
                                secure_zero(buf, sizeof(buf));
                                fail(p, -ENOMEM);
                                return 0;
                        }
                        if (p->out) {
                                memcpy(m, p->out, p->out_len);
                                secure_zero(p->out, p->out_alloc);
                                free(p->out);
                        }
                        p->out = m;
                        p->out_alloc = a;
                }
                memcpy(p->out + p->out_len, buf, (size_t) k);
                p->out_len += (size_t) k;
                p->out[p->out_len] = 0;
        }
        secure_zero(buf, sizeof(buf));
        return 0;
}

int process_spawn(sd_event *e, const char *path, char *const *argv, char *const *envp, usec_t timeout, size_t max_output,
                  const char *log_prefix, ProcessDoneFn done, void *userdata, Process **ret) {
        int out_pipe[2] = { -EBADF, -EBADF }, err_pipe[2] = { -EBADF, -EBADF };
        _cleanup_close_ int null_fd = -EBADF;
        Process *p;
        long max_fd;
        uint64_t now;
        int r;

        reap_orphans();

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(e);
        p->out_fd = p->err_fd = -EBADF;
        p->max_output = max_output;
        p->done = done;
        p->userdata = userdata;
        p->log_prefix = strdup(log_prefix ?: "child");
        if (!p->log_prefix) {
                r = -ENOMEM;
                goto fail;
        }

        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (null_fd < 0) {
                r = -errno;
                goto fail;
        }
        null_fd = spawn_fd_above_stdio(null_fd);
        if (null_fd < 0) {
                r = null_fd;
                goto fail;
        }
        r = spawn_pipe(out_pipe);
        if (r < 0)
                goto fail;
        r = spawn_pipe(err_pipe);
        if (r < 0)
                goto fail;
        max_fd = spawn_max_fd();

        p->pid = fork();
        if (p->pid < 0) {
                r = -errno;
                goto fail;
        }
        if (p->pid == 0)
                child_exec(path, argv, envp, null_fd, out_pipe[1], err_pipe[1], max_fd);

        (void) setpgid(p->pid, p->pid); /* also here, so a kill right away reaches the group */
        close(out_pipe[1]);
        close(err_pipe[1]);
        out_pipe[1] = err_pipe[1] = -EBADF;
        p->out_fd = out_pipe[0];
        p->err_fd = err_pipe[0];
        out_pipe[0] = err_pipe[0] = -EBADF;

        r = sd_event_add_io(e, &p->out_source, p->out_fd, EPOLLIN, on_pipe, p);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(e, &p->err_source, p->err_fd, EPOLLIN, on_pipe, p);
        if (r < 0)
                goto fail;
        if (timeout > 0) {
                r = sd_event_now(e, CLOCK_MONOTONIC, &now);
                if (r < 0)
                        goto fail;
                r = sd_event_add_time(e, &p->timeout_source, CLOCK_MONOTONIC, now + timeout, 0, on_timeout, p);
                if (r < 0)
                        goto fail;
        }
        *ret = p;
        return 0;

fail:
        spawn_close_pair(out_pipe);
        spawn_close_pair(err_pipe);
        p->finished = true;
        process_free(p);
        return r;
}

Process *process_free(Process *p) {
        if (!p)
                return NULL;
        stop_io(p);
        p->timeout_source = sd_event_source_disable_unref(p->timeout_source);
        p->reap_source = sd_event_source_disable_unref(p->reap_source);
        if (p->pid > 0 && !p->exited) {
                kill_group(p);
                if (waitpid(p->pid, NULL, WNOHANG) == 0) {
                        if (n_orphans < ORPHANS_MAX)
                                orphans[n_orphans++] = p->pid;
                }
        }
        if (p->out) {
                secure_zero(p->out, p->out_alloc);
                free(p->out);
        }
        secure_zero(p->errline, sizeof(p->errline));
        free(p->log_prefix);
        sd_event_unref(p->event);
        free(p);
        reap_orphans();
        return NULL;
}

void process_freep(Process **p) {
        *p = process_free(*p);
}

pid_t process_pid(const Process *p) {
        return p->pid;
}
