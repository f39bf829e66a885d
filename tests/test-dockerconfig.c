/* SPDX-License-Identifier: MIT */
/* docker/podman config.json merging: a new file, keeping every other key and entry, the file's mode,
 * symlinks, and malformed files that must stay untouched. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <json-c/json.h>

#include "aws.h"
#include "dockerconfig.h"
#include "tap.h"

#define HOST "123456789012.dkr.ecr.us-west-2.amazonaws.com"

static char dir[256];

static char *slurp(const char *path) {
        static char buf[65536];
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

static void spew(const char *path, const char *s, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
        if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t) strlen(s)) {
                printf("Bail out! cannot write %s\n", path);
                exit(1);
        }
        fchmod(fd, mode);
        close(fd);
}

/* Leftover temporary files of sink_write_atomic(). */
static int count_tmp(const char *d) {
        DIR *dh = opendir(d);
        struct dirent *de;
        int n = 0;
        if (!dh)
                return -1;
        while ((de = readdir(dh))) {
                size_t l = strlen(de->d_name);
                if (l > 4 && streq(de->d_name + l - 4, ".tmp"))
                        n++;
        }
        closedir(dh);
        return n;
}

static json_object *load(const char *path) {
        const char *s = slurp(path);
        return s ? json_tokener_parse(s) : NULL;
}

/* The decoded auth of host in the file at path, or NULL. */
static char *decoded_auth(const char *path, const char *host) {
        json_object *root = load(path), *auths, *entry, *auth;
        char *out = NULL;
        size_t len;
        if (root && json_object_object_get_ex(root, "auths", &auths) && json_object_object_get_ex(auths, host, &entry) &&
            json_object_object_get_ex(entry, "auth", &auth))
                aws_base64_decode(json_object_get_string(auth), (size_t) json_object_get_string_len(auth), &out, &len);
        json_object_put(root);
        return out;
}

static void test_host(void) {
        char *h = NULL;

        is_int(docker_registry_host("https://" HOST, &h), 0, "host from an https proxyEndpoint");
        is_str(h, HOST, "scheme dropped");
        free(h);
        h = NULL;
        is_int(docker_registry_host("http://localhost:5000/v2/", &h), 0, "host with port and path");
        is_str(h, "localhost:5000", "port kept, path dropped");
        free(h);
        h = NULL;
        is_int(docker_registry_host(HOST, &h), 0, "no scheme");
        is_str(h, HOST, "taken as it is");
        free(h);
        h = NULL;
        is_int(docker_registry_host("HTTPS://" HOST "/", &h), 0, "scheme case-insensitive");
        is_str(h, HOST, "uppercase scheme dropped");
        free(h);
        is_int(docker_registry_host_default("123456789012", "us-west-2", &h), 0, "default host");
        is_str(h, HOST, "ID.dkr.ecr.REGION.amazonaws.com");
        free(h);
        h = NULL;
        is_int(docker_registry_host_default("123456789012", "cn-north-1", &h), 0, "default host in China");
        is_str(h, "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "amazonaws.com.cn");
        free(h);
        h = NULL;
        is_int(docker_registry_host("", &h), -EINVAL, "empty endpoint refused");
        is_int(docker_registry_host("https://", &h), -EINVAL, "scheme without host refused");
        is_int(docker_registry_host("https://a b", &h), -EINVAL, "space refused");
        is_int(docker_registry_host("https://user@host", &h), -EINVAL, "userinfo refused");
}

static void test_new_file(void) {
        char path[512], *error = NULL, *auth;
        struct stat st;
        json_object *root, *auths;

        snprintf(path, sizeof(path), "%s/new.json", dir);
        umask(0);
        is_int(docker_config_merge(path, HOST, "s3cret", 0, &error), 0, "missing file: created");
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "created with mode 0600 by default, whatever the umask");
        auth = decoded_auth(path, HOST);
        is_str(auth, "AWS:s3cret", "auth is base64 of AWS:password");
        free(auth);
        root = load(path);
        ok(root && json_object_object_length(root) == 1 && json_object_object_get_ex(root, "auths", &auths) &&
                   json_object_object_length(auths) == 1,
           "only auths with one entry");
        json_object_put(root);
        ok(strstr(slurp(path), "\"auth\"") && !strstr(slurp(path), "s3cret"), "password not in clear in the file");
        umask(022);

        snprintf(path, sizeof(path), "%s/new-0640.json", dir);
        is_int(docker_config_merge(path, HOST, "x", 0640, &error), 0, "mode_if_new honoured");
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640, "mode 0640");

        snprintf(path, sizeof(path), "%s/empty.json", dir);
        spew(path, "  \n", 0644);
        is_int(docker_config_merge(path, HOST, "y", 0, &error), 0, "an empty file counts as {}");
        auth = decoded_auth(path, HOST);
        is_str(auth, "AWS:y", "entry written into it");
        free(auth);
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "an existing file keeps its mode (0644)");
}

static const char *const RICH =
        "{\n"
        "  \"auths\": {\n"
        "    \"quay.io\": {\"auth\": \"dXNlcjpwYXNz\", \"email\": \"me@example.com\"},\n"
        "    \"https://index.docker.io/v1/\": {\"auth\": \"YTpi\"},\n"
        "    \"" HOST "\": {\"auth\": \"b2xkOm9sZA==\", \"identitytoken\": \"stale\"}\n"
        "  },\n"
        "  \"HttpHeaders\": {\"User-Agent\": \"Docker-Client/19.03.1 (linux)\"},\n"
        "  \"psFormat\": \"table {{.ID}}\\t{{.Image}}\",\n"
        "  \"detachKeys\": \"ctrl-e,e\",\n"
        "  \"proxies\": {\"default\": {\"httpProxy\": \"http://proxy:3128\", \"noProxy\": \"*.local,169.254/16\"}},\n"
        "  \"numbers\": [0, -1, 1.50, 1e3, 2.5E-7, 9007199254740993, -0.0],\n"
        "  \"flags\": [true, false, null, {}, []],\n"
        "  \"unicode\": \"caf\\u00e9 \\ud83d\\ude00 \\\"quoted\\\" back\\\\slash /slash \\u0000nul\",\n"
        "  \"plugins\": {\"x\": {\"nested\": {\"deeper\": [1, {\"a\": \"b\"}]}}}\n"
        "}\n";

static void test_preserve(void) {
        char path[512], *error = NULL, *auth;
        json_object *before, *after, *ab, *aa, *e;
        struct stat st;
        bool same = true;

        snprintf(path, sizeof(path), "%s/config.json", dir);
        spew(path, RICH, 0640);
        before = json_tokener_parse(RICH);
        ok(before != NULL, "fixture parses");

        is_int(docker_config_merge(path, HOST, "fresh-password", 0600, &error), 0, "merged into a rich config");
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640, "existing mode 0640 kept (not mode_if_new)");
        after = load(path);
        ok(after != NULL, "result is valid JSON");
        auth = decoded_auth(path, HOST);
        is_str(auth, "AWS:fresh-password", "the registry's entry is updated");
        free(auth);

        json_object_object_get_ex(after, "auths", &aa);
        json_object_object_get_ex(aa, HOST, &e);
        ok(e && json_object_object_length(e) == 1, "the whole entry is replaced (a stale identitytoken is gone)");

        /* Everything else: deep-equal to what was there. */
        json_object_object_foreach(before, key, val) {
                json_object *v2;
                if (streq(key, "auths"))
                        continue;
                if (!json_object_object_get_ex(after, key, &v2) || !json_object_equal(val, v2)) {
                        diag("key %s changed", key);
                        same = false;
                }
        }
        ok(same && json_object_object_length(after) == json_object_object_length(before), "every other top-level key kept as it was");
        json_object_object_get_ex(before, "auths", &ab);
        same = json_object_object_length(aa) == json_object_object_length(ab);
        json_object_object_foreach(ab, host, val2) {
                json_object *v2;
                if (streq(host, HOST))
                        continue;
                if (!json_object_object_get_ex(aa, host, &v2) || !json_object_equal(val2, v2))
                        same = false;
        }
        ok(same, "every other auths entry kept as it was");
        ok(strstr(slurp(path), "1.50") && strstr(slurp(path), "1e3") && strstr(slurp(path), "9007199254740993"),
           "numbers written as they were (1.50, 1e3, 2^53+1)");
        is_int(count_tmp(dir), 0, "no temporary file left");

        /* Idempotent: a second merge with the same password gives the same bytes. */
        char first[65536];
        snprintf(first, sizeof(first), "%s", slurp(path));
        is_int(docker_config_merge(path, HOST, "fresh-password", 0600, &error), 0, "merged again");
        is_str(slurp(path), first, "same bytes the second time");

        /* A second registry next to the first. */
        is_int(docker_config_merge(path, "210987654321.dkr.ecr.eu-west-1.amazonaws.com", "other", 0600, &error), 0,
               "a second registry");
        auth = decoded_auth(path, HOST);
        is_str(auth, "AWS:fresh-password", "the first entry is still there");
        free(auth);
        json_object_put(before);
        json_object_put(after);
}

static void test_long_password(void) {
        char path[512], *error = NULL, *auth, *want;
        char pw[3001];

        /* Real ECR passwords are ~2 KB: base64 must not wrap lines. */
        for (size_t i = 0; i < sizeof(pw) - 1; i++)
                pw[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="[i % 65];
        pw[sizeof(pw) - 1] = 0;
        snprintf(path, sizeof(path), "%s/long.json", dir);
        is_int(docker_config_merge(path, HOST, pw, 0, &error), 0, "3000-byte password");
        auth = decoded_auth(path, HOST);
        if (asprintf(&want, "AWS:%s", pw) < 0)
                want = NULL;
        ok(auth && want && streq(auth, want), "round-trips exactly");
        ok(!strstr(strstr(slurp(path), "\"auth\""), "\\n"), "no line breaks in the base64");
        free(auth);
        free(want);
}

static void test_malformed(void) {
        static const struct {
                const char *content, *name, *why;
        } cases[] = {
                { "{\"auths\": {", "truncated JSON", "not valid JSON" },
                { "{\"auths\": {}} trailing", "trailing garbage", "not valid JSON" },
                { "{\"auths\": {},}", "trailing comma", "not valid JSON" },
                { "[1, 2]", "top level an array", "not a JSON object" },
                { "\"string\"", "top level a string", "not a JSON object" },
                { "{\"auths\": \"nope\"}", "auths a string", "\"auths\" is not a JSON object" },
                { "{\"auths\": null}", "auths null", "\"auths\" is not a JSON object" },
                { "{\"auths\": [], \"x\": 1}", "auths an array", "\"auths\" is not a JSON object" },
                { "{\"n\": 123456789012345678901234567890}", "integer beyond 64 bits", "cannot be kept exactly" },
                { "{\"n\": NaN}", "NaN", "cannot be kept exactly" },
        };
        char path[512];
        struct stat st;

        snprintf(path, sizeof(path), "%s/bad.json", dir);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *error = NULL;
                int r;

                spew(path, cases[i].content, 0644);
                r = docker_config_merge(path, HOST, "s3cret", 0600, &error);
                ok(r < 0, "%s: refused", cases[i].name);
                ok(error && strstr(error, path) && strstr(error, cases[i].why) && !strstr(error, "s3cret"),
                   "%s: error names the file and the problem: %s", cases[i].name, error ?: "(null)");
                is_str(slurp(path), cases[i].content, "file untouched");
                free(error);
        }
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "mode untouched");
        is_int(count_tmp(dir), 0, "no temporary files left");

        char *error = NULL;
        snprintf(path, sizeof(path), "%s/missing-dir/config.json", dir);
        ok(docker_config_merge(path, HOST, "s3cret", 0600, &error) < 0 && error && strstr(error, path),
           "missing directory: error names the path");
        free(error);
}

static void test_symlink(void) {
        char target[512], link[512], *error = NULL, *auth;
        struct stat st;

        snprintf(target, sizeof(target), "%s/real-config.json", dir);
        snprintf(link, sizeof(link), "%s/link-config.json", dir);
        spew(target, "{\"auths\": {}, \"credsStore\": \"\"}", 0600);
        if (symlink("real-config.json", link) < 0) {
                ok(0, "symlink: %s", strerror(errno));
                return;
        }
        is_int(docker_config_merge(link, HOST, "via-link", 0, &error), 0, "merge through a symlink");
        ok(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the symlink is still a symlink");
        auth = decoded_auth(target, HOST);
        is_str(auth, "AWS:via-link", "its target got the entry");
        free(auth);
        unlink(link);
        unlink(target);
}

/* docker and podman ask a credential helper before auths: say so in the log. */
static void test_shadowing_warning(void) {
        char path[512], logpath[512], log[4096] = "", *error = NULL;
        int saved = dup(STDERR_FILENO), fd;
        ssize_t n;

        snprintf(path, sizeof(path), "%s/helpers.json", dir);
        snprintf(logpath, sizeof(logpath), "%s/stderr", dir);
        spew(path, "{\"credHelpers\": {\"" HOST "\": \"ecr-login\"}}", 0600);
        fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
        dup2(fd, STDERR_FILENO);
        is_int(docker_config_merge(path, HOST, "pw", 0, &error), 0, "merged next to a credHelpers entry");
        dup2(saved, STDERR_FILENO);
        close(saved);
        n = pread(fd, log, sizeof(log) - 1, 0);
        log[n > 0 ? n : 0] = 0;
        close(fd);
        ok(strstr(log, "credHelpers has an entry for " HOST), "a warning says the helper wins: %s", log);
}

int main(void) {
        snprintf(dir, sizeof(dir), "%s/test-dockerconfig.XXXXXX", getenv("TMPDIR") ?: "/tmp");
        if (!mkdtemp(dir)) {
                printf("Bail out! mkdtemp failed\n");
                return 1;
        }
        test_host();
        test_new_file();
        test_preserve();
        test_long_password();
        test_symlink();
        test_shadowing_warning();
        test_malformed();
        {
                char cmd[600];
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                (void) !system(cmd);
        }
        return done_testing();
}
