/* Sentence embeddings of products, kept in the store (key/value namespace
 * "catalog_embedding") by the hash of the model's tag and the embedded text: a product
 * whose text changed gets a new key and is embedded again, an unchanged one is read back. */
#include "catalog_impl.h"
#include "store/store.h"
#include "text/text.h"

#include <stdlib.h>
#include <string.h>

char *catalog_embed_text(const char *category, const char *style, const char *material,
                         const char *color)
{
    return xasprintf("%s %s %s %s", category ? category : "", style ? style : "",
                     material ? material : "", color ? color : "");
}

static int embed_one(catalog *c, catalog_product *p, err *e)
{
    char *text = catalog_embed_text(p->category, p->style, p->material, p->color);
    char *keyed = xasprintf("%s\n%s", c->embed_tag, text);
    char key[33];
    hash128_hex(keyed, strlen(keyed), key);
    free(keyed);
    free(p->embedding);
    p->embedding = NULL;
    if (c->db) {
        size_t len;
        err miss = {0};
        void *v = store_kv_get(c->db, "catalog_embedding", key, &len, &miss);
        if (v && len % sizeof(float) == 0 && len > 0) {
            p->embedding = v;
            p->embedding_dim = len / sizeof(float);
            free(text);
            return 0;
        }
        free(v);
    }
    int rc = text_embed(c->embedder, text, strlen(text), &p->embedding, &p->embedding_dim, e);
    if (rc == 0 && c->db)
        rc = store_kv_put(c->db, "catalog_embedding", key, p->embedding,
                          p->embedding_dim * sizeof(float), 0, e);
    free(text);
    return rc;
}

int catalog_embed_ids(catalog *c, const char *const *ids, size_t n, err *e)
{
    for (size_t i = 0; i < n; i++) {
        /* The store owns the product; while loading nobody reads it concurrently. */
        catalog_product *p = (catalog_product *)catalog_get(c, ids[i]);
        if (p && embed_one(c, p, e)) return -1;
    }
    return 0;
}

int catalog_set_embedder(catalog *c, struct text_embedder *m, const char *model_tag, err *e)
{
    c->embedder = m;
    snprintf(c->embed_tag, sizeof c->embed_tag, "%s", model_tag ? model_tag : "");
    const catalog_product **all;
    size_t n = c->ops->list(c->store, NULL, NULL, &all);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = embed_one(c, (catalog_product *)all[i], e);
    free(all);
    if (rc) c->embedder = NULL;
    return rc;
}
