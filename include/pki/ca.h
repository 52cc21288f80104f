/* The agent CA (AGENT.md §1): an ECDSA P-256 certificate authority that signs
 * node certificates and the agent listener's certificate. One per
 * installation, created at first start and kept in the database with its
 * private key sealed (server/pki/ca_boot.c). Immutable once built, so thread
 * safe. */
#ifndef RUNOSD_PKI_CA_H
#define RUNOSD_PKI_CA_H

#include <stdbool.h>
#include <stddef.h>

#define PKI_CA_YEARS 10
/* "sha256:" + 64 hex digits */
#define PKI_PIN_LEN (7 + 64)

struct pki_ca;

/* A new CA with a fresh key, valid from now for PKI_CA_YEARS. */
struct pki_ca *pki_ca_generate(void);

/* The CA from its certificate and private key (PEM). NULL when either does not
 * parse or the key is not the certificate's. */
struct pki_ca *pki_ca_load(const char *cert_pem, const char *key_pem);

void pki_ca_destroy(struct pki_ca *ca);

const char *pki_ca_cert_pem(const struct pki_ca *ca);

/* "sha256:<hex>" of the CA certificate's DER: what installers pin. */
const char *pki_ca_pin(const struct pki_ca *ca);

/* The private key as PEM, to seal; free with crypto_free_secret(key, *len). */
char *pki_ca_key_pem(const struct pki_ca *ca, size_t *len);

#endif
