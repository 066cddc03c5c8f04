/* Element types: sizes, names, half-precision conversion, and Cast between any two. */
#include "nn/nn_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

size_t nn_dtype_size(nn_dtype t)
{
    switch (t) {
    case NN_F32:
    case NN_I32:
    case NN_U32:
        return 4;
    case NN_U8:
    case NN_I8:
    case NN_BOOL:
        return 1;
    case NN_U16:
    case NN_I16:
    case NN_F16:
    case NN_BF16:
        return 2;
    case NN_I64:
    case NN_F64:
    case NN_U64:
        return 8;
    case NN_STRING:
        return sizeof(char *);
    default:
        return 0;
    }
}

const char *nn_dtype_name(nn_dtype t)
{
    switch (t) {
    case NN_F32:
        return "float32";
    case NN_U8:
        return "uint8";
    case NN_I8:
        return "int8";
    case NN_U16:
        return "uint16";
    case NN_I16:
        return "int16";
    case NN_I32:
        return "int32";
    case NN_I64:
        return "int64";
    case NN_STRING:
        return "string";
    case NN_BOOL:
        return "bool";
    case NN_F16:
        return "float16";
    case NN_F64:
        return "float64";
    case NN_U32:
        return "uint32";
    case NN_U64:
        return "uint64";
    case NN_BF16:
        return "bfloat16";
    default:
        return "undefined";
    }
}

int64_t nn_shape_count(const int64_t *shape, int rank)
{
    int64_t c = 1;
    for (int i = 0; i < rank; i++) c *= shape[i];
    return c;
}

int64_t nn_tensor_count(const nn_tensor *t)
{
    return nn_shape_count(t->shape, t->rank);
}

void nn_shape_str(const int64_t *shape, int rank, char *out, size_t cap)
{
    if (cap == 0) return;
    out[0] = 0;
    if (rank < 0) {
        snprintf(out, cap, "unknown");
        return;
    }
    if (rank == 0) {
        snprintf(out, cap, "scalar");
        return;
    }
    size_t o = 0;
    for (int i = 0; i < rank && o < cap; i++) {
        if (shape[i] < 0)
            o += (size_t)snprintf(out + o, cap - o, "%s?", i ? "x" : "");
        else
            o += (size_t)snprintf(out + o, cap - o, "%s%lld", i ? "x" : "", (long long)shape[i]);
    }
}

float nn_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000 | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t nn_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffff;
    if (absx >= 0x7f800000) /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000 ? 0x200 : 0));
    if (absx >= 0x477ff000) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: inf */
    if (absx < 0x38800000) {                                  /* below the normal range */
        if (absx < 0x33000000) return (uint16_t)sign;         /* rounds to zero */
        uint32_t man = (absx & 0x7fffff) | 0x800000;
        int shift = 126 - (int)(absx >> 23); /* 14..24 */
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((absx >> 13) - ((127 - 15) << 10));
    uint32_t rem = absx & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float nn_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t nn_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40); /* quiet nan */
    uint32_t lsb = (x >> 16) & 1;
    x += 0x7fff + lsb;
    return (uint16_t)(x >> 16);
}

/* ---------------------------------------------------------------- Cast */

enum num_kind { K_FLOAT, K_SIGNED, K_UNSIGNED };

static int kind_of(nn_dtype t)
{
    switch (t) {
    case NN_F32:
    case NN_F64:
    case NN_F16:
    case NN_BF16:
        return K_FLOAT;
    case NN_I8:
    case NN_I16:
    case NN_I32:
    case NN_I64:
        return K_SIGNED;
    default:
        return K_UNSIGNED;
    }
}

static double load_f(const void *p, nn_dtype t, size_t i)
{
    switch (t) {
    case NN_F32:
        return ((const float *)p)[i];
    case NN_F64:
        return ((const double *)p)[i];
    case NN_F16:
        return nn_f16_to_f32(((const uint16_t *)p)[i]);
    case NN_BF16:
        return nn_bf16_to_f32(((const uint16_t *)p)[i]);
    default:
        return 0;
    }
}

static int64_t load_i(const void *p, nn_dtype t, size_t i)
{
    switch (t) {
    case NN_I8:
        return ((const int8_t *)p)[i];
    case NN_I16:
        return ((const int16_t *)p)[i];
    case NN_I32:
        return ((const int32_t *)p)[i];
    case NN_I64:
        return ((const int64_t *)p)[i];
    default:
        return 0;
    }
}

static uint64_t load_u(const void *p, nn_dtype t, size_t i)
{
    switch (t) {
    case NN_U8:
        return ((const uint8_t *)p)[i];
    case NN_U16:
        return ((const uint16_t *)p)[i];
    case NN_U32:
        return ((const uint32_t *)p)[i];
    case NN_U64:
        return ((const uint64_t *)p)[i];
    case NN_BOOL:
        return ((const uint8_t *)p)[i] != 0;
    default:
        return 0;
    }
}

/* Stores an integer into an integer type, wrapping as two's complement does. */
static void store_bits(void *p, nn_dtype t, size_t i, uint64_t u)
{
    switch (t) {
    case NN_I8:
    case NN_U8:
        ((uint8_t *)p)[i] = (uint8_t)u;
        break;
    case NN_I16:
    case NN_U16:
        ((uint16_t *)p)[i] = (uint16_t)u;
        break;
    case NN_I32:
    case NN_U32:
        ((uint32_t *)p)[i] = (uint32_t)u;
        break;
    case NN_I64:
    case NN_U64:
        ((uint64_t *)p)[i] = u;
        break;
    case NN_BOOL:
        ((uint8_t *)p)[i] = u != 0;
        break;
    default:
        break;
    }
}

static void store_f(void *p, nn_dtype t, size_t i, double x)
{
    switch (t) {
    case NN_F32:
        ((float *)p)[i] = (float)x;
        break;
    case NN_F64:
        ((double *)p)[i] = x;
        break;
    case NN_F16:
        ((uint16_t *)p)[i] = nn_f32_to_f16((float)x);
        break;
    case NN_BF16:
        ((uint16_t *)p)[i] = nn_f32_to_bf16((float)x);
        break;
    case NN_BOOL:
        ((uint8_t *)p)[i] = x != 0;
        break;
    default: {
        /* float to integer: truncate toward zero, saturating (ONNX leaves overflow
         * undefined; C makes it undefined behaviour, so clamp first) */
        double lo, hi;
        switch (t) {
        case NN_I8:
            lo = -128, hi = 127;
            break;
        case NN_I16:
            lo = -32768, hi = 32767;
            break;
        case NN_I32:
            lo = -2147483648.0, hi = 2147483647.0;
            break;
        case NN_I64:
            lo = -9223372036854775808.0, hi = 9223372036854774784.0;
            break;
        case NN_U8:
            lo = 0, hi = 255;
            break;
        case NN_U16:
            lo = 0, hi = 65535;
            break;
        case NN_U32:
            lo = 0, hi = 4294967295.0;
            break;
        default:
            lo = 0, hi = 18446744073709549568.0;
            break;
        }
        if (x != x) x = 0;
        x = x < lo ? lo : x > hi ? hi : x;
        if (kind_of(t) == K_SIGNED)
            store_bits(p, t, i, (uint64_t)(int64_t)x);
        else
            store_bits(p, t, i, (uint64_t)x);
    }
    }
}

bool nn_convert(const void *src, nn_dtype st, void *dst, nn_dtype dt, size_t n)
{
    if (st == NN_STRING || dt == NN_STRING || !nn_dtype_size(st) || !nn_dtype_size(dt))
        return false;
    if (st == dt) {
        memmove(dst, src, n * nn_dtype_size(st));
        return true;
    }
    /* the common fast cases */
    if (st == NN_I32 && dt == NN_F32) {
        for (size_t i = 0; i < n; i++) ((float *)dst)[i] = (float)((const int32_t *)src)[i];
        return true;
    }
    if (st == NN_I64 && dt == NN_F32) {
        for (size_t i = 0; i < n; i++) ((float *)dst)[i] = (float)((const int64_t *)src)[i];
        return true;
    }
    if (st == NN_U8 && dt == NN_F32) {
        for (size_t i = 0; i < n; i++) ((float *)dst)[i] = ((const uint8_t *)src)[i];
        return true;
    }
    if (st == NN_I32 && dt == NN_I64) {
        for (size_t i = 0; i < n; i++) ((int64_t *)dst)[i] = ((const int32_t *)src)[i];
        return true;
    }
    if (st == NN_I64 && dt == NN_I32) {
        for (size_t i = 0; i < n; i++) ((int32_t *)dst)[i] = (int32_t)((const int64_t *)src)[i];
        return true;
    }
    int sk = kind_of(st), dk = kind_of(dt);
    if (dt == NN_BOOL) {
        for (size_t i = 0; i < n; i++) {
            bool b = sk == K_FLOAT    ? load_f(src, st, i) != 0
                     : sk == K_SIGNED ? load_i(src, st, i) != 0
                                      : load_u(src, st, i) != 0;
            ((uint8_t *)dst)[i] = b;
        }
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (sk == K_FLOAT) {
            store_f(dst, dt, i, load_f(src, st, i));
        } else if (dk == K_FLOAT) {
            double x = sk == K_SIGNED ? (double)load_i(src, st, i) : (double)load_u(src, st, i);
            store_f(dst, dt, i, x);
        } else {
            uint64_t u = sk == K_SIGNED ? (uint64_t)load_i(src, st, i) : load_u(src, st, i);
            store_bits(dst, dt, i, u);
        }
    }
    return true;
}

char **nn_strings_pack(const char *const *src, const size_t *lens, int64_t n)
{
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) total += lens[i] + 1;
    char **p = xmalloc((size_t)(n + 1) * sizeof *p + total + 1);
    char *pool = (char *)(p + n + 1);
    for (int64_t i = 0; i < n; i++) {
        memcpy(pool, src[i], lens[i]);
        pool[lens[i]] = 0;
        p[i] = pool;
        pool += lens[i] + 1;
    }
    p[n] = NULL;
    return p;
}
