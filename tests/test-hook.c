/* SPDX-License-Identifier: MIT */
/* onRefresh commands on a real sd-event loop: environment, exit status and stderr in the log,
 * timeout with SIGTERM then SIGKILL, exec failures, and a loop that keeps turning meanwhile. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hook.h"
#include "tap.h"

/* argv and environment lists are char *const[], as execve() takes them. */
#define A(s) ((char *) (s))

static sd_event *event;
static char dir[256], logpath[512];
static int logfd;

typedef struct Run {
        bool done;
        HookResult res;
        pid_t pid;
        bool free_in_callback;
} Run;

static void on_done(Hook *h, const HookResult *res, void *userdata) {
        Run *run = userdata;
        run->done = true;
        run->res = *res;
        if (run->free_in_callback)
                hook_free(h);
}

static usec_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static void spin_until(bool *flag, usec_t max) {
        usec_t end = now_usec() + max;
        while (!*flag && now_usec() < end)
                sd_event_run(event, 50 * USEC_PER_MSEC);
}

/* Runs argv to its end; returns hook_run()'s result. */
static int run_hook(char *const *argv, char *const *env, usec_t timeout, Run *run) {
        Hook *h = NULL;
        int r;

        *run = (Run) {};
        r = hook_run(event, "123456789012/us-west-2", argv, env, timeout, on_done, run, &h);
        if (r < 0)
                return r;
        run->pid = hook_pid(h);
        spin_until(&run->done, 15 * USEC_PER_SEC);
        hook_free(h);
        return 0;
}

/* The log so far (our stderr goes to a file), from offset *pos on. */
static char *log_since(off_t *pos) {
        static char buf[65536];
        ssize_t n = pread(logfd, buf, sizeof(buf) - 1, *pos);
        buf[n > 0 ? n : 0] = 0;
        if (n > 0)
                *pos += n;
        return buf;
}

static char *slurp(const char *path) {
        static char buf[65536];
        int fd = open(path, O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0)
                close(fd);
        buf[n > 0 ? n : 0] = 0;
        return buf;
}

static bool env_has(const char *env, const char *line) {
        size_t n = strlen(line);
        for (const char *p = env; (p = strstr(p, line)); p++)
                if ((p == env || p[-1] == '\n') && p[n] == '\n')
                        return true;
        return false;
}

static bool env_has_name(const char *env, const char *name) {
        size_t n = strlen(name);
        for (const char *p = env; (p = strstr(p, name)); p++)
                if ((p == env || p[-1] == '\n') && p[n] == '=')
                        return true;
        return false;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        int *ticks = userdata;
        (*ticks)++;
        (void) sd_event_source_set_time(s, usec + 100 * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

int main(void) {
        char envfile[512], outvar[600], noexec[512];
        off_t pos = 0;
        Run run;
        sigset_t ss;
        char *l;
        int r;

        snprintf(dir, sizeof(dir), "%s/test-hook.XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(dir)) {
                printf("Bail out! mkdtemp failed\n");
                return 1;
        }
        /* Everything logged goes to a file we read back: what an operator would see. */
        snprintf(logpath, sizeof(logpath), "%s/log", dir);
        logfd = open(logpath, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
        if (logfd < 0 || dup2(logfd, STDERR_FILENO) < 0) {
                printf("Bail out! cannot redirect stderr\n");
                return 1;
        }
        if (sd_event_new(&event) < 0) {
                printf("Bail out! sd_event_new failed\n");
                return 1;
        }

        {
                char *const argv[] = { A("/bin/true"), NULL };
                Hook *h = NULL;
                r = hook_run(event, "x", argv, NULL, 0, on_done, &run, &h);
                is_int(r, -EBUSY, "SIGCHLD not blocked: refused, not racing with the default disposition");
                ok(strstr(log_since(&pos), "SIGCHLD is not blocked"), "and logged");
        }
        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigprocmask(SIG_BLOCK, &ss, NULL);

        /* Environment: secrets and systemd's variables gone, ours added, the rest kept. */
        setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "secret-1", 1);
        setenv("AWS_SECRET_KEY", "secret-2", 1);
        setenv("AWS_SESSION_TOKEN", "secret-3", 1);
        setenv("AWS_SECURITY_TOKEN", "secret-4", 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-5", 1);
        setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
        setenv("AWS_REGION", "us-east-1", 1);
        setenv("REGISTRY_ID", "stale", 1);
        snprintf(envfile, sizeof(envfile), "%s/env", dir);
        snprintf(outvar, sizeof(outvar), "OUT=%s", envfile);
        {
                char *const argv[] = { A("/bin/sh"), A("-c"), A("env >\"$OUT\"; echo 'to stderr' >&2; echo 'to stdout'; exit 0"), NULL };
                char *const env[] = { A("REGISTRY_ID=123456789012"), A("REGION=us-west-2"),
                                      A("PASSWORD_FILE=/var/lib/ecr-token-refresh/r.pass"), outvar, NULL };
                is_int(run_hook(argv, env, 0, &run), 0, "started");
                ok(run.done && run.res.error == 0 && run.res.exit_status == 0 && run.res.signal == 0, "exited 0");
                const char *e = slurp(envfile);
                ok(env_has(e, "REGISTRY_ID=123456789012") && env_has(e, "REGION=us-west-2") &&
                           env_has(e, "PASSWORD_FILE=/var/lib/ecr-token-refresh/r.pass"),
                   "REGISTRY_ID, REGION, PASSWORD_FILE set");
                ok(!env_has(e, "REGISTRY_ID=stale"), "our REGISTRY_ID overrides an inherited one");
                ok(!strstr(e, "secret-"), "no AWS secret in the child's environment");
                ok(!env_has_name(e, "AWS_SECRET_ACCESS_KEY") && !env_has_name(e, "AWS_SESSION_TOKEN") &&
                           !env_has_name(e, "AWS_SECRET_KEY") && !env_has_name(e, "AWS_CONTAINER_AUTHORIZATION_TOKEN"),
                   "the secret variables are gone");
                ok(!env_has_name(e, "NOTIFY_SOCKET"), "NOTIFY_SOCKET gone (only the daemon talks to systemd)");
                ok(env_has(e, "AWS_REGION=us-east-1") && env_has(e, "AWS_ACCESS_KEY_ID=AKIAEXAMPLE"),
                   "other variables inherited");
                l = log_since(&pos);
                ok(strstr(l, "123456789012/us-west-2: onRefresh: to stderr\n"), "stderr line logged with the registry label");
                ok(!strstr(l, "to stdout"), "stdout not logged (documented: /dev/null)");
                ok(strstr(l, "123456789012/us-west-2: onRefresh /bin/sh succeeded"), "success logged");
        }

        {
                char *const argv[] = { A("sh"), A("-c"), A("echo 'it broke' >&2; exit 3"), NULL };
                is_int(run_hook(argv, NULL, 0, &run), 0, "started from $PATH");
                is_int(run.res.exit_status, 3, "exit status 3 reported");
                l = log_since(&pos);
                ok(strstr(l, "onRefresh: it broke") && strstr(l, "onRefresh sh failed with exit status 3"),
                   "stderr and the exit status logged");
        }

        {
                /* The loop keeps turning while a hook runs. */
                char *const argv[] = { A("/bin/sleep"), A("1"), NULL };
                sd_event_source *tick = NULL;
                int ticks = 0;
                sd_event_add_time_relative(event, &tick, CLOCK_MONOTONIC, 100 * USEC_PER_MSEC, 0, on_tick, &ticks);
                is_int(run_hook(argv, NULL, 0, &run), 0, "sleep 1 started");
                ok(run.res.exit_status == 0 && run.res.duration >= 900 * USEC_PER_MSEC, "it ran its second");
                ok(ticks >= 5, "a 100ms timer fired %d times meanwhile", ticks);
                sd_event_source_disable_unref(tick);
        }

        {
                char *const argv[] = { A("/bin/sleep"), A("30"), NULL };
                usec_t t = now_usec();
                is_int(run_hook(argv, NULL, 300 * USEC_PER_MSEC, &run), 0, "sleep 30 with a 300ms timeout");
                ok(run.res.error == -ETIMEDOUT && run.res.signal == SIGTERM, "stopped by SIGTERM at the timeout");
                ok(now_usec() - t < 3 * USEC_PER_SEC, "promptly");
                ok(strstr(log_since(&pos), "timed out after"), "timeout logged");
        }

        {
                char *const argv[] = { A("/bin/sh"), A("-c"), A("trap '' TERM; sleep 30; exit 0"), NULL };
                usec_t t = now_usec();
                is_int(run_hook(argv, NULL, 300 * USEC_PER_MSEC, &run), 0, "a hook ignoring SIGTERM");
                ok(run.res.error == -ETIMEDOUT && run.res.signal == SIGKILL, "SIGKILL after the grace period");
                ok(now_usec() - t < 3 * USEC_PER_SEC, "within timeout + grace");
                ok(strstr(log_since(&pos), "sending SIGKILL"), "escalation logged");
        }

        {
                char *const argv[] = { A("/nonexistent/hook"), NULL };
                is_int(run_hook(argv, NULL, 0, &run), 0, "a missing absolute path is found out at execve()");
                is_int(run.res.error, -ENOENT, "error ENOENT");
                ok(strstr(log_since(&pos), "cannot execute /nonexistent/hook: No such file or directory"), "logged");
        }
        {
                snprintf(noexec, sizeof(noexec), "%s/noexec.sh", dir);
                close(open(noexec, O_WRONLY | O_CREAT, 0644));
                char *const argv[] = { noexec, NULL };
                is_int(run_hook(argv, NULL, 0, &run), 0, "a file without x bit");
                is_int(run.res.error, -EACCES, "error EACCES");
        }
        {
                char *const argv[] = { A("no-such-command-for-ecr-test"), NULL };
                is_int(run_hook(argv, NULL, 0, &run), -ENOENT, "a name not in $PATH fails at once");
                ok(strstr(log_since(&pos), "not found in $PATH"), "logged");
                char *const empty[] = { NULL };
                is_int(run_hook(empty, NULL, 0, &run), -EINVAL, "an empty command is refused");
        }

        {
                char *const argv[] = { A("/bin/sh"), A("-c"),
                                       A("i=0; while [ $i -lt 80 ]; do echo line$i >&2; i=$((i+1)); done; "
                                       "printf 'A%0999d\\n' 0 >&2; printf 'esc\\033[31mape\\n' >&2"),
                                       NULL };
                is_int(run_hook(argv, NULL, 0, &run), 0, "a chatty hook");
                l = log_since(&pos);
                ok(strstr(l, "onRefresh: line49\n") && !strstr(l, "onRefresh: line50\n"), "at most 50 lines logged");
                ok(strstr(l, "32 more lines of output not logged"), "the rest counted");
        }
        {
                char *const argv[] = { A("/bin/sh"), A("-c"), A("printf 'A%0999d\\n' 0 >&2; printf 'esc\\033[31mape' >&2"), NULL };
                is_int(run_hook(argv, NULL, 0, &run), 0, "long lines");
                l = log_since(&pos);
                ok(strstr(l, "onRefresh: A000") && strstr(l, "...\n") && !strstr(l, "A0000000000000000000000000000000000000"
                                                                                      "0000000000000000000000000000000000000"
                                                                                      "0000000000000000000000000000000000000"
                                                                                      "0000000000000000000000000000000000000"
                                                                                      "0000000000000000000000000000000000000"
                                                                                      "0000000000000000000000000000000000000"
                                                                                      "0000000000000000000000000000000000000"
                                                                                      "0000000000000000000000000000000000000"
                                                                                      "0000000000000000000000000000000000000"
                                                                                      "0000000000000000000000000000000000000"
                                                                                      "0000000000000000000000000000000000000"
                                                                                      "00000000000000000000000000000000000000"),
                   "a long line is cut");
                ok(strstr(l, "onRefresh: esc [31mape\n"), "control characters neutralised; last line without newline logged");
        }

        {
                /* A background child keeping stderr open does not hold the hook up. */
                char *const argv[] = { A("/bin/sh"), A("-c"), A("sleep 5 >&2 & exit 0"), NULL };
                usec_t t = now_usec();
                is_int(run_hook(argv, NULL, 0, &run), 0, "a hook leaving a background child");
                ok(run.done && run.res.exit_status == 0 && now_usec() - t < 2 * USEC_PER_SEC, "done when the hook exits");
                (void) kill(-run.pid, SIGKILL);
        }

        {
                /* Freed while running: killed and reaped by the loop, no zombie. */
                char *const argv[] = { A("/bin/sleep"), A("30"), NULL };
                Hook *h = NULL;
                bool gone = false;
                run = (Run) {};
                is_int(hook_run(event, "x/y", argv, NULL, 0, on_done, &run, &h), 0, "sleep 30 started");
                pid_t pid = hook_pid(h);
                sd_event_run(event, 10 * USEC_PER_MSEC);
                hook_free(h);
                for (int i = 0; i < 100 && !gone; i++) {
                        sd_event_run(event, 20 * USEC_PER_MSEC);
                        gone = kill(pid, 0) < 0 && errno == ESRCH;
                }
                ok(gone, "freed while running: killed and reaped");
                ok(!run.done, "no callback after free");
        }
        {
                char *const argv[] = { A("/bin/true"), NULL };
                Hook *h = NULL;
                run = (Run) { .free_in_callback = true };
                is_int(hook_run(event, "x/y", argv, NULL, 0, on_done, &run, &h), 0, "true started");
                pid_t pid = hook_pid(h);
                spin_until(&run.done, 5 * USEC_PER_SEC);
                sd_event_run(event, 0);
                ok(run.done && waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD, "freed in its callback: reaped");
        }

        ok(!strstr(slurp(logpath), "secret-"), "no secret anywhere in the log");
        sd_event_unref(event);
        {
                char cmd[600];
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                (void) !system(cmd);
        }
        return done_testing();
}
