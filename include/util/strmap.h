/* A hash map from strings (copied) to pointers (owned by the caller). Not
 * thread safe: callers lock around it. */
#ifndef RUNOSD_UTIL_STRMAP_H
#define RUNOSD_UTIL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap;

struct strmap *strmap_create(void);
/* Frees the map; free_value (may be NULL) is called on every value. */
void strmap_destroy(struct strmap *m, void (*free_value)(void *value));

void *strmap_get(const struct strmap *m, const char *key);
/* Sets key to value; the previous value (or NULL) is returned. */
void *strmap_put(struct strmap *m, const char *key, void *value);
/* Removes key; its value (or NULL) is returned. */
void *strmap_remove(struct strmap *m, const char *key);
size_t strmap_size(const struct strmap *m);
/* Calls fn on every entry; fn must not change the map. */
void strmap_foreach(const struct strmap *m, void (*fn)(void *arg, const char *key, void *value),
		    void *arg);

/* FNV-1a of a string: for choosing shards. */
uint32_t strmap_hash(const char *key);

#endif
