/* The DNS checks of a custom domain (docs/apps.md "Custom domains"): its
 * CNAME, or the TXT record _runos-challenge.<fqdn>, asked of one resolver
 * (RUNOS_DNS_SERVER, or the system's from /etc/resolv.conf) through glibc's
 * resolver with bounded timeouts. No state; thread safe (each call has its
 * own resolver state). */
#ifndef RUNOSD_APPS_DNS_CHECK_H
#define RUNOSD_APPS_DNS_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* One query's time limit in seconds, and how many times it is sent. */
#define DNS_CHECK_TIMEOUT_S 1
#define DNS_CHECK_TRIES 1

enum dns_check_result {
	DNS_CHECK_MATCH,    /* the CNAME or the TXT record says what it must */
	DNS_CHECK_MISMATCH, /* answered, but neither does (no such name included) */
	DNS_CHECK_ERROR,    /* no answer: timeout, refused, server failure */
};

/* Whether fqdn has the CNAME target (the app's generated domain; case and a
 * trailing dot do not matter), or the TXT record "_runos-challenge.<fqdn>"
 * holds token. server: the resolver to ask (port 0: the system's). What
 * was seen goes to detail (for people). */
enum dns_check_result dns_check_domain(const struct listen_addr *server, const char *fqdn,
				       const char *target, const char *token, char *detail,
				       size_t cap);

#endif
