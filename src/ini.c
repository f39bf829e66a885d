/* SPDX-License-Identifier: MIT */
/* AWS shared config/credentials files, parsed the way botocore (configparser.RawConfigParser) does.
 * See ini.h for the accepted syntax. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "ini.h"
#include "macro.h"

#define INI_FILE_MAX (16U * 1024U * 1024U)
#define DEFAULT_SECTION "DEFAULT"

typedef struct IniPair {
        char *key;
        char *value;
} IniPair;

typedef struct IniOption {
        char *key;     /* lowercased, as configparser's optionxform() */
        char *value;   /* NULL while being parsed, and for a nested block */
        IniPair *subs; /* nested block, in file order (lookups scan backwards: the last one wins) */
        size_t n_subs;
} IniOption;

typedef struct IniSection {
        char *name;
        IniOption *options;
        size_t n_options, n_allocated;
} IniSection;

struct IniFile {
        IniSection *sections;
        size_t n_sections, n_allocated;
        IniSection defaults; /* [DEFAULT] */
};

/* ---- small helpers ---- */

static char *wipe_free(char *s) {
        return secret_free(s);
}

static void section_done(IniSection *s) {
        for (size_t i = 0; i < s->n_options; i++) {
                IniOption *o = s->options + i;
                wipe_free(o->key);
                wipe_free(o->value);
                for (size_t j = 0; j < o->n_subs; j++) {
                        wipe_free(o->subs[j].key);
                        wipe_free(o->subs[j].value);
                }
                free(o->subs);
        }
        free(s->options);
        wipe_free(s->name);
        *s = (IniSection) {};
}

IniFile *ini_free(IniFile *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_sections; i++)
                section_done(f->sections + i);
        free(f->sections);
        section_done(&f->defaults);
        free(f);
        return NULL;
}

void ini_freep(IniFile **f) {
        *f = ini_free(*f);
}


/* ---- UTF-8 and Python's notion of whitespace ---- */

/* Length of a valid UTF-8 sequence at p (strict, as Python's decoder: no overlongs, surrogates or
 * code points above U+10FFFF), or 0 if invalid. p < end. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
        size_t avail = (size_t) (end - p);
        unsigned char c = p[0];

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
        if (c >= 0xe0 && c <= 0xef) {
                unsigned char lo = 0x80, hi = 0xbf;
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f;
                return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
        }
        if (c >= 0xf0 && c <= 0xf4) {
                unsigned char lo = 0x80, hi = 0xbf;
                if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f;
                return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4
                                                                                                                  : 0;
        }
        return 0;
}

/* Byte length of the whitespace character (Python's str.isspace()) that starts at p, or 0. The text
 * is valid UTF-8. */
static size_t space_at(const char *s, const char *end) {
        const unsigned char *p = (const unsigned char *) s;
        size_t avail = (size_t) (end - s);

        if (avail == 0)
                return 0;
        if ((p[0] >= 0x09 && p[0] <= 0x0d) || (p[0] >= 0x1c && p[0] <= 0x20))
                return 1;
        if (avail >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
                return 2; /* U+0085 NEL, U+00A0 NBSP */
        if (avail >= 3) {
                if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
                        return 3; /* U+1680 */
                if (p[0] == 0xe2 && p[1] == 0x80 &&
                    ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
                        return 3; /* U+2000..200A, U+2028, U+2029, U+202F */
                if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
                        return 3; /* U+205F */
                if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
                        return 3; /* U+3000 */
        }
        return 0;
}

/* Byte length of the whitespace character that ends just before end, or 0. */
static size_t space_before(const char *start, const char *end) {
        size_t avail = (size_t) (end - start);

        for (size_t n = 1; n <= 3 && n <= avail; n++)
                if (space_at(end - n, end) == n)
                        return n;
        return 0;
}

/* Python's str.splitlines() separators other than \r (which never reaches here): \n \v \f \x1c \x1d
 * \x1e U+0085 U+2028 U+2029. */
static size_t line_sep_at(const char *s, const char *end) {
        const unsigned char *p = (const unsigned char *) s;
        size_t avail = (size_t) (end - s);

        if (avail == 0)
                return 0;
        if (p[0] == '\n' || p[0] == '\v' || p[0] == '\f' || (p[0] >= 0x1c && p[0] <= 0x1e))
                return 1;
        if (avail >= 2 && p[0] == 0xc2 && p[1] == 0x85)
                return 2;
        if (avail >= 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
                return 3;
        return 0;
}

static void strip(const char **b, const char **e) {
        size_t n;
        while (*b < *e && (n = space_at(*b, *e)) > 0)
                *b += n;
        while (*e > *b && (n = space_before(*b, *e)) > 0)
                *e -= n;
}

static bool mem_eq(const char *a, size_t alen, const char *b) {
        return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

/* ---- duplicate detection: a hash set of (tag, string) ---- */

typedef struct Slot {
        const char *s; /* NULL: empty */
        size_t len, tag;
        uint64_t hash;
} Slot;

typedef struct StrSet {
        Slot *slots;
        size_t n, cap;
} StrSet;

static uint64_t hash_of(size_t tag, const char *s, size_t len) {
        uint64_t h = 1469598103934665603ULL ^ (uint64_t) tag;
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char) s[i];
                h *= 1099511628211ULL;
        }
        return h ^ (h >> 29);
}

static int strset_grow(StrSet *set) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        Slot *slots;

        if (set->cap > SIZE_MAX / 2 / sizeof(Slot))
                return -ENOMEM;
        slots = calloc(cap, sizeof(Slot));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < set->cap; i++) {
                const Slot *o = set->slots + i;
                if (!o->s)
                        continue;
                size_t j = (size_t) o->hash & (cap - 1);
                while (slots[j].s)
                        j = (j + 1) & (cap - 1);
                slots[j] = *o;
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
        return 0;
}

/* Returns 1 if added, 0 if it was there already. s must outlive the set. */
static int strset_add(StrSet *set, size_t tag, const char *s, size_t len) {
        uint64_t h = hash_of(tag, s, len);
        size_t j;
        int r;

        if ((set->n + 1) * 2 > set->cap) {
                r = strset_grow(set);
                if (r < 0)
                        return r;
        }
        for (j = (size_t) h & (set->cap - 1); set->slots[j].s; j = (j + 1) & (set->cap - 1)) {
                const Slot *o = set->slots + j;
                if (o->hash == h && o->tag == tag && o->len == len && memcmp(o->s, s, len) == 0)
                        return 0;
        }
        set->slots[j] = (Slot) { .s = s, .len = len, .tag = tag, .hash = h };
        set->n++;
        return 1;
}

/* ---- the parser ---- */

#define NO_SECTION SIZE_MAX
#define DEFAULTS_SECTION (SIZE_MAX - 1)

typedef struct Parser {
        const char *name;
        IniFile *file;
        StrSet seen;
        size_t section;     /* index, NO_SECTION or DEFAULTS_SECTION */
        bool pending;       /* an option of the current section is collecting its value */
        bool nested;        /* ... and its key line had an empty value */
        Buf value;
        size_t indent;      /* indentation of the last header or key line, in characters */
        size_t line;
        char *error;
} Parser;

static IniSection *parser_section(Parser *p) {
        if (p->section == DEFAULTS_SECTION)
                return &p->file->defaults;
        if (p->section == NO_SECTION)
                return NULL;
        return p->file->sections + p->section;
}

_printf_(2, 3) static int parser_error(Parser *p, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (asprintf(&p->error, "%s:%zu: %s", p->name, p->line, msg) < 0) {
                p->error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

/* A section or key name made safe for a message: control characters escaped, at most 64 bytes. */
static char *escape_name(const char *s, size_t len) {
        size_t n = MIN(len, (size_t) 64), o = 0;
        char *e = malloc(n * 4 + 4);

        if (!e)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c == 0x7f || c == '\'') {
                        snprintf(e + o, 5, "\\x%02x", c);
                        o += 4;
                } else
                        e[o++] = (char) c;
        }
        if (n < len) {
                while (o > 0 && ((unsigned char) e[o - 1] & 0xc0) == 0x80)
                        o--; /* do not cut a UTF-8 sequence in half */
                if (o > 0 && (unsigned char) e[o - 1] >= 0xc0)
                        o--;
                memcpy(e + o, "...", 3);
                o += 3;
        }
        e[o] = 0;
        return e;
}

static int add_pair(IniOption *o, const char *k, size_t klen, const char *v, size_t vlen) {
        IniPair *subs;
        char *key, *value;

        if (o->n_subs >= SIZE_MAX / sizeof(IniPair) - 1)
                return -ENOMEM;
        subs = realloc(o->subs, (o->n_subs + 1) * sizeof(IniPair));
        if (!subs)
                return -ENOMEM;
        o->subs = subs;
        key = strndup(k, klen);
        value = strndup(v, vlen);
        if (!key || !value) {
                wipe_free(key);
                wipe_free(value);
                return -ENOMEM;
        }
        o->subs[o->n_subs++] = (IniPair) { .key = key, .value = value };
        return 0;
}

/* Walks the lines of a nested block (botocore's _parse_nested()): each non-blank line is
 * "key = value". With o == NULL only checks the syntax. */
static int parse_nested(Parser *p, IniOption *o, const char *b, const char *e) {
        while (b < e) {
                const char *le = b, *eq, *kb, *ke, *vb, *ve;
                size_t n = 0;
                int r;

                while (le < e && (n = line_sep_at(le, e)) == 0)
                        le++;
                kb = b;
                ve = le;
                b = le + n;
                strip(&kb, &ve);
                if (kb == ve)
                        continue;
                eq = memchr(kb, '=', (size_t) (ve - kb));
                if (!eq) {
                        if (!o)
                                return parser_error(p, "line in a nested block (under a key with an empty value) "
                                                       "is not \"key = value\"");
                        continue; /* cannot happen: checked when the line was read */
                }
                if (!o)
                        continue;
                ke = eq;
                vb = eq + 1;
                strip(&kb, &ke);
                strip(&vb, &ve);
                r = add_pair(o, kb, (size_t) (ke - kb), vb, (size_t) (ve - vb));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The current option's value is complete: store it. */
static int finish_option(Parser *p) {
        IniSection *s;
        IniOption *o;
        int r = 0;

        if (!p->pending)
                return 0;
        p->pending = false;
        s = parser_section(p);
        if (!s || s->n_options == 0)
                return -EINVAL; /* cannot happen: pending implies an option in the current section */
        o = s->options + s->n_options - 1;

        /* '\n'.join(lines).rstrip(): lines are stripped, so only trailing blank lines remain to drop. */
        while (p->value.len > 0 && p->value.data[p->value.len - 1] == '\n')
                p->value.data[--p->value.len] = 0;

        if (p->value.len > 0 && p->value.data[0] == '\n')
                r = parse_nested(p, o, p->value.data, p->value.data + p->value.len);
        else if (p->value.data) {
                o->value = TAKE_PTR(p->value.data);
                p->value = (Buf) {};
        } else {
                o->value = strdup("");
                if (!o->value)
                        r = -ENOMEM;
        }
        buf_wipe(&p->value);
        return r;
}

static int add_section(Parser *p, const char *name, size_t len) {
        IniFile *f = p->file;
        _cleanup_free_ char *escaped = NULL;
        char *copy;
        int r;

        if (mem_eq(name, len, DEFAULT_SECTION)) {
                p->section = DEFAULTS_SECTION;
                return 0;
        }

        if (f->n_sections == f->n_allocated) {
                size_t n = f->n_allocated ? f->n_allocated * 2 : 8;
                IniSection *a;
                if (n > SIZE_MAX / sizeof(IniSection))
                        return -ENOMEM;
                a = realloc(f->sections, n * sizeof(IniSection));
                if (!a)
                        return -ENOMEM;
                f->sections = a;
                f->n_allocated = n;
        }
        copy = strndup(name, len);
        if (!copy)
                return -ENOMEM;
        r = strset_add(&p->seen, 0, copy, len);
        if (r <= 0) {
                wipe_free(copy);
                if (r < 0)
                        return r;
                escaped = escape_name(name, len);
                if (!escaped)
                        return -ENOMEM;
                return parser_error(p, "duplicate section [%s]", escaped);
        }
        f->sections[f->n_sections] = (IniSection) { .name = copy };
        p->section = f->n_sections++;
        return 0;
}

static int add_option(Parser *p, const char *key, size_t klen, const char *value, size_t vlen) {
        IniSection *s = parser_section(p);
        _cleanup_free_ char *escaped = NULL;
        char *copy;
        size_t tag;
        int r;

        if (!s)
                return -EINVAL; /* cannot happen: checked by the caller */

        if (s->n_options == s->n_allocated) {
                size_t n = s->n_allocated ? s->n_allocated * 2 : 8;
                IniOption *a;
                if (n > SIZE_MAX / sizeof(IniOption))
                        return -ENOMEM;
                a = realloc(s->options, n * sizeof(IniOption));
                if (!a)
                        return -ENOMEM;
                s->options = a;
                s->n_allocated = n;
        }
        copy = strndup(key, klen);
        if (!copy)
                return -ENOMEM;
        for (size_t i = 0; i < klen; i++)
                if (copy[i] >= 'A' && copy[i] <= 'Z')
                        copy[i] = (char) (copy[i] - 'A' + 'a');

        tag = p->section == DEFAULTS_SECTION ? SIZE_MAX : p->section + 1;
        r = strset_add(&p->seen, tag, copy, klen);
        if (r <= 0) {
                if (r == 0) {
                        _cleanup_free_ char *sect = escape_name(s->name ?: DEFAULT_SECTION,
                                                                strlen(s->name ?: DEFAULT_SECTION));
                        escaped = escape_name(copy, klen);
                        r = escaped && sect ? parser_error(p, "duplicate key '%s' in section [%s]", escaped, sect)
                                            : -ENOMEM;
                }
                wipe_free(copy);
                return r;
        }
        s->options[s->n_options++] = (IniOption) { .key = copy };

        buf_wipe(&p->value);
        r = buf_append(&p->value, value, vlen);
        if (r < 0)
                return r;
        p->pending = true;
        p->nested = vlen == 0;
        return 0;
}

static int parse_line(Parser *p, const char *line, const char *end) {
        const char *b = line, *e = end, *d;
        size_t indent = 0, n;
        int r;

        for (const char *c = line; c < end; c += n) {
                n = utf8_len((const unsigned char *) c, (const unsigned char *) end);
                if (n == 0)
                        return parser_error(p, "invalid UTF-8");
                if (*c == 0)
                        return parser_error(p, "NUL byte");
        }

        strip(&b, &e);
        if (b == e) {
                /* A blank line belongs to the value being collected (trailing ones are dropped). */
                if (p->pending)
                        return buf_append(&p->value, "\n", 1);
                return 0;
        }
        if (*b == '#' || *b == ';')
                return 0; /* a comment: not even a blank line of a value */

        for (const char *c = line; c < b; c += space_at(c, b))
                indent++;

        if (p->pending && indent > p->indent) {
                /* A continuation line. */
                if (p->nested) {
                        r = parse_nested(p, NULL, b, e);
                        if (r < 0)
                                return r;
                }
                r = buf_append(&p->value, "\n", 1);
                if (r < 0)
                        return r;
                return buf_append(&p->value, b, (size_t) (e - b));
        }

        p->indent = indent;
        r = finish_option(p);
        if (r < 0)
                return r;

        if (*b == '[') {
                /* "\[(?P<header>.+)\]", matched (not fullmatch) against the stripped line: greedy, so up
                 * to the last ']', with at least one character inside. */
                const char *rb = NULL;
                for (const char *c = e; c > b + 2; c--)
                        if (c[-1] == ']') {
                                rb = c - 1;
                                break;
                        }
                if (rb)
                        return add_section(p, b + 1, (size_t) (rb - b - 1));
        }

        if (p->section == NO_SECTION) {
                if (p->line == 1 && end - line >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
                        return parser_error(p, "file starts with a UTF-8 byte order mark, which the AWS CLI "
                                               "rejects too; save the file without it");
                return parser_error(p, "expected a [section] header before the first key");
        }

        for (d = b; d < e && *d != '=' && *d != ':'; d++)
                ;
        if (d == e)
                return parser_error(p, "expected \"key = value\", a [section] header or a comment");

        const char *kb = b, *ke = d, *vb = d + 1, *ve = e;
        strip(&kb, &ke);
        strip(&vb, &ve);
        if (kb == ke)
                return parser_error(p, "empty key name before '%c'", *d);
        return add_option(p, kb, (size_t) (ke - kb), vb, (size_t) (ve - vb));
}

static int parse(Parser *p, const char *data, size_t len) {
        const char *c = data, *end = data + len;
        int r;

        while (c < end) {
                const char *le = c;
                while (le < end && *le != '\n' && *le != '\r')
                        le++;
                p->line++;
                r = parse_line(p, c, le);
                if (r < 0)
                        return r;
                /* Universal newlines, as Python's text files: \n, \r\n or a lone \r. */
                c = le;
                if (c < end && *c == '\r')
                        c++;
                if (c < end && *c == '\n' && c - le <= 1)
                        c++;
        }
        return finish_option(p);
}

int ini_load_buffer(const char *name, const char *data, size_t len, IniFile **ret, char **ret_error) {
        Parser p = {
                .name = name ?: "(buffer)",
                .section = NO_SECTION,
        };
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!data && len > 0)
                return -EINVAL;

        p.file = calloc(1, sizeof(IniFile));
        if (!p.file)
                return -ENOMEM;

        r = parse(&p, data ?: "", len);
        buf_wipe(&p.value);
        free(p.seen.slots);
        if (r < 0) {
                ini_free(p.file);
                if (ret_error && p.error)
                        *ret_error = TAKE_PTR(p.error);
                free(p.error);
                return r;
        }
        *ret = p.file;
        return 0;
}


int ini_load(const char *path, IniFile **ret, char **ret_error) {
        _cleanup_(bufp_wipe) Buf buf = {};
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (ret_error)
                *ret_error = NULL;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOTDIR ? -ENOENT : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -ENOENT; /* botocore's os.path.isfile() check: /dev/null means "no file" */
        if (st.st_size > (off_t) INI_FILE_MAX)
                return -EFBIG;

        r = buf_reserve(&buf, (size_t) st.st_size + 1);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t n;
                if (buf.len > INI_FILE_MAX)
                        return -EFBIG;
                if (buf.cap - buf.len - 1 < 4096) {
                        r = buf_reserve(&buf, 4096);
                        if (r < 0)
                                return r;
                }
                n = read(fd, buf.data + buf.len, buf.cap - buf.len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                buf.len += (size_t) n;
                buf.data[buf.len] = 0;
        }

        return ini_load_buffer(path, buf.data, buf.len, ret, ret_error);
}

/* ---- lookups ---- */

static const IniSection *find_section(const IniFile *f, const char *name) {
        if (!f || !name)
                return NULL;
        for (size_t i = 0; i < f->n_sections; i++)
                if (streq(f->sections[i].name, name))
                        return f->sections + i;
        return NULL;
}

static const IniOption *find_option_in(const IniSection *s, const char *key, size_t len) {
        for (size_t i = 0; i < s->n_options; i++)
                if (mem_eq(key, len, s->options[i].key))
                        return s->options + i;
        return NULL;
}

/* configparser's lookup: the section's own option, else the [DEFAULT] one. */
static const IniOption *find_option(const IniFile *f, const IniSection *s, const char *key, size_t len) {
        return find_option_in(s, key, len) ?: find_option_in(&f->defaults, key, len);
}

const char *ini_get(const IniFile *f, const char *section, const char *key) {
        const IniSection *s = find_section(f, section);
        const IniOption *o;
        size_t len;

        if (!s || !key)
                return NULL;
        len = strlen(key);
        o = find_option(f, s, key, len);
        if (o && o->value)
                return o->value;

        /* "parent.sub" for a nested block; the parent may itself contain dots. */
        for (const char *dot = strchr(key, '.'); dot; dot = strchr(dot + 1, '.')) {
                o = find_option(f, s, key, (size_t) (dot - key));
                if (!o || o->value)
                        continue;
                for (size_t i = o->n_subs; i > 0; i--)
                        if (streq(o->subs[i - 1].key, dot + 1))
                                return o->subs[i - 1].value;
        }
        return NULL;
}

bool ini_has_section(const IniFile *f, const char *section) {
        return !!find_section(f, section);
}

/* Python's shlex.split(s) (POSIX mode, no comments): returns the number of words, or -EINVAL for an
 * unterminated quote or a trailing backslash. The second word is copied to *ret_second (if any). */
static int shlex_split_second(const char *s, char **ret_second) {
        _cleanup_(bufp_wipe) Buf word = {};
        enum { SPACE, WORD, SQUOTE, DQUOTE } state = SPACE;
        int n = 0, r;

        *ret_second = NULL;
        for (const char *c = s;; c++) {
                bool end_word = false;
                char ch = *c;

                switch (state) {
                case SPACE:
                case WORD:
                        if (ch == 0 || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
                                end_word = state == WORD;
                                state = SPACE;
                                break;
                        }
                        state = WORD;
                        if (ch == '\'')
                                state = SQUOTE;
                        else if (ch == '"')
                                state = DQUOTE;
                        else if (ch == '\\') {
                                if (!*++c)
                                        goto fail; /* "No escaped character" */
                                r = buf_append(&word, c, 1);
                                if (r < 0)
                                        goto fail_r;
                        } else {
                                r = buf_append(&word, c, 1);
                                if (r < 0)
                                        goto fail_r;
                        }
                        break;
                case SQUOTE:
                case DQUOTE:
                        if (ch == 0)
                                goto fail; /* "No closing quotation" */
                        if ((state == SQUOTE && ch == '\'') || (state == DQUOTE && ch == '"')) {
                                state = WORD;
                                break;
                        }
                        if (state == DQUOTE && ch == '\\') {
                                if (!c[1])
                                        goto fail;
                                if (c[1] == '"' || c[1] == '\\')
                                        c++;
                        }
                        r = buf_append(&word, c, 1);
                        if (r < 0)
                                goto fail_r;
                        break;
                }

                if (end_word) {
                        n++;
                        if (n == 2) {
                                r = buf_reserve(&word, 0);
                                if (r < 0)
                                        goto fail_r;
                                *ret_second = TAKE_PTR(word.data);
                                word = (Buf) {};
                        }
                        buf_wipe(&word);
                }
                if (ch == 0)
                        return n;
        }
fail:
        r = -EINVAL;
fail_r:
        *ret_second = wipe_free(*ret_second);
        return r;
}

/* Which kind of section build_profile_map() sees in a header. */
static const char *section_kind(const char *sect) {
        static const char *const kinds[] = { "profile", "sso-session", "services" };
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (strncmp(sect, kinds[i], strlen(kinds[i])) == 0)
                        return kinds[i];
        return NULL;
}

const char *ini_config_section(const IniFile *f, const char *kind, const char *name) {
        const char *found = NULL;

        if (!f || !kind || !name)
                return NULL;

        for (size_t i = 0; i < f->n_sections; i++) {
                const char *sect = f->sections[i].name, *k = section_kind(sect);
                _cleanup_free_ char *second = NULL;

                if (k) {
                        if (streq(k, kind) && shlex_split_second(sect, &second) == 2 && streq(second, name))
                                found = sect;
                } else if (streq(sect, "default") && streq(kind, "profile") && streq(name, "default"))
                        found = sect;
        }
        return found;
}
