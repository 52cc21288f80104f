/* Random identifiers (see include/idalloc/ids.h). Stateless. */
#include "idalloc/ids.h"

#include <ctype.h>
#include <string.h>
#include <uuid/uuid.h>

#include "crypto/random.h"

static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
static const char letters_digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";

void idalloc_short_id(char out[IDALLOC_SHORT_ID_LEN + 1])
{
	crypto_random_string(out, 1, letters);
	crypto_random_string(out + 1, 3, letters_digits);
	crypto_random_string(out + 4, 1, letters);
}

bool idalloc_is_short_id(const char *s)
{
	if (strlen(s) != IDALLOC_SHORT_ID_LEN)
		return false;
	if (!islower((unsigned char)s[0]) || !islower((unsigned char)s[4]))
		return false;
	for (int i = 1; i < 4; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

void idalloc_uuid(char out[IDALLOC_UUID_LEN + 1])
{
	uuid_t id;
	uuid_generate_random(id);
	uuid_unparse_lower(id, out);
}

bool idalloc_is_uuid(const char *s)
{
	if (strlen(s) != IDALLOC_UUID_LEN)
		return false;
	for (int i = 0; i < IDALLOC_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}
