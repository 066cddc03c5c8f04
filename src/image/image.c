/* The image type, colour conversion, orientation and tensors. */
#include "image/image.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The struct and its pixels live in one allocation (img_free is one free()), the pixels
 * 64-byte aligned so that vector loops over rows start aligned. */
static img *alloc_image(int w, int h, int channels, bool zero)
{
    assert(w > 0 && h > 0 && channels >= 1 && channels <= 4);
    size_t stride = (size_t)w * (size_t)channels;
    size_t bytes = stride * (size_t)h;
    uint8_t *block = xmalloc(sizeof(img) + 64 + bytes);
    img *im = (img *)block;
    uintptr_t p = (uintptr_t)(block + sizeof(img));
    im->w = w;
    im->h = h;
    im->channels = channels;
    im->stride = stride;
    im->data = (uint8_t *)((p + 63) & ~(uintptr_t)63);
    im->owned = true;
    if (zero) memset(im->data, 0, bytes);
    return im;
}

img *img_new(int w, int h, int channels)
{
    return alloc_image(w, h, channels, false);
}

img *img_new_zero(int w, int h, int channels)
{
    return alloc_image(w, h, channels, true);
}

void img_free(img *im)
{
    if (!im) return;
    assert(im->owned && "img_free on a view");
    free(im);
}

img img_view(uint8_t *data, int w, int h, int channels, size_t stride)
{
    assert(w > 0 && h > 0 && channels >= 1 && channels <= 4);
    assert(stride >= (size_t)w * (size_t)channels);
    return (img){.w = w, .h = h, .channels = channels, .stride = stride, .data = data};
}

img img_sub(const img *im, int x, int y, int w, int h)
{
    assert(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= im->w && y + h <= im->h);
    return img_view(img_px(im, x, y), w, h, im->channels, im->stride);
}

img *img_clone(const img *im)
{
    img *out = img_new(im->w, im->h, im->channels);
    size_t row = (size_t)im->w * (size_t)im->channels;
    for (int y = 0; y < im->h; y++) memcpy(img_px(out, 0, y), img_px(im, 0, y), row);
    return out;
}

img *img_to_gray(const img *src)
{
    if (src->channels == 1) return img_clone(src);
    assert(src->channels >= 3);
    img *out = img_new(src->w, src->h, 1);
    int cn = src->channels;
    for (int y = 0; y < src->h; y++) {
        const uint8_t *s = img_px(src, 0, y);
        uint8_t *d = img_px(out, 0, y);
        /* OpenCV 4's RGB2Gray<uchar>: 0.299/0.587/0.114 in 15-bit fixed point. */
        for (int x = 0; x < src->w; x++, s += cn)
            d[x] = (uint8_t)((s[0] * 9798 + s[1] * 19235 + s[2] * 3735 + (1 << 14)) >> 15);
    }
    return out;
}

img *img_to_rgb(const img *src)
{
    img *out = img_new(src->w, src->h, 3);
    int cn = src->channels;
    for (int y = 0; y < src->h; y++) {
        const uint8_t *s = img_px(src, 0, y);
        uint8_t *d = img_px(out, 0, y);
        for (int x = 0; x < src->w; x++, s += cn, d += 3) {
            if (cn == 1) {
                d[0] = d[1] = d[2] = s[0];
            } else {
                d[0] = s[0];
                d[1] = s[1];
                d[2] = s[2];
            }
        }
    }
    return out;
}

/* For each upright pixel (x, y), where it is stored. Orientation values follow EXIF
 * (TIFF 6.0): 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 stored rotated 90° CCW
 * (shown by turning it clockwise), 7 transverse, 8 stored rotated 90° CW. */
static void stored_coords(int o, int sw, int sh, int x, int y, int *sx, int *sy)
{
    switch (o) {
    case 2:
        *sx = sw - 1 - x, *sy = y;
        break;
    case 3:
        *sx = sw - 1 - x, *sy = sh - 1 - y;
        break;
    case 4:
        *sx = x, *sy = sh - 1 - y;
        break;
    case 5:
        *sx = y, *sy = x;
        break;
    case 6:
        *sx = y, *sy = sh - 1 - x;
        break;
    case 7:
        *sx = sw - 1 - y, *sy = sh - 1 - x;
        break;
    case 8:
        *sx = sw - 1 - y, *sy = x;
        break;
    default:
        *sx = x, *sy = y;
        break;
    }
}

img *img_orient(const img *src, int o)
{
    if (o < 2 || o > 8) return img_clone(src);
    bool swap = o >= 5;
    int w = swap ? src->h : src->w, h = swap ? src->w : src->h;
    int cn = src->channels;
    img *out = img_new(w, h, cn);
    for (int y = 0; y < h; y++) {
        uint8_t *d = img_px(out, 0, y);
        /* Along an upright row the stored position moves by a constant step, so compute
         * the first one and walk. */
        int sx0, sy0, sx1, sy1;
        stored_coords(o, src->w, src->h, 0, y, &sx0, &sy0);
        if (w > 1) {
            stored_coords(o, src->w, src->h, 1, y, &sx1, &sy1);
        } else {
            sx1 = sx0, sy1 = sy0;
        }
        ptrdiff_t step = (ptrdiff_t)(sy1 - sy0) * (ptrdiff_t)src->stride + (sx1 - sx0) * cn;
        const uint8_t *s = img_px(src, sx0, sy0);
        for (int x = 0; x < w; x++, d += cn, s += step) memcpy(d, s, (size_t)cn);
    }
    return out;
}

img_tensor_params img_tensor_default_params(void)
{
    return (img_tensor_params){.mean = {0, 0, 0}, .std = {255, 255, 255}, .bgr = false, .pad = 0};
}

img_tensor_params img_tensor_sam_params(void)
{
    return (img_tensor_params){.mean = {123.675f, 116.28f, 103.53f},
                               .std = {58.395f, 57.12f, 57.375f},
                               .bgr = false,
                               .pad = 0};
}

void img_to_tensor(const img *src, float *dst, int dst_w, int dst_h, const img_tensor_params *p)
{
    assert(src->channels == 1 || src->channels == 3);
    assert(dst_w >= src->w && dst_h >= src->h);
    size_t plane = (size_t)dst_w * (size_t)dst_h;
    int cn = src->channels;
    for (int c = 0; c < 3; c++) {
        int sc = cn == 1 ? 0 : (p->bgr ? 2 - c : c);
        float mean = p->mean[c], std = p->std[c];
        /* A table of the 256 possible outputs computed with the same float operation
         * as the reference ((x - mean) / std), then looked up per pixel. */
        float lut[256];
        for (int v = 0; v < 256; v++) lut[v] = ((float)v - mean) / std;
        float *out = dst + (size_t)c * plane;
        for (int y = 0; y < src->h; y++) {
            const uint8_t *s = img_px(src, 0, y) + sc;
            float *d = out + (size_t)y * (size_t)dst_w;
            for (int x = 0; x < src->w; x++) d[x] = lut[s[(size_t)x * (size_t)cn]];
            for (int x = src->w; x < dst_w; x++) d[x] = p->pad;
        }
        for (int y = src->h; y < dst_h; y++) {
            float *d = out + (size_t)y * (size_t)dst_w;
            for (int x = 0; x < dst_w; x++) d[x] = p->pad;
        }
    }
}
