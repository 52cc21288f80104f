/* What the agent CA signs (AGENT.md §1): node certificates, from a CSR's
 * public key or a key made here, and the agent listener's own certificate;
 * and the check of a peer certificate an agent presents. Thread safe. */
#ifndef RUNOSD_PKI_CERTS_H
#define RUNOSD_PKI_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idalloc/ids.h"
#include "pki/ca.h"

#define PKI_NODE_CERT_DAYS 30
#define PKI_SERIAL_HEX_LEN 32

enum pki_csr_result {
	PKI_CSR_OK,
	PKI_CSR_GARBAGE,       /* not a PEM certificate request */
	PKI_CSR_BAD_SIGNATURE, /* its self-signature does not verify */
	PKI_CSR_WEAK_KEY,      /* RSA under 2048 bits, or a curve but P-256, P-384, Ed25519 */
	PKI_CSR_FAILED,	       /* signing failed (logged) */
};

struct pki_issued {
	char *cert_pem;
	char *key_pem; /* the private key when it was made here, else NULL: a secret */
	size_t key_len;
	char serial[PKI_SERIAL_HEX_LEN + 1]; /* lower-case hex */
	int64_t not_after_us;
};

/* A node certificate: subject CN=node:<aid>:<nid>, O=<aid>, URI SAN
 * runos://node/<aid>/<nid>, clientAuth only, lifetime_seconds long. The key is
 * csr_pem's public key (the CSR's subject and extensions are ignored), or,
 * when csr_pem is NULL, a new P-256 key returned in out->key_pem. */
enum pki_csr_result pki_issue_node_cert(const struct pki_ca *ca, const char *csr_pem,
					const char *aid, const char *nid, long lifetime_seconds,
					struct pki_issued *out) __attribute__((warn_unused_result));

/* The agent listener's certificate (serverAuth) for host, an IP address or a
 * DNS name, with 127.0.0.1 and localhost too; a new key in out->key_pem. */
bool pki_issue_server_cert(const struct pki_ca *ca, const char *host, struct pki_issued *out)
	__attribute__((warn_unused_result));

/* Frees what out holds (the key zeroed first). */
void pki_issued_free(struct pki_issued *out);

struct pki_peer {
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	char nid[IDALLOC_SHORT_ID_LEN + 1];
	char serial[PKI_SERIAL_HEX_LEN + 1];
	int64_t not_before_us, not_after_us;
};

/* Checks a client certificate (DER): signed by the CA, within its validity
 * now, for clientAuth, naming a node. */
bool pki_verify_peer(const struct pki_ca *ca, const uint8_t *der, size_t len, struct pki_peer *out)
	__attribute__((warn_unused_result));

#endif
