/* SPDX-License-Identifier: MIT */
/* The atomic password file writer: modes, replacement, and failures that must keep the old file. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "sink.h"
#include "tap.h"

static char dir[256];

static char *slurp(const char *path) {
        static char buf[4096];
        int fd = open(path, O_RDONLY);
        ssize_t n;
        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n < 0)
                return NULL;
        buf[n] = 0;
        return buf;
}

static int count_entries(const char *d) {
        DIR *dh = opendir(d);
        struct dirent *de;
        int n = 0;
        if (!dh)
                return -1;
        while ((de = readdir(dh)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        n++;
        closedir(dh);
        return n;
}

int main(void) {
        char path[512], sub[512], link[512], target[512];
        char *error = NULL;
        struct stat st;
        int r;

        snprintf(dir, sizeof(dir), "%s/test-sink.XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(dir)) {
                printf("Bail out! mkdtemp failed\n");
                return 1;
        }
        snprintf(path, sizeof(path), "%s/reg.pass", dir);

        umask(0);
        r = sink_write_atomic(path, "first", 5, 0640, &error);
        is_int(r, 0, "new file written");
        is_str(slurp(path), "first", "content is exactly the bytes, no newline");
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640, "mode 0640 with umask 0");

        umask(0077);
        r = sink_write_atomic(path, "second", 6, 0644, &error);
        is_int(r, 0, "existing file replaced");
        is_str(slurp(path), "second", "new content");
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "mode 0644 with umask 0077: the mode is exact");
        is_int(count_entries(dir), 1, "no temporary file left behind");

        /* Missing directory: a clear error naming the path. */
        snprintf(sub, sizeof(sub), "%s/missing/reg.pass", dir);
        free(error);
        error = NULL;
        r = sink_write_atomic(sub, "x", 1, 0640, &error);
        is_int(r, -ENOENT, "missing directory fails with ENOENT");
        ok(error && strstr(error, sub) && strstr(error, "missing directory"), "error names the path: %s", error ?: "");

        /* A directory where the file should be is refused and left alone. */
        snprintf(sub, sizeof(sub), "%s/adir", dir);
        mkdir(sub, 0755);
        free(error);
        error = NULL;
        r = sink_write_atomic(sub, "x", 1, 0640, &error);
        ok(r < 0, "a directory at the path is refused");
        ok(stat(sub, &st) == 0 && S_ISDIR(st.st_mode), "the directory is untouched");
        rmdir(sub);

        /* A symlink at the path is replaced, never followed. */
        snprintf(target, sizeof(target), "%s/elsewhere", dir);
        snprintf(link, sizeof(link), "%s/link.pass", dir);
        int fd = open(target, O_WRONLY | O_CREAT, 0600);
        ok(write(fd, "keep", 4) == 4, "fixture written");
        close(fd);
        ok(symlink(target, link) == 0, "fixture symlink");
        r = sink_write_atomic(link, "new", 3, 0640, NULL);
        is_int(r, 0, "write over a symlink");
        is_str(slurp(target), "keep", "the symlink's target is not written");
        ok(lstat(link, &st) == 0 && S_ISREG(st.st_mode), "the symlink was replaced by a regular file");
        unlink(link);
        unlink(target);

        /* Unwritable directory (only meaningful when not root): old file kept, no temp file. */
        if (geteuid() != 0) {
                chmod(dir, 0500);
                free(error);
                error = NULL;
                r = sink_write_atomic(path, "third", 5, 0640, &error);
                is_int(r, -EACCES, "read-only directory fails with EACCES");
                ok(error && strstr(error, path), "error names the path");
                chmod(dir, 0700);
                is_str(slurp(path), "second", "old file byte-identical after the failure");
                is_int(count_entries(dir), 1, "no temporary file after the failure");
        } else
                printf("ok %d - # SKIP read-only directory test needs a non-root user\n", ++tap_count);

        free(error);
        unlink(path);
        rmdir(dir);
        return done_testing();
}
