/* A GPT-2 decoder in ONNX (the layout optimum exports: input_ids plus
 * past_key_values.N.key/value in, logits plus present.N.key/value out) driven token by
 * token with a KV cache, sampling as Hugging Face's generate does with do_sample: logits
 * divided by the temperature, the top k kept, then the smallest set whose probability
 * reaches top_p, one draw from a seeded generator. */
#include "text_impl.h"

#include "nn/nn.h"

#include <jansson.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 64

struct text_lm {
    nn_model *model;
    text_bpe *bpe;
    int layers;
    int64_t heads, head_dim, vocab;
    int32_t eos;
    int64_t context; /* positions the model has: config.json's n_positions, else 1024 */
    char past_k[MAX_LAYERS][48], past_v[MAX_LAYERS][48];
    char present_k[MAX_LAYERS][48], present_v[MAX_LAYERS][48];
};

text_lm_params text_lm_default_params(void)
{
    return (text_lm_params){.max_new_tokens = 150,
                            .temperature = 0.7f,
                            .top_k = 50,
                            .top_p = 1.0f,
                            .seed = 0,
                            .use_cache = true,
                            .max_prompt_tokens = 512};
}

static char *sibling(const char *path, const char *name)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(name);
    return xasprintf("%.*s/%s", (int)(slash - path), path, name);
}

text_lm *text_lm_load(const char *onnx_path, int threads, err *e)
{
    text_lm *lm = xcalloc(1, sizeof *lm);
    char *vocab = sibling(onnx_path, "vocab.json"), *merges = sibling(onnx_path, "merges.txt");
    lm->bpe = text_bpe_load(vocab, merges, e);
    free(vocab);
    free(merges);
    if (!lm->bpe) goto fail;
    nn_model_params mp = nn_model_default_params();
    mp.threads = threads;
    lm->model = nn_model_load(onnx_path, &mp, e);
    if (!lm->model) goto fail;
    /* The layers are the past_key_values.N.key inputs; heads and head size come from
     * their declared shape [batch, heads, past, head_size]. */
    for (int i = 0; i < nn_model_input_count(lm->model); i++) {
        const nn_value_info *in = nn_model_input(lm->model, i);
        int layer;
        char kind[8];
        if (sscanf(in->name, "past_key_values.%d.%5s", &layer, kind) != 2) continue;
        if (layer < 0 || layer >= MAX_LAYERS || strcmp(kind, "key") != 0) continue;
        if (in->rank != 4 || in->shape[1] <= 0 || in->shape[3] <= 0) {
            err_set(e, 400,
                    "%s: %s: expected a [batch, heads, past, head_size] input with fixed "
                    "heads and head size",
                    onnx_path, in->name);
            goto fail;
        }
        lm->heads = in->shape[1];
        lm->head_dim = in->shape[3];
        if (layer + 1 > lm->layers) lm->layers = layer + 1;
    }
    if (lm->layers == 0) {
        err_set(e, 400, "%s: no past_key_values.N.key inputs: not a GPT-2 decoder with a KV cache",
                onnx_path);
        goto fail;
    }
    for (int l = 0; l < lm->layers; l++) {
        snprintf(lm->past_k[l], sizeof lm->past_k[l], "past_key_values.%d.key", l);
        snprintf(lm->past_v[l], sizeof lm->past_v[l], "past_key_values.%d.value", l);
        snprintf(lm->present_k[l], sizeof lm->present_k[l], "present.%d.key", l);
        snprintf(lm->present_v[l], sizeof lm->present_v[l], "present.%d.value", l);
    }
    lm->context = 1024;
    char *cfg = sibling(onnx_path, "config.json");
    json_t *conf = json_load_file(cfg, 0, NULL);
    free(cfg);
    const json_t *np = json_object_get(conf, "n_positions");
    if (!json_is_integer(np)) np = json_object_get(conf, "max_position_embeddings");
    if (json_is_integer(np) && json_integer_value(np) > 1) lm->context = json_integer_value(np);
    json_decref(conf);
    lm->vocab = (int64_t)text_bpe_vocab_size(lm->bpe);
    lm->eos = text_bpe_token_id(lm->bpe, "<|endoftext|>");
    return lm;
fail:
    text_lm_free(lm);
    return NULL;
}

void text_lm_free(text_lm *lm)
{
    if (!lm) return;
    nn_model_free(lm->model);
    text_bpe_free(lm->bpe);
    free(lm);
}

const text_bpe *text_lm_tokenizer(const text_lm *lm)
{
    return lm->bpe;
}

/* The state of one generation: a session and the cache. */
typedef struct lm_run {
    nn_session *s;
    float *k[MAX_LAYERS], *v[MAX_LAYERS];
    int64_t past; /* cached positions */
} lm_run;

static void run_free(lm_run *r)
{
    nn_session_free(r->s);
    for (int l = 0; l < MAX_LAYERS; l++) {
        free(r->k[l]);
        free(r->v[l]);
    }
}

/* Runs ids[0..n) after the cached positions; copies the new cache and points *logits at
 * the last position's logits (owned by the session). */
static int step(text_lm *lm, lm_run *r, const int32_t *ids, size_t n, const float **logits, err *e)
{
    int64_t *in = xmalloc(n * sizeof *in);
    for (size_t i = 0; i < n; i++) in[i] = ids[i];
    nn_tensor t = {.dtype = NN_I64, .rank = 2, .shape = {1, (int64_t)n}, .data = in};
    int rc = nn_session_set_input(r->s, "input_ids", &t, e);
    float empty = 0;
    for (int l = 0; l < lm->layers && rc == 0; l++) {
        nn_tensor pk = {.dtype = NN_F32,
                        .rank = 4,
                        .shape = {1, lm->heads, r->past, lm->head_dim},
                        .data = r->k[l] ? (void *)r->k[l] : &empty};
        nn_tensor pv = pk;
        pv.data = r->v[l] ? (void *)r->v[l] : &empty;
        rc = nn_session_set_input(r->s, lm->past_k[l], &pk, e) ||
             nn_session_set_input(r->s, lm->past_v[l], &pv, e);
    }
    if (rc == 0) rc = nn_session_run(r->s, e);
    free(in);
    if (rc) return -1;
    const nn_tensor *lo = nn_session_output(r->s, "logits");
    if (!lo || lo->dtype != NN_F32 || lo->rank != 3 || lo->shape[1] != (int64_t)n) {
        err_set(e, 500, "the model gave no logits [1, %zu, vocab]", n);
        return -1;
    }
    int64_t total = r->past + (int64_t)n;
    size_t bytes = (size_t)(lm->heads * total * lm->head_dim) * sizeof(float);
    for (int l = 0; l < lm->layers; l++) {
        const nn_tensor *pk = nn_session_output(r->s, lm->present_k[l]);
        const nn_tensor *pv = nn_session_output(r->s, lm->present_v[l]);
        if (!pk || !pv || pk->shape[2] != total || pv->shape[2] != total) {
            err_set(e, 500, "the model gave no %s/%s of %lld positions", lm->present_k[l],
                    lm->present_v[l], (long long)total);
            return -1;
        }
        r->k[l] = xrealloc(r->k[l], bytes);
        r->v[l] = xrealloc(r->v[l], bytes);
        memcpy(r->k[l], pk->data, bytes);
        memcpy(r->v[l], pv->data, bytes);
    }
    r->past = total;
    *logits = (const float *)lo->data + (size_t)(n - 1) * (size_t)lo->shape[2];
    return 0;
}

int text_lm_last_logits(text_lm *lm, const int32_t *ids, size_t n, bool use_cache, float *out,
                        err *e)
{
    if (n == 0) {
        err_set(e, 422, "no tokens to run");
        return -1;
    }
    lm_run r = {0};
    r.s = nn_session_new(lm->model, e);
    int rc = r.s ? 0 : -1;
    const float *lo = NULL;
    if (rc == 0 && use_cache) {
        /* One token at a time, each run reading the cache of the ones before. */
        for (size_t i = 0; i < n && rc == 0; i++) rc = step(lm, &r, ids + i, 1, &lo, e);
    } else if (rc == 0) {
        rc = step(lm, &r, ids, n, &lo, e);
    }
    if (rc == 0) memcpy(out, lo, (size_t)lm->vocab * sizeof *out);
    run_free(&r);
    return rc;
}

size_t text_lm_vocab_size(const text_lm *lm)
{
    return (size_t)lm->vocab;
}

/* xorshift64* with a splitmix start, so seed 0 works. */
static uint64_t next_u64(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

typedef struct cand {
    float p;
    int32_t id;
} cand;

static int by_p(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return (x->p < y->p) - (x->p > y->p);
}

int32_t text_lm_sample(const float *logits, size_t vocab, const text_lm_params *p, uint64_t *rng)
{
    if (p->temperature <= 0) { /* greedy */
        size_t best = 0;
        for (size_t i = 1; i < vocab; i++)
            if (logits[i] > logits[best]) best = i;
        return (int32_t)best;
    }
    cand *c = xmalloc(vocab * sizeof *c);
    for (size_t i = 0; i < vocab; i++) c[i] = (cand){logits[i] / p->temperature, (int32_t)i};
    qsort(c, vocab, sizeof *c, by_p);
    size_t k = p->top_k > 0 && (size_t)p->top_k < vocab ? (size_t)p->top_k : vocab;
    double max = c[0].p, sum = 0;
    for (size_t i = 0; i < k; i++) sum += (c[i].p = (float)exp(c[i].p - max));
    /* Nucleus: the smallest prefix whose probability reaches top_p (at least one). */
    double acc = 0;
    size_t m = 0;
    while (m < k) {
        acc += c[m].p / sum;
        m++;
        if (acc >= p->top_p) break;
    }
    double total = 0;
    for (size_t i = 0; i < m; i++) total += c[i].p;
    double r = (double)(next_u64(rng) >> 11) / (double)(1ull << 53) * total;
    int32_t id = c[m - 1].id;
    for (size_t i = 0; i < m; i++) {
        r -= c[i].p;
        if (r <= 0) {
            id = c[i].id;
            break;
        }
    }
    free(c);
    return id;
}

char *text_lm_generate(text_lm *lm, const char *prompt, const text_lm_params *p, err *e)
{
    int32_t *ids;
    size_t n;
    if (text_bpe_encode(lm->bpe, prompt, strlen(prompt), &ids, &n, e)) return NULL;
    /* Keep the end of a long prompt, as truncation on the left would, leaving room in the
     * model's context for what is generated. */
    size_t max_prompt = p->max_prompt_tokens > 0 ? (size_t)p->max_prompt_tokens : n;
    int64_t room = lm->context - (p->max_new_tokens > 0 ? p->max_new_tokens : 0);
    if (room < 1) room = 1;
    if ((int64_t)max_prompt > room) max_prompt = (size_t)room;
    size_t skip = n > max_prompt ? n - max_prompt : 0;
    size_t cap = n - skip + (size_t)(p->max_new_tokens > 0 ? p->max_new_tokens : 0) + 1;
    int32_t *seq = xmalloc(cap * sizeof *seq);
    memcpy(seq, ids + skip, (n - skip) * sizeof *seq);
    size_t len = n - skip, start = len;
    free(ids);
    uint64_t rng = p->seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
    lm_run r = {0};
    r.s = nn_session_new(lm->model, e);
    float *scratch = xmalloc((size_t)lm->vocab * sizeof *scratch);
    int rc = r.s ? 0 : -1;
    for (int t = 0; rc == 0 && t < p->max_new_tokens && len > 0 && (int64_t)len < lm->context;
         t++) {
        const float *lo;
        if (p->use_cache) {
            rc = t == 0 ? step(lm, &r, seq, len, &lo, e) : step(lm, &r, seq + len - 1, 1, &lo, e);
        } else {
            r.past = 0;
            rc = step(lm, &r, seq, len, &lo, e);
        }
        if (rc) break;
        memcpy(scratch, lo, (size_t)lm->vocab * sizeof *scratch);
        int32_t next = text_lm_sample(scratch, (size_t)lm->vocab, p, &rng);
        if (next == lm->eos) break;
        seq[len++] = next;
    }
    char *out = NULL;
    if (rc == 0) out = text_bpe_decode(lm->bpe, seq + start, len - start, NULL);
    free(scratch);
    free(seq);
    run_free(&r);
    return out;
}
