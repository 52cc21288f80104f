/* Masking of secrets in free text that is stored or shown (job step logs):
 * runos tokens (rns_/rnp_/rnj_/rni_/rnd_...), generated service passwords
 * (rnc_...) and app webhook secrets (rnw_...), PEM private key blocks, and the
 * values of password=, secret=, token=, api_key= style pairs. Thread safe. */
#ifndef RUNOSD_UTIL_MASK_H
#define RUNOSD_UTIL_MASK_H

/* A copy of text with its secrets replaced by "***" (to free()). */
char *mask_secrets(const char *text);

#endif
