/* Helpers shared by the nn tests that compare two runs of a model: loading, deterministic
 * input data, and the comparison of output 0 of two models run on the same input "x".
 * Header-only; every function is static. Include after <criterion/criterion.h>. */
#ifndef ARTISTRY_TESTS_NN_COMPARE_H
#define ARTISTRY_TESTS_NN_COMPARE_H

#include "nn/nn.h"
#include "patterns.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Loads model bytes with the passes on or off and the given thread count. */
static inline nn_model *load_threads(const void *buf, size_t len, bool optimize, int threads)
{
    nn_model_params p = nn_model_default_params();
    p.threads = threads;
    p.optimize = optimize;
    err e = {0};
    nn_model *model = nn_model_load_memory(buf, len, "test.onnx", &p, &e);
    cr_assert_not_null(model, "%s", e.msg);
    return model;
}

/* Runs both models on input "x" (and b also on "w" = w when w is not NULL) and requires
 * |a - b| <= tol * (1 + |b|) for every element of output 0. */
static inline void same_outputs(nn_model *a, nn_model *b, const int64_t *dims, int rank,
                                const nn_tensor *w, float tol)
{
    nn_tensor x = {.dtype = NN_F32, .rank = rank};
    memcpy(x.shape, dims, sizeof(int64_t) * (size_t)rank);
    int64_t n = nn_tensor_count(&x);
    float *data = malloc((size_t)n * 4);
    fill(data, n, 99);
    x.data = data;
    err e = {0};
    nn_session *sa = nn_session_new(a, &e), *sb = nn_session_new(b, &e);
    cr_assert(nn_session_set_input(sa, "x", &x, &e) == 0 && nn_session_run(sa, &e) == 0, "%s",
              e.msg);
    cr_assert(nn_session_set_input(sb, "x", &x, &e) == 0 &&
                  (!w || nn_session_set_input(sb, "w", w, &e) == 0) && nn_session_run(sb, &e) == 0,
              "%s", e.msg);
    const nn_tensor *ya = nn_session_output_at(sa, 0), *yb = nn_session_output_at(sb, 0);
    cr_assert_eq(ya->rank, yb->rank);
    cr_assert_eq(nn_tensor_count(ya), nn_tensor_count(yb));
    const float *pa = ya->data, *pb = yb->data;
    for (int64_t i = 0; i < nn_tensor_count(ya); i++)
        cr_assert(fabsf(pa[i] - pb[i]) <= tol * (1 + fabsf(pb[i])), "element %lld: %g vs %g",
                  (long long)i, pa[i], pb[i]);
    nn_session_free(sa);
    nn_session_free(sb);
    free(data);
}

#endif
