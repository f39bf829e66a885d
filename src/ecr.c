/* SPDX-License-Identifier: MIT */
#include <json-c/json.h>
#include <strings.h>

#include "ecr.h"
#include "log.h"

void ecr_token_done(EcrToken *t) {
        if (!t)
                return;
        t->password = secret_free(t->password);
        free(t->proxy_endpoint);
        t->proxy_endpoint = NULL;
}

int ecr_request_new(HttpClient *http, const char *url, const char *region, const char *const *registry_ids,
                    size_t n_ids, const AwsCredentials *creds, time_t when, HttpRequest **ret) {
        static const char *const headers[] = {
                "Content-Type", "application/x-amz-json-1.1",
                "X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
                NULL,
        };
        _cleanup_free_ char *body = NULL;
        size_t size = 0;
        FILE *f;

        if (n_ids < 1 || n_ids > ECR_MAX_REGISTRY_IDS)
                return -EINVAL;
        f = open_memstream(&body, &size);
        if (!f)
                return -ENOMEM;
        /* The ids are validated digits (config.c), so they need no JSON escaping. */
        fputs("{\"registryIds\":[", f);
        for (size_t i = 0; i < n_ids; i++)
                fprintf(f, "%s\"%s\"", i > 0 ? "," : "", registry_ids[i]);
        fputs("]}", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        return aws_request_new_signed(http, url, region, "ecr", creds, when, headers, body, ret);
}

static size_t parse_end(json_tokener *tok) {
#if HAVE_JSON_TOKENER_GET_PARSE_END
        return json_tokener_get_parse_end(tok);
#else
        return (size_t) tok->char_offset;
#endif
}

static int fail(char **ret_error, const char *msg) {
        if (ret_error)
                *ret_error = strdup(msg);
        return -EBADMSG;
}

/* One authorizationData item into *ret; -EBADMSG with *ret_error if it is unusable. Its
 * proxyEndpoint is kept in either case: it says which registry the item was for. */
static int parse_item(json_object *item, EcrToken *ret, char **ret_error) {
        _cleanup_secret_ char *decoded = NULL;
        json_object *v;
        size_t dlen;
        usec_t expires = USEC_INFINITY;
        int r;

        if (json_object_is_type(item, json_type_object) && json_object_object_get_ex(item, "proxyEndpoint", &v) &&
            json_object_is_type(v, json_type_string)) {
                ret->proxy_endpoint = strdup(json_object_get_string(v));
                if (!ret->proxy_endpoint)
                        return -ENOMEM;
        }
        if (!json_object_is_type(item, json_type_object) ||
            !json_object_object_get_ex(item, "authorizationToken", &v) || !json_object_is_type(v, json_type_string))
                return fail(ret_error, "response has no authorizationToken");
        const char *b64 = json_object_get_string(v);
        size_t b64len = (size_t) json_object_get_string_len(v);
        r = aws_base64_decode(b64, b64len, &decoded, &dlen);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fail(ret_error, "authorizationToken is not valid base64");
        if (dlen < 5 || memcmp(decoded, "AWS:", 4) != 0)
                return fail(ret_error, "authorizationToken does not decode to \"AWS:<password>\"");
        /* Clouddriver uses the file as is: no whitespace, newline or NUL may sneak in. */
        if (!aws_is_token_safe(decoded + 4, dlen - 4))
                return fail(ret_error, "authorizationToken password contains whitespace or control characters");

        if (json_object_object_get_ex(item, "expiresAt", &v)) {
                if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
                        double d = json_object_get_double(v);
                        /* Written so that NaN fails too (json-c accepts NaN and Infinity). */
                        if (!(d >= 0 && d <= 32503680000.0))
                                return fail(ret_error, "expiresAt is out of range");
                        expires = (usec_t) (d * (double) USEC_PER_SEC);
                } else if (json_object_is_type(v, json_type_string)) {
                        if (aws_parse_timestamp(json_object_get_string(v), &expires) < 0)
                                return fail(ret_error, "expiresAt is not a valid timestamp");
                } else
                        return fail(ret_error, "expiresAt has the wrong type");
        }
        ret->password = strndup(decoded + 4, dlen - 4);
        if (!ret->password)
                return -ENOMEM;
        ret->expires_at = expires;
        return 0;
}

/* json-c keeps the token strings in its objects; wipes them before letting go of the tree. */
static void wipe_tokens(json_object *root) {
        json_object *data, *item, *v;

        if (json_object_is_type(root, json_type_object) && json_object_object_get_ex(root, "authorizationData", &data) &&
            json_object_is_type(data, json_type_array))
                for (size_t i = 0; i < json_object_array_length(data); i++) {
                        item = json_object_array_get_idx(data, i);
                        if (json_object_is_type(item, json_type_object) &&
                            json_object_object_get_ex(item, "authorizationToken", &v) &&
                            json_object_is_type(v, json_type_string))
                                secure_zero((char *) json_object_get_string(v), (size_t) json_object_get_string_len(v));
                }
}

EcrItem *ecr_items_free(EcrItem *items, size_t n) {
        for (size_t i = 0; items && i < n; i++) {
                ecr_token_done(&items[i].token);
                free(items[i].error);
        }
        free(items);
        return NULL;
}

int ecr_parse_items(const char *body, size_t len, EcrItem **ret, size_t *ret_n, char **ret_error) {
        json_tokener *tok;
        json_object *root, *data;
        EcrItem *items = NULL;
        size_t n = 0;
        int r;

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, body, (int) MIN(len, (size_t) INT32_MAX));
        if (json_tokener_get_error(tok) != json_tokener_success || !root) {
                enum json_tokener_error e = json_tokener_get_error(tok);
                /* "continue" is json-c's way of saying the text ended inside a value. */
                const char *why = e == json_tokener_continue ? "unexpected end of data" : json_tokener_error_desc(e);
                json_tokener_free(tok);
                if (root) {
                        wipe_tokens(root);
                        json_object_put(root);
                }
                if (e == json_tokener_success)
                        return fail(ret_error, "response has no authorizationData list");
                if (ret_error && asprintf(ret_error, "response is not valid JSON (%s)", why) < 0)
                        *ret_error = NULL;
                return -EBADMSG;
        }
        /* Trailing garbage after the object is malformed too. */
        if (parse_end(tok) < len) {
                size_t end = parse_end(tok);
                for (; end < len; end++)
                        if (body[end] != ' ' && body[end] != '\n' && body[end] != '\r' && body[end] != '\t')
                                break;
                if (end < len) {
                        json_tokener_free(tok);
                        wipe_tokens(root);
                        json_object_put(root);
                        return fail(ret_error, "response is not valid JSON (trailing data)");
                }
        }
        json_tokener_free(tok);

        if (!json_object_is_type(root, json_type_object) ||
            !json_object_object_get_ex(root, "authorizationData", &data) ||
            !json_object_is_type(data, json_type_array)) {
                r = fail(ret_error, "response has no authorizationData list");
                goto out;
        }
        n = json_object_array_length(data);
        if (n < 1) {
                r = fail(ret_error, "response has an empty authorizationData list");
                goto out;
        }
        items = calloc(n, sizeof(EcrItem));
        if (!items) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                r = parse_item(json_object_array_get_idx(data, i), &items[i].token, &items[i].error);
                if (r == -ENOMEM)
                        goto out;
                if (r < 0 && !items[i].error) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        *ret = TAKE_PTR(items);
        *ret_n = n;
        r = 0;
out:
        items = ecr_items_free(items, n);
        wipe_tokens(root);
        json_object_put(root);
        return r;
}

/* The registry id a proxyEndpoint names: the first label of its host ("https://ID.dkr.ecr..."). */
bool ecr_proxy_names(const char *proxy, const char *id) {
        size_t n = strlen(id);

        if (!proxy)
                return false;
        if (strncasecmp(proxy, "https://", 8) == 0)
                proxy += 8;
        else if (strncasecmp(proxy, "http://", 7) == 0)
                proxy += 7;
        return strncmp(proxy, id, n) == 0 && proxy[n] == '.';
}

ssize_t ecr_match_item(const EcrItem *items, size_t n_items, const char *const *ids, size_t n_ids, size_t which) {
        if (which >= n_ids || n_items == 0)
                return -1;
        for (size_t i = 0; i < n_items; i++)
                if (ecr_proxy_names(items[i].token.proxy_endpoint, ids[which]))
                        return (ssize_t) i;
        if (n_items == 1)
                return 0;
        if (n_items != n_ids)
                return -1;
        /* Positions are trusted only when no item names one of the requested registries. */
        for (size_t i = 0; i < n_items; i++)
                for (size_t j = 0; j < n_ids; j++)
                        if (ecr_proxy_names(items[i].token.proxy_endpoint, ids[j]))
                                return -1;
        return (ssize_t) which;
}

int ecr_parse_response(const char *body, size_t len, EcrToken *ret, char **ret_error) {
        EcrItem *items = NULL;
        size_t n = 0;
        int r;

        r = ecr_parse_items(body, len, &items, &n, ret_error);
        if (r < 0)
                return r;
        if (items[0].error) {
                if (ret_error)
                        *ret_error = TAKE_PTR(items[0].error);
                r = -EBADMSG;
        } else {
                *ret = items[0].token;
                items[0].token = (EcrToken) {};
        }
        ecr_items_free(items, n);
        return r;
}
