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

        /* The defaults of every optional key. */
        is_int(c->concurrency, 8, "default concurrency 8");
        is_int(c->concurrency, CONFIG_CONCURRENCY_DEFAULT, "CONFIG_CONCURRENCY_DEFAULT");
        is_int(c->connect_timeout, 10 * USEC_PER_SEC, "default connectTimeout 10s");
        is_int(c->request_timeout, 30 * USEC_PER_SEC, "default requestTimeout 30s");
        is_int(c->refresh_margin, USEC_PER_HOUR, "default refreshMargin 1h");
        ok(!c->health_listen, "health off by default");
        ok(!c->metrics_textfile, "metrics off by default");
        ok(!c->registries[0].docker_config_file, "no dockerConfigFile by default");
        ok(!c->registries[0].on_refresh, "no onRefresh by default");
        is_int(c->registries[0].on_refresh_timeout, 30 * USEC_PER_SEC, "default onRefreshTimeout 30s");
        ok(!c->registries[0].role_arn && !c->registries[0].external_id && !c->registries[0].role_session_name,
           "no role by default");
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
            "(expected one of: interval, registries, concurrency, connectTimeout, requestTimeout, refreshMargin, health, metrics)");
        ERR("Interval: 5m\nregistries: []\n", NAME ":1:1: Interval: unknown key, did you mean \"interval\"?", NULL);
        ERR("registries:\n  - registryid: \"123456789012\"\n", NAME ":2:5: registryid: unknown key, did you mean \"registryId\"?",
            NULL);
        ERR("registries:\n" REG1 "    password_file: /x\n", NAME ":5:5: password_file: unknown key, did you mean \"passwordFile\"?",
            NULL);
        ERR("registries:\n" REG1 "    PasswordFile: /x\n", NAME ":5:5: PasswordFile: unknown key, did you mean \"passwordFile\"?",
            NULL);
        ERR("registries:\n" REG1 "    username: AWS\n", NAME ":5:5: username: unknown key in this registry entry",
            "(expected one of: registryId, region, passwordFile, dockerConfigFile, endpoint, fileMode, roleArn, externalId, "
            "roleSessionName, onRefresh, onRefreshTimeout)");
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
            NAME ":5:7: this registry entry needs passwordFile or dockerConfigFile (or both)", NULL);
        ERR("registries: [{registryId: \"123456789012\", region: us-west-2, fileMode: \"0600\"}]\n",
            NAME ":1:14: this registry entry needs passwordFile or dockerConfigFile (or both): where to write the password",
            NULL);
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

/* concurrency, connectTimeout, requestTimeout, refreshMargin. */
static void test_tuning(void) {
        Config *c;

        c = load_ok("concurrency: 1\nconnectTimeout: 100ms\nrequestTimeout: 1s\nrefreshMargin: 0\nregistries: []\n",
                    "tuning keys at their minimum");
        if (c) {
                is_int(c->concurrency, 1, "concurrency 1");
                is_int(c->connect_timeout, 100 * USEC_PER_MSEC, "connectTimeout 100ms");
                is_int(c->request_timeout, USEC_PER_SEC, "requestTimeout 1s");
                is_int(c->refresh_margin, 0, "refreshMargin 0");
        }
        config_free(c);

        c = load_ok("registries: []\nconcurrency: \"64\"\nconnectTimeout: 1m\nrequestTimeout: 5m\nrefreshMargin: 11h\n",
                    "tuning keys at their maximum, after registries, one quoted");
        if (c) {
                is_int(c->concurrency, 64, "concurrency 64");
                is_int(c->connect_timeout, USEC_PER_MINUTE, "connectTimeout 1m");
                is_int(c->request_timeout, 5 * USEC_PER_MINUTE, "requestTimeout 5m");
                is_int(c->refresh_margin, 11 * USEC_PER_HOUR, "refreshMargin 11h");
        }
        config_free(c);

        c = load_ok("{concurrency: 16, connectTimeout: 2.5s, requestTimeout: 45s, refreshMargin: 0s, registries: []}",
                    "tuning keys in flow style");
        if (c) {
                is_int(c->concurrency, 16, "concurrency 16");
                is_int(c->connect_timeout, 2500 * USEC_PER_MSEC, "connectTimeout 2.5s");
                is_int(c->request_timeout, 45 * USEC_PER_SEC, "requestTimeout 45s");
                is_int(c->refresh_margin, 0, "refreshMargin 0s");
        }
        config_free(c);

#define TOP(kv) kv "\nregistries: []\n"
        ERR(TOP("concurrency: 0"), NAME ":1:14: concurrency: \"0\" is out of range; it must be between 1 and 64", NULL);
        ERR(TOP("concurrency: 65"), NAME ":1:14: concurrency: \"65\" is out of range; it must be between 1 and 64", NULL);
        ERR(TOP("concurrency: 99999999999999999999"), NAME ":1:14: concurrency: \"99999999999999999999\" is out of range",
            NULL);
        ERR(TOP("concurrency: -1"), NAME ":1:14: concurrency: \"-1\" is not a whole number",
            "(write e.g. 8; it must be between 1 and 64)");
        ERR(TOP("concurrency: +8"), NAME ":1:14: concurrency: \"+8\" is not a whole number", NULL);
        ERR(TOP("concurrency: 08"), NAME ":1:14: concurrency: \"08\" is not a whole number", NULL);
        ERR(TOP("concurrency: 0x10"), NAME ":1:14: concurrency: \"0x10\" is not a whole number", NULL);
        ERR(TOP("concurrency: 1.5"), NAME ":1:14: concurrency: \"1.5\" is not a whole number", NULL);
        ERR(TOP("concurrency: 8e0"), NAME ":1:14: concurrency: \"8e0\" is not a whole number", NULL);
        ERR(TOP("concurrency: \"8 \""), NAME ":1:14: concurrency: \"8 \" is not a whole number", NULL);
        ERR(TOP("concurrency: \"\""), NAME ":1:14: concurrency: \"\" is not a whole number", NULL);
        ERR(TOP("concurrency: many"), NAME ":1:14: concurrency: \"many\" is not a whole number", NULL);
        ERR(TOP("concurrency: ~"), NAME ":1:14: concurrency: no value given", NULL);
        ERR(TOP("concurrency: [8]"), NAME ":1:14: concurrency: expected a string, got a list", NULL);
        ERR(TOP("concurrency: !!int 8"), NAME ":1:14: concurrency: tag !!int is not supported here", NULL);
        ERR(TOP("concurrency: 8\nconcurrency: 9"), NAME ":2:1: concurrency: duplicate key, first given at line 1, column 1",
            NULL);
        ERR(TOP("Concurrency: 8"), NAME ":1:1: Concurrency: unknown key, did you mean \"concurrency\"?", NULL);

        ERR(TOP("connectTimeout: 99ms"), NAME ":1:17: connectTimeout: \"99ms\" is out of range; it must be between 100ms and 1m",
            NULL);
        ERR(TOP("connectTimeout: 61s"), NAME ":1:17: connectTimeout: \"61s\" is out of range; it must be between 100ms and 1m",
            NULL);
        ERR(TOP("connectTimeout: 0"), NAME ":1:17: connectTimeout: \"0\" is out of range", NULL);
        ERR(TOP("connectTimeout: -1s"), NAME ":1:17: connectTimeout: \"-1s\" is negative; it must be between 100ms and 1m",
            NULL);
        ERR(TOP("connectTimeout: 10"), NAME ":1:17: connectTimeout: \"10\" is not a duration", "(write e.g. \"30m\"");
        ERR(TOP("connectTimeout: 1d"), NAME ":1:17: connectTimeout: \"1d\" is not a duration", NULL);
        ERR(TOP("connectTimeout: {}"), NAME ":1:17: connectTimeout: expected a string, got a mapping", NULL);
        ERR(TOP("connect_timeout: 5s"), NAME ":1:1: connect_timeout: unknown key, did you mean \"connectTimeout\"?", NULL);

        ERR(TOP("requestTimeout: 999ms"), NAME ":1:17: requestTimeout: \"999ms\" is out of range; it must be between 1s and 5m",
            NULL);
        ERR(TOP("requestTimeout: 5m0.001s"), NAME ":1:17: requestTimeout: \"5m0.001s\" is out of range", NULL);
        ERR(TOP("requestTimeout: 1h"), NAME ":1:17: requestTimeout: \"1h\" is out of range", NULL);
        ERR(TOP("requestTimeout: -30s"), NAME ":1:17: requestTimeout: \"-30s\" is negative; it must be between 1s and 5m",
            NULL);
        ERR(TOP("requestTimeout: 30"), NAME ":1:17: requestTimeout: \"30\" is not a duration", NULL);
        ERR(TOP("requestTimeout:"), NAME ":1:16: requestTimeout: no value given", NULL);

        ERR(TOP("refreshMargin: 11h0m1s"),
            NAME ":1:16: refreshMargin: \"11h0m1s\" is out of range; it must be between 0s and 11h (ECR tokens expire after 12h)",
            NULL);
        ERR(TOP("refreshMargin: 12h"), NAME ":1:16: refreshMargin: \"12h\" is out of range", NULL);
        ERR(TOP("refreshMargin: 99999999999999999999h"), NAME ":1:16: refreshMargin: \"99999999999999999999h\" is out of range",
            NULL);
        ERR(TOP("refreshMargin: -1h"), NAME ":1:16: refreshMargin: \"-1h\" is negative; it must be between 0s and 11h", NULL);
        ERR(TOP("refreshMargin: \"-0s\""), NAME ":1:16: refreshMargin: \"-0s\" is negative", NULL);
        ERR(TOP("refreshMargin: 1"), NAME ":1:16: refreshMargin: \"1\" is not a duration", NULL);
        ERR(TOP("refreshMargin: 1 h"), NAME ":1:16: refreshMargin: \"1 h\" is not a duration", NULL);

        /* A top-level key inside a registry entry. */
        ERR("registries:\n" REG1 "    requestTimeout: 5s\n", NAME ":5:5: requestTimeout: unknown key in this registry entry",
            "it belongs at the top level");
}

/* health and metrics: nested mappings. */
static void test_health_metrics(void) {
        static const struct {
                const char *listen;
        } good[] = {
                { ":9090" }, { "127.0.0.1:3277" }, { "0.0.0.0:65535" }, { "localhost:1" }, { "\"[::1]:3277\"" },
                { "'[::]:80'" }, { "\"[::ffff:127.0.0.1]:8080\"" }, { "\"[2001:db8::1]:443\"" }, { "\"10.0.0.1:9100\"" },
        };
        static const struct {
                const char *listen, *text;
        } bad[] = {
                { "9090", "\"9090\" has no port (write e.g." },
                { "localhost", "\"localhost\" has no port" },
                { "example.com:80", "\"example.com:80\" has a host that is not an IP address or \"localhost\" (names are not resolved)" },
                { "Localhost:80", "\"Localhost:80\" has a host that is not an IP address" },
                { "1.2.3:80", "\"1.2.3:80\" has a host that is not" },
                { "01.2.3.4:80", "\"01.2.3.4:80\" has a host that is not" },
                { "256.0.0.1:80", "\"256.0.0.1:80\" has a host that is not" },
                { "::1:80", "\"::1:80\" has an IPv6 address without brackets (write e.g. \"[::1]:9090\")" },
                { "\"[::1]\"", "\"[::1]\" has no \":PORT\" after the IPv6 address" },
                { "\"[::1]80\"", "\"[::1]80\" has no \":PORT\" after the IPv6 address" },
                { "\"[::1:80\"", "\"[::1:80\" has a malformed IPv6 address (no closing \"]\")" },
                { "\"[]:80\"", "\"[]:80\" has a malformed IPv6 address" },
                { "\"[127.0.0.1]:80\"", "\"[127.0.0.1]:80\" has a malformed IPv6 address" },
                { "\"[fe80::1%eth0]:80\"", "\"[fe80::1%eth0]:80\" has a malformed IPv6 address" },
                { "\"[::1]:\"", "\"[::1]:\" has an invalid port (1 to 65535)" },
                { "\":\"", "\":\" has an invalid port (1 to 65535)" },
                { ":0", "\":0\" has an invalid port" },
                { ":080", "\":080\" has an invalid port" },
                { ":65536", "\":65536\" has an invalid port" },
                { ":123456", "\":123456\" has an invalid port" },
                { ":http", "\":http\" has an invalid port" },
                { ":-1", "\":-1\" has an invalid port" },
                { "\"127.0.0.1:80 \"", "\"127.0.0.1:80 \" contains whitespace or control characters" },
                { "\"\"", "\"\" has no port" },
        };
        _cleanup_(config_freep) Config *c = NULL;
        char yaml[256], want[256];

        c = load_ok("health:\n  listen: \"[::1]:3277\"\nmetrics:\n  textfile: /var/lib/node_exporter//textfile/./ecr.prom\n"
                    "registries: []\n",
                    "health and metrics");
        if (c) {
                is_str(c->health_listen, "[::1]:3277", "health.listen");
                is_str(c->metrics_textfile, "/var/lib/node_exporter/textfile/ecr.prom", "metrics.textfile normalized");
        }
        c = config_free(c);
        c = load_ok("{registries: [], metrics: {textfile: /m.prom}, health: {listen: ':9090'}}", "health and metrics, flow style");
        if (c) {
                is_str(c->health_listen, ":9090", "flow health.listen");
                is_str(c->metrics_textfile, "/m.prom", "flow metrics.textfile");
        }
        c = config_free(c);

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                snprintf(yaml, sizeof(yaml), "registries: []\nhealth:\n  listen: %s\n", good[i].listen);
                c = load_ok(yaml, good[i].listen);
                c = config_free(c);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(yaml, sizeof(yaml), "registries: []\nhealth:\n  listen: %s\n", bad[i].listen);
                snprintf(want, sizeof(want), NAME ":3:11: health.listen: %s", bad[i].text);
                ERR(yaml, want, NULL);
        }

        /* Structure of health. */
        ERR("health: {}\nregistries: []\n", NAME ":1:9: health.listen: required key is missing in the \"health\" mapping",
            NULL);
        ERR("health:\nregistries: []\n", NAME ":1:8: health: expected a mapping, got no value", NULL);
        ERR("health: :9090\nregistries: []\n", NAME ":1:9: health: expected a mapping, got a string", NULL);
        ERR("health: [\":9090\"]\nregistries: []\n", NAME ":1:9: health: expected a mapping, got a list", NULL);
        ERR("health:\n  listen:\nregistries: []\n", NAME ":2:10: health.listen: no value given", NULL);
        ERR("health:\n  listen: [\":9090\"]\nregistries: []\n", NAME ":2:11: health.listen: expected a string, got a list",
            NULL);
        ERR("health:\n  listen: {port: 80}\nregistries: []\n", NAME ":2:11: health.listen: expected a string, got a mapping",
            NULL);
        ERR("health:\n  listen: :1\n  listen: :2\nregistries: []\n",
            NAME ":3:3: health.listen: duplicate key, first given at line 2, column 3", NULL);
        ERR("health:\n  port: 80\nregistries: []\n", NAME ":2:3: port: unknown key in the \"health\" mapping",
            "(expected one of: listen)");
        ERR("health:\n  Listen: :80\nregistries: []\n", NAME ":2:3: Listen: unknown key, did you mean \"listen\"?", NULL);
        ERR("health:\n  interval: 5m\nregistries: []\n", NAME ":2:3: interval: unknown key in the \"health\" mapping",
            "it belongs at the top level");
        ERR("health:\n  textfile: /m.prom\nregistries: []\n", NAME ":2:3: textfile: unknown key in the \"health\" mapping",
            "it belongs in the \"metrics\" mapping");
        ERR("listen: :80\nregistries: []\n", NAME ":1:1: listen: unknown key at the top level; it belongs in the \"health\" mapping",
            NULL);
        ERR("registries:\n" REG1 "    listen: :80\n", NAME ":5:5: listen: unknown key in this registry entry",
            "it belongs in the \"health\" mapping");
        ERR("health: {listen: ':1'}\nhealth: {listen: ':2'}\nregistries: []\n",
            NAME ":2:1: health: duplicate key, first given at line 1, column 1", NULL);
        ERR("health: &h {listen: ':1'}\nregistries: []\n", NAME ":1:9: health: anchors (&h) are not supported", NULL);
        ERR("health: !!omap {listen: ':1'}\nregistries: []\n", NAME ":1:9: health: tag !!omap is not supported here", NULL);
        c = load_ok("health: !!map\n  listen: !!str :1\nregistries: []\n", "!!map on health, !!str on listen");
        c = config_free(c);

        /* metrics. */
#define MT(v) "registries: []\nmetrics:\n  textfile: " v "\n"
        ERR(MT("/var/lib/node_exporter/ecr.txt"),
            NAME ":3:13: metrics.textfile: \"/var/lib/node_exporter/ecr.txt\" does not end in \".prom\"; node_exporter's "
            "textfile collector reads only *.prom files", NULL);
        ERR(MT("/var/lib/prom"), NAME ":3:13: metrics.textfile: \"/var/lib/prom\" does not end in \".prom\"", NULL);
        ERR(MT("/m.PROM"), NAME ":3:13: metrics.textfile: \"/m.PROM\" does not end in \".prom\"", NULL);
        ERR(MT("m.prom"), NAME ":3:13: metrics.textfile: \"m.prom\" is not an absolute path", NULL);
        ERR(MT("/a/../m.prom"), NAME ":3:13: metrics.textfile: \"/a/../m.prom\" contains a \"..\" component", NULL);
        ERR(MT("/a.prom/"), NAME ":3:13: metrics.textfile: \"/a.prom/\" ends with \"/\"", NULL);
        ERR(MT("\"\""), NAME ":3:13: metrics.textfile: \"\" is empty", NULL);
        ERR(MT("null"), NAME ":3:13: metrics.textfile: no value given", NULL);
        ERR("metrics: {}\nregistries: []\n", NAME ":1:10: metrics.textfile: required key is missing in the \"metrics\" mapping",
            NULL);
        ERR("metrics: /m.prom\nregistries: []\n", NAME ":1:10: metrics: expected a mapping, got a string", NULL);
        ERR("metrics:\n  textFile: /m.prom\nregistries: []\n", NAME ":2:3: textFile: unknown key, did you mean \"textfile\"?",
            NULL);
        ERR("metrics:\n  listen: :80\nregistries: []\n", NAME ":2:3: listen: unknown key in the \"metrics\" mapping",
            "it belongs in the \"health\" mapping");
        ERR("metrics:\n  textfile: /m.prom\n  textfile: /n.prom\nregistries: []\n",
            NAME ":3:3: metrics.textfile: duplicate key, first given at line 2, column 3", NULL);

        /* The metrics file is no password file or docker config file, whichever comes first. */
        ERR("metrics:\n  textfile: /a/one.prom\n"
            "registries:\n  - registryId: \"123456789012\"\n    region: us-west-2\n    passwordFile: /a//one.prom\n",
            NAME ":6:19: passwordFile: \"/a/one.prom\" is also the metrics.textfile at line 2, column 13; one file cannot be "
            "two of a password file, a docker config file and the metrics textfile", NULL);
        ERR("registries:\n  - registryId: \"123456789012\"\n    region: us-west-2\n    dockerConfigFile: /a/one.prom\n"
            "metrics:\n  textfile: /a/./one.prom\n",
            NAME ":6:13: metrics.textfile: \"/a/one.prom\" is also the dockerConfigFile at line 4, column 23", NULL);
        ERR("registries:\n  - registryId: \"123456789012\"\n    region: us-west-2\n    passwordFile: /a/one.prom\n"
            "metrics: {textfile: /a/one.prom}\n",
            NAME ":5:21: metrics.textfile: \"/a/one.prom\" is also the passwordFile at line 4, column 19", NULL);
}

/* passwordFile and dockerConfigFile: at least one; no file used twice except a shared config.json. */
static void test_outputs(void) {
        _cleanup_(config_freep) Config *c = NULL;

#define REG_NOFILE(id) "  - registryId: \"" id "\"\n    region: us-west-2\n"
        c = load_ok("registries:\n"
                    REG_NOFILE("123456789012") "    dockerConfigFile: /root/.docker//config.json\n"
                    REG_NOFILE("210987654321") "    dockerConfigFile: /root/.docker/config.json\n"
                    "    passwordFile: /a/two.pass\n"
                    "  - registryId: \"123456789012\"\n    region: eu-west-1\n    dockerConfigFile: /root/.docker/config.json\n",
                    "dockerConfigFile only, shared by three registries; both outputs");
        if (c && c->n_registries == 3) {
                ok(!c->registries[0].password_file, "dockerConfigFile only: no passwordFile");
                is_str(c->registries[0].docker_config_file, "/root/.docker/config.json", "dockerConfigFile normalized");
                is_str(c->registries[1].docker_config_file, "/root/.docker/config.json", "second dockerConfigFile");
                is_str(c->registries[1].password_file, "/a/two.pass", "passwordFile alongside dockerConfigFile");
                ok(config_find_registry_by_file(c, "/a/two.pass") == &c->registries[1],
                   "find by passwordFile skips registries without one");
                ok(!config_find_registry_by_file(c, "/root/.docker/config.json"), "a dockerConfigFile is not a passwordFile");
        }
        c = config_free(c);

        c = load_ok("registries:\n" REG1 "    dockerConfigFile: /a/one.json\n"
                    "  - registryId: \"123456789012\"\n    region: us-west-2\n    passwordFile: /a/two.pass\n",
                    "one registry twice, into a passwordFile and a dockerConfigFile, and into another passwordFile");
        c = config_free(c);

#define DC(v) "registries:\n" REG1 "    dockerConfigFile: " v "\n"
        ERR(DC("config.json"), NAME ":5:23: dockerConfigFile: \"config.json\" is not an absolute path", NULL);
        ERR(DC("~/.docker/config.json"), NAME ":5:23: dockerConfigFile: \"~/.docker/config.json\" is not an absolute path", NULL);
        ERR(DC("/root/.docker/"), NAME ":5:23: dockerConfigFile: \"/root/.docker/\" ends with \"/\"", NULL);
        ERR(DC("/root/../config.json"), NAME ":5:23: dockerConfigFile: \"/root/../config.json\" contains a \"..\" component",
            NULL);
        ERR(DC("\"\""), NAME ":5:23: dockerConfigFile: \"\" is empty", NULL);
        ERR(DC("~"), NAME ":5:23: dockerConfigFile: no value given", NULL);
        ERR(DC("[/a]"), NAME ":5:23: dockerConfigFile: expected a string, got a list", NULL);
        ERR("registries:\n" REG1 "    dockerConfigFile: /a/x.json\n    dockerConfigFile: /a/y.json\n",
            NAME ":6:5: dockerConfigFile: duplicate key, first given at line 5, column 5", NULL);
        ERR("registries:\n" REG1 "    docker_config_file: /a/x.json\n",
            NAME ":5:5: docker_config_file: unknown key, did you mean \"dockerConfigFile\"?", NULL);

        /* One registry's two outputs in one file: reported at the later key. */
        ERR(DC("/a//one.pass"),
            NAME ":5:23: dockerConfigFile: \"/a/one.pass\" is also the passwordFile at line 4, column 19; one file cannot be two of",
            NULL);
        ERR("registries:\n" REG_NOFILE("123456789012") "    dockerConfigFile: /a/c.json\n    passwordFile: /a/c.json\n",
            NAME ":5:19: passwordFile: \"/a/c.json\" is also the dockerConfigFile at line 4, column 23", NULL);
        /* Across registries, in both orders. */
        ERR("registries:\n" REG1 REG_NOFILE("210987654321") "    dockerConfigFile: /a/one.pass\n",
            NAME ":7:23: dockerConfigFile: \"/a/one.pass\" is also the passwordFile at line 4, column 19", NULL);
        ERR("registries:\n" REG_NOFILE("210987654321") "    dockerConfigFile: /a/one.pass\n" REG1,
            NAME ":7:19: passwordFile: \"/a/one.pass\" is also the dockerConfigFile at line 4, column 23", NULL);
        /* The same registry twice in one config.json: the entries would overwrite each other. */
        ERR("registries:\n" REG_NOFILE("123456789012") "    dockerConfigFile: /a/c.json\n"
            REG_NOFILE("210987654321") "    dockerConfigFile: /a/c.json\n"
            REG_NOFILE("123456789012") "    dockerConfigFile: /a//c.json\n    roleArn: arn:aws:iam::123456789012:role/x\n",
            NAME ":10:23: dockerConfigFile: \"/a/c.json\" is also the dockerConfigFile at line 4, column 23 of an entry for the "
            "same registry (123456789012 in us-west-2); the two would overwrite each other's credentials", NULL);
}

/* onRefresh and onRefreshTimeout. */
static void test_on_refresh(void) {
        _cleanup_(config_freep) Config *c = NULL;
        char *yaml;
        size_t len;

        c = load_ok("registries:\n" REG1
                    "    onRefresh: [/usr/bin/systemctl, reload, \"~\", \"a b\", \"null\", \"x\\ny\"]\n"
                    "  - registryId: \"123456789012\"\n    region: us-west-2\n    passwordFile: /a/two.pass\n"
                    "    onRefreshTimeout: 10m\n"
                    "    onRefresh:\n"
                    "      - /opt/hooks/reload.sh\n",
                    "onRefresh flow and block, onRefreshTimeout before onRefresh");
        if (c && c->n_registries == 2) {
                char **a = c->registries[0].on_refresh;

                ok(a && a[0] && a[1] && a[2] && a[3] && a[4] && a[5] && !a[6], "six arguments, NULL-terminated");
                if (a && a[0] && a[1] && a[2] && a[3] && a[4] && a[5]) {
                        is_str(a[0], "/usr/bin/systemctl", "argv[0]");
                        is_str(a[1], "reload", "argv[1]");
                        is_str(a[2], "~", "quoted ~ is a string");
                        is_str(a[3], "a b", "argument with a space");
                        is_str(a[4], "null", "quoted null is a string");
                        is_str(a[5], "x\ny", "argument with a newline");
                }
                is_int(c->registries[0].on_refresh_timeout, 30 * USEC_PER_SEC, "default onRefreshTimeout 30s");
                ok(c->registries[1].on_refresh && streq(c->registries[1].on_refresh[0], "/opt/hooks/reload.sh") &&
                   !c->registries[1].on_refresh[1], "block list of one");
                is_int(c->registries[1].on_refresh_timeout, 10 * USEC_PER_MINUTE, "onRefreshTimeout 10m (maximum)");
        }
        c = config_free(c);
        c = load_ok("registries:\n" REG1 "    onRefresh: [/bin/true]\n    onRefreshTimeout: 1s\n", "onRefreshTimeout 1s");
        if (c && c->n_registries == 1)
                is_int(c->registries[0].on_refresh_timeout, USEC_PER_SEC, "onRefreshTimeout 1s (minimum)");
        c = config_free(c);

        /* 64 elements load; 65 do not. */
        yaml = malloc(4096);
        len = (size_t) sprintf(yaml, "registries:\n" REG1 "    onRefresh: [/bin/echo");
        for (int i = 1; i < 64; i++)
                len += (size_t) sprintf(yaml + len, ", a%d", i % 10);
        strcpy(yaml + len, "]\n");
        c = load_ok(yaml, "onRefresh with 64 elements");
        if (c && c->n_registries == 1) {
                size_t n = 0;
                while (c->registries[0].on_refresh[n])
                        n++;
                is_int(n, 64, "64 arguments");
        }
        c = config_free(c);
        /* Element 65 starts at column 16 + strlen("[/bin/echo") + 63 * strlen(", aN") + 2 = 280. */
        strcpy(yaml + len, ", z]\n");
        ERR(yaml, NAME ":5:280: onRefresh: too many elements (at most 64)", NULL);
        free(yaml);

#define OR(v) "registries:\n" REG1 "    onRefresh: " v "\n"
        ERR(OR("[]"), NAME ":5:16: onRefresh: is an empty list; give the program and its arguments, e.g. "
            "[/usr/bin/systemctl, reload, clouddriver]", NULL);
        ERR(OR("/usr/bin/systemctl reload clouddriver"), NAME ":5:16: onRefresh: expected a list, got a string", NULL);
        ERR(OR(""), NAME ":5:15: onRefresh: expected a list, got no value", NULL);
        ERR(OR("{a: b}"), NAME ":5:16: onRefresh: expected a list, got a mapping", NULL);
        ERR(OR("[systemctl, reload]"),
            NAME ":5:17: onRefresh: \"systemctl\" is not an absolute path; the program is run without a shell or $PATH", NULL);
        ERR(OR("[./hook.sh]"), NAME ":5:17: onRefresh: \"./hook.sh\" is not an absolute path", NULL);
        ERR(OR("[/usr/bin/]"), NAME ":5:17: onRefresh: \"/usr/bin/\" ends with \"/\"; it must name a program, not a directory",
            NULL);
        ERR(OR("[\"\"]"), NAME ":5:17: onRefresh: element 1 is empty", NULL);
        ERR(OR("[/bin/x, '']"), NAME ":5:25: onRefresh: element 2 is empty", NULL);
        ERR(OR("[/bin/x, ~]"), NAME ":5:25: onRefresh: element 2 has no value (quote it to pass ~ or null as an argument)",
            NULL);
        ERR(OR("[/bin/x, null]"), NAME ":5:25: onRefresh: element 2 has no value", NULL);
        ERR(OR("[~]"), NAME ":5:17: onRefresh: element 1 has no value", NULL);
        ERR(OR("[/bin/x, [a]]"), NAME ":5:25: onRefresh: each element must be a string, got a list", NULL);
        ERR(OR("[/bin/x, {a: b}]"), NAME ":5:25: onRefresh: each element must be a string, got a mapping", NULL);
        ERR(OR("[/bin/x, \"a\\0b\"]"), NAME ":5:25: onRefresh: value contains a NUL character", NULL);
        ERR(OR("[/bin/x, &a b]"), NAME ":5:25: onRefresh: anchors (&a) are not supported", NULL);
        ERR(OR("[/bin/x, !!int 1]"), NAME ":5:25: onRefresh: tag !!int is not supported here", NULL);
        ERR("registries:\n" REG1 "    onRefresh:\n      - /bin/x\n      -\n      - y\n",
            NAME ":7:8: onRefresh: element 2 has no value", NULL);
        ERR("registries:\n" REG1 "    onRefresh: [/bin/x]\n    onRefresh: [/bin/y]\n",
            NAME ":6:5: onRefresh: duplicate key, first given at line 5, column 5", NULL);
        ERR("registries:\n" REG1 "    on_refresh: [/bin/x]\n", NAME ":5:5: on_refresh: unknown key, did you mean \"onRefresh\"?",
            NULL);

#define ORT(v) "registries:\n" REG1 "    onRefresh: [/bin/true]\n    onRefreshTimeout: " v "\n"
        ERR(ORT("999ms"), NAME ":6:23: onRefreshTimeout: \"999ms\" is out of range; it must be between 1s and 10m", NULL);
        ERR(ORT("10m1s"), NAME ":6:23: onRefreshTimeout: \"10m1s\" is out of range; it must be between 1s and 10m", NULL);
        ERR(ORT("0"), NAME ":6:23: onRefreshTimeout: \"0\" is out of range", NULL);
        ERR(ORT("-1s"), NAME ":6:23: onRefreshTimeout: \"-1s\" is negative; it must be between 1s and 10m", NULL);
        ERR(ORT("30"), NAME ":6:23: onRefreshTimeout: \"30\" is not a duration", NULL);
        ERR(ORT("[30s]"), NAME ":6:23: onRefreshTimeout: expected a string, got a list", NULL);
        ERR("registries:\n" REG1 "    onRefreshTimeout: 1m\n",
            NAME ":5:23: onRefreshTimeout: only applies together with onRefresh", NULL);
        ERR("registries:\n" REG1 "    onRefreshTimeout: 1h\n", NAME ":5:23: onRefreshTimeout: \"1h\" is out of range", NULL);
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
                "    onRefresh: [/bin/true, a, \"b\"]\n"
                "    onRefreshTimeout: 1m\n"
                "  - {registryId: 123456789012, region: cn-north-1, passwordFile: /b, dockerConfigFile: /c.json}\n"
                "concurrency: 12\nconnectTimeout: 1s\nrequestTimeout: 40s\nrefreshMargin: 1h\n"
                "health: {listen: '[::1]:3277'}\n"
                "metrics:\n  textfile: /m.prom\n"
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
                        if (!c || c->interval < CONFIG_INTERVAL_MIN || c->interval > CONFIG_INTERVAL_MAX ||
                            c->concurrency < CONFIG_CONCURRENCY_MIN || c->concurrency > CONFIG_CONCURRENCY_MAX ||
                            c->connect_timeout < CONFIG_CONNECT_TIMEOUT_MIN || c->connect_timeout > CONFIG_CONNECT_TIMEOUT_MAX ||
                            c->request_timeout < CONFIG_REQUEST_TIMEOUT_MIN || c->request_timeout > CONFIG_REQUEST_TIMEOUT_MAX ||
                            c->refresh_margin > CONFIG_REFRESH_MARGIN_MAX)
                                bad++;
                        for (size_t k = 0; c && k < c->n_registries; k++)
                                if ((!c->registries[k].password_file && !c->registries[k].docker_config_file) ||
                                    (c->registries[k].on_refresh && c->registries[k].on_refresh[0][0] != '/') ||
                                    c->registries[k].on_refresh_timeout < CONFIG_ON_REFRESH_TIMEOUT_MIN ||
                                    c->registries[k].on_refresh_timeout > CONFIG_ON_REFRESH_TIMEOUT_MAX)
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
        if (c && c->n_registries == 3) {
                is_int(c->interval, 90 * USEC_PER_MINUTE, "full: interval 1h30m");
                is_int(c->concurrency, 4, "full: concurrency 4");
                is_int(c->connect_timeout, 5 * USEC_PER_SEC, "full: connectTimeout 5s");
                is_int(c->request_timeout, USEC_PER_MINUTE, "full: requestTimeout 1m");
                is_int(c->refresh_margin, 2 * USEC_PER_HOUR, "full: refreshMargin 2h");
                is_str(c->health_listen, "127.0.0.1:3277", "full: health.listen");
                is_str(c->metrics_textfile, "/var/lib/node_exporter/textfile_collector/ecr-token-refresh.prom",
                       "full: metrics.textfile normalized");
                is_str(c->registries[0].role_arn, "arn:aws-us-gov:iam::012345678901:role/ecr-reader", "full: roleArn");
                is_str(c->registries[0].external_id, "spinnaker-prod", "full: externalId");
                is_str(c->registries[0].role_session_name, "clouddriver", "full: roleSessionName");
                ok(c->registries[0].on_refresh && streq(c->registries[0].on_refresh[0], "/usr/bin/systemctl") &&
                   streq(c->registries[0].on_refresh[2], "clouddriver.service") && !c->registries[0].on_refresh[3],
                   "full: onRefresh");
                is_int(c->registries[0].on_refresh_timeout, USEC_PER_MINUTE, "full: onRefreshTimeout 1m");
                ok(!c->registries[0].docker_config_file, "full: no dockerConfigFile");
                is_str(c->registries[1].docker_config_file, "/var/lib/spinnaker/.docker/config.json", "full: dockerConfigFile");
                ok(!c->registries[2].password_file, "full: dockerConfigFile only");
                is_str(c->registries[2].docker_config_file, "/var/lib/spinnaker/.docker/config.json",
                       "full: shared dockerConfigFile");
                ok(c->registries[2].on_refresh && streq(c->registries[2].on_refresh[1], "eu-west-1") &&
                   !c->registries[2].on_refresh[2], "full: block onRefresh");
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
        test_tuning();
        test_health_metrics();
        test_outputs();
        test_on_refresh();
        test_limits();
        test_robustness();
        test_files();
        test_normalize();
        return done_testing();
}
