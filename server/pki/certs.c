/* Node and listener certificates, and peer verification (see
 * include/pki/certs.h). */
#include "pki/certs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/seal.h"
#include "pki_internal.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SERVER_CERT_DAYS 365

static int64_t asn1_time_us(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm) * 1000000;
}

static void serial_hex(X509 *cert, char out[PKI_SERIAL_HEX_LEN + 1])
{
	out[0] = '\0';
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	if (hex) {
		snprintf(out, PKI_SERIAL_HEX_LEN + 1, "%s", hex);
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	OPENSSL_free(hex);
	BN_free(bn);
}

static bool strong_key(EVP_PKEY *key)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		return EVP_PKEY_get_bits(key) >= 2048;
	case EVP_PKEY_ED25519:
		return true;
	case EVP_PKEY_EC: {
		char curve[64] = "";
		if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve,
						   sizeof(curve), NULL) != 1)
			return false;
		return strcmp(curve, "prime256v1") == 0 || strcmp(curve, "secp384r1") == 0;
	}
	default:
		return false;
	}
}

/* The public key of a CSR whose self-signature verifies, in *out (a new
 * reference). */
static enum pki_csr_result csr_key(const char *csr_pem, EVP_PKEY **out)
{
	*out = NULL;
	BIO *bio = BIO_new_mem_buf(csr_pem, -1);
	X509_REQ *req = bio ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!req)
		return PKI_CSR_GARBAGE;
	EVP_PKEY *key = X509_REQ_get_pubkey(req);
	enum pki_csr_result r = PKI_CSR_OK;
	if (!key)
		r = PKI_CSR_GARBAGE;
	else if (!strong_key(key))
		r = PKI_CSR_WEAK_KEY;
	else if (X509_REQ_verify(req, key) != 1)
		r = PKI_CSR_BAD_SIGNATURE;
	X509_REQ_free(req);
	if (r == PKI_CSR_OK)
		*out = key;
	else
		EVP_PKEY_free(key);
	return r;
}

static bool set_name(X509 *cert, const char *org, const char *cn)
{
	X509_NAME *name = X509_get_subject_name(cert);
	return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)org, -1,
					  -1, 0) == 1 &&
	       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
					  -1, 0) == 1;
}

/* Signs cert with the CA and fills out (but key_pem). */
static bool sign_into(const struct pki_ca *ca, X509 *cert, struct pki_issued *out)
{
	if (X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) != 1 ||
	    X509_sign(cert, ca->key, EVP_sha256()) <= 0)
		return false;
	out->cert_pem = pki_cert_pem(cert);
	serial_hex(cert, out->serial);
	out->not_after_us = asn1_time_us(X509_get0_notAfter(cert));
	return out->cert_pem && out->serial[0];
}

enum pki_csr_result pki_issue_node_cert(const struct pki_ca *ca, const char *csr_pem,
					const char *aid, const char *nid, long lifetime_seconds,
					struct pki_issued *out)
{
	memset(out, 0, sizeof(*out));
	EVP_PKEY *key = NULL;
	if (csr_pem) {
		enum pki_csr_result r = csr_key(csr_pem, &key);
		if (r != PKI_CSR_OK)
			return r;
	} else {
		key = EVP_EC_gen("P-256");
		out->key_pem = key ? pki_key_pem(key, &out->key_len) : NULL;
		if (!out->key_pem) {
			EVP_PKEY_free(key);
			return PKI_CSR_FAILED;
		}
	}
	char cn[64], san[96];
	snprintf(cn, sizeof(cn), "node:%s:%s", aid, nid);
	snprintf(san, sizeof(san), "URI:runos://node/%s/%s", aid, nid);
	X509 *cert = pki_new_cert(key, lifetime_seconds);
	bool ok = cert && set_name(cert, aid, cn) &&
		  pki_add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") &&
		  pki_add_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature") &&
		  pki_add_ext(cert, ca->cert, NID_ext_key_usage, "clientAuth") &&
		  pki_add_ext(cert, ca->cert, NID_subject_alt_name, san) &&
		  pki_add_ext(cert, ca->cert, NID_authority_key_identifier, "keyid") &&
		  sign_into(ca, cert, out);
	X509_free(cert);
	EVP_PKEY_free(key);
	if (!ok) {
		log_error("could not sign a node certificate for %s/%s", aid, nid);
		pki_issued_free(out);
		return PKI_CSR_FAILED;
	}
	return PKI_CSR_OK;
}

bool pki_issue_server_cert(const struct pki_ca *ca, const char *host, struct pki_issued *out)
{
	memset(out, 0, sizeof(*out));
	unsigned char addr[16];
	bool is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	bool extra = strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0;
	char san[512];
	snprintf(san, sizeof(san), "IP:127.0.0.1,DNS:localhost%s%s",
		 extra ? (is_ip ? ",IP:" : ",DNS:") : "", extra ? host : "");
	EVP_PKEY *key = EVP_EC_gen("P-256");
	out->key_pem = key ? pki_key_pem(key, &out->key_len) : NULL;
	X509 *cert = out->key_pem ? pki_new_cert(key, SERVER_CERT_DAYS * PKI_DAY_SECONDS) : NULL;
	bool ok = cert && set_name(cert, "runos", "runosd agent listener") &&
		  pki_add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") &&
		  pki_add_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature") &&
		  pki_add_ext(cert, ca->cert, NID_ext_key_usage, "serverAuth") &&
		  pki_add_ext(cert, ca->cert, NID_subject_alt_name, san) &&
		  sign_into(ca, cert, out);
	X509_free(cert);
	EVP_PKEY_free(key);
	if (!ok)
		pki_issued_free(out);
	return ok;
}

void pki_issued_free(struct pki_issued *out)
{
	free(out->cert_pem);
	if (out->key_pem)
		crypto_free_secret(out->key_pem, out->key_len);
	memset(out, 0, sizeof(*out));
}

/* aid and nid from the URI SAN runos://node/<aid>/<nid>. */
static bool node_of(X509 *cert, struct pki_peer *out)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool found = false;
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !found; i++) {
		const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
		if (name->type != GEN_URI)
			continue;
		const char *uri =
			(const char *)ASN1_STRING_get0_data(name->d.uniformResourceIdentifier);
		char aid[16], nid[16], rest;
		if (sscanf(uri, "runos://node/%15[a-z0-9]/%15[a-z0-9]%c", aid, nid, &rest) == 2 &&
		    idalloc_is_short_id(aid) && idalloc_is_short_id(nid)) {
			memcpy(out->aid, aid, sizeof(out->aid));
			memcpy(out->nid, nid, sizeof(out->nid));
			found = true;
		}
	}
	GENERAL_NAMES_free(names);
	return found;
}

bool pki_verify_peer(const struct pki_ca *ca, const uint8_t *der, size_t len, struct pki_peer *out)
{
	memset(out, 0, sizeof(*out));
	const unsigned char *p = der;
	X509 *cert = d2i_X509(NULL, &p, (long)len);
	if (!cert)
		return false;
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = ctx && X509_STORE_CTX_init(ctx, ca->store, cert, NULL) == 1 &&
		  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) == 1 &&
		  X509_verify_cert(ctx) == 1 && node_of(cert, out);
	if (ok) {
		serial_hex(cert, out->serial);
		out->not_before_us = asn1_time_us(X509_get0_notBefore(cert));
		out->not_after_us = asn1_time_us(X509_get0_notAfter(cert));
	}
	X509_STORE_CTX_free(ctx);
	X509_free(cert);
	return ok;
}
