/* The route table's types. The table itself is server/api/routes.c: one row
 * per endpoint with method, path pattern, handler, who may call it, the input
 * schema and the typed answer. The router, the request path (authentication,
 * authorisation, validation), the OpenAPI document (server/api/openapi.c) and,
 * later, the CLI manifest all read it. */
#ifndef RUNOSD_HTTP_ROUTE_H
#define RUNOSD_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/roles.h"

struct request;

/* The most :params a pattern may have, which is what a request holds: the
 * router refuses a deeper pattern when it is built, so the server does not
 * start with a route that could not carry its path ("/:aid/:cid/services/
 * :type/:id/credentials" has 4). */
#define ROUTE_MAX_PARAMS 6

/* Who may call a route. There is deliberately no usable zero value: a row that
 * does not say is refused when the router is built (deny by default). */
enum route_access {
	ROUTE_ACCESS_UNSET = 0,
	ROUTE_PUBLIC,	  /* no token */
	ROUTE_USER,	  /* any valid token, not tied to an account (/user, /auth/logout) */
	ROUTE_SESSION,	  /* a session token only (password change, new accounts) */
	ROUTE_ACCOUNT,	  /* /:aid/...: a token with at least min_role in that account */
	ROUTE_ACCOUNT_OF, /* a resource not under /:aid (a job): a token with at least
			   * min_role in the account that the row's account_of names */
	ROUTE_AGENT,	  /* agent listener: a node's client certificate (AGENT.md §3) */
	ROUTE_SIGNED,	  /* no token: the handler checks a signature over the body's bytes
			   * with the secret of what the path names (a GitHub webhook). It
			   * gets the bytes as received (request_raw_body) and the JSON
			   * object parsed but not checked against input (another party's
			   * document), and rate-limits per what the path names: not the
			   * per-address limit of public writes (GitHub sends every
			   * tenant's deliveries from a few addresses). */
};

enum field_type {
	FIELD_STRING = 1,
	FIELD_INTEGER,
	FIELD_BOOLEAN,
	FIELD_TIME,    /* RFC 3339 string */
	FIELD_ENUM,    /* string, one of choices */
	FIELD_TEXT,    /* string that may span lines (PEM): \n, \r and \t allowed */
	FIELD_STRINGS, /* array of strings of at most 256 characters; max_len: most items */
	FIELD_OBJECT,  /* a JSON object; the handler checks its members (an answer's
			* members: `members`, NULL: free-form) */
	FIELD_JSON,    /* any JSON value */
	FIELD_OBJECTS, /* answers only: an array of objects with `members` */
	FIELD_INTEGERS /* answers only: an array of integers */
};

struct field_spec {
	const char *name;
	enum field_type type;
	bool required;
	int min_len, max_len;	    /* strings: characters, 0 = unbounded, min_len > 0
				     * also refuses a string of only white space;
				     * integers: the inclusive range when max_len > 0 */
	const char *const *choices; /* FIELD_ENUM: NULL-terminated */
	const char *description;
	/* A value for the OpenAPI document's examples (the text of a string,
	 * the digits of an integer, "true"/"false", one item of a list, the
	 * JSON text of an object); NULL:
	 * the first choice of an enum, the least integer allowed. */
	const char *example;
};

/* A member of an answer (output_spec), typed like a body field. */
struct output_field {
	const char *name;
	enum field_type type;
	bool optional;		    /* sometimes absent (nextCursor) */
	bool nullable;		    /* may be null */
	const char *const *choices; /* FIELD_ENUM: NULL-terminated */
	const char *description;
	const struct output_field *members; /* FIELD_OBJECT(S): { NULL } terminated;
					     * NULL: a free-form object */
};

/* What a route answers on success: a type name, the status and the typed
 * members of the JSON body (NULL fields: no JSON body). The OpenAPI document
 * describes each answer from it, tests/integration/it_contract.c checks every
 * route's real top-level members against it and tests/openapi/responses.mjs
 * every answer the integration tests receive against the document. */
struct output_spec {
	const char *type;		   /* the schema's name */
	int status;			   /* 200, 201, 202 or 204 */
	const struct output_field *fields; /* { NULL } terminated; NULL: no JSON body */
	const char *media_type;		   /* a body that is not JSON ("text/yaml"); NULL: JSON */
	/* A POST of this answer creates what it shows, so it answers this
	 * instead of status (201); 0: status. */
	int post_status;
	const char *description; /* of the answer, for people */
	/* Refusals also come in this media type (besides the JSON error): the
	 * installer's, a script that says why; NULL: JSON only. */
	const char *error_media_type;
	/* The answer holds a secret (a token shown once, credentials, a
	 * kubeconfig): the CLI manifest marks its command sensitive_read or
	 * sensitive_write. */
	bool sensitive;
	/* The body is a JSON array of objects with fields' members (GET
	 * …/networkAccess), not an object. */
	bool list;
};

/* A second success answer of one route, named by the route's handler: the
 * rows of api_routes[] say one answer each (fold these into them once rows
 * can change). */
struct route_answer {
	void (*handler)(struct request *req);
	const struct output_spec *output;
};
extern const struct route_answer api_route_answers[]; /* { NULL } terminated */

/* The account a ROUTE_ACCOUNT_OF request acts in, and what a caller who is
 * not its member is told: 404 "<what>.not_found" naming id, as if it did not
 * exist. */
struct route_account {
	char aid[16];
	const char *what; /* "job", "account" */
	const char *id;	  /* points into the request, or to aid */
};

struct route {
	const char *method;
	const char *pattern; /* "/:aid/api-keys/:id" */
	void (*handler)(struct request *req);
	enum route_access access;
	enum role min_role;		  /* ROUTE_ACCOUNT(_OF): the least role that may call */
	bool session_only;		  /* ROUTE_ACCOUNT(_OF): refuse personal access tokens */
	const struct field_spec *input;	  /* body fields, { NULL } terminated; NULL: no body */
	const struct output_spec *output; /* the success body */
	const char *summary;
	/* Query parameters, { NULL } terminated, checked like body fields (an
	 * undeclared one is 400 validation.unknown_field); NULL: none. */
	const struct field_spec *query;
	/* ROUTE_ACCOUNT_OF: finds the account (after authentication); false
	 * when it replied itself (400, 404, 503). */
	bool (*account_of)(struct request *req, struct route_account *out);
};

extern const struct route api_routes[];
extern const size_t api_routes_count;

#endif
