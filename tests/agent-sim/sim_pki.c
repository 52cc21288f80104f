/* Node keys and certificate requests for agent-sim, with OpenSSL 3: what a
 * real agent does before it registers or renews, so that its private key never
 * leaves it. Every OpenSSL object is released before a function returns; the
 * PEM strings it hands out are plain malloc'd C strings. */
#include "sim.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void log_openssl_error(const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	fprintf(stderr, "agent-sim: %s: %s\n", what, buf);
	ERR_clear_error();
}

/* The contents of a memory BIO as a C string, or NULL. */
static char *bio_to_string(BIO *bio)
{
	char *data = NULL;
	long len = BIO_get_mem_data(bio, &data);

	if (len <= 0 || !data)
		return NULL;
	char *out = xmalloc((size_t)len + 1);
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	return out;
}

static char *key_to_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;

	if (bio && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
		pem = bio_to_string(bio);
	BIO_free(bio);
	return pem;
}

static char *csr_to_pem(X509_REQ *csr)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;

	if (bio && PEM_write_bio_X509_REQ(bio, csr))
		pem = bio_to_string(bio);
	BIO_free(bio);
	return pem;
}

/* A version 1 request for key with subject CN=<cn>, self-signed with SHA-256. */
static X509_REQ *make_csr(EVP_PKEY *key, const char *cn)
{
	X509_REQ *csr = X509_REQ_new();

	if (!csr)
		return NULL;
	X509_NAME *subject = X509_REQ_get_subject_name(csr);
	if (!X509_REQ_set_version(csr, 0) ||
	    !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					-1, 0) ||
	    !X509_REQ_set_pubkey(csr, key) || X509_REQ_sign(csr, key, EVP_sha256()) <= 0) {
		X509_REQ_free(csr);
		return NULL;
	}
	return csr;
}

bool sim_pki_key_and_csr(const char *cn, char **key_pem, char **csr_pem)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_REQ *csr = NULL;
	bool ok = false;

	*key_pem = NULL;
	*csr_pem = NULL;
	if (!key) {
		log_openssl_error("P-256 key generation");
		goto out;
	}
	csr = make_csr(key, cn);
	if (!csr) {
		log_openssl_error("certificate request");
		goto out;
	}
	*key_pem = key_to_pem(key);
	*csr_pem = csr_to_pem(csr);
	ok = *key_pem && *csr_pem;
	if (!ok) {
		log_openssl_error("PEM encoding");
		free(*key_pem);
		free(*csr_pem);
		*key_pem = NULL;
		*csr_pem = NULL;
	}
out:
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	return ok;
}

bool sim_pki_random_hex8(char out[9])
{
	unsigned char bytes[4];

	if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
		log_openssl_error("RAND_bytes");
		return false;
	}
	snprintf(out, 9, "%02x%02x%02x%02x", bytes[0], bytes[1], bytes[2], bytes[3]);
	return true;
}
