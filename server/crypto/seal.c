/* Envelope encryption of secrets with AES-256-GCM through OpenSSL (see
 * include/crypto/seal.h). Keyrings are immutable; every call uses its own
 * cipher context, so everything here is thread safe. Keys are wiped when a
 * keyring is destroyed. */
#include "crypto/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "util/xmalloc.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define PARTS 6

struct seal_key {
	uint8_t key[SEAL_KEY_LEN];
	char id[SEAL_KEY_ID_LEN + 1];
};

struct seal_keyring {
	size_t n;
	struct seal_key *keys;
};

static void key_id(const uint8_t key[SEAL_KEY_LEN], char out[SEAL_KEY_ID_LEN + 1])
{
	/* The id names a key without revealing it: a hash of a hash prefix. */
	uint8_t digest[CRYPTO_SHA256_LEN];
	crypto_sha256(key, SEAL_KEY_LEN, digest);
	crypto_hex(digest, SEAL_KEY_ID_LEN / 2, out);
}

struct seal_keyring *crypto_keyring_create(const uint8_t (*keys)[SEAL_KEY_LEN], size_t n)
{
	struct seal_keyring *ring = xcalloc(1, sizeof(*ring));
	ring->n = n;
	ring->keys = xcalloc(n, sizeof(*ring->keys));
	for (size_t i = 0; i < n; i++) {
		memcpy(ring->keys[i].key, keys[i], SEAL_KEY_LEN);
		key_id(keys[i], ring->keys[i].id);
	}
	return ring;
}

void crypto_keyring_destroy(struct seal_keyring *ring)
{
	if (!ring)
		return;
	OPENSSL_cleanse(ring->keys, ring->n * sizeof(*ring->keys));
	free(ring->keys);
	free(ring);
}

void crypto_free_secret(void *secret, size_t len)
{
	if (!secret)
		return;
	OPENSSL_cleanse(secret, len);
	free(secret);
}

/* AES-256-GCM of in (len bytes) with aad; out gets len bytes and the tag. */
static bool gcm(bool encrypt, const uint8_t key[SEAL_KEY_LEN], const uint8_t nonce[NONCE_LEN],
		const char *aad, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	bool ok = ctx &&
		  EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1 &&
		  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
		  EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, encrypt) == 1 &&
		  EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
		  (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
	if (ok && !encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(ctx, out + len, &n) == 1;
	if (ok && encrypt)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

static char *b64url(const uint8_t *in, size_t len)
{
	char *out = crypto_base64(in, len);
	/* To base64url without padding, so the parts can be joined with '.'. */
	size_t n = strlen(out);
	for (size_t i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	return out;
}

/* Decodes base64url into a fresh buffer; NULL on a malformed part. */
static uint8_t *unb64url(const char *in, size_t in_len, size_t *out_len)
{
	size_t padded = (in_len + 3) / 4 * 4;
	char *text = xmalloc(padded + 1);
	for (size_t i = 0; i < padded; i++) {
		char c = i < in_len ? in[i] : '=';
		text[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	text[padded] = '\0';
	uint8_t *out = xmalloc(padded / 4 * 3 + 1);
	int n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)padded);
	free(text);
	if (n < 0 || in_len % 4 == 1) {
		free(out);
		return NULL;
	}
	*out_len = (size_t)n - (padded - in_len); /* drop what the padding added */
	/* Only the canonical encoding is accepted: a last character whose unused
	 * bits differ would otherwise decode to the same bytes. */
	char *again = b64url(out, *out_len);
	bool canonical = strlen(again) == in_len && memcmp(again, in, in_len) == 0;
	free(again);
	if (!canonical) {
		free(out);
		return NULL;
	}
	return out;
}

char *crypto_seal(const struct seal_keyring *ring, const void *plain, size_t len, const char *aad)
{
	const struct seal_key *master = &ring->keys[0];
	uint8_t dek[SEAL_KEY_LEN], wrap_nonce[NONCE_LEN], nonce[NONCE_LEN];
	uint8_t wrapped[SEAL_KEY_LEN + TAG_LEN];
	crypto_random_bytes(dek, sizeof(dek));
	crypto_random_bytes(wrap_nonce, sizeof(wrap_nonce));
	crypto_random_bytes(nonce, sizeof(nonce));
	uint8_t *ct = xmalloc(len + TAG_LEN);
	if (!gcm(true, master->key, wrap_nonce, master->id, dek, SEAL_KEY_LEN, wrapped,
		 wrapped + SEAL_KEY_LEN) ||
	    !gcm(true, dek, nonce, aad, plain, len, ct, ct + len))
		abort(); /* encryption with valid inputs cannot fail but for OOM */
	OPENSSL_cleanse(dek, sizeof(dek));

	char *parts[] = { b64url(wrap_nonce, NONCE_LEN), b64url(wrapped, sizeof(wrapped)),
			  b64url(nonce, NONCE_LEN), b64url(ct, len + TAG_LEN) };
	char *out =
		xasprintf("v1.%s.%s.%s.%s.%s", master->id, parts[0], parts[1], parts[2], parts[3]);
	for (size_t i = 0; i < 4; i++)
		free(parts[i]);
	free(ct);
	return out;
}

uint8_t *crypto_unseal(const struct seal_keyring *ring, const char *sealed, const char *aad,
		       size_t *len)
{
	/* Split into the six dot-separated parts. */
	const char *part[PARTS];
	size_t part_len[PARTS];
	const char *p = sealed;
	for (int i = 0; i < PARTS; i++) {
		const char *dot = strchr(p, '.');
		if ((i < PARTS - 1) != (dot != NULL))
			return NULL;
		part[i] = p;
		part_len[i] = dot ? (size_t)(dot - p) : strlen(p);
		p = dot ? dot + 1 : p;
	}
	if (part_len[0] != 2 || memcmp(part[0], "v1", 2) != 0 || part_len[1] != SEAL_KEY_ID_LEN)
		return NULL;
	const struct seal_key *master = NULL;
	for (size_t i = 0; i < ring->n; i++)
		if (memcmp(ring->keys[i].id, part[1], SEAL_KEY_ID_LEN) == 0)
			master = &ring->keys[i];
	if (!master)
		return NULL;

	uint8_t *bin[4] = { NULL };
	size_t bin_len[4];
	uint8_t *plain = NULL;
	uint8_t dek[SEAL_KEY_LEN];
	bool ok = true;
	for (int i = 0; i < 4 && ok; i++)
		ok = (bin[i] = unb64url(part[i + 2], part_len[i + 2], &bin_len[i])) != NULL;
	ok = ok && bin_len[0] == NONCE_LEN && bin_len[1] == SEAL_KEY_LEN + TAG_LEN &&
	     bin_len[2] == NONCE_LEN && bin_len[3] >= TAG_LEN;
	ok = ok && gcm(false, master->key, bin[0], master->id, bin[1], SEAL_KEY_LEN, dek,
		       bin[1] + SEAL_KEY_LEN);
	if (ok) {
		size_t n = bin_len[3] - TAG_LEN;
		plain = xmalloc(n + 1 + TAG_LEN); /* GCM's final may write up to a block */
		if (gcm(false, dek, bin[2], aad, bin[3], n, plain, bin[3] + n)) {
			plain[n] = '\0';
			*len = n;
		} else {
			crypto_free_secret(plain, n + 1 + TAG_LEN);
			plain = NULL;
		}
	}
	OPENSSL_cleanse(dek, sizeof(dek));
	for (int i = 0; i < 4; i++)
		free(bin[i]);
	return plain;
}

static bool decode_key(const char *text, uint8_t key[SEAL_KEY_LEN])
{
	uint8_t buf[48];
	size_t n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		n--;
	if (n != 44)
		return false;
	int got = EVP_DecodeBlock(buf, (const unsigned char *)text, 44);
	bool ok = got == 33 && text[43] == '=' && text[42] != '=';
	if (ok)
		memcpy(key, buf, SEAL_KEY_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return ok;
}

bool crypto_master_key_load(const char *env_value, const char *state_dir, uint8_t key[SEAL_KEY_LEN],
			    char *origin, size_t origincap, char *err, size_t errcap)
{
	if (env_value) {
		snprintf(origin, origincap, "RUNOS_MASTER_KEY");
		if (decode_key(env_value, key))
			return true;
		snprintf(err, errcap, "RUNOS_MASTER_KEY: not base64 of 32 bytes");
		return false;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/master.key", state_dir);
	snprintf(origin, origincap, "The master key file %s (RUNOS_MASTER_KEY is not set)", path);
	char text[128] = "";
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
		bool ok = decode_key(text, key);
		OPENSSL_cleanse(text, sizeof(text));
		if (!ok)
			snprintf(err, errcap, "%s: not base64 of 32 bytes (RUNOS_MASTER_KEY)",
				 path);
		return ok;
	}
	if (errno != ENOENT) {
		snprintf(err, errcap, "%s: %s (RUNOS_STATE_DIR)", path, strerror(errno));
		return false;
	}
	/* First start in development: make a key only this user can read. */
	snprintf(
		origin, origincap,
		"The master key file %s, created now (RUNOS_MASTER_KEY is not set and the file did "
		"not exist),",
		path);
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errcap, "RUNOS_STATE_DIR: cannot create %s: %s", state_dir,
			 strerror(errno));
		return false;
	}
	crypto_random_bytes(key, SEAL_KEY_LEN);
	EVP_EncodeBlock((unsigned char *)text, key, SEAL_KEY_LEN);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	int open_errno = errno;
	bool ok = fd >= 0 && write(fd, text, 44) == 44 && write(fd, "\n", 1) == 1;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	OPENSSL_cleanse(text, sizeof(text));
	if (!ok) {
		snprintf(err, errcap, "%s: cannot write the new master key: %s (RUNOS_STATE_DIR)",
			 path, strerror(errno));
		/* Another process may have won the race to create it: use that one. */
		if (fd < 0 && open_errno == EEXIST)
			return crypto_master_key_load(NULL, state_dir, key, origin, origincap, err,
						      errcap);
	}
	return ok;
}
