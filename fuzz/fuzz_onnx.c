/* ONNX loader and planner: arbitrary bytes as a model file must load or fail with a clean
 * error (4xx with a message), never crash; a model that loads is run once on zero-filled
 * inputs of its declared shape (dynamic dimensions 1), which exercises shape inference,
 * folding, planning and the kernels on whatever the mutator built. Seeds in
 * fuzz/corpus/onnx come from fuzz/onnx_seeds.c. */
#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>

static void check_error(const err *e)
{
    if (e->status < 400 || e->status > 599 || !e->msg[0]) abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    nn_model_params p = nn_model_default_params();
    p.threads = 1;
    /* 1 MB of activations: enough for every operator and pattern, and small enough that a
     * sanitized run stays within libFuzzer's per-unit limit (a cubic Resize to 2 M pixels
     * takes over 30 s here, 0.3 s in the release build) */
    p.max_arena = 1u << 20;
    err e = {0};
    nn_model *m = nn_model_load_memory(data, size, "fuzz.onnx", &p, &e);
    if (!m) {
        check_error(&e);
        return 0;
    }
    int n = nn_model_input_count(m);
    nn_session *s = nn_session_new(m, &e);
    void **bufs = calloc((size_t)n + 1, sizeof *bufs);
    bool run = s != NULL;
    for (int i = 0; i < n && run; i++) {
        const nn_value_info *vi = nn_model_input(m, i);
        nn_tensor t = {.dtype = vi->dtype, .rank = vi->rank};
        if (vi->rank < 0 || !nn_dtype_size(vi->dtype)) {
            run = false;
            break;
        }
        int64_t count = 1;
        for (int d = 0; d < vi->rank; d++) {
            t.shape[d] = vi->shape[d] < 0 ? 1 : vi->shape[d];
            count *= t.shape[d];
            if (count > (1 << 16)) run = false;
        }
        if (!run) break;
        bufs[i] = calloc((size_t)count + 1, nn_dtype_size(vi->dtype));
        if (vi->dtype == NN_STRING)
            for (int64_t k = 0; k < count; k++) ((const char **)bufs[i])[k] = "";
        t.data = bufs[i];
        if (nn_session_set_input(s, vi->name, &t, &e) != 0) {
            check_error(&e);
            run = false;
        }
    }
    if (run) {
        if (nn_session_run(s, &e) != 0) {
            check_error(&e);
        } else {
            /* read every output to the end */
            volatile unsigned char sink = 0;
            for (int o = 0; o < nn_model_output_count(m); o++) {
                const nn_tensor *t = nn_session_output_at(s, o);
                size_t bytes = (size_t)nn_tensor_count(t) * nn_dtype_size(t->dtype);
                if (t->dtype == NN_STRING) {
                    for (int64_t k = 0; k < nn_tensor_count(t); k++)
                        sink ^= (unsigned char)((char **)t->data)[k][0];
                } else {
                    for (size_t b = 0; b < bytes; b++) sink ^= ((const unsigned char *)t->data)[b];
                }
            }
            (void)sink;
        }
    }
    for (int i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    nn_session_free(s);
    nn_model_free(m);
    return 0;
}
