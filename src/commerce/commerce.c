/* The commerce service's routes over the catalog. The catalog is opened once at start-up
 * and is read-only while serving. */
#include "commerce/commerce.h"

#include "design/design.h"
#include "text/text.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static catalog *cat;
static store *db;
static text_embedder *embedder;

static const char *shipped_path(void)
{
    static char def[4200];
    snprintf(def, sizeof def, "%s/catalog.json", design_data_dir());
    return cfg_str("COMMERCE_CATALOG", def);
}

static int set_templates(catalog *c, err *e)
{
    const char *tmpl = cfg_str("COMMERCE_AFFILIATE_TEMPLATES", NULL);
    if (!tmpl) return 0;
    json_error_t je;
    json_t *t = json_loads(tmpl, 0, &je);
    int rc = t ? catalog_set_affiliate_templates(c, t, e) : -1;
    if (!t) err_set(e, 400, "COMMERCE_AFFILIATE_TEMPLATES: %s", je.text);
    json_decref(t);
    return rc;
}

/* Loads the shipped catalog into c; into a store only when the file differs from the one
 * seeded last (its hash is kept in the store), so imports that replace shipped products
 * survive restarts until the shipped file itself changes. The synonyms and category
 * aliases are always read, since they live in the file, not the table. */
static int seed(catalog *c, store *s, err *e)
{
    const char *path = shipped_path();
    size_t len;
    char *text = file_read(path, &len, e);
    if (!text) return -1;
    char hash[33];
    hash128_hex(text, len, hash);
    size_t old_len = 0;
    err ignore = {0};
    char *old = s ? store_kv_get(s, "catalog", "seeded", &old_len, &ignore) : NULL;
    bool fresh = old && strcmp(old, hash) == 0;
    free(old);
    int rc;
    if (fresh) {
        /* Products are in the table already: only the word maps are needed. */
        catalog *words = catalog_new();
        rc = catalog_load_text(words, path, text, len, e);
        if (rc >= 0) rc = catalog_copy_words(c, words);
        catalog_free(words);
    } else {
        rc = catalog_load_text(c, path, text, len, e);
        if (rc >= 0 && s && store_kv_put(s, "catalog", "seeded", hash, strlen(hash), 0, e)) rc = -1;
        if (rc >= 0) log_info("catalog seeded file=%s products=%d", path, rc);
    }
    free(text);
    return rc < 0 ? -1 : 0;
}

/* COMMERCE_EMBED_MODEL: a sentence-transformers encoder in ONNX, vocab.txt beside it. */
static int set_embedder(catalog *c, err *e)
{
    const char *path = cfg_str("COMMERCE_EMBED_MODEL", NULL);
    if (!path || !*path) return 0;
    char *vocab = xstrdup(path);
    char *slash = strrchr(vocab, '/');
    char *v =
        xasprintf("%.*s%svocab.txt", slash ? (int)(slash - vocab + 1) : 0, vocab, slash ? "" : "");
    free(vocab);
    embedder = text_embedder_load(path, v, 0, e);
    free(v);
    if (!embedder) {
        err_prefix(e, "COMMERCE_EMBED_MODEL: ");
        return -1;
    }
    /* The tag that keys stored embeddings: the model file as it is now. */
    struct stat st;
    char tag[512];
    snprintf(tag, sizeof tag, "%s:%lld:%lld", path,
             stat(path, &st) == 0 ? (long long)st.st_size : 0LL,
             stat(path, &st) == 0 ? (long long)st.st_mtime : 0LL);
    double t0 = now_s();
    if (catalog_set_embedder(c, embedder, tag, e)) return -1;
    log_info("product embeddings ready products=%zu ms=%.0f", catalog_count(c),
             (now_s() - t0) * 1e3);
    return 0;
}

catalog *commerce_open_catalog(bool require_store, store **dbp, err *e)
{
    *dbp = NULL;
    catalog *c = NULL;
    const char *mode = cfg_str("COMMERCE_STORE", "database");
    if (strcmp(mode, "memory") != 0) {
        store_params p = store_default_params();
        err se = {0};
        store *s = store_params_from_env(&p, &se) == 0 ? store_open(&p, &se) : NULL;
        if (s) c = catalog_open_store(s, &se);
        if (c) {
            *dbp = s;
        } else {
            store_close(s);
            if (require_store) {
                *e = se;
                return NULL;
            }
            log_warn("catalog store unavailable, serving the shipped catalog from memory "
                     "err=\"%s\"",
                     se.msg);
        }
    }
    if (!c) c = catalog_new();
    if (seed(c, *dbp, e) || set_templates(c, e)) {
        catalog_free(c);
        store_close(*dbp);
        *dbp = NULL;
        return NULL;
    }
    return c;
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
    cat = commerce_open_catalog(false, &db, e);
    if (!cat || set_embedder(cat, e)) return -1;
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
    store_close(db);
    db = NULL;
    text_embedder_free(embedder);
    embedder = NULL;
}

const http_service commerce_service = {
    .name = "commerce",
    .title = "Commerce & Product Matching Service",
    .port = 8005,
    .init = commerce_init,
    .fini = commerce_fini,
};
