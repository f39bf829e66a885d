/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdarg.h>
#include <math.h>
#include <strings.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "aws.h"
#include "dockerconfig.h"
#include "log.h"
#include "sink.h"

/* Far above any real config.json, low enough to refuse something that is not one. */
#define DOCKER_CONFIG_SIZE_MAX (4U * 1024U * 1024U)

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                free(*ret_error);
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

int docker_registry_host(const char *proxy_endpoint, char **ret) {
        const char *p = proxy_endpoint;
        size_t n;

        if (isempty(p))
                return -EINVAL;
        if (strncasecmp(p, "https://", 8) == 0)
                p += 8;
        else if (strncasecmp(p, "http://", 7) == 0)
                p += 7;
        n = strcspn(p, "/?#");
        if (n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) p[i] <= 0x20 || (unsigned char) p[i] >= 0x7f || p[i] == '"' || p[i] == '\\' ||
                    p[i] == '@')
                        return -EINVAL;
        *ret = strndup(p, n);
        return *ret ? 0 : -ENOMEM;
}

int docker_registry_host_default(const char *registry_id, const char *region, char **ret) {
        bool china = strncmp(region, "cn-", 3) == 0;
        if (asprintf(ret, "%s.dkr.ecr.%s.amazonaws.com%s", registry_id, region, china ? ".cn" : "") < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Zeroes every string in the tree (auth entries of other registries are secrets too). */
static void wipe_strings(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_string:
                secure_zero((char *) json_object_get_string(o), (size_t) json_object_get_string_len(o));
                break;
        case json_type_object: {
                json_object_object_foreach(o, key, v) {
                        (void) key;
                        wipe_strings(v);
                }
                break;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        wipe_strings(json_object_array_get_idx(o, i));
                break;
        default:
                break;
        }
}

static void json_secret_put(json_object **o) {
        if (*o) {
                wipe_strings(*o);
                json_object_put(*o);
                *o = NULL;
        }
}

/* Numbers json-c would not write back as they were: saturated integers, NaN and infinities. */
static bool has_inexact_numbers(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_int: {
                int64_t v = json_object_get_int64(o);
                if (v == INT64_MAX || v == INT64_MIN)
                        return true;
                break;
        }
        case json_type_double: {
                double d = json_object_get_double(o);
                if (isnan(d) || isinf(d))
                        return true;
                break;
        }
        case json_type_object: {
                json_object_object_foreach(o, key, v) {
                        (void) key;
                        if (has_inexact_numbers(v))
                                return true;
                }
                break;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (has_inexact_numbers(json_object_array_get_idx(o, i)))
                                return true;
                break;
        default:
                break;
        }
        return false;
}

static size_t parse_end(json_tokener *tok) {
#if HAVE_JSON_TOKENER_GET_PARSE_END
        return json_tokener_get_parse_end(tok);
#else
        return (size_t) tok->char_offset;
#endif
}

/* The tokener keeps the last string it parsed in its buffer. */
static void tokener_secret_free(json_tokener *tok) {
        if (!tok)
                return;
        if (tok->pb && tok->pb->buf && tok->pb->size > 0)
                secure_zero(tok->pb->buf, (size_t) tok->pb->size);
        json_tokener_free(tok);
}

typedef struct SecretBuf {
        char *p;
        size_t n;
} SecretBuf;

static void secret_buf_done(SecretBuf *b) {
        secure_zero(b->p, b->n);
        free(b->p);
        b->p = NULL;
        b->n = 0;
}

static bool is_blank(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
                        return false;
        return true;
}

/* Reads the whole file into *ret (NUL-terminated; a secret). Missing file: ret->p = NULL, returns 0. */
static int read_config(const char *path, SecretBuf *ret, mode_t *ret_mode, char **ret_error) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        char *buf;
        size_t len = 0;

        *ret = (SecretBuf) {};
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return fail(ret_error, -errno, "Cannot open docker config %s: %s", path, strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return fail(ret_error, -errno, "Cannot stat docker config %s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return fail(ret_error, -EEXIST, "Refusing to replace non-regular file %s", path);
        if ((uint64_t) st.st_size > DOCKER_CONFIG_SIZE_MAX)
                return fail(ret_error, -EFBIG, "Docker config %s is larger than %u bytes", path, DOCKER_CONFIG_SIZE_MAX);

        /* Read to EOF rather than trusting st_size: the file may change under us. */
        buf = malloc(DOCKER_CONFIG_SIZE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, DOCKER_CONFIG_SIZE_MAX + 1 - len);
                if (n < 0) {
                        int r = -errno;
                        if (errno == EINTR)
                                continue;
                        secure_zero(buf, len);
                        free(buf);
                        return fail(ret_error, r, "Cannot read docker config %s: %s", path, strerror(-r));
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > DOCKER_CONFIG_SIZE_MAX) {
                        secure_zero(buf, len);
                        free(buf);
                        return fail(ret_error, -EFBIG, "Docker config %s is larger than %u bytes", path,
                                    DOCKER_CONFIG_SIZE_MAX);
                }
        }
        buf[len] = 0;
        *ret = (SecretBuf) { buf, len + 1 };
        *ret_mode = st.st_mode & 07777;
        return 0;
}

static int parse_config(const char *path, const char *data, size_t len, json_object **ret, char **ret_error) {
        json_tokener *tok;
        json_object *root;
        enum json_tokener_error e;
        size_t end;

        if (!data || is_blank(data, len)) {
                *ret = json_object_new_object();
                return *ret ? 0 : -ENOMEM;
        }
        if (len > INT32_MAX)
                return -EFBIG;

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, data, (int) len);
        e = json_tokener_get_error(tok);
        end = parse_end(tok);
        tokener_secret_free(tok);
        if (!root || e != json_tokener_success) {
                json_secret_put(&root);
                if (e == json_tokener_continue)
                        return fail(ret_error, -EBADMSG, "Docker config %s is not valid JSON (unexpected end of file)", path);
                return fail(ret_error, -EBADMSG, "Docker config %s is not valid JSON (%s at byte %zu)", path,
                            json_tokener_error_desc(e), end);
        }
        if (end < len && !is_blank(data + end, len - end)) {
                json_secret_put(&root);
                return fail(ret_error, -EBADMSG, "Docker config %s is not valid JSON (trailing data at byte %zu)", path, end);
        }
        if (!json_object_is_type(root, json_type_object)) {
                json_secret_put(&root);
                return fail(ret_error, -EBADMSG, "Docker config %s: the top level is not a JSON object", path);
        }
        if (has_inexact_numbers(root)) {
                json_secret_put(&root);
                return fail(ret_error, -EBADMSG,
                            "Docker config %s holds a number that cannot be kept exactly (NaN, infinity or beyond 64 bits)",
                            path);
        }
        *ret = root;
        return 0;
}

static void warn_shadowing(const char *path, json_object *root, const char *host) {
        json_object *v, *helper;

        if (json_object_object_get_ex(root, "credHelpers", &v) && json_object_is_type(v, json_type_object) &&
            json_object_object_get_ex(v, host, &helper))
                log_warning("%s: credHelpers has an entry for %s; docker and podman use that helper, not the auths entry "
                            "written here.", path, host);
        else if (json_object_object_get_ex(root, "credsStore", &v) && json_object_is_type(v, json_type_string) &&
                 json_object_get_string_len(v) > 0)
                log_warning("%s: credsStore is set; docker asks that store, not the auths entry written here.", path);
}

int docker_config_merge(const char *path, const char *registry_host, const char *password, mode_t mode_if_new,
                        char **ret_error) {
        _cleanup_free_ char *target = NULL;
        _cleanup_(secret_buf_done) SecretBuf data = {};
        _cleanup_secret_ char *plain = NULL, *auth = NULL, *out = NULL;
        _cleanup_(json_secret_put) json_object *root = NULL;
        json_object *auths = NULL, *entry, *v;
        struct stat st;
        size_t olen;
        const char *s;
        mode_t mode = mode_if_new ?: DOCKER_CONFIG_MODE_DEFAULT;
        int r;

        if (isempty(path) || isempty(registry_host) || !password)
                return fail(ret_error, -EINVAL, "Invalid docker config merge request for %s", path ?: "(null)");

        /* Like docker's own writer: update the file a symlink points to, keep the link. */
        if (lstat(path, &st) >= 0 && S_ISLNK(st.st_mode)) {
                target = realpath(path, NULL);
                if (!target)
                        return fail(ret_error, -errno, "Cannot resolve symlink %s: %s", path, strerror(errno));
                path = target;
        }

        r = read_config(path, &data, &mode, ret_error);
        if (r < 0)
                return r;
        r = parse_config(path, data.p, data.n > 0 ? data.n - 1 : 0, &root, ret_error);
        if (r < 0)
                return r == -ENOMEM ? fail(ret_error, r, "Cannot merge docker config %s: %s", path, strerror(ENOMEM)) : r;

        if (json_object_object_get_ex(root, "auths", &v)) {
                if (!json_object_is_type(v, json_type_object))
                        return fail(ret_error, -EBADMSG, "Docker config %s: \"auths\" is not a JSON object", path);
                auths = v;
        } else {
                auths = json_object_new_object();
                if (!auths || json_object_object_add(root, "auths", auths) < 0) {
                        json_object_put(auths);
                        return fail(ret_error, -ENOMEM, "Cannot merge docker config %s: %s", path, strerror(ENOMEM));
                }
        }
        warn_shadowing(path, root, registry_host);

        if (asprintf(&plain, "AWS:%s", password) < 0) {
                plain = NULL;
                return fail(ret_error, -ENOMEM, "Cannot merge docker config %s: %s", path, strerror(ENOMEM));
        }
        r = aws_base64_encode(plain, strlen(plain), &auth);
        if (r < 0)
                return fail(ret_error, r, "Cannot merge docker config %s: %s", path, strerror(-r));

        /* The whole entry is replaced: a stale identitytoken or registrytoken would win over auth. */
        entry = json_object_new_object();
        v = entry ? json_object_new_string(auth) : NULL;
        if (!v || json_object_object_add(entry, "auth", v) < 0 || json_object_object_add(auths, registry_host, entry) < 0) {
                if (v && !json_object_object_get_ex(entry, "auth", NULL))
                        json_secret_put(&v);
                json_secret_put(&entry);
                return fail(ret_error, -ENOMEM, "Cannot merge docker config %s: %s", path, strerror(ENOMEM));
        }

        /* Tab-indented like docker's own writer. */
        s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE, &olen);
        if (!s)
                return fail(ret_error, -ENOMEM, "Cannot merge docker config %s: %s", path, strerror(ENOMEM));
        out = malloc(olen + 2);
        if (out) {
                memcpy(out, s, olen);
                out[olen] = '\n';
                out[olen + 1] = 0;
        }
        secure_zero((char *) s, olen); /* json-c's own serialization buffer */
        if (!out)
                return fail(ret_error, -ENOMEM, "Cannot merge docker config %s: %s", path, strerror(ENOMEM));

        return sink_write_atomic(path, out, olen + 1, mode, ret_error);
}
