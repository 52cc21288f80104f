/* Limits of the text the API and the agent gateway take, in characters (as
 * validation counts them), and the size of a buffer that holds such a text
 * read back: UTF-8 takes up to 4 bytes a character, plus the NUL. A struct
 * member sized TEXT_BUF(limit) of the field's own limit never cuts what was
 * accepted. */
#ifndef RUNOSD_UTIL_TEXT_H
#define RUNOSD_UTIL_TEXT_H

#define TEXT_BUF(chars) (4 * (chars) + 1)

#define NAME_MAX_CHARS 100	      /* names of users, accounts, keys, clusters, nodes */
#define DESCRIPTION_MAX_CHARS 1000    /* a cluster's description */
#define WEBSITE_MAX_CHARS 255	      /* an account's website */
#define HOSTNAME_MAX_CHARS 253	      /* a node's host name (agent) */
#define OS_MAX_CHARS 128	      /* a node's operating system (agent) */
#define MACHINE_ID_MAX_CHARS 128      /* /etc/machine-id (agent) */
#define AGENT_VERSION_MAX_CHARS 64    /* the agent's version */
#define STATUS_MESSAGE_MAX_CHARS 4096 /* an install status's details (agent) */

#endif
