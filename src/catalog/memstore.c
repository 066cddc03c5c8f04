/* The in-memory product store: products in insertion order, an id index, and BM25
 * without an inverted index (each product keeps its term counts; document frequencies are
 * kept globally), which is all a catalog of tens of thousands of products needs. */
#include "catalog_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct mdoc {
    catalog_product *p;
    uint64_t *terms; /* distinct term hashes */
    uint32_t *tf;
    uint32_t nterms, len;
} mdoc;

/* Open-addressing map from 64-bit keys to 32-bit values (key 0 means empty). */
typedef struct u64map {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n;
} u64map;

static uint32_t *map_slot(u64map *m, uint64_t key, bool insert)
{
    if (key == 0) key = 1;
    if (insert && (m->n + 1) * 4 > m->cap * 3) {
        u64map big = {xcalloc(m->cap ? m->cap * 2 : 256, 8), NULL, m->cap ? m->cap * 2 : 256, 0};
        big.vals = xcalloc(big.cap, 4);
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) *map_slot(&big, m->keys[i], true) = m->vals[i];
        free(m->keys);
        free(m->vals);
        *m = big;
    }
    if (!m->cap) return NULL;
    size_t i = (size_t)(key * 0x9e3779b97f4a7c15ull) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        if (!insert) return NULL;
        m->keys[i] = key;
        m->vals[i] = 0;
        m->n++;
    }
    return &m->vals[i];
}

typedef struct memstore {
    mdoc *docs;
    size_t n, cap;
    u64map ids; /* hash of id → index + 1 (collisions resolved by comparing ids) */
    u64map df;  /* term hash → number of products containing it */
    uint64_t total_len;
} memstore;

void *catalog_memstore_new(void)
{
    return xcalloc(1, sizeof(memstore));
}

typedef struct termbuf {
    uint64_t *h;
    uint32_t *tf;
    uint32_t n, cap, len;
} termbuf;

static void add_term(const char *w, void *ud)
{
    termbuf *t = ud;
    uint64_t h = hash64(w, strlen(w));
    t->len++;
    for (uint32_t i = 0; i < t->n; i++)
        if (t->h[i] == h) {
            t->tf[i]++;
            return;
        }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->h = xrealloc(t->h, t->cap * sizeof *t->h);
        t->tf = xrealloc(t->tf, t->cap * sizeof *t->tf);
    }
    t->h[t->n] = h;
    t->tf[t->n++] = 1;
}

static void index_doc(memstore *m, mdoc *d, int sign)
{
    for (uint32_t i = 0; i < d->nterms; i++) {
        uint32_t *df = map_slot(&m->df, d->terms[i], true);
        *df = (uint32_t)((int64_t)*df + sign);
    }
    m->total_len = (uint64_t)((int64_t)m->total_len + sign * (int64_t)d->len);
}

static long find(memstore *m, const char *id)
{
    uint64_t h = hash64(id, strlen(id));
    /* Ids whose hashes collide chain by rehashing the hash. */
    for (int k = 0; k < 8; k++) {
        uint32_t *v = map_slot(&m->ids, h, false);
        if (!v) return -1;
        if (strcmp(m->docs[*v - 1].p->id, id) == 0) return (long)*v - 1;
        h = hash64(&h, sizeof h);
    }
    return -1;
}

static void put_one(memstore *m, catalog_product *p)
{
    termbuf t = {0};
    const char *fields[] = {p->name, p->category, p->style, p->material, p->color, p->description};
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) catalog_words(fields[i], add_term, &t);
    mdoc d = {p, t.h, t.tf, t.n, t.len};
    long at = find(m, p->id);
    if (at >= 0) {
        mdoc *old = &m->docs[at];
        index_doc(m, old, -1);
        catalog_product_free(old->p);
        free(old->terms);
        free(old->tf);
        *old = d;
        index_doc(m, old, +1);
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->docs = xrealloc(m->docs, m->cap * sizeof *m->docs);
    }
    m->docs[m->n] = d;
    index_doc(m, &m->docs[m->n], +1);
    m->n++;
    uint64_t h = hash64(p->id, strlen(p->id));
    for (;;) {
        uint32_t *v = map_slot(&m->ids, h, true);
        if (*v == 0) {
            *v = (uint32_t)m->n;
            break;
        }
        h = hash64(&h, sizeof h);
    }
}

static int mem_put(void *st, catalog_product **ps, size_t n, err *e)
{
    (void)e;
    for (size_t i = 0; i < n; i++) put_one(st, ps[i]);
    return 0;
}

static size_t mem_count(void *st)
{
    return ((memstore *)st)->n;
}

static const catalog_product *mem_get(void *st, const char *id)
{
    memstore *m = st;
    long at = find(m, id);
    return at >= 0 ? m->docs[at].p : NULL;
}

static size_t mem_list(void *st, const char *category, const char *tier,
                       const catalog_product ***out)
{
    memstore *m = st;
    size_t n = 0;
    *out = xmalloc((m->n + 1) * sizeof **out);
    for (size_t i = 0; i < m->n; i++) {
        const catalog_product *p = m->docs[i].p;
        if (category && strcmp(p->category, category) != 0) continue;
        if (tier && strcmp(p->budget_tier, tier) != 0) continue;
        (*out)[n++] = p;
    }
    return n;
}

static void mem_text_scores(void *st, const char *const *terms, const double *weights,
                            size_t nterms, const catalog_product *const *cands, size_t n,
                            double *scores)
{
    memstore *m = st;
    const double k1 = 1.2, b = 0.75;
    double avgdl = m->n ? (double)m->total_len / (double)m->n : 1;
    if (avgdl <= 0) avgdl = 1;
    uint64_t *h = xmalloc((nterms + 1) * sizeof *h);
    double *idf = xmalloc((nterms + 1) * sizeof *idf);
    for (size_t t = 0; t < nterms; t++) {
        h[t] = hash64(terms[t], strlen(terms[t]));
        uint32_t *df = map_slot(&m->df, h[t], false);
        double d = df ? *df : 0;
        idf[t] = log(1 + ((double)m->n - d + 0.5) / (d + 0.5));
    }
    for (size_t i = 0; i < n; i++) {
        long at = find(m, cands[i]->id);
        scores[i] = 0;
        if (at < 0) continue;
        const mdoc *d = &m->docs[at];
        double norm = k1 * (1 - b + b * d->len / avgdl);
        for (size_t t = 0; t < nterms; t++)
            for (uint32_t j = 0; j < d->nterms; j++)
                if (d->terms[j] == h[t]) {
                    double tf = d->tf[j];
                    scores[i] += weights[t] * idf[t] * tf * (k1 + 1) / (tf + norm);
                    break;
                }
    }
    free(h);
    free(idf);
}

static void mem_free(void *st)
{
    memstore *m = st;
    for (size_t i = 0; i < m->n; i++) {
        catalog_product_free(m->docs[i].p);
        free(m->docs[i].terms);
        free(m->docs[i].tf);
    }
    free(m->docs);
    free(m->ids.keys);
    free(m->ids.vals);
    free(m->df.keys);
    free(m->df.vals);
    free(m);
}

const catalog_store_ops catalog_memstore_ops = {
    .put = mem_put,
    .count = mem_count,
    .get = mem_get,
    .list = mem_list,
    .text_scores = mem_text_scores,
    .free = mem_free,
};
