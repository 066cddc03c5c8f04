/* Ranking products for a described item. The original scored cosine similarity of
 * sentence embeddings; without a model we blend what the words say:
 *   - attribute matches (colour 0.45, material 0.35, style 0.20): the share of the
 *     query's words found in that field of the product, a synonym counting 0.6;
 *   - full-text relevance (the store's BM25 over name, style, material, colour and
 *     description, query words weighted 1 and their synonyms 0.5), squashed to [0, 1)
 *     by s / (s + 4).
 * match_score = 0.6 attributes + 0.4 text, so it stays in [0, 1]. With sentence
 * embeddings (catalog_set_embedder) the cosine similarity of the query's and the
 * product's text joins in: 0.45 attributes + 0.25 text + 0.30 cosine (negative as 0). */
#include "catalog_impl.h"
#include "text/text.h"

#include <math.h>

#include <stdlib.h>
#include <string.h>

#define MAX_TERMS 64

static const char *const stop_words[] = {"a",  "an", "and", "the", "with", "of",
                                         "in", "on", "for", "or",  "to",   "by"};

static bool is_stop(const char *w)
{
    for (size_t i = 0; i < ARRAY_LEN(stop_words); i++)
        if (strcmp(w, stop_words[i]) == 0) return true;
    return false;
}

typedef struct wordset {
    char words[MAX_TERMS][64];
    double weight[MAX_TERMS];
    size_t n;
} wordset;

static void ws_add(wordset *s, const char *w, double weight)
{
    if (is_stop(w)) return;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->words[i], w) == 0) {
            if (weight > s->weight[i]) s->weight[i] = weight;
            return;
        }
    if (s->n == MAX_TERMS) return;
    snprintf(s->words[s->n], sizeof s->words[0], "%s", w);
    s->weight[s->n++] = weight;
}

static void add_word(const char *w, void *ud)
{
    ws_add(ud, w, 1.0);
}

static bool ws_has(const wordset *s, const char *w)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->words[i], w) == 0) return true;
    return false;
}

/* The query's own words of one field, and with synonyms (weight 0.6 for attributes). */
typedef struct field_query {
    wordset own, wide;
} field_query;

static void expand(const catalog *c, const char *text, field_query *f)
{
    memset(f, 0, sizeof *f);
    if (text) catalog_words(text, add_word, &f->own);
    for (size_t i = 0; i < f->own.n; i++) {
        ws_add(&f->wide, f->own.words[i], 1.0);
        const json_t *syn = json_object_get(c->synonyms, f->own.words[i]);
        for (size_t j = 0; j < json_array_size(syn); j++) {
            wordset tmp = {0};
            catalog_words(json_string_value(json_array_get(syn, j)), add_word, &tmp);
            for (size_t k = 0; k < tmp.n; k++) ws_add(&f->wide, tmp.words[k], 0.6);
        }
    }
}

/* Share of the query's words of a field the product's field has (synonyms 0.6). */
static double field_match(const field_query *q, const char *product_field)
{
    if (q->own.n == 0) return 0;
    wordset have; /* only the first have.n entries are read: no need to clear 4 KB */
    have.n = 0;
    catalog_words(product_field, add_word, &have);
    double got = 0;
    for (size_t i = 0; i < q->own.n; i++) {
        const char *w = q->own.words[i];
        if (ws_has(&have, w)) {
            got += 1;
            continue;
        }
        /* Any synonym of this word present? */
        double best = 0;
        for (size_t j = 0; j < q->wide.n; j++)
            if (q->wide.weight[j] < 1 && ws_has(&have, q->wide.words[j])) best = 0.6;
        got += best;
    }
    double s = got / (double)q->own.n;
    return s > 1 ? 1 : s;
}

typedef struct scored {
    const catalog_product *p;
    double score;
} scored;

static int by_score(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return strcmp(x->p->id, y->p->id);
}

size_t catalog_rank(const catalog *c, const catalog_query *q, catalog_hit *out, size_t max)
{
    char category[128], tier[32];
    catalog_category(c, q->item_type ? q->item_type : "", category, sizeof category);
    snprintf(tier, sizeof tier, "%s", q->budget ? q->budget : "");
    for (char *s = tier; *s; s++) *s = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
    const catalog_product **cands;
    size_t n = c->ops->list(c->store, category, tier, &cands);
    if (n == 0) {
        free(cands);
        n = c->ops->list(c->store, category, NULL, &cands);
    }
    if (n == 0 || max == 0) {
        free(cands);
        return 0;
    }

    field_query color, material, style, item;
    expand(c, q->color, &color);
    expand(c, q->material, &material);
    expand(c, q->style, &style);
    expand(c, q->item_type, &item);
    wordset all = {0};
    const field_query *fq[] = {&item, &style, &material, &color};
    for (size_t f = 0; f < ARRAY_LEN(fq); f++)
        for (size_t i = 0; i < fq[f]->wide.n; i++)
            ws_add(&all, fq[f]->wide.words[i], fq[f]->wide.weight[i] < 1 ? 0.5 : 1.0);
    const char *terms[MAX_TERMS];
    for (size_t i = 0; i < all.n; i++) terms[i] = all.words[i];

    double *text = xmalloc(n * sizeof *text);
    c->ops->text_scores(c->store, terms, all.weight, all.n, cands, n, text);
    /* The query embedded as the original did: "{item_type} {style} {material} {color}". */
    float *qv = NULL;
    size_t qdim = 0;
    if (c->embedder) {
        char *qt = catalog_embed_text(q->item_type, q->style, q->material, q->color);
        err e = {0};
        if (text_embed(c->embedder, qt, strlen(qt), &qv, &qdim, &e))
            log_warn("catalog query embedding failed err=\"%s\"", e.msg);
        free(qt);
    }
    scored *s = xmalloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++) {
        const catalog_product *p = cands[i];
        double attr = 0.45 * field_match(&color, p->color) +
                      0.35 * field_match(&material, p->material) +
                      0.20 * field_match(&style, p->style);
        double t = text[i] > 0 ? text[i] / (text[i] + 4.0) : 0;
        double score = 0.6 * attr + 0.4 * t;
        if (qv && p->embedding && p->embedding_dim == qdim) {
            double cos = 0;
            for (size_t k = 0; k < qdim; k++) cos += (double)qv[k] * p->embedding[k];
            score = 0.45 * attr + 0.25 * t + 0.30 * fmax(0, cos);
        }
        s[i] = (scored){p, score < 0 ? 0 : score > 1 ? 1 : score};
    }
    qsort(s, n, sizeof *s, by_score);
    size_t m = n < max ? n : max;
    for (size_t i = 0; i < m; i++) out[i] = (catalog_hit){s[i].p, s[i].score};
    free(s);
    free(text);
    free(qv);
    free(cands);
    return m;
}
