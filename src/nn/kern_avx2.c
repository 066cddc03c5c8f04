/* The AVX2 kernel table (compiled with -mavx2 -mfma). */
#include "nn/kern.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define VEC           __m256
#define VW            8
#define VLOAD(p)      _mm256_loadu_ps(p)
#define VSTORE(p, v)  _mm256_storeu_ps((p), (v))
#define VSET1(x)      _mm256_set1_ps(x)
#define VADD          _mm256_add_ps
#define VSUB          _mm256_sub_ps
#define VMUL          _mm256_mul_ps
#define VDIV          _mm256_div_ps
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VMAX          _mm256_max_ps
#define VMIN          _mm256_min_ps
#define VROUND(x)     _mm256_round_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VI_SHL23_F(fx)   \
    _mm256_castsi256_ps( \
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23))
#define VABS(x)                _mm256_andnot_ps(_mm256_set1_ps(-0.0f), (x))
#define VNEG(x)                _mm256_xor_ps((x), _mm256_set1_ps(-0.0f))
#define VCOPYSIGN(m, s)        _mm256_or_ps(VABS(m), _mm256_and_ps((s), _mm256_set1_ps(-0.0f)))
#define VSELECT_LT(a, b, x, y) _mm256_blendv_ps((y), (x), _mm256_cmp_ps((a), (b), _CMP_LT_OQ))

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
static inline float hmax8(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
static inline float hmin8(__m256 v)
{
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
static inline void store_u8x8(uint8_t *p, __m256 v)
{
    __m256i i = _mm256_cvtps_epi32(v);
    __m128i lo = _mm256_castsi256_si128(i), hi = _mm256_extracti128_si256(i, 1);
    __m128i w = _mm_packus_epi32(lo, hi);
    __m128i b = _mm_packus_epi16(w, w);
    _mm_storel_epi64((__m128i *)p, b);
}
#define VHSUM(v)        hsum8(v)
#define VHMAX(v)        hmax8(v)
#define VHMIN(v)        hmin8(v)
#define VSTORE_U8(p, v) store_u8x8((p), (v))
static inline __m256i tail_mask(size_t n)
{
    static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(m + 8 - n));
}
#define VLOADN(p, n)     _mm256_maskload_ps((p), tail_mask(n))
#define VSTOREN(p, v, n) _mm256_maskstore_ps((p), tail_mask(n), (v))
#define PREFIX           nn_kern_avx2
#define PREFIX_NAME      "avx2"

#include "nn/kern_simd.inc"
