/* The commerce service's routes over the catalog. The catalog is loaded once at start-up
 * (the shipped products, then the imports in name order) and is read-only while serving. */
#include "commerce/commerce.h"

#include "design/design.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static catalog *cat;

const char *commerce_import_dir(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/catalog", cfg_str("ARTISTRY_DATA_DIR", "./var"));
    return dir;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static bool importable(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".json") == 0) ||
                              (n > 4 && strcmp(name + n - 4, ".csv") == 0));
}

catalog *commerce_load_catalog(err *e)
{
    char def[4200];
    snprintf(def, sizeof def, "%s/catalog.json", design_data_dir());
    const char *path = cfg_str("COMMERCE_CATALOG", def);
    catalog *c = catalog_new();
    if (catalog_load_file(c, path, e) < 0) goto fail;
    struct dirent **ents;
    int n = scandir(commerce_import_dir(), &ents, NULL, by_name);
    for (int i = 0; i < n; i++) {
        if (importable(ents[i]->d_name) && c) {
            char p[8400];
            snprintf(p, sizeof p, "%s/%s", commerce_import_dir(), ents[i]->d_name);
            if (catalog_load_file(c, p, e) < 0) {
                catalog_free(c);
                c = NULL;
            }
        }
        free(ents[i]);
    }
    if (n >= 0) free(ents);
    if (!c) return NULL;
    const char *tmpl = cfg_str("COMMERCE_AFFILIATE_TEMPLATES", NULL);
    if (tmpl) {
        json_error_t je;
        json_t *t = json_loads(tmpl, 0, &je);
        int rc = t ? catalog_set_affiliate_templates(c, t, e) : -1;
        if (!t) err_set(e, 400, "COMMERCE_AFFILIATE_TEMPLATES: %s", je.text);
        json_decref(t);
        if (rc) goto fail;
    }
    return c;
fail:
    catalog_free(c);
    return NULL;
}

static void health(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    http_res_json(rs, 200,
                  json_pack("{s:s,s:s,s:I}", "status", "ok", "service", "Commerce", "products",
                            (json_int_t)catalog_count(cat)));
}

typedef json_t *(*catalog_fn)(const catalog *, const json_t *, err *);

static void json_route(http_req *rq, http_res *rs, void *ud)
{
    catalog_fn fn = (catalog_fn)ud;
    err e = {0};
    json_t *r = fn(cat, http_req_json(rq), &e);
    if (r)
        http_res_json(rs, 200, r);
    else
        design_http_error(rq, rs, &e);
}

static void products(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    const char *budget = http_query_str(rq, "budget", HTTP_OPTIONAL, NULL);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    http_res_json(rs, 200, catalog_products_json(cat, http_req_param(rq, "category"), budget));
}

static int commerce_init(http_server *s, err *e)
{
    cat = commerce_load_catalog(e);
    if (!cat) return -1;
    log_info("catalog loaded products=%zu", catalog_count(cat));
    http_route(s, "GET", "/", health, NULL, &(http_route_opts){.summary = "Service status"});
    http_route(s, "GET", "/health", health, NULL, &(http_route_opts){.summary = "Health check"});
    http_route(s, "POST", "/commerce/match-products", json_route, (void *)catalog_match_products,
               &(http_route_opts){.body = HTTP_BODY_JSON, .summary = "Best products for an item"});
    http_route(s, "POST", "/commerce/batch-match", json_route, (void *)catalog_batch_match,
               &(http_route_opts){.body = HTTP_BODY_JSON_ANY,
                                  .heavy = true,
                                  .summary = "Match several items (a JSON array)"});
    http_route(s, "POST", "/commerce/generate-affiliate-links", json_route,
               (void *)catalog_affiliate_links,
               &(http_route_opts){.body = HTTP_BODY_JSON, .summary = "Affiliate links for a cart"});
    http_route(s, "GET", "/commerce/products/{category}", products, NULL,
               &(http_route_opts){.summary = "Products of a category, optionally one budget"});
    return 0;
}

static void commerce_fini(void)
{
    catalog_free(cat);
    cat = NULL;
}

const http_service commerce_service = {
    .name = "commerce",
    .title = "Commerce & Product Matching Service",
    .port = 8005,
    .init = commerce_init,
    .fini = commerce_fini,
};
