/* What the jobs of an app send to its cluster (AGENT.md §5, §6;
 * docs/apps.md), rendered when the job is made: BUILD_IMAGE to the building
 * node, the objects of include/apps/manifests.h one APPLY_CR each (the
 * Secret's sealed for the queue), and the namespace's DELETE_CR. When a
 * deploy's digest is not known yet (it is built by the same job), the
 * Deployment's image is rendered as "<repository>@" APP_IMAGE_DIGEST_PLACEHOLDER
 * and the rollout step puts the built digest in (server/db/job_steps_store.c).
 * Thread safe. */
#ifndef RUNOSD_APPS_RENDER_H
#define RUNOSD_APPS_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "apps/manifests.h"
#include "crypto/seal.h"
#include "db/apps_store.h"
#include "jobs/rendered.h"

/* What BUILD_IMAGE builds and pushes. */
struct app_build_spec {
	const char *aid, *osid, *cluster_domain;
	const char *repo_url, *branch;
	const char *sha;	  /* NULL: the branch head */
	const char *dockerfile;	  /* relative to source_dir */
	const char *source_dir;	  /* relative to the repository's root */
	const char *access_token; /* plain, NULL for a public repository: sealed */
	const char *job_id;
	const struct seal_keyring *keys;
};

/* BUILD_IMAGE{repoUrl, ref, sha?, dockerfile, sourceDir, imageTag,
 * accessToken?} as step. imageTag is "<repository>:<sha>"; for a branch head
 * "<repository>:" APP_IMAGE_SHA_PLACEHOLDER, which the agent replaces with the
 * commit it resolved the branch to (docs/agent.md). */
void app_render_build(const struct app_build_spec *b, int step, struct rendered_job *out);

/* The objects of s as step, in app_manifests' order (s->image_digest NULL:
 * the placeholder). env_only: only those that are not workloads (Namespace,
 * NetworkPolicy, ConfigMap, Secret), for an app not deployed yet. false with
 * a message in err when an object cannot be made. */
bool app_render_objects(const struct app_deploy_spec *s, bool env_only, int step,
			const char *job_id, const struct seal_keyring *keys,
			struct rendered_job *out, char *err, size_t errcap)
	__attribute__((warn_unused_result));

/* The namespace deleted (everything of the app goes with it), as step. */
void app_render_delete(const char *osid, int step, struct rendered_job *out);

#endif
