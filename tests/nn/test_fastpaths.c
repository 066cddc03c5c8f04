/* Planned fast paths against the reference kernels: each test runs one small graph twice,
 * once as planned (constant weights, passes on: the fast path) and once through the
 * reference kernels (the weights are a graph input "w" and the passes are off, so nothing
 * is prepared), and compares the outputs. */
#include "nn/kern.h"
#include "nn/nn_impl.h"
#include "onnx_build.h"

#include <criterion/criterion.h>

#include "compare.h"
#include <math.h>
#include <stdio.h>

static nn_model *load(ob *m, bool optimize)
{
    return load_threads(m->buf, m->len, optimize, 2);
}

/* The planned step of the node named `name` (the model has run once). */
static const nn_step *step_of(const nn_model *m, const char *name)
{
    const nn_plan *p = m->plans;
    cr_assert_not_null(p);
    for (int i = 0; i < p->n_steps; i++)
        if (!strcmp(p->g.n[p->steps[i].node].name, name)) return &p->steps[i];
    cr_assert_fail("no step '%s'", name);
    return NULL;
}

/* y = Relu(ConvTranspose(x, w, b)) with kernel == stride; w an initializer (fast) or a
 * graph input (reference). */
static void convtranspose_model(ob *m, const int64_t *xd, const nn_tensor *w, bool ref)
{
    ob g = {0}, at = {0};
    const int64_t *wd = w->shape;
    float *b = malloc((size_t)wd[1] * 4);
    fill(b, wd[1], 4);
    ob_input(&g, "x", NN_F32, xd, 4);
    ob_output(&g, "y", NN_F32, NULL, -1);
    if (ref)
        ob_input(&g, "w", NN_F32, wd, 4);
    else
        ob_initializer(&g, "w", NN_F32, wd, 4, w->data);
    ob_initializer(&g, "b", NN_F32, &wd[1], 1, b);
    ob_attr_ints(&at, "strides", &wd[2], 2);
    ob_node(&g, "ConvTranspose", "up", (const char *[]){"x", "w", "b"}, 3, (const char *[]){"u"}, 1,
            &at);
    ob_node(&g, "Relu", "r", (const char *[]){"u"}, 1, (const char *[]){"y"}, 1, NULL);
    ob_model(m, &g, 17);
    free(b);
}

Test(fastpaths, convtranspose_with_kernel_equal_to_stride)
{
    /* 2x2 (SAM's upscaling, the interleave of two rows) and 2x3 (the general loop); a
     * batch of 2 and more channels than a block of 16 */
    const int64_t cases[2][2][4] = {{{2, 20, 5, 7}, {20, 18, 2, 2}}, {{1, 6, 4, 3}, {6, 5, 2, 3}}};
    for (int c = 0; c < 2; c++) {
        const int64_t *xd = cases[c][0], *wd = cases[c][1];
        nn_tensor w = {.dtype = NN_F32, .rank = 4};
        memcpy(w.shape, wd, sizeof(int64_t) * 4);
        w.data = malloc((size_t)nn_tensor_count(&w) * 4);
        fill(w.data, nn_tensor_count(&w), 3);
        ob mf = {0}, mr = {0};
        convtranspose_model(&mf, xd, &w, false);
        convtranspose_model(&mr, xd, &w, true);
        nn_model *fast = load(&mf, true), *ref = load(&mr, false);
        free(mf.buf);
        free(mr.buf);
        same_outputs(fast, ref, xd, 4, &w, 1e-5f);
        free(w.data);
        /* the product lands in the step's scratch before the interleave */
        const nn_step *st = step_of(fast, "up");
        cr_assert_geq(st->scratch, (size_t)(xd[0] * wd[1] * wd[2] * wd[3] * xd[2] * xd[3] * 4));
        cr_assert_eq(fast->plans->buf[fast->plans->g.n[st->node].out[0]].layout, NN_L_PLAIN);
        nn_model_free(fast);
        nn_model_free(ref);
    }
}

/* LayerNorm2d as exported: ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div over axis 1, then
 * * g [C, 1, 1] + b [C, 1, 1], between two convolutions (whose outputs and inputs are
 * blocked: the norm, added to the plan after the layouts' first look at it, reads and
 * writes the plain layout). */
Test(fastpaths, channel_layernorm_from_its_pattern)
{
    ob m = {0};
    const int64_t xd[4] = {2, 32, 5, 7};
    pat_channel_norm(&m);
    nn_model *fast = load(&m, true), *ref = load(&m, false);
    free(m.buf);
    same_outputs(fast, ref, xd, 4, NULL, 1e-5f);
    int norms = 0, means = 0;
    for (int i = 0; i < fast->plans->g.nn; i++) {
        const nn_node *n = &fast->plans->g.n[i];
        norms += !n->dead && !strcmp(n->op_type, "nn.ChannelNorm");
        means += !n->dead && !strcmp(n->op_type, "ReduceMean");
    }
    cr_assert_eq(norms, 1);
    cr_assert_eq(means, 0);
    nn_model_free(fast);
    nn_model_free(ref);
}

/* Multi-head attention as exported: heads split from [B, L, H*D] by Reshape and
 * Transpose (0, 2, 1, 3) (K by (0, 2, 3, 1)) and merged back the same way. In the plan the
 * transposes are gone: nn.Attention reads and writes [B, L, H, D]. */
Test(fastpaths, attention_reads_and_writes_heads_by_strides)
{
    ob m = {0};
    const int64_t xd[3] = {2, 10, 24};
    pat_attention(&m);
    nn_model *fast = load(&m, true), *ref = load(&m, false);
    free(m.buf);
    same_outputs(fast, ref, xd, 3, NULL, 1e-5f);
    int transposes = 0;
    const nn_node *att = NULL;
    for (int i = 0; i < fast->plans->g.nn; i++) {
        const nn_node *n = &fast->plans->g.n[i];
        if (n->dead) continue;
        transposes += !strcmp(n->op_type, "Transpose");
        if (!strcmp(n->op_type, "nn.Attention")) att = n;
    }
    cr_assert_not_null(att);
    cr_assert_eq(transposes, 0);
    cr_assert(attr_i(att, "q_bshd", 0) && attr_i(att, "k_bshd", 0) && attr_i(att, "v_bshd", 0) &&
              attr_i(att, "o_bshd", 0));
    nn_model_free(fast);
    nn_model_free(ref);
}

/* TinyViT's form: one projection [B, L, H, D + D + Dv] split into q, k and v along its
 * channels, then the head transposes. The plan runs neither the Split nor a Transpose:
 * attention reads the three parts of the projection where they are. */
Test(fastpaths, attention_reads_a_qkv_split_in_place)
{
    ob m = {0};
    const int64_t xd[3] = {2, 10, 96};
    pat_attention_qkv_split(&m);
    nn_model *fast = load(&m, true), *ref = load(&m, false);
    free(m.buf);
    same_outputs(fast, ref, xd, 3, NULL, 1e-5f);
    int others = 0;
    const nn_node *att = NULL;
    for (int i = 0; i < fast->plans->g.nn; i++) {
        const nn_node *n = &fast->plans->g.n[i];
        if (n->dead) continue;
        others += !strcmp(n->op_type, "Transpose") || !strcmp(n->op_type, "Split");
        if (!strcmp(n->op_type, "nn.Attention")) att = n;
    }
    cr_assert_not_null(att);
    cr_assert_eq(others, 0);
    cr_assert(attr_i(att, "k_off", 0) == 8 && attr_i(att, "v_off", 0) == 16 &&
              attr_i(att, "v_dim", 0) == 16 && attr_i(att, "qk_dim", 0) == 8);
    nn_model_free(fast);
    nn_model_free(ref);
}

/* GELU from its Erf pattern after a bias (a MatMul) and after a residual Add (a blocked
 * convolution): oneDNN keeps the posts before the GELU, we apply the GELU after it. */
Test(fastpaths, gelu_after_the_posts_onednn_keeps)
{
    ob m = {0};
    const int64_t xd[4] = {1, 16, 6, 5};
    pat_gelu_posts(&m);
    nn_model *fast = load(&m, true), *ref = load(&m, false);
    free(m.buf);
    same_outputs(fast, ref, xd, 4, NULL, 1e-5f);
    /* the second output too */
    nn_tensor x = {.dtype = NN_F32, .rank = 4};
    memcpy(x.shape, xd, sizeof xd);
    float data[480];
    fill(data, 480, 99);
    x.data = data;
    err e = {0};
    nn_session *sa = nn_session_new(fast, &e), *sb = nn_session_new(ref, &e);
    cr_assert(nn_session_set_input(sa, "x", &x, &e) == 0 && nn_session_run(sa, &e) == 0);
    cr_assert(nn_session_set_input(sb, "x", &x, &e) == 0 && nn_session_run(sb, &e) == 0);
    const float *za = nn_session_output(sa, "z")->data, *zb = nn_session_output(sb, "z")->data;
    for (int i = 0; i < 480; i++)
        cr_assert(fabsf(za[i] - zb[i]) <= 1e-5f * (1 + fabsf(zb[i])), "z[%d]: %g vs %g", i, za[i],
                  zb[i]);
    nn_session_free(sa);
    nn_session_free(sb);
    /* both products carry [Add, GELU] with oneDNN taking the Add */
    for (int i = 0; i < fast->plans->n_steps; i++) {
        const nn_step *st = &fast->plans->steps[i];
        const nn_node *n = &fast->plans->g.n[st->node];
        if (strcmp(n->name, "mm") && strcmp(n->name, "c")) continue;
        cr_assert(n->n_post == 2 && n->post[0].kind == NN_POST_ADD &&
                      n->post[1].kind == NN_POST_GELU,
                  "%s", n->name);
    }
    nn_model_free(fast);
    nn_model_free(ref);
}

/* Loads m in bf16 and fp32 and requires output 0 on input x to differ by no more than
 * bf16 rounding of its products (and not be equal: the bf16 path ran). Where the CPU lacks
 * avx512_bf16, requires loading in bf16 to say why it cannot. */
static void bf16_close_to_fp32(ob *m, const int64_t *xd, int rank)
{
    nn_model_params p = nn_model_default_params();
    p.threads = 2;
    p.precision = NN_PRECISION_BF16;
    err e = {0};
    nn_model *bf = nn_model_load_memory(m->buf, m->len, "test.onnx", &p, &e);
    if (!nn_cpu_has("avx512_bf16")) {
        cr_assert_null(bf);
        cr_assert_eq(e.status, 400);
        cr_assert(strstr(e.msg, "avx512_bf16"), "%s", e.msg);
        return;
    }
    cr_assert_not_null(bf, "%s", e.msg);
    nn_model *fp = load(m, true);
    nn_tensor x = {.dtype = NN_F32, .rank = rank};
    memcpy(x.shape, xd, sizeof(int64_t) * (size_t)rank);
    int64_t n = nn_tensor_count(&x);
    x.data = malloc((size_t)n * 4);
    fill(x.data, n, 23);
    nn_session *sa = nn_session_new(bf, &e), *sb = nn_session_new(fp, &e);
    cr_assert(nn_session_set_input(sa, "x", &x, &e) == 0 && nn_session_run(sa, &e) == 0);
    cr_assert(nn_session_set_input(sb, "x", &x, &e) == 0 && nn_session_run(sb, &e) == 0);
    const nn_tensor *ta = nn_session_output_at(sa, 0), *tb = nn_session_output_at(sb, 0);
    const float *ya = ta->data, *yb = tb->data;
    /* a few hundred products of values rounded to 8-bit mantissas */
    float worst = 0, ref = 0;
    for (int64_t i = 0; i < nn_tensor_count(tb); i++) {
        worst = fmaxf(worst, fabsf(ya[i] - yb[i]));
        ref = fmaxf(ref, fabsf(yb[i]));
    }
    cr_assert(worst > 0 && worst <= 1e-2f * ref, "max diff %g of max %g", worst, ref);
    nn_session_free(sa);
    nn_session_free(sb);
    nn_model_free(bf);
    nn_model_free(fp);
    free(x.data);
}

/* --precision bf16: convolutions and products with constant weights on bf16 inputs and
 * weights, f32 accumulation and outputs. */
Test(fastpaths, bf16_products_stay_within_bf16_rounding)
{
    ob g = {0}, m = {0}, at = {0};
    const int64_t xd[4] = {1, 32, 12, 10}, wd[4] = {48, 32, 3, 3};
    float w[48 * 32 * 9], b[48];
    fill(w, 48 * 32 * 9, 21);
    fill(b, 48, 22);
    ob_input(&g, "x", NN_F32, xd, 4);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "w", NN_F32, wd, 4, w);
    ob_initializer(&g, "b", NN_F32, &wd[0], 1, b);
    ob_attr_ints(&at, "pads", (const int64_t[]){1, 1, 1, 1}, 4);
    ob_node(&g, "Conv", "c", (const char *[]){"x", "w", "b"}, 3, (const char *[]){"y"}, 1, &at);
    ob_model(&m, &g, 17);
    bf16_close_to_fp32(&m, xd, 4);
    free(m.buf);

    ob g2 = {0}, m2 = {0};
    const int64_t ad[2] = {64, 96}, bd[2] = {96, 80};
    float wm[96 * 80], bm[80];
    fill(wm, 96 * 80, 24);
    fill(bm, 80, 25);
    ob_input(&g2, "x", NN_F32, ad, 2);
    ob_output(&g2, "y", NN_F32, NULL, -1);
    ob_initializer(&g2, "w", NN_F32, bd, 2, wm);
    ob_initializer(&g2, "b", NN_F32, &bd[1], 1, bm);
    ob_node(&g2, "MatMul", "mm", (const char *[]){"x", "w"}, 2, (const char *[]){"p"}, 1, NULL);
    ob_node(&g2, "Add", "a", (const char *[]){"p", "b"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m2, &g2, 17);
    bf16_close_to_fp32(&m2, ad, 2);
    free(m2.buf);
}

/* TinyViT's local convolution on tokens: the plan runs one nn.ConvNHWC on the tokens
 * instead of the transposes, reshapes and Conv: with a constant bias on oneDNN, with the
 * bias a graph input on the reference loop. */
Test(fastpaths, convolution_on_tokens_runs_channels_last)
{
    const int64_t td[3] = {2, 30, 32}, bd = 32;
    for (int bias_input = 0; bias_input < 2; bias_input++) {
        ob m = {0};
        pat_tokens_conv(&m, bias_input);
        nn_model *fast = load(&m, true), *ref = load(&m, false);
        free(m.buf);
        float x[2 * 30 * 32], b[32];
        fill(x, 2 * 30 * 32, 33);
        fill(b, 32, 34);
        nn_tensor xt = {.dtype = NN_F32, .rank = 3, .data = x}, bt = {.dtype = NN_F32, .rank = 1};
        memcpy(xt.shape, td, sizeof td);
        bt.shape[0] = bd;
        bt.data = b;
        err e = {0};
        nn_session *sa = nn_session_new(fast, &e), *sb = nn_session_new(ref, &e);
        nn_session *ss[2] = {sa, sb};
        for (int k = 0; k < 2; k++)
            cr_assert(nn_session_set_input(ss[k], "x", &xt, &e) == 0 &&
                          (!bias_input || nn_session_set_input(ss[k], "b", &bt, &e) == 0) &&
                          nn_session_run(ss[k], &e) == 0,
                      "%s", e.msg);
        const nn_tensor *ya = nn_session_output_at(sa, 0), *yb = nn_session_output_at(sb, 0);
        cr_assert(ya->rank == 3 && !memcmp(ya->shape, td, sizeof td));
        const float *pa = ya->data, *pb = yb->data;
        for (int i = 0; i < 2 * 30 * 32; i++)
            cr_assert(fabsf(pa[i] - pb[i]) <= 1e-5f * (1 + fabsf(pb[i])), "y[%d]: %g vs %g", i,
                      pa[i], pb[i]);
        int nhwc = 0, others = 0;
        for (int i = 0; i < fast->plans->g.nn; i++) {
            const nn_node *n = &fast->plans->g.n[i];
            if (n->dead) continue;
            nhwc += !strcmp(n->op_type, "nn.ConvNHWC");
            others += !strcmp(n->op_type, "Transpose") || !strcmp(n->op_type, "Conv");
        }
        cr_assert(nhwc == 1 && others == 0);
        /* oneDNN's kernel for a constant bias, the reference loop for a computed one */
        const nn_step *st = step_of(fast, "c");
        cr_assert_eq(st->run == fast->plans->g.n[st->node].op->run, (bool)bias_input);
        nn_session_free(sa);
        nn_session_free(sb);
        nn_model_free(fast);
        nn_model_free(ref);
    }
}
