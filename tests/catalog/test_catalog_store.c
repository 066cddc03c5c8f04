/* The catalog on the database (src/store): products persist in their order, replacement by
 * id keeps the place, ranking through FTS5 (SQLite) or tsvector (PostgreSQL) gives the
 * same answers as in memory. Runs on both backends (meson: _sqlite and _postgresql). */
#include "catalog/catalog.h"
#include "golden.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
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
