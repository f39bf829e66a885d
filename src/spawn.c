/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "spawn.h"

static int check_executable(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EACCES;
        if (access(path, X_OK) < 0)
                return -errno;
        return 0;
}

int spawn_find_executable(const char *name, const char *default_path, char **ret) {
        const char *path;
        int r, first_error = -ENOENT;

        if (isempty(name))
                return -ENOENT;
        if (strchr(name, '/')) {
                r = check_executable(name);
                if (r < 0)
                        return r;
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }

        path = getenv("PATH");
        if (isempty(path))
                path = default_path;
        for (const char *p = path;;) {
                size_t n = strcspn(p, ":");
                _cleanup_free_ char *candidate = NULL;

                if (asprintf(&candidate, "%.*s/%s", (int) (n > 0 ? n : 1), n > 0 ? p : ".", name) < 0)
                        return -ENOMEM;
                r = check_executable(candidate);
                if (r == 0) {
                        *ret = TAKE_PTR(candidate);
                        return 0;
                }
                if (r == -EACCES)
                        first_error = r;
                if (!p[n])
                        break;
                p += n + 1;
        }
        return first_error;
}

int spawn_fd_above_stdio(int fd) {
        int n, r;

        if (fd < 0 || fd > STDERR_FILENO)
                return fd;
        n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        r = n < 0 ? -errno : n;
        close(fd);
        return r;
}

void spawn_close_pair(int fds[2]) {
        for (int i = 0; i < 2; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -EBADF;
                }
}

int spawn_pipe(int fds[2]) {
        int r;

        if (pipe2(fds, O_CLOEXEC) < 0) {
                r = -errno;
                fds[0] = fds[1] = -EBADF;
                return r;
        }
        fds[0] = spawn_fd_above_stdio(fds[0]);
        fds[1] = spawn_fd_above_stdio(fds[1]);
        r = fds[0] < 0 ? fds[0] : fds[1] < 0 ? fds[1] : 0;
        if (r == 0 && fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0)
                r = -errno;
        if (r < 0) {
                for (int i = 0; i < 2; i++)
                        if (fds[i] < 0)
                                fds[i] = -EBADF;
                spawn_close_pair(fds);
        }
        return r;
}

long spawn_max_fd(void) {
        long max_fd = sysconf(_SC_OPEN_MAX);

        return max_fd <= 0 || max_fd > 65536 ? 65536 : max_fd;
}

/* ---- the child, between fork() and execve(): async-signal-safe calls only ---- */

static void close_range_safe(unsigned from, unsigned to, long max_fd) {
        if (from > to)
                return;
#ifdef SYS_close_range
        if (syscall(SYS_close_range, from, to, 0U) == 0)
                return;
#endif
        for (long fd = from; fd <= (long) to && fd < max_fd; fd++)
                (void) close((int) fd);
}

void spawn_child_setup(int in_fd, int out_fd, int err_fd, int keep_fd, long max_fd) {
        sigset_t ss;

        (void) setpgid(0, 0);
        for (int sig = 1; sig < _NSIG; sig++) {
                struct sigaction sa = { .sa_handler = SIG_DFL };
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);
        }
        sigemptyset(&ss);
        (void) sigprocmask(SIG_SETMASK, &ss, NULL);

        if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
                _exit(127);
        if (keep_fd > STDERR_FILENO) {
                close_range_safe(3, (unsigned) keep_fd - 1, max_fd);
                close_range_safe((unsigned) keep_fd + 1, ~0U, max_fd);
        } else
                close_range_safe(3, ~0U, max_fd);
}
