/* SPDX-License-Identifier: MIT */
/* ECR response parsing, endpoint resolution and AWS helpers. */
#include "aws.h"
#include "ecr.h"
#include "tap.h"

static void parse_ok(void) {
        /* base64("AWS:s3cr3t-PASSWORD") */
        const char *body = "{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnMzY3IzdC1QQVNTV09SRA==\","
                           "\"expiresAt\":1764443200.123,\"proxyEndpoint\":\"https://123456789012.dkr.ecr.us-west-2.amazonaws.com\"}]}";
        EcrToken t = {};
        char *error = NULL;
        int r = ecr_parse_response(body, strlen(body), &t, &error);
        is_int(r, 0, "valid response parses");
        is_str(t.password, "s3cr3t-PASSWORD", "password is the part after AWS:");
        is_int(t.expires_at, 1764443200123000ULL, "expiresAt as epoch seconds with fraction");
        is_str(t.proxy_endpoint, "https://123456789012.dkr.ecr.us-west-2.amazonaws.com", "proxyEndpoint kept");
        ecr_token_done(&t);
        free(error);

        const char *iso = "{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnB3\",\"expiresAt\":\"2026-11-29T16:00:00Z\"}]}";
        r = ecr_parse_response(iso, strlen(iso), &t, &error);
        is_int(r, 0, "ISO-8601 expiresAt parses");
        is_int(t.expires_at, 1795968000ULL * 1000000ULL, "ISO-8601 expiresAt value");
        is_str(t.password, "pw", "short password");
        ecr_token_done(&t);
}

static void parse_bad(const char *body, const char *want, const char *name) {
        EcrToken t = {};
        char *error = NULL;
        int r = ecr_parse_response(body, strlen(body), &t, &error);
        ok(r == -EBADMSG, "%s: rejected", name);
        ok(error && strstr(error, want), "%s: error mentions '%s' (got '%s')", name, want, error ?: "(null)");
        ok(!t.password, "%s: no password returned", name);
        /* The error must never carry token material. */
        ok(!error || (!strstr(error, "QVdT") && !strstr(error, "hunter2")), "%s: no token in the error", name);
        free(error);
        ecr_token_done(&t);
}

static void endpoints(void) {
        char *e, *err = NULL;

        unsetenv("AWS_ENDPOINT_URL_ECR");
        unsetenv("AWS_ENDPOINT_URL");
        unsetenv("AWS_USE_FIPS_ENDPOINT");
        unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
        e = aws_ecr_endpoint("us-west-2", NULL, &err);
        is_str(e, "https://api.ecr.us-west-2.amazonaws.com", "standard endpoint");
        free(e);
        e = aws_ecr_endpoint("cn-north-1", NULL, &err);
        is_str(e, "https://api.ecr.cn-north-1.amazonaws.com.cn", "China endpoint");
        free(e);
        setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
        e = aws_ecr_endpoint("us-east-1", NULL, &err);
        is_str(e, "https://ecr-fips.us-east-1.amazonaws.com", "FIPS endpoint");
        free(e);
        setenv("AWS_USE_DUALSTACK_ENDPOINT", "true", 1);
        e = aws_ecr_endpoint("us-east-1", NULL, &err);
        is_str(e, "https://ecr-fips.us-east-1.api.aws", "FIPS dual-stack endpoint");
        free(e);
        unsetenv("AWS_USE_FIPS_ENDPOINT");
        e = aws_ecr_endpoint("eu-west-1", NULL, &err);
        is_str(e, "https://ecr.eu-west-1.api.aws", "dual-stack endpoint");
        free(e);
        e = aws_ecr_endpoint("cn-north-1", NULL, &err);
        is_str(e, "https://ecr.cn-north-1.api.amazonwebservices.com.cn", "China dual-stack endpoint");
        free(e);
        unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
        setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
        setenv("AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:2", 1);
        e = aws_ecr_endpoint("us-west-2", NULL, &err);
        is_str(e, "http://127.0.0.1:2", "AWS_ENDPOINT_URL_ECR beats AWS_ENDPOINT_URL");
        free(e);
        e = aws_ecr_endpoint("us-west-2", "https://vpce.example", &err);
        is_str(e, "https://vpce.example", "registry endpoint beats the environment");
        free(e);
        unsetenv("AWS_ENDPOINT_URL_ECR");
        e = aws_ecr_endpoint("us-west-2", NULL, &err);
        is_str(e, "http://127.0.0.1:1", "AWS_ENDPOINT_URL");
        free(e);
        setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
        e = aws_ecr_endpoint("us-west-2", NULL, &err);
        is_str(e, "https://api.ecr.us-west-2.amazonaws.com", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        free(e);
        unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        unsetenv("AWS_ENDPOINT_URL");
}

static void helpers(void) {
        usec_t t;
        char s[] = "token ABCDEFGHIJKLMNOP in the middle and ABCDEFGHIJKLMNOP again";

        is_int(aws_parse_timestamp("2026-11-29T16:00:00Z", &t), 0, "timestamp Z");
        is_int(t, 1795968000ULL * 1000000ULL, "timestamp Z value");
        is_int(aws_parse_timestamp("2026-11-29T17:00:00.5+01:00", &t), 0, "timestamp with offset and fraction");
        is_int(t, 1795968000ULL * 1000000ULL + 500000ULL, "timestamp offset value");
        ok(aws_parse_timestamp("yesterday", &t) < 0, "bad timestamp rejected");
        ok(aws_parse_timestamp("2026-11-29T16:00:00", &t) < 0, "timestamp without zone rejected");
        /* Found by fuzz-scalars: a short offset made the parser step past the string's end. */
        ok(aws_parse_timestamp("2026-01-01T00:04:05.1256-07:0", &t) < 0, "truncated zone offset rejected");
        ok(aws_parse_timestamp("2026-01-01T00:04:05+ 7:00", &t) < 0, "zone offset with a blank rejected");
        ok(aws_parse_timestamp("2026-01-01T00:04:05+07:00x", &t) < 0, "text after the zone offset rejected");
        ok(aws_parse_timestamp("2026-01-01T00:04:05+24:00", &t) < 0, "zone offset out of range rejected");
        is_int(aws_parse_timestamp("2026-11-29T08:30:00-07:30", &t), 0, "negative zone offset");
        is_int(t, 1795968000ULL * 1000000ULL, "negative zone offset value");

        aws_scrub(s, "ABCDEFGHIJKLMNOP");
        is_str(s, "token [redacted] in the middle and [redacted] again", "secrets scrubbed from messages");
        char odd[] = "x [redacted] y";
        aws_scrub(odd, "[redacted]"); /* looped forever */
        is_str(odd, "x [redacted] y", "a secret that reads \"[redacted]\" is scrubbed once");
        char shorts[] = "abab";
        aws_scrub(shorts, "ab");
        is_str(shorts, "****", "a short secret is starred");

        ok(aws_error_is_throttling("ThrottlingException"), "ThrottlingException is throttling");
        ok(!aws_error_is_throttling("AccessDeniedException"), "AccessDeniedException is not");
        ok(aws_error_is_transient(503, "HTTP 503"), "503 is transient");
        ok(!aws_error_is_transient(400, "InvalidParameterException"), "InvalidParameterException is not transient");
        ok(aws_error_is_clock_skew("SignatureDoesNotMatch"), "SignatureDoesNotMatch may be skew");
        ok(aws_error_is_clock_skew("AccessDeniedException"), "AccessDeniedException may be skew");
        ok(!aws_error_is_clock_skew("InvalidParameterException"), "InvalidParameterException is not skew");
}

static void error_bodies(void) {
        static const char json[] = "{\"__type\":\"com.amazonaws.ecr#ServerException\",\"message\":\"a\\nb\"}";
        static const char xml[] = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no\nway</Message></Error>";
        char *code = NULL, *message = NULL;

        is_int(aws_parse_error_body(400, "ThrottlingException:http://internal.amazon.com/coral/", "{}", 2, &code, &message),
               0, "error: header only");
        is_str(code, "ThrottlingException", "error: x-amzn-ErrorType without its URL suffix");
        free(code);
        free(message);
        is_int(aws_parse_error_body(400, NULL, json, strlen(json), &code, &message), 0, "error: JSON");
        is_str(code, "ServerException", "error: __type without its namespace");
        is_str(message, "a b", "error: message on one line");
        free(code);
        free(message);
        /* Not NUL-terminated: only len bytes may be read. */
        is_int(aws_parse_error_body(403, NULL, xml, sizeof(xml) - 1, &code, &message), 0, "error: XML");
        is_str(code, "AccessDenied", "error: XML code");
        is_str(message, "no way", "error: XML message");
        free(code);
        free(message);
        is_int(aws_parse_error_body(403, NULL, xml, 30, &code, &message), 0, "error: XML cut short");
        is_str(code, "HTTP 403", "error: a cut XML body falls back to the status");
        free(code);
        free(message);
        is_int(aws_parse_error_body(503, "#", "<html>", 6, &code, &message), 0, "error: HTML");
        is_str(code, "HTTP 503", "error: an empty error type falls back to the status");
        is_str(message, "", "error: no message");
        free(code);
        free(message);
}

/* Answers for several registries: each item on its own, matched by proxyEndpoint or position. */
static void items_and_matching(void) {
        /* base64("AWS:pw-a"), base64("AWS:pw-b") */
        const char *two = "{\"authorizationData\":["
                          "{\"authorizationToken\":\"QVdTOnB3LWI=\",\"proxyEndpoint\":\"https://222222222222.dkr.ecr.us-west-2.amazonaws.com\"},"
                          "{\"authorizationToken\":\"QVdTOnB3LWE=\",\"proxyEndpoint\":\"https://111111111111.dkr.ecr.us-west-2.amazonaws.com\"}]}";
        const char *ids[] = { "111111111111", "222222222222", "333333333333" };
        EcrItem *items = NULL;
        size_t n = 0;
        char *error = NULL;

        is_int(ecr_parse_items(two, strlen(two), &items, &n, &error), 0, "items: two items parse");
        is_int(n, 2, "items: two of them");
        is_int(ecr_match_item(items, n, ids, 2, 0), 1, "match: by proxyEndpoint, not by position (first id)");
        is_int(ecr_match_item(items, n, ids, 2, 1), 0, "match: by proxyEndpoint, not by position (second id)");
        is_str(items[1].token.password, "pw-a", "match: the matched item holds that registry's password");
        is_int(ecr_match_item(items, n, ids, 3, 2), -1, "match: a registry the answer does not name has no token");
        items = ecr_items_free(items, n);

        /* Positions are used when no item names a registry (no proxyEndpoint at all). */
        const char *anon = "{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnB3LWE=\"},{\"authorizationToken\":\"QVdTOnB3LWI=\"}]}";
        is_int(ecr_parse_items(anon, strlen(anon), &items, &n, &error), 0, "items: without proxyEndpoint");
        is_int(ecr_match_item(items, n, ids, 2, 1), 1, "match: by position when nothing names a registry");
        is_int(ecr_match_item(items, n, ids, 3, 2), -1, "match: no position match when the counts differ");
        items = ecr_items_free(items, n);

        /* One token for the identity serves every registry (registryIds is deprecated). */
        const char *one = "{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnB3LWE=\","
                          "\"proxyEndpoint\":\"https://999999999999.dkr.ecr.us-west-2.amazonaws.com\"}]}";
        is_int(ecr_parse_items(one, strlen(one), &items, &n, &error), 0, "items: one item");
        is_int(ecr_match_item(items, n, ids, 3, 2), 0, "match: a single item serves every registry");
        items = ecr_items_free(items, n);

        /* One bad item does not spoil the others. */
        const char *mixed = "{\"authorizationData\":[{\"authorizationToken\":\"!!\"},{\"authorizationToken\":\"QVdTOnB3LWI=\"}]}";
        is_int(ecr_parse_items(mixed, strlen(mixed), &items, &n, &error), 0, "items: a bad item is not fatal");
        ok(items[0].error && strstr(items[0].error, "base64") && !items[0].token.password, "items: the bad item has its error");
        ok(!items[1].error && streq(items[1].token.password, "pw-b"), "items: the good item is usable");
        items = ecr_items_free(items, n);

        /* A bad item still says which registry it was for: that one fails with the item's error,
         * rather than asking again. */
        const char *bad_named = "{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnB3LWI=\"},"
                                "{\"authorizationToken\":\"!!\",\"proxyEndpoint\":\"https://111111111111.dkr.ecr.us-west-2.amazonaws.com\"}]}";
        is_int(ecr_parse_items(bad_named, strlen(bad_named), &items, &n, &error), 0, "items: a bad item with its endpoint");
        is_int(ecr_match_item(items, n, ids, 2, 0), 1, "match: a bad item is matched by its proxyEndpoint");
        ok(items[1].error && !items[1].token.password, "match: ... and it carries its error, no password");
        items = ecr_items_free(items, n);
        free(error);

        ok(ecr_proxy_names("https://111111111111.dkr.ecr.us-west-2.amazonaws.com", "111111111111"), "proxy names its registry");
        ok(!ecr_proxy_names("https://1111111111112.dkr.ecr.us-west-2.amazonaws.com", "111111111111"), "proxy: longer id differs");
        ok(!ecr_proxy_names(NULL, "111111111111"), "proxy: none");
}

static void request_body(void) {
        const char *ids[] = { "111111111111", "222222222222" };
        AwsCredentials creds = { .access_key_id = (char *) "AKIDEXAMPLE", .secret_access_key = (char *) "secret",
                                 .source = (char *) "test" };
        HttpRequest *req = NULL;

        is_int(ecr_request_new(NULL, "https://api.ecr.us-west-2.amazonaws.com", "us-west-2", ids, 0, &creds, 0, &req),
               -EINVAL, "request: no registry id refused");
        is_int(ecr_request_new(NULL, "https://api.ecr.us-west-2.amazonaws.com", "us-west-2", ids, 11, &creds, 0, &req),
               -EINVAL, "request: more than 10 registry ids refused");
}

int main(void) {
        parse_ok();
        items_and_matching();
        request_body();
        parse_bad("not json", "not valid JSON", "garbage");
        parse_bad("{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnB3\"}]} trailing", "trailing", "trailing data");
        parse_bad("{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnB3\"", "not valid JSON", "truncated");
        parse_bad("{}", "authorizationData", "no authorizationData");
        parse_bad("{\"authorizationData\":[]}", "empty", "empty authorizationData");
        parse_bad("{\"authorizationData\":[{}]}", "authorizationToken", "no token");
        parse_bad("{\"authorizationData\":[{\"authorizationToken\":\"!!!notbase64\"}]}", "base64", "bad base64");
        /* base64("hunter2") */
        parse_bad("{\"authorizationData\":[{\"authorizationToken\":\"aHVudGVyMg==\"}]}", "AWS:", "missing AWS: prefix");
        /* base64("AWS:") */
        parse_bad("{\"authorizationData\":[{\"authorizationToken\":\"QVdTOg==\"}]}", "AWS:", "empty password");
        /* base64("AWS:pass\n") */
        parse_bad("{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnBhc3MK\"}]}", "whitespace", "newline in password");
        parse_bad("{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnB3\",\"expiresAt\":\"soon\"}]}", "expiresAt",
                  "bad expiresAt");
        parse_bad("{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnB3\",\"expiresAt\":[1]}]}", "expiresAt",
                  "expiresAt of the wrong type");
        /* Found by fuzzing: json-c accepts NaN, which must not reach a float-to-integer cast. */
        parse_bad("{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnB3\",\"expiresAt\":NaN}]}", "expiresAt",
                  "NaN expiresAt");
        endpoints();
        helpers();
        error_bodies();
        return done_testing();
}
