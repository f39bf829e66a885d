/* SPDX-License-Identifier: MIT */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <time.h>

#include "buf.h"
#include "macro.h"
#include "sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SHA256_LEN 32

#define new_array(t, n) ((t *) calloc((n), sizeof(t)))

static void key_wipe(uint8_t (*k)[SHA256_LEN]) {
        explicit_bzero(*k, sizeof(*k));
}

static void hex_encode(const uint8_t *d, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[d[i] >> 4];
                out[2 * i + 1] = digits[d[i] & 15];
        }
        out[2 * n] = 0;
}

static int unhex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static bool char_is_unreserved(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 7230 token characters: what a method or header name may consist of. */
static bool char_is_tchar(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool string_is_token(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (!char_is_tchar(*s))
                        return false;
        return true;
}

/* For region, service and access key id, which end up inside the '/'-separated credential scope. */
static bool string_is_scope_part(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (!char_is_unreserved(*s))
                        return false;
        return true;
}

static char ascii_tolower(char c) {
        return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* AWS URI encoding: every byte outside the RFC 3986 unreserved set becomes %XX, uppercase hex. */
static int buf_uri_encode(Buf *b, const char *s, size_t n) {
        static const char digits[] = "0123456789ABCDEF";
        int r;

        r = buf_reserve(b, n * 3);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                uint8_t c = (uint8_t) s[i];

                if (char_is_unreserved((char) c))
                        b->data[b->len++] = (char) c;
                else {
                        b->data[b->len++] = '%';
                        b->data[b->len++] = digits[c >> 4];
                        b->data[b->len++] = digits[c & 15];
                }
        }
        b->data[b->len] = 0;
        return 0;
}

/* Decodes %XX escapes; a '%' not followed by two hex digits stays literal, '+' stays '+'. */
static int buf_uri_decode(Buf *b, const char *s, size_t n) {
        int r;

        r = buf_reserve(b, n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                int hi, lo;

                if (s[i] == '%' && i + 2 < n &&
                    (hi = unhex_digit(s[i + 1])) >= 0 && (lo = unhex_digit(s[i + 2])) >= 0) {
                        b->data[b->len++] = (char) (hi << 4 | lo);
                        i += 2;
                } else
                        b->data[b->len++] = s[i];
        }
        b->data[b->len] = 0;
        return 0;
}

/* Decodes then re-encodes one query name or value, so raw and pre-encoded input canonicalize alike. */
static int query_component_canonicalize(const char *s, size_t n, char **ret) {
        _cleanup_(buf_wipe) Buf decoded = {}, encoded = {};
        int r;

        r = buf_uri_decode(&decoded, s, n);
        if (r < 0)
                return r;
        r = buf_uri_encode(&encoded, decoded.data, decoded.len);
        if (r < 0)
                return r;

        *ret = buf_steal(&encoded);
        return *ret ? 0 : -ENOMEM;
}

/* Canonical URI for services other than S3: dot segments removed, empty segments dropped, and each
 * segment URI-encoded as given. Since the path is the raw one as sent (already percent-encoded on
 * the wire), its '%' signs are encoded again: the "double encoding" the SDKs do. */
static int append_canonical_uri(Buf *b, const char *path) {
        _cleanup_free_ const char **seg = NULL;
        _cleanup_free_ size_t *seg_len = NULL;
        size_t n = 0, max = 1;
        bool trailing_slash = false;
        int r;

        for (const char *p = path; *p; p++)
                if (*p == '/')
                        max++;
        seg = new_array(const char *, max);
        seg_len = new_array(size_t, max);
        if (!seg || !seg_len)
                return -ENOMEM;

        for (const char *p = path; *p;) {
                size_t l;

                if (*p == '/') {
                        trailing_slash = true;
                        p++;
                        continue;
                }

                l = strcspn(p, "/");
                if (l == 1 && p[0] == '.')
                        trailing_slash = true;
                else if (l == 2 && p[0] == '.' && p[1] == '.') {
                        if (n > 0)
                                n--;
                        trailing_slash = true;
                } else {
                        seg[n] = p;
                        seg_len[n++] = l;
                        trailing_slash = false;
                }
                p += l;
        }

        r = buf_putc(b, '/');
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = buf_uri_encode(b, seg[i], seg_len[i]);
                if (r < 0)
                        return r;
                if (i + 1 < n || trailing_slash) {
                        r = buf_putc(b, '/');
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

typedef struct QueryParam {
        char *name, *value;
} QueryParam;

typedef struct QueryParams {
        QueryParam *items;
        size_t n;
} QueryParams;

static void query_params_done(QueryParams *q) {
        for (size_t i = 0; i < q->n; i++) {
                free(q->items[i].name);
                secret_free(q->items[i].value);
        }
        free(q->items);
        *q = (QueryParams) {};
}

static int query_param_compare(const void *a, const void *b) {
        const QueryParam *x = a, *y = b;
        int c;

        c = strcmp(x->name, y->name);
        return c != 0 ? c : strcmp(x->value, y->value);
}

/* Parameters split on '&' (empty ones skipped), each name and value canonicalized, a parameter
 * without '=' given an empty value, sorted by name then value (byte order of the encoded form). */
static int append_canonical_query(Buf *b, const char *query) {
        _cleanup_(query_params_done) QueryParams q = {};
        size_t max = 1;
        int r;

        if (isempty(query))
                return 0;

        for (const char *p = query; *p; p++)
                if (*p == '&')
                        max++;
        q.items = new_array(QueryParam, max);
        if (!q.items)
                return -ENOMEM;

        for (const char *p = query; *p;) {
                size_t l = strcspn(p, "&"), name_len;
                const char *eq;
                QueryParam *qp;

                if (l == 0) {
                        p++;
                        continue;
                }

                eq = memchr(p, '=', l);
                name_len = eq ? (size_t) (eq - p) : l;

                qp = &q.items[q.n];
                *qp = (QueryParam) {};
                q.n++;
                r = query_component_canonicalize(p, name_len, &qp->name);
                if (r < 0)
                        return r;
                if (eq)
                        r = query_component_canonicalize(eq + 1, l - name_len - 1, &qp->value);
                else
                        r = query_component_canonicalize("", 0, &qp->value);
                if (r < 0)
                        return r;

                p += l;
                if (*p == '&')
                        p++;
        }

        qsort(q.items, q.n, sizeof(QueryParam), query_param_compare);

        for (size_t i = 0; i < q.n; i++) {
                if (i > 0) {
                        r = buf_putc(b, '&');
                        if (r < 0)
                                return r;
                }
                r = buf_puts(b, q.items[i].name);
                if (r < 0)
                        return r;
                r = buf_putc(b, '=');
                if (r < 0)
                        return r;
                r = buf_puts(b, q.items[i].value);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Trimall per line: leading and trailing blanks dropped, inner runs of blanks made one space. The
 * lines of a folded (multi-line) value are joined with ',', as the AWS test suite expects. */
static int header_value_canonicalize(const char *v, char **ret) {
        _cleanup_(buf_wipe) Buf b = {};
        bool first_line = true;
        int r;

        r = buf_reserve(&b, strlen(v));
        if (r < 0)
                return r;

        for (const char *p = v;;) {
                size_t l = strcspn(p, "\r\n");
                bool wrote = false, pending_space = false;

                for (size_t i = 0; i < l; i++) {
                        if (p[i] == ' ' || p[i] == '\t') {
                                pending_space = wrote;
                                continue;
                        }
                        if (!wrote && !first_line)
                                b.data[b.len++] = ',';
                        if (pending_space)
                                b.data[b.len++] = ' ';
                        b.data[b.len++] = p[i];
                        wrote = true;
                        pending_space = false;
                }
                if (wrote)
                        first_line = false;

                p += l;
                if (!*p)
                        break;
                p++;
        }
        b.data[b.len] = 0;

        *ret = buf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

static bool header_value_is_valid(const char *v) {
        for (; *v; v++) {
                uint8_t c = (uint8_t) *v;

                if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
                        return false;
        }
        return true;
}

typedef struct CanonHeader {
        char *name;   /* lowercased */
        char *value;  /* trimmed and folded */
        size_t index; /* position in the input, so equal names keep their order */
} CanonHeader;

typedef struct CanonHeaders {
        CanonHeader *items;
        size_t n;
} CanonHeaders;

static void canon_headers_done(CanonHeaders *h) {
        for (size_t i = 0; i < h->n; i++) {
                free(h->items[i].name);
                secret_free(h->items[i].value);
        }
        free(h->items);
        *h = (CanonHeaders) {};
}

static int canon_header_compare(const void *a, const void *b) {
        const CanonHeader *x = a, *y = b;
        int c;

        c = strcmp(x->name, y->name);
        if (c != 0)
                return c;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Appends "name:value\n" for each distinct lowercased name in order, repeated names merged with ','
 * in the order given, and fills signed_headers with "name;name...". Insists on exactly one host and
 * one x-amz-date header, the latter equal to amz_date. */
static int append_canonical_headers(Buf *b, Buf *signed_headers, const Sigv4Header *headers, size_t n_headers,
                                    const char *amz_date) {
        _cleanup_(canon_headers_done) CanonHeaders h = {};
        unsigned n_host = 0, n_date = 0;
        int r;

        if (n_headers == 0)
                return -EINVAL;

        h.items = new_array(CanonHeader, n_headers);
        if (!h.items)
                return -ENOMEM;

        for (size_t i = 0; i < n_headers; i++) {
                CanonHeader *c = &h.items[h.n];

                if (!string_is_token(headers[i].name) || !headers[i].value ||
                    !header_value_is_valid(headers[i].value))
                        return -EINVAL;

                *c = (CanonHeader) { .index = i };
                h.n++;

                c->name = strdup(headers[i].name);
                if (!c->name)
                        return -ENOMEM;
                for (char *p = c->name; *p; p++)
                        *p = ascii_tolower(*p);

                r = header_value_canonicalize(headers[i].value, &c->value);
                if (r < 0)
                        return r;

                if (streq(c->name, "host"))
                        n_host++;
                else if (streq(c->name, "x-amz-date")) {
                        if (!streq(c->value, amz_date))
                                return -EINVAL;
                        n_date++;
                }
        }
        if (n_host != 1 || n_date != 1)
                return -EINVAL;

        qsort(h.items, h.n, sizeof(CanonHeader), canon_header_compare);

        for (size_t i = 0; i < h.n; i++) {
                bool same = i > 0 && streq(h.items[i].name, h.items[i - 1].name);

                if (same)
                        r = buf_putc(b, ',');
                else {
                        if (i > 0) {
                                r = buf_putc(b, '\n');
                                if (r < 0)
                                        return r;
                                r = buf_putc(signed_headers, ';');
                                if (r < 0)
                                        return r;
                        }
                        r = buf_puts(signed_headers, h.items[i].name);
                        if (r < 0)
                                return r;
                        r = buf_puts(b, h.items[i].name);
                        if (r < 0)
                                return r;
                        r = buf_putc(b, ':');
                }
                if (r < 0)
                        return r;
                r = buf_puts(b, h.items[i].value);
                if (r < 0)
                        return r;
        }
        return buf_putc(b, '\n');
}

static int hmac_sha256(const void *key, size_t key_len, const char *data, size_t len, uint8_t ret[SHA256_LEN]) {
        if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, key_len, data, len, ret) < 0)
                return -EIO;
        return 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
static int derive_signing_key(const char *secret, const char *date, const char *region, const char *service,
                              uint8_t ret[SHA256_LEN]) {
        _cleanup_secret_ char *k_secret = NULL;
        _cleanup_(key_wipe) uint8_t k_date[SHA256_LEN] = {};
        _cleanup_(key_wipe) uint8_t k_region[SHA256_LEN] = {};
        _cleanup_(key_wipe) uint8_t k_service[SHA256_LEN] = {};
        size_t l = strlen(secret);
        int r;

        k_secret = malloc(l + 5);
        if (!k_secret)
                return -ENOMEM;
        memcpy(k_secret, "AWS4", 4);
        memcpy(k_secret + 4, secret, l + 1);

        r = hmac_sha256(k_secret, l + 4, date, strlen(date), k_date);
        if (r < 0)
                return r;
        r = hmac_sha256(k_date, SHA256_LEN, region, strlen(region), k_region);
        if (r < 0)
                return r;
        r = hmac_sha256(k_region, SHA256_LEN, service, strlen(service), k_service);
        if (r < 0)
                return r;
        return hmac_sha256(k_service, SHA256_LEN, "aws4_request", strlen("aws4_request"), ret);
}

static bool time_is_signable(time_t t) {
        struct tm tm;

        return gmtime_r(&t, &tm) && tm.tm_year >= 1000 - 1900 && tm.tm_year <= 9999 - 1900;
}

void sigv4_format_amz_date(time_t t, char buf[static 17]) {
        struct tm tm;

        if (!time_is_signable(t) || !gmtime_r(&t, &tm) || strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
                memcpy(buf, "00000000T000000Z", 17);
}

int sigv4_sha256_hex(const void *data, size_t len, char hex[static 65]) {
        uint8_t d[SHA256_LEN];

        if (!data && len > 0)
                return -EINVAL;
        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data ?: "", len, d) < 0)
                return -EIO;
        hex_encode(d, sizeof(d), hex);
        return 0;
}

int sigv4_sign(const Sigv4Input *in, char **ret_authorization, char **ret_canonical_request, char **ret_string_to_sign) {
        _cleanup_(buf_wipe) Buf creq = {}, sts = {}, authz = {}, signed_headers = {};
        _cleanup_(key_wipe) uint8_t signing_key[SHA256_LEN] = {};
        char amz_date[17], date[9], payload_hash[65], creq_hash[65], signature_hex[65];
        uint8_t signature[SHA256_LEN];
        int r;

        if (!in || !ret_authorization)
                return -EINVAL;
        if (!string_is_token(in->method) || !in->path ||
            !string_is_scope_part(in->region) || !string_is_scope_part(in->service) ||
            !string_is_scope_part(in->access_key_id) || isempty(in->secret_access_key) ||
            (!in->headers && in->n_headers > 0) || (!in->payload && in->payload_len > 0) ||
            !time_is_signable(in->when))
                return -EINVAL;

        sigv4_format_amz_date(in->when, amz_date);
        memcpy(date, amz_date, 8);
        date[8] = 0;

        r = sigv4_sha256_hex(in->payload, in->payload_len, payload_hash);
        if (r < 0)
                return r;

        /* Method, URI, query, headers, blank, signed header names, payload hash; one per line. */
        r = buf_puts(&creq, in->method);
        if (r >= 0)
                r = buf_putc(&creq, '\n');
        if (r >= 0)
                r = append_canonical_uri(&creq, in->path);
        if (r >= 0)
                r = buf_putc(&creq, '\n');
        if (r >= 0)
                r = append_canonical_query(&creq, in->query);
        if (r >= 0)
                r = buf_putc(&creq, '\n');
        if (r >= 0)
                r = append_canonical_headers(&creq, &signed_headers, in->headers, in->n_headers, amz_date);
        if (r >= 0)
                r = buf_putc(&creq, '\n');
        if (r >= 0)
                r = buf_puts(&creq, signed_headers.data);
        if (r >= 0)
                r = buf_putc(&creq, '\n');
        if (r >= 0)
                r = buf_puts(&creq, payload_hash);
        if (r < 0)
                return r;

        r = sigv4_sha256_hex(creq.data, creq.len, creq_hash);
        if (r < 0)
                return r;

        r = buf_puts(&sts, SIGV4_ALGORITHM "\n");
        if (r >= 0)
                r = buf_puts(&sts, amz_date);
        if (r >= 0)
                r = buf_putc(&sts, '\n');
        if (r >= 0)
                r = buf_puts(&sts, date);
        if (r >= 0)
                r = buf_putc(&sts, '/');
        if (r >= 0)
                r = buf_puts(&sts, in->region);
        if (r >= 0)
                r = buf_putc(&sts, '/');
        if (r >= 0)
                r = buf_puts(&sts, in->service);
        if (r >= 0)
                r = buf_puts(&sts, "/aws4_request\n");
        if (r >= 0)
                r = buf_puts(&sts, creq_hash);
        if (r < 0)
                return r;

        r = derive_signing_key(in->secret_access_key, date, in->region, in->service, signing_key);
        if (r < 0)
                return r;
        r = hmac_sha256(signing_key, sizeof(signing_key), sts.data, sts.len, signature);
        if (r < 0)
                return r;
        hex_encode(signature, sizeof(signature), signature_hex);

        r = buf_puts(&authz, SIGV4_ALGORITHM " Credential=");
        if (r >= 0)
                r = buf_puts(&authz, in->access_key_id);
        if (r >= 0)
                r = buf_putc(&authz, '/');
        if (r >= 0)
                r = buf_puts(&authz, date);
        if (r >= 0)
                r = buf_putc(&authz, '/');
        if (r >= 0)
                r = buf_puts(&authz, in->region);
        if (r >= 0)
                r = buf_putc(&authz, '/');
        if (r >= 0)
                r = buf_puts(&authz, in->service);
        if (r >= 0)
                r = buf_puts(&authz, "/aws4_request, SignedHeaders=");
        if (r >= 0)
                r = buf_puts(&authz, signed_headers.data);
        if (r >= 0)
                r = buf_puts(&authz, ", Signature=");
        if (r >= 0)
                r = buf_puts(&authz, signature_hex);
        if (r < 0)
                return r;

        /* Every buffer is non-empty here, so handing them over cannot fail. */
        *ret_authorization = buf_steal(&authz);
        if (ret_canonical_request)
                *ret_canonical_request = buf_steal(&creq);
        if (ret_string_to_sign)
                *ret_string_to_sign = buf_steal(&sts);
        return 0;
}
