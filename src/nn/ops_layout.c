/* Internal layout changes the plan inserts between operators that keep oneDNN's blocked
 * layout (nChw16c) and those that need the plain one. Not reachable from a model file. */
#include "nn/ops.h"

#include <omp.h>

static int infer_layout(nn_graph *g, nn_node *n, err *e)
{
    return infer_same(g, n, e);
}

/* Channels-in-blocks to plain and back, one image and one block of 16 channels per task. */
static int run_block(nn_exec *x, bool to_blocked)
{
    const nn_value *v = x_vin(x, 0);
    int64_t N = v->dims[0], C = v->dims[1], hw = N * C > 0 ? value_count(v) / (N * C) : 0;
    int64_t Cp = (C + 15) / 16 * 16, cb = Cp / 16;
    const float *s = x_in(x, 0);
    float *d = x_out(x, 0);
    int th = par_threads(x, N * Cp * hw);
#pragma omp parallel for collapse(2) num_threads(th) schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t b = 0; b < cb; b++) {
            size_t cn = (size_t)(C - b * 16 < 16 ? C - b * 16 : 16);
            if (to_blocked)
                x->k->block16(s + (n * C + b * 16) * hw, d + (n * Cp + b * 16) * hw, cn,
                              (size_t)hw);
            else
                x->k->unblock16(s + (n * Cp + b * 16) * hw, d + (n * C + b * 16) * hw, cn,
                                (size_t)hw);
        }
    return 0;
}

static int run_block16(nn_exec *x)
{
    return run_block(x, true);
}

static int run_unblock16(nn_exec *x)
{
    return run_block(x, false);
}

const nn_op nn_ops_layout[] = {
    {"nn.Block16", infer_layout, run_block16, NULL, NN_OP_NOFOLD, 0},
    {"nn.Unblock16", infer_layout, run_unblock16, NULL, NN_OP_NOFOLD, 0},
    {NULL, NULL, NULL, NULL, 0, 0},
};
