/* MobileSAM: models, the embedding cache, the encoder and the decoder. */
#include "vision/sam/sam.h"

#include "nn/nn.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SAM_MASK_INPUT 256 /* the decoder's previous-mask input, unused (has_mask_input 0) */
#define SAM_POINTS     3   /* every prompt is padded to three points: see sam.h */

struct sam_model {
    nn_model *enc, *dec;

    /* One encoder session, used under enc_mu; freed after each run unless kept. */
    pthread_mutex_t enc_mu;
    nn_session *enc_s;
    bool keep_enc;

    /* Idle decoder sessions. */
    pthread_mutex_t pool_mu;
    nn_session **pool;
    int npool, cap;

    lru *cache; /* NULL when cache_entries is 0 */
    size_t cache_cap;
    atomic_uint_fast64_t hits, misses, runs;
};

sam_params sam_default_params(void)
{
    return (sam_params){.cache_entries = 16};
}

/* get_preprocess_shape, without img_longest_side_size's floor of 1: the decoder computes
 * the same size inside its graph, and a side of 0 there is a failure we report first. */
bool sam_input_size(int w, int h, int *rw, int *rh)
{
    double s = (double)SAM_INPUT_SIZE / MAX(w, h);
    *rw = (int)(w * s + 0.5);
    *rh = (int)(h * s + 0.5);
    return *rw > 0 && *rh > 0;
}

/* The model must have the inputs and outputs this module feeds and reads: a wrong file in
 * SAM_DECODER_PATH is refused at load with the name it lacks, not at the first request. */
static int check_io(const nn_model *m, const char *path, const char *const *ins, int nin,
                    const char *out, err *e)
{
    for (int i = 0; i < nin; i++) {
        bool found = false;
        for (int j = 0; j < nn_model_input_count(m) && !found; j++)
            found = strcmp(nn_model_input(m, j)->name, ins[i]) == 0;
        if (!found) {
            err_set(e, 400, "%s: not a MobileSAM model for this role: it has no input '%s'", path,
                    ins[i]);
            return -1;
        }
    }
    for (int j = 0; j < nn_model_output_count(m); j++)
        if (strcmp(nn_model_output(m, j)->name, out) == 0) return 0;
    err_set(e, 400, "%s: not a MobileSAM model for this role: it has no output '%s'", path, out);
    return -1;
}

static const char *const enc_inputs[] = {"input"};
static const char *const dec_inputs[] = {"image_embeddings", "point_coords",   "point_labels",
                                         "mask_input",       "has_mask_input", "orig_im_size"};

sam_model *sam_load(const sam_params *p, err *e)
{
    if (!p->encoder_path || !p->decoder_path) {
        err_set(e, 500, "sam_load: encoder and decoder paths must be set");
        return NULL;
    }
    nn_model_params mp = nn_model_default_params();
    mp.threads = p->threads;
    sam_model *m = xcalloc(1, sizeof *m);
    m->enc = nn_model_load(p->encoder_path, &mp, e);
    if (!m->enc || check_io(m->enc, p->encoder_path, enc_inputs, 1, "output", e) != 0) {
        err_prefix(e, "encoder: ");
        goto fail;
    }
    m->dec = nn_model_load(p->decoder_path, &mp, e);
    if (!m->dec || check_io(m->dec, p->decoder_path, dec_inputs, (int)ARRAY_LEN(dec_inputs),
                            "masks", e) != 0) {
        err_prefix(e, "decoder: ");
        goto fail;
    }
    pthread_mutex_init(&m->enc_mu, NULL);
    pthread_mutex_init(&m->pool_mu, NULL);
    m->cache_cap = p->cache_entries;
    m->keep_enc = p->keep_encoder_memory;
    if (p->cache_entries) m->cache = lru_new(p->cache_entries, 0, free);
    return m;
fail:
    nn_model_free(m->enc);
    nn_model_free(m->dec);
    free(m);
    return NULL;
}

void sam_free(sam_model *m)
{
    if (!m) return;
    nn_session_free(m->enc_s);
    for (int i = 0; i < m->npool; i++) nn_session_free(m->pool[i]);
    free(m->pool);
    lru_free(m->cache);
    nn_model_free(m->enc);
    nn_model_free(m->dec);
    pthread_mutex_destroy(&m->enc_mu);
    pthread_mutex_destroy(&m->pool_mu);
    free(m);
}

/* The cache key: the pixels and their geometry, so the same photo sent as JSON base64
 * or as a multipart file, or re-encoded losslessly, finds its embedding. */
uint64_t sam_photo_key(const img *p)
{
    uint64_t k;
    size_t row = (size_t)p->w * (size_t)p->channels;
    if (p->stride == row) {
        k = hash64_keyed(p->data, row * (size_t)p->h);
    } else {
        k = 0;
        for (int y = 0; y < p->h; y++)
            k = k * 0x9E3779B97F4A7C15ull ^ hash64_keyed(img_px(p, 0, y), row);
    }
    int dims[3] = {p->w, p->h, p->channels};
    return k ^ hash64_keyed(dims, sizeof dims);
}

/* Inputs are ours, so whatever the engine refuses is our failure: 500, naming the model. */
static int engine_failed(err *e, const char *which)
{
    if (e) {
        err_prefix(e, "MobileSAM %s: ", which);
        e->status = 500;
    }
    return -1;
}

/* Resize, normalise, pad, run. Called under enc_mu. */
static int encode(sam_model *m, const img *photo, sam_embedding *emb, err *e)
{
    if (!m->enc_s && !(m->enc_s = nn_session_new(m->enc, e))) return engine_failed(e, "encoder");
    float *x = xmalloc(sizeof(float) * 3 * SAM_INPUT_SIZE * SAM_INPUT_SIZE);
    img *rgb = photo->channels == 3 ? NULL : img_to_rgb(photo);
    img *r = img_resize_pil(rgb ? rgb : photo, emb->rw, emb->rh);
    img_tensor_params tp = img_tensor_sam_params();
    img_to_tensor(r, x, SAM_INPUT_SIZE, SAM_INPUT_SIZE, &tp);
    img_free(r);
    img_free(rgb);

    nn_tensor in = {
        .dtype = NN_F32, .rank = 4, .shape = {1, 3, SAM_INPUT_SIZE, SAM_INPUT_SIZE}, .data = x};
    int rc = 0;
    if (nn_session_set_input(m->enc_s, "input", &in, e) != 0 || nn_session_run(m->enc_s, e) != 0) {
        rc = engine_failed(e, "encoder");
    } else {
        const nn_tensor *y = nn_session_output(m->enc_s, "output");
        if (!y || y->dtype != NN_F32 || nn_tensor_count(y) != (int64_t)ARRAY_LEN(emb->data)) {
            err_set(e, 500,
                    "MobileSAM encoder: its output is not a float [1, 256, 64, 64] embedding");
            rc = -1;
        } else {
            memcpy(emb->data, y->data, sizeof emb->data);
        }
    }
    free(x);
    if (!m->keep_enc) {
        nn_session_free(m->enc_s);
        m->enc_s = NULL;
    }
    return rc;
}

sam_embedding *sam_embed(sam_model *m, const img *photo, bool *cached, err *e)
{
    return sam_embed_keyed(m, photo, sam_photo_key(photo), cached, e);
}

sam_embedding *sam_embed_keyed(sam_model *m, const img *photo, uint64_t key, bool *cached, err *e)
{
    *cached = false;
    int rw, rh;
    if (!sam_input_size(photo->w, photo->h, &rw, &rh)) {
        err_set(e, 422,
                "photo is %d×%d pixels: too elongated for SAM, whose input would be %d×%d "
                "(a side may be at most 2048 times the other)",
                photo->w, photo->h, rw, rh);
        return NULL;
    }
    sam_embedding *emb = m->cache ? lru_get(m->cache, key) : NULL;
    if (emb) {
        atomic_fetch_add(&m->hits, 1);
        *cached = true;
        return emb;
    }
    pthread_mutex_lock(&m->enc_mu);
    /* Another request may have encoded this photo while we waited for the encoder. */
    emb = m->cache ? lru_get(m->cache, key) : NULL;
    if (emb) {
        pthread_mutex_unlock(&m->enc_mu);
        atomic_fetch_add(&m->hits, 1);
        *cached = true;
        return emb;
    }
    atomic_fetch_add(&m->misses, 1);
    emb = xmalloc(sizeof *emb);
    emb->w = photo->w;
    emb->h = photo->h;
    emb->rw = rw;
    emb->rh = rh;
    emb->key = key;
    if (encode(m, photo, emb, e) != 0) {
        pthread_mutex_unlock(&m->enc_mu);
        free(emb);
        return NULL;
    }
    atomic_fetch_add(&m->runs, 1);
    if (m->cache) lru_put(m->cache, key, emb, sizeof *emb);
    pthread_mutex_unlock(&m->enc_mu);
    return emb;
}

void sam_embedding_release(sam_model *m, sam_embedding *emb)
{
    if (!emb) return;
    if (m->cache)
        lru_release(m->cache, emb);
    else
        free(emb);
}

/* The rest of SamOnnxModel.mask_postprocessing: the decoder's logits at 1024 x 1024,
 * cropped to the resized photo and resized bilinearly (half-pixel centres, as
 * F.interpolate with align_corners=False) to the photo, then > 0. */
static void logits_to_mask(const float *logits, const sam_embedding *emb, uint8_t *mask)
{
    /* the photo's part of the 1024² logits, at the photo's size, > 0 */
    img_resize_f32_mask(logits, emb->rw, emb->rh, SAM_INPUT_SIZE, mask, emb->w, emb->h);
}

static nn_session *pool_take(sam_model *m, err *e)
{
    nn_session *s = NULL;
    pthread_mutex_lock(&m->pool_mu);
    if (m->npool > 0) s = m->pool[--m->npool];
    pthread_mutex_unlock(&m->pool_mu);
    return s ? s : nn_session_new(m->dec, e);
}

static void pool_give(sam_model *m, nn_session *s)
{
    pthread_mutex_lock(&m->pool_mu);
    if (m->npool == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 4;
        m->pool = xrealloc(m->pool, sizeof *m->pool * (size_t)m->cap);
    }
    m->pool[m->npool++] = s;
    pthread_mutex_unlock(&m->pool_mu);
}

int sam_decode(sam_model *m, const sam_embedding *emb, const sam_prompt *p, uint8_t *mask, err *e)
{
    static const float no_mask[SAM_MASK_INPUT * SAM_MASK_INPUT];
    /* ResizeLongestSide.apply_coords: x * (new_w / old_w), y * (new_h / old_h). */
    double sx = (double)emb->rw / emb->w, sy = (double)emb->rh / emb->h;
    float coords[2 * SAM_POINTS] = {0}, labels[SAM_POINTS] = {-1, -1, -1};
    coords[0] = (float)(p->x1 * sx);
    coords[1] = (float)(p->y1 * sy);
    if (p->kind == SAM_PROMPT_BOX) {
        coords[2] = (float)(p->x2 * sx);
        coords[3] = (float)(p->y2 * sy);
        labels[0] = 2;
        labels[1] = 3;
    } else {
        labels[0] = 1;
    }
    float has_mask = 0, size[2] = {SAM_INPUT_SIZE, SAM_INPUT_SIZE};
    const nn_tensor in[] = {
        {.dtype = NN_F32,
         .rank = 4,
         .shape = {1, SAM_EMBED_DIM, SAM_EMBED_SIZE, SAM_EMBED_SIZE},
         .data = (void *)emb->data},
        {.dtype = NN_F32, .rank = 3, .shape = {1, SAM_POINTS, 2}, .data = coords},
        {.dtype = NN_F32, .rank = 2, .shape = {1, SAM_POINTS}, .data = labels},
        {.dtype = NN_F32,
         .rank = 4,
         .shape = {1, 1, SAM_MASK_INPUT, SAM_MASK_INPUT},
         .data = (void *)no_mask},
        {.dtype = NN_F32, .rank = 1, .shape = {1}, .data = &has_mask},
        {.dtype = NN_F32, .rank = 1, .shape = {2}, .data = size},
    };
    nn_session *s = pool_take(m, e);
    if (!s) return engine_failed(e, "decoder");
    bool ok = true;
    for (size_t i = 0; i < ARRAY_LEN(in) && ok; i++)
        ok = nn_session_set_input(s, dec_inputs[i], &in[i], e) == 0;
    if (!ok || nn_session_run(s, e) != 0) {
        pool_give(m, s);
        return engine_failed(e, "decoder");
    }
    const nn_tensor *y = nn_session_output(s, "masks");
    if (!y || y->dtype != NN_F32 || y->rank != 4 || y->shape[0] != 1 || y->shape[1] != 1 ||
        y->shape[2] != SAM_INPUT_SIZE || y->shape[3] != SAM_INPUT_SIZE) {
        pool_give(m, s);
        err_set(e, 500, "MobileSAM decoder: its mask is not float [1, 1, 1024, 1024]");
        return -1;
    }
    logits_to_mask(y->data, emb, mask);
    pool_give(m, s);
    return 0;
}

int sam_warm_up(sam_model *m, err *e)
{
    img *black = img_new_zero(SAM_INPUT_SIZE, SAM_INPUT_SIZE, 3);
    sam_embedding *emb = xmalloc(sizeof *emb);
    emb->w = emb->h = emb->rw = emb->rh = SAM_INPUT_SIZE;
    emb->key = 0;
    pthread_mutex_lock(&m->enc_mu);
    int rc = encode(m, black, emb, e);
    pthread_mutex_unlock(&m->enc_mu);
    uint8_t *mask = xmalloc((size_t)SAM_INPUT_SIZE * SAM_INPUT_SIZE);
    sam_prompt p = sam_point(SAM_INPUT_SIZE / 2, SAM_INPUT_SIZE / 2);
    if (rc == 0) rc = sam_decode(m, emb, &p, mask, e);
    free(mask);
    free(emb);
    img_free(black);
    return rc;
}

void sam_cache_stats_get(sam_model *m, sam_cache_stats *st)
{
    st->entries = m->cache ? lru_count(m->cache) : 0;
    st->capacity = m->cache_cap;
    st->hits = atomic_load(&m->hits);
    st->misses = atomic_load(&m->misses);
    st->encoder_runs = atomic_load(&m->runs);
}
