/*
 * commerce — the commerce service (port 8005, CONTRACT §9): its route table and
 * handlers over the catalog module.
 *
 *     artistry serve commerce
 *
 * Products live in the store (DATABASE_URL; default sqlite://$ARTISTRY_DATA_DIR/artistry.db),
 * seeded from the shipped catalog (COMMERCE_CATALOG, default <data>/catalog.json) whenever
 * that file changes; `artistry catalog import` adds to the same store. COMMERCE_STORE=memory
 * keeps the catalog in memory instead (the shipped file only), as does a store that cannot
 * be opened (logged). COMMERCE_AFFILIATE_TEMPLATES: a JSON object vendor → link template
 * (see catalog.h). COMMERCE_EMBED_MODEL: a sentence-transformers encoder (.onnx, with
 * vocab.txt beside it) whose embeddings join the ranking; product embeddings are kept in
 * the store and recomputed when a product's text or the model file changes.
 */
#ifndef ARTISTRY_COMMERCE_H
#define ARTISTRY_COMMERCE_H

#include "catalog/catalog.h"
#include "http/http.h"
#include "store/store.h"

extern const http_service commerce_service;

/* Opens the catalog as the service does: the store (seeded when the shipped catalog
 * changed) or memory. *db receives the store to close after the catalog (NULL in memory
 * mode). NULL with e when the shipped catalog or the templates are bad, or when
 * require_store is set and the store cannot be opened. */
catalog *commerce_open_catalog(bool require_store, store **db, err *e);

#endif
