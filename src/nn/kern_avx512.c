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
#define PREFIX           nn_kern_avx512
#define PREFIX_NAME      "avx512"

#include "nn/kern_simd.inc"
