/* An app's domain names (include/apps/domains.h): the generated ones follow
 * the glossary (<name>-<id>.<cluster domain>, covered by the cluster's
 * wildcard certificate), custom ones are checked before they are stored.
 * No allocation, no state. */
#include "apps/domains.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/strmap.h"

static bool alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void app_dns_name(const char *name, char out[APP_DNS_NAME_MAX + 1])
{
	size_t n = 0;
	bool dash = false;
	for (const char *s = name ? name : ""; *s; s++) {
		char c = (char)tolower((unsigned char)*s);
		if (!alnum_lower(c)) {
			dash = n > 0;
			continue;
		}
		if (dash && n < APP_DNS_NAME_MAX)
			out[n++] = '-';
		dash = false;
		if (n < APP_DNS_NAME_MAX)
			out[n++] = c;
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	if (n == 0) {
		snprintf(out, APP_DNS_NAME_MAX + 1, "app");
	} else if (out[0] >= '0' && out[0] <= '9') {
		char copy[APP_DNS_NAME_MAX + 1];
		memcpy(copy, out, n + 1);
		snprintf(out, APP_DNS_NAME_MAX + 1, "app-%.*s", APP_DNS_NAME_MAX - 4, copy);
		n = strlen(out);
		while (n > 0 && out[n - 1] == '-')
			out[--n] = '\0';
	}
}

bool app_generated_domain(const char *dns_name, const char *id, size_t index, int port,
			  const char *cluster_domain, char *out, size_t cap)
{
	char label[APP_LABEL_MAX + 2];
	int len = index == 0 ? snprintf(label, sizeof(label), "%s-%s", dns_name, id)
			     : snprintf(label, sizeof(label), "%s-%s-%d", dns_name, id, port);
	int total = snprintf(out, cap, "%s.%s", label, cluster_domain);
	if (len < 0 || len > APP_LABEL_MAX || total < 0 || (size_t)total >= cap ||
	    total > APP_FQDN_MAX) {
		if (cap)
			out[0] = '\0';
		return false;
	}
	return true;
}

/* s is name itself or one of its parent domains. */
static bool equal_or_under(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);
	while (s > 0 && suffix[s - 1] == '.')
		s--;
	if (s == 0 || s > n)
		return false;
	if (strncasecmp(name + n - s, suffix, s) != 0)
		return false;
	return n == s || name[n - s - 1] == '.';
}

bool app_custom_domain(const char *fqdn, const char *const *reserved, size_t n, const char *field,
		       char *out, size_t cap, struct app_problem *p)
{
	const char *code = "validation.invalid";
	size_t len = fqdn ? strlen(fqdn) : 0;
	if (len > 0 && fqdn[len - 1] == '.')
		len--; /* the root's dot */
	if (len == 0)
		return app_problem_set(p, code, field, "Field %s must be a domain name", field);
	if (len > APP_FQDN_MAX || len >= cap)
		return app_problem_set(p, "validation.length", field,
				       "Field %s must be at most %d characters", field,
				       APP_FQDN_MAX);
	if (strchr(fqdn, ':') || (fqdn[0] == '[')) /* IPv6 literals */
		return app_problem_set(p, code, field,
				       "Field %s must be a domain name, not an IP address", field);
	size_t labels = 0, label_len = 0;
	bool all_digits = true; /* of the current label */
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? (char)tolower((unsigned char)fqdn[i]) : '.';
		if (c == '.') {
			if (label_len == 0)
				return app_problem_set(p, code, field,
						       "Field %s has an empty label", field);
			if (out[i - 1] == '-')
				return app_problem_set(p, code, field,
						       "Field %s has a label ending with '-'",
						       field);
			labels++;
			label_len = 0;
			if (i < len)
				all_digits = true;
			if (i < len)
				out[i] = '.';
			continue;
		}
		if (!alnum_lower(c) && c != '-')
			return app_problem_set(
				p, code, field,
				"Field %s may hold only letters, digits, '-' and '.'", field);
		if (c == '-' && label_len == 0)
			return app_problem_set(p, code, field,
					       "Field %s has a label starting with '-'", field);
		if (++label_len > APP_LABEL_MAX)
			return app_problem_set(p, code, field,
					       "Field %s has a label over %d characters", field,
					       APP_LABEL_MAX);
		all_digits = all_digits && c >= '0' && c <= '9';
		out[i] = c;
	}
	out[len] = '\0';
	/* A name whose last label is all digits is an IPv4 literal (or could
	 * be read as one); no top-level domain is numeric. */
	if (all_digits)
		return app_problem_set(p, code, field,
				       "Field %s must be a domain name, not an IP address", field);
	if (labels < 2)
		return app_problem_set(p, code, field,
				       "Field %s must be a public domain name with at least two "
				       "labels (example.com)",
				       field);
	for (size_t i = 0; i < n; i++)
		if (reserved[i] && equal_or_under(out, reserved[i]))
			return app_problem_set(p, code, field,
					       "Field %s is under %s, whose names are generated: "
					       "custom domains are your own",
					       field, reserved[i]);
	return true;
}

void app_domain_tls_secret(const char *fqdn, char *out, size_t cap)
{
	/* "<fqdn>-tls" is a DNS-1123 subdomain when it fits in 253. */
	if (strlen(fqdn) + 4 <= APP_FQDN_MAX)
		snprintf(out, cap, "%s-tls", fqdn);
	else
		snprintf(out, cap, "domain-%08x-tls", (unsigned)strmap_hash(fqdn));
}
