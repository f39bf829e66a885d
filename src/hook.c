/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "duration.h"
#include "hook.h"
#include "log.h"
#include "sd-compat.h"
#include "spawn.h"

#define HOOK_LINE_MAX 400U
#define HOOK_LINES_MAX 50U

struct Hook {
        sd_event *event;
        char *label;
        char *name; /* argv[0] as configured, for messages */
        pid_t pid;
        bool running;
        bool timed_out;
        usec_t started;

        int err_fd;  /* read end of the child's stderr */
        int exec_fd; /* read end of the pipe the child writes its execve() errno into */
        sd_event_source *child_source, *err_source, *timeout_source, *kill_source;
        usec_t grace;

        char line[HOOK_LINE_MAX + 1];
        size_t line_len;
        bool line_cut;
        unsigned lines_logged, lines_dropped;

        HookDoneFn done;
        void *userdata;
};

static bool env_name_is(const char *entry, const char *name) {
        size_t n = strlen(name);
        return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static bool env_in(const char *entry, char *const *list) {
        for (char *const *p = list; p && *p; p++) {
                size_t k = strcspn(*p, "=");
                if (strncmp(entry, *p, k) == 0 && entry[k] == '=')
                        return true;
        }
        return false;
}

/* Our environment without secrets and without what only we may use, plus extra (which wins). */
static char **build_env(char *const *extra) {
        static const char *const drop[] = {
                "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                /* systemd's, meant for this process only; stderr is our pipe, not the journal. */
                "NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
                "JOURNAL_STREAM", "CREDENTIALS_DIRECTORY",
        };
        size_t n = 0, k = 0;
        char **l;

        for (char **e = environ; e && *e; e++)
                n++;
        for (char *const *e = extra; e && *e; e++)
                n++;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return NULL;
        for (char **e = environ; e && *e; e++) {
                bool skip = env_in(*e, extra) || !strchr(*e, '=');
                for (size_t i = 0; i < ELEMENTSOF(drop) && !skip; i++)
                        skip = env_name_is(*e, drop[i]);
                if (skip)
                        continue;
                if (!(l[k++] = strdup(*e)))
                        return strv_free(l);
        }
        for (char *const *e = extra; e && *e; e++)
                if (!(l[k++] = strdup(*e)))
                        return strv_free(l);
        return l;
}

/* ---- the child, between fork() and execve(): async-signal-safe calls only ---- */

static _noreturn_ void child_exec(const char *path, char *const *argv, char *const *envp, int null_fd, int err_fd,
                                  int exec_fd, long max_fd) {
        int e;

        /* Every other descriptor goes, but the exec pipe (close-on-exec) stays until execve(). */
        spawn_child_setup(null_fd, null_fd, err_fd, exec_fd, max_fd);
        execve(path, argv, envp);
        e = errno;
        (void) !write(exec_fd, &e, sizeof(e));
        _exit(127);
}

/* ---- the parent ---- */

static void flush_line(Hook *h) {
        if (h->line_len == 0 && !h->line_cut)
                return;
        if (h->lines_logged >= HOOK_LINES_MAX)
                h->lines_dropped++;
        else {
                h->line[h->line_len] = 0;
                for (size_t i = 0; i < h->line_len; i++)
                        if ((unsigned char) h->line[i] < 0x20 || h->line[i] == 0x7f)
                                h->line[i] = ' ';
                log_full(LOG_NOTICE, "%s: onRefresh: %s%s", h->label, h->line, h->line_cut ? "..." : "");
                h->lines_logged++;
        }
        h->line_len = 0;
        h->line_cut = false;
}

static void close_stderr(Hook *h) {
        h->err_source = sd_event_source_disable_unref(h->err_source);
        if (h->err_fd >= 0)
                close(h->err_fd);
        h->err_fd = -EBADF;
}

/* Reads what is there without blocking; closes the pipe at EOF or error. */
static void drain_stderr(Hook *h) {
        char buf[4096];

        while (h->err_fd >= 0) {
                ssize_t k = read(h->err_fd, buf, sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return;
                if (k <= 0) {
                        flush_line(h);
                        close_stderr(h);
                        return;
                }
                for (ssize_t i = 0; i < k; i++) {
                        if (buf[i] == '\n')
                                flush_line(h);
                        else if (h->line_len < HOOK_LINE_MAX)
                                h->line[h->line_len++] = buf[i];
                        else
                                h->line_cut = true;
                }
        }
}

static int on_stderr(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        drain_stderr(userdata);
        return 0;
}

static void kill_group(Hook *h, int sig) {
        if (h->pid > 0 && h->running) {
                (void) kill(-h->pid, sig);
                (void) kill(h->pid, sig); /* in case setpgid() had not happened yet */
        }
}

static int on_kill(sd_event_source *s, uint64_t usec, void *userdata) {
        Hook *h = userdata;
        char buf[DURATION_FORMAT_MAX];

        log_warning("%s: onRefresh %s still running %s after SIGTERM, sending SIGKILL.", h->label, h->name,
                    duration_format(h->grace, buf, sizeof(buf)));
        kill_group(userdata, SIGKILL);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Hook *h = userdata;

        h->timed_out = true;
        kill_group(h, SIGTERM);
        if (sd_event_add_time(h->event, &h->kill_source, CLOCK_MONOTONIC, usec + h->grace, 0, on_kill, h) < 0)
                kill_group(h, SIGKILL);
        return 0;
}

static const char *signal_name(int sig, char *buf, size_t n) {
        static const struct {
                int sig;
                const char *name;
        } names[] = {
                { SIGHUP, "SIGHUP" },   { SIGINT, "SIGINT" },   { SIGQUIT, "SIGQUIT" }, { SIGILL, "SIGILL" },
                { SIGABRT, "SIGABRT" }, { SIGBUS, "SIGBUS" },   { SIGFPE, "SIGFPE" },   { SIGKILL, "SIGKILL" },
                { SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" }, { SIGPIPE, "SIGPIPE" },
                { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" }, { SIGSYS, "SIGSYS" },   { SIGXCPU, "SIGXCPU" },
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i].sig == sig)
                        return names[i].name;
        snprintf(buf, n, "signal %d", sig);
        return buf;
}

static void log_outcome(Hook *h, const HookResult *res) {
        char took[DURATION_FORMAT_MAX], sig[32];

        duration_format(res->duration, took, sizeof(took));
        if (res->error == -ETIMEDOUT)
                log_warning("%s: onRefresh %s timed out after %s and was stopped (%s).", h->label, h->name, took,
                            res->signal ? signal_name(res->signal, sig, sizeof(sig)) : "exited after SIGTERM");
        else if (res->error < 0)
                log_warning("%s: onRefresh: cannot execute %s: %s", h->label, h->name, strerror(-res->error));
        else if (res->signal)
                log_warning("%s: onRefresh %s was killed by %s after %s.", h->label, h->name,
                            signal_name(res->signal, sig, sizeof(sig)), took);
        else if (res->exit_status != 0)
                log_warning("%s: onRefresh %s failed with exit status %d after %s.", h->label, h->name, res->exit_status,
                            took);
        else
                log_info("%s: onRefresh %s succeeded in %s.", h->label, h->name, took);
}

static usec_t now_mono(sd_event *e) {
        uint64_t t;
        return sd_event_now(e, CLOCK_MONOTONIC, &t) >= 0 ? t : 0;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Hook *h = userdata;
        HookResult res = {};
        int e = 0;

        if (si->si_code != CLD_EXITED && si->si_code != CLD_KILLED && si->si_code != CLD_DUMPED)
                return 0; /* stopped or continued: not the end */

        h->running = false;
        h->timeout_source = sd_event_source_disable_unref(h->timeout_source);
        h->kill_source = sd_event_source_disable_unref(h->kill_source);
        /* What it wrote before exiting is in the pipe; a grandchild holding it open is not waited for. */
        drain_stderr(h);
        flush_line(h);
        close_stderr(h);
        if (h->lines_dropped > 0)
                log_notice("%s: onRefresh: %u more lines of output not logged.", h->label, h->lines_dropped);

        if (h->exec_fd >= 0) {
                if (read(h->exec_fd, &e, sizeof(e)) == (ssize_t) sizeof(e) && e > 0)
                        res.error = -e;
                close(h->exec_fd);
                h->exec_fd = -EBADF;
        }
        if (si->si_code == CLD_EXITED)
                res.exit_status = si->si_status;
        else
                res.signal = si->si_status;
        if (res.error == 0 && h->timed_out)
                res.error = -ETIMEDOUT;
        res.duration = now_mono(h->event) - h->started;

        log_outcome(h, &res);
        if (h->done)
                h->done(h, &res, h->userdata);
        return 0;
}

static int is_sigchld_blocked(void) {
        sigset_t ss;
        if (sigprocmask(SIG_SETMASK, NULL, &ss) < 0)
                return -errno;
        return sigismember(&ss, SIGCHLD);
}

int hook_run(sd_event *e, const char *label, char *const *argv, char *const *extra_env, usec_t timeout,
             HookDoneFn done, void *userdata, Hook **ret) {
        int err_pipe[2] = { -EBADF, -EBADF }, exec_pipe[2] = { -EBADF, -EBADF };
        _cleanup_close_ int null_fd = -EBADF;
        _cleanup_free_ char *path = NULL;
        char **envp = NULL;
        Hook *h = NULL;
        long max_fd;
        int r;

        label = label ?: "hook";
        if (!argv || isempty(argv[0])) {
                log_error("%s: onRefresh: empty command.", label);
                return -EINVAL;
        }
        /* A path is taken as it is: if it cannot be run, execve() says why. */
        if (strchr(argv[0], '/'))
                r = (path = strdup(argv[0])) ? 0 : -ENOMEM;
        else
                r = spawn_find_executable(argv[0], "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", &path);
        if (r == -ENOENT)
                return log_error_errno(r, "%s: onRefresh: cannot run %s: not found in $PATH.", label, argv[0]);
        if (r < 0)
                return log_error_errno(r, "%s: onRefresh: cannot run %s: %m", label, argv[0]);
        if (is_sigchld_blocked() <= 0)
                return log_error_errno(EBUSY, "%s: onRefresh: SIGCHLD is not blocked, cannot watch child processes.", label);

        h = calloc(1, sizeof(*h));
        if (!h)
                return log_oom();
        h->event = sd_event_ref(e);
        h->err_fd = h->exec_fd = -EBADF;
        h->done = done;
        h->userdata = userdata;
        if (timeout == 0)
                timeout = HOOK_TIMEOUT_DEFAULT;
        h->grace = MIN(HOOK_KILL_GRACE, timeout);
        h->label = strdup(label);
        h->name = strdup(argv[0]);
        envp = build_env(extra_env);
        if (!h->label || !h->name || !envp) {
                r = log_oom();
                goto fail;
        }

        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        null_fd = null_fd < 0 ? -errno : spawn_fd_above_stdio(null_fd);
        if (null_fd < 0) {
                r = log_error_errno(null_fd, "%s: onRefresh: cannot open /dev/null: %m", label);
                goto fail;
        }
        r = spawn_pipe(err_pipe);
        if (r >= 0)
                r = spawn_pipe(exec_pipe);
        if (r < 0) {
                log_error_errno(r, "%s: onRefresh: cannot create pipes: %m", label);
                goto fail;
        }
        max_fd = spawn_max_fd();

        h->pid = fork();
        if (h->pid < 0) {
                r = log_error_errno(errno, "%s: onRefresh: cannot fork: %m", label);
                goto fail;
        }
        if (h->pid == 0)
                child_exec(path, argv, envp, null_fd, err_pipe[1], exec_pipe[1], max_fd);

        (void) setpgid(h->pid, h->pid); /* also here, so a kill right away reaches the group */
        h->running = true;
        h->started = now_mono(e);
        close(err_pipe[1]);
        close(exec_pipe[1]);
        h->err_fd = err_pipe[0];
        h->exec_fd = exec_pipe[0];
        err_pipe[0] = err_pipe[1] = exec_pipe[0] = exec_pipe[1] = -EBADF;
        envp = strv_free(envp);

        r = sd_event_add_child(e, &h->child_source, h->pid, WEXITED, on_child, h);
        if (r >= 0) {
                (void) sd_event_source_set_description(h->child_source, "hook-child");
                r = sd_event_add_io(e, &h->err_source, h->err_fd, EPOLLIN, on_stderr, h);
        }
        if (r >= 0) {
                (void) sd_event_source_set_description(h->err_source, "hook-stderr");
                r = sd_event_add_time(e, &h->timeout_source, CLOCK_MONOTONIC, h->started + timeout, 0, on_timeout, h);
        }
        if (r < 0) {
                log_error_errno(r, "%s: onRefresh: cannot watch %s: %m", label, argv[0]);
                goto fail;
        }
        log_debug("%s: onRefresh: started %s (pid %d).", label, path, (int) h->pid);
        *ret = h;
        return 0;

fail:
        spawn_close_pair(err_pipe);
        spawn_close_pair(exec_pipe);
        strv_free(envp);
        hook_free(h);
        return r;
}

bool hook_running(const Hook *h) {
        return h && h->running;
}

pid_t hook_pid(const Hook *h) {
        return h->pid;
}

static int on_orphan(sd_event_source *s, const siginfo_t *si, void *userdata) {
        return 0; /* sd-event reaps it after this returns */
}

Hook *hook_free(Hook *h) {
        if (!h)
                return NULL;
        h->timeout_source = sd_event_source_disable_unref(h->timeout_source);
        h->kill_source = sd_event_source_disable_unref(h->kill_source);
        h->child_source = sd_event_source_disable_unref(h->child_source);
        if (h->running) {
                kill_group(h, SIGKILL);
                /* Leave the reaping to a source the loop owns, so freeing never waits. */
                if (waitpid(h->pid, NULL, WNOHANG) == 0 && sd_event_add_child(h->event, NULL, h->pid, WEXITED, on_orphan, NULL) < 0)
                        log_debug("%s: onRefresh: cannot watch killed pid %d, it stays a zombie.", h->label ?: "hook",
                                  (int) h->pid);
        }
        close_stderr(h);
        if (h->exec_fd >= 0)
                close(h->exec_fd);
        secure_zero(h->line, sizeof(h->line));
        free(h->label);
        free(h->name);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

void hook_freep(Hook **h) {
        *h = hook_free(*h);
}
