/* SPDX-License-Identifier: MIT */
/* Unit tests for child processes on the event loop (credential_process): command splitting as
 * botocore's shlex.split() does it, PATH lookup, the child's environment, and real children: output,
 * exit status, timeout with the whole process group killed, and a loop that keeps turning meanwhile. */
#include <signal.h>
#include <sys/stat.h>

#include "process.h"
#include "tap.h"

/* Expected results come from Python 3's shlex.split(). */
static void check_split(const char *cmd, const char *const *want, const char *want_error) {
        char **argv = NULL, *error = NULL;
        int r = process_split_command(cmd, &argv, &error);
        bool good;

        if (want_error)
                good = r == -EINVAL && error && streq(error, want_error) && !argv;
        else {
                size_t n = 0;
                good = r == 0 && argv && !error;
                for (; good && want[n]; n++)
                        good = argv[n] && streq(argv[n], want[n]);
                good = good && !argv[n];
        }
        char shown[128];
        size_t o = 0;
        for (const char *c = cmd; *c && o + 3 < sizeof(shown); c++) {
                if (*c == '\n' || *c == '\t') {
                        shown[o++] = '\\';
                        shown[o++] = *c == '\n' ? 'n' : 't';
                } else
                        shown[o++] = *c;
        }
        shown[o] = 0;
        if (!ok(good, "split [%s]", shown)) {
                diag("r=%d error=%s", r, error ?: "(none)");
                for (char **a = argv; a && *a; a++)
                        diag("  word [%s]", *a);
        }
        strv_free(argv);
        free(error);
}

#define W(...) ((const char *const[]) { __VA_ARGS__, NULL })

static void test_split(void) {
        check_split("a b", W("a", "b"), NULL);
        check_split("  'a b'  c ", W("a b", "c"), NULL);
        check_split("\"a \\\" b\"", W("a \" b"), NULL);
        check_split("a\\ b", W("a b"), NULL);
        check_split("\"a\\nb\"", W("a\\nb"), NULL);
        check_split("''", W(""), NULL);
        check_split("a''b", W("ab"), NULL);
        check_split("\"C:\\path\\x\"", W("C:\\path\\x"), NULL);
        check_split("a 'b\\c' d", W("a", "b\\c", "d"), NULL);
        check_split("x\"y z\"w", W("xy zw"), NULL);
        check_split("\"\\\\\"", W("\\"), NULL);
        check_split("a\tb\nc", W("a", "b", "c"), NULL);
        check_split("prog --opt=\"v 1\"", W("prog", "--opt=v 1"), NULL);
        check_split("/usr/bin/aws-vault export --format=json prod", W("/usr/bin/aws-vault", "export", "--format=json", "prod"),
                    NULL);
        check_split("'\\''", NULL, "no closing quotation");
        check_split("\"abc", NULL, "no closing quotation");
        check_split("'abc", NULL, "no closing quotation");
        check_split("abc\\", NULL, "no escaped character");
        check_split("\"abc\\", NULL, "no escaped character");
        check_split("", NULL, "empty command");
        check_split("   ", NULL, "empty command");
}

static void test_find_executable(const char *dir) {
        char *path = NULL, *p2 = NULL, *script = NULL, *plain = NULL;
        const char *saved = getenv("PATH");
        char *saved_copy = saved ? strdup(saved) : NULL;
        FILE *f;

        ok(process_find_executable("sh", &path) == 0 && path && path[0] == '/', "sh is found in $PATH (%s)", path ?: "-");
        free(path);
        path = NULL;
        ok(process_find_executable("/bin/sh", &path) == 0 && streq(path, "/bin/sh"), "a path with / is taken as it is");
        free(path);
        path = NULL;
        is_int(process_find_executable("no-such-program-xyz", &path), -ENOENT, "unknown program: -ENOENT");
        is_int(process_find_executable("/no/such/file", &path), -ENOENT, "missing path: -ENOENT");
        is_int(process_find_executable("/tmp", &path), -EACCES, "a directory: -EACCES");

        asprintf(&script, "%s/helper", dir);
        asprintf(&plain, "%s/not-executable", dir);
        f = fopen(script, "w");
        fputs("#!/bin/sh\n", f);
        fclose(f);
        chmod(script, 0755);
        f = fopen(plain, "w");
        fclose(f);
        chmod(plain, 0644);
        setenv("PATH", dir, 1);
        ok(process_find_executable("helper", &p2) == 0 && p2 && streq(p2, script), "found in a custom $PATH");
        free(p2);
        p2 = NULL;
        is_int(process_find_executable("not-executable", &p2), -EACCES, "not executable: -EACCES");
        if (saved_copy)
                setenv("PATH", saved_copy, 1);
        free(saved_copy);
        free(script);
        free(plain);
}

static void test_environment(void) {
        char **env;
        bool have_secret = false, have_path = false, have_keep = false;

        setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
        setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
        setenv("AWS_SESSION_TOKEN", "env-token", 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-token", 1);
        setenv("CREDENTIALS_DIRECTORY", "/run/credentials/x", 1);
        setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
        setenv("AWS_REGION", "eu-west-1", 1);
        env = process_child_environment();
        for (char **e = env; e && *e; e++) {
                if (strstr(*e, "env-secret") || strstr(*e, "env-token") || strstr(*e, "container-token") ||
                    strncmp(*e, "CREDENTIALS_DIRECTORY=", 22) == 0 || strncmp(*e, "NOTIFY_SOCKET=", 14) == 0 ||
                    strncmp(*e, "AWS_ACCESS_KEY_ID=", 18) == 0)
                        have_secret = true;
                if (strncmp(*e, "PATH=", 5) == 0)
                        have_path = true;
                if (streq(*e, "AWS_REGION=eu-west-1"))
                        have_keep = true;
        }
        ok(env && !have_secret, "the child's environment has none of our secrets, no $CREDENTIALS_DIRECTORY or $NOTIFY_SOCKET");
        ok(have_path && have_keep, "the rest of the environment is passed on (PATH, AWS_REGION)");
        strv_free(env);
        unsetenv("AWS_SECRET_ACCESS_KEY");
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SESSION_TOKEN");
        unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        unsetenv("CREDENTIALS_DIRECTORY");
        unsetenv("NOTIFY_SOCKET");
        unsetenv("AWS_REGION");
}

/* ---- real children ---- */

typedef struct Run {
        bool done;
        ProcessResult res;
        char *out;
        Process *proc;
        sd_event *e;
        unsigned ticks;
} Run;

static void on_done(Process *proc, const ProcessResult *res, void *userdata) {
        Run *run = userdata;
        run->done = true;
        run->res = *res;
        run->out = strndup(res->out, res->out_len);
        run->res.out = NULL;
        process_free(proc); /* allowed from the callback */
        run->proc = NULL;
        sd_event_exit(run->e, 0);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Run *run = userdata;
        run->ticks++;
        sd_event_source_set_time(s, usec + 20 * USEC_PER_MSEC);
        sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static int on_guard(sd_event_source *s, uint64_t usec, void *userdata) {
        sd_event_exit(sd_event_source_get_event(s), 1);
        return 0;
}

/* Runs a shell snippet; returns the loop's exit code (0 when the process finished). */
static int run_sh(sd_event *unused, const char *script, usec_t timeout, size_t max_out, Run *run) {
        char *argv[] = { (char *) "sh", (char *) "-c", (char *) script, NULL };
        char **env = process_child_environment();
        sd_event_source *tick = NULL, *guard = NULL;
        sd_event *e = NULL;
        uint64_t now;
        int r;

        sd_event_new(&e); /* a finished loop cannot run again: one per child */
        *run = (Run) { .e = e };
        sd_event_now(e, CLOCK_MONOTONIC, &now);
        sd_event_add_time(e, &tick, CLOCK_MONOTONIC, now + 20 * USEC_PER_MSEC, 0, on_tick, run);
        sd_event_add_time(e, &guard, CLOCK_MONOTONIC, now + 20 * USEC_PER_SEC, 0, on_guard, run);
        r = process_spawn(e, "/bin/sh", argv, env, timeout, max_out, "test-child", on_done, run, &run->proc);
        strv_free(env);
        if (r < 0) {
                diag("process_spawn: %s", strerror(-r));
                sd_event_source_unref(tick);
                sd_event_source_unref(guard);
                return r;
        }
        r = sd_event_loop(e);
        sd_event_source_disable_unref(tick);
        sd_event_source_disable_unref(guard);
        if (run->proc)
                run->proc = process_free(run->proc);
        sd_event_unref(e);
        return r;
}

static usec_t mono(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static bool pid_alive(pid_t pid) {
        char path[64], buf[512];
        FILE *f;
        bool alive = false;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "r");
        if (!f)
                return false;
        if (fgets(buf, sizeof(buf), f)) {
                char *p = strrchr(buf, ')');
                alive = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
        }
        fclose(f);
        return alive;
}

static void test_children(const char *dir) {
        sd_event *e = NULL;
        Run run;
        usec_t t0;
        int r;

        sd_event_default(&e);

        r = run_sh(e, "printf '{\"Version\": 1}'; echo 'a warning' >&2; exit 0", 0, 1024, &run);
        ok(r == 0 && run.done && run.res.error == 0 && run.res.exit_status == 0 && run.res.signal == 0, "a child that succeeds");
        is_str(run.out, "{\"Version\": 1}", "its standard output is collected");
        free(run.out);

        r = run_sh(e, "echo partial; exit 3", 0, 1024, &run);
        ok(r == 0 && run.done && run.res.error == 0 && run.res.exit_status == 3, "exit status 3 is reported");
        free(run.out);

        r = run_sh(e, "kill -TERM $$", 0, 1024, &run);
        ok(r == 0 && run.done && run.res.signal == SIGTERM, "death by a signal is reported");
        free(run.out);

        r = run_sh(e, "head -c 5000 /dev/zero; sleep 5", 0, 1000, &run);
        ok(r == 0 && run.done && run.res.error == -EFBIG, "too much output is an error, at once");
        free(run.out);

        /* The loop keeps turning while the child sleeps (ticks every 20 ms). */
        t0 = mono();
        r = run_sh(e, "sleep 0.5; echo late", 0, 1024, &run);
        ok(r == 0 && run.done && run.res.exit_status == 0 && streq(run.out ?: "", "late\n"), "a slow child finishes");
        ok(run.ticks >= 10, "the event loop ran while the child worked (%u timer ticks in %llu ms)", run.ticks,
           (unsigned long long) ((mono() - t0) / USEC_PER_MSEC));
        free(run.out);

        /* A hung helper whose grandchild keeps stdout open: killed at the timeout, group and all. */
        {
                char *script = NULL, *pidfile = NULL, buf[32] = "";
                FILE *f;
                pid_t grandchild = 0;

                asprintf(&pidfile, "%s/grandchild.pid", dir);
                asprintf(&script, "sleep 30 & echo $! > %s; wait", pidfile);
                t0 = mono();
                r = run_sh(e, script, 300 * USEC_PER_MSEC, 1024, &run);
                ok(r == 0 && run.done && run.res.error == -ETIMEDOUT, "a hung child times out");
                ok(mono() - t0 < 5 * USEC_PER_SEC, "at the timeout, not later (%llu ms)",
                   (unsigned long long) ((mono() - t0) / USEC_PER_MSEC));
                free(run.out);
                f = fopen(pidfile, "r");
                if (f && fgets(buf, sizeof(buf), f))
                        grandchild = (pid_t) atoi(buf);
                if (f)
                        fclose(f);
                for (int i = 0; i < 100 && grandchild > 0 && pid_alive(grandchild); i++)
                        usleep(10000);
                ok(grandchild > 0 && !pid_alive(grandchild), "its whole process group was killed (grandchild %d)",
                   (int) grandchild);
                free(script);
                free(pidfile);
        }

        /* stdin is /dev/null: a helper that reads it does not hang. */
        r = run_sh(e, "cat; echo done", 5 * USEC_PER_SEC, 1024, &run);
        ok(r == 0 && run.done && run.res.exit_status == 0 && streq(run.out ?: "", "done\n"), "stdin is /dev/null");
        free(run.out);

        /* Freeing a running process kills it without waiting. */
        {
                char *argv[] = { (char *) "sh", (char *) "-c", (char *) "sleep 30", NULL };
                char **env = process_child_environment();
                Process *p = NULL;
                pid_t pid;
                r = process_spawn(e, "/bin/sh", argv, env, 0, 1024, "test-child", on_done, &run, &p);
                strv_free(env);
                pid = p ? process_pid(p) : 0;
                t0 = mono();
                process_free(p);
                ok(r == 0 && mono() - t0 < USEC_PER_SEC, "freeing a running child returns at once");
                for (int i = 0; i < 100 && pid > 0 && pid_alive(pid); i++)
                        usleep(10000);
                ok(pid > 0 && !pid_alive(pid), "and the child is gone");
        }
        sd_event_unref(e);
}

int main(void) {
        char dir[] = "/tmp/test-process.XXXXXX";
        char cmd[128];

        if (!mkdtemp(dir))
                return 1;
        signal(SIGPIPE, SIG_IGN);
        test_split();
        test_find_executable(dir);
        test_environment();
        test_children(dir);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                diag("cleanup failed");
        return done_testing();
}
