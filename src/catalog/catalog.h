/*
 * catalog — the products the commerce service sells: loading and validating them (JSON or
 * CSV), ranking them for a described item (full-text relevance blended with attribute
 * matches and synonyms), and the JSON answers of the commerce endpoints (CONTRACT §9).
 *
 *     err e = {0};
 *     catalog *c = catalog_new();
 *     if (catalog_load_file(c, "data/catalog.json", &e)) { fprintf(stderr, "%s\n", e.msg); ... }
 *     json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s}", "item_type", "bed", "style", "modern",
 *                             "material", "fabric", "color", "beige", "budget", "medium");
 *     json_t *resp = catalog_match_products(c, req, &e);    // {"matches":[...],...}
 *     ...
 *     catalog_free(c);
 *
 * Products live behind a small storage interface (catalog_impl.h): in memory with our own
 * BM25 (catalog_new), or in the database of src/store with SQLite FTS5 / PostgreSQL
 * tsvector relevance (catalog_open_store). A catalog is read-only while it serves: load
 * everything first, then share it between threads freely.
 */
#ifndef ARTISTRY_CATALOG_H
#define ARTISTRY_CATALOG_H

#include "core/core.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct catalog_product {
    char *id, *name, *category, *style, *material, *color;
    char *price;       /* USD as the original showed it: "$1,299" */
    char *budget_tier; /* "low" | "medium" | "high" */
    char *vendor, *url, *image_url, *description;
    bool affiliate;
    long price_inr;   /* -1 when the record has none */
    double price_usd; /* parsed from price */
    float *embedding; /* unit-length sentence embedding when an embedder is set, or NULL */
    size_t embedding_dim;
} catalog_product;

typedef struct catalog catalog;

/* An empty catalog on the in-memory store. */
catalog *catalog_new(void);
/* A catalog whose products live in the database (src/store; tables catalog_products and
 * its full-text index, created when missing): what is there is loaded at once; products added later
 * are written through, all of one load in one transaction. db must outlive the catalog. NULL with e
 * (503 unreachable). */
struct store;
catalog *catalog_open_store(struct store *db, err *e);
void catalog_free(catalog *c);

/* Adds the products of a JSON file ({"products":[...], "synonyms":{...},
 * "category_aliases":{...}} or a bare array) or a CSV file (a header row naming the
 * fields, then one product per row). A product whose id exists replaces the old one.
 * Everything is validated before anything is added: on error nothing changes and e says
 * file, record (or line) and field: "x.csv: line 7: budget_tier: 'cheap' is not one of
 * low, medium, high" (status 400). Returns the number of products read, or -1. */
int catalog_load_file(catalog *c, const char *path, err *e);
/* The same from memory; name is used in messages and its extension (.csv) picks CSV. */
int catalog_load_text(catalog *c, const char *name, const char *text, size_t len, err *e);

/* Adds from's synonyms and category aliases to c (products are not copied). Returns 0. */
int catalog_copy_words(catalog *c, const catalog *from);

size_t catalog_count(const catalog *c);
/* NULL when unknown. Borrowed; valid until the product is replaced or the catalog freed. */
const catalog_product *catalog_get(const catalog *c, const char *id);
/* The catalog category for a word ("couch" → "sofa"), lower-cased, into out. */
void catalog_category(const catalog *c, const char *word, char *out, size_t outsz);

/* A full product record with the original's keys in its order, then price_inr when
 * known. New reference. */
json_t *catalog_product_json(const catalog_product *p);

/* Per-vendor affiliate link templates: {"default": "{url}?ref=artistry&session={session}",
 * "Amazon": "..."}; placeholders {url}, {session} (URL-encoded), {product_id}. Replaces
 * the built-in default (the original's link shape). -1 with e on a template without
 * {url}. */
int catalog_set_affiliate_templates(catalog *c, const json_t *templates, err *e);

/* Ranks with sentence embeddings too (COMMERCE_EMBED_MODEL): every product's text
 * ("{category} {style} {material} {color}", as the original embedded it) is embedded now
 * and every product loaded later as it comes. With a store, embeddings are kept there by
 * the hash of model_tag and text, so a restart computes only what changed. The catalog
 * does not own m. -1 with e when the model fails. */
struct text_embedder;
int catalog_set_embedder(catalog *c, struct text_embedder *m, const char *model_tag, err *e);

/* ---------------------------------------------------------------- ranking */

typedef struct catalog_query {
    const char *item_type, *style, *material, *color, *budget;
} catalog_query;

typedef struct catalog_hit {
    const catalog_product *product;
    double score; /* match_score in [0, 1] */
} catalog_hit;

/* Candidates are the products of the item's category in its budget tier, or of the
 * category in any tier when that tier has none (as the original). With an embedder,
 * match_score = 0.45 attributes + 0.25 text + 0.30 cosine similarity (negative as 0);
 * without, 0.6 attributes + 0.4 text. Writes the best `max`
 * in descending score (ties by id) and returns how many. Unknown category → 0. */
size_t catalog_rank(const catalog *c, const catalog_query *q, catalog_hit *out, size_t max);

/* ---------------------------------------------------------------- endpoints (§9) */

/* GET /commerce/products/{category}?budget= : category and budget echoed as given
 * (budget may be NULL). */
json_t *catalog_products_json(const catalog *c, const char *category, const char *budget);
/* POST /commerce/match-products. 422 on a missing or non-string field. */
json_t *catalog_match_products(const catalog *c, const json_t *body, err *e);
/* POST /commerce/batch-match: the body must be an array of match requests (at most
 * 1,000: 413 above). */
json_t *catalog_batch_match(const catalog *c, const json_t *body, err *e);
/* POST /commerce/generate-affiliate-links. Unknown product ids are skipped, as in the
 * original; quantity must be an integer >= 1 (422). */
json_t *catalog_affiliate_links(const catalog *c, const json_t *body, err *e);

#endif
