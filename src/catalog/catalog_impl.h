/* catalog — private: the storage interface products live behind, and shared helpers. */
#ifndef ARTISTRY_CATALOG_IMPL_H
#define ARTISTRY_CATALOG_IMPL_H

#include "catalog/catalog.h"

/* Where products are kept and searched: in memory (memstore.c) or in the database of
 * src/store (sqlstore.c: SQLite FTS5 bm25, PostgreSQL ts_rank, with an in-memory mirror
 * for listing). Every slot is required. */
typedef struct catalog_store_ops {
    /* Adds or replaces (by id) n products, all or none; the store takes ownership of them
     * either way. 0, or -1 with e (503 when the database is unreachable). */
    int (*put)(void *st, catalog_product **ps, size_t n, err *e);
    size_t (*count)(void *st);
    const catalog_product *(*get)(void *st, const char *id);
    /* Products of a category (lower-case; NULL: every category), and of a tier when tier
     * is not NULL, in the order they were added. *out is malloc'ed (the caller frees the array
     * only). */
    size_t (*list)(void *st, const char *category, const char *tier, const catalog_product ***out);
    /* Full-text relevance (BM25 or the engine's equivalent, >= 0) of each candidate for
     * the weighted query terms. */
    void (*text_scores)(void *st, const char *const *terms, const double *weights, size_t nterms,
                        const catalog_product *const *cands, size_t n, double *scores);
    void (*free)(void *st);
} catalog_store_ops;

extern const catalog_store_ops catalog_memstore_ops, catalog_sqlstore_ops;
void *catalog_memstore_new(void);
/* The database store: loads every product of db into its mirror. NULL with e. */
struct store;
void *catalog_sqlstore_open(struct store *db, err *e);

struct catalog {
    const catalog_store_ops *ops;
    void *store;
    struct store *db;               /* the database under a store catalog, else NULL */
    struct text_embedder *embedder; /* borrowed, or NULL */
    char embed_tag[256];
    json_t *synonyms;         /* word → [words] */
    json_t *category_aliases; /* word → category */
    json_t *affiliate;        /* vendor → template, "default" */
};

/* Lower-case words of text, plural 's' dropped ("Curtains" → "curtain"), each passed to
 * fn. Shared by indexing and querying so both see the same words. */
void catalog_words(const char *text, void (*fn)(const char *word, void *ud), void *ud);
void catalog_product_free(catalog_product *p);
/* Embeds the products with the given ids (after a load) when an embedder is set. */
int catalog_embed_ids(catalog *c, const char *const *ids, size_t n, err *e);
/* The text a product is embedded by, malloc'ed. */
char *catalog_embed_text(const char *category, const char *style, const char *material,
                         const char *color);

#endif
