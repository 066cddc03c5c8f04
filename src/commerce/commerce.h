/*
 * commerce — the commerce service (port 8005, CONTRACT §9): its route table and
 * handlers over the catalog module.
 *
 *     artistry serve commerce
 *
 * Configuration: COMMERCE_CATALOG (the shipped catalog, default <data>/catalog.json),
 * ARTISTRY_DATA_DIR (imports from `artistry catalog import` live in its catalog/ folder
 * and are loaded after the shipped catalog, replacing products by id),
 * COMMERCE_AFFILIATE_TEMPLATES (a JSON object vendor → link template, see catalog.h).
 */
#ifndef ARTISTRY_COMMERCE_H
#define ARTISTRY_COMMERCE_H

#include "catalog/catalog.h"
#include "http/http.h"

extern const http_service commerce_service;

/* Loads the shipped catalog and every import, as the service does at start-up. */
catalog *commerce_load_catalog(err *e);
/* The folder imports are kept in: $ARTISTRY_DATA_DIR/catalog (default ./var/catalog). */
const char *commerce_import_dir(void);

#endif
