/* Secret masking (see include/util/mask.h): one pass over the text, copying
 * it and replacing what looks like a secret. */
#include "util/mask.h"

#include <ctype.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "util/xmalloc.h"

#define MASK "***"

static const char *const secret_names[] = { "password", "passwd", "secret",	"token",
					    "api_key",	"apikey", "private_key" };

static bool is_base62(char c)
{
	return isalnum((unsigned char)c);
}

/* A runos token at p ("rn" + one of s p j i d c w + "_" + 20 or more base62): its length. */
static size_t token_at(const char *p)
{
	if (p[0] != 'r' || p[1] != 'n' || !strchr("spjidcw", p[2]) || !p[2] || p[3] != '_')
		return 0;
	size_t n = 4;
	while (is_base62(p[n]))
		n++;
	return n >= 24 ? n : 0;
}

/* A PEM private key block at p ("-----BEGIN ... PRIVATE KEY-----" to the end
 * of its END line, or of the text when it has none): its length. */
static size_t private_key_at(const char *p)
{
	static const char tail[] = "PRIVATE KEY";
	const size_t begin_len = 11, tail_len = sizeof(tail) - 1; /* "-----BEGIN " */
	if (strncmp(p, "-----BEGIN ", begin_len) != 0)
		return 0;
	size_t label_len = strcspn(p + begin_len, "-\n");
	const char *label_end = p + begin_len + label_len;
	if (strncmp(label_end, "-----", 5) != 0 || label_len < tail_len ||
	    strncmp(label_end - tail_len, tail, tail_len) != 0)
		return 0;
	const char *end = strstr(label_end + 5, "-----END ");
	const char *close = end ? strstr(end + 9, "-----") : NULL;
	return close ? (size_t)(close + 5 - p) : strlen(p);
}

/* "name=" or "name:" (optionally quoted name, spaces around) at p, for a
 * secret name: the length up to the value. */
static size_t secret_pair_at(const char *text, const char *p)
{
	if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
		return 0;
	for (size_t i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]); i++) {
		size_t len = strlen(secret_names[i]);
		if (strncasecmp(p, secret_names[i], len) != 0)
			continue;
		size_t n = len;
		if (p[n] == '"' || p[n] == '\'')
			n++;
		while (p[n] == ' ')
			n++;
		if (p[n] != '=' && p[n] != ':')
			continue;
		n++;
		while (p[n] == ' ' || p[n] == '"' || p[n] == '\'')
			n++;
		return n;
	}
	return 0;
}

static size_t value_length(const char *p)
{
	size_t n = 0;
	while (p[n] && !isspace((unsigned char)p[n]) && !strchr("\"'&,;}", p[n]))
		n++;
	return n;
}

char *mask_secrets(const char *text)
{
	size_t len = strlen(text);
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (const char *p = text; *p;) {
		size_t n;
		if ((n = token_at(p)) > 0) {
			memcpy(out + o, p, 4);
			memcpy(out + o + 4, MASK, 3);
			o += 7;
			p += n;
		} else if ((n = private_key_at(p)) > 0) {
			memcpy(out + o, MASK, 3);
			o += 3;
			p += n;
		} else if ((n = secret_pair_at(text, p)) > 0 && value_length(p + n) > 0) {
			memcpy(out + o, p, n);
			o += n;
			memcpy(out + o, MASK, 3);
			o += 3;
			p += n + value_length(p + n);
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}
