/* Private to server/pki/: the CA's OpenSSL objects and the certificate
 * helpers shared by the CA, node certificates and peer verification. */
#ifndef RUNOSD_PKI_INTERNAL_H
#define RUNOSD_PKI_INTERNAL_H

#include <openssl/bio.h>
#include <openssl/x509.h>
#include <stdbool.h>

#include "pki/ca.h"

#define PKI_DAY_SECONDS (24L * 3600)
/* Certificates start a little in the past, for clocks slightly behind ours. */
#define PKI_BACKDATE_SECONDS 300
#define PKI_SERIAL_BYTES 16

struct pki_ca {
	X509 *cert;
	EVP_PKEY *key;
	X509_STORE *store; /* the CA alone: what peers are verified against */
	char *cert_pem;
	char pin[PKI_PIN_LEN + 1];
};

/* A v3 certificate for key with a random positive serial of
 * PKI_SERIAL_BYTES, valid from a few minutes ago for lifetime seconds;
 * subject, issuer and extensions are the caller's. NULL on failure. */
X509 *pki_new_cert(EVP_PKEY *key, long lifetime);

/* Adds an extension in openssl.cnf syntax ("critical,CA:TRUE"). */
bool pki_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);

/* PEM of a certificate, to free(); NULL on failure. */
char *pki_cert_pem(X509 *cert);

/* PEM of a private key, to free with crypto_free_secret(pem, *len); the
 * BIO that wrote it is wiped. NULL on failure. */
char *pki_key_pem(EVP_PKEY *key, size_t *len);

/* The text a memory BIO holds, as a NUL-terminated copy to free(). */
char *pki_bio_text(BIO *bio, size_t *len);

#endif
