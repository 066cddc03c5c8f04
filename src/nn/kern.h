/*
 * The kernel table: the inner loops of our own operators, one table per instruction set.
 * kern_ref.c is the plain scalar reference every other table is tested against
 * (tests/nn/test_kernels.c); kern_avx2.c and kern_avx512.c are compiled with their
 * instruction sets enabled and chosen at load time from what the CPU has.
 *
 * All functions take dense float arrays that may alias when the names say so (y may be x).
 */
#ifndef ARTISTRY_NN_KERN_H
#define ARTISTRY_NN_KERN_H

#include <stddef.h>
#include <stdint.h>

enum nn_unary {
    NN_UN_RELU,
    NN_UN_SIGMOID,
    NN_UN_SILU, /* x * sigmoid(x) */
    NN_UN_GELU, /* x * (1 + erf(x / sqrt 2)) / 2 */
    NN_UN_TANH,
    NN_UN_EXP,
    NN_UN_ERF,
    NN_UN_COUNT,
};

enum nn_binary {
    NN_BIN_ADD,
    NN_BIN_SUB,
    NN_BIN_MUL,
    NN_BIN_DIV,
    NN_BIN_COUNT,
};

typedef struct nn_kernels {
    const char *name;
    /* y[i] = f(x[i]); y may be x. */
    void (*unary[NN_UN_COUNT])(const float *x, float *y, size_t n);
    /* y[i] = a[i] op b[i]; y may be a or b. */
    void (*binary[NN_BIN_COUNT])(const float *a, const float *b, float *y, size_t n);
    /* y[i] = a[i] op s / s op a[i] (rev); y may be a. */
    void (*binary_scalar[NN_BIN_COUNT])(const float *a, float s, float *y, size_t n, int rev);
    /* y = softmax(x) over n elements; y may be x. */
    void (*softmax)(const float *x, float *y, size_t n);
    /* y = (x - mean) / sqrt(var + eps) * g + b over n elements (b may be NULL). */
    void (*layernorm)(const float *x, const float *g, const float *b, float *y, size_t n,
                      float eps);
    /* max and min of n floats. */
    void (*minmax)(const float *x, size_t n, float *mn, float *mx);
    /* Quantises n floats to uint8: q = saturate(rint(x / scale) + zp). */
    void (*quantize_u8)(const float *x, uint8_t *q, size_t n, float scale, int zp);
    /* C = A B for row-major A (M x K, row stride lda), B (K x N, ldb), C (M x N, ldc);
     * for the small products inside fused attention. */
    void (*sgemm)(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                  size_t ldb, float *C, size_t ldc);
    /* dst[c*hw + i] = src[(c/16)*hw*16 + i*16 + c%16] for c < C: nChw16c -> nchw, one image */
    void (*unblock16)(const float *src, float *dst, size_t C, size_t hw);
    void (*block16)(const float *src, float *dst, size_t C, size_t hw);
    /* dst[j*ld + i] = src[i*ls + j] for i < rows, j < cols: one tile of a transpose (any
     * size; 16 x 16 is the one vector tables do fastest). */
    void (*transpose_tile)(const float *src, size_t ls, float *dst, size_t ld, size_t rows,
                           size_t cols);
} nn_kernels;

/* The reference tile transpose, for tables without a vector one. */
void nn_ref_transpose_tile(const float *src, size_t ls, float *dst, size_t ld, size_t rows,
                           size_t cols);

extern const nn_kernels nn_kern_ref;
/* The logistic function of the reference table, for one value. */
float nn_sigmoid_1(float v);
extern const nn_kernels nn_kern_avx2;
extern const nn_kernels nn_kern_avx512;

/* The best table the CPU supports, or the one asked for (NN_ISA_* from nn.h; a table the
 * CPU lacks falls back to the best it has). */
const nn_kernels *nn_kernels_pick(int isa);
/* Whether the CPU can run a table: "scalar", "avx2", "avx512"; "avx512_bf16": whether it
 * has the bfloat16 dot products oneDNN's bf16 convolutions need. */
int nn_cpu_has(const char *isa);

#endif
