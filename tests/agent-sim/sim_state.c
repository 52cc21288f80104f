/* The state file of agent-sim: one JSON object per line and per registered
 * agent, {"nid","aid","cid","role","certificate","privateKey","vpnIp","isCp",
 * "isWorker", "services"?, "apps"?}, written by `register` (or added to, with --append)
 * and read by `beat`, `work` and `once` (`beat` writes it again after renewing
 * certificates, `work` after installing or uninstalling charts or apps:
 * "services" and "apps" are {osid: desired replicas}). It holds private keys, so it is created with
 * mode 0600. */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sim_agent_finish(struct sim_agent *a)
{
	if (!a)
		return;
	free(a->nid);
	free(a->aid);
	free(a->cid);
	free(a->role);
	free(a->vpn_ip);
	free(a->certificate);
	free(a->private_key);
	json_decref(a->services);
	json_decref(a->apps);
	memset(a, 0, sizeof(*a));
}

void sim_agents_free(struct sim_agent *agents, size_t count)
{
	if (!agents)
		return;
	for (size_t i = 0; i < count; i++)
		sim_agent_finish(&agents[i]);
	free(agents);
}

void sim_agent_set_identity(struct sim_agent *a, const char *cert_pem, const char *key_pem)
{
	char *cert = xstrdup(cert_pem);
	char *key = xstrdup(key_pem);

	free(a->certificate);
	free(a->private_key);
	a->certificate = cert;
	a->private_key = key;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static bool is_blank(const char *line)
{
	return line[strspn(line, " \t\r\n")] == '\0';
}

/* One line of the state file into *a; false with a message naming the line. */
static bool parse_agent_line(const char *path, size_t lineno, const char *line, struct sim_agent *a)
{
	json_error_t err;
	json_t *obj = json_loads(line, JSON_REJECT_DUPLICATES, &err);
	const char *nid = NULL, *aid = NULL, *cid = NULL, *role = NULL, *vpn_ip = NULL;
	const char *cert = NULL, *key = NULL;
	int is_cp = -1, is_worker = -1;
	json_t *services = NULL, *apps = NULL;

	if (!obj) {
		fprintf(stderr, "agent-sim: %s:%zu: %s\n", path, lineno, err.text);
		return false;
	}
	if (json_unpack_ex(obj, &err, 0, "{s:s, s:s, s?s, s?s, s?s, s?s, s?s, s?b, s?b, s?o, s?o}",
			   "certificate", &cert, "privateKey", &key, "nid", &nid, "aid", &aid,
			   "cid", &cid, "role", &role, "vpnIp", &vpn_ip, "isCp", &is_cp, "isWorker",
			   &is_worker, "services", &services, "apps", &apps) != 0 ||
	    (services && !json_is_object(services)) || (apps && !json_is_object(apps))) {
		if ((services && !json_is_object(services)) || (apps && !json_is_object(apps)))
			snprintf(err.text, sizeof(err.text), "services and apps must be objects");
		fprintf(stderr, "agent-sim: %s:%zu: %s\n", path, lineno, err.text);
		json_decref(obj);
		return false;
	}
	a->certificate = xstrdup(cert);
	a->private_key = xstrdup(key);
	a->nid = dup_or_null(nid);
	a->aid = dup_or_null(aid);
	a->cid = dup_or_null(cid);
	a->role = dup_or_null(role);
	a->vpn_ip = dup_or_null(vpn_ip);
	a->services = json_incref(services);
	a->apps = json_incref(apps);
	/* Older files without the flags: the role decides. */
	bool cp_role = role && (!strcmp(role, "controlplane") || !strcmp(role, "hybrid"));
	bool worker_role = !role || !strcmp(role, "worker") || !strcmp(role, "hybrid");
	a->is_cp = is_cp >= 0 ? is_cp : cp_role;
	a->is_worker = is_worker >= 0 ? is_worker : worker_role;
	json_decref(obj);
	return true;
}

bool sim_state_load(const char *path, struct sim_agent **agents, size_t *count)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t line_cap = 0, n = 0, cap = 0, lineno = 0;
	struct sim_agent *list = NULL;
	bool ok = true;

	*agents = NULL;
	*count = 0;
	if (!f) {
		fprintf(stderr, "agent-sim: %s: %s\n", path, strerror(errno));
		return false;
	}
	while (getline(&line, &line_cap, f) >= 0) {
		lineno++;
		if (is_blank(line))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			list = xrealloc(list, cap * sizeof(*list));
		}
		memset(&list[n], 0, sizeof(list[n]));
		if (!parse_agent_line(path, lineno, line, &list[n])) {
			ok = false;
			break;
		}
		n++;
	}
	if (ok && ferror(f)) {
		fprintf(stderr, "agent-sim: %s: read error\n", path);
		ok = false;
	}
	if (ok && n == 0) {
		fprintf(stderr, "agent-sim: %s: no agent in the state file\n", path);
		ok = false;
	}
	free(line);
	fclose(f);
	if (!ok) {
		sim_agents_free(list, n);
		return false;
	}
	*agents = list;
	*count = n;
	return true;
}

static json_t *agent_to_json(const struct sim_agent *a)
{
	json_t *services = json_object_size(a->services) > 0 ? a->services : NULL;
	json_t *apps = json_object_size(a->apps) > 0 ? a->apps : NULL;
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:s, s:s, s:s?, s:b, s:b, s:O*, s:O*}", "nid",
			 a->nid, "aid", a->aid, "cid", a->cid, "role", a->role, "certificate",
			 a->certificate, "privateKey", a->private_key, "vpnIp", a->vpn_ip, "isCp",
			 a->is_cp, "isWorker", a->is_worker, "services", services, "apps", apps);
}

static bool write_agents(FILE *f, const struct sim_agent *agents, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (!agents[i].certificate || !agents[i].private_key)
			continue;
		json_t *obj = agent_to_json(&agents[i]);
		int rc = obj ? json_dumpf(obj, f, JSON_COMPACT) : -1;
		json_decref(obj);
		if (rc != 0 || fputc('\n', f) == EOF)
			return false;
	}
	return true;
}

bool sim_state_save(const char *path, const struct sim_agent *agents, size_t count)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	bool ok = f != NULL;

	if (!f && fd >= 0)
		close(fd);
	if (ok)
		ok = write_agents(f, agents, count);
	if (f && fclose(f) != 0)
		ok = false;
	if (ok && rename(tmp, path) != 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, "agent-sim: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return ok;
}

bool sim_state_append(const char *path, const struct sim_agent *agents, size_t count)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
	bool ok = f != NULL;

	if (!f && fd >= 0)
		close(fd);
	if (ok)
		ok = write_agents(f, agents, count);
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		fprintf(stderr, "agent-sim: cannot append to %s: %s\n", path, strerror(errno));
	return ok;
}
