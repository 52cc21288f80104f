/* Chained hash map with string keys (see include/util/strmap.h). The bucket
 * array doubles when the map holds more entries than buckets. */
#include "util/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

struct entry {
	struct entry *next;
	uint32_t hash;
	void *value;
	char key[]; /* NUL-terminated */
};

struct strmap {
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t size;
};

uint32_t strmap_hash(const char *key)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

struct strmap *strmap_create(void)
{
	struct strmap *m = xcalloc(1, sizeof(*m));
	m->nbuckets = 64;
	m->buckets = xcalloc(m->nbuckets, sizeof(*m->buckets));
	return m;
}

void strmap_destroy(struct strmap *m, void (*free_value)(void *value))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct entry *e = m->buckets[i], *next; e; e = next) {
			next = e->next;
			if (free_value)
				free_value(e->value);
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct entry **slot(const struct strmap *m, const char *key, uint32_t hash)
{
	struct entry **p = &m->buckets[hash & (m->nbuckets - 1)];
	while (*p && ((*p)->hash != hash || strcmp((*p)->key, key) != 0))
		p = &(*p)->next;
	return p;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct entry *e = *slot(m, key, strmap_hash(key));
	return e ? e->value : NULL;
}

static void grow(struct strmap *m)
{
	size_t n = m->nbuckets * 2;
	struct entry **buckets = xcalloc(n, sizeof(*buckets));
	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct entry *e = m->buckets[i], *next; e; e = next) {
			next = e->next;
			e->next = buckets[e->hash & (n - 1)];
			buckets[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = buckets;
	m->nbuckets = n;
}

void *strmap_put(struct strmap *m, const char *key, void *value)
{
	uint32_t hash = strmap_hash(key);
	struct entry **p = slot(m, key, hash);
	if (*p) {
		void *old = (*p)->value;
		(*p)->value = value;
		return old;
	}
	size_t len = strlen(key);
	struct entry *e = xmalloc(sizeof(*e) + len + 1);
	e->next = NULL;
	e->hash = hash;
	e->value = value;
	memcpy(e->key, key, len + 1);
	*p = e;
	if (++m->size > m->nbuckets)
		grow(m);
	return NULL;
}

void *strmap_remove(struct strmap *m, const char *key)
{
	struct entry **p = slot(m, key, strmap_hash(key));
	struct entry *e = *p;
	if (!e)
		return NULL;
	*p = e->next;
	void *value = e->value;
	free(e);
	m->size--;
	return value;
}

size_t strmap_size(const struct strmap *m)
{
	return m->size;
}

void strmap_foreach(const struct strmap *m, void (*fn)(void *arg, const char *key, void *value),
		    void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct entry *e = m->buckets[i]; e; e = e->next)
			fn(arg, e->key, e->value);
}
