/* Conversions between libpq's text values and C values, for the stores.
 * Stateless. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "db_internal.h"
#include "util/xmalloc.h"

int64_t db_get_int64(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool db_get_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

void db_get_text(const PGresult *res, int row, int col, char *out, size_t cap)
{
	if (cap == 0)
		return;
	const char *v = PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
	size_t n = strlen(v);
	if (n >= cap) {
		/* Cut before a whole character: half of one would make the text
		 * invalid UTF-8, which the JSON of the answer cannot carry. */
		n = cap - 1;
		while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, v, n);
	out[n] = '\0';
}

const char *db_int64_param(int64_t v, char buf[24])
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

const char *db_bytea_param(const uint8_t *bytes, size_t len, char *out)
{
	out[0] = '\\';
	out[1] = 'x';
	crypto_hex(bytes, len, out + 2);
	return out;
}

/* Room for n more bytes, and the closing "}" and NUL. */
static void array_reserve(struct db_array *a, size_t n)
{
	if (a->len + n + 2 <= a->cap)
		return;
	a->cap = 2 * (a->len + n + 2);
	a->text = xrealloc(a->text, a->cap);
}

void db_array_add(struct db_array *a, const char *text)
{
	array_reserve(a, 2 * strlen(text) + 3);
	a->text[a->len] = a->len == 0 ? '{' : ',';
	a->len++;
	a->text[a->len++] = '"';
	for (const char *p = text; *p; p++) {
		if (*p == '"' || *p == '\\')
			a->text[a->len++] = '\\';
		a->text[a->len++] = *p;
	}
	a->text[a->len++] = '"';
}

const char *db_array_param(struct db_array *a)
{
	array_reserve(a, 1);
	if (a->len == 0)
		a->text[a->len++] = '{';
	a->text[a->len] = '}';
	a->text[a->len + 1] = '\0';
	return a->text;
}

void db_array_finish(struct db_array *a)
{
	free(a->text);
	a->text = NULL;
	a->len = a->cap = 0;
}
