/* SPDX-License-Identifier: MIT */
/* Unit tests for the YAML config loader: what loads, and the exact position and key of every error. */
#include <sys/stat.h>

/* Not "config.h": in the build tree that name is autoconf's header, found first via -I$(top_builddir). */
#include "config.h"
#include "tap.h"

#define NAME "test.yaml"

/* A valid registry entry body, for tests about other keys. */
#define REG1 "  - registryId: \"123456789012\"\n    region: us-west-2\n    passwordFile: /a/one.pass\n"

static Config *load_ok(const char *yaml, const char *what) {
        Config *c = NULL;
        char *e = NULL;
        int r = config_load_buffer(NAME, yaml, strlen(yaml), &c, &e);

        if (!ok(r == 0 && c && !e, "loads: %s", what))
                diag("r=%d error: %s", r, e ? e : "(none)");
        free(e);
        return c;
}

/* Asserts -EINVAL and that the message starts with want_prefix ("NAME:LINE:COL: key:") and, when
 * want_text is not NULL, contains it. */
static void check_error(const char *yaml, size_t len, const char *want_prefix, const char *want_text) {
        Config *c = NULL;
        char *e = NULL;
        int r = config_load_buffer(NAME, yaml, len, &c, &e);
        bool good = r == -EINVAL && !c && e && strncmp(e, want_prefix, strlen(want_prefix)) == 0 &&
                    (!want_text || strstr(e, want_text)) && !strchr(e, '\n');

        if (!ok(good, "error %s%s%s", want_prefix, want_text ? " ..." : "", want_text ?: ""))
                diag("r=%d got: %s", r, e ? e : "(none)");
        free(e);
        config_free(c);
}

#define ERR(yaml, prefix, text) check_error((yaml), strlen(yaml), (prefix), (text))

static void test_seed(void) {
        _cleanup_(config_freep) Config *c = load_ok(
                "interval: 30m\n"
                "registries:\n"
                "    - registryId: \"123456789012\"\n"
                "      region: \"us-west-2\"\n"
                "      passwordFile: \"/opt/passwords/my-registry.pass\"\n",
                "the old tool's README example with a 12-digit id");

        if (!c)
                return;
        is_str(c->path, NAME, "path is the name given");
        is_int(c->interval, 30 * USEC_PER_MINUTE, "interval 30 min");
        is_int(c->n_registries, 1, "one registry");
        if (c->n_registries != 1)
                return;
        is_str(c->registries[0].registry_id, "123456789012", "registryId");
        is_str(c->registries[0].region, "us-west-2", "region");
        is_str(c->registries[0].password_file, "/opt/passwords/my-registry.pass", "passwordFile");
        ok(!c->registries[0].endpoint, "no endpoint");
        is_int(c->registries[0].file_mode, 0640, "default fileMode 0640");
        is_int(c->registries[0].line, 3, "registry line");
        is_int(c->registries[0].column, 7, "registry column");
        ok(config_find_registry_by_file(c, "/opt/passwords/my-registry.pass") == &c->registries[0],
           "find by passwordFile");
        ok(config_find_registry_by_file(c, "/opt//passwords/./my-registry.pass") == &c->registries[0],
           "find by unnormalized passwordFile");
        ok(!config_find_registry_by_file(c, "/opt/passwords/other.pass"), "find unknown file gives NULL");
        ok(!config_find_registry_by_file(NULL, "/x"), "find in NULL config gives NULL");
}

static void test_valid_forms(void) {
        Config *c;

        c = load_ok("registries:\n"
                    "- registryId: 012345678901\n"
                    "  region: eu-central-1\n"
                    "  passwordFile: /a//b/./c.pass\n",
                    "bare id, default interval, path normalized");
        if (c && c->n_registries == 1) {
                is_int(c->interval, CONFIG_INTERVAL_DEFAULT, "default interval is 30 min");
                is_str(c->registries[0].registry_id, "012345678901", "bare id keeps its leading zero");
                is_str(c->registries[0].region, "eu-central-1", "region eu-central-1");
                is_str(c->registries[0].password_file, "/a/b/c.pass", "\"//\" and \"/./\" collapsed");
                is_int(c->registries[0].line, 2, "item line");
                is_int(c->registries[0].column, 3, "item column");
        }
        config_free(c);

        c = load_ok("registries: []\n", "empty registries list");
        if (c)
                is_int(c->n_registries, 0, "no registries");
        config_free(c);

        c = load_ok("---\ninterval: 1s\nregistries: []\n...\n", "explicit document markers, interval 1s");
        if (c)
                is_int(c->interval, USEC_PER_SEC, "interval 1s (minimum)");
        config_free(c);

        c = load_ok("interval: \"11h\"\nregistries: []\n", "interval 11h (maximum), quoted");
        if (c)
                is_int(c->interval, 11 * USEC_PER_HOUR, "interval 11h");
        config_free(c);

        c = load_ok("interval: 1.5h\nregistries: []\n", "fractional interval");
        if (c)
                is_int(c->interval, 90 * USEC_PER_MINUTE, "interval 1.5h");
        config_free(c);

        c = load_ok("{interval: 90s, registries: [{registryId: '123456789012', region: us-gov-west-1, "
                    "passwordFile: /p, endpoint: 'http://localhost:5000', fileMode: 0644}]}",
                    "flow style, every key");
        if (c && c->n_registries == 1) {
                is_int(c->interval, 90 * USEC_PER_SEC, "interval 90s");
                is_str(c->registries[0].region, "us-gov-west-1", "region us-gov-west-1");
                is_str(c->registries[0].endpoint, "http://localhost:5000", "endpoint");
                is_int(c->registries[0].file_mode, 0644, "explicit world-readable fileMode 0644");
                is_int(c->registries[0].line, 1, "flow item line");
                is_int(c->registries[0].column, 30, "flow item column");
        }
        config_free(c);

        c = load_ok("registries:\n"
                    REG1
                    "    fileMode: \"600\"\n"
                    "  - registryId: \"000000000000\"\n"
                    "    region: cn-north-1\n"
                    "    passwordFile: \"/a/two.pass\"\n"
                    "    endpoint: \"https://[::1]:8443/ecr\"\n"
                    "    fileMode: !!str 0400\n",
                    "two registries, quoted 3-digit mode, IPv6 endpoint, !!str tag");
        if (c && c->n_registries == 2) {
                is_int(c->registries[0].file_mode, 0600, "fileMode \"600\"");
                is_int(c->registries[1].file_mode, 0400, "fileMode 0400");
                is_str(c->registries[1].endpoint, "https://[::1]:8443/ecr", "IPv6 endpoint");
                is_int(c->registries[1].line, 6, "second item line");
                ok(config_find_registry_by_file(c, "/a/two.pass") == &c->registries[1], "find second registry");
        }
        config_free(c);

        c = load_ok("# comment\nregistries: # none yet\n  []\ninterval: 5m # after\n", "comments, key order");
        if (c)
                is_int(c->interval, 5 * USEC_PER_MINUTE, "interval after registries");
        config_free(c);

        /* Same registry twice, written to two files, is allowed (two consumers). */
        c = load_ok("registries:\n" REG1
                    "  - registryId: \"123456789012\"\n    region: us-west-2\n    passwordFile: /a/two.pass\n",
                    "same registry, two files");
        config_free(c);
}

static void test_document_errors(void) {
        ERR("", NAME ":1:1: configuration is empty", NULL);
        ERR("# only a comment\n", NAME ":2:1: configuration is empty", NULL);
        ERR("---\n", NAME ":2:1: configuration is empty", NULL);
        ERR("~\n", NAME ":1:1: configuration is empty", NULL);
        ERR("registries\n", NAME ":1:1: the top level must be a mapping", "got a string");
        ERR("- registryId: \"123456789012\"\n", NAME ":1:1: the top level must be a mapping", "got a list");
        ERR("registries: []\n---\nregistries: []\n", NAME ":2:1: a second YAML document", NULL);
        ERR("registries: []\n...\n--- x\n", NAME ":3:1: a second YAML document", NULL);

        /* YAML syntax errors: the position is where libyaml found the problem. */
        ERR("registries: [\n", NAME ":2:1: YAML syntax error: did not find expected node content",
            "(while parsing a flow node at line 2, column 1)");
        ERR("registries:\n  - registryId: \"123456789012\n", NAME ":3:1: YAML syntax error: found unexpected end of stream",
            "(while scanning a quoted scalar at line 2, column 17)");
        ERR("registries: []\n\tinterval: 5m\n", NAME ":2:1: YAML syntax error:", NULL);
        ERR("registries:\n  - region: us-west-2\n   passwordFile: /a\n",
            NAME ":3:4: YAML syntax error: did not find expected '-' indicator",
            "(while parsing a block collection at line 2, column 3)");
        ERR("interval: 5m: 3\nregistries: []\n",
            NAME ":1:13: YAML syntax error: mapping values are not allowed in this context", NULL);
        ERR("registries: []\n@x: 1\n", NAME ":2:1: YAML syntax error: found character that cannot start any token",
            NULL);
        check_error("registries: []\nx\0y: 1\n", 22, NAME ":2:2: invalid input: control characters are not allowed",
                    NULL);
        ERR("registries: []\n\xff\n", NAME ":2:1: invalid input: invalid leading UTF-8 octet", NULL);
        ERR("interval: \"\xc3\"\nregistries: []\n", NAME ":1:13: invalid input: invalid trailing UTF-8 octet (#x22)", NULL);

        /* Anchors, aliases and tags. */
        ERR("interval: &i 5m\nregistries: []\n", NAME ":1:11: interval: anchors (&i) are not supported", NULL);
        ERR("registries: *r\n", NAME ":1:13: registries: aliases (*r) are not supported", NULL);
        ERR("registries: !!seq {}\n", NAME ":1:13: registries: tag !!seq is not supported here", NULL);
        ERR("interval: !!int 5\nregistries: []\n", NAME ":1:11: interval: tag !!int is not supported here",
            NULL);
        ERR("registries: !custom []\n", NAME ":1:13: registries: tag !custom is not supported here", NULL);
        ERR("interval: \"5m\\0\"\nregistries: []\n", NAME ":1:11: interval: value contains a NUL character", NULL);
}

static void test_key_errors(void) {
        ERR("registries: []\nintervall: 5m\n", NAME ":2:1: intervall: unknown key at the top level",
            "(expected one of: interval, registries)");
        ERR("Interval: 5m\nregistries: []\n", NAME ":1:1: Interval: unknown key, did you mean \"interval\"?", NULL);
        ERR("registries:\n  - registryid: \"123456789012\"\n", NAME ":2:5: registryid: unknown key, did you mean \"registryId\"?",
            NULL);
        ERR("registries:\n" REG1 "    password_file: /x\n", NAME ":5:5: password_file: unknown key, did you mean \"passwordFile\"?",
            NULL);
        ERR("registries:\n" REG1 "    PasswordFile: /x\n", NAME ":5:5: PasswordFile: unknown key, did you mean \"passwordFile\"?",
            NULL);
        ERR("registries:\n" REG1 "    username: AWS\n", NAME ":5:5: username: unknown key in this registry entry",
            "(expected one of: registryId, region, passwordFile, endpoint, fileMode, roleArn, externalId, roleSessionName)");
        ERR("registries:\n" REG1 "    role_arn: arn:aws:iam::123456789012:role/x\n",
            NAME ":5:5: role_arn: unknown key, did you mean \"roleArn\"?", NULL);
        ERR("region: us-west-2\nregistries: []\n", NAME ":1:1: region: unknown key at the top level",
            "belongs in an entry of the \"registries\" list");
        ERR("registries:\n" REG1 "    interval: 5m\n", NAME ":5:5: interval: unknown key in this registry entry",
            "belongs at the top level");
        ERR("\"\": 1\nregistries: []\n", NAME ":1:1: \"\": unknown key", NULL);
        ERR("\"a\\nb\": 1\n", NAME ":1:1: a\\nb: unknown key", NULL);
        ERR("[registries]: []\n", NAME ":1:1: keys must be plain names, got a list", NULL);
        ERR("registries:\n  - {a: 1}: x\n", NAME ":2:5: keys must be plain names, got a mapping", NULL);

        /* Duplicates, in one mapping. */
        ERR("interval: 5m\nregistries: []\ninterval: 6m\n", NAME ":3:1: interval: duplicate key, first given at line 1, column 1",
            NULL);
        ERR("registries:\n" REG1 "    region: us-east-1\n", NAME ":5:5: region: duplicate key, first given at line 3, column 5",
            NULL);

        /* Missing required keys: the position of the registry item (or top-level mapping). */
        ERR("interval: 5m\n", NAME ":1:1: registries: required key is missing at the top level", NULL);
        ERR("registries:\n  - region: us-west-2\n    passwordFile: /a\n",
            NAME ":2:5: registryId: required key is missing in this registry entry", NULL);
        ERR("registries:\n  - registryId: \"123456789012\"\n    passwordFile: /a\n",
            NAME ":2:5: region: required key is missing in this registry entry", NULL);
        ERR("registries:\n" REG1 "  -   registryId: \"123456789012\"\n      region: us-west-2\n",
            NAME ":5:7: passwordFile: required key is missing in this registry entry", NULL);
        ERR("registries: [{}]\n", NAME ":1:14: registryId: required key is missing in this registry entry", NULL);
}

static void test_type_errors(void) {
        ERR("registries:\n", NAME ":1:12: registries: expected a list, got no value", "(write [] for an empty list)");
        ERR("registries: {}\n", NAME ":1:13: registries: expected a list, got a mapping", NULL);
        ERR("registries: /a/b\n", NAME ":1:13: registries: expected a list, got a string", NULL);
        ERR("registries:\n  - x\n", NAME ":2:5: registries: each entry must be a mapping", "got a string");
        ERR("registries:\n  -\n", NAME ":2:4: registries: each entry must be a mapping", "got no value");
        ERR("registries:\n  - [a]\n", NAME ":2:5: registries: each entry must be a mapping", "got a list");
        ERR("interval: [5m]\nregistries: []\n", NAME ":1:11: interval: expected a string, got a list", NULL);
        ERR("interval: {}\nregistries: []\n", NAME ":1:11: interval: expected a string, got a mapping", NULL);
        ERR("interval:\nregistries: []\n", NAME ":1:10: interval: no value given", NULL);
        ERR("registries:\n  - registryId:\n    region: us-west-2\n", NAME ":2:16: registryId: no value given", NULL);
        ERR("registries:\n  - registryId: ~\n", NAME ":2:17: registryId: no value given", NULL);
        ERR("registries:\n  - registryId:\n      - \"123456789012\"\n", NAME ":3:7: registryId: expected a string, got a list",
            NULL);
        ERR("registries:\n  - region: {name: us-west-2}\n", NAME ":2:13: region: expected a string, got a mapping", NULL);
        ERR("registries:\n" REG1 "    endpoint: null\n", NAME ":5:15: endpoint: no value given", NULL);
        ERR("registries:\n" REG1 "    fileMode: [0640]\n", NAME ":5:15: fileMode: expected a string, got a list", NULL);
}

static void test_value_errors(void) {
        /* registryId */
        ERR("interval: 30m\n"
            "registries:\n"
            "    - registryId: \"12345667\"\n"
            "      region: \"us-west-2\"\n"
            "      passwordFile: \"/opt/passwords/my-registry.pass\"\n",
            NAME ":3:19: registryId: \"12345667\" is not a 12-digit AWS account ID (AWS rejects it with InvalidParameterException)",
            NULL);
        ERR("registries:\n  - registryId: 1234567890123\n", NAME ":2:17: registryId: \"1234567890123\" is not a 12-digit", NULL);
        ERR("registries:\n  - registryId: \"12345678901a\"\n", NAME ":2:17: registryId: \"12345678901a\" is not a 12-digit",
            NULL);
        ERR("registries:\n  - registryId: \" 123456789012\"\n", NAME ":2:17: registryId: \" 123456789012\" is not", NULL);
        ERR("registries:\n  - registryId: 1.23456789012e11\n", NAME ":2:17: registryId:", "is not a 12-digit");
        ERR("registries:\n  - registryId: \"\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\xd9\xa5\xd9\xa6\xd9\xa7\xd9\xa8\xd9\xa9\xd9\xa0\xd9\xa1\xd9\xa2\"\n",
            NAME ":2:17: registryId:", "is not a 12-digit");

        /* region */
        ERR("registries:\n  - region: US-WEST-2\n", NAME ":2:13: region: \"US-WEST-2\" is not an AWS region name",
            "(expected something like \"us-west-2\")");
        ERR("registries:\n  - region: us-west\n", NAME ":2:13: region: \"us-west\" is not an AWS region name", NULL);
        ERR("registries:\n  - region: us-2\n", NAME ":2:13: region: \"us-2\" is not an AWS region name", NULL);
        ERR("registries:\n  - region: usa-west-2\n", NAME ":2:13: region: \"usa-west-2\" is not", NULL);
        ERR("registries:\n  - region: us-west-2a\n", NAME ":2:13: region: \"us-west-2a\" is not", NULL);
        ERR("registries:\n  - region: \"us-west-2 \"\n", NAME ":2:13: region: \"us-west-2 \" is not", NULL);
        ERR("registries:\n  - region: us--west-2\n", NAME ":2:13: region: \"us--west-2\" is not", NULL);
        ERR("registries:\n  - region: \"\"\n", NAME ":2:13: region: \"\" is not an AWS region name", NULL);

        /* passwordFile */
#define PF(v) "registries:\n  - registryId: \"123456789012\"\n    region: us-west-2\n    passwordFile: " v "\n"
        ERR(PF("opt/x.pass"), NAME ":4:19: passwordFile: \"opt/x.pass\" is not an absolute path", NULL);
        ERR(PF("\"\""), NAME ":4:19: passwordFile: \"\" is empty", NULL);
        ERR(PF("~/x.pass"), NAME ":4:19: passwordFile: \"~/x.pass\" is not an absolute path", NULL);
        ERR(PF("/"), NAME ":4:19: passwordFile: \"/\" is the root directory, not a file", NULL);
        ERR(PF("//"), NAME ":4:19: passwordFile: \"//\" is the root directory", NULL);
        ERR(PF("/opt/passwords/"), NAME ":4:19: passwordFile: \"/opt/passwords/\" ends with \"/\"", "not a directory");
        ERR(PF("/opt/passwords/."), NAME ":4:19: passwordFile: \"/opt/passwords/.\" ends with \"/.\"", NULL);
        ERR(PF("/opt/../etc/shadow"), NAME ":4:19: passwordFile: \"/opt/../etc/shadow\" contains a \"..\" component",
            NULL);
        ERR(PF("/.."), NAME ":4:19: passwordFile: \"/..\" contains a \"..\" component", NULL);
        ERR(PF("\"/a\\nb\""), NAME ":4:19: passwordFile: \"/a\\nb\" contains control characters", NULL);
        ERR(PF("\"/a\\0b\""), NAME ":4:19: passwordFile: value contains a NUL character", NULL);
        ERR("registries:\n" REG1
            "  - registryId: \"123456789013\"\n    region: us-east-1\n    passwordFile: /a//one.pass\n",
            NAME ":7:19: passwordFile: \"/a/one.pass\" is also the passwordFile at line 4, column 19",
            "each registry needs its own file");

        /* endpoint */
#define EP(v) "registries:\n" REG1 "    endpoint: " v "\n"
        ERR(EP("api.ecr.us-west-2.amazonaws.com"),
            NAME ":5:15: endpoint: \"api.ecr.us-west-2.amazonaws.com\" must start with \"https://\" or \"http://\"", NULL);
        ERR(EP("ftp://example.com"), NAME ":5:15: endpoint: \"ftp://example.com\" must start with", NULL);
        ERR(EP("HTTPS://example.com"), NAME ":5:15: endpoint: \"HTTPS://example.com\" must start with", NULL);
        ERR(EP("https://"), NAME ":5:15: endpoint: \"https://\" has no host name", NULL);
        ERR(EP("http:///path"), NAME ":5:15: endpoint: \"http:///path\" has no host name", NULL);
        ERR(EP("https://:443"), NAME ":5:15: endpoint: \"https://:443\" has no host name", NULL);
        ERR(EP("\"https://a b\""), NAME ":5:15: endpoint: \"https://a b\" contains whitespace", NULL);
        ERR(EP("https://user:pw@host"), NAME ":5:15: endpoint: \"https://user:pw@host\" must not contain user information",
            NULL);
        ERR(EP("\"https://host:\""), NAME ":5:15: endpoint: \"https://host:\" has an invalid port", NULL);
        ERR(EP("https://host:99999"), NAME ":5:15: endpoint: \"https://host:99999\" has an invalid port", NULL);
        ERR(EP("https://host:x1"), NAME ":5:15: endpoint: \"https://host:x1\" has an invalid port", NULL);
        ERR(EP("\"https://[]\""), NAME ":5:15: endpoint: \"https://[]\" has a malformed IPv6 address", NULL);
        ERR(EP("\"https://[::1\""), NAME ":5:15: endpoint: \"https://[::1\" has a malformed IPv6 address", NULL);

        /* fileMode */
#define FM(v) "registries:\n" REG1 "    fileMode: " v "\n"
        ERR(FM("0666"), NAME ":5:15: fileMode: \"0666\" grants execute permission or write permission beyond the owner",
            NULL);
        ERR(FM("0660"), NAME ":5:15: fileMode: \"0660\" grants", NULL);
        ERR(FM("0700"), NAME ":5:15: fileMode: \"0700\" grants", NULL);
        ERR(FM("0641"), NAME ":5:15: fileMode: \"0641\" grants", NULL);
        ERR(FM("0642"), NAME ":5:15: fileMode: \"0642\" grants", NULL);
        ERR(FM("0777"), NAME ":5:15: fileMode: \"0777\" grants", NULL);
        ERR(FM("\"0648\""), NAME ":5:15: fileMode: \"0648\" is not an octal file mode like \"0640\"", NULL);
        ERR(FM("rw-r-----"), NAME ":5:15: fileMode: \"rw-r-----\" is not an octal file mode", NULL);
        ERR(FM("0o640"), NAME ":5:15: fileMode: \"0o640\" is not an octal file mode", NULL);
        ERR(FM("00640"), NAME ":5:15: fileMode: \"00640\" is not an octal file mode", NULL);
        ERR(FM("\"\""), NAME ":5:15: fileMode: \"\" is not an octal file mode", NULL);
        ERR(FM("-640"), NAME ":5:15: fileMode: \"-640\" is not an octal file mode", NULL);
        ERR(FM("4640"), NAME ":5:15: fileMode: \"4640\" is out of range", "no setuid, setgid or sticky bits");
        ERR(FM("1640"), NAME ":5:15: fileMode: \"1640\" is out of range", NULL);

        /* interval */
#define IV(v) "interval: " v "\nregistries: []\n"
        ERR(IV("12h"), NAME ":1:11: interval: \"12h\" is out of range; it must be between 1s and 11h", NULL);
        ERR(IV("11h0m1s"), NAME ":1:11: interval: \"11h0m1s\" is out of range", NULL);
        ERR(IV("999ms"), NAME ":1:11: interval: \"999ms\" is out of range; it must be between 1s and 11h", NULL);
        ERR(IV("0"), NAME ":1:11: interval: \"0\" is out of range", NULL);
        ERR(IV("99999999999999999999h"), NAME ":1:11: interval: \"99999999999999999999h\" is out of range", NULL);
        ERR(IV("-1m"), NAME ":1:11: interval: \"-1m\" is negative; it must be between 1s and 11h", NULL);
        ERR(IV("30"), NAME ":1:11: interval: \"30\" is not a duration", "(write e.g. \"30m\"");
        ERR(IV("30 minutes"), NAME ":1:11: interval: \"30 minutes\" is not a duration", NULL);
        ERR(IV("1d"), NAME ":1:11: interval: \"1d\" is not a duration", NULL);
        ERR(IV("\"\""), NAME ":1:11: interval: \"\" is not a duration", NULL);
        ERR(IV("PT30M"), NAME ":1:11: interval: \"PT30M\" is not a duration", NULL);
}

/* Per-registry roles: roleArn, externalId, roleSessionName. */
static void test_roles(void) {
        _cleanup_(config_freep) Config *c = NULL, *c2 = NULL;

        c = load_ok("registries:\n" REG1
                    "    roleArn: arn:aws:iam::210987654321:role/ecr/cross-account-reader\n"
                    "    externalId: \"spinnaker:prod/1\"\n"
                    "    roleSessionName: clouddriver@prod\n"
                    "  - registryId: \"123456789013\"\n    region: cn-north-1\n    passwordFile: /a/two.pass\n"
                    "    roleArn: arn:aws-cn:iam::210987654321:role/reader\n",
                    "roleArn with a path, externalId, roleSessionName; a China partition ARN");
        if (c && c->n_registries == 2) {
                is_str(c->registries[0].role_arn, "arn:aws:iam::210987654321:role/ecr/cross-account-reader", "roleArn");
                is_str(c->registries[0].external_id, "spinnaker:prod/1", "externalId");
                is_str(c->registries[0].role_session_name, "clouddriver@prod", "roleSessionName");
                is_str(c->registries[1].role_arn, "arn:aws-cn:iam::210987654321:role/reader", "aws-cn roleArn");
                ok(!c->registries[1].external_id && !c->registries[1].role_session_name,
                   "externalId and roleSessionName default to none (session name ecr-token-refresh)");
        }
        c2 = load_ok("registries:\n" REG1, "no role");
        if (c2 && c2->n_registries == 1)
                ok(!c2->registries[0].role_arn && !c2->registries[0].external_id && !c2->registries[0].role_session_name,
                   "no role: all NULL");
        c2 = config_free(c2);
        c2 = load_ok("registries:\n" REG1 "    roleArn: arn:aws-us-gov:iam::210987654321:role/r_1+=,.@-\n",
                     "GovCloud ARN, every character IAM allows in a role name");
        c2 = config_free(c2);

#define RA(v) "registries:\n" REG1 "    roleArn: " v "\n"
        ERR(RA("arn:aws:iam::12345678901:role/x"), NAME ":5:14: roleArn: \"arn:aws:iam::12345678901:role/x\" must have a 12-digit account ID",
            NULL);
        ERR(RA("arn:aws:iam::1234567890123:role/x"), NAME ":5:14: roleArn: ", "12-digit account ID");
        ERR(RA("arn:aws:iam::123456789012:user/x"), NAME ":5:14: roleArn: \"arn:aws:iam::123456789012:user/x\" is not a role ARN",
            NULL);
        ERR(RA("arn:aws:sts::123456789012:assumed-role/x/y"), NAME ":5:14: roleArn: ", "is not an IAM ARN");
        ERR(RA("ecr-reader"), NAME ":5:14: roleArn: \"ecr-reader\" must start with \"arn:aws\"", NULL);
        ERR(RA("arn:gcp:iam::123456789012:role/x"), NAME ":5:14: roleArn: ", "must start with \"arn:aws\"");
        ERR(RA("arn:aws:iam::123456789012:role/"), NAME ":5:14: roleArn: ", "must end with a role name of 1 to 64 characters");
        ERR(RA("arn:aws:iam::123456789012:role/a//b"), NAME ":5:14: roleArn: ", "characters IAM does not allow");
        ERR(RA("\"arn:aws:iam::123456789012:role/a b\""), NAME ":5:14: roleArn: ", "characters IAM does not allow");
        ERR(RA("arn:aws:iam::123456789012:role/a*"), NAME ":5:14: roleArn: ", "characters IAM does not allow");
        ERR(RA("arn:aws:iam::123456789012:role/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            NAME ":5:14: roleArn: ", "1 to 64 characters");
        ERR(RA("null"), NAME ":5:14: roleArn: no value given", NULL);

#define ROLE "    roleArn: arn:aws:iam::123456789012:role/x\n"
        ERR("registries:\n" REG1 ROLE "    externalId: x\n", NAME ":6:17: externalId: must be 2 to 1224 characters long", NULL);
        ERR("registries:\n" REG1 ROLE "    externalId: \"a b\"\n", NAME ":6:17: externalId: may contain only", NULL);
        ERR("registries:\n" REG1 ROLE "    roleSessionName: x\n",
            NAME ":6:22: roleSessionName: \"x\" must be 2 to 64 characters long", NULL);
        ERR("registries:\n" REG1 ROLE "    roleSessionName: a:b\n", NAME ":6:22: roleSessionName: \"a:b\" may contain only", NULL);
        ERR("registries:\n" REG1 ROLE "    roleSessionName: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
            NAME ":6:22: roleSessionName: ", "2 to 64 characters");
        ERR("registries:\n" REG1 "    externalId: ext-1\n", NAME ":5:17: externalId: only applies together with roleArn", NULL);
        ERR("registries:\n" REG1 "    roleSessionName: s1\n", NAME ":5:22: roleSessionName: only applies together with roleArn",
            NULL);
        ERR("registries:\n" REG1 ROLE ROLE, NAME ":6:5: roleArn: duplicate key, first given at line 5, column 5", NULL);
}

static void test_limits(void) {
        size_t n = 200000, len;
        char *s, *big;
        int i;

        /* Deep nesting stops at the first unexpected level: no recursion, no blow-up. */
        s = malloc(n + 16);
        strcpy(s, "registries: ");
        memset(s + 12, '[', n);
        s[12 + n] = 0;
        check_error(s, 12 + n, NAME ":1:28: nested deeper than 16 levels", NULL);
        memset(s, '{', n);
        s[n] = 0;
        check_error(s, n, NAME ":1:17: nested deeper than 16 levels", NULL);
        /* Within the limit, the first unexpected level is reported. */
        check_error(s, 16, NAME ":2:1: YAML syntax error:", NULL);
        memset(s, '[', 16);
        memset(s + 16, ']', 16);
        check_error(s, 32, NAME ":1:1: the top level must be a mapping", "got a list");
        free(s);

        /* Long values are shortened in messages. */
        s = malloc(n + 64);
        len = (size_t) sprintf(s, "interval: ");
        memset(s + len, 'x', n);
        len += n;
        len += (size_t) sprintf(s + len, "\nregistries: []\n");
        {
                Config *c = NULL;
                char *e = NULL;
                int r = config_load_buffer(NAME, s, len, &c, &e);
                ok(r == -EINVAL && e && strlen(e) < 300 && strstr(e, "xxx\"... is not a duration"),
                   "long value is shortened in the message");
                free(e);
        }
        free(s);

        /* Too many registries. */
        big = malloc((CONFIG_REGISTRIES_MAX + 1) * 100 + 32);
        len = (size_t) sprintf(big, "registries:\n");
        for (i = 0; i <= CONFIG_REGISTRIES_MAX; i++)
                len += (size_t) sprintf(big + len,
                                        "- {registryId: \"123456789012\", region: us-west-2, passwordFile: /p/%d}\n", i);
        {
                char want[64];
                snprintf(want, sizeof(want), NAME ":%d:3: registries: too many entries", CONFIG_REGISTRIES_MAX + 2);
                check_error(big, len, want, NULL);
        }
        free(big);
}

/* Every prefix of a valid file, and many single-byte mutations, must load or fail cleanly with a
 * one-line positioned message (and, under valgrind, without leaks). */
static void test_robustness(void) {
        static const char base[] =
                "%YAML 1.1\n---\n"
                "interval: 1h30m # comment\n"
                "registries:\n"
                "  - registryId: \"012345678901\"\n"
                "    region: us-west-2\n"
                "    passwordFile: '/opt/x//a.pass'\n"
                "    endpoint: http://localhost:5000\n"
                "    fileMode: 0600\n"
                "  - {registryId: 123456789012, region: cn-north-1, passwordFile: /b}\n"
                "...\n";
        static const char bytes[] = "\0\n\t -:[]{}&*!|>'\"%@`#,?~0a/\\\xff\xc3";
        size_t len = strlen(base), bad = 0, loaded = 0;
        char buf[sizeof(base)];
        unsigned seed = 12345;

        for (size_t i = 0; i <= len; i++) {
                Config *c = NULL;
                char *e = NULL;
                int r = config_load_buffer(NAME, base, i, &c, &e);

                if (r == 0)
                        loaded++;
                else if (r != -EINVAL || !e || strncmp(e, NAME ":", strlen(NAME ":")) != 0 || strchr(e, '\n'))
                        bad++;
                free(e);
                config_free(c);
        }
        ok(bad == 0 && loaded >= 1, "every prefix loads or fails cleanly (%zu loaded)", loaded);

        bad = loaded = 0;
        for (int i = 0; i < 3000; i++) {
                Config *c = NULL;
                char *e = NULL;
                int r;

                memcpy(buf, base, len);
                for (int k = 0; k < 1 + i % 3; k++) {
                        seed = seed * 1103515245 + 12345;
                        size_t pos = (seed >> 8) % len;
                        seed = seed * 1103515245 + 12345;
                        buf[pos] = bytes[(seed >> 8) % (sizeof(bytes) - 1)];
                }
                r = config_load_buffer(NAME, buf, len, &c, &e);
                if (r == 0) {
                        loaded++;
                        if (!c || c->interval < CONFIG_INTERVAL_MIN || c->interval > CONFIG_INTERVAL_MAX)
                                bad++;
                } else if (r != -EINVAL || !e || strncmp(e, NAME ":", strlen(NAME ":")) != 0 || strchr(e, '\n'))
                        bad++;
                free(e);
                config_free(c);
        }
        ok(bad == 0, "3000 mutated inputs load or fail cleanly (%zu loaded)", loaded);

        ok(config_load_buffer(NAME, NULL, 0, &(Config *) { NULL }, NULL) == -EINVAL, "NULL buffer is an empty file");
        ok(config_free(NULL) == NULL, "config_free(NULL)");
}

static void test_files(void) {
        const char *srcdir = getenv("top_srcdir") ?: ".";
        char path[4096], want[4400];
        Config *c = NULL;
        char *e = NULL;
        int r;

        snprintf(path, sizeof(path), "%s/tests/data/config/seed.yaml", srcdir);
        r = config_load(path, &c, &e);
        if (!ok(r == 0 && c && !e, "config_load %s", path))
                diag("r=%d error: %s", r, e ?: "(none)");
        if (c && c->n_registries == 1) {
                is_str(c->path, path, "path recorded");
                is_int(c->interval, 30 * USEC_PER_MINUTE, "file: interval 30m");
                is_str(c->registries[0].registry_id, "123456789012", "file: registryId");
                is_str(c->registries[0].region, "us-west-2", "file: region");
                is_str(c->registries[0].password_file, "/opt/passwords/my-registry.pass", "file: passwordFile");
                is_int(c->registries[0].line, 4, "file: registry line");
        }
        c = config_free(c);
        free(e);
        e = NULL;

        snprintf(path, sizeof(path), "%s/tests/data/config/full.yaml", srcdir);
        r = config_load(path, &c, &e);
        if (!ok(r == 0 && c && !e, "config_load %s", path))
                diag("r=%d error: %s", r, e ?: "(none)");
        if (c && c->n_registries == 2) {
                is_int(c->interval, 90 * USEC_PER_MINUTE, "full: interval 1h30m");
                is_str(c->registries[0].registry_id, "012345678901", "full: bare id with leading zero");
                is_str(c->registries[0].password_file, "/var/lib/spinnaker/ecr/gov.pass", "full: normalized path");
                is_str(c->registries[0].endpoint, "https://ecr-fips.us-gov-west-1.amazonaws.com", "full: endpoint");
                is_int(c->registries[0].file_mode, 0600, "full: fileMode 0600");
                is_int(c->registries[1].file_mode, 0644, "full: fileMode 0644");
                ok(!c->registries[1].endpoint, "full: no endpoint");
        }
        c = config_free(c);
        free(e);
        e = NULL;

        /* The old README's example, unchanged: its 8-digit id is what AWS would reject. */
        snprintf(path, sizeof(path), "%s/tests/data/config/readme-8-digit-id.yaml", srcdir);
        snprintf(want, sizeof(want),
                 "%s:3:19: registryId: \"12345667\" is not a 12-digit AWS account ID (AWS rejects it with InvalidParameterException)",
                 path);
        r = config_load(path, &c, &e);
        is_int(r, -EINVAL, "README example with 8-digit id is refused");
        is_str(e, want, "README example error message");
        c = config_free(c);
        free(e);
        e = NULL;

        r = config_load("/nonexistent/ecr-token-refresh/config.yaml", &c, &e);
        is_int(r, -ENOENT, "missing file gives -ENOENT");
        is_str(e, "/nonexistent/ecr-token-refresh/config.yaml: No such file or directory", "missing file message");
        ok(!c, "no config for a missing file");
        free(e);
        e = NULL;

        snprintf(path, sizeof(path), "%s/tests/data/config", srcdir);
        r = config_load(path, &c, &e);
        is_int(r, -EISDIR, "directory gives -EISDIR");
        snprintf(want, sizeof(want), "%s: Is a directory", path);
        is_str(e, want, "directory message");
        free(e);
        e = NULL;

        r = config_load("/dev/zero", &c, &e);
        is_int(r, -EFBIG, "endless file gives -EFBIG");
        is_str(e, "/dev/zero: file is larger than 1048576 bytes", "too large message");
        free(e);
        e = NULL;

        r = config_load("/dev/null", &c, &e);
        is_int(r, -EINVAL, "/dev/null is an empty configuration");
        is_str(e, "/dev/null:1:1: configuration is empty (expected \"registries\" and optionally \"interval\")",
               "empty file message");
        free(e);
        e = NULL;

        if (geteuid() != 0) {
                char tmp[] = "/tmp/test-config-XXXXXX";
                int fd = mkstemp(tmp);

                if (fd >= 0) {
                        close(fd);
                        chmod(tmp, 0);
                        r = config_load(tmp, &c, &e);
                        is_int(r, -EACCES, "unreadable file gives -EACCES");
                        snprintf(want, sizeof(want), "%s: Permission denied", tmp);
                        is_str(e, want, "unreadable file message");
                        free(e);
                        e = NULL;
                        unlink(tmp);
                }
        } else {
                ok(true, "unreadable file gives -EACCES # SKIP running as root");
                ok(true, "unreadable file message # SKIP running as root");
        }
}

static void test_normalize(void) {
        char *s = NULL;

        ok(config_path_normalize("/a//b/./c", &s) == 0 && streq(s, "/a/b/c"), "normalize /a//b/./c");
        free(s);
        s = NULL;
        ok(config_path_normalize("//a", &s) == 0 && streq(s, "/a"), "normalize //a");
        free(s);
        s = NULL;
        ok(config_path_normalize("a/b", &s) == -EINVAL && !s, "relative refused");
        ok(config_path_normalize("/a/../b", &s) == -EINVAL && !s, "\"..\" refused");
        ok(config_path_normalize("/a/", &s) == -EINVAL && !s, "trailing slash refused");
        ok(config_path_normalize("/a/..b/c..", &s) == 0 && streq(s, "/a/..b/c.."), "names merely containing .. allowed");
        free(s);
}

int main(void) {
        test_seed();
        test_valid_forms();
        test_document_errors();
        test_key_errors();
        test_type_errors();
        test_value_errors();
        test_roles();
        test_limits();
        test_robustness();
        test_files();
        test_normalize();
        return done_testing();
}
