/* SPDX-License-Identifier: MIT */
/* A reader for the AWS shared files (~/.aws/credentials, ~/.aws/config) that accepts and rejects
 * exactly what botocore does: botocore parses them with Python's configparser.RawConfigParser (default
 * options, strict mode) and then post-processes nested blocks (botocore/configloader.py). In detail:
 *
 *  - Lines end in \n, \r\n or a lone \r. The text must be UTF-8 (botocore fails on undecodable bytes);
 *    a NUL byte is an error (a divergence: Python would keep it in the value).
 *  - "[name]": the name is everything between the first '[' and the LAST ']' of the stripped line, NOT
 *    trimmed: "[ default ]" is the section " default ", which botocore does not treat as a profile.
 *    Text after the last ']' is ignored ("[foo] ; x" is [foo]). "[DEFAULT]" is configparser's
 *    defaults section: its keys show through in every section (ini_get() falls back to it), it is
 *    not itself a section (ini_has_section(f, "DEFAULT") is false) and may be repeated.
 *  - "key = value" or "key: value": split at the first '=' or ':', key and value stripped of
 *    whitespace (Unicode whitespace, as str.strip()). Keys are stored LOWERCASED (ASCII), like
 *    configparser's optionxform(): "AWS_Access_Key_ID" is found as "aws_access_key_id". Callers pass
 *    lowercase keys; the lookup itself is exact.
 *  - Comments: a line whose first non-blank character is '#' or ';'. There are NO inline comments:
 *    "region = us-east-1 # prod" has the value "us-east-1 # prod", as in botocore.
 *  - Continuation: a line indented deeper than the key line that started the value is appended to
 *    the value after a '\n' (stripped); blank lines inside are kept, trailing ones dropped.
 *  - Nested block (botocore's "s3 =" followed by indented "sub = value" lines): when a value is
 *    empty on its key line and continues on indented lines, it is a nested block. Every non-blank
 *    line in it must contain '=' (else error, as botocore). ini_get(f, sec, "s3") returns NULL; its
 *    entries are read as "s3.addressing_style". Sub-keys are case-sensitive and the last one wins,
 *    as in botocore. (A plain key literally named "s3.addressing_style" would shadow it.)
 *  - Errors (botocore raises ConfigParseError for all of these): a key before the first header; a
 *    line that is neither header, comment nor "key = value"; an empty key; a duplicate section
 *    (other than DEFAULT); a duplicate key in one section (case-insensitively, as keys are
 *    lowercased); a nested line without '='; invalid UTF-8; NUL. The first error is reported.
 *    Messages never quote the line itself (it may hold a secret), only section and key names.
 *
 * All strings are wiped with explicit_bzero() when freed; so are the file buffers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct IniFile IniFile;

/* Parses an AWS shared config/credentials file. Returns 0, -ENOENT if missing (also for a path that
 * is not a regular file, e.g. /dev/null, like botocore's os.path.isfile() check; -EISDIR for a
 * directory), another -errno (-EACCES, -EFBIG above 16 MiB, ...), or -EINVAL with *ret_error set to
 * "PATH:LINE: message" for a syntax error. ret_error may be NULL; it is set to NULL unless a
 * message is returned. */
int ini_load(const char *path, IniFile **ret, char **ret_error);
int ini_load_buffer(const char *name, const char *data, size_t len, IniFile **ret, char **ret_error);

/* Value of key in section, or NULL. Sections are matched exactly on the raw header text (callers pass
 * "default", "profile foo", "foo"); a key missing from the section is looked up in [DEFAULT]. */
const char *ini_get(const IniFile *f, const char *section, const char *key);
bool ini_has_section(const IniFile *f, const char *section);

/* The header of the section that botocore's build_profile_map() would use for profile NAME in a
 * *config* file (kind "profile"), or for an "sso-session" / "services" NAME: the last section, in
 * file order, whose header starts with KIND and splits (shlex, POSIX rules: quotes, backslashes) into
 * exactly two words, the second being NAME. So [profile foo], [profile   foo] and [profile "foo"] all
 * are profile foo. For kind "profile" and name "default", a bare [default] counts too (the later of
 * [default] and [profile default] wins). Returns NULL if there is none. Pass the result to ini_get().
 * For the credentials file, the section name is the profile name: use ini_get(f, name, key). */
const char *ini_config_section(const IniFile *f, const char *kind, const char *name);

IniFile *ini_free(IniFile *f); /* wipes all values (they may be secrets) with explicit_bzero before freeing */
void ini_freep(IniFile **f);
