/* The agent CA with OpenSSL (see include/pki/ca.h). */
#include "pki/ca.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/seal.h"
#include "pki_internal.h"
#include "util/xmalloc.h"

/* The text a memory BIO holds, as a NUL-terminated copy. */
char *pki_bio_text(BIO *bio, size_t *len)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *out = xmalloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (len)
		*len = (size_t)n;
	return out;
}

char *pki_cert_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = bio && PEM_write_bio_X509(bio, cert) == 1 ? pki_bio_text(bio, NULL) : NULL;
	BIO_free(bio);
	return pem;
}

bool pki_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	bool ok = ext && X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

X509 *pki_new_cert(EVP_PKEY *key, long lifetime)
{
	uint8_t serial[PKI_SERIAL_BYTES];
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return NULL;
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x40; /* and a full PKI_SERIAL_BYTES long */
	X509 *cert = X509_new();
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	bool ok = cert && bn && X509_set_version(cert, 2) == 1 &&
		  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) &&
		  X509_gmtime_adj(X509_getm_notBefore(cert), -PKI_BACKDATE_SECONDS) &&
		  X509_gmtime_adj(X509_getm_notAfter(cert), lifetime) &&
		  X509_set_pubkey(cert, key) == 1;
	BN_free(bn);
	if (!ok) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

static bool set_pin(struct pki_ca *ca)
{
	uint8_t *der = NULL;
	int len = i2d_X509(ca->cert, &der);
	if (len <= 0)
		return false;
	uint8_t digest[CRYPTO_SHA256_LEN];
	crypto_sha256(der, (size_t)len, digest);
	OPENSSL_free(der);
	memcpy(ca->pin, "sha256:", 7);
	crypto_hex(digest, sizeof(digest), ca->pin + 7);
	ca->pin[PKI_PIN_LEN] = '\0';
	ca->cert_pem = pki_cert_pem(ca->cert);
	ca->store = X509_STORE_new();
	return ca->cert_pem && ca->store && X509_STORE_add_cert(ca->store, ca->cert) == 1;
}

struct pki_ca *pki_ca_generate(void)
{
	struct pki_ca *ca = xcalloc(1, sizeof(*ca));
	ca->key = EVP_EC_gen("P-256");
	ca->cert =
		ca->key ? pki_new_cert(ca->key, (365L * PKI_CA_YEARS + 3) * PKI_DAY_SECONDS) : NULL;
	X509_NAME *name = ca->cert ? X509_get_subject_name(ca->cert) : NULL;
	bool ok = name &&
		  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					     (const unsigned char *)"runos", -1, -1, 0) == 1 &&
		  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					     (const unsigned char *)"runosd agent CA", -1, -1,
					     0) == 1 &&
		  X509_set_issuer_name(ca->cert, name) == 1 &&
		  pki_add_ext(ca->cert, ca->cert, NID_basic_constraints,
			      "critical,CA:TRUE,pathlen:0") &&
		  pki_add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") &&
		  pki_add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") &&
		  X509_sign(ca->cert, ca->key, EVP_sha256()) > 0 && set_pin(ca);
	if (!ok) {
		pki_ca_destroy(ca);
		return NULL;
	}
	return ca;
}

struct pki_ca *pki_ca_load(const char *cert_text, const char *key_text)
{
	struct pki_ca *ca = xcalloc(1, sizeof(*ca));
	BIO *cert_bio = BIO_new_mem_buf(cert_text, -1);
	BIO *key_bio = BIO_new_mem_buf(key_text, -1);
	ca->cert = cert_bio ? PEM_read_bio_X509(cert_bio, NULL, NULL, NULL) : NULL;
	ca->key = key_bio ? PEM_read_bio_PrivateKey(key_bio, NULL, NULL, NULL) : NULL;
	BIO_free(cert_bio);
	BIO_free(key_bio);
	bool ok = ca->cert && ca->key && X509_check_private_key(ca->cert, ca->key) == 1 &&
		  set_pin(ca);
	if (!ok) {
		pki_ca_destroy(ca);
		return NULL;
	}
	return ca;
}

void pki_ca_destroy(struct pki_ca *ca)
{
	if (!ca)
		return;
	X509_STORE_free(ca->store);
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca->cert_pem);
	free(ca);
}

const char *pki_ca_cert_pem(const struct pki_ca *ca)
{
	return ca->cert_pem;
}

const char *pki_ca_pin(const struct pki_ca *ca)
{
	return ca->pin;
}

char *pki_key_pem(EVP_PKEY *key, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	if (bio && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
		pem = pki_bio_text(bio, len);
	/* The BIO's buffer held the key too. */
	char *data;
	long n = bio ? BIO_get_mem_data(bio, &data) : 0;
	if (n > 0)
		OPENSSL_cleanse(data, (size_t)n);
	BIO_free(bio);
	return pem;
}

char *pki_ca_key_pem(const struct pki_ca *ca, size_t *len)
{
	return pki_key_pem(ca->key, len);
}
