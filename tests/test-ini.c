/* SPDX-License-Identifier: MIT */
/* The ~/.aws file parser against botocore's behaviour (configparser.RawConfigParser + configloader). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ini.h"
#include "macro.h"
#include "tap.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+abc/def=="

static IniFile *parse(const char *text, char **ret_error) {
        IniFile *f = NULL;
        char *error = NULL;
        int r = ini_load_buffer("test.ini", text, strlen(text), &f, &error);
        if (r < 0 && !ret_error)
                diag("parse failed: %d %s", r, error ?: "");
        if (ret_error)
                *ret_error = error;
        else
                free(error);
        return f;
}

/* Parses text, expecting a syntax error whose message is want. */
static void is_error(const char *text, const char *want, const char *name) {
        IniFile *f = NULL;
        _cleanup_free_ char *error = NULL;
        int r = ini_load_buffer("test.ini", text, strlen(text), &f, &error);
        if (!ok(r == -EINVAL && !f, "%s: -EINVAL", name))
                diag("got %d", r);
        if (!ok(streq_ptr(error, want), "%s: message", name))
                diag("got '%s'", error ?: "(null)");
        ini_free(f);
}

static char *write_temp(const char *dir, const char *name, const char *data, size_t len) {
        char *path;
        int fd;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                abort();
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, data, len) != (ssize_t) len)
                abort();
        close(fd);
        return path;
}

static void test_credentials_file(const char *dir) {
        static const char text[] = "[default]\n"
                                   "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                                   "aws_secret_access_key = " SECRET "\n"
                                   "\n"
                                   "[ci]\n"
                                   "aws_access_key_id=ASIAXXXXXXXXXXXXXXXX\n"
                                   "aws_secret_access_key=" SECRET "\n"
                                   "aws_session_token=" TOKEN "\n";
        _cleanup_free_ char *path = write_temp(dir, "credentials", text, strlen(text));
        _cleanup_free_ char *error = NULL;
        _cleanup_(ini_freep) IniFile *f = NULL;

        is_int(ini_load(path, &f, &error), 0, "credentials: loads");
        ok(!error, "credentials: no error message");
        ok(ini_has_section(f, "default"), "credentials: [default]");
        ok(ini_has_section(f, "ci"), "credentials: [ci]");
        ok(!ini_has_section(f, "profile ci"), "credentials: no [profile ci]");
        is_str(ini_get(f, "default", "aws_access_key_id"), "AKIAIOSFODNN7EXAMPLE", "credentials: default key id");
        is_str(ini_get(f, "default", "aws_secret_access_key"), SECRET, "credentials: secret with / and +");
        is_str(ini_get(f, "ci", "aws_access_key_id"), "ASIAXXXXXXXXXXXXXXXX", "credentials: ci key id");
        is_str(ini_get(f, "ci", "aws_session_token"), TOKEN, "credentials: session token with '=' and '/'");
        ok(!ini_get(f, "default", "aws_session_token"), "credentials: no token in default");
        ok(!ini_get(f, "nope", "aws_access_key_id"), "credentials: unknown section");
        ok(!ini_get(f, NULL, "aws_access_key_id"), "credentials: NULL section");
        unlink(path);
}

static void test_config_file(void) {
        _cleanup_(ini_freep) IniFile *f = parse("# ~/.aws/config\n"
                                                "[default]\n"
                                                "region = us-east-1\n"
                                                "[profile prod]\n"
                                                "role_arn = arn:aws:iam::123456789012:role/ecr\n"
                                                "source_profile = default\n"
                                                "[profile   spaced  ]\n"
                                                "region = eu-west-1\n"
                                                "[profile \"quoted name\"]\n"
                                                "region = ap-south-1\n"
                                                "[sso-session corp]\n"
                                                "sso_region = us-east-1\n"
                                                "[profile default]\n"
                                                "region = us-west-2\n",
                                                NULL);
        ok(f, "config: parses");
        is_str(ini_get(f, "profile prod", "role_arn"), "arn:aws:iam::123456789012:role/ecr", "config: value with ':'");
        is_str(ini_get(f, "profile prod", "source_profile"), "default", "config: source_profile");
        ok(!ini_has_section(f, "prod"), "config: [profile prod] is not [prod]");
        is_str(ini_get(f, "profile   spaced  ", "region"), "eu-west-1", "config: section names are not trimmed");
        ok(!ini_has_section(f, "profile spaced"), "config: ... so the exact lookup misses it");

        is_str(ini_config_section(f, "profile", "prod"), "profile prod", "config: profile prod");
        is_str(ini_config_section(f, "profile", "spaced"), "profile   spaced  ", "config: profile spaced (shlex)");
        is_str(ini_config_section(f, "profile", "quoted name"), "profile \"quoted name\"", "config: quoted profile");
        is_str(ini_config_section(f, "sso-session", "corp"), "sso-session corp", "config: sso-session");
        ok(!ini_config_section(f, "profile", "corp"), "config: an sso-session is no profile");
        ok(!ini_config_section(f, "profile", "nope"), "config: unknown profile");
        is_str(ini_config_section(f, "profile", "default"), "profile default",
               "config: the later of [default] and [profile default] wins");
}

static void test_whitespace_and_comments(void) {
        _cleanup_(ini_freep) IniFile *f = parse("; leading comment\n"
                                                "  # indented comment before any section\n"
                                                "\n"
                                                "  [default]   \n"
                                                "\tregion\t=\tus-east-1\t\n"
                                                "output=json\n"
                                                "# aws_access_key_id = commented\n"
                                                "  ; also a comment\n"
                                                "inline = us-west-2 # not a comment\n"
                                                "semi = a ;b\n"
                                                "Mixed_Case_Key = v\n"
                                                "colon: value\n"
                                                "empty =\n"
                                                "[ spaced ]\n"
                                                "x = 1\n"
                                                "[trailing] junk ; after the bracket\n"
                                                "y = 2\n",
                                                NULL);
        ok(f, "whitespace: parses");
        is_str(ini_get(f, "default", "region"), "us-east-1", "whitespace: tabs trimmed");
        is_str(ini_get(f, "default", "output"), "json", "whitespace: key=value without spaces");
        ok(!ini_get(f, "default", "aws_access_key_id"), "whitespace: comment line ignored");
        is_str(ini_get(f, "default", "inline"), "us-west-2 # not a comment", "whitespace: no inline # comments");
        is_str(ini_get(f, "default", "semi"), "a ;b", "whitespace: no inline ; comments");
        is_str(ini_get(f, "default", "mixed_case_key"), "v", "whitespace: keys are lowercased");
        ok(!ini_get(f, "default", "Mixed_Case_Key"), "whitespace: lookups are exact");
        is_str(ini_get(f, "default", "colon"), "value", "whitespace: ':' delimiter");
        is_str(ini_get(f, "default", "empty"), "", "whitespace: empty value");
        ok(ini_has_section(f, " spaced "), "whitespace: [ spaced ] keeps its spaces");
        is_str(ini_get(f, " spaced ", "x"), "1", "whitespace: value in [ spaced ]");
        is_str(ini_get(f, "trailing", "y"), "2", "whitespace: text after ']' ignored");
}

static void test_crlf(void) {
        _cleanup_(ini_freep) IniFile *f = parse("[default]\r\n"
                                                "aws_access_key_id = AKIA\r\n"
                                                "aws_secret_access_key = " SECRET "\r\n"
                                                "\r\n"
                                                "[old-mac]\r"
                                                "a = 1\r"
                                                "b = 2",
                                                NULL);
        ok(f, "crlf: parses");
        is_str(ini_get(f, "default", "aws_access_key_id"), "AKIA", "crlf: no \\r in value");
        is_str(ini_get(f, "default", "aws_secret_access_key"), SECRET, "crlf: secret");
        is_str(ini_get(f, "old-mac", "a"), "1", "crlf: lone \\r ends a line");
        is_str(ini_get(f, "old-mac", "b"), "2", "crlf: last line without newline");
}

static void test_values(void) {
        _cleanup_(ini_freep) IniFile *f = parse("[default]\n"
                                                "aws_session_token = abc==\n"
                                                "k = a=b=c\n"
                                                "j : x = y\n"
                                                "m = first\n"
                                                "  second\n"
                                                "\n"
                                                "  third\n"
                                                "\n"
                                                "n = 1\n"
                                                "u = \xc3\xa9t\xc3\xa9\xc2\xa0\n",
                                                NULL);
        ok(f, "values: parses");
        is_str(ini_get(f, "default", "aws_session_token"), "abc==", "values: trailing '='");
        is_str(ini_get(f, "default", "k"), "a=b=c", "values: split at the first '='");
        is_str(ini_get(f, "default", "j"), "x = y", "values: split at the first ':' too");
        is_str(ini_get(f, "default", "m"), "first\nsecond\n\nthird", "values: continuation lines");
        is_str(ini_get(f, "default", "n"), "1", "values: after a continuation");
        is_str(ini_get(f, "default", "u"), "\xc3\xa9t\xc3\xa9", "values: UTF-8, NBSP stripped like str.strip()");
}

static void test_nested(void) {
        _cleanup_(ini_freep) IniFile *f = parse("[profile dev]\n"
                                                "region = us-east-1\n"
                                                "s3 =\n"
                                                "  addressing_style = path\n"
                                                "  Max_Concurrent_Requests=20\n"
                                                "\n"
                                                "  # a comment inside\n"
                                                "  endpoint_url = http://x/?a=b\n"
                                                "  addressing_style = virtual\n"
                                                "output = json\n",
                                                NULL);
        ok(f, "nested: parses");
        ok(!ini_get(f, "profile dev", "s3"), "nested: the block itself has no string value");
        is_str(ini_get(f, "profile dev", "s3.addressing_style"), "virtual", "nested: last sub-key wins");
        is_str(ini_get(f, "profile dev", "s3.Max_Concurrent_Requests"), "20", "nested: sub-keys keep their case");
        is_str(ini_get(f, "profile dev", "s3.endpoint_url"), "http://x/?a=b", "nested: split at the first '='");
        is_str(ini_get(f, "profile dev", "region"), "us-east-1", "nested: key before");
        is_str(ini_get(f, "profile dev", "output"), "json", "nested: key after");
        ok(!ini_get(f, "profile dev", "s3.nope"), "nested: unknown sub-key");
        ok(!ini_get(f, "profile dev", "region.x"), "nested: a plain value has no sub-keys");

        is_error("[default]\ns3 =\n  addressing_style = path\n  bogus\n",
                 "test.ini:4: line in a nested block (under a key with an empty value) is not \"key = value\"",
                 "nested: a line without '=' is an error");
}

static void test_defaults_section(void) {
        _cleanup_(ini_freep) IniFile *f = parse("[DEFAULT]\nregion = eu-central-1\n[a]\nx = 1\n[b]\nregion = us-east-1\n",
                                                NULL);
        ok(f, "DEFAULT: parses");
        ok(!ini_has_section(f, "DEFAULT"), "DEFAULT: not a section");
        is_str(ini_get(f, "a", "region"), "eu-central-1", "DEFAULT: shows through");
        is_str(ini_get(f, "b", "region"), "us-east-1", "DEFAULT: the section wins");
        ok(!ini_get(f, "DEFAULT", "region"), "DEFAULT: no direct lookup");
}

static void test_errors(void) {
        is_error("aws_access_key_id = x\n[default]\n", "test.ini:1: expected a [section] header before the first key",
                 "error: key before any section");
        is_error("\n# c\n\nkey\n", "test.ini:4: expected a [section] header before the first key",
                 "error: line number counts blank and comment lines");
        is_error("[default]\r\nregion = x\r\n" SECRET "\r\n",
                 "test.ini:3: expected \"key = value\", a [section] header or a comment",
                 "error: no delimiter, and the line (a secret) is not quoted");
        is_error("[default]\n = x\n", "test.ini:2: empty key name before '='", "error: empty key");
        is_error("[a]\nx = 1\n[b]\n[a]\n", "test.ini:4: duplicate section [a]", "error: duplicate section");
        is_error("[a]\nRegion = 1\nregion = 2\n", "test.ini:3: duplicate key 'region' in section [a]",
                 "error: duplicate key, case-insensitively");
        is_error("\xef\xbb\xbf[default]\n",
                 "test.ini:1: file starts with a UTF-8 byte order mark, which the AWS CLI rejects too; save the "
                 "file without it",
                 "error: BOM");
        is_error("[a]\nx = \xff\n", "test.ini:2: invalid UTF-8", "error: invalid UTF-8");
        is_error("[a]\nx = \xed\xa0\x80\n", "test.ini:2: invalid UTF-8", "error: UTF-8 surrogate");

        IniFile *f = NULL;
        _cleanup_free_ char *error = NULL;
        is_int(ini_load_buffer("nul.ini", "[a]\nx = 1\0002\n", 11, &f, &error), -EINVAL, "error: NUL byte");
        is_str(error, "nul.ini:2: NUL byte", "error: NUL byte message");
        ini_free(f);

        /* Not errors. */
        f = parse("", NULL);
        ok(f && !ini_has_section(f, "default"), "empty file");
        ini_free(f);
        f = parse("[DEFAULT]\n[DEFAULT]\n", NULL);
        ok(f, "[DEFAULT] may repeat");
        ini_free(f);
        f = parse("[a]\n[]]\nx=1\n", NULL);
        ok(f && ini_get(f, "]", "x"), "[]] is the section \"]\"");
        ini_free(f);
        is_error("[a]\n[]\n", "test.ini:2: expected \"key = value\", a [section] header or a comment", "[] is no header");
}

static void test_files(const char *dir) {
        _cleanup_free_ char *missing = NULL, *error = NULL, *nodir = NULL, *bad = NULL;
        IniFile *f = NULL;

        if (asprintf(&missing, "%s/does-not-exist", dir) < 0 || asprintf(&nodir, "%s/does-not-exist/config", dir) < 0)
                abort();
        is_int(ini_load(missing, &f, &error), -ENOENT, "missing file: -ENOENT");
        ok(!f && !error, "missing file: nothing returned");
        is_int(ini_load(nodir, &f, &error), -ENOENT, "missing directory: -ENOENT");
        is_int(ini_load("/dev/null", &f, &error), -ENOENT, "/dev/null: -ENOENT, like botocore's isfile()");
        is_int(ini_load(dir, &f, &error), -EISDIR, "directory: -EISDIR");
        ok(!f && !error, "directory: nothing returned");

        bad = write_temp(dir, "bad", "[a]\nx\n", 6);
        is_int(ini_load(bad, &f, &error), -EINVAL, "syntax error in a file: -EINVAL");
        _cleanup_free_ char *want = NULL;
        if (asprintf(&want, "%s:2: expected \"key = value\", a [section] header or a comment", bad) < 0)
                abort();
        is_str(error, want, "syntax error in a file: PATH:LINE: message");
        ok(!f, "syntax error in a file: nothing returned");
        unlink(bad);

        if (geteuid() != 0) {
                _cleanup_free_ char *locked = write_temp(dir, "locked", "[a]\n", 4);
                chmod(locked, 0);
                is_int(ini_load(locked, &f, NULL), -EACCES, "unreadable file: -EACCES");
                unlink(locked);
        }
}

/* Every prefix of a realistic file must parse or fail cleanly (valgrind/ASan watch for the rest). */
static void test_prefixes(void) {
        static const char text[] = "[default]\r\nregion = us-east-1\n s3 =\n  a = b\n\n[profile x]\nk: v\n  cont\n";
        size_t good = 0;
        for (size_t n = 0; n <= sizeof(text) - 1; n++) {
                IniFile *f = NULL;
                char *error = NULL;
                if (ini_load_buffer("p", text, n, &f, &error) >= 0)
                        good++;
                ini_free(f);
                free(error);
        }
        ok(good > 0, "prefixes: %zu of %zu parse", good, sizeof(text));
}

int main(void) {
        char dir[] = "/tmp/test-ini-XXXXXX";

        if (!mkdtemp(dir))
                return 99;

        test_credentials_file(dir);
        test_config_file();
        test_whitespace_and_comments();
        test_crlf();
        test_values();
        test_nested();
        test_defaults_section();
        test_errors();
        test_files(dir);
        test_prefixes();

        rmdir(dir);
        ini_free(NULL);
        return done_testing();
}
