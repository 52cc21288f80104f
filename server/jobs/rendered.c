/* See include/jobs/rendered.h. Texts that held secrets are wiped before
 * they are freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "jobs/rendered.h"

static const char *own(struct rendered_job *out, char *text)
{
	out->texts[out->ntexts++] = text;
	return text;
}

static struct job_instruction *next(struct rendered_job *out, int step, const char *type)
{
	if (out->n >= RENDERED_MAX_INSTRUCTIONS) {
		fprintf(stderr, "rendered_job: more than %d instructions\n",
			RENDERED_MAX_INSTRUCTIONS);
		abort();
	}
	struct job_instruction *in = &out->items[out->n++];
	memset(in, 0, sizeof(*in));
	in->step = step;
	in->type = type;
	return in;
}

void rendered_add(struct rendered_job *out, int step, const char *type, json_t *payload)
{
	struct job_instruction *in = next(out, step, type);
	in->payload = payload ? own(out, json_dumps(payload, JSON_COMPACT)) : NULL;
	json_decref(payload);
}

json_t *rendered_apply_payload(json_t *object)
{
	char *text = json_dumps(object, JSON_COMPACT);
	char *b64 = crypto_base64(text, strlen(text));
	json_t *payload = json_pack("{s:s}", "crB64", b64);
	explicit_bzero(text, strlen(text));
	free(text);
	explicit_bzero(b64, strlen(b64));
	free(b64);
	json_decref(object);
	return payload;
}

void rendered_add_apply(struct rendered_job *out, int step, json_t *object)
{
	rendered_add(out, step, "APPLY_CR", rendered_apply_payload(object));
}

void rendered_add_sealed(struct rendered_job *out, int step, const char *type, json_t *payload,
			 const struct seal_keyring *keys, const char *aid, const char *job_id)
{
	char *text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	char aad[80];
	snprintf(aad, sizeof(aad), JOB_SEALED_AAD_FMT, aid, job_id);
	char *sealed = crypto_seal(keys, text, strlen(text), aad);
	explicit_bzero(text, strlen(text));
	free(text);
	next(out, step, type)->sealed_payload = own(out, sealed);
}

void rendered_job_free(struct rendered_job *out)
{
	for (size_t i = 0; i < out->ntexts; i++)
		free(out->texts[i]);
	memset(out, 0, sizeof(*out));
}
