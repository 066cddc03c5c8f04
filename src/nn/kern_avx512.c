/* The AVX-512 kernel table (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq). */
#include "nn/kern.h"

#include <immintrin.h>
#include <math.h>

#define VEC           __m512
#define VW            16
#define VLOAD(p)      _mm512_loadu_ps(p)
#define VSTORE(p, v)  _mm512_storeu_ps((p), (v))
#define VSET1(x)      _mm512_set1_ps(x)
#define VADD          _mm512_add_ps
#define VSUB          _mm512_sub_ps
#define VMUL          _mm512_mul_ps
#define VDIV          _mm512_div_ps
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VMAX          _mm512_max_ps
#define VMIN          _mm512_min_ps
#define VROUND(x)     _mm512_roundscale_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VI_SHL23_F(fx)   \
    _mm512_castsi512_ps( \
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23))
#define VABS(x)         _mm512_abs_ps(x)
#define VNEG(x)         _mm512_xor_ps((x), _mm512_set1_ps(-0.0f))
#define VCOPYSIGN(m, s) _mm512_or_ps(_mm512_abs_ps(m), _mm512_and_ps((s), _mm512_set1_ps(-0.0f)))
#define VSELECT_LT(a, b, x, y) \
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ), (y), (x))
#define VHSUM(v) _mm512_reduce_add_ps(v)
#define VHMAX(v) _mm512_reduce_max_ps(v)
#define VHMIN(v) _mm512_reduce_min_ps(v)
#define VSTORE_U8(p, v) \
    _mm_storeu_si128((__m128i *)(p), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)))
#define VLOADN(p, n)     _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), (p))
#define VSTOREN(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1), (v))
/* A 16 x 16 tile by unpacks and lane shuffles: after the first two stages register
 * 4G + c holds, in lane L, column 4L + c of rows 4G..4G+3; the last two gather the four
 * lanes L of registers c, 4 + c, 8 + c, 12 + c into output row 4L + c. */
static void k_transpose_tile(const float *src, size_t ls, float *dst, size_t ld, size_t rows,
                             size_t cols)
{
    if (rows != 16 || cols != 16) {
        nn_ref_transpose_tile(src, ls, dst, ld, rows, cols);
        return;
    }
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + (size_t)i * ls);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int c = 0; c < 4; c++) {
        __m512 u0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44);
        __m512 u1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xee);
        __m512 v0 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44);
        __m512 v1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xee);
        t[c] = _mm512_shuffle_f32x4(u0, v0, 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(u0, v0, 0xdd);
        t[8 + c] = _mm512_shuffle_f32x4(u1, v1, 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(u1, v1, 0xdd);
    }
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + (size_t)i * ld, t[i]);
}
#define TRANSPOSE_TILE k_transpose_tile
#define PREFIX         nn_kern_avx512
#define PREFIX_NAME    "avx512"

#include "nn/kern_simd.inc"
