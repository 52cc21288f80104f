/* A service's credentials: generated from the CSPRNG when it is created or
 * rotated, stored sealed (bound to account, cluster and osid), and shown only
 * by GET …/credentials. */
#include <stdio.h>
#include <string.h>

#include "crypto/random.h"
#include "services/render.h"

#define PASSWORD_RANDOM_CHARS 32 /* base62: 190 bits */

static const char base62[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static json_t *new_password(void)
{
	char password[4 + PASSWORD_RANDOM_CHARS + 1] = "rnc_";
	crypto_random_string(password + 4, PASSWORD_RANDOM_CHARS, base62);
	json_t *value = json_string(password);
	explicit_bzero(password, sizeof(password));
	return value;
}

json_t *service_credentials_new(const struct service_type *t)
{
	const struct catalog_credentials *c = &t->credentials;
	json_t *out = json_object();
	if (c->username)
		json_object_set_new(out, "username", json_string(c->username));
	if (c->password) {
		json_object_set_new(out, "password", new_password());
		json_object_set_new(out, "adminPassword", new_password());
	}
	if (c->database)
		json_object_set_new(out, "database", json_string(c->database));
	return out;
}

void service_host(const char *osid, char *out, size_t cap)
{
	snprintf(out, cap, "%s.%s.svc.cluster.local", osid, osid);
}

json_t *service_credentials_view(const struct service_type *t, const char *osid,
				 const json_t *credentials)
{
	const char *username = json_string_value(json_object_get(credentials, "username"));
	const char *password = json_string_value(json_object_get(credentials, "password"));
	const char *database = json_string_value(json_object_get(credentials, "database"));
	char host[160];
	service_host(osid, host, sizeof(host));
	int port = t->credentials.port;
	/* scheme://[user][:password]@host:port[/database]; the generated values
	 * are URL-safe as they are (base62, "_"), so nothing is escaped. */
	char auth[200] = "";
	if (username || password)
		snprintf(auth, sizeof(auth), "%s%s%s@", username ? username : "",
			 password ? ":" : "", password ? password : "");
	char url[512];
	snprintf(url, sizeof(url), "%s://%s%s:%d%s%s",
		 t->credentials.url_scheme ? t->credentials.url_scheme : "tcp", auth, host, port,
		 database ? "/" : "", database ? database : "");
	explicit_bzero(auth, sizeof(auth));
	json_t *view =
		json_pack("{s:s?, s:s?, s:s, s:i, s:s?, s:s}", "username", username, "password",
			  password, "host", host, "port", port, "database", database, "url", url);
	explicit_bzero(url, sizeof(url));
	return view;
}

void service_credentials_aad(const char *aid, const char *cid, const char *osid, char *out,
			     size_t cap)
{
	snprintf(out, cap, "%s/services/%s/%s", aid, cid, osid);
}
