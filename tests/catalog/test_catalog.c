/* The catalog: the shipped data, the commerce goldens (on the original's eight products,
 * read back from the goldens file itself), ranking, imports and affiliate links. */
#include "catalog/catalog.h"
#include "golden.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static catalog *shipped(void)
{
    catalog *c = catalog_new();
    err e = {0};
    int n = catalog_load_file(c, golden_source_path("data/catalog.json"), &e);
    cr_assert_gt(n, 0, "%s", e.msg);
    return c;
}

Test(data, sixty_products_three_tiers_per_category_inr_and_usd)
{
    catalog *c = shipped();
    cr_assert_geq(catalog_count(c), 60);
    const char *cats[] = {"bed",      "curtains", "chair", "wardrobe",   "sofa", "table",
                          "lighting", "rug",      "plant", "television", "desk", "cabinet"};
    const char *tiers[] = {"low", "medium", "high"};
    for (size_t i = 0; i < sizeof cats / sizeof *cats; i++)
        for (int t = 0; t < 3; t++) {
            json_t *r = catalog_products_json(c, cats[i], tiers[t]);
            json_t *ps = json_object_get(r, "products");
            cr_assert_gt(json_array_size(ps), 0, "%s has no %s product", cats[i], tiers[t]);
            for (size_t k = 0; k < json_array_size(ps); k++) {
                json_t *p = json_array_get(ps, k);
                cr_assert(json_string_value(json_object_get(p, "price"))[0] == '$');
                cr_assert_gt(json_integer_value(json_object_get(p, "price_inr")), 0);
            }
            json_decref(r);
        }
    /* The original's products keep their ids, names, vendors and links. */
    const catalog_product *p = catalog_get(c, "bed_003");
    cr_assert_not_null(p);
    cr_assert_str_eq(p->url, "https://westelm.com/product/bed_003");
    cr_assert_str_eq(p->price, "$1,299");
    catalog_free(c);
}

/* The original catalog, in its order, from the recorded /commerce/products answers. */
static catalog *original_from_goldens(json_t *all)
{
    json_t *products = json_array();
    const char *order[] = {"/commerce/products/bed", "/commerce/products/curtains",
                           "/commerce/products/chair", "/commerce/products/wardrobe"};
    for (size_t o = 0; o < 4; o++)
        for (size_t i = 0; i < json_array_size(all); i++) {
            json_t *r = json_array_get(all, i);
            if (strcmp(json_string_value(json_object_get(r, "path")), order[o]) == 0 &&
                json_is_null(json_object_get(r, "query"))) {
                json_array_extend(products,
                                  json_object_get(json_object_get(r, "response"), "products"));
                break;
            }
        }
    cr_assert_eq(json_array_size(products), 8);
    char *text = json_dumps(products, 0);
    catalog *c = catalog_new();
    err e = {0};
    cr_assert_eq(catalog_load_text(c, "original.json", text, strlen(text), &e), 8, "%s", e.msg);
    free(text);
    json_decref(products);
    return c;
}

static json_t *answer(catalog *c, json_t *rec, err *e)
{
    const char *method = json_string_value(json_object_get(rec, "method"));
    const char *path = json_string_value(json_object_get(rec, "path"));
    if (strcmp(method, "GET") == 0 && strncmp(path, "/commerce/products/", 19) == 0) {
        const char *budget =
            json_string_value(json_object_get(json_object_get(rec, "query"), "budget"));
        return catalog_products_json(c, path + 19, budget);
    }
    if (strcmp(path, "/commerce/generate-affiliate-links") == 0)
        return catalog_affiliate_links(c, json_object_get(rec, "request"), e);
    err_set(e, 404, "no catalog function for %s %s", method, path);
    return NULL;
}

Test(goldens, every_commerce_record_matches)
{
    json_t *all = golden_load();
    cr_assert_not_null(all, "cannot read the goldens (set ARTISTRY_SHARED)");
    catalog *orig = original_from_goldens(all), *ship = shipped();
    int total = 0, passed = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *rec = json_array_get(all, i);
        if (strcmp(json_string_value(json_object_get(rec, "service")), "commerce") != 0) continue;
        const char *path = json_string_value(json_object_get(rec, "path"));
        /* Product listings depend on the catalog's contents: checked on the original's;
         * affiliate links are checked on both, since the shipped catalog keeps the
         * original's products. */
        catalog *cs[2] = {orig, ship};
        int ncs = strstr(path, "affiliate") ? 2 : 1;
        for (int k = 0; k < ncs; k++) {
            total++;
            err e = {0};
            json_t *got = answer(cs[k], rec, &e);
            char why[1024] = "";
            if (got && golden_match(path, json_object_get(rec, "response"), got, why, sizeof why))
                passed++;
            else
                cr_log_error("golden %zu %s (%s catalog): %s %s", i + 1, path,
                             k ? "shipped" : "original", e.msg, why);
            json_decref(got);
        }
    }
    printf("goldens: commerce %d/%d checks match (26 records)\n", passed, total);
    cr_expect_eq(total, 28);
    cr_expect_eq(passed, total);
    catalog_free(orig);
    catalog_free(ship);
    json_decref(all);
}

static size_t rank(catalog *c, const char *item, const char *style, const char *material,
                   const char *color, const char *budget, catalog_hit *hits)
{
    catalog_query q = {item, style, material, color, budget};
    return catalog_rank(c, &q, hits, 3);
}

Test(ranking, beige_fabric_bed_at_medium_ranks_beige_upholstered_bed_first)
{
    catalog *c = shipped();
    catalog_hit h[3];
    size_t n = rank(c, "bed", "modern", "fabric", "beige", "medium", h);
    cr_assert_geq(n, 2);
    cr_assert_str_eq(h[0].product->id, "bed_001", "got %s", h[0].product->id);
    cr_assert_str_eq(h[0].product->budget_tier, "medium");
    for (size_t i = 0; i < n; i++) {
        cr_assert(h[i].score >= 0 && h[i].score <= 1);
        cr_assert_str_eq(h[i].product->budget_tier, "medium");
        if (i) cr_assert_geq(h[i - 1].score, h[i].score);
    }
    /* Colour decides between otherwise similar beds: grey fabric → the grey bed. */
    n = rank(c, "bed", "contemporary", "fabric upholstery", "grey", "medium", h);
    cr_assert_str_eq(h[0].product->id, "bed_005");
    /* Synonyms: "gray" is grey, "couch" is a sofa, "wooden" is wood. */
    n = rank(c, "couch", "modern", "leather", "black", "high", h);
    cr_assert_gt(n, 0);
    cr_assert_str_eq(h[0].product->category, "sofa");
    cr_assert_str_eq(h[0].product->id, "sofa_006");
    n = rank(c, "bed", "minimalist", "wooden", "gray", "low", h);
    cr_assert_str_eq(h[0].product->id, "bed_002");
    catalog_free(c);
}

Test(ranking, unknown_category_tier_fallback_and_empty_catalog)
{
    catalog *c = shipped();
    catalog_hit h[3];
    cr_assert_eq(rank(c, "spaceship", "modern", "steel", "white", "medium", h), 0);
    /* An unknown tier falls back to the whole category, as in the original. */
    size_t n = rank(c, "bed", "modern", "fabric", "beige", "premium", h);
    cr_assert_eq(n, 3);
    catalog_free(c);
    catalog *empty = catalog_new();
    cr_assert_eq(rank(empty, "bed", "", "", "", "", h), 0);
    err e = {0};
    json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s}", "item_type", "bed", "style", "", "material",
                            "", "color", "", "budget", "low");
    json_t *r = catalog_match_products(empty, req, &e);
    cr_assert_not_null(r);
    cr_assert_eq(json_array_size(json_object_get(r, "matches")), 0);
    cr_assert_eq(json_integer_value(json_object_get(r, "total_matches")), 0);
    json_decref(r);
    json_decref(req);
    catalog_free(empty);
}

Test(endpoints, match_batch_and_bad_input)
{
    catalog *c = shipped();
    err e = {0};
    json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s}", "item_type", "Bed", "style", "modern",
                            "material", "fabric", "color", "beige", "budget", "Medium");
    json_t *r = catalog_match_products(c, req, &e);
    cr_assert_not_null(r, "%s", e.msg);
    json_t *m = json_array_get(json_object_get(r, "matches"), 0);
    const char *keys[] = {"product_id", "name",        "vendor",    "price",      "url",
                          "image_url",  "match_score", "affiliate", "description"};
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(m, key, v)
    {
        if (k < 9) cr_assert_str_eq(key, keys[k]);
        k++;
    }
    cr_assert(json_is_real(json_object_get(m, "match_score")));
    json_decref(r);
    /* A missing field and a number for a string are 422s naming the field. */
    json_object_del(req, "color");
    cr_assert_null(catalog_match_products(c, req, &e));
    cr_assert_eq(e.status, 422);
    cr_assert(strstr(e.msg, "color"), "%s", e.msg);
    json_object_set_new(req, "color", json_integer(3));
    cr_assert_null(catalog_match_products(c, req, &e));
    cr_assert_eq(e.status, 422);
    /* Batch: an array; duplicates collapse onto their item_type. */
    json_object_set_new(req, "color", json_string("beige"));
    json_t *batch = json_pack("[O,O,{s:s,s:s,s:s,s:s,s:s}]", req, req, "item_type", "sofa", "style",
                              "", "material", "", "color", "", "budget", "low");
    r = catalog_batch_match(c, batch, &e);
    cr_assert_not_null(r, "%s", e.msg);
    cr_assert_eq(json_integer_value(json_object_get(r, "total_items")), 2);
    cr_assert_eq(json_object_size(json_object_get(r, "items")), 2);
    json_decref(r);
    cr_assert_null(catalog_batch_match(c, req, &e)); /* an object is not a list */
    cr_assert_eq(e.status, 422);
    json_t *big = json_array();
    for (int i = 0; i < 10000; i++) json_array_append(big, req);
    cr_assert_null(catalog_batch_match(c, big, &e));
    cr_assert_eq(e.status, 413);
    json_decref(big);
    json_decref(batch);
    json_decref(req);
    catalog_free(c);
}

Test(endpoints, affiliate_links_encode_sessions_and_use_vendor_templates)
{
    catalog *c = shipped();
    err e = {0};
    json_t *tmpl = json_pack("{s:s}", "Amazon", "{url}?tag=artistry-21&sid={session}");
    cr_assert_eq(catalog_set_affiliate_templates(c, tmpl, &e), 0);
    json_t *cart = json_pack("{s:[{s:s,s:i},{s:s}],s:s}", "items", "product_id", "bed_001",
                             "quantity", 3, "product_id", "bed_003", "session_id", "a b&c=d/é");
    json_t *r = catalog_affiliate_links(c, cart, &e);
    cr_assert_not_null(r, "%s", e.msg);
    json_t *links = json_object_get(r, "affiliate_links");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(links, 0), "affiliate_url")),
        "https://amazon.com/product/bed_001?tag=artistry-21&sid=a%20b%26c%3Dd%2F%C3%A9");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(links, 1), "affiliate_url")),
        "https://westelm.com/product/bed_003?ref=artistry&session=a%20b%26c%3Dd%2F%C3%A9");
    cr_assert_str_eq(json_string_value(json_object_get(r, "estimated_total")), "$2496.00");
    json_decref(r);
    /* A zero or fractional quantity is refused. */
    json_object_set_new(json_array_get(json_object_get(cart, "items"), 0), "quantity",
                        json_real(1.5));
    cr_assert_null(catalog_affiliate_links(c, cart, &e));
    cr_assert_eq(e.status, 422);
    json_object_set_new(json_array_get(json_object_get(cart, "items"), 0), "quantity",
                        json_integer(0));
    cr_assert_null(catalog_affiliate_links(c, cart, &e));
    json_decref(tmpl);
    tmpl = json_pack("{s:s}", "IKEA", "https://example.org/no-url-placeholder");
    cr_assert_eq(catalog_set_affiliate_templates(c, tmpl, &e), -1);
    json_decref(tmpl);
    json_decref(cart);
    catalog_free(c);
}

Test(import, csv_with_quotes_and_errors_naming_line_and_field)
{
    catalog *c = catalog_new();
    err e = {0};
    const char *good = "\xEF\xBB\xBFid,name,category,style,material,color,price,budget_tier,"
                       "vendor,url,image_url,affiliate,description,price_inr\r\n"
                       "x1,\"Bed, \"\"cosy\"\"\",Bed,modern,wood,beige,\"$1,299\",MEDIUM,IKEA,"
                       "https://ikea.com/product/x1,,true,\"two\nlines\",107800\r\n"
                       "\r\n"
                       "x2,Lamp,lighting,,,,$19,low,,,,no,,\n";
    cr_assert_eq(catalog_load_text(c, "p.csv", good, strlen(good), &e), 2, "%s", e.msg);
    const catalog_product *p = catalog_get(c, "x1");
    cr_assert_str_eq(p->name, "Bed, \"cosy\"");
    cr_assert_str_eq(p->category, "bed");
    cr_assert_str_eq(p->budget_tier, "medium");
    cr_assert_str_eq(p->description, "two\nlines");
    cr_assert_eq(p->price_inr, 107800);
    cr_assert_float_eq(p->price_usd, 1299.0, 1e-9);
    cr_assert_not(catalog_get(c, "x2")->affiliate);
    const char *bad_tier = "id,name,category,price,budget_tier\nx3,Chair,chair,$5,cheap\n";
    cr_assert_eq(catalog_load_text(c, "q.csv", bad_tier, strlen(bad_tier), &e), -1);
    cr_assert_eq(e.status, 400);
    cr_assert(strstr(e.msg, "q.csv: row 1: budget_tier: 'cheap'"), "%s", e.msg);
    const char *bad_quote = "id,name\n\"x4,Chair\n";
    cr_assert_eq(catalog_load_text(c, "r.csv", bad_quote, strlen(bad_quote), &e), -1);
    cr_assert(strstr(e.msg, "line 2") && strstr(e.msg, "unterminated"), "%s", e.msg);
    const char *no_price = "id,name,category,budget_tier\nx5,Rug,rug,low\n";
    cr_assert_eq(catalog_load_text(c, "s.csv", no_price, strlen(no_price), &e), -1);
    cr_assert(strstr(e.msg, "price"), "%s", e.msg);
    cr_assert_eq(catalog_count(c), 2, "a failed import adds nothing");
    catalog_free(c);
}

Test(import, json_errors_and_replacement_by_id)
{
    catalog *c = catalog_new();
    err e = {0};
    const char *a = "[{\"id\":\"p\",\"name\":\"A\",\"category\":\"rug\",\"price\":12,"
                    "\"budget_tier\":\"low\"}]";
    cr_assert_eq(catalog_load_text(c, "a.json", a, strlen(a), &e), 1, "%s", e.msg);
    cr_assert_str_eq(catalog_get(c, "p")->price, "$12");
    const char *b = "{\"products\":[{\"id\":\"p\",\"name\":\"B\",\"category\":\"rug\","
                    "\"price\":\"$3,000\",\"budget_tier\":\"high\"}]}";
    cr_assert_eq(catalog_load_text(c, "b.json", b, strlen(b), &e), 1);
    cr_assert_eq(catalog_count(c), 1);
    cr_assert_str_eq(catalog_get(c, "p")->name, "B");
    const char *bad = "{\"products\":[{\"id\":\"q\",\"name\":7,\"category\":\"rug\"}]}";
    cr_assert_eq(catalog_load_text(c, "c.json", bad, strlen(bad), &e), -1);
    cr_assert(strstr(e.msg, "c.json: products[0]: name: expected a string"), "%s", e.msg);
    cr_assert_eq(catalog_load_text(c, "d.json", "{", 1, &e), -1);
    cr_assert(strstr(e.msg, "d.json: line 1"), "%s", e.msg);
    catalog_free(c);
}
