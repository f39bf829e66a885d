/* SPDX-License-Identifier: MIT */
/* The CA bundle reader of tls-trust.c (PEM blocks, base64, and the DER walk to the issuer and
 * subject names that indexes the bundle without parsing it): no crash, leak or UB on any file, and
 * where GnuTLS parses a certificate, the names found are the ones GnuTLS sees. */
#include <gnutls/x509.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "tls-trust.h"

FUZZ_QUIET_INITIALIZE

static void names_match_gnutls(const uint8_t *data, size_t size) {
        gnutls_datum_t issuer, subject, der = { (unsigned char *) data, (unsigned) size }, raw;
        gnutls_x509_crt_t crt;

        if (tls_trust_cert_names(data, size, &issuer, &subject) < 0)
                return;
        /* Both point inside the input. */
        fuzz_assert(issuer.data >= data && issuer.data + issuer.size <= data + size);
        fuzz_assert(subject.data >= data && subject.data + subject.size <= data + size);
        if (gnutls_x509_crt_init(&crt) < 0)
                abort();
        if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) >= 0) {
                if (gnutls_x509_crt_get_raw_dn(crt, &raw) >= 0) {
                        fuzz_assert(raw.size == subject.size && memcmp(raw.data, subject.data, raw.size) == 0);
                        gnutls_free(raw.data);
                }
                if (gnutls_x509_crt_get_raw_issuer_dn(crt, &raw) >= 0) {
                        fuzz_assert(raw.size == issuer.size && memcmp(raw.data, issuer.data, raw.size) == 0);
                        gnutls_free(raw.data);
                }
        }
        gnutls_x509_crt_deinit(crt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        TlsTrust *t = NULL;
        char path[64];
        int fd, r;

        names_match_gnutls(data, size);

        /* The same bytes as a bundle file. */
        fd = memfd_create("bundle", MFD_CLOEXEC);
        if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size))
                abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        r = tls_trust_new(path, &t);
        if (r >= 0) {
                fuzz_assert(t && tls_trust_n_certs(t) >= 1 && tls_trust_n_loaded(t) == 0);
                tls_trust_free(t);
        } else
                fuzz_assert(!t && (r == -EBADMSG || r == -ENOMEM));
        close(fd);
        return 0;
}
