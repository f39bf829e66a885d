/* SPDX-License-Identifier: MIT */
/* Unit tests for the STS client: endpoints as the SDKs pick them, the form body, and the XML answer
 * parser (AWS's documented example, moto's answer, entities, and malformed answers whose messages
 * must not leak what they hold). */
#include "sts.h"
#include "tap.h"

static void clear_env(void) {
        static const char *const vars[] = { "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                                            "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT" };
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                unsetenv(vars[i]);
}

static void check_endpoint(const char *region, bool legacy, const char *want_url, const char *want_signing) {
        char *url = NULL, *error = NULL;
        const char *signing = NULL;
        int r = sts_endpoint(region, legacy, &url, &signing, &error);

        if (!ok(r == 0 && url && streq(url, want_url) && signing && streq(signing, want_signing), "%s%s -> %s (%s)", region,
                legacy ? " legacy" : "", want_url, want_signing))
                diag("r=%d url=%s signing=%s error=%s", r, url ?: "-", signing ?: "-", error ?: "-");
        free(url);
        free(error);
}

static void test_endpoints(void) {
        char *url = NULL, *error = NULL;
        const char *signing;

        clear_env();
        check_endpoint("us-west-2", false, "https://sts.us-west-2.amazonaws.com", "us-west-2");
        check_endpoint("us-east-1", false, "https://sts.us-east-1.amazonaws.com", "us-east-1");
        check_endpoint("cn-north-1", false, "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1");
        check_endpoint("us-east-1", true, "https://sts.amazonaws.com", "us-east-1");
        check_endpoint("eu-west-1", true, "https://sts.amazonaws.com", "us-east-1");
        check_endpoint("ap-east-1", true, "https://sts.ap-east-1.amazonaws.com", "ap-east-1");

        setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
        check_endpoint("us-east-2", false, "https://sts-fips.us-east-2.amazonaws.com", "us-east-2");
        check_endpoint("us-gov-west-1", false, "https://sts.us-gov-west-1.amazonaws.com", "us-gov-west-1");
        ok(sts_endpoint("cn-north-1", false, &url, &signing, &error) == -EINVAL && error && strstr(error, "FIPS"),
           "FIPS in China is an error");
        free(error);
        error = NULL;
        setenv("AWS_USE_DUALSTACK_ENDPOINT", "true", 1);
        check_endpoint("us-east-2", false, "https://sts-fips.us-east-2.api.aws", "us-east-2");
        unsetenv("AWS_USE_FIPS_ENDPOINT");
        check_endpoint("eu-central-1", false, "https://sts.eu-central-1.api.aws", "eu-central-1");
        unsetenv("AWS_USE_DUALSTACK_ENDPOINT");

        setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000", 1);
        check_endpoint("us-west-2", true, "http://127.0.0.1:5000", "us-west-2");
        setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:6000", 1);
        check_endpoint("us-west-2", false, "http://127.0.0.1:6000", "us-west-2");
        setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
        check_endpoint("us-west-2", false, "https://sts.us-west-2.amazonaws.com", "us-west-2");
        clear_env();
}

static void test_form(void) {
        char *body = NULL;
        StsAssumeRole a = {
                .role_arn = "arn:aws:iam::123456789012:role/path/ecr-reader",
                .session_name = "ecr-token-refresh",
                .external_id = "ext id+1",
        };

        ok(sts_form_body(&a, false, &body) == 0, "AssumeRole body");
        is_str(body,
               "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fpath%2Fecr-reader"
               "&RoleSessionName=ecr-token-refresh&ExternalId=ext%20id%2B1",
               "AssumeRole body is form-encoded (RFC 3986)");
        free(body);

        a.duration_seconds = 900;
        a.web_identity_token = "eyJhbGciOi.eyJzdWIi.c2ln_-";
        ok(sts_form_body(&a, true, &body) == 0, "AssumeRoleWithWebIdentity body");
        is_str(body,
               "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fpath%2Fecr-reader"
               "&RoleSessionName=ecr-token-refresh&DurationSeconds=900&WebIdentityToken=eyJhbGciOi.eyJzdWIi.c2ln_-",
               "AssumeRoleWithWebIdentity body: token, duration, no ExternalId");
        free(body);

        a.web_identity_token = NULL;
        is_int(sts_form_body(&a, true, &body), -EINVAL, "web identity without a token is refused");
        a.role_arn = NULL;
        is_int(sts_form_body(&a, false, &body), -EINVAL, "no role ARN is refused");
}

/* The example answer of the STS API reference (AssumeRole), whitespace and namespace included. */
static const char aws_example[] =
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        "<AssumeRoleResult>\n"
        "  <SourceIdentity>Alice</SourceIdentity>\n"
        "    <AssumedRoleUser>\n"
        "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>\n"
        "      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>\n"
        "    </AssumedRoleUser>\n"
        "    <Credentials>\n"
        "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
        "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
        "      <SessionToken>\n"
        "       AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW\n"
        "      </SessionToken>\n"
        "      <Expiration>2019-11-09T13:34:41Z</Expiration>\n"
        "    </Credentials>\n"
        "    <PackedPolicySize>6</PackedPolicySize>\n"
        "  </AssumeRoleResult>\n"
        "  <ResponseMetadata>\n"
        "    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
        "  </ResponseMetadata>\n"
        "</AssumeRoleResponse>\n";

/* What moto_server 5 answers to AssumeRoleWithWebIdentity (one line, microseconds). */
static const char moto_web_identity[] =
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult>"
        "<Credentials><AccessKeyId>ASIARZPUZDIKHUNI7S5G</AccessKeyId><SecretAccessKey>0N4rARdEdETKuzMjxbeK7nI8EhlCzoRdRJ4xWcs7"
        "</SecretAccessKey><SessionToken>FQoGZXIvYXdzEBYaD+Mx5Ynhia/yI2m+qjZHxxKkfwPg14iQp5VgVLj2LZFGvZ8JZln1Ze3TmztF3Ce9vLVo=</SessionToken>"
        "<Expiration>2026-11-29T06:25:34.277661Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>ARO123EXAMPLE123:s"
        "</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/x/s</Arn></AssumedRoleUser><PackedPolicySize>6</PackedPolicySize>"
        "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>0EU8</RequestId></ResponseMetadata>"
        "</AssumeRoleWithWebIdentityResponse>";

static void check_bad(const char *xml, const char *action, const char *want_error, const char *secret) {
        AwsCredentials *c = NULL;
        char *error = NULL;
        int r = sts_parse_credentials(xml, strlen(xml), action, "test", &c, NULL, &error);

        if (!ok(r == -EINVAL && !c && error && strstr(error, want_error) && (!secret || !strstr(error, secret)),
                "refused: %s", want_error))
                diag("r=%d error=%s", r, error ?: "(none)");
        aws_credentials_free(c);
        free(error);
}

#define CREDS(inner) "<AssumeRoleResponse><AssumeRoleResult><Credentials>" inner "</Credentials></AssumeRoleResult></AssumeRoleResponse>"

static void test_parse(void) {
        AwsCredentials *c = NULL;
        char *error = NULL, *arn = NULL;
        usec_t want;
        int r;

        r = sts_parse_credentials(aws_example, strlen(aws_example), "AssumeRole", "role x", &c, &arn, &error);
        ok(r == 0 && c && !error, "AWS's example AssumeRole answer parses");
        if (c) {
                is_str(c->access_key_id, "ASIAIOSFODNN7EXAMPLE", "AccessKeyId");
                is_str(c->secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "SecretAccessKey");
                is_str(c->session_token, "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW",
                       "SessionToken, surrounding whitespace trimmed");
                aws_parse_timestamp("2019-11-09T13:34:41Z", &want);
                ok(c->expiration == want, "Expiration");
                is_str(c->source, "role x", "source label");
        }
        is_str(arn, "arn:aws:sts::123456789012:assumed-role/demo/TestAR", "AssumedRoleUser Arn");
        aws_credentials_free(c);
        free(arn);
        c = NULL;
        arn = NULL;

        r = sts_parse_credentials(moto_web_identity, strlen(moto_web_identity), "AssumeRoleWithWebIdentity", "wi", &c, &arn,
                                  &error);
        ok(r == 0 && c, "moto's AssumeRoleWithWebIdentity answer parses");
        if (c) {
                is_str(c->session_token, "FQoGZXIvYXdzEBYaD+Mx5Ynhia/yI2m+qjZHxxKkfwPg14iQp5VgVLj2LZFGvZ8JZln1Ze3TmztF3Ce9vLVo=",
                       "session token with + / =");
                aws_parse_timestamp("2026-11-29T06:25:34.277661Z", &want);
                ok(c->expiration == want, "Expiration with microseconds");
        }
        aws_credentials_free(c);
        free(arn);
        c = NULL;

        r = sts_parse_credentials(aws_example, strlen(aws_example), "AssumeRoleWithWebIdentity", "x", &c, NULL, &error);
        ok(r == -EINVAL && error && strstr(error, "AssumeRoleWithWebIdentityResult"), "the answer must be to the action asked");
        free(error);
        error = NULL;

        static const char entities[] =
                CREDS("<AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>a&amp;b&lt;c&gt;&quot;&apos;&#65;&#x42;</SecretAccessKey>"
                      "<SessionToken>tok</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>");
        r = sts_parse_credentials(entities, strlen(entities), "AssumeRole", "x", &c, NULL, &error);
        ok(r == 0 && c && streq(c->secret_access_key, "a&b<c>\"'AB"), "XML entities are decoded");
        aws_credentials_free(c);
        c = NULL;

        check_bad(CREDS("<AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>SeCrEt</SecretAccessKey>"
                        "<Expiration>2030-01-01T00:00:00Z</Expiration>"),
                  "AssumeRole", "lack SessionToken", "SeCrEt");
        check_bad(CREDS("<AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>SeCrEt</SecretAccessKey><SessionToken/>"
                        "<Expiration>2030-01-01T00:00:00Z</Expiration>"),
                  "AssumeRole", "lack SessionToken", "SeCrEt");
        check_bad(CREDS("<AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>SeCrEt</SecretAccessKey><SessionToken>t</SessionToken>"
                        "<Expiration>tomorrow SeCrEt</Expiration>"),
                  "AssumeRole", "Expiration is not a timestamp", "SeCrEt");
        check_bad(CREDS("<AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>Se&bogus;CrEt</SecretAccessKey>"
                        "<SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>"),
                  "AssumeRole", "SecretAccessKey is malformed", "CrEt");
        check_bad(CREDS("<AccessKeyId>AS IA</AccessKeyId><SecretAccessKey>SeCrEt</SecretAccessKey>"
                        "<SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>"),
                  "AssumeRole", "AccessKeyId is malformed", "SeCrEt");
        check_bad("<AssumeRoleResponse><AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>", "AssumeRole",
                  "no Credentials", NULL);
        check_bad("<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>", "AssumeRole",
                  "no AssumeRoleResult", NULL);
        check_bad("{\"Credentials\": {}}", "AssumeRole", "no AssumeRoleResult", NULL);
        check_bad("<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAX", "AssumeRole", "no AssumeRoleResult",
                  NULL);

        ok(sts_error_is_retryable(400, "IDPCommunicationError"), "IDPCommunicationError is retried");
        ok(sts_error_is_retryable(400, "Throttling"), "Throttling is retried");
        ok(sts_error_is_retryable(503, "HTTP 503"), "HTTP 503 is retried");
        ok(!sts_error_is_retryable(403, "AccessDenied"), "AccessDenied is not retried");
        ok(!sts_error_is_retryable(400, "InvalidIdentityToken"), "InvalidIdentityToken is not retried");
}

int main(void) {
        test_endpoints();
        test_form();
        test_parse();
        return done_testing();
}
