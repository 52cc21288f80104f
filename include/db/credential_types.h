/* Credential types that stores hold and auth/ decides with: account roles,
 * token kinds and the sizes of what is stored of a token or a password. They
 * live here, below both, so that store headers need no auth/ header; the
 * functions over them (role names, token parsing, hashing) stay in auth/. */
#ifndef RUNOSD_DB_CREDENTIAL_TYPES_H
#define RUNOSD_DB_CREDENTIAL_TYPES_H

/* Account roles, ordered: each includes the rights of the ones below it. */
enum role {
	ROLE_NONE = 0, /* not a member */
	ROLE_VIEWER,
	ROLE_MEMBER,
	ROLE_ADMIN,
	ROLE_OWNER,
};

enum token_kind {
	TOKEN_INVALID = 0,
	TOKEN_SESSION, /* rns_ */
	TOKEN_PAT,     /* rnp_ */
	TOKEN_JOIN,    /* rnj_ */
	TOKEN_INVITE,  /* rni_ */
	TOKEN_DEVICE,  /* rnd_: CLI device login */
};

/* What lists show of a PAT: its type prefix and first 8 random characters. */
#define TOKEN_DISPLAY_PREFIX_LEN 12

/* The longest PHC string of a password hash (auth/password.h). */
#define PASSWORD_HASH_MAX 160

#endif
