/* The catalog's table, shared by its data (catalog_types.c) and its
 * functions (catalog.c); nothing else includes this. */
#ifndef RUNOSD_SERVICES_CATALOG_INTERNAL_H
#define RUNOSD_SERVICES_CATALOG_INTERNAL_H

#include "services/catalog.h"

extern const struct service_type catalog_types[];
extern const size_t catalog_types_count;

#endif
