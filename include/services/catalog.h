/* The service catalog (API.md §6): every type runosd can install, as rows of
 * one data table (server/services/catalog.c). A new type is a row, not code:
 * its versions, bounds, ports, flags, what it requires, its credentials, the
 * Helm chart that installs it and the values template that chart is given.
 * Immutable, thread safe, never needs the database. */
#ifndef RUNOSD_SERVICES_CATALOG_H
#define RUNOSD_SERVICES_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The arrays of a row hold at most this many entries and end early at the
 * first empty one; a full array has no empty end, so walk them by index
 * within the bound. */
#define CATALOG_MAX_VERSIONS 8
#define CATALOG_MAX_PORTS 4
#define CATALOG_MAX_FLAGS 6
#define CATALOG_MAX_REQUIRES 3

struct catalog_port {
	const char *name; /* "postgresql" */
	int port;
	const char *protocol; /* "TCP" */
};

enum catalog_flag_kind {
	CATALOG_FLAG_BOOLEAN = 1,
	CATALOG_FLAG_STRING,
	CATALOG_FLAG_INTEGER
};

struct catalog_flag {
	const char *name; /* "metrics" */
	enum catalog_flag_kind kind;
	const char *default_json; /* the default as JSON text: "false", "\"utf8\"", "3" */
	const char *description;
};

/* An input naming another service of the same cluster. */
struct catalog_require {
	const char *field; /* "postgresOsid" */
	const char *type;  /* "postgresql" */
	bool required;
};

/* Which fields a type's credentials have (API.md §6 credentials response:
 * {username, password, host, port, database, url}; host and port always). */
struct catalog_credentials {
	const char *username;	/* the generated user's fixed name ("app"), NULL: none */
	bool password;		/* a generated password */
	const char *database;	/* the database created ("app"), NULL: none */
	const char *url_scheme; /* "postgresql", "redis", "http", ... for url */
	int port;		/* the port the url and "port" name */
};

struct catalog_chart {
	const char *repo_url;	/* https://... or oci://... */
	const char *chart_name; /* "postgresql" */
	const char *version;	/* the chart's version */
};

struct service_type {
	const char *type;     /* "postgresql" */
	const char *name;     /* "PostgreSQL" */
	const char *category; /* databases, caching, messaging, storage, monitoring, ai, platform */
	bool platform;
	const char *description;
	const char *versions[CATALOG_MAX_VERSIONS]; /* ascending; ends at NULL or the bound */
	const char *default_version;
	int default_replicas, min_replicas, max_replicas;
	int default_storage_mb, min_storage_mb, max_storage_mb; /* all 0: stateless */
	struct catalog_port ports[CATALOG_MAX_PORTS];		/* ends at name NULL or the bound */
	bool http; /* gets a public HTTPS endpoint https://<osid>.<cluster domain> */
	struct catalog_flag flags[CATALOG_MAX_FLAGS];	       /* ends at name NULL or the bound */
	struct catalog_require requires[CATALOG_MAX_REQUIRES]; /* ends at field NULL or the bound */
	struct catalog_credentials credentials;
	struct catalog_chart chart;
	/* Pod Security Admission level of its namespace: "restricted", "baseline"
	 * or "privileged" (Longhorn and node exporters need host access). */
	const char *pod_security;
	/* The chart's values as a JSON template: a string that is one
	 * placeholder "{{name}}" becomes a typed value (an integer for
	 * {{replicas}}, the flag's type, an object for {{affinity}}, and the
	 * member is left out when there is no affinity); placeholders inside a
	 * longer string are replaced as text; anything else is kept. An unknown
	 * placeholder is an error (catalog_values). */
	const char *values_template;
};

const struct service_type *catalog_find(const char *type);
size_t catalog_count(void);
const struct service_type *catalog_at(size_t i);

/* Whether version is one of t's versions; the index of a version in
 * t->versions (ascending), -1 when not one. */
int catalog_version_index(const struct service_type *t, const char *version);

/* A type without storage (its three storage bounds are 0). */
bool catalog_stateless(const struct service_type *t);

/* t's flag or requires entry of that name, or NULL. */
const struct catalog_flag *catalog_flag_find(const struct service_type *t, const char *name);
const struct catalog_require *catalog_require_find(const struct service_type *t, const char *field);

/* The public entry of a type (GET /service-info/:type), a new reference. */
json_t *catalog_entry_json(const struct service_type *t);

/* The whole catalog's body {services:[...]} and its ETag, computed once. */
const char *catalog_body(void);
const char *catalog_etag(void);

/* What the values template's placeholders are filled from. */
struct catalog_values_input {
	const char *osid;	   /* release and fullnameOverride: the in-cluster name */
	const char *version;	   /* {{version}}: the image/app version */
	int replicas;		   /* {{replicas}} (integer) */
	int storage_mb;		   /* {{storageSize}} ("10Gi"/"512Mi" text), 0: stateless */
	const char *storage_class; /* {{storageClass}} */
	const char *secret_name;   /* {{secretName}}: the credentials Secret in the namespace */
	const char *domain;	   /* {{host}}: <osid>.<cluster domain> for http types */
	json_t *flags;		   /* {{flag:<name>}}: the flag's value (defaults applied) */
	json_t *affinity;	   /* {{affinity}}: a Kubernetes Affinity object, or NULL */
	/* {{require:<field>:host}} etc.: the in-cluster host of the required
	 * service (object of field -> {osid, host, port}). database and
	 * username come from the required type's row (its fixed names). */
	json_t *requires;
	/* {{secret:<key>}}: the value of that key of the credentials Secret
	 * (object of key -> string), for the few charts whose secret key names
	 * are fixed (MinIO's rootUser, Harbor's database password, Kafka's SASL
	 * passwords); see catalog_values_carry_secrets. */
	json_t *secrets;
};

/* The Helm values for t, rendered from its template (a new reference), or
 * NULL with a message in err when the template is bad (a unit test renders
 * every row). */
json_t *catalog_values(const struct service_type *t, const struct catalog_values_input *in,
		       char *err, size_t errcap);

/* Whether t's rendered values contain secrets ({{secret:...}}): its
 * INSTALL_HELM_CHART payload must then be sealed like the Secret's. */
bool catalog_values_carry_secrets(const struct service_type *t);

#endif
