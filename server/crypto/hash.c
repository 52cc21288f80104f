/* Digests through OpenSSL's EVP interface. Thread safe: one digest context
 * per thread, freed when the thread exits. */
#include "crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

/* OpenSSL 3 looks an algorithm up (under a lock) on every EVP_sha256() use;
 * on the request path that showed in profiles, so the implementation is
 * fetched once and each thread keeps its own digest context. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key; /* the thread's EVP_MD_CTX, freed when it exits */

static void free_ctx(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256_md || pthread_key_create(&ctx_key, free_ctx) != 0)
		abort();
}

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	pthread_once(&sha256_once, fetch_sha256);
	EVP_MD_CTX *thread_ctx = pthread_getspecific(ctx_key);
	if (!thread_ctx) {
		thread_ctx = EVP_MD_CTX_new();
		if (!thread_ctx || pthread_setspecific(ctx_key, thread_ctx) != 0)
			abort();
	}
	unsigned int out_len = 0;
	if (EVP_DigestInit_ex2(thread_ctx, sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(thread_ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(thread_ctx, out, &out_len) != 1)
		abort();
}

void crypto_sha1(const void *data, size_t len, uint8_t out[CRYPTO_SHA1_LEN])
{
	if (EVP_Digest(data, len, out, NULL, EVP_sha1(), NULL) != 1)
		abort();
}

void crypto_hmac_sha1(const void *key, size_t key_len, const void *msg, size_t msg_len,
		      uint8_t out[CRYPTO_SHA1_LEN])
{
	unsigned int out_len = 0;
	if (!HMAC(EVP_sha1(), key, (int)key_len, msg, msg_len, out, &out_len) ||
	    out_len != CRYPTO_SHA1_LEN)
		abort();
}

void crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
			uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int out_len = 0;
	if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &out_len) ||
	    out_len != CRYPTO_SHA256_LEN)
		abort();
}

char *crypto_base64(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

bool crypto_is_wg_key(const char *s)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (strlen(s) != 44 || s[43] != '=')
		return false;
	for (int i = 0; i < 43; i++) {
		const char *d = s[i] ? strchr(digits, s[i]) : NULL;
		if (!d)
			return false;
		/* 32 bytes are 256 bits: the 43rd digit carries 4 of its 6. */
		if (i == 42 && ((d - digits) & 3) != 0)
			return false;
	}
	return true;
}

void crypto_hex(const uint8_t *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * len] = '\0';
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
