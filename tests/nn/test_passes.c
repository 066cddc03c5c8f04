/* Graph passes: each test builds the pattern a pass rewrites, checks that the rewrite
 * happened (the graph the model or its plan holds), and that the outputs equal those of
 * the same model loaded without passes. */
#include "nn/nn_impl.h"
#include "onnx_build.h"

#include <criterion/criterion.h>

#include "compare.h"
#include <math.h>

static nn_model *load(ob *m, bool optimize)
{
    return load_threads(m->buf, m->len, optimize, 1);
}

static int live(const nn_graph *g, const char *op)
{
    int n = 0;
    for (int i = 0; i < g->nn; i++) n += !g->n[i].dead && !strcmp(g->n[i].op_type, op);
    return n;
}

static const nn_node *first_live(const nn_graph *g, const char *op)
{
    for (int i = 0; i < g->nn; i++)
        if (!g->n[i].dead && !strcmp(g->n[i].op_type, op)) return &g->n[i];
    return NULL;
}

/* Both ways, then checks and frees. */
#define BOTH(mb)                                                  \
    nn_model *opt = load(&(mb), true), *ref = load(&(mb), false); \
    free((mb).buf)

Test(passes, folds_shape_arithmetic)
{
    /* y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): a [N, -1] reshape */
    ob g = {0}, m = {0}, at = {0};
    int64_t xd[3] = {2, 3, 4}, one = 1, zero = 0, minus1 = -1;
    ob_input(&g, "x", NN_F32, xd, 3);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "zero", NN_I64, NULL, 0, &zero);
    ob_initializer(&g, "axes", NN_I64, &one, 1, &zero);
    ob_initializer(&g, "rest", NN_I64, &one, 1, &minus1);
    ob_node(&g, "Shape", "s", (const char *[]){"x"}, 1, (const char *[]){"shape"}, 1, NULL);
    ob_node(&g, "Gather", "g", (const char *[]){"shape", "zero"}, 2, (const char *[]){"n"}, 1,
            NULL);
    ob_node(&g, "Unsqueeze", "u", (const char *[]){"n", "axes"}, 2, (const char *[]){"n1"}, 1,
            NULL);
    ob_attr_i(&at, "axis", 0);
    ob_node(&g, "Concat", "c", (const char *[]){"n1", "rest"}, 2, (const char *[]){"target"}, 1,
            &at);
    ob_node(&g, "Reshape", "r", (const char *[]){"x", "target"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 17);
    BOTH(m);
    cr_assert_eq(live(&opt->l.g, "Shape") + live(&opt->l.g, "Gather") + live(&opt->l.g, "Concat"),
                 0);
    cr_assert_eq(live(&opt->l.g, "Reshape"), 1);
    cr_assert_gt(live(&ref->l.g, "Shape"), 0);
    same_outputs(opt, ref, xd, 3, NULL, 0);
    nn_model_free(opt);
    nn_model_free(ref);
}

Test(passes, removes_dead_nodes)
{
    ob g = {0}, m = {0};
    int64_t xd[2] = {2, 5};
    ob_input(&g, "x", NN_F32, xd, 2);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_node(&g, "Relu", "used", (const char *[]){"x"}, 1, (const char *[]){"y"}, 1, NULL);
    ob_node(&g, "Sigmoid", "dead1", (const char *[]){"x"}, 1, (const char *[]){"t"}, 1, NULL);
    ob_node(&g, "Tanh", "dead2", (const char *[]){"t"}, 1, (const char *[]){"u"}, 1, NULL);
    ob_model(&m, &g, 17);
    BOTH(m);
    cr_assert_eq(live(&opt->l.g, "Sigmoid") + live(&opt->l.g, "Tanh"), 0);
    cr_assert_eq(live(&opt->l.g, "Relu"), 1);
    same_outputs(opt, ref, xd, 2, NULL, 0);
    nn_model_free(opt);
    nn_model_free(ref);
}

static void conv_model(ob *g, const char *out, bool bias)
{
    float w[8 * 4 * 3 * 3], b[8];
    fill(w, 8 * 4 * 9, 1);
    fill(b, 8, 2);
    int64_t wd[4] = {8, 4, 3, 3}, bd = 8;
    ob_initializer(g, "w", NN_F32, wd, 4, w);
    if (bias) ob_initializer(g, "b", NN_F32, &bd, 1, b);
    ob at = {0};
    ob_attr_ints(&at, "pads", (const int64_t[]){1, 1, 1, 1}, 4);
    ob_node(g, "Conv", "conv", (const char *[]){"x", "w", "b"}, bias ? 3 : 2, (const char *[]){out},
            1, &at);
}

Test(passes, folds_batchnorm_into_conv)
{
    ob g = {0}, m = {0}, at = {0};
    int64_t xd[4] = {1, 4, 6, 6}, cd = 8;
    ob_input(&g, "x", NN_F32, xd, 4);
    ob_output(&g, "y", NN_F32, NULL, -1);
    conv_model(&g, "c", false);
    float sc[8], bi[8], mu[8], var[8];
    fill(sc, 8, 3);
    fill(bi, 8, 4);
    fill(mu, 8, 5);
    fill(var, 8, 6);
    for (int i = 0; i < 8; i++) var[i] = fabsf(var[i]) + 0.1f;
    ob_initializer(&g, "sc", NN_F32, &cd, 1, sc);
    ob_initializer(&g, "bi", NN_F32, &cd, 1, bi);
    ob_initializer(&g, "mu", NN_F32, &cd, 1, mu);
    ob_initializer(&g, "var", NN_F32, &cd, 1, var);
    ob_attr_f(&at, "epsilon", 1e-3f);
    ob_node(&g, "BatchNormalization", "bn", (const char *[]){"c", "sc", "bi", "mu", "var"}, 5,
            (const char *[]){"y"}, 1, &at);
    ob_model(&m, &g, 17);
    BOTH(m);
    cr_assert_eq(live(&opt->l.g, "BatchNormalization"), 0);
    cr_assert_eq(live(&opt->l.g, "Conv"), 1);
    cr_assert_eq(first_live(&opt->l.g, "Conv")->n_in, 3, "the folded conv has a bias");
    same_outputs(opt, ref, xd, 4, NULL, 1e-5f);
    nn_model_free(opt);
    nn_model_free(ref);
}

Test(passes, fuses_silu_and_residual_into_conv)
{
    /* y = x8 + Conv(x) * Sigmoid(Conv(x)), with x8 = a conv branch of the same shape */
    ob g = {0}, m = {0};
    int64_t xd[4] = {1, 4, 6, 6};
    ob_input(&g, "x", NN_F32, xd, 4);
    ob_output(&g, "y", NN_F32, NULL, -1);
    conv_model(&g, "c", true);
    ob_node(&g, "Sigmoid", "sig", (const char *[]){"c"}, 1, (const char *[]){"s"}, 1, NULL);
    ob_node(&g, "Mul", "silu", (const char *[]){"c", "s"}, 2, (const char *[]){"a"}, 1, NULL);
    ob_node(&g, "Relu", "other", (const char *[]){"c"}, 1, (const char *[]){"r"}, 1, NULL);
    ob_node(&g, "Add", "res", (const char *[]){"a", "r"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 17);
    BOTH(m);
    /* c has two readers (silu and relu), so SiLU becomes one node, not a post-op */
    cr_assert_eq(live(&opt->l.g, "Sigmoid"), 0);
    cr_assert_eq(live(&opt->l.g, "nn.Silu"), 1);
    same_outputs(opt, ref, xd, 4, NULL, 1e-5f);
    nn_model_free(opt);
    nn_model_free(ref);

    ob g2 = {0}, m2 = {0};
    ob_input(&g2, "x", NN_F32, xd, 4);
    ob_output(&g2, "y", NN_F32, NULL, -1);
    int64_t sd[4] = {1, 8, 6, 6};
    float skip[8 * 36];
    fill(skip, 8 * 36, 9);
    ob_initializer(&g2, "skip0", NN_F32, sd, 4, skip);
    ob_node(&g2, "Relu", "prep", (const char *[]){"skip0"}, 1, (const char *[]){"skip"}, 1, NULL);
    conv_model(&g2, "c", true);
    ob_node(&g2, "Sigmoid", "sig", (const char *[]){"c"}, 1, (const char *[]){"s"}, 1, NULL);
    ob_node(&g2, "Mul", "silu", (const char *[]){"s", "c"}, 2, (const char *[]){"a"}, 1, NULL);
    ob_node(&g2, "Add", "res", (const char *[]){"a", "x8"}, 2, (const char *[]){"y"}, 1, NULL);
    /* x8: the residual, computed from x by a second conv so it is not a constant */
    float w2[8 * 4];
    fill(w2, 32, 10);
    ob_initializer(&g2, "w2", NN_F32, (const int64_t[]){8, 4, 1, 1}, 4, w2);
    ob_node(&g2, "Conv", "branch", (const char *[]){"x", "w2"}, 2, (const char *[]){"x8"}, 1, NULL);
    ob_model(&m2, &g2, 17);
    nn_model *opt2 = load(&m2, true), *ref2 = load(&m2, false);
    free(m2.buf);
    cr_assert_eq(live(&opt2->l.g, "Sigmoid") + live(&opt2->l.g, "Mul") + live(&opt2->l.g, "Add"),
                 0);
    /* the SiLU goes into "conv"; the residual Add into whichever conv finishes last */
    int silu = 0, add = 0;
    for (int i = 0; i < opt2->l.g.nn; i++) {
        const nn_node *c = &opt2->l.g.n[i];
        if (c->dead) continue;
        for (int j = 0; j < c->n_post; j++) {
            silu += c->post[j].kind == NN_POST_SILU && !strcmp(c->name, "conv");
            add += c->post[j].kind == NN_POST_ADD;
        }
    }
    cr_assert_eq(silu, 1);
    cr_assert_eq(add, 1);
    same_outputs(opt2, ref2, xd, 4, NULL, 1e-5f);
    nn_model_free(opt2);
    nn_model_free(ref2);
}

Test(passes, gelu_from_erf_fuses_into_matmul)
{
    /* y = g * 0.5 * (1 + erf(g / sqrt 2)), g = x W */
    ob g = {0}, m = {0};
    int64_t xd[2] = {5, 8}, wd[2] = {8, 6};
    float w[48], sq2 = 1.41421356f, one = 1, half = 0.5f;
    fill(w, 48, 11);
    ob_input(&g, "x", NN_F32, xd, 2);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "w", NN_F32, wd, 2, w);
    ob_initializer(&g, "sq2", NN_F32, NULL, 0, &sq2);
    ob_initializer(&g, "one", NN_F32, NULL, 0, &one);
    ob_initializer(&g, "half", NN_F32, NULL, 0, &half);
    ob_node(&g, "MatMul", "mm", (const char *[]){"x", "w"}, 2, (const char *[]){"g"}, 1, NULL);
    ob_node(&g, "Div", "d", (const char *[]){"g", "sq2"}, 2, (const char *[]){"t"}, 1, NULL);
    ob_node(&g, "Erf", "e", (const char *[]){"t"}, 1, (const char *[]){"u"}, 1, NULL);
    ob_node(&g, "Add", "a", (const char *[]){"u", "one"}, 2, (const char *[]){"v"}, 1, NULL);
    ob_node(&g, "Mul", "m1", (const char *[]){"g", "v"}, 2, (const char *[]){"p"}, 1, NULL);
    ob_node(&g, "Mul", "m2", (const char *[]){"p", "half"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 17);
    BOTH(m);
    cr_assert_eq(live(&opt->l.g, "Erf") + live(&opt->l.g, "Mul") + live(&opt->l.g, "Div"), 0);
    const nn_node *mm = first_live(&opt->l.g, "MatMul");
    cr_assert(mm && mm->n_post == 1 && mm->post[0].kind == NN_POST_GELU);
    same_outputs(opt, ref, xd, 2, NULL, 2e-6f);
    nn_model_free(opt);
    nn_model_free(ref);
}

Test(passes, layernorm_from_its_pattern)
{
    ob m = {0};
    int64_t xd[3] = {2, 3, 16};
    pat_layernorm(&m);
    BOTH(m);
    cr_assert_eq(live(&opt->l.g, "LayerNormalization"), 1);
    cr_assert_eq(live(&opt->l.g, "ReduceMean") + live(&opt->l.g, "Sqrt") + live(&opt->l.g, "Div"),
                 0);
    cr_assert_float_eq(attr_f(first_live(&opt->l.g, "LayerNormalization"), "epsilon", 0), 1e-5f,
                       1e-12f);
    same_outputs(opt, ref, xd, 3, NULL, 1e-5f);
    nn_model_free(opt);
    nn_model_free(ref);
}

Test(passes, attention_becomes_one_node_in_the_plan)
{
    /* x [2, 3, 10, 8] is Q, K and V at once: softmax(x x^T * 0.35 + bias) x */
    ob g = {0}, m = {0}, at = {0}, sm = {0};
    int64_t xd[4] = {2, 3, 10, 8}, bd[3] = {3, 10, 10};
    float scale = 0.35f, bias[300];
    fill(bias, 300, 14);
    ob_input(&g, "x", NN_F32, xd, 4);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "scale", NN_F32, NULL, 0, &scale);
    ob_initializer(&g, "bias", NN_F32, bd, 3, bias);
    ob_attr_ints(&at, "perm", (const int64_t[]){0, 1, 3, 2}, 4);
    ob_node(&g, "Transpose", "t", (const char *[]){"x"}, 1, (const char *[]){"kt"}, 1, &at);
    ob_node(&g, "MatMul", "qk", (const char *[]){"x", "kt"}, 2, (const char *[]){"s"}, 1, NULL);
    ob_node(&g, "Mul", "sc", (const char *[]){"s", "scale"}, 2, (const char *[]){"s2"}, 1, NULL);
    ob_node(&g, "Add", "b", (const char *[]){"s2", "bias"}, 2, (const char *[]){"s3"}, 1, NULL);
    ob_attr_i(&sm, "axis", -1);
    ob_node(&g, "Softmax", "p", (const char *[]){"s3"}, 1, (const char *[]){"pr"}, 1, &sm);
    ob_node(&g, "MatMul", "pv", (const char *[]){"pr", "x"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 17);
    BOTH(m);
    same_outputs(opt, ref, xd, 4, NULL, 1e-5f);
    cr_assert_not_null(opt->plans);
    cr_assert_eq(live(&opt->plans->g, "nn.Attention"), 1);
    cr_assert_eq(live(&opt->plans->g, "Softmax"), 0);
    cr_assert_eq(live(&ref->plans->g, "nn.Attention"), 0);
    nn_model_free(opt);
    nn_model_free(ref);
}

Test(passes, quantized_conv_chain_becomes_one_node)
{
    /* q = DQL(x); y = SiLU(float(ConvInteger(q, W, zq, zw)) * (sq * sw) + b) */
    ob g = {0}, m = {0}, at = {0}, cast = {0};
    int64_t xd[4] = {1, 5, 9, 9}, wd[4] = {6, 5, 3, 3}, bd[4] = {1, 6, 1, 1};
    uint8_t w[6 * 5 * 9], wz = 131;
    float sw = 0.021f, b[6];
    for (int i = 0; i < 270; i++) w[i] = (uint8_t)((i * 37 + 11) % 256);
    fill(b, 6, 15);
    ob_input(&g, "x", NN_F32, xd, 4);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "w", NN_U8, wd, 4, w);
    ob_initializer(&g, "wz", NN_U8, NULL, 0, &wz);
    ob_initializer(&g, "sw", NN_F32, NULL, 0, &sw);
    ob_initializer(&g, "b", NN_F32, bd, 4, b);
    ob_node(&g, "DynamicQuantizeLinear", "dq", (const char *[]){"x"}, 1,
            (const char *[]){"q", "sq", "zq"}, 3, NULL);
    ob_node(&g, "Mul", "s", (const char *[]){"sq", "sw"}, 2, (const char *[]){"scale"}, 1, NULL);
    ob_attr_ints(&at, "pads", (const int64_t[]){1, 1, 1, 1}, 4);
    ob_node(&g, "ConvInteger", "ci", (const char *[]){"q", "w", "zq", "wz"}, 4,
            (const char *[]){"acc"}, 1, &at);
    ob_attr_i(&cast, "to", NN_F32);
    ob_node(&g, "Cast", "c", (const char *[]){"acc"}, 1, (const char *[]){"f"}, 1, &cast);
    ob_node(&g, "Mul", "m", (const char *[]){"f", "scale"}, 2, (const char *[]){"t"}, 1, NULL);
    ob_node(&g, "Add", "a", (const char *[]){"t", "b"}, 2, (const char *[]){"z"}, 1, NULL);
    ob_node(&g, "Sigmoid", "sg", (const char *[]){"z"}, 1, (const char *[]){"sz"}, 1, NULL);
    ob_node(&g, "Mul", "silu", (const char *[]){"z", "sz"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 20);
    BOTH(m);
    cr_assert_eq(
        live(&opt->l.g, "ConvInteger") + live(&opt->l.g, "Cast") + live(&opt->l.g, "Sigmoid"), 0);
    const nn_node *q = first_live(&opt->l.g, "nn.QConv");
    cr_assert(q && q->n_post == 1 && q->post[0].kind == NN_POST_SILU);
    /* the same integers and the same float operations: identical results */
    same_outputs(opt, ref, xd, 4, NULL, 0);
    nn_model_free(opt);
    nn_model_free(ref);
}
