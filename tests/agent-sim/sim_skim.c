/* Reads a poll answer, {"instructions":[{…},…]}, keeping what the simulated
 * agent acts on (each instruction's tag, type and attempt) and checking that
 * everything else is well-formed JSON without building it. An instruction's
 * payload (a SET_VPN_PEERS carries the cluster's whole peer list, ~8 KB) is
 * skipped, not turned into a tree of objects: with jansson that tree cost
 * agent-sim more CPU per instruction than runosd spends on it, and agent-sim
 * shares the machine with the server it measures. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "util/xmalloc.h"

#define MAX_DEPTH 64

struct skim {
	const char *p, *end;
	int depth;
};

static void skip_space(struct skim *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

/* The next character is c (after white space): taken. */
static bool take(struct skim *s, char c)
{
	skip_space(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string; *start and *len (when start is not NULL) its raw contents, escapes
 * as they are. */
static bool skim_string(struct skim *s, const char **start, size_t *len)
{
	if (!take(s, '"'))
		return false;
	const char *begin = s->p;
	while (s->p < s->end && *s->p != '"') {
		if ((unsigned char)*s->p < 0x20)
			return false;
		if (*s->p == '\\') {
			if (++s->p >= s->end)
				return false;
			if (*s->p == 'u') {
				if (s->end - s->p < 5 || !is_hex(s->p[1]) || !is_hex(s->p[2]) ||
				    !is_hex(s->p[3]) || !is_hex(s->p[4]))
					return false;
				s->p += 4;
			} else if (!strchr("\"\\/bfnrt", *s->p)) {
				return false;
			}
		}
		s->p++;
	}
	if (s->p >= s->end)
		return false;
	if (start) {
		*start = begin;
		*len = (size_t)(s->p - begin);
	}
	s->p++;
	return true;
}

static bool skip_digits(struct skim *s)
{
	const char *from = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > from;
}

/* A number as JSON writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool skim_number(struct skim *s)
{
	skip_space(s);
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (!skip_digits(s))
		return false;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!skip_digits(s))
			return false;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!skip_digits(s))
			return false;
	}
	return true;
}

static bool skim_word(struct skim *s, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return false;
	s->p += n;
	return true;
}

static bool skim_value(struct skim *s);

/* The members of an object or the elements of an array, after its opening
 * bracket, through its closing one. */
static bool skim_members(struct skim *s, bool object)
{
	char close = object ? '}' : ']';
	if (take(s, close))
		return true;
	do {
		if (object && (!skim_string(s, NULL, NULL) || !take(s, ':')))
			return false;
		if (!skim_value(s))
			return false;
	} while (take(s, ','));
	return take(s, close);
}

static bool skim_value(struct skim *s)
{
	skip_space(s);
	if (s->p >= s->end)
		return false;
	switch (*s->p) {
	case '"':
		return skim_string(s, NULL, NULL);
	case '{':
	case '[': {
		bool object = *s->p++ == '{';
		if (++s->depth > MAX_DEPTH)
			return false;
		bool ok = skim_members(s, object);
		s->depth--;
		return ok;
	}
	case 't':
		return skim_word(s, "true");
	case 'f':
		return skim_word(s, "false");
	case 'n':
		return skim_word(s, "null");
	default:
		return skim_number(s);
	}
}

static bool key_is(const char *key, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(key, name, len) == 0;
}

/* A string member copied into out (no escapes: tags and types are plain). */
static bool skim_plain(struct skim *s, char *out, size_t size)
{
	const char *v;
	size_t len;
	if (!skim_string(s, &v, &len) || len == 0 || len >= size || memchr(v, '\\', len))
		return false;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

/* An integer member. */
static bool skim_integer(struct skim *s, long *out)
{
	skip_space(s);
	const char *from = s->p;
	if (!skim_number(s))
		return false;
	char buf[24];
	size_t len = (size_t)(s->p - from);
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, from, len);
	buf[len] = '\0';
	char *end;
	*out = strtol(buf, &end, 10);
	return *end == '\0';
}

/* One instruction: an object with a tag, a type and an attempt. */
static bool skim_instruction(struct skim *s, struct sim_instruction *in)
{
	bool tag = false, type = false, attempt = false;
	if (!take(s, '{'))
		return false;
	if (take(s, '}'))
		return false;
	do {
		const char *key;
		size_t len;
		if (!skim_string(s, &key, &len) || !take(s, ':'))
			return false;
		bool ok;
		if (key_is(key, len, "tag"))
			ok = !tag && (tag = skim_plain(s, in->tag, sizeof(in->tag)));
		else if (key_is(key, len, "type"))
			ok = !type && (type = skim_plain(s, in->type, sizeof(in->type)));
		else if (key_is(key, len, "attempt"))
			ok = !attempt && (attempt = skim_integer(s, &in->attempt));
		else
			ok = skim_value(s);
		if (!ok)
			return false;
	} while (take(s, ','));
	return take(s, '}') && tag && type && attempt;
}

static bool skim_list(struct skim *s, struct sim_instruction **out, size_t *n, size_t *cap)
{
	if (!take(s, '['))
		return false;
	if (take(s, ']'))
		return true;
	do {
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 16;
			*out = xrealloc(*out, *cap * sizeof(**out));
		}
		if (!skim_instruction(s, &(*out)[*n]))
			return false;
		(*n)++;
	} while (take(s, ','));
	return take(s, ']');
}

bool sim_skim_instructions(const char *body, size_t len, struct sim_instruction **out, size_t *n)
{
	struct skim s = { body, body + len, 0 };
	size_t cap = 0;
	bool list = false, ok = take(&s, '{') && !take(&s, '}');
	*out = NULL;
	*n = 0;
	while (ok) {
		const char *key;
		size_t klen;
		ok = skim_string(&s, &key, &klen) && take(&s, ':');
		if (ok && key_is(key, klen, "instructions"))
			ok = !list && (list = skim_list(&s, out, n, &cap));
		else if (ok)
			ok = skim_value(&s);
		if (!ok || !take(&s, ','))
			break;
	}
	ok = ok && list && take(&s, '}');
	skip_space(&s);
	if (!ok || s.p != s.end) {
		free(*out);
		*out = NULL;
		*n = 0;
		return false;
	}
	return true;
}
