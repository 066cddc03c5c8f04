/* The graph patterns the engine's passes rewrite, written as exporters write them. The
 * pass tests build their models here, and fuzz/onnx_seeds.c writes the same models as
 * seeds, so the fuzzer starts from graphs that reach every rewrite and mutates their
 * shapes, attributes and constants. Each pat_* model has one input "x" (the shape in its
 * comment) and output "y"; the weights are deterministic.
 *
 * Header-only; every function is static. */
#ifndef ARTISTRY_TESTS_NN_PATTERNS_H
#define ARTISTRY_TESTS_NN_PATTERNS_H

#include "onnx_build.h"

#include <stdbool.h>
#include <stdio.h>

/* n values in [-1, 1) from a linear congruential sequence. */
static inline void fill(float *x, int64_t n, unsigned seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* Heads of [B, L, H, D] q, k and v sources swapped to [B, H, L, D] (K to [B, H, D, L]),
 * softmax(q kt * scale) v, merged back to [B, L, H * D] as y (initializers "scale" and
 * "merged" come from the caller). */
static inline void pat_heads_attention(ob *g, const char *q, const char *k, const char *v)
{
    ob p0 = {0}, p1 = {0}, p2 = {0}, p3 = {0}, sm = {0};
    ob_attr_ints(&p0, "perm", (const int64_t[]){0, 2, 1, 3}, 4);
    ob_node(g, "Transpose", "tq", (const char *[]){q}, 1, (const char *[]){"q"}, 1, &p0);
    ob_attr_ints(&p1, "perm", (const int64_t[]){0, 2, 3, 1}, 4);
    ob_node(g, "Transpose", "tk", (const char *[]){k}, 1, (const char *[]){"kt"}, 1, &p1);
    ob_attr_ints(&p2, "perm", (const int64_t[]){0, 2, 1, 3}, 4);
    ob_node(g, "Transpose", "tv", (const char *[]){v}, 1, (const char *[]){"v"}, 1, &p2);
    ob_node(g, "MatMul", "qk", (const char *[]){"q", "kt"}, 2, (const char *[]){"s"}, 1, NULL);
    ob_node(g, "Mul", "sc", (const char *[]){"s", "scale"}, 2, (const char *[]){"s2"}, 1, NULL);
    ob_attr_i(&sm, "axis", -1);
    ob_node(g, "Softmax", "p", (const char *[]){"s2"}, 1, (const char *[]){"pr"}, 1, &sm);
    ob_node(g, "MatMul", "pv", (const char *[]){"pr", "v"}, 2, (const char *[]){"o"}, 1, NULL);
    ob_attr_ints(&p3, "perm", (const int64_t[]){0, 2, 1, 3}, 4);
    ob_node(g, "Transpose", "to", (const char *[]){"o"}, 1, (const char *[]){"om"}, 1, &p3);
    ob_node(g, "Reshape", "rm", (const char *[]){"om", "merged"}, 2, (const char *[]){"y"}, 1,
            NULL);
}

/* x [2, 10, 24]: multi-head attention as exported, heads split from [B, L, H*D] by Reshape
 * and Transpose (0, 2, 1, 3) (K by (0, 2, 3, 1)) and merged back the same way; q = k = x,
 * v = Relu(x). */
static inline void pat_attention(ob *m)
{
    ob g = {0};
    const int64_t xd[3] = {2, 10, 24}, split[4] = {2, 10, 3, 8}, merged[3] = {2, 10, 24};
    float scale = 0.35f;
    ob_input(&g, "x", NN_F32, xd, 3);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "split", NN_I64, (const int64_t[]){4}, 1, split);
    ob_initializer(&g, "merged", NN_I64, (const int64_t[]){3}, 1, merged);
    ob_initializer(&g, "scale", NN_F32, NULL, 0, &scale);
    ob_node(&g, "Relu", "vx", (const char *[]){"x"}, 1, (const char *[]){"xv"}, 1, NULL);
    ob_node(&g, "Reshape", "r", (const char *[]){"x", "split"}, 2, (const char *[]){"xs"}, 1, NULL);
    ob_node(&g, "Reshape", "rv", (const char *[]){"xv", "split"}, 2, (const char *[]){"vs"}, 1,
            NULL);
    pat_heads_attention(&g, "xs", "xs", "vs");
    ob_model(m, &g, 17);
}

/* x [2, 10, 96]: TinyViT's form, one projection [B, L, H, 8 + 8 + 16] split into q, k and v
 * along its channels, then the head transposes. */
static inline void pat_attention_qkv_split(ob *m)
{
    ob g = {0}, sp = {0};
    const int64_t xd[3] = {2, 10, 96}, split[4] = {2, 10, 3, 32}, merged[3] = {2, 10, 48},
                  parts[3] = {8, 8, 16};
    float scale = 0.35f;
    ob_input(&g, "x", NN_F32, xd, 3);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "split", NN_I64, (const int64_t[]){4}, 1, split);
    ob_initializer(&g, "merged", NN_I64, (const int64_t[]){3}, 1, merged);
    ob_initializer(&g, "parts", NN_I64, (const int64_t[]){3}, 1, parts);
    ob_initializer(&g, "scale", NN_F32, NULL, 0, &scale);
    ob_node(&g, "Reshape", "r", (const char *[]){"x", "split"}, 2, (const char *[]){"xs"}, 1, NULL);
    ob_attr_i(&sp, "axis", 3);
    ob_node(&g, "Split", "qkv", (const char *[]){"xs", "parts"}, 2,
            (const char *[]){"qs", "ks", "vs"}, 3, &sp);
    pat_heads_attention(&g, "qs", "ks", "vs");
    ob_model(m, &g, 17);
}

/* GELU from its Erf pattern: out = in * (erf(in / sq2) + one) * half (initializers "sq2",
 * "one" and "half" come from the caller). */
static inline void pat_gelu_of(ob *g, const char *in, const char *out)
{
    char t[64], u[64], v[64], p[64];
    snprintf(t, sizeof t, "%s_t", out);
    snprintf(u, sizeof u, "%s_u", out);
    snprintf(v, sizeof v, "%s_v", out);
    snprintf(p, sizeof p, "%s_p", out);
    ob_node(g, "Div", t, (const char *[]){in, "sq2"}, 2, (const char *[]){t}, 1, NULL);
    ob_node(g, "Erf", u, (const char *[]){t}, 1, (const char *[]){u}, 1, NULL);
    ob_node(g, "Add", v, (const char *[]){u, "one"}, 2, (const char *[]){v}, 1, NULL);
    ob_node(g, "Mul", p, (const char *[]){in, v}, 2, (const char *[]){p}, 1, NULL);
    ob_node(g, "Mul", out, (const char *[]){p, "half"}, 2, (const char *[]){out}, 1, NULL);
}

/* x [1, 16, 6, 5]: GELU after a bias (MatMul "mm" + Add, output y) and after a residual
 * Add (Conv "c" + x, output z). */
static inline void pat_gelu_posts(ob *m)
{
    ob g = {0};
    const int64_t xd[4] = {1, 16, 6, 5}, wd[2] = {5, 7}, cd[4] = {16, 16, 1, 1};
    float w[35], b[7], cw[256], sq2 = 1.41421356f, one = 1, half = 0.5f;
    fill(w, 35, 11);
    fill(b, 7, 12);
    fill(cw, 256, 13);
    ob_input(&g, "x", NN_F32, xd, 4);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_output(&g, "z", NN_F32, NULL, -1);
    ob_initializer(&g, "w", NN_F32, wd, 2, w);
    ob_initializer(&g, "b", NN_F32, &wd[1], 1, b);
    ob_initializer(&g, "cw", NN_F32, cd, 4, cw);
    ob_initializer(&g, "sq2", NN_F32, NULL, 0, &sq2);
    ob_initializer(&g, "one", NN_F32, NULL, 0, &one);
    ob_initializer(&g, "half", NN_F32, NULL, 0, &half);
    ob_node(&g, "MatMul", "mm", (const char *[]){"x", "w"}, 2, (const char *[]){"mo"}, 1, NULL);
    ob_node(&g, "Add", "bias", (const char *[]){"mo", "b"}, 2, (const char *[]){"mb"}, 1, NULL);
    pat_gelu_of(&g, "mb", "y");
    ob_node(&g, "Conv", "c", (const char *[]){"x", "cw"}, 2, (const char *[]){"co"}, 1, NULL);
    ob_node(&g, "Add", "res", (const char *[]){"co", "x"}, 2, (const char *[]){"cr"}, 1, NULL);
    pat_gelu_of(&g, "cr", "z");
    ob_model(m, &g, 17);
}

/* x [2, 30, 32]: TinyViT's local convolution on tokens: Transpose (0, 2, 1) and Reshape to
 * NCHW [2, 32, 6, 5], a depthwise 3x3 Conv "c", Reshape and Transpose back. The bias is a
 * constant, or with bias_input a second graph input "b" [32]. */
static inline void pat_tokens_conv(ob *m, bool bias_input)
{
    ob g = {0}, t0 = {0}, t1 = {0}, at = {0};
    const int64_t td[3] = {2, 30, 32}, nchw[4] = {2, 32, 6, 5}, back[3] = {2, 32, 30},
                  wd[4] = {32, 1, 3, 3}, bd = 32;
    float w[32 * 9], b[32];
    fill(w, 32 * 9, 31);
    fill(b, 32, 32);
    ob_input(&g, "x", NN_F32, td, 3);
    ob_output(&g, "y", NN_F32, NULL, -1);
    if (bias_input)
        ob_input(&g, "b", NN_F32, &bd, 1);
    else
        ob_initializer(&g, "b", NN_F32, &bd, 1, b);
    ob_initializer(&g, "w", NN_F32, wd, 4, w);
    ob_initializer(&g, "nchw", NN_I64, (const int64_t[]){4}, 1, nchw);
    ob_initializer(&g, "back", NN_I64, (const int64_t[]){3}, 1, back);
    ob_attr_ints(&t0, "perm", (const int64_t[]){0, 2, 1}, 3);
    ob_node(&g, "Transpose", "t0", (const char *[]){"x"}, 1, (const char *[]){"xt"}, 1, &t0);
    ob_node(&g, "Reshape", "r0", (const char *[]){"xt", "nchw"}, 2, (const char *[]){"xi"}, 1,
            NULL);
    ob_attr_ints(&at, "pads", (const int64_t[]){1, 1, 1, 1}, 4);
    ob_attr_i(&at, "group", 32);
    ob_node(&g, "Conv", "c", (const char *[]){"xi", "w", "b"}, 3, (const char *[]){"co"}, 1, &at);
    ob_node(&g, "Reshape", "r1", (const char *[]){"co", "back"}, 2, (const char *[]){"cb"}, 1,
            NULL);
    ob_attr_ints(&t1, "perm", (const int64_t[]){0, 2, 1}, 3);
    ob_node(&g, "Transpose", "t1", (const char *[]){"cb"}, 1, (const char *[]){"y"}, 1, &t1);
    ob_model(m, &g, 17);
}

/* The LayerNorm decomposition over one axis: ReduceMean, Sub, Pow 2, ReduceMean, Add eps,
 * Sqrt, Div, then the scale and shift (initializers "gamma", "beta", "two", "eps" come
 * from the caller; gamma_first writes gamma * z as exporters of LayerNorm2d do). */
static inline void pat_norm_of(ob *g, const char *in, int64_t axis, bool gamma_first,
                               const char *out)
{
    ob a1 = {0}, a2 = {0};
    ob_attr_ints(&a1, "axes", &axis, 1);
    ob_node(g, "ReduceMean", "m", (const char *[]){in}, 1, (const char *[]){"mean"}, 1, &a1);
    ob_node(g, "Sub", "s", (const char *[]){in, "mean"}, 2, (const char *[]){"d"}, 1, NULL);
    ob_node(g, "Pow", "p", (const char *[]){"d", "two"}, 2, (const char *[]){"d2"}, 1, NULL);
    ob_attr_ints(&a2, "axes", &axis, 1);
    ob_node(g, "ReduceMean", "v", (const char *[]){"d2"}, 1, (const char *[]){"var"}, 1, &a2);
    ob_node(g, "Add", "e", (const char *[]){"var", "eps"}, 2, (const char *[]){"ve"}, 1, NULL);
    ob_node(g, "Sqrt", "r", (const char *[]){"ve"}, 1, (const char *[]){"sd"}, 1, NULL);
    ob_node(g, "Div", "n", (const char *[]){"d", "sd"}, 2, (const char *[]){"norm"}, 1, NULL);
    if (gamma_first)
        ob_node(g, "Mul", "gm", (const char *[]){"gamma", "norm"}, 2, (const char *[]){"sc"}, 1,
                NULL);
    else
        ob_node(g, "Mul", "gm", (const char *[]){"norm", "gamma"}, 2, (const char *[]){"sc"}, 1,
                NULL);
    ob_node(g, "Add", "bt", (const char *[]){"sc", "beta"}, 2, (const char *[]){out}, 1, NULL);
}

/* x [2, 3, 16]: LayerNormalization over the last axis from its pattern (opset 13). */
static inline void pat_layernorm(ob *m)
{
    ob g = {0};
    int64_t xd[3] = {2, 3, 16}, dd = 16;
    float gamma[16], beta[16], two = 2, eps = 1e-5f;
    fill(gamma, 16, 12);
    fill(beta, 16, 13);
    ob_input(&g, "x", NN_F32, xd, 3);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "gamma", NN_F32, &dd, 1, gamma);
    ob_initializer(&g, "beta", NN_F32, &dd, 1, beta);
    ob_initializer(&g, "two", NN_F32, NULL, 0, &two);
    ob_initializer(&g, "eps", NN_F32, NULL, 0, &eps);
    pat_norm_of(&g, "x", -1, false, "y");
    ob_model(m, &g, 13);
}

/* x [N, 32, 5, 7] (N symbolic): SAM's LayerNorm2d, the pattern over axis 1 with
 * gamma and beta [32, 1, 1], between two 1x1 convolutions "c0" and "c1". */
static inline void pat_channel_norm(ob *m)
{
    ob g = {0};
    const int64_t cd[3] = {32, 1, 1};
    float gamma[32], beta[32], two = 2.f, eps = 1e-6f, w[32 * 32];
    fill(gamma, 32, 5);
    fill(beta, 32, 6);
    fill(w, 32 * 32, 7);
    /* a symbolic batch: the shapes, and so the fusion, come with the plan */
    ob_input(&g, "x", NN_F32, (const int64_t[]){-1, 32, 5, 7}, 4);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "gamma", NN_F32, cd, 3, gamma);
    ob_initializer(&g, "beta", NN_F32, cd, 3, beta);
    ob_initializer(&g, "two", NN_F32, NULL, 0, &two);
    ob_initializer(&g, "eps", NN_F32, NULL, 0, &eps);
    ob_initializer(&g, "w", NN_F32, (const int64_t[]){32, 32, 1, 1}, 4, w);
    ob_node(&g, "Conv", "c0", (const char *[]){"x", "w"}, 2, (const char *[]){"c"}, 1, NULL);
    pat_norm_of(&g, "c", 1, true, "ln");
    ob_node(&g, "Conv", "c1", (const char *[]){"ln", "w"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(m, &g, 17);
}

#endif
