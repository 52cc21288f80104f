/* The apps' instructions (docs/agent.md §5, docs/apps.md), as a node agent
 * with BuildKit and kubectl would take them, without a registry or a cluster:
 *   BUILD_IMAGE{repoUrl, ref, sha?, dockerfile, sourceDir, imageTag,
 *     accessToken?}: repoUrl must be https://github.com/..., ref, dockerfile
 *     and sourceDir non-empty, sha (when given) 40 lowercase hex digits, and
 *     imageTag "<registry>/<path>:<tag>" whose tag is the sha, or "{sha}"
 *     without one (else ERROR). The answer is IMAGE_BUILT{sha, imageDigest,
 *     durationMs}: sha is the given one, or for a branch head --head-sha (or
 *     SIM_HEAD_SHA), else the SHA-1 of "<repoUrl>#<ref>" in hex (the same
 *     head until a test "pushes" another); imageDigest is "sha256:" and the
 *     hex SHA-256 of the final tag ({sha} replaced). With --fail-build S (or
 *     SIM_FAIL_BUILD=S) a repoUrl containing S answers ERROR, as a failed
 *     build would.
 *   APPLY_CR of a Deployment in a namespace app-*: the app (osid = the
 *     namespace) is remembered with its desired replicas (spec.replicas,
 *     else 1; applying again replaces them). sim_services.c checks the
 *     object and calls sim_apps_applied.
 *   DELETE_CR{type: "Namespace", id}: the app of that namespace is
 *     forgotten (sim_apps_deleted).
 *   RUN_KUBECTL_COMMAND ["logs", ...]: KUBECTL_COMMAND_RESPONSE{response},
 *     four lines, each "[pod/<ns>-<hash>/app] <time> " first when argv has
 *     --prefix and --timestamps, as kubectl writes them
 *     with a few log lines naming the command; any other argv is answered
 *     NO_CONTENT, as before.
 * The apps are kept in the agent's line of the state file ("apps": {osid:
 * desired}), and a control-plane agent reports them with the services
 * (sim_services_report): healthy with every replica ready, or, for an osid
 * containing --fail-rollout S (SIM_FAIL_ROLLOUT), failed with no replica
 * ready, as a CrashLoopBackOff would leave it. */
#include "sim.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_SHA_LEN 40
#define SIM_BUILD_MS 1200 /* the durationMs of every build */
#define SIM_APP_PREFIX "app-"
#define SIM_SHA_PLACEHOLDER "{sha}"

bool sim_apps_handles(const char *type)
{
	return !strcmp(type, "BUILD_IMAGE") || !strcmp(type, "RUN_KUBECTL_COMMAND");
}

bool sim_sha_valid(const char *s)
{
	if (!s || strlen(s) != SIM_SHA_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* A non-empty string member of obj, or NULL. */
static const char *member(const json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));
	return s && *s ? s : NULL;
}

/* The hex digest of text with md (SHA-1, SHA-256) into out (2 * size + 1). */
static void hex_digest(const EVP_MD *md, const char *text, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(text, strlen(text), d, &n, md, NULL))
		abort(); /* only when OpenSSL cannot allocate */
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static json_t *error_reply(char *text)
{
	json_t *r = json_pack("{s:s, s:s}", "type", "ERROR", "error", text);
	free(text);
	return r;
}

/* The text of what is wrong with a BUILD_IMAGE payload, or NULL. */
static char *build_problem(const json_t *p)
{
	const char *repo = member(p, "repoUrl");
	const char *tag = member(p, "imageTag");
	json_t *sha = json_object_get(p, "sha");
	json_t *token = json_object_get(p, "accessToken");
	if (!repo || strncmp(repo, "https://github.com/", 19) || !repo[19])
		return xstrdup("BUILD_IMAGE: repoUrl must be https://github.com/<owner>/<repo>");
	if (!member(p, "ref") || !member(p, "dockerfile") || !member(p, "sourceDir"))
		return xstrdup("BUILD_IMAGE: ref, dockerfile and sourceDir are needed");
	if (sha && !sim_sha_valid(json_string_value(sha)))
		return xstrdup("BUILD_IMAGE: sha must be 40 lowercase hex digits");
	if (token && !member(p, "accessToken"))
		return xstrdup("BUILD_IMAGE: accessToken must be a non-empty string");
	const char *colon = tag ? strrchr(tag, ':') : NULL;
	const char *slash = tag ? strchr(tag, '/') : NULL;
	if (!colon || !slash || slash == tag || colon < slash || strchr(colon, '/') ||
	    colon[-1] == '/')
		return xasprintf("BUILD_IMAGE: imageTag %s is not <registry>/<path>:<tag>",
				 tag ? tag : "(missing)");
	const char *want = sha ? json_string_value(sha) : SIM_SHA_PLACEHOLDER;
	if (strcmp(colon + 1, want))
		return xasprintf("BUILD_IMAGE: imageTag %s does not end in :%s", tag, want);
	return NULL;
}

static json_t *build_image(const struct sim_opts *o, const json_t *p)
{
	char *problem = build_problem(p);
	if (problem)
		return error_reply(problem);
	const char *repo = member(p, "repoUrl");
	const char *ref = member(p, "ref");
	if (o->fail_build && strstr(repo, o->fail_build))
		return error_reply(
			xasprintf("buildkit: failed to solve: process \"/bin/sh -c make\" "
				  "did not complete successfully: exit code: 2 "
				  "(agent-sim --fail-build %s)",
				  o->fail_build));
	char sha[SIM_SHA_LEN + 1];
	if (member(p, "sha")) {
		snprintf(sha, sizeof(sha), "%s", member(p, "sha"));
	} else if (o->head_sha) {
		snprintf(sha, sizeof(sha), "%s", o->head_sha);
	} else {
		char *text = xasprintf("%s#%s", repo, ref);
		hex_digest(EVP_sha1(), text, sha);
		free(text);
	}
	const char *tag = member(p, "imageTag");
	const char *colon = strrchr(tag, ':');
	char *final_tag = xasprintf("%.*s:%s", (int)(colon - tag), tag, sha);
	char digest[7 + 2 * 32 + 1] = "sha256:";
	hex_digest(EVP_sha256(), final_tag, digest + 7);
	free(final_tag);
	return json_pack("{s:s, s:{s:s, s:s, s:i}}", "type", "IMAGE_BUILT", "payload", "sha", sha,
			 "imageDigest", digest, "durationMs", SIM_BUILD_MS);
}

/* kubectl logs: a few lines that name the command. */
static json_t *kubectl(const json_t *argv)
{
	const char *first = json_string_value(json_array_get(argv, 0));
	if (!first || strcmp(first, "logs"))
		return NULL; /* as before: NO_CONTENT */
	char *command = xstrdup("kubectl");
	size_t i;
	json_t *arg;
	json_array_foreach (argv, i, arg) {
		if (!json_is_string(arg)) {
			free(command);
			return error_reply(
				xstrdup("RUN_KUBECTL_COMMAND: every argument must be a string"));
		}
		char *longer = xasprintf("%s %s", command, json_string_value(arg));
		free(command);
		command = longer;
	}
	/* With --prefix and --timestamps, as kubectl writes them:
	 * "[pod/<pod>/<container>] <RFC 3339 time> <line>". */
	const char *ns = "default";
	bool prefix = false, stamps = false;
	json_array_foreach (argv, i, arg) {
		const char *a = json_string_value(arg);
		if (!strcmp(a, "-n") && json_is_string(json_array_get(argv, i + 1)))
			ns = json_string_value(json_array_get(argv, i + 1));
		prefix |= !strcmp(a, "--prefix");
		stamps |= !strcmp(a, "--timestamps");
	}
	char head[320] = "", stamp[48] = "";
	if (prefix)
		snprintf(head, sizeof(head), "[pod/%s-5d8f7c9b4-x2k9q/app] ", ns);
	if (stamps) {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S.000000000Z ", &tm);
	}
	char *lines = xasprintf("%s%sagent-sim: %s\n"
				"%s%slistening on 0.0.0.0:8080\n"
				"%s%sGET / 200 1.2ms\n"
				"%s%sGET /healthz 200 0.3ms\n",
				head, stamp, command, head, stamp, head, stamp, head, stamp);
	free(command);
	json_t *r = json_pack("{s:s, s:{s:s}}", "type", "KUBECTL_COMMAND_RESPONSE", "payload",
			      "response", lines);
	free(lines);
	return r;
}

json_t *sim_apps_act(const struct sim_opts *o, const char *type, const json_t *payload)
{
	if (!strcmp(type, "BUILD_IMAGE"))
		return json_is_object(payload)
			       ? build_image(o, payload)
			       : error_reply(xstrdup("BUILD_IMAGE: the payload is not an object"));
	if (!strcmp(type, "RUN_KUBECTL_COMMAND"))
		return json_is_array(payload) ? kubectl(payload) : NULL;
	return error_reply(xasprintf("%s: not an app instruction", type));
}

void sim_apps_applied(struct sim_agent *a, const json_t *obj, bool *changed)
{
	const char *kind = member(obj, "kind");
	const char *ns = member(json_object_get(obj, "metadata"), "namespace");
	if (!kind || strcmp(kind, "Deployment") || !ns ||
	    strncmp(ns, SIM_APP_PREFIX, strlen(SIM_APP_PREFIX)))
		return;
	json_t *n = json_object_get(json_object_get(obj, "spec"), "replicas");
	json_int_t desired = json_is_integer(n) ? json_integer_value(n) : 1;
	if (desired < 0)
		desired = 0;
	if (desired > SIM_REPLICAS_MAX)
		desired = SIM_REPLICAS_MAX;
	if (!a->apps)
		a->apps = json_object();
	json_object_set_new(a->apps, ns, json_integer(desired));
	*changed = true;
}

void sim_apps_deleted(struct sim_agent *a, const char *ns, bool *changed)
{
	if (json_object_del(a->apps, ns) == 0)
		*changed = true;
}

void sim_apps_report(const struct sim_agent *a, const struct sim_opts *o, json_t *list)
{
	const char *osid;
	json_t *desired;
	json_object_foreach (a->apps, osid, desired) {
		if (json_array_size(list) == SIM_REPORT_MAX)
			break;
		bool failed = o->fail_rollout && strstr(osid, o->fail_rollout);
		json_t *entry = failed ? json_pack("{s:s, s:s, s:{s:O, s:i}, s:s}", "osid", osid,
						   "state", "failed", "replicas", "desired",
						   desired, "ready", 0, "message",
						   "Back-off restarting failed container app "
						   "(CrashLoopBackOff; agent-sim --fail-rollout)")
				       : json_pack("{s:s, s:s, s:{s:O, s:O}, s:s}", "osid", osid,
						   "state", "healthy", "replicas", "desired",
						   desired, "ready", desired, "message",
						   "agent-sim: the Deployment's rollout completed");
		json_array_append_new(list, entry);
	}
}
