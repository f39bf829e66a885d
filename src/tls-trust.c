/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <gnutls/x509.h>

#include "log.h"
#include "tls-trust.h"

/* GnuTLS refuses longer chains (its default verify depth); names beyond are not looked up. */
#define PEER_CHAIN_MAX 16U
#define BUNDLE_MAX_BYTES (64U * 1024U * 1024U)
/* Sessions remembered as verified: more than the connections a burst keeps open. */
#define VERIFIED_MAX 16U
#define RANDOMS_SIZE 64U

typedef struct TrustCert {
        size_t der_offset, der_size;
        size_t dn_offset, dn_size; /* the subject name's DER, inside the certificate's */
        bool loaded;               /* parsed and in the trust list */
        bool broken;               /* GnuTLS could not parse it: never trusted */
} TrustCert;

/* A session that passed for host. A later connection may get a freed session's address, never its
 * hello randoms: the client's are 32 fresh random bytes of ours for every handshake (resumptions and
 * renegotiations included), so a match is the same handshake. */
typedef struct VerifiedSession {
        gnutls_session_t session;
        uint8_t randoms[RANDOMS_SIZE]; /* client and server hello randoms */
        char *host;
} VerifiedSession;

struct TlsTrust {
        char *path;
        struct stat st;  /* of the bundle as read */
        uint8_t *der;    /* every certificate's DER, back to back; NULL: no usable bundle */
        TrustCert *certs;
        size_t n_certs, n_loaded;
        gnutls_certificate_credentials_t cred; /* the loaded certificates as trust list */
        VerifiedSession verified[VERIFIED_MAX];
        unsigned verified_next, n_verified;
};

static void credentials_freep(gnutls_certificate_credentials_t *c) {
        if (*c)
                gnutls_certificate_free_credentials(*c);
}

/* One DER TLV with the expected tag at *p; moves *p past it. Definite lengths only (DER). */
static int der_next(const uint8_t **p, const uint8_t *end, uint8_t tag, gnutls_datum_t *ret_tlv,
                    const uint8_t **ret_content, size_t *ret_len) {
        const uint8_t *s = *p;
        size_t avail = (size_t) (end - s), hdr = 2, len;

        if (avail < 2 || s[0] != tag)
                return -EBADMSG;
        len = s[1];
        if (len & 0x80) {
                size_t n = len & 0x7f;
                if (n == 0 || n > 4 || avail < 2 + n)
                        return -EBADMSG;
                len = 0;
                for (size_t i = 0; i < n; i++)
                        len = (len << 8) | s[2 + i];
                hdr += n;
        }
        if (len > avail - hdr)
                return -EBADMSG;
        if (ret_tlv)
                *ret_tlv = (gnutls_datum_t) { (unsigned char *) s, (unsigned) (hdr + len) };
        if (ret_content)
                *ret_content = s + hdr;
        if (ret_len)
                *ret_len = len;
        *p = s + hdr + len;
        return 0;
}

static int der_cert_names(const uint8_t *der, size_t size, gnutls_datum_t *ret_issuer, gnutls_datum_t *ret_subject,
                          size_t *ret_size) {
        const uint8_t *p = der, *cert, *tbs, *tbs_end;
        gnutls_datum_t outer;
        size_t len;
        int r;

        r = der_next(&p, der + size, 0x30, &outer, &cert, &len); /* Certificate */
        if (r < 0)
                return r;
        p = cert;
        r = der_next(&p, cert + len, 0x30, NULL, &tbs, &len); /* tbsCertificate */
        if (r < 0)
                return r;
        p = tbs;
        tbs_end = tbs + len;
        if (p < tbs_end && *p == 0xa0 && (r = der_next(&p, tbs_end, 0xa0, NULL, NULL, NULL)) < 0) /* version */
                return r;
        if ((r = der_next(&p, tbs_end, 0x02, NULL, NULL, NULL)) < 0 ||  /* serialNumber */
            (r = der_next(&p, tbs_end, 0x30, NULL, NULL, NULL)) < 0 ||  /* signature */
            (r = der_next(&p, tbs_end, 0x30, ret_issuer, NULL, NULL)) < 0 ||
            (r = der_next(&p, tbs_end, 0x30, NULL, NULL, NULL)) < 0 ||  /* validity */
            (r = der_next(&p, tbs_end, 0x30, ret_subject, NULL, NULL)) < 0)
                return r;
        if (ret_size)
                *ret_size = outer.size;
        return 0;
}

int tls_trust_cert_names(const void *der, size_t size, gnutls_datum_t *ret_issuer, gnutls_datum_t *ret_subject) {
        return der_cert_names(der, size, ret_issuer, ret_subject, NULL);
}

/* Decodes the base64 text of a PEM block with GnuTLS's decoder (the one its CA file reader uses:
 * line breaks and blanks ignored) into out, which has room for avail bytes. Returns the decoded size,
 * -EBADMSG or -ENOMEM. */
static ssize_t pem_decode(const char *b64, const char *b64_end, uint8_t *out, size_t avail) {
        gnutls_datum_t in = { (unsigned char *) b64, (unsigned) (b64_end - b64) }, der = {};
        ssize_t n;
        int r;

        r = gnutls_base64_decode2(&in, &der);
        if (r == GNUTLS_E_MEMORY_ERROR)
                return -ENOMEM;
        if (r < 0)
                return -EBADMSG;
        n = der.size <= avail ? (ssize_t) der.size : -EBADMSG;
        if (n > 0)
                memcpy(out, der.data, der.size);
        gnutls_free(der.data);
        return n;
}

static int read_file(const char *path, struct stat *ret_st, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        if (S_ISDIR(ret_st->st_mode))
                return -EISDIR;
        if (!S_ISREG(ret_st->st_mode))
                return -EBADMSG;
        if ((uint64_t) ret_st->st_size > BUNDLE_MAX_BYTES)
                return -EFBIG;
        buf = malloc((size_t) ret_st->st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (n < (size_t) ret_st->st_size) {
                ssize_t k = read(fd, buf + n, (size_t) ret_st->st_size - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break; /* truncated meanwhile; the next check sees the new size */
                n += (size_t) k;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

/* Finds the next "BEGIN CERTIFICATE" block, as GnuTLS reads a CA file (also "X509 CERTIFICATE";
 * other blocks are skipped). Returns true with its base64 text in [*ret_b64, *ret_b64_end). */
static bool pem_next_certificate(const char **p, const char *end, const char **ret_b64, const char **ret_b64_end) {
        static const char *const begins[] = { "-----BEGIN CERTIFICATE-----", "-----BEGIN X509 CERTIFICATE-----" };

        for (;;) {
                const char *b = memmem(*p, (size_t) (end - *p), "-----BEGIN ", 11), *e;
                const char *body = NULL;

                if (!b)
                        return false;
                for (size_t i = 0; i < ELEMENTSOF(begins); i++)
                        if ((size_t) (end - b) >= strlen(begins[i]) && memcmp(b, begins[i], strlen(begins[i])) == 0)
                                body = b + strlen(begins[i]);
                if (!body) {
                        *p = b + 11;
                        continue;
                }
                e = memmem(body, (size_t) (end - body), "-----END ", 9);
                *ret_b64 = body;
                *ret_b64_end = e ?: end; /* no END: fails to decode as a whole certificate */
                *p = e ? e + 9 : end;
                return true;
        }
}

static void verified_clear(TlsTrust *t) {
        for (size_t i = 0; i < VERIFIED_MAX; i++) {
                free(t->verified[i].host);
                t->verified[i] = (VerifiedSession) {};
        }
}

/* Forgets the bundle: nothing is trusted until it is read again. */
static void trust_clear(TlsTrust *t) {
        verified_clear(t);
        if (t->cred)
                gnutls_certificate_free_credentials(t->cred);
        t->cred = NULL;
        free(t->der);
        t->der = NULL;
        free(t->certs);
        t->certs = NULL;
        t->n_certs = t->n_loaded = 0;
        t->st = (struct stat) {};
}

static int credentials_new(gnutls_certificate_credentials_t *ret) {
        int r = gnutls_certificate_allocate_credentials(ret);
        if (r < 0)
                return -ENOMEM;
        /* What curl 7.88 sets with a CA file. */
        gnutls_certificate_set_verify_flags(*ret, GNUTLS_VERIFY_ALLOW_X509_V1_CA_CRT);
        return 0;
}

/* (Re)reads the bundle and indexes its certificates by subject name. On failure nothing is trusted. */
static int trust_read(TlsTrust *t) {
        _cleanup_(credentials_freep) gnutls_certificate_credentials_t cred = NULL;
        _cleanup_free_ char *pem = NULL;
        _cleanup_free_ uint8_t *der = NULL;
        _cleanup_free_ TrustCert *certs = NULL;
        const char *p, *b64, *b64_end;
        size_t size = 0, der_size = 0, der_alloc, n = 0, alloc = 0;
        struct stat st;
        int r;

        trust_clear(t);
        r = read_file(t->path, &st, &pem, &size);
        if (r < 0)
                return r;
        der_alloc = size / 4 * 3 + 3; /* base64 decodes to at most 3/4 of its size */
        der = malloc(der_alloc);
        if (!der)
                return -ENOMEM;
        p = pem;
        while (pem_next_certificate(&p, pem + size, &b64, &b64_end)) {
                gnutls_datum_t issuer, subject;
                size_t cert_size;
                ssize_t k;

                k = pem_decode(b64, b64_end, der + der_size, der_alloc - der_size);
                if (k < 0)
                        return (int) k;
                r = der_cert_names(der + der_size, (size_t) k, &issuer, &subject, &cert_size);
                if (r < 0 || cert_size != (size_t) k)
                        return -EBADMSG;
                if (n == alloc) {
                        TrustCert *c = reallocarray(certs, alloc * 2 + 64, sizeof(*certs));
                        if (!c)
                                return -ENOMEM;
                        certs = c;
                        alloc = alloc * 2 + 64;
                }
                certs[n++] = (TrustCert) {
                        .der_offset = der_size,
                        .der_size = (size_t) k,
                        .dn_offset = (size_t) (subject.data - der),
                        .dn_size = subject.size,
                };
                der_size += (size_t) k;
        }
        if (n == 0)
                return -EBADMSG;
        r = credentials_new(&cred);
        if (r < 0)
                return r;

        t->der = realloc(der, der_size) ?: der; /* offsets, not pointers: moving is fine */
        der = NULL;
        t->certs = TAKE_PTR(certs);
        t->n_certs = n;
        t->cred = TAKE_PTR(cred);
        t->st = st;
        return 0;
}

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The bundle as it is now: curl read it for every connection, so an update (update-ca-certificates
 * replaces the file) applies from the next request on. */
static int trust_refresh(TlsTrust *t) {
        struct stat st;

        if (stat(t->path, &st) < 0) {
                int r = -errno;
                trust_clear(t);
                return r;
        }
        if (t->der && same_file(&st, &t->st))
                return 0;
        if (t->der)
                log_debug("TLS trust: %s changed, reading it again.", t->path);
        return trust_read(t);
}

int tls_trust_new(const char *path, TlsTrust **ret) {
        _cleanup_(tls_trust_freep) TlsTrust *t = NULL;
        int r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->path = strdup(path);
        if (!t->path)
                return -ENOMEM;
        r = trust_read(t);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

TlsTrust *tls_trust_free(TlsTrust *t) {
        if (!t)
                return NULL;
        trust_clear(t);
        free(t->path);
        free(t);
        return NULL;
}

void tls_trust_freep(TlsTrust **t) {
        *t = tls_trust_free(*t);
}

static bool names_contain(const gnutls_datum_t *names, size_t n, const uint8_t *dn, size_t dn_size) {
        for (size_t i = 0; i < n; i++)
                if (names[i].size == dn_size && memcmp(names[i].data, dn, dn_size) == 0)
                        return true;
        return false;
}

/* Adds to cred's trust list the bundle's certificates whose subject is one of names (all of them if
 * names is NULL), in bundle order. With t->cred they are marked loaded and not added again. */
static int trust_add(TlsTrust *t, gnutls_certificate_credentials_t cred, const gnutls_datum_t *names, size_t n_names) {
        _cleanup_free_ gnutls_x509_crt_t *list = NULL;
        _cleanup_free_ size_t *index = NULL;
        gnutls_x509_trust_list_t tl;
        bool persistent = cred == t->cred;
        size_t n = 0;
        int added, r = 0;

        list = calloc(t->n_certs, sizeof(*list));
        index = calloc(t->n_certs, sizeof(*index));
        if (!list || !index)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_certs; i++) {
                TrustCert *c = &t->certs[i];
                gnutls_datum_t der = { t->der + c->der_offset, (unsigned) c->der_size };

                if (c->broken || (persistent && c->loaded))
                        continue;
                if (names && !names_contain(names, n_names, t->der + c->dn_offset, c->dn_size))
                        continue;
                if (gnutls_x509_crt_init(&list[n]) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (gnutls_x509_crt_import(list[n], &der, GNUTLS_X509_FMT_DER) < 0) {
                        /* GnuTLS would have refused the whole file; this one is never trusted. */
                        log_debug("TLS trust: certificate %zu of %s cannot be parsed, ignoring it.", i + 1, t->path);
                        gnutls_x509_crt_deinit(list[n]);
                        c->broken = true;
                        continue;
                }
                index[n++] = i;
        }
        if (n == 0)
                return r;
        gnutls_certificate_get_trust_list(cred, &tl);
        added = gnutls_x509_trust_list_add_cas(tl, list, n, 0); /* the list owns what it added */
        if (added < 0)
                added = 0;
        for (size_t j = (size_t) added; j < n; j++)
                gnutls_x509_crt_deinit(list[j]);
        if (persistent) {
                for (size_t j = 0; j < (size_t) added; j++)
                        t->certs[index[j]].loaded = true;
                t->n_loaded += (size_t) added;
                log_debug("TLS trust: %zu of the %zu CA certificates in %s parsed.", t->n_loaded, t->n_certs, t->path);
        }
        return (size_t) added < n ? -ENOMEM : r;
}

/* gnutls_certificate_verify_peers() with cred's trust list instead of the session's (curl's, which
 * holds no CA): GnuTLS's whole check, including stapled OCSP responses, OCSP must-staple, chain
 * length and the session's verification profile, with host and the TLS server purpose. */
static int verify_with(gnutls_certificate_credentials_t cred, gnutls_session_t session, const char *host,
                       unsigned *ret_status) {
        gnutls_typed_vdata_st data[] = {
                { .type = GNUTLS_DT_DNS_HOSTNAME, .data = (unsigned char *) host },
                { .type = GNUTLS_DT_KEY_PURPOSE_OID, .data = (unsigned char *) GNUTLS_KP_TLS_WWW_SERVER },
        };
        void *session_cred = NULL;
        int r, k;

        *ret_status = 0;
        r = gnutls_credentials_get(session, GNUTLS_CRD_CERTIFICATE, &session_cred);
        if (r < 0)
                return r;
        r = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred);
        if (r < 0)
                return r;
        r = gnutls_certificate_verify_peers(session, data, ELEMENTSOF(data), ret_status);
        /* Replacing an existing entry only swaps a pointer: this cannot fail. */
        k = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, session_cred);
        return r < 0 ? r : k;
}

static bool session_randoms(gnutls_session_t session, uint8_t ret[static RANDOMS_SIZE]) {
        gnutls_datum_t client = {}, server = {};

        gnutls_session_get_random(session, &client, &server);
        if (client.size != RANDOMS_SIZE / 2 || server.size != RANDOMS_SIZE / 2)
                return false;
        memcpy(ret, client.data, RANDOMS_SIZE / 2);
        memcpy(ret + RANDOMS_SIZE / 2, server.data, RANDOMS_SIZE / 2);
        return true;
}

static bool verified_find(const TlsTrust *t, gnutls_session_t session, const uint8_t *randoms, const char *host) {
        for (size_t i = 0; i < VERIFIED_MAX; i++) {
                const VerifiedSession *v = &t->verified[i];
                if (v->host && v->session == session && memcmp(v->randoms, randoms, RANDOMS_SIZE) == 0 &&
                    streq(v->host, host))
                        return true;
        }
        return false;
}

static void verified_add(TlsTrust *t, gnutls_session_t session, const uint8_t *randoms, const char *host) {
        VerifiedSession *v = &t->verified[t->verified_next];
        char *h = strdup(host);

        if (!h)
                return; /* only means verifying again */
        free(v->host);
        *v = (VerifiedSession) { .session = session, .host = h };
        memcpy(v->randoms, randoms, RANDOMS_SIZE);
        t->verified_next = (t->verified_next + 1) % VERIFIED_MAX;
}

static int fail(char **ret_reason, int error, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_reason, int error, const char *fmt, ...) {
        va_list ap;

        if (ret_reason) {
                va_start(ap, fmt);
                if (vasprintf(ret_reason, fmt, ap) < 0)
                        *ret_reason = NULL;
                va_end(ap);
        }
        return error;
}

int tls_trust_verify(TlsTrust *t, gnutls_session_t session, const char *host, char **ret_reason) {
        gnutls_datum_t names[2 * PEER_CHAIN_MAX];
        const gnutls_datum_t *peers;
        uint8_t randoms[RANDOMS_SIZE];
        unsigned n_peers = 0, status = 0;
        size_t n_names = 0;
        bool have_randoms;
        int r;

        if (ret_reason)
                *ret_reason = NULL;
        r = trust_refresh(t);
        if (r < 0)
                return fail(ret_reason, r, "TLS certificate of %s not verified: cannot use CA file %s: %s", host,
                            t->path, r == -EBADMSG ? "no PEM certificates, or a malformed one" : strerror(-r));

        have_randoms = session_randoms(session, randoms);
        if (have_randoms && verified_find(t, session, randoms, host))
                return 0;

        peers = gnutls_certificate_get_peers(session, &n_peers);
        if (!peers || n_peers == 0)
                return fail(ret_reason, -EPERM, "TLS certificate of %s not trusted: the server sent none", host);
        /* Every CA that GnuTLS could consult for this chain has the subject or the issuer name of
         * one of its certificates: as an issuer, as a trusted copy of a certificate the server sent
         * (which cuts the chain there), or as a same-name, same-key replacement of one. */
        for (unsigned i = 0; i < MIN(n_peers, PEER_CHAIN_MAX); i++) {
                gnutls_datum_t issuer, subject;
                if (der_cert_names(peers[i].data, peers[i].size, &issuer, &subject, NULL) < 0)
                        continue; /* GnuTLS will refuse it */
                names[n_names++] = issuer;
                names[n_names++] = subject;
        }
        r = trust_add(t, t->cred, names, n_names);
        if (r < 0)
                return fail(ret_reason, r, "TLS certificate of %s not verified: out of memory", host);

        t->n_verified++;
        r = verify_with(t->cred, session, host, &status);
        if ((r < 0 || status != 0) && t->n_loaded < t->n_certs) {
                /* The rest of the bundle cannot change that either, but a refusal ends the request
                 * for good: confirm it with every CA, the cost curl paid for each connection. */
                _cleanup_(credentials_freep) gnutls_certificate_credentials_t all = NULL;

                if (credentials_new(&all) >= 0 && trust_add(t, all, NULL, 0) >= 0) {
                        r = verify_with(all, session, host, &status);
                        if (r >= 0 && status == 0)
                                log_debug("TLS trust: %s trusted only with every CA of %s.", host, t->path);
                }
        }
        if (r < 0)
                return fail(ret_reason, -EPERM, "TLS certificate of %s not verified: %s", host, gnutls_strerror(r));
        if (status != 0) {
                gnutls_datum_t text = {};
                size_t len;

                if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) < 0)
                        text.data = NULL;
                len = text.data ? strlen((char *) text.data) : 0;
                while (len > 0 && text.data[len - 1] == ' ')
                        text.data[--len] = 0;
                r = fail(ret_reason, -EPERM, "TLS certificate of %s not trusted: %s CA file: %s", host,
                         text.data ? (char *) text.data : "verification failed.", t->path);
                gnutls_free(text.data);
                return r;
        }
        if (have_randoms)
                verified_add(t, session, randoms, host);
        return 0;
}

const char *tls_trust_path(const TlsTrust *t) {
        return t->path;
}

size_t tls_trust_n_certs(const TlsTrust *t) {
        return t->n_certs;
}

size_t tls_trust_n_loaded(const TlsTrust *t) {
        return t->n_loaded;
}

unsigned tls_trust_n_verified(const TlsTrust *t) {
        return t->n_verified;
}
