/* Every optimised kernel table (AVX2, AVX-512, where the CPU has them) against the scalar
 * reference, on lengths that exercise full vectors and every tail length. */
#include "nn/kern.h"
#include "nn/nn.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const size_t lengths[] = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1000, 4099};

static float frand(unsigned *s, float lo, float hi)
{
    *s = *s * 1103515245u + 12345u;
    return lo + (hi - lo) * (float)((*s >> 8) & 0xffffff) / 16777216.0f;
}

static void fill(float *x, size_t n, float lo, float hi, unsigned seed)
{
    for (size_t i = 0; i < n; i++) x[i] = frand(&seed, lo, hi);
}

static const nn_kernels *tables[2];
static const char *names[2];
static int n_tables;

static void pick(void)
{
    n_tables = 0;
    if (nn_cpu_has("avx2")) {
        tables[n_tables] = &nn_kern_avx2;
        names[n_tables++] = "avx2";
    }
    if (nn_cpu_has("avx512")) {
        tables[n_tables] = &nn_kern_avx512;
        names[n_tables++] = "avx512";
    }
}

/* |a - b| <= atol + rtol |b| for every element */
static void expect_close(const float *a, const float *b, size_t n, float atol, float rtol,
                         const char *what, const char *isa, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        bool ok = fabsf(a[i] - b[i]) <= atol + rtol * fabsf(b[i]) || (isnan(a[i]) && isnan(b[i]));
        cr_assert(ok, "%s/%s n=%zu element %zu: %.9g vs reference %.9g", isa, what, len, i, a[i],
                  b[i]);
    }
}

Test(kernels, cpu_has_at_least_one_optimised_table)
{
    pick();
    cr_assert_gt(n_tables, 0, "no AVX2 on this CPU: the optimised kernels are untested");
    cr_assert_eq(nn_kernels_pick(NN_ISA_SCALAR), &nn_kern_ref);
    cr_assert_eq(nn_kernels_pick(NN_ISA_AUTO), tables[n_tables - 1]);
}

Test(kernels, unary_match_reference)
{
    pick();
    static const char *un[] = {"relu", "sigmoid", "silu", "gelu", "tanh", "exp", "erf"};
    /* sigmoid and silu use the same operations as the reference: bit-exact */
    static const float atol[] = {0, 0, 0, 2e-6f, 2e-6f, 0, 2e-6f};
    static const float rtol[] = {0, 0, 0, 1e-5f, 1e-5f, 2e-6f, 1e-5f};
    for (int t = 0; t < n_tables; t++)
        for (int u = 0; u < NN_UN_COUNT; u++)
            for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
                size_t n = lengths[li];
                float *x = malloc(n * 4 + 4), *a = malloc(n * 4 + 4), *b = malloc(n * 4 + 4);
                float lo = u == NN_UN_EXP ? -80.0f : -12.0f, hi = u == NN_UN_EXP ? 80.0f : 12.0f;
                fill(x, n, lo, hi, 42 + (unsigned)u);
                if (n > 2) x[0] = 0.0f, x[1] = -0.0f;
                tables[t]->unary[u](x, a, n);
                nn_kern_ref.unary[u](x, b, n);
                expect_close(a, b, n, atol[u], rtol[u], un[u], names[t], n);
                /* in place gives the same */
                memcpy(a, x, n * 4);
                tables[t]->unary[u](a, a, n);
                tables[t]->unary[u](x, b, n);
                cr_assert(n == 0 || !memcmp(a, b, n * 4), "%s/%s in place differs", names[t],
                          un[u]);
                free(x);
                free(a);
                free(b);
            }
}

Test(kernels, binary_match_reference_exactly)
{
    pick();
    for (int t = 0; t < n_tables; t++)
        for (int op = 0; op < NN_BIN_COUNT; op++)
            for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
                size_t n = lengths[li];
                float *x = malloc(n * 4 + 4), *y = malloc(n * 4 + 4), *a = malloc(n * 4 + 4),
                      *b = malloc(n * 4 + 4);
                fill(x, n, -5, 5, 1);
                fill(y, n, 0.5f, 5, 2);
                tables[t]->binary[op](x, y, a, n);
                nn_kern_ref.binary[op](x, y, b, n);
                cr_assert(n == 0 || !memcmp(a, b, n * 4), "%s binary %d n=%zu", names[t], op, n);
                for (int rev = 0; rev < 2; rev++) {
                    tables[t]->binary_scalar[op](y, 1.7f, a, n, rev);
                    nn_kern_ref.binary_scalar[op](y, 1.7f, b, n, rev);
                    cr_assert(n == 0 || !memcmp(a, b, n * 4), "%s scalar %d rev %d n=%zu", names[t],
                              op, rev, n);
                }
                free(x);
                free(y);
                free(a);
                free(b);
            }
}

Test(kernels, softmax_layernorm_minmax_quantize)
{
    pick();
    for (int t = 0; t < n_tables; t++)
        for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
            size_t n = lengths[li];
            float *x = malloc(n * 4 + 4), *g = malloc(n * 4 + 4), *bb = malloc(n * 4 + 4);
            float *a = malloc(n * 4 + 4), *b = malloc(n * 4 + 4);
            fill(x, n, -20, 20, 3);
            fill(g, n, 0.5f, 2, 4);
            fill(bb, n, -1, 1, 5);
            tables[t]->softmax(x, a, n);
            nn_kern_ref.softmax(x, b, n);
            expect_close(a, b, n, 1e-7f, 1e-5f, "softmax", names[t], n);
            if (n) {
                tables[t]->layernorm(x, g, bb, a, n, 1e-5f);
                nn_kern_ref.layernorm(x, g, bb, b, n, 1e-5f);
                expect_close(a, b, n, 1e-5f, 1e-4f, "layernorm", names[t], n);
                tables[t]->layernorm(x, g, NULL, a, n, 1e-5f);
                nn_kern_ref.layernorm(x, g, NULL, b, n, 1e-5f);
                expect_close(a, b, n, 1e-5f, 1e-4f, "layernorm without bias", names[t], n);
            }
            float mn1, mx1, mn2, mx2;
            tables[t]->minmax(x, n, &mn1, &mx1);
            nn_kern_ref.minmax(x, n, &mn2, &mx2);
            cr_assert(mn1 == mn2 && mx1 == mx2, "%s minmax n=%zu", names[t], n);
            uint8_t *q1 = malloc(n + 1), *q2 = malloc(n + 1);
            tables[t]->quantize_u8(x, q1, n, 0.13f, 117);
            nn_kern_ref.quantize_u8(x, q2, n, 0.13f, 117);
            cr_assert(n == 0 || !memcmp(q1, q2, n), "%s quantize n=%zu", names[t], n);
            free(q1);
            free(q2);
            free(x);
            free(g);
            free(bb);
            free(a);
            free(b);
        }
}

Test(kernels, sgemm_matches_reference)
{
    pick();
    static const size_t dims[][3] = {{1, 1, 1},    {4, 32, 16}, {7, 49, 32},
                                     {49, 49, 32}, {5, 7, 3},   {13, 100, 17}};
    for (int t = 0; t < n_tables; t++)
        for (size_t d = 0; d < sizeof dims / sizeof *dims; d++) {
            size_t M = dims[d][0], N = dims[d][1], K = dims[d][2];
            float *A = malloc(M * K * 4), *B = malloc(K * N * 4), *C1 = malloc(M * N * 4),
                  *C2 = malloc(M * N * 4);
            fill(A, M * K, -1, 1, 6);
            fill(B, K * N, -1, 1, 7);
            tables[t]->sgemm(M, N, K, A, K, B, N, C1, N);
            nn_kern_ref.sgemm(M, N, K, A, K, B, N, C2, N);
            /* same FMA chain per element in the same order: exact */
            cr_assert(!memcmp(C1, C2, M * N * 4), "%s sgemm %zux%zux%zu", names[t], M, N, K);
            free(A);
            free(B);
            free(C1);
            free(C2);
        }
}

Test(kernels, block16_roundtrip)
{
    pick();
    static const size_t cs[] = {1, 3, 16, 17, 32, 45};
    for (int t = 0; t < n_tables; t++)
        for (size_t ci = 0; ci < sizeof cs / sizeof *cs; ci++) {
            size_t C = cs[ci], hw = 37, Cp = (C + 15) / 16 * 16;
            float *x = malloc(C * hw * 4), *b1 = malloc(Cp * hw * 4), *b2 = malloc(Cp * hw * 4),
                  *y = malloc(C * hw * 4);
            fill(x, C * hw, -1, 1, 8);
            for (size_t cb = 0; cb < Cp / 16; cb++) {
                size_t cn = C - cb * 16 < 16 ? C - cb * 16 : 16;
                tables[t]->block16(x + cb * 16 * hw, b1 + cb * 16 * hw, cn, hw);
                nn_kern_ref.block16(x + cb * 16 * hw, b2 + cb * 16 * hw, cn, hw);
            }
            cr_assert(!memcmp(b1, b2, Cp * hw * 4), "%s block16 C=%zu", names[t], C);
            for (size_t cb = 0; cb < Cp / 16; cb++) {
                size_t cn = C - cb * 16 < 16 ? C - cb * 16 : 16;
                tables[t]->unblock16(b1 + cb * 16 * hw, y + cb * 16 * hw, cn, hw);
            }
            cr_assert(!memcmp(x, y, C * hw * 4), "%s unblock16 C=%zu", names[t], C);
            free(x);
            free(b1);
            free(b2);
            free(y);
        }
}

Test(kernels, transpose_tile)
{
    pick();
    static const size_t shapes[][2] = {{16, 16}, {16, 5}, {3, 16}, {7, 9}, {1, 1}};
    float src[40 * 24], d1[24 * 40], d2[24 * 40];
    fill(src, 40 * 24, -1, 1, 9);
    for (int t = 0; t < n_tables; t++)
        for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
            size_t rows = shapes[si][0], cols = shapes[si][1];
            /* strides wider than the tile: only the tile's elements may change */
            memset(d1, 0, sizeof d1);
            memset(d2, 0, sizeof d2);
            tables[t]->transpose_tile(src + 3, 24, d1 + 1, 40, rows, cols);
            for (size_t j = 0; j < cols; j++)
                for (size_t i = 0; i < rows; i++) d2[1 + j * 40 + i] = src[3 + i * 24 + j];
            cr_assert(!memcmp(d1, d2, sizeof d1), "%s transpose_tile %zux%zu", names[t], rows,
                      cols);
        }
}
