/* Request body and query validation against the route table's input and
 * query schemas (see include/http/validate.h). Stateless. */
#include "http/validate.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"

size_t http_utf8_length(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Bytes after a lead byte of a UTF-8 sequence whose second byte is b (RFC
 * 3629: no overlong forms, surrogates or code points past U+10FFFF), or -1. */
static int utf8_tail(unsigned char lead, unsigned char b)
{
	bool cont = (b & 0xC0) == 0x80;
	if (lead >= 0xC2 && lead <= 0xDF)
		return cont ? 1 : -1;
	if (lead == 0xE0)
		return b >= 0xA0 && b <= 0xBF ? 2 : -1;
	if (lead == 0xED)
		return b >= 0x80 && b <= 0x9F ? 2 : -1;
	if (lead >= 0xE1 && lead <= 0xEF)
		return cont ? 2 : -1;
	if (lead == 0xF0)
		return b >= 0x90 && b <= 0xBF ? 3 : -1;
	if (lead >= 0xF1 && lead <= 0xF3)
		return cont ? 3 : -1;
	if (lead == 0xF4)
		return b >= 0x80 && b <= 0x8F ? 3 : -1;
	return -1;
}

void http_utf8_make_valid(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		int tail = p[1] ? utf8_tail(p[0], p[1]) : -1;
		for (int i = 2; tail > 0 && i <= tail; i++)
			if ((p[i] & 0xC0) != 0x80)
				tail = -1;
		if (tail < 0) {
			*p++ = '?';
			continue;
		}
		p += 1 + tail;
	}
}

static const char *type_name(enum field_type t)
{
	switch (t) {
	case FIELD_STRING:
	case FIELD_ENUM:
	case FIELD_TEXT:
		return "a string";
	case FIELD_TIME:
		return "an RFC 3339 time string";
	case FIELD_INTEGER:
		return "an integer";
	case FIELD_BOOLEAN:
		return "a boolean";
	case FIELD_STRINGS:
		return "an array of strings";
	case FIELD_OBJECT:
		return "an object";
	case FIELD_JSON:
		return "JSON";
	case FIELD_OBJECTS:
		return "an array of objects";
	case FIELD_INTEGERS:
		return "an array of integers";
	}
	return "?";
}

static bool fail(struct validation_error *err, const char *code, const char *field, const char *fmt,
		 const char *detail)
{
	err->code = code;
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), fmt, field, detail);
	return false;
}

static bool is_blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

/* Control characters; multi-line text may have line breaks and tabs. */
static bool has_control_chars(const char *s, bool multi_line)
{
	for (; *s; s++) {
		if (multi_line && (*s == '\n' || *s == '\r' || *s == '\t'))
			continue;
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

static bool check_field(const struct field_spec *f, json_t *value, struct validation_error *err)
{
	if (json_is_null(value))
		return f->required ? fail(err, "validation.required", f->name,
					  "Field %s is required%s", "")
				   : true;
	bool type_ok = false;
	switch (f->type) {
	case FIELD_STRING:
	case FIELD_ENUM:
	case FIELD_TIME:
	case FIELD_TEXT:
		type_ok = json_is_string(value);
		break;
	case FIELD_INTEGER:
		type_ok = json_is_integer(value);
		break;
	case FIELD_BOOLEAN:
		type_ok = json_is_boolean(value);
		break;
	case FIELD_STRINGS:
		type_ok = json_is_array(value);
		for (size_t i = 0; type_ok && i < json_array_size(value); i++) {
			json_t *item = json_array_get(value, i);
			type_ok = json_is_string(item) && json_string_length(item) <= 256;
		}
		break;
	case FIELD_OBJECT:
		type_ok = json_is_object(value);
		break;
	case FIELD_JSON:
		type_ok = true;
		break;
	case FIELD_OBJECTS: /* answers only; checked the same way if a body had one */
	case FIELD_INTEGERS:
		type_ok = json_is_array(value);
		for (size_t i = 0; type_ok && i < json_array_size(value); i++) {
			json_t *item = json_array_get(value, i);
			type_ok = f->type == FIELD_OBJECTS ? json_is_object(item)
							   : json_is_integer(item);
		}
		break;
	}
	if (!type_ok)
		return fail(err, "validation.type", f->name, "Field %s must be %s",
			    type_name(f->type));
	if (json_is_array(value) && f->max_len > 0 && json_array_size(value) > (size_t)f->max_len) {
		char bounds[64];
		snprintf(bounds, sizeof(bounds), "at most %d items", f->max_len);
		return fail(err, "validation.length", f->name, "Field %s must have %s", bounds);
	}
	if (json_is_integer(value) && f->max_len > 0) {
		json_int_t v = json_integer_value(value);
		char bounds[64];
		snprintf(bounds, sizeof(bounds), "between %d and %d", f->min_len, f->max_len);
		if (v < f->min_len || v > f->max_len)
			return fail(err, "validation.range", f->name, "Field %s must be %s",
				    bounds);
	}
	if (!json_is_string(value))
		return true;

	const char *s = json_string_value(value);
	if (f->type == FIELD_ENUM) {
		for (const char *const *c = f->choices; c && *c; c++)
			if (strcmp(*c, s) == 0)
				return true;
		char allowed[160] = "";
		for (const char *const *c = f->choices; c && *c; c++)
			snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
				 "%s%s", c == f->choices ? "" : ", ", *c);
		return fail(err, "validation.invalid", f->name, "Field %s must be one of: %s",
			    allowed);
	}
	if (f->type == FIELD_TIME) {
		int64_t us;
		if (!time_parse_rfc3339(s, &us))
			return fail(err, "validation.invalid", f->name, "Field %s must be %s",
				    type_name(f->type));
		return true;
	}
	if (json_string_length(value) != strlen(s))
		return fail(err, "validation.invalid", f->name, "Field %s contains a NUL%s", "");
	size_t len = http_utf8_length(s);
	if ((f->min_len && len < (size_t)f->min_len) || (f->max_len && len > (size_t)f->max_len)) {
		char bounds[64];
		snprintf(bounds, sizeof(bounds), "between %d and %d characters", f->min_len,
			 f->max_len);
		return fail(err, "validation.length", f->name, "Field %s must be %s", bounds);
	}
	if (f->min_len > 0 && is_blank(s))
		return fail(err, "validation.invalid", f->name, "Field %s must not be blank%s", "");
	if (has_control_chars(s, f->type == FIELD_TEXT))
		return fail(err, "validation.invalid", f->name,
			    "Field %s must not contain control characters%s", "");
	return true;
}

bool http_validate_body(const struct field_spec *spec, json_t *body, struct validation_error *err)
{
	memset(err, 0, sizeof(*err));
	const char *key;
	json_t *value;
	json_object_foreach (body, key, value) {
		const struct field_spec *f = NULL;
		for (const struct field_spec *s = spec; s && s->name; s++)
			if (strcmp(s->name, key) == 0)
				f = s;
		if (!f) {
			char shown[64];
			snprintf(shown, sizeof(shown), "%s", key);
			return fail(err, "validation.unknown_field", shown, "Unknown field %s%s",
				    "");
		}
		if (!check_field(f, value, err))
			return false;
	}
	for (const struct field_spec *s = spec; s && s->name; s++) {
		json_t *v = json_object_get(body, s->name);
		if (s->required && (!v || json_is_null(v)))
			return fail(err, "validation.required", s->name, "Field %s is required%s",
				    "");
	}
	return true;
}

bool http_validate_query(const struct field_spec *spec, const char *name, const char *value,
			 struct validation_error *err)
{
	memset(err, 0, sizeof(*err));
	const struct field_spec *f = NULL;
	for (const struct field_spec *s = spec; s && s->name; s++)
		if (strcmp(s->name, name) == 0)
			f = s;
	char shown[64];
	snprintf(shown, sizeof(shown), "%s", name);
	http_utf8_make_valid(shown);
	if (!f)
		return fail(err, "validation.unknown_field", shown, "Unknown query parameter %s%s",
			    "");
	json_t *v;
	if (f->type == FIELD_INTEGER) {
		char *end;
		errno = 0;
		long long n = strtoll(value, &end, 10);
		if (errno || end == value || *end != '\0') {
			char bounds[64] = "";
			if (f->max_len > 0)
				snprintf(bounds, sizeof(bounds), " from %d to %d", f->min_len,
					 f->max_len);
			return fail(err, "validation.range", f->name,
				    "Query parameter %s must be an integer%s", bounds);
		}
		v = json_integer(n);
	} else {
		/* Decoded query text need not be UTF-8: checked as text, never
		 * shown. */
		v = json_stringn_nocheck(value, strlen(value));
	}
	bool ok = check_field(f, v, err);
	json_decref(v);
	return ok;
}
