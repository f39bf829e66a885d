/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <libgen.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "log.h"
#include "sink.h"

static int set_error(char **ret_error, int r, const char *what, const char *path) {
        if (ret_error) {
                free(*ret_error);
                if (asprintf(ret_error, "%s %s: %s", what, path, strerror(-r)) < 0)
                        *ret_error = NULL;
        }
        return r;
}

static int write_all(int fd, const void *data, size_t len) {
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int sink_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char **ret_error) {
        _cleanup_free_ char *dcopy = NULL, *bcopy = NULL, *tmp = NULL;
        _cleanup_close_ int dfd = -1, fd = -1;
        const char *dir, *base;
        struct stat st;
        uint64_t rnd;
        int r;

        dcopy = strdup(path);
        bcopy = strdup(path);
        if (!dcopy || !bcopy)
                return -ENOMEM;
        dir = dirname(dcopy);
        base = basename(bcopy);
        if (isempty(base) || streq(base, "/") || streq(base, ".") || streq(base, ".."))
                return set_error(ret_error, -EISDIR, "Invalid file name", path);

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return set_error(ret_error, r, "Cannot write file: missing directory for", path);
                return set_error(ret_error, r, "Cannot open directory of", path);
        }

        /* Never replace a directory or a device; a symlink at path is replaced, not followed. */
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) >= 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
                return set_error(ret_error, -EEXIST, "Refusing to replace non-regular file", path);

        for (int attempt = 0;; attempt++) {
                if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                        rnd = (uint64_t) getpid() * 2654435761ULL + (uint64_t) attempt;
                free(tmp);
                if (asprintf(&tmp, ".%s.%016llx.tmp", base, (unsigned long long) rnd) < 0)
                        return -ENOMEM;
                /* Mode 0 at creation: nobody can open it until fchmod() below sets the final mode. */
                fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
                if (fd >= 0)
                        break;
                if (errno != EEXIST || attempt >= 16)
                        return set_error(ret_error, -errno, "Cannot create temporary file for", path);
        }

        if (fchmod(fd, mode) < 0) {
                r = set_error(ret_error, -errno, "Cannot set mode of temporary file for", path);
                goto fail;
        }
        r = write_all(fd, data, len);
        if (r < 0) {
                set_error(ret_error, r, "Cannot write", path);
                goto fail;
        }
        if (fsync(fd) < 0) {
                r = set_error(ret_error, -errno, "Cannot sync", path);
                goto fail;
        }
        if (close(fd) < 0) {
                fd = -1;
                r = set_error(ret_error, -errno, "Cannot write", path);
                goto fail;
        }
        fd = -1;
        if (renameat(dfd, tmp, dfd, base) < 0) {
                r = set_error(ret_error, -errno, "Cannot replace", path);
                goto fail;
        }
        if (fsync(dfd) < 0)
                /* The new file is in place; a lost directory sync only risks the old one after a crash. */
                log_warning_errno(errno, "Cannot sync directory of %s: %m", path);
        return 0;

fail:
        (void) unlinkat(dfd, tmp, 0);
        return r;
}
