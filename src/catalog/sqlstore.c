/* Products in the database of src/store (migration 0005_catalog creates the tables). The
 * table catalog_products is the record; full-text
 * relevance comes from the engine (SQLite FTS5 bm25 with the porter stemmer, PostgreSQL ts_rank on
 * an english tsvector); listing and lookups by id are served from an in-memory mirror loaded at
 * open, since a service reads far more than it writes and every product fits in memory many times
 * over. */
#include "catalog_impl.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sqlstore {
    store *db;
    void *mirror; /* a memstore */
} sqlstore;

static const char select_all[] =
    "SELECT id, name, category, style, material, color, price, price_usd, price_inr,"
    " budget_tier, vendor, url, image_url, affiliate, description FROM catalog_products"
    " ORDER BY seq";

static char *dup_or_empty(const store_rows *r, size_t row, size_t col)
{
    char *s = store_rows_dup(r, row, col);
    return s ? s : xstrdup("");
}

void *catalog_sqlstore_open(store *db, err *e)
{
    store_rows *r = NULL;
    if (store_exec(db, select_all, NULL, 0, &r, e) < 0) return NULL;
    size_t n = store_rows_count(r);
    catalog_product **ps = xcalloc(n + 1, sizeof *ps);
    for (size_t i = 0; i < n; i++) {
        catalog_product *p = xcalloc(1, sizeof *p);
        char **text[] = {&p->id,       &p->name,  &p->category, &p->style,
                         &p->material, &p->color, &p->price};
        for (size_t k = 0; k < ARRAY_LEN(text); k++) *text[k] = dup_or_empty(r, i, k);
        p->price_usd = store_rows_double(r, i, 7);
        p->price_inr = store_rows_is_null(r, i, 8) ? -1 : store_rows_int(r, i, 8);
        p->budget_tier = dup_or_empty(r, i, 9);
        p->vendor = dup_or_empty(r, i, 10);
        p->url = dup_or_empty(r, i, 11);
        p->image_url = dup_or_empty(r, i, 12);
        p->affiliate = store_rows_int(r, i, 13) != 0;
        p->description = dup_or_empty(r, i, 14);
        ps[i] = p;
    }
    store_rows_free(r);
    sqlstore *s = xcalloc(1, sizeof *s);
    s->db = db;
    s->mirror = catalog_memstore_new();
    catalog_memstore_ops.put(s->mirror, ps, n, e);
    free(ps);
    return s;
}

typedef struct put_ctx {
    catalog_product **ps;
    size_t n;
} put_ctx;

static int upsert(store_tx *tx, void *ctx, err *e)
{
    put_ctx *c = ctx;
    store_rows *r = NULL;
    if (store_tx_exec(tx, "SELECT COALESCE(MAX(seq), 0) FROM catalog_products", NULL, 0, &r, e) < 0)
        return -1;
    int64_t seq = store_rows_int(r, 0, 0);
    store_rows_free(r);
    static const char sql[] =
        "INSERT INTO catalog_products (id, seq, name, category, style, material, color, price, "
        "price_usd,"
        " price_inr, budget_tier, vendor, url, image_url, affiliate, description)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, category = excluded.category,"
        " style = excluded.style, material = excluded.material, color = excluded.color,"
        " price = excluded.price, price_usd = excluded.price_usd,"
        " price_inr = excluded.price_inr, budget_tier = excluded.budget_tier,"
        " vendor = excluded.vendor, url = excluded.url, image_url = excluded.image_url,"
        " affiliate = excluded.affiliate, description = excluded.description";
    for (size_t i = 0; i < c->n; i++) {
        const catalog_product *p = c->ps[i];
        store_value v[] = {
            store_text(p->id),          store_int(++seq),
            store_text(p->name),        store_text(p->category),
            store_text(p->style),       store_text(p->material),
            store_text(p->color),       store_text(p->price),
            store_double(p->price_usd), p->price_inr >= 0 ? store_int(p->price_inr) : store_null(),
            store_text(p->budget_tier), store_text(p->vendor),
            store_text(p->url),         store_text(p->image_url),
            store_int(p->affiliate),    store_text(p->description)};
        if (store_tx_exec(tx, sql, v, ARRAY_LEN(v), NULL, e) < 0) {
            err_prefix(e, "product %s: ", p->id);
            return -1;
        }
    }
    return 0;
}

static int sql_put(void *st, catalog_product **ps, size_t n, err *e)
{
    sqlstore *s = st;
    put_ctx c = {ps, n};
    if (store_transact(s->db, STORE_TX_WRITE, upsert, &c, e) != 0) {
        for (size_t i = 0; i < n; i++) catalog_product_free(ps[i]);
        return -1;
    }
    return catalog_memstore_ops.put(s->mirror, ps, n, e);
}

static size_t sql_count(void *st)
{
    return catalog_memstore_ops.count(((sqlstore *)st)->mirror);
}

static const catalog_product *sql_get(void *st, const char *id)
{
    return catalog_memstore_ops.get(((sqlstore *)st)->mirror, id);
}

static size_t sql_list(void *st, const char *category, const char *tier,
                       const catalog_product ***out)
{
    return catalog_memstore_ops.list(((sqlstore *)st)->mirror, category, tier, out);
}

typedef struct idx {
    const char *id;
    size_t at;
} idx;

static int by_id(const void *a, const void *b)
{
    return strcmp(((const idx *)a)->id, ((const idx *)b)->id);
}

/* One query for all the words; adds the relevance to the candidates the engine found. Our words are
 * lower-case letters and digits (catalog_words), so they can go into FTS5 as quoted strings and
 * into to_tsquery as they are. */
static void score_terms(sqlstore *s, const char *category, const char *const *terms, size_t nterms,
                        const idx *order, size_t n, double *scores)
{
    bool lite = store_get_dialect(s->db) == STORE_SQLITE;
    size_t cap = 64, len = 0, nq = 0;
    char *q = xmalloc(cap);
    q[0] = 0;
    for (size_t t = 0; t < nterms; t++) {
        size_t need = len + strlen(terms[t]) + 8;
        if (need > cap) q = xrealloc(q, cap = need * 2);
        len += (size_t)sprintf(q + len, lite ? "%s\"%s\"" : "%s%s",
                               nq++ ? (lite ? " OR " : " | ") : "", terms[t]);
    }
    if (len && lite) {
        /* The category inside MATCH lets FTS5 intersect before it ranks: filtering after
         * the join instead ran the match once per product of the category (0.3 s). */
        size_t cl = strlen(category);
        char *cq = xmalloc(2 * cl + 1), *o = cq;
        for (const char *c = category; *c; c++) {
            if (*c == '"') *o++ = '"';
            *o++ = *c;
        }
        *o = 0;
        char *full = xasprintf("category : \"%s\" AND (%s)", cq, q);
        free(cq);
        free(q);
        q = full;
    }
    if (len) {
        static const char fts[] =
            "SELECT p.id, -bm25(catalog_products_fts) FROM catalog_products_fts"
            " CROSS JOIN catalog_products p ON p.rowid = catalog_products_fts.rowid"
            " WHERE catalog_products_fts MATCH $1 AND p.category = $2";
        /* ts_rank is a few hundredths where BM25 is a few units: scaled to compare. */
        static const char pg[] = "SELECT id, 20 * ts_rank(search, to_tsquery('english', $1))"
                                 " FROM catalog_products WHERE category = $2"
                                 " AND search @@ to_tsquery('english', $1)";
        store_value v[] = {store_text(q), store_text(category)};
        store_rows *r = NULL;
        err e = {0};
        if (store_exec(s->db, lite ? fts : pg, v, 2, &r, &e) >= 0) {
            for (size_t i = 0; i < store_rows_count(r); i++) {
                idx key = {store_rows_text(r, i, 0), 0};
                const idx *hit = key.id ? bsearch(&key, order, n, sizeof *order, by_id) : NULL;
                if (hit) scores[hit->at] += store_rows_double(r, i, 1);
            }
        } else {
            /* Ranking degrades to attributes only; the request still gets an answer. */
            log_warn("catalog text search failed err=\"%s\"", e.msg);
        }
        store_rows_free(r);
    }
    free(q);
}

static void sql_text_scores(void *st, const char *const *terms, const double *weights,
                            size_t nterms, const catalog_product *const *cands, size_t n,
                            double *scores)
{
    (void)weights;
    sqlstore *s = st;
    for (size_t i = 0; i < n; i++) scores[i] = 0;
    if (!n) return;
    idx *order = xmalloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = (idx){cands[i]->id, i};
    qsort(order, n, sizeof *order, by_id);
    /* One query for all the words: the engine cannot weight words within a query, and a
     * second query for the synonyms alone doubled the cost of a match (10,000 products:
     * 18 ms p50 for a whole category). Synonyms still count less through the attribute
     * part of the score. */
    score_terms(s, cands[0]->category, terms, nterms, order, n, scores);
    free(order);
}

static void sql_free(void *st)
{
    sqlstore *s = st;
    catalog_memstore_ops.free(s->mirror);
    free(s);
}

const catalog_store_ops catalog_sqlstore_ops = {
    .put = sql_put,
    .count = sql_count,
    .get = sql_get,
    .list = sql_list,
    .text_scores = sql_text_scores,
    .free = sql_free,
};
