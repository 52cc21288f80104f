/* Identifier formats of API.md §2: random account, node and service ids and
 * UUIDs. Uniqueness is decided by the database (unique constraints); these
 * only generate candidates and check shapes. Thread safe. */
#ifndef RUNOSD_IDALLOC_IDS_H
#define RUNOSD_IDALLOC_IDS_H

#include <stdbool.h>

#define IDALLOC_SHORT_ID_LEN 5
#define IDALLOC_UUID_LEN 36

/* 5 characters: first and last [a-z], middle [a-z0-9] (aid, nid, service id). */
void idalloc_short_id(char out[IDALLOC_SHORT_ID_LEN + 1]);
bool idalloc_is_short_id(const char *s);
/* What idalloc_is_short_id accepts, as a regular expression (OpenAPI). */
#define IDALLOC_SHORT_ID_PATTERN "^[a-z][a-z0-9]{3}[a-z]$"

/* Random (version 4) UUID in lower-case text form. */
void idalloc_uuid(char out[IDALLOC_UUID_LEN + 1]);
bool idalloc_is_uuid(const char *s);

#endif
