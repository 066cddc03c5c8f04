/* Sentence embeddings as sentence-transformers computes them for MiniLM-style models:
 * WordPiece ids in, the encoder's token states out, the mean over the tokens the
 * attention mask keeps, scaled to unit length. */
#include "text_impl.h"

#include "nn/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct text_embedder {
    nn_model *model;
    text_wordpiece *wp;
    bool has_types;
    size_t max_len;
};

text_embedder *text_embedder_load(const char *onnx_path, const char *vocab_txt, int threads, err *e)
{
    text_embedder *m = xcalloc(1, sizeof *m);
    m->max_len = 256; /* all-MiniLM-L6-v2's max_seq_length */
    m->wp = text_wordpiece_load(vocab_txt, 1, e);
    nn_model_params mp = nn_model_default_params();
    mp.threads = threads;
    if (m->wp) m->model = nn_model_load(onnx_path, &mp, e);
    if (!m->model) {
        text_embedder_free(m);
        return NULL;
    }
    bool ids = false, mask = false;
    for (int i = 0; i < nn_model_input_count(m->model); i++) {
        const char *n = nn_model_input(m->model, i)->name;
        ids = ids || strcmp(n, "input_ids") == 0;
        mask = mask || strcmp(n, "attention_mask") == 0;
        m->has_types = m->has_types || strcmp(n, "token_type_ids") == 0;
    }
    if (!ids || !mask || nn_model_output_count(m->model) < 1) {
        err_set(e, 400,
                "%s: expected inputs input_ids and attention_mask and a token-state "
                "output, as sentence-transformers exports have",
                onnx_path);
        text_embedder_free(m);
        return NULL;
    }
    return m;
}

void text_embedder_free(text_embedder *m)
{
    if (!m) return;
    nn_model_free(m->model);
    text_wordpiece_free(m->wp);
    free(m);
}

int text_embed(text_embedder *m, const char *text, size_t len, float **out, size_t *dim, err *e)
{
    int32_t *ids;
    size_t n;
    if (text_wordpiece_encode(m->wp, text, len, m->max_len, &ids, &n, e)) return -1;
    int64_t *in = xmalloc(n * sizeof *in), *ones = xmalloc(n * sizeof *ones);
    int64_t *zeros = xcalloc(n, sizeof *zeros);
    for (size_t i = 0; i < n; i++) {
        in[i] = ids[i];
        ones[i] = 1;
    }
    free(ids);
    nn_tensor t_ids = {.dtype = NN_I64, .rank = 2, .shape = {1, (int64_t)n}, .data = in};
    nn_tensor t_mask = t_ids, t_types = t_ids;
    t_mask.data = ones;
    t_types.data = zeros;
    nn_session *s = nn_session_new(m->model, e);
    int rc = s ? 0 : -1;
    if (rc == 0)
        rc = nn_session_set_input(s, "input_ids", &t_ids, e) ||
             nn_session_set_input(s, "attention_mask", &t_mask, e) ||
             (m->has_types && nn_session_set_input(s, "token_type_ids", &t_types, e)) ||
             nn_session_run(s, e);
    const nn_tensor *h = rc == 0 ? nn_session_output_at(s, 0) : NULL;
    if (rc == 0 && (!h || h->dtype != NN_F32 || h->rank != 3 || h->shape[1] != (int64_t)n)) {
        err_set(e, 500, "the model's first output is not token states [1, %zu, dim]", n);
        rc = -1;
    }
    if (rc == 0) {
        /* Every token is kept by the mask of a single text: the mean over all of them. */
        size_t d = (size_t)h->shape[2];
        float *v = xcalloc(d, sizeof *v);
        const float *x = h->data;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < d; k++) v[k] += x[i * d + k];
        double norm = 0;
        for (size_t k = 0; k < d; k++) {
            v[k] /= (float)n;
            norm += (double)v[k] * v[k];
        }
        norm = sqrt(norm);
        for (size_t k = 0; k < d; k++) v[k] = (float)(v[k] / (norm > 1e-12 ? norm : 1e-12));
        *out = v;
        *dim = d;
    }
    nn_session_free(s);
    free(in);
    free(ones);
    free(zeros);
    return rc;
}
