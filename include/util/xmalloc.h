/* Allocation that never returns NULL: out of memory aborts the process.
 * Every module allocates through these, and jansson is pointed at them, so no
 * caller checks for NULL after an allocation. All are thread safe. */
#ifndef RUNOSD_UTIL_XMALLOC_H
#define RUNOSD_UTIL_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t count, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *ptr, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2), returns_nonnull));

#endif
