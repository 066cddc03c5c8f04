/* Writes the seed corpus of fuzz_onnx: small models of our own making that cover the
 * loader's paths (initializers, attributes of every kind, Constant nodes, strings, fp16,
 * external data, metadata), the operators the planner treats specially, and each graph
 * pattern a pass rewrites (tests/nn/patterns.h: attention, GELU, LayerNorm over the last
 * axis and over channels, convolutions on tokens).
 *
 *     ./build-fuzz/fuzz/onnx_seeds fuzz/corpus/onnx */
#include "../tests/nn/onnx_build.h"
#include "../tests/nn/patterns.h"

#include <stdio.h>

static const char *dir;

static void save(const char *name, ob *m)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(m->buf, 1, m->len, f) != m->len) {
        perror(path);
        exit(1);
    }
    fclose(f);
    free(m->buf);
    memset(m, 0, sizeof *m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: onnx_seeds DIR\n");
        return 2;
    }
    dir = argv[1];
    int64_t d4[4] = {1, 4, 8, 8}, d2[2] = {3, 4}, one = 1, four = 4;
    float w[4 * 4 * 9];
    for (int i = 0; i < 4 * 4 * 9; i++) w[i] = (float)(i % 7) - 3.0f;

    ob g = {0}, m = {0}, a = {0};
    ob_input(&g, "x", NN_F32, d2, 2);
    ob_output(&g, "y", NN_F32, d2, 2);
    ob_node(&g, "Relu", "r", (const char *[]){"x"}, 1, (const char *[]){"y"}, 1, NULL);
    ob_meta(&m, "names", "{0: 'a'}");
    ob_model(&m, &g, 17);
    save("relu", &m);

    ob_input(&g, "x", NN_F32, d4, 4);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "w", NN_F32, (const int64_t[]){4, 4, 3, 3}, 4, w);
    ob_initializer(&g, "b", NN_F32, &four, 1, w);
    ob_attr_ints(&a, "pads", (const int64_t[]){1, 1, 1, 1}, 4);
    ob_attr_ints(&a, "strides", (const int64_t[]){1, 1}, 2);
    ob_node(&g, "Conv", "c", (const char *[]){"x", "w", "b"}, 3, (const char *[]){"c"}, 1, &a);
    ob_node(&g, "Sigmoid", "s", (const char *[]){"c"}, 1, (const char *[]){"s"}, 1, NULL);
    ob_node(&g, "Mul", "m", (const char *[]){"c", "s"}, 2, (const char *[]){"t"}, 1, NULL);
    ob_attr_i(&a, "axis", 1);
    ob_node(&g, "Concat", "cat", (const char *[]){"t", "x"}, 2, (const char *[]){"u"}, 1, &a);
    ob_attr_ints(&a, "kernel_shape", (const int64_t[]){2, 2}, 2);
    ob_attr_ints(&a, "strides", (const int64_t[]){2, 2}, 2);
    ob_node(&g, "MaxPool", "p", (const char *[]){"u"}, 1, (const char *[]){"v"}, 1, &a);
    float scales[4] = {1, 1, 2, 2};
    ob_initializer(&g, "scales", NN_F32, &four, 1, scales);
    ob_attr_s(&a, "mode", "nearest");
    ob_node(&g, "Resize", "rs", (const char *[]){"v", "", "scales"}, 3, (const char *[]){"y"}, 1,
            &a);
    ob_model(&m, &g, 17);
    save("conv_chain", &m);

    /* shape arithmetic ending in a Reshape, and a Constant node */
    int64_t zero = 0, minus1 = -1;
    ob_input(&g, "x", NN_F32, (const int64_t[]){-1, 4}, 2);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_attr_t(&a, "value", NN_I64, &one, 1, &minus1);
    ob_node(&g, "Constant", "k", NULL, 0, (const char *[]){"rest"}, 1, &a);
    ob_initializer(&g, "zero", NN_I64, NULL, 0, &zero);
    ob_initializer(&g, "axes", NN_I64, &one, 1, &zero);
    ob_node(&g, "Shape", "sh", (const char *[]){"x"}, 1, (const char *[]){"s"}, 1, NULL);
    ob_node(&g, "Gather", "ga", (const char *[]){"s", "zero"}, 2, (const char *[]){"n"}, 1, NULL);
    ob_node(&g, "Unsqueeze", "un", (const char *[]){"n", "axes"}, 2, (const char *[]){"n1"}, 1,
            NULL);
    ob_attr_i(&a, "axis", 0);
    ob_node(&g, "Concat", "cc", (const char *[]){"n1", "rest"}, 2, (const char *[]){"tgt"}, 1, &a);
    ob_node(&g, "Reshape", "re", (const char *[]){"x", "tgt"}, 2, (const char *[]){"r"}, 1, NULL);
    ob_attr_ints(&a, "perm", (const int64_t[]){1, 0}, 2);
    ob_node(&g, "Transpose", "tr", (const char *[]){"r"}, 1, (const char *[]){"t"}, 1, &a);
    ob_node(&g, "MatMul", "mm", (const char *[]){"r", "t"}, 2, (const char *[]){"mmo"}, 1, NULL);
    ob_attr_i(&a, "axis", -1);
    ob_node(&g, "Softmax", "sm", (const char *[]){"mmo"}, 1, (const char *[]){"y"}, 1, &a);
    ob_model(&m, &g, 13);
    save("shape_arith", &m);

    /* fp16 initializer, Cast, Where, Range, ConstantOfShape */
    uint16_t h[4] = {0x3c00, 0x4000, 0xbc00, 0x0000};
    float start = 0, delta = 1, limit = 4;
    ob_input(&g, "x", NN_F32, &four, 1);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "h", NN_F16, &four, 1, h);
    ob_initializer(&g, "start", NN_F32, NULL, 0, &start);
    ob_initializer(&g, "limit", NN_F32, NULL, 0, &limit);
    ob_initializer(&g, "delta", NN_F32, NULL, 0, &delta);
    ob_attr_i(&a, "to", NN_F32);
    ob_node(&g, "Cast", "ca", (const char *[]){"h"}, 1, (const char *[]){"hf"}, 1, &a);
    ob_node(&g, "Greater", "gt", (const char *[]){"x", "hf"}, 2, (const char *[]){"cond"}, 1, NULL);
    ob_node(&g, "Where", "wh", (const char *[]){"cond", "x", "hf"}, 3, (const char *[]){"wv"}, 1,
            NULL);
    ob_node(&g, "Range", "rg", (const char *[]){"start", "limit", "delta"}, 3,
            (const char *[]){"rv"}, 1, NULL);
    ob_node(&g, "Add", "ad", (const char *[]){"wv", "rv"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 17);
    save("fp16_where_range", &m);

    /* strings */
    ob_input(&g, "x", NN_F32, d2, 2);
    ob_output(&g, "y", NN_STRING, NULL, -1);
    ob_attr_i(&a, "to", NN_STRING);
    ob_node(&g, "Cast", "ts", (const char *[]){"x"}, 1, (const char *[]){"y"}, 1, &a);
    ob_model(&m, &g, 17);
    save("cast_string", &m);

    /* external data that is not there */
    ob t = {0};
    ob_input(&g, "x", NN_F32, &four, 1);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_int(&t, 1, 4);
    ob_int(&t, 2, NN_F32);
    ob_str(&t, 8, "w");
    ob e1 = {0};
    ob_str(&e1, 1, "location");
    ob_str(&e1, 2, "weights.bin");
    ob_msg(&t, 13, &e1);
    ob_int(&t, 14, 1);
    ob_msg(&g, 5, &t);
    ob_node(&g, "Mul", "m", (const char *[]){"x", "w"}, 2, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 17);
    save("external", &m);

    /* layer norm, gelu and gemm */
    ob_input(&g, "x", NN_F32, d2, 2);
    ob_output(&g, "y", NN_F32, NULL, -1);
    ob_initializer(&g, "g", NN_F32, &four, 1, w);
    ob_initializer(&g, "W", NN_F32, (const int64_t[]){4, 4}, 2, w);
    ob_attr_i(&a, "axis", -1);
    ob_attr_f(&a, "epsilon", 1e-5f);
    ob_node(&g, "LayerNormalization", "ln", (const char *[]){"x", "g"}, 2, (const char *[]){"n"}, 1,
            &a);
    ob_attr_i(&a, "transB", 1);
    ob_node(&g, "Gemm", "gm", (const char *[]){"n", "W", "g"}, 3, (const char *[]){"o"}, 1, &a);
    ob_node(&g, "Erf", "er", (const char *[]){"o"}, 1, (const char *[]){"y"}, 1, NULL);
    ob_model(&m, &g, 17);
    save("norm_gemm", &m);

    pat_attention(&m);
    save("pattern_attention", &m);
    pat_attention_qkv_split(&m);
    save("pattern_attention_qkv_split", &m);
    pat_gelu_posts(&m);
    save("pattern_gelu_posts", &m);
    pat_tokens_conv(&m, false);
    save("pattern_tokens_conv", &m);
    pat_tokens_conv(&m, true);
    save("pattern_tokens_conv_bias_input", &m);
    pat_layernorm(&m);
    save("pattern_layernorm", &m);
    pat_channel_norm(&m);
    save("pattern_channel_norm", &m);
    printf("seeds written to %s\n", dir);
    return 0;
}
