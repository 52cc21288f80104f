/* TLS handshakes that wait for their client without spinning a worker
 * (BENCHMARKS.md, "TLS handshakes under a burst of new agents").
 *
 * libmicrohttpd 0.9.75's epoll loop marks a connection readable when epoll
 * reports input, and only its own record reads clear the mark; GnuTLS reads
 * the handshake straight from the socket, so a handshake that waits for the
 * client's next flight keeps its connection on the worker's ready list, the
 * worker's epoll timeout drops to zero, and the worker spins on recv()
 * returning EAGAIN until the client answers (for good when it never does).
 * Under a burst of new agents the spinning workers took both cores and the
 * agents' handshakes timed out. poll() mode has no such bug, but costs
 * O(connections) per wake-up: 77 % of a core for 10,000 beating agents
 * against 14 % with epoll.
 *
 * So the listener stays on epoll and, until its handshake is done, each TLS
 * connection reads through pull_handshaking: when the socket has nothing,
 * the worker sleeps on that socket for at most PACING_MS, once per pass over
 * its ready connections (a pass is recognised by its first connection coming
 * round again), instead of spinning. A worker with waiting handshakes then
 * wakes about a thousand times a second, at a few microseconds each, and its
 * other connections wait at most PACING_MS longer. Once the client's Finished
 * has arrived, the connection reads through plain recv() (read_plain), whose
 * EAGAIN libmicrohttpd sees as usual.
 *
 * Thread safety: the pacing state is per worker thread (thread-local); GnuTLS
 * calls these functions on the thread that runs the connection. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http_internal.h"
#include "util/timeutil.h"

#define PACING_MS 1

/* This worker's current pass: the connection that started it and when. */
static _Thread_local struct {
	int first_fd;
	int64_t started_us;
} pass = { -1, 0 };

static ssize_t read_plain(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	return recv((int)(intptr_t)ptr, buf, len, 0);
}

static ssize_t pull_handshaking(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	int fd = (int)(intptr_t)ptr;
	ssize_t n = recv(fd, buf, len, 0);
	if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
		return n;
	/* A new pass when this connection started the last one, or when that
	 * one has not come round for a while (its handshake ended). */
	int64_t now = time_mono_us();
	if (fd != pass.first_fd && now - pass.started_us < 2 * PACING_MS * 1000) {
		errno = EAGAIN;
		return -1;
	}
	pass.first_fd = fd;
	pass.started_us = now;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, PACING_MS) > 0)
		return recv(fd, buf, len, 0);
	errno = EAGAIN;
	return -1;
}

/* The client's Finished ends the handshake: back to plain reads. */
static int on_finished(gnutls_session_t session, unsigned int htype, unsigned int when,
		       unsigned int incoming, const gnutls_datum_t *msg)
{
	(void)htype;
	(void)when;
	(void)msg;
	if (incoming)
		gnutls_transport_set_pull_function(session, read_plain);
	return 0;
}

void http_tls_pace_handshake(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session)
		return;
	gnutls_session_t session = info->tls_session;
	gnutls_transport_set_pull_function(session, pull_handshaking);
	gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_FINISHED, GNUTLS_HOOK_POST,
					   on_finished);
}
