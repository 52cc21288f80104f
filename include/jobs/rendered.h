/* A job's instructions rendered when the job is made (AGENT.md §5 types and
 * payloads), as the stores take them (struct job_instruction), with the texts
 * they point to owned here. An instruction is added with its JSON payload, as
 * an object to apply (APPLY_CR{crB64}, one object each), or sealed for the
 * queue when its payload holds secrets (crypto_seal bound to the job,
 * JOB_SEALED_AAD_FMT: in the queue its payload is {}, the agent listener opens
 * it when it hands it over). services/render.c and apps/render.c render with
 * it. */
#ifndef RUNOSD_JOBS_RENDERED_H
#define RUNOSD_JOBS_RENDERED_H

#include <jansson.h>
#include <stddef.h>

#include "crypto/seal.h"
#include "db/jobs_store.h"

#define RENDERED_MAX_INSTRUCTIONS 16

struct rendered_job {
	struct job_instruction items[RENDERED_MAX_INSTRUCTIONS];
	size_t n;
	char *texts[2 * RENDERED_MAX_INSTRUCTIONS];
	size_t ntexts;
};

/* Each takes payload or object (stolen) for step (from 1); beyond
 * RENDERED_MAX_INSTRUCTIONS it aborts (a defect: the renderers add a fixed
 * number). */
void rendered_add(struct rendered_job *out, int step, const char *type, json_t *payload);
void rendered_add_apply(struct rendered_job *out, int step, json_t *object);
void rendered_add_sealed(struct rendered_job *out, int step, const char *type, json_t *payload,
			 const struct seal_keyring *keys, const char *aid, const char *job_id);

/* APPLY_CR's payload {crB64} of object (stolen), new. */
json_t *rendered_apply_payload(json_t *object);

void rendered_job_free(struct rendered_job *out);

#endif
