/* SPDX-License-Identifier: MIT */
/* A strict reader of the YAML config: libyaml events are pulled one at a time and matched against
 * small key tables; anything unexpected (unknown key, wrong type, second document, alias) stops the
 * parse with one error naming file, line, column and key. Nothing but the expected levels (top
 * mapping; health and metrics mappings; registries list; registry mapping; onRefresh list) is ever
 * entered, at most four deep, so input depth is bounded; a first pass refuses anything nested deeper
 * than CONFIG_DEPTH_MAX before the real parse. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <yaml.h>

#include "config.h"
#include "duration.h"

#define YAML_STR_TAG "tag:yaml.org,2002:str"
#define YAML_MAP_TAG "tag:yaml.org,2002:map"
#define YAML_SEQ_TAG "tag:yaml.org,2002:seq"

/* Room for a quoted, escaped and possibly shortened user value in a message. */
#define QUOTE_MAX 80
#define CONFIG_KEYS_MAX 16
/* The format needs four levels; more than this is refused before it costs libyaml any memory. */
#define CONFIG_DEPTH_MAX 16

typedef struct ConfigParser {
        yaml_parser_t yaml;
        bool yaml_initialized;
        const char *name;
        const unsigned char *data;
        size_t len;
        char *error;                    /* first error, "NAME:LINE:COL: ..." */
        Config *config;
        struct FileUse *file_uses;      /* every output file seen so far, in document order */
        size_t n_file_uses;
} ConfigParser;

/* One output file of the config, for the checks that no file is used twice (except a shared
 * dockerConfigFile). path points into p->config, which owns it. */
typedef struct FileUse {
        const char *path;
        const char *key;               /* "passwordFile", "dockerConfigFile" or "metrics.textfile" */
        yaml_mark_t mark;              /* of the value */
        size_t registry;               /* index in p->config->registries; SIZE_MAX for metrics.textfile */
} FileUse;

typedef enum ConfigValueType {
        CONFIG_SCALAR,
        CONFIG_SEQUENCE,
        CONFIG_MAPPING,
} ConfigValueType;

typedef struct ConfigKey ConfigKey;
/* Handles the value of one key; for CONFIG_SEQUENCE and CONFIG_MAPPING it must consume events up to
 * the matching end event. */
typedef int (*ConfigKeyHandler)(ConfigParser *p, const ConfigKey *k, const yaml_event_t *value, void *userdata);

struct ConfigKey {
        const char *name;
        ConfigValueType type;
        bool required;
        ConfigKeyHandler handler;
        const char *label;              /* name in messages, if not name (e.g. "health.listen") */
};

static const char *key_label(const ConfigKey *k) {
        return k->label ?: k->name;
}

/* Per-registry parse state that does not belong in Registry itself. */
typedef struct RegistryParse {
        Registry registry;
        yaml_mark_t password_file_mark, docker_config_file_mark; /* valid only with the path set */
        yaml_mark_t external_id_mark, role_session_name_mark; /* valid only with role_arn */
        yaml_mark_t on_refresh_timeout_mark;                  /* valid only with on_refresh_timeout_given */
        bool on_refresh_timeout_given;
} RegistryParse;

/* The key tables: adding a key is a line here plus its handler. */
static int parse_interval(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_concurrency(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_connect_timeout(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_request_timeout(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_refresh_margin(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_health(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_health_listen(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_metrics(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_metrics_textfile(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_registries(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_registry_id(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_region(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_password_file(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_docker_config_file(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_endpoint(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_file_mode(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_role_arn(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_external_id(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_role_session_name(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_on_refresh(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);
static int parse_on_refresh_timeout(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata);

static const ConfigKey top_keys[] = {
        { "interval",       CONFIG_SCALAR,   false, parse_interval        },
        { "registries",     CONFIG_SEQUENCE, true,  parse_registries      },
        { "concurrency",    CONFIG_SCALAR,   false, parse_concurrency     },
        { "connectTimeout", CONFIG_SCALAR,   false, parse_connect_timeout },
        { "requestTimeout", CONFIG_SCALAR,   false, parse_request_timeout },
        { "refreshMargin",  CONFIG_SCALAR,   false, parse_refresh_margin  },
        { "health",         CONFIG_MAPPING,  false, parse_health          },
        { "metrics",        CONFIG_MAPPING,  false, parse_metrics         },
};

static const ConfigKey health_keys[] = {
        { "listen", CONFIG_SCALAR, true, parse_health_listen, "health.listen" },
};

static const ConfigKey metrics_keys[] = {
        { "textfile", CONFIG_SCALAR, true, parse_metrics_textfile, "metrics.textfile" },
};

/* passwordFile and dockerConfigFile are each optional, but one of them is required (parse_registry). */
static const ConfigKey registry_keys[] = {
        { "registryId",       CONFIG_SCALAR,   true,  parse_registry_id        },
        { "region",           CONFIG_SCALAR,   true,  parse_region             },
        { "passwordFile",     CONFIG_SCALAR,   false, parse_password_file      },
        { "dockerConfigFile", CONFIG_SCALAR,   false, parse_docker_config_file },
        { "endpoint",         CONFIG_SCALAR,   false, parse_endpoint           },
        { "fileMode",         CONFIG_SCALAR,   false, parse_file_mode          },
        { "roleArn",          CONFIG_SCALAR,   false, parse_role_arn           },
        { "externalId",       CONFIG_SCALAR,   false, parse_external_id        },
        { "roleSessionName",  CONFIG_SCALAR,   false, parse_role_session_name  },
        { "onRefresh",        CONFIG_SEQUENCE, false, parse_on_refresh         },
        { "onRefreshTimeout", CONFIG_SCALAR,   false, parse_on_refresh_timeout },
};

/* Where each key belongs, for "unknown key" messages about a known key at the wrong level. */
static const struct {
        const ConfigKey *keys;
        size_t n_keys;
        const char *home;
} key_homes[] = {
        { registry_keys, ELEMENTSOF(registry_keys), "in an entry of the \"registries\" list" },
        { top_keys,      ELEMENTSOF(top_keys),      "at the top level"                       },
        { health_keys,   ELEMENTSOF(health_keys),   "in the \"health\" mapping"              },
        { metrics_keys,  ELEMENTSOF(metrics_keys),  "in the \"metrics\" mapping"             },
};

_Static_assert(ELEMENTSOF(top_keys) <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX");
_Static_assert(ELEMENTSOF(registry_keys) <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX");
_Static_assert(ELEMENTSOF(health_keys) <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX");
_Static_assert(ELEMENTSOF(metrics_keys) <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX");
_Static_assert(CONFIG_DEPTH_MAX >= 4, "the format needs four levels");

static void yaml_event_deletep(yaml_event_t *e) {
        yaml_event_delete(e);
}


static void registry_done(Registry *r) {
        free(r->registry_id);
        free(r->region);
        free(r->password_file);
        free(r->docker_config_file);
        strv_free(r->on_refresh);
        free(r->endpoint);
        free(r->role_arn);
        free(r->external_id);
        free(r->role_session_name);
        *r = (Registry) {};
}

static void registry_parse_done(RegistryParse *rp) {
        registry_done(&rp->registry);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_registries; i++)
                registry_done(&c->registries[i]);
        free(c->registries);
        free(c->health_listen);
        free(c->metrics_textfile);
        free(c->path);
        free(c);
        return NULL;
}

void config_freep(Config **c) {
        *c = config_free(*c);
}

static void config_parser_done(ConfigParser *p) {
        if (p->yaml_initialized)
                yaml_parser_delete(&p->yaml);
        free(p->error);
        free(p->file_uses);
        config_free(p->config);
}

/* Writes s (len bytes) into buf as a one-line, escaped string, shortened with "..." when long. */
static const char *escape_value(const char *s, size_t len, bool quotes, char *buf, size_t n) {
        size_t o = 0, i = 0, limit = n - 5; /* closing quote, "...", NUL */

        if (quotes)
                buf[o++] = '"';
        while (i < len) {
                unsigned char c = (unsigned char) s[i];
                size_t clen = 1, need;

                if (c == '"' || c == '\\' || c == '\n' || c == '\t' || c == '\r')
                        need = 2;
                else if (c < 0x20 || c == 0x7f)
                        need = 4;
                else if (c >= 0x80) {
                        /* Never cut a UTF-8 sequence in half. */
                        while (clen < 4 && i + clen < len && ((unsigned char) s[i + clen] & 0xc0) == 0x80)
                                clen++;
                        need = clen;
                } else
                        need = 1;
                if (o + need > limit)
                        break;

                if (need == 2) {
                        buf[o++] = '\\';
                        buf[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : (char) c;
                } else if (need == 4 && c < 0x80) {
                        snprintf(buf + o, 5, "\\x%02x", c);
                        o += 4;
                } else {
                        memcpy(buf + o, s + i, clen);
                        o += clen;
                }
                i += clen;
        }
        if (quotes)
                buf[o++] = '"';
        if (i < len) {
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o] = 0;
        return buf;
}

#define QUOTE(s, len) escape_value((s), (len), true, (char[QUOTE_MAX]) {}, QUOTE_MAX)
#define QUOTE_EVENT(e) QUOTE(scalar_value(e), scalar_length(e))

static const char *scalar_value(const yaml_event_t *e) {
        return (const char *) e->data.scalar.value;
}

static size_t scalar_length(const yaml_event_t *e) {
        return e->data.scalar.length;
}

/* YAML's null: an empty plain scalar (e.g. "key:" with nothing after it), "~" or null. */
static bool scalar_is_null(const yaml_event_t *e) {
        const char *s;

        if (e->type != YAML_SCALAR_EVENT || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || e->data.scalar.tag)
                return false;
        s = scalar_value(e);
        return streq(s, "") || streq(s, "~") || streq(s, "null") || streq(s, "Null") || streq(s, "NULL");
}

static const char *event_kind(const yaml_event_t *e) {
        switch (e->type) {
        case YAML_SCALAR_EVENT:
                return scalar_is_null(e) ? "no value" : "a string";
        case YAML_SEQUENCE_START_EVENT:
                return "a list";
        case YAML_MAPPING_START_EVENT:
                return "a mapping";
        default:
                return "something else";
        }
}

static int parser_error(ConfigParser *p, const yaml_mark_t *mark, const char *key, const char *fmt, ...) _printf_(4, 5);
static int parser_error(ConfigParser *p, const yaml_mark_t *mark, const char *key, const char *fmt, ...) {
        char msg[1024]; /* user values in it are already shortened by escape_value() */
        va_list ap;
        int r;

        if (p->error)
                return -EINVAL;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (key)
                r = asprintf(&p->error, "%s:%zu:%zu: %s: %s", p->name, mark->line + 1, mark->column + 1, key, msg);
        else
                r = asprintf(&p->error, "%s:%zu:%zu: %s", p->name, mark->line + 1, mark->column + 1, msg);
        if (r < 0) {
                p->error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

/* libyaml's reader reports a byte offset only; turn it into a line and column like its marks. */
static yaml_mark_t mark_from_offset(const ConfigParser *p, size_t offset) {
        yaml_mark_t m = {};

        for (size_t i = 0; i < offset && i < p->len; i++) {
                if (p->data[i] == '\n') {
                        m.line++;
                        m.column = 0;
                } else if ((p->data[i] & 0xc0) != 0x80)
                        m.column++;
        }
        m.index = offset;
        return m;
}

static int parser_syntax_error(ConfigParser *p, const yaml_parser_t *y) {
        yaml_mark_t m;

        switch (y->error) {
        case YAML_MEMORY_ERROR:
                return -ENOMEM;
        case YAML_READER_ERROR:
                m = mark_from_offset(p, y->problem_offset);
                if (y->problem_value >= 0)
                        return parser_error(p, &m, NULL, "invalid input: %s (#x%X)",
                                            y->problem ?: "unreadable", (unsigned) y->problem_value);
                return parser_error(p, &m, NULL, "invalid input: %s", y->problem ?: "unreadable");
        case YAML_SCANNER_ERROR:
        case YAML_PARSER_ERROR:
                if (y->context)
                        return parser_error(p, &y->problem_mark, NULL,
                                            "YAML syntax error: %s (%s at line %zu, column %zu)",
                                            y->problem ?: "unknown problem", y->context,
                                            y->context_mark.line + 1, y->context_mark.column + 1);
                return parser_error(p, &y->problem_mark, NULL, "YAML syntax error: %s",
                                    y->problem ?: "unknown problem");
        default:
                return parser_error(p, &y->mark, NULL, "YAML error: %s", y->problem ?: "unknown problem");
        }
}

/* A first pass over all events: YAML syntax errors are reported before any problem with the content
 * (which may be only a consequence of them, e.g. of bad indentation), and nesting is bounded. */
static int parser_check_syntax(ConfigParser *p) {
        yaml_parser_t y;
        unsigned depth = 0;
        int r = 0;

        if (!yaml_parser_initialize(&y))
                return -ENOMEM;
        yaml_parser_set_input_string(&y, p->data, p->len);

        for (bool done = false; !done && r >= 0;) {
                _cleanup_(yaml_event_deletep) yaml_event_t ev = {};

                if (!yaml_parser_parse(&y, &ev)) {
                        r = parser_syntax_error(p, &y);
                        break;
                }
                switch (ev.type) {
                case YAML_SEQUENCE_START_EVENT:
                case YAML_MAPPING_START_EVENT:
                        if (++depth > CONFIG_DEPTH_MAX)
                                r = parser_error(p, &ev.start_mark, NULL, "nested deeper than %d levels",
                                                 CONFIG_DEPTH_MAX);
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        depth--;
                        break;
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                default:
                        break;
                }
        }

        yaml_parser_delete(&y);
        return r;
}

/* Pulls the next event and refuses what this format never needs: aliases, anchors, custom tags and
 * NUL characters. 'key' names the value being read, for messages (NULL if none). */
static int parser_next(ConfigParser *p, yaml_event_t *ev, const char *key) {
        const char *anchor = NULL, *tag = NULL, *allowed_tag = NULL;

        if (!yaml_parser_parse(&p->yaml, ev))
                return parser_syntax_error(p, &p->yaml);

        switch (ev->type) {
        case YAML_ALIAS_EVENT:
                anchor = (const char *) ev->data.alias.anchor;
                return parser_error(p, &ev->start_mark, key, "aliases (*%s) are not supported",
                                    escape_value(anchor, strlen(anchor), false, (char[QUOTE_MAX]) {}, QUOTE_MAX));
        case YAML_SCALAR_EVENT:
                anchor = (const char *) ev->data.scalar.anchor;
                tag = (const char *) ev->data.scalar.tag;
                allowed_tag = YAML_STR_TAG;
                break;
        case YAML_SEQUENCE_START_EVENT:
                anchor = (const char *) ev->data.sequence_start.anchor;
                tag = (const char *) ev->data.sequence_start.tag;
                allowed_tag = YAML_SEQ_TAG;
                break;
        case YAML_MAPPING_START_EVENT:
                anchor = (const char *) ev->data.mapping_start.anchor;
                tag = (const char *) ev->data.mapping_start.tag;
                allowed_tag = YAML_MAP_TAG;
                break;
        default:
                return 0;
        }

        if (anchor)
                return parser_error(p, &ev->start_mark, key, "anchors (&%s) are not supported",
                                    escape_value(anchor, strlen(anchor), false, (char[QUOTE_MAX]) {}, QUOTE_MAX));
        if (tag && !streq(tag, allowed_tag)) {
                /* Show YAML's own tags as written: "!!int", not "tag:yaml.org,2002:int". */
                bool core = strncmp(tag, "tag:yaml.org,2002:", 18) == 0;
                const char *t = core ? tag + 18 : tag;

                return parser_error(p, &ev->start_mark, key, "tag %s%s is not supported here",
                                    core ? "!!" : "",
                                    escape_value(t, strlen(t), false, (char[QUOTE_MAX]) {}, QUOTE_MAX));
        }
        if (ev->type == YAML_SCALAR_EVENT && strlen(scalar_value(ev)) != scalar_length(ev))
                return parser_error(p, &ev->start_mark, key, "value contains a NUL character");
        return 0;
}

static char ascii_tolower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* Case, '-' and '_' differences only: "registryid", "registry_id", "RegistryID" → registryId. */
static bool key_similar(const char *a, const char *b) {
        for (;;) {
                while (*a == '_' || *a == '-')
                        a++;
                while (*b == '_' || *b == '-')
                        b++;
                if (!*a || !*b)
                        return !*a && !*b;
                if (ascii_tolower(*a) != ascii_tolower(*b))
                        return false;
                a++;
                b++;
        }
}

static int parser_unknown_key(ConfigParser *p, const yaml_event_t *key, const ConfigKey *keys, size_t n_keys,
                              const char *where) {
        const char *name = scalar_value(key);
        char list[256] = "";
        const char *shown;

        shown = scalar_length(key) > 0
                ? escape_value(name, scalar_length(key), false, (char[QUOTE_MAX]) {}, QUOTE_MAX)
                : "\"\"";

        for (size_t i = 0; i < n_keys; i++)
                if (key_similar(name, keys[i].name))
                        return parser_error(p, &key->start_mark, shown, "unknown key, did you mean \"%s\"?",
                                            keys[i].name);

        /* A known key at the wrong level, e.g. region at the top: say where it goes. */
        for (size_t h = 0; h < ELEMENTSOF(key_homes); h++)
                for (size_t i = 0; keys != key_homes[h].keys && i < key_homes[h].n_keys; i++)
                        if (streq(name, key_homes[h].keys[i].name))
                                return parser_error(p, &key->start_mark, shown, "unknown key %s; it belongs %s", where,
                                                    key_homes[h].home);

        for (size_t i = 0, l = 0; i < n_keys; i++) {
                int k = snprintf(list + l, sizeof(list) - l, "%s%s", i > 0 ? ", " : "", keys[i].name);
                if (k < 0 || (size_t) k >= sizeof(list) - l)
                        break;
                l += (size_t) k;
        }
        return parser_error(p, &key->start_mark, shown, "unknown key %s (expected one of: %s)", where, list);
}

/* Reads a mapping whose MAPPING_START is 'start', dispatching each key through 'keys'. 'where' says
 * where the mapping is, for messages ("at the top level", "in a registry entry"). */
static int parse_mapping(ConfigParser *p, const yaml_event_t *start, const ConfigKey *keys, size_t n_keys,
                         void *userdata, const char *where) {
        yaml_mark_t seen[CONFIG_KEYS_MAX];
        bool have[CONFIG_KEYS_MAX] = {};
        int r;

        if (n_keys > CONFIG_KEYS_MAX)
                return -E2BIG; /* programming error */

        for (;;) {
                _cleanup_(yaml_event_deletep) yaml_event_t key = {}, value = {};
                const ConfigKey *k = NULL;
                size_t i;

                r = parser_next(p, &key, NULL);
                if (r < 0)
                        return r;
                if (key.type == YAML_MAPPING_END_EVENT)
                        break;
                if (key.type != YAML_SCALAR_EVENT)
                        return parser_error(p, &key.start_mark, NULL, "keys must be plain names, got %s",
                                            event_kind(&key));

                for (i = 0; i < n_keys; i++)
                        if (streq(scalar_value(&key), keys[i].name)) {
                                k = &keys[i];
                                break;
                        }
                if (!k)
                        return parser_unknown_key(p, &key, keys, n_keys, where);
                if (have[i])
                        return parser_error(p, &key.start_mark, key_label(k),
                                            "duplicate key, first given at line %zu, column %zu",
                                            seen[i].line + 1, seen[i].column + 1);
                have[i] = true;
                seen[i] = key.start_mark;

                r = parser_next(p, &value, key_label(k));
                if (r < 0)
                        return r;

                switch (k->type) {
                case CONFIG_SCALAR:
                        if (value.type != YAML_SCALAR_EVENT)
                                return parser_error(p, &value.start_mark, key_label(k), "expected a string, got %s",
                                                    event_kind(&value));
                        if (scalar_is_null(&value))
                                return parser_error(p, &value.start_mark, key_label(k), "no value given");
                        break;
                case CONFIG_SEQUENCE:
                        if (value.type != YAML_SEQUENCE_START_EVENT)
                                return parser_error(p, &value.start_mark, key_label(k),
                                                    "expected a list, got %s (write [] for an empty list)",
                                                    event_kind(&value));
                        break;
                case CONFIG_MAPPING:
                        if (value.type != YAML_MAPPING_START_EVENT)
                                return parser_error(p, &value.start_mark, key_label(k), "expected a mapping, got %s",
                                                    event_kind(&value));
                        break;
                }

                r = k->handler(p, k, &value, userdata);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < n_keys; i++)
                if (keys[i].required && !have[i])
                        return parser_error(p, &start->start_mark, key_label(&keys[i]), "required key is missing %s",
                                            where);
        return 0;
}

/* ---- registry keys ---- */

static bool ascii_lower(char c) {
        return c >= 'a' && c <= 'z';
}

static bool ascii_digit(char c) {
        return c >= '0' && c <= '9';
}

/* ^[a-z]{2}(-[a-z]+)+-[0-9]+$ */
static bool region_is_valid(const char *s) {
        unsigned words = 0;

        if (!ascii_lower(s[0]) || !ascii_lower(s[1]))
                return false;
        s += 2;
        for (;;) {
                if (*s++ != '-')
                        return false;
                if (ascii_lower(*s)) {
                        while (ascii_lower(*s))
                                s++;
                        words++;
                } else if (ascii_digit(*s) && words > 0) {
                        while (ascii_digit(*s))
                                s++;
                        return *s == 0;
                } else
                        return false;
        }
}

static int strdup_to(char **dst, const char *s) {
        char *t = strdup(s);
        if (!t)
                return -ENOMEM;
        free(*dst);
        *dst = t;
        return 0;
}

static int parse_registry_id(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;
        const char *s = scalar_value(v);
        size_t n = 0;

        while (ascii_digit(s[n]))
                n++;
        if (n != 12 || s[n])
                return parser_error(p, &v->start_mark, k->name,
                                    "%s is not a 12-digit AWS account ID (AWS rejects it with InvalidParameterException)",
                                    QUOTE_EVENT(v));
        return strdup_to(&rp->registry.registry_id, s);
}

static int parse_region(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;

        if (!region_is_valid(scalar_value(v)))
                return parser_error(p, &v->start_mark, k->name,
                                    "%s is not an AWS region name (expected something like \"us-west-2\")",
                                    QUOTE_EVENT(v));
        return strdup_to(&rp->registry.region, scalar_value(v));
}

/* Normalizes path, or sets *reason to why it is unacceptable (a phrase following the quoted path). */
static int path_normalize_full(const char *path, char **ret, const char **reason) {
        _cleanup_free_ char *out = NULL;
        size_t len, o = 0;
        const char *s;

        *reason = NULL;
        len = strlen(path);
        if (len == 0) {
                *reason = "is empty";
                return -EINVAL;
        }
        if (path[0] != '/') {
                *reason = "is not an absolute path";
                return -EINVAL;
        }
        if (len >= PATH_MAX) {
                *reason = "is too long";
                return -EINVAL;
        }
        for (s = path; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f) {
                        *reason = "contains control characters";
                        return -EINVAL;
                }
        if (strspn(path, "/") == len) {
                *reason = "is the root directory, not a file";
                return -EINVAL;
        }
        if (path[len - 1] == '/') {
                *reason = "ends with \"/\"; it must name a file, not a directory";
                return -EINVAL;
        }

        out = malloc(len + 1);
        if (!out)
                return -ENOMEM;

        for (s = path; *s;) {
                size_t n;

                s += strspn(s, "/");
                n = strcspn(s, "/");
                if (n == 1 && s[0] == '.') {
                        if (!s[1]) {
                                *reason = "ends with \"/.\"; it must name a file, not a directory";
                                return -EINVAL;
                        }
                } else if (n == 2 && s[0] == '.' && s[1] == '.') {
                        *reason = "contains a \"..\" component";
                        return -EINVAL;
                } else if (n > NAME_MAX) {
                        *reason = "has a path component longer than 255 bytes";
                        return -EINVAL;
                } else {
                        out[o++] = '/';
                        memcpy(out + o, s, n);
                        o += n;
                }
                s += n;
        }
        out[o] = 0;

        *ret = TAKE_PTR(out);
        return 0;
}

int config_path_normalize(const char *path, char **ret) {
        const char *reason;

        if (!path || !ret)
                return -EINVAL;
        return path_normalize_full(path, ret, &reason);
}

/* The value of k as a normalized absolute path, in *ret (replacing what is there). */
static int parse_path_value(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, char **ret) {
        const char *reason = NULL;
        char *path = NULL;
        int r;

        r = path_normalize_full(scalar_value(v), &path, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return parser_error(p, &v->start_mark, key_label(k), "%s %s", QUOTE_EVENT(v), reason ?: "is invalid");

        free(*ret);
        *ret = path;
        return 0;
}

static int parse_password_file(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;
        int r;

        r = parse_path_value(p, k, v, &rp->registry.password_file);
        if (r < 0)
                return r;
        rp->password_file_mark = v->start_mark;
        return 0;
}

static int parse_docker_config_file(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;
        int r;

        r = parse_path_value(p, k, v, &rp->registry.docker_config_file);
        if (r < 0)
                return r;
        rp->docker_config_file_mark = v->start_mark;
        return 0;
}

static int parse_endpoint(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;
        const char *s = scalar_value(v), *host, *port = NULL;
        size_t n;

        for (const char *c = s; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f)
                        return parser_error(p, &v->start_mark, k->name,
                                            "%s contains whitespace or control characters", QUOTE_EVENT(v));

        if (strncmp(s, "https://", 8) == 0)
                host = s + 8;
        else if (strncmp(s, "http://", 7) == 0)
                host = s + 7;
        else
                return parser_error(p, &v->start_mark, k->name, "%s must start with \"https://\" or \"http://\"",
                                    QUOTE_EVENT(v));

        n = strcspn(host, "/?#");
        if (memchr(host, '@', n))
                return parser_error(p, &v->start_mark, k->name, "%s must not contain user information (\"@\")",
                                    QUOTE_EVENT(v));
        if (n > 0 && host[0] == '[') {
                const char *close = memchr(host, ']', n);
                if (!close || close == host + 1)
                        return parser_error(p, &v->start_mark, k->name, "%s has a malformed IPv6 address",
                                            QUOTE_EVENT(v));
                if (close + 1 < host + n) {
                        if (close[1] != ':')
                                return parser_error(p, &v->start_mark, k->name,
                                                    "%s has a malformed IPv6 address", QUOTE_EVENT(v));
                        port = close + 2;
                }
        } else {
                const char *colon = memchr(host, ':', n);
                if ((colon ? (size_t) (colon - host) : n) == 0)
                        return parser_error(p, &v->start_mark, k->name, "%s has no host name", QUOTE_EVENT(v));
                if (colon)
                        port = colon + 1;
        }
        if (port) {
                size_t pn = (size_t) (host + n - port);
                unsigned long val = 0;

                if (pn == 0 || pn > 5 || strspn(port, "0123456789") < pn)
                        return parser_error(p, &v->start_mark, k->name, "%s has an invalid port", QUOTE_EVENT(v));
                for (size_t i = 0; i < pn; i++)
                        val = val * 10 + (unsigned long) (port[i] - '0');
                if (val == 0 || val > 65535)
                        return parser_error(p, &v->start_mark, k->name, "%s has an invalid port", QUOTE_EVENT(v));
        }

        return strdup_to(&rp->registry.endpoint, s);
}

static int parse_file_mode(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;
        const char *s = scalar_value(v);
        unsigned long m = 0;
        size_t n = strlen(s);

        if (n == 0 || n > 4 || strspn(s, "01234567") != n)
                return parser_error(p, &v->start_mark, k->name, "%s is not an octal file mode like \"0640\"",
                                    QUOTE_EVENT(v));
        for (size_t i = 0; i < n; i++)
                m = m * 8 + (unsigned long) (s[i] - '0');
        if (m > 0777)
                return parser_error(p, &v->start_mark, k->name,
                                    "%s is out of range (0000 to 0777; no setuid, setgid or sticky bits)",
                                    QUOTE_EVENT(v));
        /* Group/other write and any execute bit are never right for a password file. Read access for
         * others is allowed because it has to be asked for here, explicitly. */
        if (m & 0133)
                return parser_error(p, &v->start_mark, k->name,
                                    "%s grants execute permission or write permission beyond the owner "
                                    "(use e.g. \"0640\" or \"0600\")", QUOTE_EVENT(v));

        rp->registry.file_mode = (mode_t) m;
        return 0;
}

/* Characters IAM allows in role names and paths, and in role session names: [\w+=,.@-]. */
static bool iam_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || ascii_digit(c) || c == '_' || c == '+' || c == '=' ||
               c == ',' || c == '.' || c == '@' || c == '-';
}

/* arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME, PARTITION "aws" or "aws-…" (aws-cn, aws-us-gov, …). */
static const char *role_arn_problem(const char *s) {
        const char *name;
        size_t n;

        if (strncmp(s, "arn:aws", 7) != 0)
                return "must start with \"arn:aws\"";
        s += 7;
        while (ascii_lower(*s) || *s == '-')
                s++;
        if (strncmp(s, ":iam::", 6) != 0)
                return "is not an IAM ARN (expected \"arn:aws:iam::ACCOUNT:role/NAME\")";
        s += 6;
        for (n = 0; ascii_digit(s[n]); n++)
                ;
        if (n != 12 || s[n] != ':')
                return "must have a 12-digit account ID after \"iam::\"";
        s += 13;
        if (strncmp(s, "role/", 5) != 0)
                return "is not a role ARN (expected \":role/NAME\" after the account ID)";
        s += 5;
        name = strrchr(s, '/');
        name = name ? name + 1 : s;
        if (strlen(s) > 512 + 64)
                return "is too long";
        for (const char *c = s; *c; c++)
                if (*c == '/' ? c == s || c[1] == '/' : !iam_name_char(*c))
                        return "has a role name or path with characters IAM does not allow";
        if (*name == 0 || strlen(name) > 64)
                return "must end with a role name of 1 to 64 characters";
        return NULL;
}

static int parse_role_arn(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;
        const char *problem = role_arn_problem(scalar_value(v));

        if (problem)
                return parser_error(p, &v->start_mark, k->name, "%s %s", QUOTE_EVENT(v), problem);
        return strdup_to(&rp->registry.role_arn, scalar_value(v));
}

static int parse_external_id(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;
        const char *s = scalar_value(v);
        size_t n = strlen(s);

        /* STS: 2 to 1224 characters of [\w+=,.@:/-]. */
        if (n < 2 || n > 1224)
                return parser_error(p, &v->start_mark, k->name, "must be 2 to 1224 characters long");
        for (const char *c = s; *c; c++)
                if (!iam_name_char(*c) && *c != ':' && *c != '/')
                        return parser_error(p, &v->start_mark, k->name,
                                            "may contain only letters, digits and _+=,.@:/- (STS rejects anything else)");
        rp->external_id_mark = v->start_mark;
        return strdup_to(&rp->registry.external_id, s);
}

static int parse_role_session_name(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;
        const char *s = scalar_value(v);
        size_t n = strlen(s);

        /* STS: 2 to 64 characters of [\w+=,.@-]. */
        if (n < 2 || n > 64)
                return parser_error(p, &v->start_mark, k->name, "%s must be 2 to 64 characters long", QUOTE_EVENT(v));
        for (const char *c = s; *c; c++)
                if (!iam_name_char(*c))
                        return parser_error(p, &v->start_mark, k->name,
                                            "%s may contain only letters, digits and _+=,.@- (STS rejects anything else)",
                                            QUOTE_EVENT(v));
        rp->role_session_name_mark = v->start_mark;
        return strdup_to(&rp->registry.role_session_name, s);
}

/* A Go duration between min and max; 'range' is the phrase after "it must be" in messages. */
static int parse_duration_value(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, usec_t min, usec_t max,
                                const char *range, usec_t *ret) {
        const char *s = scalar_value(v);
        usec_t u = 0;
        int r;

        if (s[0] == '-')
                return parser_error(p, &v->start_mark, key_label(k), "%s is negative; it must be %s", QUOTE_EVENT(v),
                                    range);
        r = duration_parse(s, &u);
        if (r == -ERANGE || (r >= 0 && (u < min || u > max)))
                return parser_error(p, &v->start_mark, key_label(k), "%s is out of range; it must be %s",
                                    QUOTE_EVENT(v), range);
        if (r < 0)
                return parser_error(p, &v->start_mark, key_label(k),
                                    "%s is not a duration (write e.g. \"30m\", \"1h30m\" or \"90s\"; units ns, us, ms, s, m, h)",
                                    QUOTE_EVENT(v));
        *ret = u;
        return 0;
}

/* A list of 1 to CONFIG_ON_REFRESH_ARGS_MAX strings: the program (an absolute path) and its arguments. */
static int parse_on_refresh(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;
        _cleanup_(strv_freep) char **argv = NULL;
        size_t n = 0;
        int r;

        argv = calloc(CONFIG_ON_REFRESH_ARGS_MAX + 1, sizeof(char *));
        if (!argv)
                return -ENOMEM;

        for (;;) {
                _cleanup_(yaml_event_deletep) yaml_event_t item = {};
                const char *s;

                r = parser_next(p, &item, k->name);
                if (r < 0)
                        return r;
                if (item.type == YAML_SEQUENCE_END_EVENT)
                        break;
                if (item.type != YAML_SCALAR_EVENT)
                        return parser_error(p, &item.start_mark, k->name, "each element must be a string, got %s",
                                            event_kind(&item));
                if (n >= CONFIG_ON_REFRESH_ARGS_MAX)
                        return parser_error(p, &item.start_mark, k->name, "too many elements (at most %d)",
                                            CONFIG_ON_REFRESH_ARGS_MAX);
                if (scalar_is_null(&item))
                        return parser_error(p, &item.start_mark, k->name,
                                            "element %zu has no value (quote it to pass ~ or null as an argument)", n + 1);
                s = scalar_value(&item);
                if (!*s)
                        return parser_error(p, &item.start_mark, k->name, "element %zu is empty", n + 1);
                if (n == 0 && s[0] != '/')
                        return parser_error(p, &item.start_mark, k->name,
                                            "%s is not an absolute path; the program is run without a shell or $PATH "
                                            "(write e.g. \"/usr/bin/systemctl\")", QUOTE_EVENT(&item));
                if (n == 0 && s[strlen(s) - 1] == '/')
                        return parser_error(p, &item.start_mark, k->name,
                                            "%s ends with \"/\"; it must name a program, not a directory",
                                            QUOTE_EVENT(&item));
                argv[n] = strdup(s);
                if (!argv[n])
                        return -ENOMEM;
                n++;
        }
        if (n == 0)
                return parser_error(p, &v->start_mark, k->name,
                                    "is an empty list; give the program and its arguments, e.g. "
                                    "[/usr/bin/systemctl, reload, clouddriver]");

        strv_free(rp->registry.on_refresh);
        rp->registry.on_refresh = TAKE_PTR(argv);
        return 0;
}

static int parse_on_refresh_timeout(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        RegistryParse *rp = userdata;
        int r;

        r = parse_duration_value(p, k, v, CONFIG_ON_REFRESH_TIMEOUT_MIN, CONFIG_ON_REFRESH_TIMEOUT_MAX,
                                 "between 1s and 10m", &rp->registry.on_refresh_timeout);
        if (r < 0)
                return r;
        rp->on_refresh_timeout_mark = v->start_mark;
        rp->on_refresh_timeout_given = true;
        return 0;
}

/* ---- top-level keys ---- */

static int parse_interval(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        Config *c = userdata;

        return parse_duration_value(p, k, v, CONFIG_INTERVAL_MIN, CONFIG_INTERVAL_MAX,
                                    "between 1s and 11h (ECR tokens expire after 12h)", &c->interval);
}

static int parse_connect_timeout(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        Config *c = userdata;

        return parse_duration_value(p, k, v, CONFIG_CONNECT_TIMEOUT_MIN, CONFIG_CONNECT_TIMEOUT_MAX,
                                    "between 100ms and 1m", &c->connect_timeout);
}

static int parse_request_timeout(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        Config *c = userdata;

        return parse_duration_value(p, k, v, CONFIG_REQUEST_TIMEOUT_MIN, CONFIG_REQUEST_TIMEOUT_MAX,
                                    "between 1s and 5m", &c->request_timeout);
}

static int parse_refresh_margin(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        Config *c = userdata;

        return parse_duration_value(p, k, v, CONFIG_REFRESH_MARGIN_MIN, CONFIG_REFRESH_MARGIN_MAX,
                                    "between 0s and 11h (ECR tokens expire after 12h)", &c->refresh_margin);
}

static int parse_concurrency(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        Config *c = userdata;
        const char *s = scalar_value(v);
        size_t n = strlen(s);
        unsigned u = 0;

        if (n == 0 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
                return parser_error(p, &v->start_mark, k->name,
                                    "%s is not a whole number (write e.g. 8; it must be between 1 and 64)", QUOTE_EVENT(v));
        for (size_t i = 0; i < n && u <= CONFIG_CONCURRENCY_MAX; i++)
                u = u * 10 + (unsigned) (s[i] - '0');
        if (u < CONFIG_CONCURRENCY_MIN || u > CONFIG_CONCURRENCY_MAX)
                return parser_error(p, &v->start_mark, k->name, "%s is out of range; it must be between 1 and 64",
                                    QUOTE_EVENT(v));
        c->concurrency = u;
        return 0;
}

/* Why s is not "HOST:PORT", "[IPv6]:PORT" or ":PORT" (HOST an IPv4 address or "localhost", port
 * 1..65535 in decimal without leading zeros), as a phrase following the quoted value; NULL if it is. */
static const char *listen_problem(const char *s) {
        char host[INET6_ADDRSTRLEN + 1];
        unsigned char addr[sizeof(struct in6_addr)];
        const char *port;
        unsigned long val = 0;
        size_t n;

        for (const char *c = s; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f)
                        return "contains whitespace or control characters";

        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (!close)
                        return "has a malformed IPv6 address (no closing \"]\")";
                n = (size_t) (close - s - 1);
                if (n == 0 || n >= sizeof(host))
                        return "has a malformed IPv6 address";
                memcpy(host, s + 1, n);
                host[n] = 0;
                if (inet_pton(AF_INET6, host, addr) != 1)
                        return "has a malformed IPv6 address";
                if (close[1] != ':')
                        return "has no \":PORT\" after the IPv6 address (write e.g. \"[::1]:9090\")";
                port = close + 2;
        } else {
                const char *colon = strrchr(s, ':');

                if (!colon)
                        return "has no port (write e.g. \"127.0.0.1:9090\", \"[::1]:9090\" or \":9090\")";
                n = (size_t) (colon - s);
                if (memchr(s, ':', n))
                        return "has an IPv6 address without brackets (write e.g. \"[::1]:9090\")";
                if (n > 0) {
                        if (n >= sizeof(host))
                                return "has a host that is not an IP address or \"localhost\" (names are not resolved)";
                        memcpy(host, s, n);
                        host[n] = 0;
                        if (!streq(host, "localhost") && inet_pton(AF_INET, host, addr) != 1)
                                return "has a host that is not an IP address or \"localhost\" (names are not resolved)";
                }
                port = colon + 1;
        }

        n = strlen(port);
        if (n == 0 || n > 5 || strspn(port, "0123456789") != n || port[0] == '0')
                return "has an invalid port (1 to 65535)";
        for (size_t i = 0; i < n; i++)
                val = val * 10 + (unsigned long) (port[i] - '0');
        if (val > 65535)
                return "has an invalid port (1 to 65535)";
        return NULL;
}

static int parse_health(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        return parse_mapping(p, v, health_keys, ELEMENTSOF(health_keys), userdata, "in the \"health\" mapping");
}

static int parse_health_listen(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        Config *c = userdata;
        const char *problem = listen_problem(scalar_value(v));

        if (problem)
                return parser_error(p, &v->start_mark, key_label(k), "%s %s", QUOTE_EVENT(v), problem);
        return strdup_to(&c->health_listen, scalar_value(v));
}

static int parse_metrics(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        return parse_mapping(p, v, metrics_keys, ELEMENTSOF(metrics_keys), userdata, "in the \"metrics\" mapping");
}

static int file_use_add(ConfigParser *p, const char *path, const char *key, const yaml_mark_t *mark, size_t registry);

static int parse_metrics_textfile(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        Config *c = userdata;
        size_t n;
        int r;

        r = parse_path_value(p, k, v, &c->metrics_textfile);
        if (r < 0)
                return r;
        n = strlen(c->metrics_textfile);
        /* node_exporter's textfile collector reads only files named *.prom. */
        if (n < 5 || !streq(c->metrics_textfile + n - 5, ".prom"))
                return parser_error(p, &v->start_mark, key_label(k),
                                    "%s does not end in \".prom\"; node_exporter's textfile collector reads only *.prom files",
                                    QUOTE_EVENT(v));
        return file_use_add(p, c->metrics_textfile, key_label(k), &v->start_mark, SIZE_MAX);
}

/* Refuses path if an earlier output uses it too (only registries sharing a dockerConfigFile may;
 * not two entries for the same registry, which would overwrite each other's credentials), and
 * records it. key and path must live as long as p->config. */
static int file_use_add(ConfigParser *p, const char *path, const char *key, const yaml_mark_t *mark, size_t registry) {
        const Config *c = p->config;
        FileUse *a;

        for (size_t i = 0; i < p->n_file_uses; i++) {
                const FileUse *o = &p->file_uses[i];
                const char *q;

                if (!streq(o->path, path))
                        continue;
                q = QUOTE(path, strlen(path));
                if (streq(o->key, "dockerConfigFile") && streq(key, "dockerConfigFile")) {
                        const Registry *x = &c->registries[o->registry], *y = &c->registries[registry];

                        if (streq(x->registry_id, y->registry_id) && streq(x->region, y->region))
                                return parser_error(p, mark, key,
                                                    "%s is also the dockerConfigFile at line %zu, column %zu of an entry for "
                                                    "the same registry (%s in %s); the two would overwrite each other's "
                                                    "credentials", q, o->mark.line + 1, o->mark.column + 1,
                                                    y->registry_id, y->region);
                        continue;
                }
                if (streq(o->key, "passwordFile") && streq(key, "passwordFile"))
                        return parser_error(p, mark, key,
                                            "%s is also the passwordFile at line %zu, column %zu; each registry needs its own file",
                                            q, o->mark.line + 1, o->mark.column + 1);
                return parser_error(p, mark, key,
                                    "%s is also the %s at line %zu, column %zu; one file cannot be two of a password "
                                    "file, a docker config file and the metrics textfile",
                                    q, o->key, o->mark.line + 1, o->mark.column + 1);
        }

        a = reallocarray(p->file_uses, p->n_file_uses + 1, sizeof(FileUse));
        if (!a)
                return -ENOMEM;
        p->file_uses = a;
        a[p->n_file_uses++] = (FileUse) {
                .path = path,
                .key = key,
                .mark = *mark,
                .registry = registry,
        };
        return 0;
}

/* Moves the registry into the config, then checks and records its output files in document order. */
static int config_add_registry(ConfigParser *p, RegistryParse *rp) {
        Config *c = p->config;
        Registry *a;
        size_t i;
        struct RegistryFile {
                const char *path, *key;
                const yaml_mark_t *mark;
        } files[2] = {
                { rp->registry.password_file,      "passwordFile",     &rp->password_file_mark      },
                { rp->registry.docker_config_file, "dockerConfigFile", &rp->docker_config_file_mark },
        };
        int r;

        if (files[0].path && files[1].path && files[1].mark->index < files[0].mark->index) {
                struct RegistryFile t = files[0];
                files[0] = files[1];
                files[1] = t;
        }

        a = reallocarray(c->registries, c->n_registries + 1, sizeof(Registry));
        if (!a)
                return -ENOMEM;
        c->registries = a;
        i = c->n_registries++;
        a[i] = rp->registry;
        rp->registry = (Registry) {};

        for (size_t f = 0; f < ELEMENTSOF(files); f++) {
                if (!files[f].path)
                        continue;
                /* The strings now belong to the config's copy of the registry; so do the paths. */
                r = file_use_add(p, files[f].path, files[f].key, files[f].mark, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_registry(ConfigParser *p, const yaml_event_t *start) {
        _cleanup_(registry_parse_done) RegistryParse rp = {
                .registry = {
                        .file_mode = CONFIG_FILE_MODE_DEFAULT,
                        .on_refresh_timeout = CONFIG_ON_REFRESH_TIMEOUT_DEFAULT,
                        .line = (unsigned) start->start_mark.line + 1,
                        .column = (unsigned) start->start_mark.column + 1,
                },
        };
        int r;

        r = parse_mapping(p, start, registry_keys, ELEMENTSOF(registry_keys), &rp, "in this registry entry");
        if (r < 0)
                return r;
        if (!rp.registry.password_file && !rp.registry.docker_config_file)
                return parser_error(p, &start->start_mark, NULL,
                                    "this registry entry needs passwordFile or dockerConfigFile (or both): "
                                    "where to write the password");
        if (!rp.registry.role_arn && rp.registry.external_id)
                return parser_error(p, &rp.external_id_mark, "externalId", "only applies together with roleArn");
        if (!rp.registry.role_arn && rp.registry.role_session_name)
                return parser_error(p, &rp.role_session_name_mark, "roleSessionName", "only applies together with roleArn");
        if (!rp.registry.on_refresh && rp.on_refresh_timeout_given)
                return parser_error(p, &rp.on_refresh_timeout_mark, "onRefreshTimeout", "only applies together with onRefresh");

        return config_add_registry(p, &rp);
}

static int parse_registries(ConfigParser *p, const ConfigKey *k, const yaml_event_t *v, void *userdata) {
        int r;

        for (;;) {
                _cleanup_(yaml_event_deletep) yaml_event_t item = {};

                r = parser_next(p, &item, k->name);
                if (r < 0)
                        return r;
                if (item.type == YAML_SEQUENCE_END_EVENT)
                        return 0;
                if (item.type != YAML_MAPPING_START_EVENT)
                        return parser_error(p, &item.start_mark, k->name,
                                            "each entry must be a mapping with registryId, region and passwordFile or "
                                            "dockerConfigFile, got %s",
                                            event_kind(&item));
                if (p->config->n_registries >= CONFIG_REGISTRIES_MAX)
                        return parser_error(p, &item.start_mark, k->name, "too many entries (at most %d)",
                                            CONFIG_REGISTRIES_MAX);

                r = parse_registry(p, &item);
                if (r < 0)
                        return r;
        }
}

/* stream-start, one document holding one mapping, stream-end. */
static int parse_stream(ConfigParser *p) {
        int r;

        {
                _cleanup_(yaml_event_deletep) yaml_event_t ev = {};
                r = parser_next(p, &ev, NULL);
                if (r < 0)
                        return r;
                if (ev.type != YAML_STREAM_START_EVENT)
                        return parser_error(p, &ev.start_mark, NULL, "unexpected YAML event");
        }
        {
                _cleanup_(yaml_event_deletep) yaml_event_t ev = {};
                r = parser_next(p, &ev, NULL);
                if (r < 0)
                        return r;
                if (ev.type == YAML_STREAM_END_EVENT)
                        return parser_error(p, &ev.start_mark, NULL,
                                            "configuration is empty (expected \"registries\" and optionally \"interval\")");
                if (ev.type != YAML_DOCUMENT_START_EVENT)
                        return parser_error(p, &ev.start_mark, NULL, "unexpected YAML event");
        }
        {
                _cleanup_(yaml_event_deletep) yaml_event_t ev = {};
                r = parser_next(p, &ev, NULL);
                if (r < 0)
                        return r;
                if (scalar_is_null(&ev))
                        return parser_error(p, &ev.start_mark, NULL,
                                            "configuration is empty (expected \"registries\" and optionally \"interval\")");
                if (ev.type != YAML_MAPPING_START_EVENT)
                        return parser_error(p, &ev.start_mark, NULL,
                                            "the top level must be a mapping with \"registries\" and optionally \"interval\", got %s",
                                            event_kind(&ev));
                r = parse_mapping(p, &ev, top_keys, ELEMENTSOF(top_keys), p->config, "at the top level");
                if (r < 0)
                        return r;
        }
        {
                _cleanup_(yaml_event_deletep) yaml_event_t ev = {};
                r = parser_next(p, &ev, NULL);
                if (r < 0)
                        return r;
                if (ev.type != YAML_DOCUMENT_END_EVENT)
                        return parser_error(p, &ev.start_mark, NULL, "unexpected YAML event");
        }
        {
                _cleanup_(yaml_event_deletep) yaml_event_t ev = {};
                r = parser_next(p, &ev, NULL);
                if (r < 0)
                        return r;
                if (ev.type == YAML_DOCUMENT_START_EVENT)
                        return parser_error(p, &ev.start_mark, NULL,
                                            "a second YAML document starts here; the configuration must be a single document");
                if (ev.type != YAML_STREAM_END_EVENT)
                        return parser_error(p, &ev.start_mark, NULL, "unexpected YAML event");
        }
        return 0;
}

int config_load_buffer(const char *name, const void *data, size_t len, Config **ret, char **ret_error) {
        _cleanup_(config_parser_done) ConfigParser p = {
                .name = name ?: "(config)",
                .data = data ? data : (const void *) "",
                .len = data ? len : 0,
        };
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!ret)
                return -EINVAL;

        p.config = calloc(1, sizeof(Config));
        if (!p.config)
                return -ENOMEM;
        p.config->interval = CONFIG_INTERVAL_DEFAULT;
        p.config->concurrency = CONFIG_CONCURRENCY_DEFAULT;
        p.config->connect_timeout = CONFIG_CONNECT_TIMEOUT_DEFAULT;
        p.config->request_timeout = CONFIG_REQUEST_TIMEOUT_DEFAULT;
        p.config->refresh_margin = CONFIG_REFRESH_MARGIN_DEFAULT;
        p.config->path = strdup(p.name);
        if (!p.config->path)
                return -ENOMEM;

        if (!yaml_parser_initialize(&p.yaml))
                return -ENOMEM;
        p.yaml_initialized = true;
        yaml_parser_set_input_string(&p.yaml, p.data, p.len);

        r = parser_check_syntax(&p);
        if (r >= 0)
                r = parse_stream(&p);
        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(p.error);
                return r;
        }

        *ret = TAKE_PTR(p.config);
        return 0;
}

static int config_error_errno(const char *path, int error, char **ret_error) {
        if (ret_error && asprintf(ret_error, "%s: %s", path, strerror(error)) < 0)
                *ret_error = NULL;
        return -error;
}

int config_load(const char *path, Config **ret, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        struct stat st;

        if (ret_error)
                *ret_error = NULL;
        if (!path || !ret)
                return -EINVAL;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return config_error_errno(path, errno, ret_error);
        if (fstat(fd, &st) < 0)
                return config_error_errno(path, errno, ret_error);
        if (S_ISDIR(st.st_mode))
                return config_error_errno(path, EISDIR, ret_error);

        buf = malloc(CONFIG_FILE_SIZE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, CONFIG_FILE_SIZE_MAX + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return config_error_errno(path, errno, ret_error);
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > CONFIG_FILE_SIZE_MAX) {
                        if (ret_error && asprintf(ret_error, "%s: file is larger than %d bytes", path,
                                                  CONFIG_FILE_SIZE_MAX) < 0)
                                *ret_error = NULL;
                        return -EFBIG;
                }
        }

        return config_load_buffer(path, buf, n, ret, ret_error);
}

const Registry *config_find_registry_by_file(const Config *c, const char *password_file) {
        _cleanup_free_ char *normalized = NULL;
        const char *want = password_file;

        if (!c || !password_file)
                return NULL;
        if (config_path_normalize(password_file, &normalized) >= 0)
                want = normalized;

        for (size_t i = 0; i < c->n_registries; i++)
                if (streq_ptr(c->registries[i].password_file, want))
                        return &c->registries[i];
        return NULL;
}
