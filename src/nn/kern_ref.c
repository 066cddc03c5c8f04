/* The scalar reference kernels: the plainest correct loops, what every optimised table
 * is compared with. */
#include "nn/kern.h"

#include <math.h>
#include <string.h>

static void relu(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

/* The logistic function as a rational approximation on [-18, 18] (Eigen's coefficients,
 * which ONNX Runtime's MLAS uses too), evaluated with fused multiply-adds. Its error is
 * below 1e-7 absolute; using the same approximation as the reference runtime makes
 * dynamically quantised models, which re-quantise every activation, round alike. */
float nn_sigmoid_1(float v)
{
    v = v < -18.0f ? -18.0f : v > 18.0f ? 18.0f : v;
    float x2 = v * v;
    float p = fmaf(x2, 4.37031012579801e-11f, 1.15627324459942e-07f);
    p = fmaf(p, x2, 6.08574864600143e-05f);
    p = fmaf(p, x2, 8.51377133304701e-03f);
    p = fmaf(p, x2, 2.48287947061529e-01f);
    p = p * v;
    float q = fmaf(x2, 6.10247389755681e-13f, 5.76102136993427e-09f);
    q = fmaf(q, x2, 6.29106785017040e-06f);
    q = fmaf(q, x2, 1.70198817374094e-03f);
    q = fmaf(q, x2, 1.16817656904453e-01f);
    q = fmaf(q, x2, 9.93151921023180e-01f);
    float r = p / q + 0.5f;
    return r < 0.0f ? 0.0f : r > 1.0f ? 1.0f : r;
}

static void sigmoid(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = nn_sigmoid_1(x[i]);
}

static void silu(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] * nn_sigmoid_1(x[i]);
}

static void gelu(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

static void tanh_(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}

static void exp_(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

static void erf_(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = erff(x[i]);
}

static void add(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

static void sub(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = a[i] - b[i];
}

static void mul(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = a[i] * b[i];
}

static void div_(const float *a, const float *b, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = a[i] / b[i];
}

static void add_s(const float *a, float s, float *y, size_t n, int rev)
{
    (void)rev;
    for (size_t i = 0; i < n; i++) y[i] = a[i] + s;
}

static void sub_s(const float *a, float s, float *y, size_t n, int rev)
{
    if (rev)
        for (size_t i = 0; i < n; i++) y[i] = s - a[i];
    else
        for (size_t i = 0; i < n; i++) y[i] = a[i] - s;
}

static void mul_s(const float *a, float s, float *y, size_t n, int rev)
{
    (void)rev;
    for (size_t i = 0; i < n; i++) y[i] = a[i] * s;
}

static void div_s(const float *a, float s, float *y, size_t n, int rev)
{
    if (rev)
        for (size_t i = 0; i < n; i++) y[i] = s / a[i];
    else
        for (size_t i = 0; i < n; i++) y[i] = a[i] / s;
}

static void softmax(const float *x, float *y, size_t n)
{
    if (!n) return;
    float mx = x[0];
    for (size_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float sum = 0;
    for (size_t i = 0; i < n; i++) {
        y[i] = expf(x[i] - mx);
        sum += y[i];
    }
    float inv = 1.0f / sum;
    for (size_t i = 0; i < n; i++) y[i] *= inv;
}

static void layernorm(const float *x, const float *g, const float *b, float *y, size_t n, float eps)
{
    if (!n) return;
    float mean = 0;
    for (size_t i = 0; i < n; i++) mean += x[i];
    mean /= (float)n;
    float var = 0;
    for (size_t i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= (float)n;
    float inv = 1.0f / sqrtf(var + eps);
    for (size_t i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * g[i] + (b ? b[i] : 0.0f);
}

static void minmax(const float *x, size_t n, float *mn, float *mx)
{
    float a = n ? x[0] : 0, b = n ? x[0] : 0;
    for (size_t i = 1; i < n; i++) {
        a = x[i] < a ? x[i] : a;
        b = x[i] > b ? x[i] : b;
    }
    *mn = a;
    *mx = b;
}

static void quantize_u8(const float *x, uint8_t *q, size_t n, float scale, int zp)
{
    for (size_t i = 0; i < n; i++) {
        float v = rintf(x[i] / scale) + (float)zp;
        q[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

static void unblock16(const float *src, float *dst, size_t C, size_t hw)
{
    for (size_t c = 0; c < C; c++)
        for (size_t i = 0; i < hw; i++) dst[c * hw + i] = src[(c / 16) * hw * 16 + i * 16 + c % 16];
}

static void block16(const float *src, float *dst, size_t C, size_t hw)
{
    size_t Cp = (C + 15) / 16 * 16;
    for (size_t c = 0; c < Cp; c++)
        for (size_t i = 0; i < hw; i++)
            dst[(c / 16) * hw * 16 + i * 16 + c % 16] = c < C ? src[c * hw + i] : 0.0f;
}

void nn_ref_transpose_tile(const float *src, size_t ls, float *dst, size_t ld, size_t rows,
                           size_t cols)
{
    for (size_t j = 0; j < cols; j++)
        for (size_t i = 0; i < rows; i++) dst[j * ld + i] = src[i * ls + j];
}

static void sgemm(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                  size_t ldb, float *C, size_t ldc)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            float acc = 0;
            for (size_t k = 0; k < K; k++) acc = fmaf(A[i * lda + k], B[k * ldb + j], acc);
            C[i * ldc + j] = acc;
        }
}

const nn_kernels nn_kern_ref = {
    .name = "scalar",
    .unary = {relu, sigmoid, silu, gelu, tanh_, exp_, erf_},
    .binary = {add, sub, mul, div_},
    .binary_scalar = {add_s, sub_s, mul_s, div_s},
    .softmax = softmax,
    .layernorm = layernorm,
    .minmax = minmax,
    .quantize_u8 = quantize_u8,
    .sgemm = sgemm,
    .unblock16 = unblock16,
    .block16 = block16,
    .transpose_tile = nn_ref_transpose_tile,
};
