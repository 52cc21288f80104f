/* HTTPS for agent-sim: one libcurl multi handle drives every request of the
 * process, and each simulated client (struct sim_req) is one easy handle that
 * is added to the multi handle for a request and removed when it finishes.
 *
 * Connections: each client has a share handle holding its own connection
 * cache, so its keep-alive connection (made with its own client certificate)
 * stays its own. With one cache for all, libcurl 7.88 would probe every idle
 * connection to the host for liveness on each lookup: ten thousand system
 * calls per heartbeat with ten thousand agents.
 *
 * Trust: the CA given with --ca alone (CURLOPT_CAINFO_BLOB, the system store
 * switched off). Client certificates and keys are PEM blobs copied into the
 * easy handle. Response bodies are kept up to MAX_BODY bytes.
 *
 * Waiting: libcurl's socket interface with epoll (libcurl says which sockets
 * to watch and when its next timeout is), not curl_multi_poll, which hands
 * the kernel every socket of the process on each wait: with 64 agents that
 * was a fifth of agent-sim's CPU, with ten thousand far more. */
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_BODY (1024 * 1024)
#define MAX_CA_FILE (1024 * 1024)
#define CONNECT_TIMEOUT_MS 10000L

#define SETOPT(easy, opt, val) (curl_easy_setopt((easy), (opt), (val)) == CURLE_OK)
#define MAX_EVENTS 256

/* CURLMOPT_SOCKETFUNCTION: watch s for what libcurl waits for, or no more. A
 * socket is marked known (curl_multi_assign) once it is in the epoll set. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)easy;
	struct sim_net *net = userp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(net->epoll_fd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(net->multi, s, NULL);
		return 0;
	}
	struct epoll_event ev = { .data.fd = s };
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(net->epoll_fd, op, s, &ev) != 0)
		epoll_ctl(net->epoll_fd, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s,
			  &ev);
	if (!socketp)
		curl_multi_assign(net->multi, s, net);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: when libcurl next wants to run without a socket
 * event (timeouts, a new transfer to start). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct sim_net *net = userp;
	net->timer_at_ms = timeout_ms < 0 ? -1 : sim_now_ms() + (double)timeout_ms;
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = xmalloc(MAX_CA_FILE + 1);
	size_t n = 0;

	if (!f) {
		fprintf(stderr, "agent-sim: %s: %s\n", path, strerror(errno));
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, MAX_CA_FILE + 1, f);
	bool failed = ferror(f) || n > MAX_CA_FILE;
	fclose(f);
	if (failed) {
		fprintf(stderr, "agent-sim: %s: unreadable or larger than %d bytes\n", path,
			MAX_CA_FILE);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static struct curl_slist *json_headers(void)
{
	static const char *const lines[] = { "Content-Type: application/json",
					     "Accept: application/json", "Expect:" };
	struct curl_slist *list = NULL;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct curl_slist *next = curl_slist_append(list, lines[i]);
		if (!next) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = next;
	}
	return list;
}

bool sim_net_init(struct sim_net *net, const struct sim_opts *o, size_t max_connections)
{
	memset(net, 0, sizeof(*net));
	net->ca_pem = read_file(o->ca_path, &net->ca_len);
	if (!net->ca_pem)
		return false;
	if (!strstr(net->ca_pem, "-----BEGIN CERTIFICATE-----")) {
		fprintf(stderr, "agent-sim: %s: no PEM certificate in it\n", o->ca_path);
		sim_net_finish(net);
		return false;
	}
	net->multi = curl_multi_init();
	if (!net->multi) {
		fprintf(stderr, "agent-sim: curl_multi_init failed\n");
		sim_net_finish(net);
		return false;
	}
	net->timer_at_ms = -1;
	net->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (net->epoll_fd < 0) {
		fprintf(stderr, "agent-sim: epoll_create1: %s\n", strerror(errno));
		sim_net_finish(net);
		return false;
	}
	long limit = (long)max_connections;
	if (curl_multi_setopt(net->multi, CURLMOPT_MAXCONNECTS, limit) != CURLM_OK ||
	    curl_multi_setopt(net->multi, CURLMOPT_MAX_HOST_CONNECTIONS, limit) != CURLM_OK ||
	    curl_multi_setopt(net->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
	    curl_multi_setopt(net->multi, CURLMOPT_SOCKETDATA, net) != CURLM_OK ||
	    curl_multi_setopt(net->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
	    curl_multi_setopt(net->multi, CURLMOPT_TIMERDATA, net) != CURLM_OK) {
		fprintf(stderr, "agent-sim: cannot set up the multi handle\n");
		sim_net_finish(net);
		return false;
	}
	net->headers = json_headers();
	if (!net->headers) {
		fprintf(stderr, "agent-sim: out of memory for the request headers\n");
		sim_net_finish(net);
		return false;
	}
	net->base_url = xstrdup(o->agent_url);
	net->timeout_ms = (long)(o->timeout_s * 1000.0);
	net->verbose = o->verbose;
	return true;
}

void sim_net_finish(struct sim_net *net)
{
	if (!net)
		return;
	if (net->multi)
		curl_multi_cleanup(net->multi);
	if (net->epoll_fd > 0)
		close(net->epoll_fd);
	curl_slist_free_all(net->headers);
	free(net->base_url);
	free(net->ca_pem);
	memset(net, 0, sizeof(*net));
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sim_req *req = userdata;
	size_t n = size * nmemb;

	if (n > MAX_BODY - req->len) {
		req->too_large = true;
		return 0; /* ends the transfer with CURLE_WRITE_ERROR */
	}
	if (req->len + n + 1 > req->cap) {
		req->cap = req->len + n + 1 > 2 * req->cap ? req->len + n + 1 : 2 * req->cap;
		req->body = xrealloc(req->body, req->cap);
	}
	memcpy(req->body + req->len, data, n);
	req->len += n;
	req->body[req->len] = '\0';
	return n;
}

/* A simulated agent reuses its connection however long it was idle: libcurl's
 * default stops after 118 s (CURLOPT_MAXAGE_CONN), which the agents warmed up
 * first in a long warm-up exceed (beat --warmup of 150 s for 15,000 agents);
 * they would all reconnect at once when the measured beats start. When a
 * connection is closed is the server's idle timeout's business. */
#define MAX_CONNECTION_AGE_S (7L * 24 * 3600)

/* Options that stay for the life of the handle. */
static bool set_constant_options(struct sim_net *net, struct sim_req *req)
{
	CURL *e = req->easy;
	struct curl_blob ca = { .data = net->ca_pem,
				.len = net->ca_len,
				.flags = CURL_BLOB_NOCOPY };
	long connect_ms =
		net->timeout_ms < CONNECT_TIMEOUT_MS ? net->timeout_ms : CONNECT_TIMEOUT_MS;

	return SETOPT(e, CURLOPT_PRIVATE, req) && SETOPT(e, CURLOPT_SHARE, req->share) &&
	       SETOPT(e, CURLOPT_WRITEFUNCTION, on_body) && SETOPT(e, CURLOPT_WRITEDATA, req) &&
	       SETOPT(e, CURLOPT_ERRORBUFFER, req->errbuf) && SETOPT(e, CURLOPT_NOSIGNAL, 1L) &&
	       SETOPT(e, CURLOPT_TIMEOUT_MS, net->timeout_ms) &&
	       SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) &&
	       SETOPT(e, CURLOPT_MAXAGE_CONN, MAX_CONNECTION_AGE_S) &&
	       SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) &&
	       SETOPT(e, CURLOPT_HTTPHEADER, net->headers) &&
	       SETOPT(e, CURLOPT_USERAGENT, SIM_AGENT_VERSION) &&
	       SETOPT(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) &&
	       SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L) && SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L) &&
	       SETOPT(e, CURLOPT_CAINFO, NULL) && SETOPT(e, CURLOPT_CAPATH, NULL) &&
	       SETOPT(e, CURLOPT_CAINFO_BLOB, &ca) &&
	       SETOPT(e, CURLOPT_VERBOSE, (long)net->verbose);
}

bool sim_req_init(struct sim_net *net, struct sim_req *req, void *owner)
{
	memset(req, 0, sizeof(*req));
	req->owner = owner;
	req->share = curl_share_init();
	req->easy = curl_easy_init();
	if (!req->share || !req->easy ||
	    curl_share_setopt(req->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
	    !set_constant_options(net, req)) {
		fprintf(stderr, "agent-sim: cannot set up a libcurl handle\n");
		sim_req_finish(net, req);
		return false;
	}
	return true;
}

void sim_req_finish(struct sim_net *net, struct sim_req *req)
{
	if (!req)
		return;
	if (req->busy) {
		curl_multi_remove_handle(net->multi, req->easy);
		net->in_flight--;
	}
	/* The easy handle first: a share still used by one cannot be released. */
	if (req->easy)
		curl_easy_cleanup(req->easy);
	if (req->share)
		curl_share_cleanup(req->share);
	free(req->body);
	memset(req, 0, sizeof(*req));
}

bool sim_req_set_identity(struct sim_req *req, const char *cert_pem, const char *key_pem)
{
	struct curl_blob cert = { .data = (void *)cert_pem,
				  .len = strlen(cert_pem),
				  .flags = CURL_BLOB_COPY };
	struct curl_blob key = { .data = (void *)key_pem,
				 .len = strlen(key_pem),
				 .flags = CURL_BLOB_COPY };
	CURL *e = req->easy;

	if (!SETOPT(e, CURLOPT_SSLCERTTYPE, "PEM") || !SETOPT(e, CURLOPT_SSLCERT_BLOB, &cert) ||
	    !SETOPT(e, CURLOPT_SSLKEYTYPE, "PEM") || !SETOPT(e, CURLOPT_SSLKEY_BLOB, &key)) {
		fprintf(stderr, "agent-sim: cannot set the client certificate\n");
		return false;
	}
	/* A connection made with the old key must not carry the next request. */
	req->fresh_connect = true;
	return true;
}

void sim_req_close_after(struct sim_req *req)
{
	req->close_after = true;
}

static bool set_method(CURL *e, const char *method, const char *body)
{
	if (!strcmp(method, "GET"))
		return SETOPT(e, CURLOPT_HTTPGET, 1L);
	if (!body)
		body = "";
	return SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) &&
	       SETOPT(e, CURLOPT_COPYPOSTFIELDS, body);
}

static void reset_result(struct sim_req *req)
{
	req->rc = CURLE_OK;
	req->status = 0;
	req->elapsed_ms = 0;
	req->len = 0;
	if (req->body)
		req->body[0] = '\0';
	req->too_large = false;
	req->errbuf[0] = '\0';
}

bool sim_req_start(struct sim_net *net, struct sim_req *req, const char *method, const char *path,
		   const char *body)
{
	char *url = xasprintf("%s%s", net->base_url, path);
	bool ok = !req->busy && SETOPT(req->easy, CURLOPT_URL, url) &&
		  set_method(req->easy, method, body) &&
		  SETOPT(req->easy, CURLOPT_FRESH_CONNECT, (long)req->fresh_connect) &&
		  SETOPT(req->easy, CURLOPT_FORBID_REUSE, (long)req->close_after);

	free(url);
	if (!ok) {
		fprintf(stderr, "agent-sim: cannot prepare %s %s\n", method, path);
		return false;
	}
	reset_result(req);
	CURLMcode mc = curl_multi_add_handle(net->multi, req->easy);
	if (mc != CURLM_OK) {
		fprintf(stderr, "agent-sim: curl_multi_add_handle: %s\n", curl_multi_strerror(mc));
		return false;
	}
	req->fresh_connect = false;
	req->close_after = false;
	req->busy = true;
	net->in_flight++;
	return true;
}

bool sim_net_step(struct sim_net *net, int timeout_ms)
{
	int wait = timeout_ms < 0 ? 0 : timeout_ms;
	if (net->timer_at_ms >= 0) {
		double until_timer = net->timer_at_ms - sim_now_ms();
		if (until_timer < wait)
			wait = until_timer <= 0 ? 0 : (int)until_timer + 1;
	}
	struct epoll_event ev[MAX_EVENTS];
	int n = epoll_wait(net->epoll_fd, ev, MAX_EVENTS, wait);
	if (n < 0 && errno != EINTR) {
		fprintf(stderr, "agent-sim: epoll_wait: %s\n", strerror(errno));
		return false;
	}
	int running = 0;
	CURLMcode mc = CURLM_OK;
	for (int i = 0; i < n && mc == CURLM_OK; i++) {
		int flags = 0;
		if (ev[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		mc = curl_multi_socket_action(net->multi, ev[i].data.fd, flags, &running);
	}
	if (mc == CURLM_OK && net->timer_at_ms >= 0 && sim_now_ms() >= net->timer_at_ms) {
		net->timer_at_ms = -1; /* on_timer sets the next one */
		mc = curl_multi_socket_action(net->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	if (mc != CURLM_OK) {
		fprintf(stderr, "agent-sim: libcurl: %s\n", curl_multi_strerror(mc));
		return false;
	}
	return true;
}

static void collect_result(struct sim_req *req, CURLcode rc)
{
	curl_off_t total_us = 0;

	req->rc = rc;
	if (curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status) != CURLE_OK)
		req->status = 0;
	if (curl_easy_getinfo(req->easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK)
		req->elapsed_ms = (double)total_us / 1000.0;
}

struct sim_req *sim_net_next_done(struct sim_net *net)
{
	CURLMsg *msg;
	int left = 0;

	while ((msg = curl_multi_info_read(net->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *e = msg->easy_handle;
		CURLcode rc = msg->data.result;
		struct sim_req *req = NULL;
		if (curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&req) != CURLE_OK || !req)
			abort(); /* every handle of the multi handle is ours */
		collect_result(req, rc);
		curl_multi_remove_handle(net->multi, e);
		req->busy = false;
		net->in_flight--;
		return req;
	}
	return NULL;
}

json_t *sim_req_json(const struct sim_req *req)
{
	if (req->rc != CURLE_OK || !req->body)
		return NULL;
	json_t *obj = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

void sim_req_outcome(const struct sim_req *req, char *key, size_t size)
{
	if (req->rc != CURLE_OK) {
		if (req->too_large)
			snprintf(key, size, "body_too_large");
		else
			snprintf(key, size, "curl:%d", (int)req->rc);
		return;
	}
	json_t *obj = req->status / 100 == 2 ? NULL : sim_req_json(req);
	const char *code = json_string_value(json_object_get(obj, "code"));
	if (code && *code)
		snprintf(key, size, "%s", code);
	else
		snprintf(key, size, "%ld", req->status);
	json_decref(obj);
}

void sim_req_log_failure(const struct sim_req *req, const char *what)
{
	if (req->rc != CURLE_OK) {
		sim_log_failure("%s: %s%s%s", what, curl_easy_strerror(req->rc),
				req->errbuf[0] ? ": " : "", req->errbuf);
		return;
	}
	sim_log_failure("%s: HTTP %ld: %.300s", what, req->status, req->body ? req->body : "");
}
