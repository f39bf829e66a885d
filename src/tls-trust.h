/* SPDX-License-Identifier: MIT */
/* Server certificate verification with one CA bundle for the process's life, for curl's GnuTLS
 * backend. curl 7.88 with GnuTLS parses the whole bundle for every new connection (Debian's 144
 * CAs: ~12 ms, and ~3.7 MiB kept while the connection lives) and cannot be handed a parsed one.
 * Here the bundle is read once and indexed by subject name without parsing it; a CA certificate is
 * parsed when a server's chain first names it, and then stays. Verification is GnuTLS's own
 * (gnutls_certificate_verify_peers()), so it accepts and rejects what GnuTLS with the whole bundle
 * would, and also requires the TLS server key purpose. */
#pragma once

#include <stddef.h>
#include <gnutls/gnutls.h>

#include "macro.h"

typedef struct TlsTrust TlsTrust;

/* Reads the PEM bundle at path: its "CERTIFICATE" blocks, as GnuTLS reads a CA file. Returns 0,
 * -errno if it cannot be read, or -EBADMSG if it holds no certificate or a block that does not
 * decode to one. The file is checked again before each verification and re-read if it changed. */
int tls_trust_new(const char *path, TlsTrust **ret);
/* NULL-safe. */
TlsTrust *tls_trust_free(TlsTrust *t);
void tls_trust_freep(TlsTrust **t);

/* Verifies the server certificate chain of an established client session for host (a DNS name,
 * or an IP address without brackets, which must then be in the certificate's IP addresses) and
 * the TLS server purpose. A session already verified for host is not verified again. Returns 0
 * if trusted; otherwise -EPERM (not trusted), -ENOMEM or the bundle's read error, with a one-line
 * reason in *ret_reason (to free; may be NULL when out of memory) if ret_reason is not NULL. */
int tls_trust_verify(TlsTrust *t, gnutls_session_t session, const char *host, char **ret_reason);

/* The raw issuer and subject names of a DER certificate (pointing into der), as
 * gnutls_x509_crt_get_raw_issuer_dn() and gnutls_x509_crt_get_raw_dn() give them, found without
 * parsing the rest: how the bundle is indexed. Returns 0 or -EBADMSG. */
int tls_trust_cert_names(const void *der, size_t size, gnutls_datum_t *ret_issuer, gnutls_datum_t *ret_subject);

/* The bundle's path. */
const char *tls_trust_path(const TlsTrust *t);
/* Certificates in the bundle, how many of them are parsed so far, and how many chains were
 * verified (sessions found already verified do not count). For logs and tests. */
size_t tls_trust_n_certs(const TlsTrust *t);
size_t tls_trust_n_loaded(const TlsTrust *t);
unsigned tls_trust_n_verified(const TlsTrust *t);
