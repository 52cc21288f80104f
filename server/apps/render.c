/* See include/apps/render.h. */
#include <stdio.h>
#include <string.h>

#include "apps/render.h"

void app_render_build(const struct app_build_spec *b, int step, struct rendered_job *out)
{
	char tag[APP_ROW_IMAGE_TAG_MAX];
	app_image_tag(b->cluster_domain, b->osid, b->sha ? b->sha : APP_IMAGE_SHA_PLACEHOLDER, tag,
		      sizeof(tag));
	json_t *payload =
		json_pack("{s:s, s:s, s:s, s:s, s:s}", "repoUrl", b->repo_url, "ref", b->branch,
			  "dockerfile", b->dockerfile, "sourceDir", b->source_dir, "imageTag", tag);
	if (b->sha)
		json_object_set_new(payload, "sha", json_string(b->sha));
	if (!b->access_token) {
		rendered_add(out, step, "BUILD_IMAGE", payload);
		return;
	}
	json_object_set_new(payload, "accessToken", json_string(b->access_token));
	rendered_add_sealed(out, step, "BUILD_IMAGE", payload, b->keys, b->aid, b->job_id);
}

static bool is_kind(const json_t *object, const char *kind)
{
	const char *k = json_string_value(json_object_get(object, "kind"));
	return k && strcmp(k, kind) == 0;
}

bool app_render_objects(const struct app_deploy_spec *s, bool env_only, int step,
			const char *job_id, const struct seal_keyring *keys,
			struct rendered_job *out, char *err, size_t errcap)
{
	struct app_deploy_spec spec = *s;
	if (!spec.image_digest)
		spec.image_digest = APP_IMAGE_DIGEST_PLACEHOLDER;
	json_t *objects = app_manifests(&spec, err, errcap);
	if (!objects)
		return false;
	size_t i;
	json_t *o;
	json_array_foreach (objects, i, o) {
		bool workload = is_kind(o, "Deployment") || is_kind(o, "Service") ||
				is_kind(o, "Ingress") || is_kind(o, "Certificate");
		if (env_only && workload)
			continue;
		json_incref(o);
		if (is_kind(o, "Secret"))
			rendered_add_sealed(out, step, "APPLY_CR", rendered_apply_payload(o), keys,
					    s->aid, job_id);
		else
			rendered_add_apply(out, step, o);
	}
	json_decref(objects);
	return true;
}

void app_render_delete(const char *osid, int step, struct rendered_job *out)
{
	rendered_add(out, step, "DELETE_CR",
		     json_pack("{s:s, s:s}", "type", "Namespace", "id", osid));
}
