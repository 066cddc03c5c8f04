/* The catalog on the database (src/store): products persist in their order, replacement by
 * id keeps the place, ranking through FTS5 (SQLite) or tsvector (PostgreSQL) gives the
 * same answers as in memory. Runs on both backends (meson: _sqlite and _postgresql). */
#include "catalog/catalog.h"
#include "golden.h"
#include "helpers.h"
#include "text/text.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static catalog *open_loaded(store **s, store_params *p)
{
    *s = test_store_open(p);
    err e = {0};
    catalog *c = catalog_open_store(*s, &e);
    cr_assert_not_null(c, "%s", e.msg);
    cr_assert_eq(catalog_count(c), 0);
    cr_assert_eq(catalog_load_file(c, golden_source_path("data/catalog.json"), &e), 73, "%s",
                 e.msg);
    return c;
}

static const char *first(catalog *c, const char *item, const char *style, const char *material,
                         const char *color, const char *budget)
{
    catalog_query q = {item, style, material, color, budget};
    catalog_hit h[3];
    size_t n = catalog_rank(c, &q, h, 3);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < n; i++) cr_assert(h[i].score >= 0 && h[i].score <= 1);
    return h[0].product->id;
}

Test(store_catalog, persists_in_order_and_replaces_in_place)
{
    store_params p = test_params();
    store *s;
    catalog *c = open_loaded(&s, &p);
    json_t *before = catalog_products_json(c, "bed", NULL);
    catalog_free(c);
    store_close(s);

    s = test_store_reopen(&p);
    err e = {0};
    c = catalog_open_store(s, &e);
    cr_assert_not_null(c, "%s", e.msg);
    cr_assert_eq(catalog_count(c), 73);
    json_t *after = catalog_products_json(c, "bed", NULL);
    cr_assert(json_equal(before, after), "the beds come back the same, in the same order");
    /* Replacing bed_002 keeps its place; a new product goes last. */
    const char *csv = "id,name,category,price,budget_tier,color\n"
                      "bed_002,Renamed Bed,bed,$10,low,grey\nbed_new,New Bed,bed,$20,high,red\n";
    cr_assert_eq(catalog_load_text(c, "x.csv", csv, strlen(csv), &e), 2, "%s", e.msg);
    catalog_free(c);
    store_close(s);
    s = test_store_reopen(&p);
    c = catalog_open_store(s, &e);
    json_t *beds = json_object_get(catalog_products_json(c, "bed", NULL), "products");
    cr_assert_eq(json_array_size(beds), 8);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(beds, 1), "name")),
                     "Renamed Bed");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(beds, 7), "id")), "bed_new");
    /* A failed load writes nothing. */
    const char *bad = "id,name,category,price,budget_tier\nz1,Z,bed,$1,low\nz2,Z,bed,$1,cheap\n";
    cr_assert_eq(catalog_load_text(c, "bad.csv", bad, strlen(bad), &e), -1);
    cr_assert_eq(catalog_count(c), 74);
    cr_assert_null(catalog_get(c, "z1"));
    json_decref(before);
    json_decref(after);
    catalog_free(c);
    test_store_done(s);
}

Test(store_catalog, ranking_matches_memory)
{
    store_params p = test_params();
    store *s;
    catalog *c = open_loaded(&s, &p);
    cr_assert_str_eq(first(c, "bed", "modern", "fabric", "beige", "medium"), "bed_001");
    cr_assert_str_eq(first(c, "bed", "contemporary", "fabric upholstery", "grey", "medium"),
                     "bed_005");
    cr_assert_str_eq(first(c, "couch", "modern", "leather", "black", "high"), "sofa_006");
    cr_assert_str_eq(first(c, "bed", "minimalist", "wooden", "gray", "low"), "bed_002");
    catalog_query q = {"spaceship", "", "", "", "low"};
    catalog_hit h[3];
    cr_assert_eq(catalog_rank(c, &q, h, 3), 0);
    catalog_free(c);
    test_store_done(s);
}

/* The tiny random-weight BERT of tests/text/make_lm_fixtures.py as the embedder. */
static text_embedder *tiny_embedder(void)
{
    char dir[] = "/tmp/artistry-embed-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s/tests/text/make_lm_fixtures.py %s >/dev/null 2>&1", PYTHON3,
             SOURCE_ROOT, dir);
    cr_assert_eq(system(cmd), 0, "%s (needs python3-torch)", cmd);
    char model[256], vocab[256];
    snprintf(model, sizeof model, "%s/bert-tiny.onnx", dir);
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", dir);
    err e = {0};
    text_embedder *m = text_embedder_load(model, vocab, 1, &e);
    cr_assert_not_null(m, "%s", e.msg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    return m;
}

static int64_t stored_embeddings(store *s)
{
    store_rows *r = NULL;
    err e = {0};
    cr_assert_geq(
        store_exec(s, "SELECT COUNT(*) FROM kv WHERE ns = 'catalog_embedding'", NULL, 0, &r, &e), 0,
        "%s", e.msg);
    int64_t n = store_rows_int(r, 0, 0);
    store_rows_free(r);
    return n;
}

Test(store_catalog, embeddings_are_stored_and_follow_the_text, .timeout = 300)
{
    text_embedder *m = tiny_embedder();
    store_params p = test_params();
    store *s;
    catalog *c = open_loaded(&s, &p);
    err e = {0};
    cr_assert_eq(catalog_set_embedder(c, m, "tiny-v1", &e), 0, "%s", e.msg);
    const catalog_product *bed = catalog_get(c, "bed_001");
    cr_assert_not_null(bed->embedding);
    cr_assert_eq(bed->embedding_dim, 32);
    double norm = 0;
    for (size_t k = 0; k < 32; k++) norm += (double)bed->embedding[k] * bed->embedding[k];
    cr_assert_float_eq(norm, 1.0, 1e-5);
    int64_t stored = stored_embeddings(s);
    cr_assert_gt(stored, 10, "one stored per distinct text");
    float first = bed->embedding[0];
    /* Ranking with embeddings: same candidates, scores in [0, 1], sorted. */
    catalog_query q = {"bed", "modern", "fabric", "beige", "medium"};
    catalog_hit h[3];
    size_t n = catalog_rank(c, &q, h, 3);
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(h[i].product->budget_tier, "medium");
        cr_assert(h[i].score >= 0 && h[i].score <= 1);
        if (i) cr_assert_geq(h[i - 1].score, h[i].score);
    }
    /* A changed text gets a new embedding; an unchanged catalog reopened computes none. */
    const char *csv = "id,name,category,price,budget_tier,color,material\n"
                      "bed_001,Bed,bed,$10,medium,navy,velvet\n";
    cr_assert_eq(catalog_load_text(c, "x.csv", csv, strlen(csv), &e), 1, "%s", e.msg);
    cr_assert_eq(stored_embeddings(s), stored + 1);
    cr_assert_neq(catalog_get(c, "bed_001")->embedding[0], first);
    catalog_free(c);
    store_close(s);
    s = test_store_reopen(&p);
    c = catalog_open_store(s, &e);
    cr_assert_eq(catalog_set_embedder(c, m, "tiny-v1", &e), 0);
    cr_assert_eq(stored_embeddings(s), stored + 1, "nothing recomputed");
    cr_assert_eq(catalog_set_embedder(c, m, "tiny-v2", &e), 0);
    cr_assert_gt(stored_embeddings(s), stored + 1, "a new model tag embeds again");
    catalog_free(c);
    test_store_done(s);
    text_embedder_free(m);
}
