/* Checks a JSON request body against a route's input schema: an object whose
 * members are all declared (no mass assignment), each of the declared type and
 * length, every required one present; and query parameters against the
 * route's query schema the same way. Stateless. */
#ifndef RUNOSD_HTTP_VALIDATE_H
#define RUNOSD_HTTP_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>

#include "http/route.h"

struct validation_error {
	const char *code; /* "validation.unknown_field", ... */
	char field[64];
	char message[256];
};

/* spec may be NULL (the route takes no body: any member is unknown). */
bool http_validate_body(const struct field_spec *spec, json_t *body, struct validation_error *err)
	__attribute__((warn_unused_result));

/* Checks one query parameter against a route's query schema (NULL: the route
 * takes none): an undeclared name is validation.unknown_field, as in a body;
 * a value is checked as a body member of the declared type would be, read
 * from its text (FIELD_INTEGER: decimal digits, else validation.range). */
bool http_validate_query(const struct field_spec *spec, const char *name, const char *value,
			 struct validation_error *err) __attribute__((warn_unused_result));

/* Characters (UTF-8 code points) of a string jansson has already checked. */
size_t http_utf8_length(const char *s);
/* Replaces each byte that does not start a whole UTF-8 character (RFC 3629)
 * with '?', in place: for text that quotes what a client sent (a path, a
 * parameter), which need not be UTF-8, or was cut to a buffer's size; JSON
 * carries only UTF-8. */
void http_utf8_make_valid(char *s);

#endif
