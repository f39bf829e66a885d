/* SPDX-License-Identifier: MIT */
/* Server certificate verification: src/tls-trust.c on its own (handshakes over a socketpair,
 * compared with GnuTLS verifying against the whole bundle), and through the HTTP client against a
 * small TLS server thread that counts connections, handshakes and request bytes, so a refused
 * server is seen to receive nothing. Certificates are made here with GnuTLS. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "http.h"
#include "tls-trust.h"
#include "tap.h"

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define DAY (24 * 3600)

static char dir[] = "/tmp/test-tls-trust-XXXXXX";
static time_t now0;
static sd_event *event;

#define must(expr)                                                                              \
        do {                                                                                    \
                int _r = (int) (expr);                                                          \
                if (_r < 0) {                                                                   \
                        printf("Bail out! %s:%d: %s: %d\n", __FILE__, __LINE__, #expr, _r);     \
                        exit(1);                                                                \
                }                                                                               \
        } while (0)

/* A path in the test directory; valid for the next 63 calls (this test makes fewer in all). */
static const char *path_of(const char *name) {
        static char buf[64][256];
        static unsigned i;
        char *p = buf[i++ % 64];
        snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
        return p;
}

/* ---------------------------------------------------------------------------------------------- */
/* Certificates */

typedef struct Cert {
        gnutls_x509_crt_t crt;
        gnutls_x509_privkey_t key;
} Cert;

typedef struct Spec {
        const char *dn;
        bool ca;
        const char *dns, *ip; /* subjectAltName */
        const char *purpose;  /* extendedKeyUsage; NULL: serverAuth for a leaf, none for a CA; "": none */
        int from_days, to_days; /* validity around now; 0, 0: -1 .. 30 */
        unsigned version;       /* 0: 3 */
} Spec;

static gnutls_x509_privkey_t key_new(void) {
        gnutls_x509_privkey_t k;
        must(gnutls_x509_privkey_init(&k));
        must(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
        return k;
}

/* A certificate for s, with key (a new one if NULL), signed by issuer (self-signed if NULL) or by
 * issuer_key under issuer's name if issuer_key is given. */
static Cert cert_new(const Spec *s, gnutls_x509_privkey_t key, const Cert *issuer, gnutls_x509_privkey_t issuer_key) {
        static unsigned serial = 1;
        unsigned char sn[4] = { 0x10, (unsigned char) (serial >> 16), (unsigned char) (serial >> 8), (unsigned char) serial };
        unsigned char id[64];
        size_t id_size;
        Cert c = {};

        serial++;
        c.key = key ?: key_new();
        must(gnutls_x509_crt_init(&c.crt));
        must(gnutls_x509_crt_set_version(c.crt, s->version ?: 3));
        must(gnutls_x509_crt_set_serial(c.crt, sn, sizeof(sn)));
        must(gnutls_x509_crt_set_activation_time(c.crt, now0 + (s->from_days || s->to_days ? s->from_days : -1) * DAY));
        must(gnutls_x509_crt_set_expiration_time(c.crt, now0 + (s->from_days || s->to_days ? s->to_days : 30) * DAY));
        must(gnutls_x509_crt_set_dn(c.crt, s->dn, NULL));
        must(gnutls_x509_crt_set_key(c.crt, c.key));
        if (s->version == 0 || s->version >= 3) {
                const char *purpose = s->purpose ?: (s->ca ? "" : GNUTLS_KP_TLS_WWW_SERVER);

                must(gnutls_x509_crt_set_basic_constraints(c.crt, s->ca, -1));
                must(gnutls_x509_crt_set_key_usage(c.crt, s->ca ? GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN
                                                                 : GNUTLS_KEY_DIGITAL_SIGNATURE));
                if (*purpose)
                        must(gnutls_x509_crt_set_key_purpose_oid(c.crt, purpose, 0));
                if (s->dns)
                        must(gnutls_x509_crt_set_subject_alt_name(c.crt, GNUTLS_SAN_DNSNAME, s->dns, strlen(s->dns),
                                                                  GNUTLS_FSAN_APPEND));
                if (s->ip) {
                        unsigned char a[16];
                        bool v6 = strchr(s->ip, ':');
                        must(inet_pton(v6 ? AF_INET6 : AF_INET, s->ip, a) == 1 ? 0 : -1);
                        must(gnutls_x509_crt_set_subject_alt_name(c.crt, GNUTLS_SAN_IPADDRESS, a, v6 ? 16 : 4,
                                                                  GNUTLS_FSAN_APPEND));
                }
                id_size = sizeof(id);
                must(gnutls_x509_crt_get_key_id(c.crt, 0, id, &id_size));
                must(gnutls_x509_crt_set_subject_key_id(c.crt, id, id_size));
                id_size = sizeof(id);
                if (issuer && gnutls_x509_crt_get_subject_key_id(issuer->crt, id, &id_size, NULL) >= 0)
                        must(gnutls_x509_crt_set_authority_key_id(c.crt, id, id_size));
        }
        must(gnutls_x509_crt_sign2(c.crt, issuer ? issuer->crt : c.crt, issuer_key ?: issuer ? issuer->key : c.key,
                                   GNUTLS_DIG_SHA256, 0));
        return c;
}

static void cert_free(Cert *c, bool with_key) {
        gnutls_x509_crt_deinit(c->crt);
        if (with_key)
                gnutls_x509_privkey_deinit(c->key);
}

static void append_pem(FILE *f, gnutls_x509_crt_t crt) {
        gnutls_datum_t out = {};
        must(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out));
        fwrite(out.data, 1, out.size, f);
        gnutls_free(out.data);
}

/* Writes a bundle the way update-ca-certificates does: a new file renamed over the old one. */
static const char *write_bundle(const char *name, bool with_system, const Cert *const *cas, size_t n) {
        const char *path = path_of(name);
        char tmp[300];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        f = fopen(tmp, "we");

        must(f ? 0 : -1);
        if (with_system) {
                FILE *s = fopen(SYSTEM_BUNDLE, "re");
                char buf[8192];
                size_t k;
                must(s ? 0 : -1);
                while ((k = fread(buf, 1, sizeof(buf), s)) > 0)
                        fwrite(buf, 1, k, f);
                fclose(s);
        }
        for (size_t i = 0; i < n; i++)
                append_pem(f, cas[i]->crt);
        must(fclose(f) == 0 ? 0 : -1);
        must(rename(tmp, path));
        return path;
}

static void write_file(const char *path, const char *content) {
        FILE *f = fopen(path, "we");
        must(f ? 0 : -1);
        fputs(content, f);
        must(fclose(f) == 0 ? 0 : -1);
}

/* ---------------------------------------------------------------------------------------------- */
/* Handshakes over a socketpair */

typedef struct Pair {
        int fds[2];
        gnutls_certificate_credentials_t client_cred, server_cred;
        gnutls_session_t client, server;
} Pair;

static void pair_free(Pair *p) {
        if (p->client)
                gnutls_deinit(p->client);
        if (p->server)
                gnutls_deinit(p->server);
        if (p->client_cred)
                gnutls_certificate_free_credentials(p->client_cred);
        if (p->server_cred)
                gnutls_certificate_free_credentials(p->server_cred);
        close(p->fds[0]);
        close(p->fds[1]);
        *p = (Pair) {};
}

/* A finished handshake; the server sends chain (its first certificate's key signs). sni: a DNS name
 * to send, or NULL. */
static Pair pair_new(const Cert *const *chain, size_t n, const char *sni) {
        gnutls_x509_crt_t list[20];
        bool client_done = false, server_done = false;
        Pair p = {};

        for (size_t i = 0; i < n; i++)
                list[i] = chain[i]->crt;
        must(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p.fds));
        must(gnutls_certificate_allocate_credentials(&p.client_cred));
        must(gnutls_certificate_allocate_credentials(&p.server_cred));
        must(gnutls_certificate_set_x509_key(p.server_cred, list, (int) n, chain[0]->key));
        must(gnutls_init(&p.client, GNUTLS_CLIENT | GNUTLS_NONBLOCK));
        must(gnutls_init(&p.server, GNUTLS_SERVER | GNUTLS_NONBLOCK));
        must(gnutls_set_default_priority(p.client));
        must(gnutls_set_default_priority(p.server));
        must(gnutls_credentials_set(p.client, GNUTLS_CRD_CERTIFICATE, p.client_cred));
        must(gnutls_credentials_set(p.server, GNUTLS_CRD_CERTIFICATE, p.server_cred));
        if (sni)
                must(gnutls_server_name_set(p.client, GNUTLS_NAME_DNS, sni, strlen(sni)));
        gnutls_transport_set_int(p.client, p.fds[0]);
        gnutls_transport_set_int(p.server, p.fds[1]);
        for (int i = 0; i < 10000 && !(client_done && server_done); i++) {
                int r;
                if (!client_done) {
                        r = gnutls_handshake(p.client);
                        if (r == 0)
                                client_done = true;
                        else if (gnutls_error_is_fatal(r))
                                must(r);
                }
                if (!server_done) {
                        r = gnutls_handshake(p.server);
                        if (r == 0)
                                server_done = true;
                        else if (gnutls_error_is_fatal(r))
                                must(r);
                }
        }
        must(client_done && server_done ? 0 : -1);
        return p;
}

/* GnuTLS with every CA of the bundle parsed, the way curl 7.88 loads a CA file, and the same
 * checks (host name, TLS server purpose): what tls_trust_verify() must agree with. */
static bool reference_accepts(const char *bundle, gnutls_session_t session, const char *host) {
        gnutls_typed_vdata_st data[] = {
                { .type = GNUTLS_DT_DNS_HOSTNAME, .data = (unsigned char *) host },
                { .type = GNUTLS_DT_KEY_PURPOSE_OID, .data = (unsigned char *) GNUTLS_KP_TLS_WWW_SERVER },
        };
        gnutls_x509_trust_list_t tl;
        gnutls_x509_crt_t list[20];
        const gnutls_datum_t *peers;
        unsigned n = 0, status = 0;
        int r;

        peers = gnutls_certificate_get_peers(session, &n);
        if (!peers || n == 0 || n > 20)
                return false;
        must(gnutls_x509_trust_list_init(&tl, 0));
        must(gnutls_x509_trust_list_add_trust_file(tl, bundle, NULL, GNUTLS_X509_FMT_PEM, 0, 0));
        for (unsigned i = 0; i < n; i++) {
                must(gnutls_x509_crt_init(&list[i]));
                must(gnutls_x509_crt_import(list[i], &peers[i], GNUTLS_X509_FMT_DER));
        }
        r = gnutls_x509_trust_list_verify_crt2(tl, list, n, data, ELEMENTSOF(data), GNUTLS_VERIFY_ALLOW_X509_V1_CA_CRT,
                                               &status, NULL);
        for (unsigned i = 0; i < n; i++)
                gnutls_x509_crt_deinit(list[i]);
        gnutls_x509_trust_list_deinit(tl, 1);
        return r >= 0 && status == 0;
}

/* One verification case: does t accept chain for host, as expected and as the reference does? */
static void check_chain(TlsTrust *t, const char *name, const Cert *const *chain, size_t n, const char *host,
                        bool want, const char *reason_part) {
        Pair p = pair_new(chain, n, host && !strchr(host, ':') && inet_addr(host) == INADDR_NONE ? host : NULL);
        _cleanup_free_ char *reason = NULL;
        int r = tls_trust_verify(t, p.client, host, &reason);
        bool ref = reference_accepts(tls_trust_path(t), p.client, host);

        if (!ok((r == 0) == want, "%s: %s", name, want ? "accepted" : "refused"))
                diag("tls_trust_verify: %d %s", r, reason ?: "");
        ok((r == 0) == ref, "%s: the same as GnuTLS with the whole bundle", name);
        if (!want)
                ok(r == -EPERM && reason && strstr(reason, host) && (!reason_part || strstr(reason, reason_part)),
                   "%s: the reason names the host%s%s: %s", name, reason_part ? " and says " : "",
                   reason_part ?: "", reason ?: "(none)");
        pair_free(&p);
}

#define CHAIN(...) ((const Cert *const[]) { __VA_ARGS__ }), ELEMENTSOF(((const Cert *const[]) { __VA_ARGS__ }))

static void test_bundle_files(void) {
        TlsTrust *t = NULL;

        ok(tls_trust_new(path_of("missing.pem"), &t) == -ENOENT && !t, "bundle: a missing file is -ENOENT");
        ok(tls_trust_new(dir, &t) == -EISDIR && !t, "bundle: a directory is -EISDIR");
        write_file(path_of("empty.pem"), "# nothing here\n");
        ok(tls_trust_new(path_of("empty.pem"), &t) == -EBADMSG && !t, "bundle: a file without certificates is -EBADMSG");
        write_file(path_of("bad64.pem"), "-----BEGIN CERTIFICATE-----\nMIIB*x==\n-----END CERTIFICATE-----\n");
        ok(tls_trust_new(path_of("bad64.pem"), &t) == -EBADMSG && !t, "bundle: invalid base64 is -EBADMSG");
        write_file(path_of("notder.pem"), "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n");
        ok(tls_trust_new(path_of("notder.pem"), &t) == -EBADMSG && !t, "bundle: a block that is not a certificate is -EBADMSG");
}

static void test_verify(void) {
        Spec ca_spec = { .dn = "CN=Test Root A,O=ecr-token-refresh tests", .ca = true };
        Cert ca = cert_new(&ca_spec, NULL, NULL, NULL);
        Cert other_ca = cert_new(&(Spec) { .dn = "CN=Test Root B", .ca = true }, NULL, NULL, NULL);
        Cert inter = cert_new(&(Spec) { .dn = "CN=Test Intermediate", .ca = true }, NULL, &ca, NULL);
        Cert good = cert_new(&(Spec) { .dn = "CN=good", .dns = "localhost", .ip = "127.0.0.1" }, NULL, &ca, NULL);
        Cert via_inter = cert_new(&(Spec) { .dn = "CN=via intermediate", .ip = "127.0.0.1" }, NULL, &inter, NULL);
        Cert by_leaf = cert_new(&(Spec) { .dn = "CN=by leaf", .ip = "127.0.0.1" }, NULL, &good, NULL);
        Cert unknown = cert_new(&(Spec) { .dn = "CN=unknown", .ip = "127.0.0.1" }, NULL, &other_ca, NULL);
        Cert wrong_host = cert_new(&(Spec) { .dn = "CN=www.example.com", .dns = "www.example.com" }, NULL, &ca, NULL);
        Cert self = cert_new(&(Spec) { .dn = "CN=self", .dns = "localhost", .ip = "127.0.0.1" }, NULL, NULL, NULL);
        Cert expired = cert_new(&(Spec) { .dn = "CN=expired", .ip = "127.0.0.1", .from_days = -30, .to_days = -1 }, NULL, &ca, NULL);
        Cert future = cert_new(&(Spec) { .dn = "CN=future", .ip = "127.0.0.1", .from_days = 2, .to_days = 30 }, NULL, &ca, NULL);
        Cert client_only = cert_new(&(Spec) { .dn = "CN=client", .ip = "127.0.0.1", .purpose = GNUTLS_KP_TLS_WWW_CLIENT },
                                    NULL, &ca, NULL);
        Cert no_eku = cert_new(&(Spec) { .dn = "CN=no eku", .ip = "127.0.0.1", .purpose = "" }, NULL, &ca, NULL);
        Cert ip_as_dns = cert_new(&(Spec) { .dn = "CN=127.0.0.1", .dns = "127.0.0.1" }, NULL, &ca, NULL);
        Cert other_ip = cert_new(&(Spec) { .dn = "CN=other ip", .ip = "127.0.0.2" }, NULL, &ca, NULL);
        Cert expired_ca = cert_new(&(Spec) { .dn = "CN=Expired Root", .ca = true, .from_days = -30, .to_days = -1 }, NULL, NULL, NULL);
        Cert under_expired = cert_new(&(Spec) { .dn = "CN=under expired", .ip = "127.0.0.1" }, NULL, &expired_ca, NULL);
        /* Cross-signing: New Root's key also certified by Old Root, under New Root's name. */
        Cert old_root = cert_new(&(Spec) { .dn = "CN=Old Root", .ca = true }, NULL, NULL, NULL);
        Cert new_root = cert_new(&(Spec) { .dn = "CN=New Root", .ca = true }, NULL, NULL, NULL);
        Cert cross = cert_new(&(Spec) { .dn = "CN=New Root", .ca = true }, new_root.key, &old_root, NULL);
        Cert new_inter = cert_new(&(Spec) { .dn = "CN=New Intermediate", .ca = true }, NULL, &new_root, NULL);
        Cert cross_leaf = cert_new(&(Spec) { .dn = "CN=cross", .ip = "127.0.0.1" }, NULL, &new_inter, NULL);
        /* An intermediate trusted as such (an anchor whose issuer the bundle lacks). */
        Cert anchored_inter = cert_new(&(Spec) { .dn = "CN=Anchored Intermediate", .ca = true }, NULL, &other_ca, NULL);
        Cert under_anchored = cert_new(&(Spec) { .dn = "CN=under anchored", .ip = "127.0.0.1" }, NULL, &anchored_inter, NULL);
        /* An X.509 v1 root, accepted as curl accepts it. */
        Cert v1_root = cert_new(&(Spec) { .dn = "CN=Version 1 Root", .ca = true, .version = 1 }, NULL, NULL, NULL);
        Cert under_v1 = cert_new(&(Spec) { .dn = "CN=under v1", .ip = "127.0.0.1" }, NULL, &v1_root, NULL);
        TlsTrust *t = NULL;
        const char *bundle;

        bundle = write_bundle("small.pem", false,
                              (const Cert *const[]) { &ca, &expired_ca, &new_root, &anchored_inter, &v1_root }, 5);
        must(tls_trust_new(bundle, &t));
        is_int(tls_trust_n_certs(t), 5, "small bundle: 5 certificates indexed");
        is_int(tls_trust_n_loaded(t), 0, "small bundle: none parsed before a server needs one");

        check_chain(t, "good leaf, IP address", CHAIN(&good), "127.0.0.1", true, NULL);
        is_int(tls_trust_n_loaded(t), 1, "good leaf: only its CA was parsed");
        check_chain(t, "good leaf, DNS name", CHAIN(&good), "localhost", true, NULL);
        check_chain(t, "good leaf, DNS name in capitals", CHAIN(&good), "LocalHost", true, NULL);
        check_chain(t, "good leaf, another DNS name", CHAIN(&good), "example.org", false, "does not match");
        check_chain(t, "unknown CA", CHAIN(&unknown), "127.0.0.1", false, "issuer is unknown");
        check_chain(t, "unknown CA, sent along", CHAIN(&unknown, &other_ca), "127.0.0.1", false, NULL);
        check_chain(t, "wrong host", CHAIN(&wrong_host), "127.0.0.1", false, "does not match");
        check_chain(t, "self-signed", CHAIN(&self), "127.0.0.1", false, NULL);
        check_chain(t, "self-signed, DNS name", CHAIN(&self), "localhost", false, NULL);
        check_chain(t, "expired", CHAIN(&expired), "127.0.0.1", false, "expired");
        check_chain(t, "not yet valid", CHAIN(&future), "127.0.0.1", false, "not yet valid");
        check_chain(t, "client-only purpose", CHAIN(&client_only), "127.0.0.1", false, NULL);
        check_chain(t, "no extended key usage", CHAIN(&no_eku), "127.0.0.1", true, NULL);
        check_chain(t, "IP host, the address only as a DNS name", CHAIN(&ip_as_dns), "127.0.0.1", false, "does not match");
        check_chain(t, "IP host, another address", CHAIN(&other_ip), "127.0.0.1", false, "does not match");
        check_chain(t, "intermediate sent", CHAIN(&via_inter, &inter), "127.0.0.1", true, NULL);
        check_chain(t, "intermediate and root sent", CHAIN(&via_inter, &inter, &ca), "127.0.0.1", true, NULL);
        check_chain(t, "intermediate and root sent, unsorted", CHAIN(&via_inter, &ca, &inter), "127.0.0.1", true, NULL);
        check_chain(t, "intermediate missing", CHAIN(&via_inter), "127.0.0.1", false, "issuer is unknown");
        check_chain(t, "issued by a certificate that is not a CA", CHAIN(&by_leaf, &good), "127.0.0.1", false, NULL);
        check_chain(t, "under an expired root", CHAIN(&under_expired), "127.0.0.1", false, NULL);
        check_chain(t, "cross-signed root sent, new root trusted", CHAIN(&cross_leaf, &new_inter, &cross), "127.0.0.1", true, NULL);
        check_chain(t, "under a trusted intermediate", CHAIN(&under_anchored), "127.0.0.1", true, NULL);
        check_chain(t, "under a trusted intermediate, sent with its issuer", CHAIN(&under_anchored, &anchored_inter, &other_ca),
                    "127.0.0.1", true, NULL);
        check_chain(t, "under a version 1 root", CHAIN(&under_v1), "127.0.0.1", true, NULL);
        t = tls_trust_free(t);

        /* Only the old root trusted: the cross-signed certificate leads there. */
        bundle = write_bundle("old-root.pem", false, (const Cert *const[]) { &old_root }, 1);
        must(tls_trust_new(bundle, &t));
        check_chain(t, "cross-signed root sent, old root trusted", CHAIN(&cross_leaf, &new_inter, &cross), "127.0.0.1", true, NULL);
        check_chain(t, "cross-signed root not sent, old root trusted", CHAIN(&cross_leaf, &new_inter), "127.0.0.1", false, NULL);
        t = tls_trust_free(t);

        /* Two roots of the same name, the expired one first: GnuTLS picks by key identifier. */
        {
                Cert twin_old = cert_new(&(Spec) { .dn = "CN=Twin Root", .ca = true, .from_days = -30, .to_days = -1 }, NULL, NULL, NULL);
                Cert twin_new = cert_new(&(Spec) { .dn = "CN=Twin Root", .ca = true }, NULL, NULL, NULL);
                Cert twin_leaf = cert_new(&(Spec) { .dn = "CN=twin leaf", .ip = "127.0.0.1" }, NULL, &twin_new, NULL);
                bundle = write_bundle("twins.pem", false, (const Cert *const[]) { &twin_old, &twin_new }, 2);
                must(tls_trust_new(bundle, &t));
                check_chain(t, "two roots of one name", CHAIN(&twin_leaf), "127.0.0.1", true, NULL);
                is_int(tls_trust_n_loaded(t), 2, "two roots of one name: both parsed, in bundle order");
                t = tls_trust_free(t);
                cert_free(&twin_leaf, true);
                cert_free(&twin_old, true);
                cert_free(&twin_new, true);
        }

        /* The system store with the test root appended, as update-ca-certificates would. */
        if (access(SYSTEM_BUNDLE, R_OK) >= 0) {
                bundle = write_bundle("system.pem", true, (const Cert *const[]) { &ca }, 1);
                must(tls_trust_new(bundle, &t));
                ok(tls_trust_n_certs(t) > 1, "system store: %zu certificates indexed", tls_trust_n_certs(t));
                check_chain(t, "system store: good leaf", CHAIN(&good), "127.0.0.1", true, NULL);
                is_int(tls_trust_n_loaded(t), 1, "system store: one CA parsed for it, not the whole store");
                check_chain(t, "system store: intermediate sent", CHAIN(&via_inter, &inter), "127.0.0.1", true, NULL);
                check_chain(t, "system store: unknown CA", CHAIN(&unknown), "127.0.0.1", false, "issuer is unknown");
                is_int(tls_trust_n_loaded(t), 1, "system store: a refusal parses nothing for good");
                t = tls_trust_free(t);
        } else
                ok(true, "system store # SKIP no %s", SYSTEM_BUNDLE);

        /* A session verified once is not verified again; the bundle is read again when it changes. */
        {
                _cleanup_free_ char *reason = NULL;
                Pair p = pair_new(CHAIN(&good), NULL), q = pair_new(CHAIN(&good), NULL);
                unsigned n;
                int r;

                bundle = write_bundle("changing.pem", false, (const Cert *const[]) { &ca }, 1);
                must(tls_trust_new(bundle, &t));
                ok(tls_trust_verify(t, p.client, "127.0.0.1", NULL) == 0, "cache: first request on a connection verified");
                n = tls_trust_n_verified(t);
                ok(tls_trust_verify(t, p.client, "127.0.0.1", NULL) == 0 && tls_trust_n_verified(t) == n,
                   "cache: the next request on it is not verified again");
                ok(tls_trust_verify(t, p.client, "localhost", NULL) == 0 && tls_trust_n_verified(t) == n + 1,
                   "cache: another host name on it is verified again");
                ok(tls_trust_verify(t, q.client, "127.0.0.1", NULL) == 0 && tls_trust_n_verified(t) == n + 2,
                   "cache: another connection is verified");
                ok(tls_trust_verify(t, p.client, "www.example.com", &reason) == -EPERM,
                   "cache: a wrong name on a verified connection is still refused");
                write_bundle("changing.pem", false, (const Cert *const[]) { &other_ca }, 1);
                ok(tls_trust_verify(t, p.client, "127.0.0.1", NULL) == -EPERM,
                   "bundle change: the root removed, the same connection is refused from the next request");
                write_bundle("changing.pem", false, (const Cert *const[]) { &other_ca, &ca }, 2);
                ok(tls_trust_verify(t, p.client, "127.0.0.1", NULL) == 0 && tls_trust_n_certs(t) == 2,
                   "bundle change: the root back, accepted again");
                must(unlink(bundle));
                free(reason);
                r = tls_trust_verify(t, p.client, "127.0.0.1", &reason);
                ok(r == -ENOENT && reason && strstr(reason, bundle), "bundle removed: refused, naming the file: %s",
                   reason ?: "");
                write_bundle("changing.pem", false, (const Cert *const[]) { &ca }, 1);
                ok(tls_trust_verify(t, p.client, "127.0.0.1", NULL) == 0, "bundle back: accepted again");
                t = tls_trust_free(t);
                pair_free(&p);
                pair_free(&q);
        }

        cert_free(&under_v1, true);
        cert_free(&v1_root, true);
        cert_free(&under_anchored, true);
        cert_free(&anchored_inter, true);
        cert_free(&cross_leaf, true);
        cert_free(&new_inter, true);
        cert_free(&cross, false); /* new_root's key */
        cert_free(&new_root, true);
        cert_free(&old_root, true);
        cert_free(&under_expired, true);
        cert_free(&expired_ca, true);
        cert_free(&other_ip, true);
        cert_free(&ip_as_dns, true);
        cert_free(&no_eku, true);
        cert_free(&client_only, true);
        cert_free(&future, true);
        cert_free(&expired, true);
        cert_free(&self, true);
        cert_free(&wrong_host, true);
        cert_free(&unknown, true);
        cert_free(&by_leaf, true);
        cert_free(&via_inter, true);
        cert_free(&good, true);
        cert_free(&inter, true);
        cert_free(&other_ca, true);
        cert_free(&ca, true);
}

static bool datum_eq(const gnutls_datum_t *a, const gnutls_datum_t *b) {
        return a->size == b->size && memcmp(a->data, b->data, a->size) == 0;
}

/* The index names every certificate as GnuTLS does: each CA of the system store, and a few made
 * here (v1, long names). */
static void test_names(void) {
        Cert v1 = cert_new(&(Spec) { .dn = "CN=Version 1", .ca = true, .version = 1 }, NULL, NULL, NULL);
        Cert longname = cert_new(&(Spec) { .dn = "CN=a very long name that needs a two-byte length for sure,OU=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx,O=y,C=DE", .ca = true },
                                 NULL, NULL, NULL);
        gnutls_x509_crt_t *list = NULL, own[2] = { v1.crt, longname.crt };
        unsigned n = 0, good = 0, total;
        gnutls_datum_t pem = {};

        if (gnutls_load_file(SYSTEM_BUNDLE, &pem) >= 0)
                must(gnutls_x509_crt_list_import2(&list, &n, &pem, GNUTLS_X509_FMT_PEM, 0));
        total = n + 2;
        for (unsigned i = 0; i < total; i++) {
                gnutls_x509_crt_t crt = i < n ? list[i] : own[i - n];
                gnutls_datum_t der = {}, issuer, subject, want_issuer = {}, want_subject = {};

                must(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der));
                must(gnutls_x509_crt_get_raw_issuer_dn(crt, &want_issuer));
                must(gnutls_x509_crt_get_raw_dn(crt, &want_subject));
                if (tls_trust_cert_names(der.data, der.size, &issuer, &subject) == 0 && datum_eq(&issuer, &want_issuer) &&
                    datum_eq(&subject, &want_subject))
                        good++;
                else
                        diag("certificate %u: names differ", i + 1);
                if (i == total - 1)
                        ok(tls_trust_cert_names(der.data, der.size - 1, &issuer, &subject) == -EBADMSG &&
                           tls_trust_cert_names(der.data, 40, &issuer, &subject) == -EBADMSG,
                           "names: a truncated certificate is -EBADMSG");
                gnutls_free(der.data);
                gnutls_free(want_issuer.data);
                gnutls_free(want_subject.data);
        }
        is_int(good, total, "names: issuer and subject as GnuTLS reads them, for every system CA and ours");
        for (unsigned i = 0; i < n; i++)
                gnutls_x509_crt_deinit(list[i]);
        gnutls_free(list);
        gnutls_free(pem.data);
        cert_free(&v1, true);
        cert_free(&longname, true);
}

/* ---------------------------------------------------------------------------------------------- */
/* The HTTP client against a TLS server thread */

typedef struct Server {
        int fd, port;
        pthread_t thread;
        atomic_bool stop;
        atomic_int connections, handshakes, resumed, bytes, requests;
        gnutls_certificate_credentials_t cred; /* NULL: plain HTTP */
        const char *priority;
        gnutls_datum_t db_key, db_data; /* one cached TLS session, for resumption */
} Server;

static int db_store(void *ptr, gnutls_datum_t key, gnutls_datum_t data) {
        Server *s = ptr;
        free(s->db_key.data);
        free(s->db_data.data);
        s->db_key = (gnutls_datum_t) { malloc(key.size), key.size };
        s->db_data = (gnutls_datum_t) { malloc(data.size), data.size };
        if (!s->db_key.data || !s->db_data.data)
                return -1;
        memcpy(s->db_key.data, key.data, key.size);
        memcpy(s->db_data.data, data.data, data.size);
        return 0;
}

static gnutls_datum_t db_fetch(void *ptr, gnutls_datum_t key) {
        Server *s = ptr;
        gnutls_datum_t d = {};
        if (s->db_key.data && key.size == s->db_key.size && memcmp(key.data, s->db_key.data, key.size) == 0) {
                d.data = gnutls_malloc(s->db_data.size);
                if (d.data) {
                        memcpy(d.data, s->db_data.data, s->db_data.size);
                        d.size = s->db_data.size;
                }
        }
        return d;
}

static int db_remove(void *ptr, gnutls_datum_t key) {
        return 0;
}

static bool wait_readable(Server *s, int fd, gnutls_session_t session) {
        while (!s->stop) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                if (session && gnutls_record_check_pending(session) > 0)
                        return true;
                if (poll(&pfd, 1, 50) > 0)
                        return true;
        }
        return false;
}

static void serve(Server *s, int fd) {
        static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
        gnutls_session_t session = NULL;
        char buf[4096];
        size_t have = 0;

        if (s->cred) {
                int r;
                if (gnutls_init(&session, GNUTLS_SERVER) < 0)
                        return;
                if (s->priority)
                        (void) gnutls_priority_set_direct(session, s->priority, NULL);
                else
                        (void) gnutls_set_default_priority(session);
                (void) gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, s->cred);
                gnutls_db_set_ptr(session, s);
                gnutls_db_set_store_function(session, db_store);
                gnutls_db_set_retrieve_function(session, db_fetch);
                gnutls_db_set_remove_function(session, db_remove);
                gnutls_transport_set_int(session, fd);
                gnutls_handshake_set_timeout(session, 5000);
                do
                        r = gnutls_handshake(session);
                while (r < 0 && !gnutls_error_is_fatal(r));
                if (r < 0) {
                        gnutls_deinit(session);
                        return;
                }
                s->handshakes++;
                if (gnutls_session_is_resumed(session))
                        s->resumed++;
        }
        while (wait_readable(s, fd, session)) {
                ssize_t k = session ? gnutls_record_recv(session, buf + have, sizeof(buf) - have - 1)
                                    : recv(fd, buf + have, sizeof(buf) - have - 1, 0);
                char *end;

                if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)
                        continue;
                if (k <= 0)
                        break;
                s->bytes += (int) k;
                have += (size_t) k;
                buf[have] = 0;
                while ((end = strstr(buf, "\r\n\r\n"))) {
                        size_t used = (size_t) (end + 4 - buf);
                        s->requests++;
                        if (session)
                                (void) gnutls_record_send(session, answer, strlen(answer));
                        else
                                (void) send(fd, answer, strlen(answer), MSG_NOSIGNAL);
                        memmove(buf, buf + used, have - used + 1);
                        have -= used;
                }
                if (have >= sizeof(buf) - 1)
                        break;
        }
        if (session) {
                (void) gnutls_bye(session, GNUTLS_SHUT_WR);
                gnutls_deinit(session);
        }
}

static void *server_main(void *userdata) {
        Server *s = userdata;

        while (!s->stop) {
                struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
                int fd;

                if (poll(&pfd, 1, 50) <= 0)
                        continue;
                fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                s->connections++;
                serve(s, fd);
                close(fd);
        }
        return NULL;
}

/* A server for chain (NULL: plain HTTP) on 127.0.0.1, or ::1 with ipv6 (NULL if there is none);
 * priority: a GnuTLS priority string or NULL. */
static Server *server_start_at(bool ipv6, const Cert *const *chain, size_t n, const char *priority) {
        struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
        struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct sockaddr *sa = ipv6 ? (struct sockaddr *) &a : (struct sockaddr *) &a4;
        socklen_t len = ipv6 ? sizeof(a) : sizeof(a4);
        Server *s = calloc(1, sizeof(*s));

        must(s ? 0 : -1);
        s->fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s->fd < 0 || bind(s->fd, sa, len) < 0) {
                must(ipv6 ? 0 : -1);
                if (s->fd >= 0)
                        close(s->fd);
                free(s);
                return NULL;
        }
        s->priority = priority;
        if (chain) {
                gnutls_x509_crt_t list[20];
                for (size_t i = 0; i < n; i++)
                        list[i] = chain[i]->crt;
                must(gnutls_certificate_allocate_credentials(&s->cred));
                must(gnutls_certificate_set_x509_key(s->cred, list, (int) n, chain[0]->key));
        }
        must(listen(s->fd, 16));
        must(getsockname(s->fd, sa, &len));
        s->port = ntohs(ipv6 ? a.sin6_port : a4.sin_port);
        must(-pthread_create(&s->thread, NULL, server_main, s));
        return s;
}

static Server *server_start(const Cert *const *chain, size_t n, const char *priority) {
        return server_start_at(false, chain, n, priority);
}

static void server_stop(Server *s) {
        s->stop = true;
        pthread_join(s->thread, NULL);
        close(s->fd);
        if (s->cred)
                gnutls_certificate_free_credentials(s->cred);
        free(s->db_key.data);
        free(s->db_data.data);
        free(s);
}

typedef struct Result {
        bool done;
        CURLcode result;
        long status;
        char *error, *body;
        HttpClient *client;
        const char *then_url; /* another request from the callback: the same burst */
        struct Result *then;
} Result;

static int fetch_start(HttpClient *c, const char *url, Result *res);

static void on_done(HttpRequest *req, void *userdata) {
        Result *res = userdata;

        res->result = http_request_result(req);
        res->status = http_request_status(req);
        res->error = http_request_error(req) ? strdup(http_request_error(req)) : NULL;
        res->body = strdup(http_request_body(req, NULL));
        http_request_free(req);
        if (res->then_url)
                must(fetch_start(res->client, res->then_url, res->then));
        res->done = true;
}

static int fetch_start(HttpClient *c, const char *url, Result *res) {
        HttpRequest *req = NULL;
        int r;

        res->client = c;
        r = http_request_new(c, "GET", url, &req);
        if (r < 0)
                return r;
        http_request_set_timeouts(req, 5000, 10000);
        r = http_request_start(req, on_done, res);
        if (r < 0)
                http_request_free(req);
        return r;
}

/* Runs the loop until res is done and no request runs, and then once more so that the client
 * closes its idle connections: the next fetch connects anew. */
static void run(HttpClient *c, Result *res) {
        for (int i = 0; i < 2000 && !(res->done && (!res->then || res->then->done)); i++)
                must(sd_event_run(event, 10 * USEC_PER_MSEC));
        for (int i = 0; i < 3; i++)
                must(sd_event_run(event, 0));
}

static void result_done(Result *res) {
        free(res->error);
        free(res->body);
        *res = (Result) {};
}

static const char *url_of(const char *scheme, const char *host, const Server *s) {
        static char buf[2][128];
        static unsigned i;
        char *p = buf[i++ % 2];
        snprintf(p, sizeof(buf[0]), "%s://%s:%d/", scheme, host, s->port);
        return p;
}

/* One request to a fresh server with chain; checks what the server saw. */
static void check_fetch(const char *name, HttpClient *c, const Cert *const *chain, size_t n, const char *host,
                        bool want, const char *error_part) {
        Server *s = server_start(chain, n, NULL);
        Result res = {};

        must(fetch_start(c, url_of("https", host, s), &res));
        run(c, &res);
        if (want) {
                if (!ok(res.done && res.result == CURLE_OK && res.status == 200 && res.body && streq(res.body, "ok"),
                        "http %s: the request is answered", name))
                        diag("result %d, status %ld: %s", res.result, res.status, res.error ?: "");
                ok(s->connections == 1 && s->requests == 1, "http %s: one connection, one request (%d, %d)", name,
                   (int) s->connections, (int) s->requests);
        } else {
                ok(res.done && res.result == CURLE_PEER_FAILED_VERIFICATION,
                   "http %s: refused as CURLE_PEER_FAILED_VERIFICATION (%d)", name, res.result);
                ok(res.error && strstr(res.error, "TLS certificate of ") && (!error_part || strstr(res.error, error_part)),
                   "http %s: the error says why: %s", name, res.error ?: "(none)");
                ok(s->connections == 1 && s->handshakes <= 1 && s->bytes == 0,
                   "http %s: a connection, and not one byte of request sent (%d connections, %d bytes)", name,
                   (int) s->connections, (int) s->bytes);
        }
        server_stop(s);
        result_done(&res);
}

static void test_http(void) {
        Cert ca = cert_new(&(Spec) { .dn = "CN=HTTP Test Root", .ca = true }, NULL, NULL, NULL);
        Cert other_ca = cert_new(&(Spec) { .dn = "CN=HTTP Other Root", .ca = true }, NULL, NULL, NULL);
        Cert inter = cert_new(&(Spec) { .dn = "CN=HTTP Intermediate", .ca = true }, NULL, &ca, NULL);
        Cert good = cert_new(&(Spec) { .dn = "CN=good", .dns = "localhost", .ip = "127.0.0.1" }, NULL, &ca, NULL);
        Cert dns_only = cert_new(&(Spec) { .dn = "CN=localhost", .dns = "localhost" }, NULL, &ca, NULL);
        Cert good6 = cert_new(&(Spec) { .dn = "CN=good6", .ip = "::1" }, NULL, &ca, NULL);
        Cert via_inter = cert_new(&(Spec) { .dn = "CN=via intermediate", .ip = "127.0.0.1" }, NULL, &inter, NULL);
        Cert unknown = cert_new(&(Spec) { .dn = "CN=unknown", .ip = "127.0.0.1" }, NULL, &other_ca, NULL);
        Cert wrong_host = cert_new(&(Spec) { .dn = "CN=www.example.com", .dns = "www.example.com" }, NULL, &ca, NULL);
        Cert self = cert_new(&(Spec) { .dn = "CN=self", .ip = "127.0.0.1" }, NULL, NULL, NULL);
        Cert expired = cert_new(&(Spec) { .dn = "CN=expired", .ip = "127.0.0.1", .from_days = -30, .to_days = -1 }, NULL, &ca, NULL);
        Cert client_only = cert_new(&(Spec) { .dn = "CN=client", .ip = "127.0.0.1", .purpose = GNUTLS_KP_TLS_WWW_CLIENT },
                                    NULL, &ca, NULL);
        const char *bundle = write_bundle("http.pem", false, (const Cert *const[]) { &ca }, 1);
        const char *other_bundle = write_bundle("http-other.pem", false, (const Cert *const[]) { &other_ca }, 1);
        HttpClient *c = NULL;

        must(http_client_new(event, bundle, &c));
        check_fetch("good", c, CHAIN(&good), "127.0.0.1", true, NULL);
        check_fetch("good, DNS name", c, CHAIN(&dns_only), "localhost", true, NULL);
        check_fetch("intermediate", c, CHAIN(&via_inter, &inter), "127.0.0.1", true, NULL);
        check_fetch("unknown CA", c, CHAIN(&unknown), "127.0.0.1", false, "issuer is unknown");
        check_fetch("wrong host", c, CHAIN(&wrong_host), "127.0.0.1", false, "does not match");
        check_fetch("IP host, DNS-only certificate", c, CHAIN(&dns_only), "127.0.0.1", false, "does not match");
        check_fetch("self-signed", c, CHAIN(&self), "127.0.0.1", false, NULL);
        check_fetch("expired", c, CHAIN(&expired), "127.0.0.1", false, "expired");
        check_fetch("client-only purpose", c, CHAIN(&client_only), "127.0.0.1", false, NULL);
        check_fetch("intermediate missing", c, CHAIN(&via_inter), "127.0.0.1", false, NULL);

        /* Two requests in one burst share the connection; both are checked and answered. */
        {
                Server *s = server_start(CHAIN(&good), NULL);
                Result first = {}, second = {};
                first.then_url = url_of("https", "127.0.0.1", s);
                first.then = &second;
                must(fetch_start(c, url_of("https", "127.0.0.1", s), &first));
                run(c, &first);
                ok(first.result == CURLE_OK && second.result == CURLE_OK && second.status == 200,
                   "http reused connection: both requests answered (%d, %d)", first.result, second.result);
                ok(s->connections == 1 && s->requests == 2, "http reused connection: 2 requests on %d connection(s)",
                   (int) s->connections);
                server_stop(s);
                result_done(&first);
                result_done(&second);
        }

        /* TLS 1.2 session resumption (curl's share): a resumed session is verified too. */
        {
                Server *s = server_start(CHAIN(&good), "NORMAL:-VERS-ALL:+VERS-TLS1.2");
                Result a = {}, b = {};
                must(fetch_start(c, url_of("https", "127.0.0.1", s), &a));
                run(c, &a);
                must(fetch_start(c, url_of("https", "127.0.0.1", s), &b));
                run(c, &b);
                ok(a.result == CURLE_OK && b.result == CURLE_OK && s->connections == 2,
                   "http TLS 1.2: two connections answered (%d, %d)", a.result, b.result);
                ok(s->resumed == 1, "http TLS 1.2: the second resumed the session (%d resumed)", (int) s->resumed);
                server_stop(s);
                result_done(&a);
                result_done(&b);

                s = server_start(CHAIN(&unknown), "NORMAL:-VERS-ALL:+VERS-TLS1.2");
                must(fetch_start(c, url_of("https", "127.0.0.1", s), &a));
                run(c, &a);
                must(fetch_start(c, url_of("https", "127.0.0.1", s), &b));
                run(c, &b);
                ok(a.result == CURLE_PEER_FAILED_VERIFICATION && b.result == CURLE_PEER_FAILED_VERIFICATION &&
                   s->bytes == 0, "http TLS 1.2: an untrusted server is refused, resumed (%d) or not, and gets nothing",
                   (int) s->resumed);
                server_stop(s);
                result_done(&a);
                result_done(&b);
        }

        /* An IPv6 address: checked without its brackets, against the certificate's addresses. */
        {
                Server *s = server_start_at(true, CHAIN(&good6), NULL);
                if (s) {
                        Result a = {};
                        must(fetch_start(c, url_of("https", "[::1]", s), &a));
                        run(c, &a);
                        ok(a.result == CURLE_OK && a.status == 200, "http IPv6 address: answered (%d: %s)", a.result,
                           a.error ?: "");
                        server_stop(s);
                        result_done(&a);
                        s = server_start_at(true, CHAIN(&good), NULL);
                        must(fetch_start(c, url_of("https", "[::1]", s), &a));
                        run(c, &a);
                        ok(a.result == CURLE_PEER_FAILED_VERIFICATION && a.error && strstr(a.error, "of ::1 ") &&
                           s->bytes == 0, "http IPv6 address not in the certificate: refused: %s", a.error ?: "");
                        server_stop(s);
                        result_done(&a);
                } else
                        ok(true, "http IPv6 address # SKIP no ::1");
        }

        /* Plain HTTP (instance metadata) is not affected. */
        {
                Server *s = server_start(NULL, 0, NULL);
                Result a = {};
                must(fetch_start(c, url_of("http", "127.0.0.1", s), &a));
                run(c, &a);
                ok(a.result == CURLE_OK && a.status == 200 && s->requests == 1, "http plain: answered (%d)", a.result);
                server_stop(s);
                result_done(&a);
        }

        /* The bundle file is read again when it changes. */
        write_bundle("http.pem", false, (const Cert *const[]) { &other_ca }, 1);
        check_fetch("bundle changed: old root gone", c, CHAIN(&good), "127.0.0.1", false, "issuer is unknown");
        write_bundle("http.pem", false, (const Cert *const[]) { &ca }, 1);
        check_fetch("bundle changed: root back", c, CHAIN(&good), "127.0.0.1", true, NULL);
        c = http_client_free(c);

        /* AWS_CA_BUNDLE replaces the system store: another CA there, and the server is refused. */
        must(http_client_new(event, other_bundle, &c));
        check_fetch("another bundle", c, CHAIN(&good), "127.0.0.1", false, "http-other.pem");
        c = http_client_free(c);

        /* The system store, as the daemon uses it without AWS_CA_BUNDLE. */
        if (access(SYSTEM_BUNDLE, R_OK) >= 0) {
                must(http_client_new(event, NULL, &c));
                check_fetch("system store", c, CHAIN(&good), "127.0.0.1", false, SYSTEM_BUNDLE);
                c = http_client_free(c);
        } else
                ok(true, "http system store # SKIP no %s", SYSTEM_BUNDLE);

        /* A bundle that cannot be read: curl verifies (and fails) as it always did. */
        must(http_client_new(event, path_of("missing.pem"), &c));
        {
                Server *s = server_start(CHAIN(&good), NULL);
                Result a = {};
                must(fetch_start(c, url_of("https", "127.0.0.1", s), &a));
                run(c, &a);
                ok(a.result == CURLE_SSL_CACERT_BADFILE && s->bytes == 0,
                   "http missing bundle: curl's own CURLE_SSL_CACERT_BADFILE (%d: %s)", a.result, a.error ?: "");
                server_stop(s);
                result_done(&a);
        }
        c = http_client_free(c);

        cert_free(&client_only, true);
        cert_free(&expired, true);
        cert_free(&self, true);
        cert_free(&wrong_host, true);
        cert_free(&unknown, true);
        cert_free(&via_inter, true);
        cert_free(&dns_only, true);
        cert_free(&good6, true);
        cert_free(&good, true);
        cert_free(&inter, true);
        cert_free(&other_ca, true);
        cert_free(&ca, true);
}

int main(void) {
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        char cmd[300];

        if (!mkdtemp(dir))
                return 1;
        signal(SIGPIPE, SIG_IGN);
        unsetenv("AWS_CA_BUNDLE");
        now0 = time(NULL);
        must(gnutls_global_init());
        must(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1);
        must(sd_event_new(&event));

        test_bundle_files();
        test_verify();
        test_names();
        if (v->ssl_version && strncmp(v->ssl_version, "GnuTLS", 6) == 0 && v->version_num >= 0x075000)
                test_http();
        else
                ok(true, "HTTP client # SKIP libcurl %s with %s verifies servers itself", v->version,
                   v->ssl_version ?: "no TLS");

        sd_event_unref(event);
        curl_global_cleanup();
        gnutls_global_deinit();
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                diag("cleanup failed");
        return done_testing();
}
