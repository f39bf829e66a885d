/* SPDX-License-Identifier: MIT */
#include <json-c/json.h>

#include "ecr.h"
#include "log.h"

void ecr_token_done(EcrToken *t) {
        if (!t)
                return;
        t->password = secret_free(t->password);
        free(t->proxy_endpoint);
        t->proxy_endpoint = NULL;
}

int ecr_request_new(HttpClient *http, const char *url, const char *region, const char *registry_id,
                    const AwsCredentials *creds, time_t when, HttpRequest **ret) {
        static const char *const headers[] = {
                "Content-Type", "application/x-amz-json-1.1",
                "X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
                NULL,
        };
        _cleanup_free_ char *body = NULL;

        if (asprintf(&body, "{\"registryIds\":[\"%s\"]}", registry_id) < 0)
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

int ecr_parse_response(const char *body, size_t len, EcrToken *ret, char **ret_error) {
        _cleanup_secret_ char *decoded = NULL;
        _cleanup_free_ char *proxy = NULL;
        json_tokener *tok;
        json_object *root, *data, *item, *v;
        size_t dlen;
        usec_t expires = USEC_INFINITY;
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
                if (root)
                        json_object_put(root);
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
                        json_object_put(root);
                        return fail(ret_error, "response is not valid JSON (trailing data)");
                }
        }
        json_tokener_free(tok);

        r = -EBADMSG;
        if (!json_object_is_type(root, json_type_object) ||
            !json_object_object_get_ex(root, "authorizationData", &data) ||
            !json_object_is_type(data, json_type_array)) {
                r = fail(ret_error, "response has no authorizationData list");
                goto out;
        }
        if (json_object_array_length(data) < 1) {
                r = fail(ret_error, "response has an empty authorizationData list");
                goto out;
        }
        item = json_object_array_get_idx(data, 0);
        if (!json_object_is_type(item, json_type_object) ||
            !json_object_object_get_ex(item, "authorizationToken", &v) || !json_object_is_type(v, json_type_string)) {
                r = fail(ret_error, "response has no authorizationToken");
                goto out;
        }
        const char *b64 = json_object_get_string(v);
        size_t b64len = (size_t) json_object_get_string_len(v);
        r = aws_base64_decode(b64, b64len, &decoded, &dlen);
        if (r == -ENOMEM)
                goto out;
        if (r < 0) {
                r = fail(ret_error, "authorizationToken is not valid base64");
                goto out;
        }
        if (dlen < 5 || memcmp(decoded, "AWS:", 4) != 0) {
                r = fail(ret_error, "authorizationToken does not decode to \"AWS:<password>\"");
                goto out;
        }
        /* Clouddriver uses the file as is: no whitespace, newline or NUL may sneak in. */
        if (!aws_is_token_safe(decoded + 4, dlen - 4)) {
                r = fail(ret_error, "authorizationToken password contains whitespace or control characters");
                goto out;
        }

        if (json_object_object_get_ex(item, "expiresAt", &v)) {
                if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
                        double d = json_object_get_double(v);
                        /* Written so that NaN fails too (json-c accepts NaN and Infinity). */
                        if (!(d >= 0 && d <= 32503680000.0)) {
                                r = fail(ret_error, "expiresAt is out of range");
                                goto out;
                        }
                        expires = (usec_t) (d * (double) USEC_PER_SEC);
                } else if (json_object_is_type(v, json_type_string)) {
                        if (aws_parse_timestamp(json_object_get_string(v), &expires) < 0) {
                                r = fail(ret_error, "expiresAt is not a valid timestamp");
                                goto out;
                        }
                } else {
                        r = fail(ret_error, "expiresAt has the wrong type");
                        goto out;
                }
        }
        if (json_object_object_get_ex(item, "proxyEndpoint", &v) && json_object_is_type(v, json_type_string)) {
                proxy = strdup(json_object_get_string(v));
                if (!proxy) {
                        r = -ENOMEM;
                        goto out;
                }
        }

        ret->password = strndup(decoded + 4, dlen - 4);
        if (!ret->password) {
                r = -ENOMEM;
                goto out;
        }
        ret->expires_at = expires;
        ret->proxy_endpoint = TAKE_PTR(proxy);
        r = 0;
out:
        /* json-c keeps the token string in its object; wipe it before letting go. */
        if (json_object_is_type(root, json_type_object) && json_object_object_get_ex(root, "authorizationData", &data) &&
            json_object_is_type(data, json_type_array))
                for (size_t i = 0; i < json_object_array_length(data); i++) {
                        item = json_object_array_get_idx(data, i);
                        if (json_object_is_type(item, json_type_object) &&
                            json_object_object_get_ex(item, "authorizationToken", &v) &&
                            json_object_is_type(v, json_type_string))
                                secure_zero((char *) json_object_get_string(v), (size_t) json_object_get_string_len(v));
                }
        json_object_put(root);
        return r;
}
