/* Decoding: the shared photos, orientation, limits and broken files. */
#include "helpers.h"

#include <spng.h>
#include <turbojpeg.h>
#include <webp/encode.h>
#include <webp/mux.h>

/* ---------------------------------------------------------------- the shared photos */

/* Sizes from the data README; the byte sums and sample pixels are what Pillow 9.4
 * (Image.open(p).convert("RGB")) decodes from the same files. */
/* clang-format off */
static const struct {
    const char *name;
    img_format format;
    int w, h;
    unsigned long long sum;
    uint8_t centre[3], first[3], last[3];
} photos[] = {
    {"bedroom-chevron-curtains.jpg", IMG_FORMAT_JPEG, 736, 1245, 323224159ull,
     {153, 116, 48}, {98, 87, 65}, {69, 70, 54}},
    {"bedroom-render.png", IMG_FORMAT_PNG, 1536, 1024, 504022253ull,
     {86, 78, 71}, {56, 39, 23}, {191, 164, 147}},
    {"bedroom-wardrobe.webp", IMG_FORMAT_WEBP, 1500, 1125, 487829204ull,
     {158, 101, 58}, {91, 84, 75}, {16, 16, 20}},
    {"dog-bicycle-truck.jpg", IMG_FORMAT_JPEG, 768, 576, 169954419ull,
     {119, 6, 10}, {57, 58, 50}, {50, 39, 35}},
    {"person-dog-horse.jpg", IMG_FORMAT_JPEG, 640, 424, 130624895ull,
     {173, 155, 115}, {191, 203, 241}, {165, 145, 120}},
};
/* clang-format on */

static void assert_px(const img *im, int x, int y, const uint8_t want[3], const char *name)
{
    const uint8_t *p = img_px(im, x, y);
    cr_assert(p[0] == want[0] && p[1] == want[1] && p[2] == want[2],
              "%s (%d,%d): got %d,%d,%d want %d,%d,%d", name, x, y, p[0], p[1], p[2], want[0],
              want[1], want[2]);
}

Test(decode, shared_photos_match_pillow)
{
    for (size_t i = 0; i < ARRAY_LEN(photos); i++) {
        size_t len;
        unsigned char *d = read_photo(photos[i].name, &len);
        cr_assert_eq(img_detect_format(d, len), photos[i].format, "%s", photos[i].name);
        err e = {0};
        img_info info;
        img *im = img_decode(d, len, NULL, &info, &e);
        cr_assert_not_null(im, "%s: %s", photos[i].name, e.msg);
        cr_assert_eq(im->w, photos[i].w, "%s", photos[i].name);
        cr_assert_eq(im->h, photos[i].h, "%s", photos[i].name);
        cr_assert_eq(im->channels, 3);
        cr_assert_eq(info.format, photos[i].format);
        cr_assert_eq(info.orientation, 1);
        cr_assert_eq(info.scale, 1.0);
        unsigned long long sum = 0;
        for (int y = 0; y < im->h; y++)
            for (int x = 0; x < im->w * 3; x++) sum += img_px(im, 0, y)[x];
        cr_assert_eq(sum, photos[i].sum, "%s: byte sum %llu", photos[i].name, sum);
        assert_px(im, im->w / 2, im->h / 2, photos[i].centre, photos[i].name);
        assert_px(im, 0, 0, photos[i].first, photos[i].name);
        assert_px(im, im->w - 1, im->h - 1, photos[i].last, photos[i].name);
        img_free(im);
        free(d);
    }
}

Test(decode, progressive_jpeg)
{
    size_t len;
    unsigned char *d = read_photo("bedroom-chevron-curtains.jpg", &len);
    /* It is progressive: its frame header is SOF2 (FF C2), and there is no SOF0. */
    bool sof2 = false, sof0 = false;
    for (size_t i = 0; i + 1 < len && i < 4096; i++) {
        sof2 |= d[i] == 0xFF && d[i + 1] == 0xC2;
        sof0 |= d[i] == 0xFF && d[i + 1] == 0xC0;
    }
    cr_assert(sof2 && !sof0);
    free(d);

    /* And one made here: a progressive encode decodes to the same picture as a baseline
     * encode of the same pixels (both lossless-ish at quality 100, 4:4:4). */
    img *src = img_new(64, 48, 3);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = img_px(src, x, y);
            p[0] = (uint8_t)(x * 4), p[1] = (uint8_t)(y * 5), p[2] = (uint8_t)((x + y) * 2);
        }
    /* One handle each: TurboJPEG 2.1 keeps the progressive scan script in a handle, so
     * a baseline encode on the same handle afterwards comes out broken. */
    unsigned char *prog = NULL, *base = NULL;
    unsigned long plen = 0, blen = 0;
    tjhandle tj = tjInitCompress();
    cr_assert_eq(tjCompress2(tj, src->data, 64, (int)src->stride, 48, TJPF_RGB, &prog, &plen,
                             TJSAMP_444, 100, TJFLAG_PROGRESSIVE),
                 0);
    tjDestroy(tj);
    tj = tjInitCompress();
    cr_assert_eq(tjCompress2(tj, src->data, 64, (int)src->stride, 48, TJPF_RGB, &base, &blen,
                             TJSAMP_444, 100, 0),
                 0);
    tjDestroy(tj);
    err e = {0};
    img *a = img_decode(prog, plen, NULL, NULL, &e);
    cr_assert_not_null(a, "%s", e.msg);
    img *b = img_decode(base, blen, NULL, NULL, &e);
    cr_assert_not_null(b, "%s", e.msg);
    cr_assert_lt(mean_abs_diff(a, b), 0.5);
    cr_assert_lt(mean_abs_diff(a, src), 1.5);
    img_free(a);
    img_free(b);
    img_free(src);
    tjFree(prog);
    tjFree(base);
}

/* ---------------------------------------------------------------- orientation */

/* A 3 x 2 grid of 16-pixel grey blocks, stored as
 *     A B C
 *     D E F
 * with A..F = 20, 60, 100, 140, 180, 220 (far apart, so JPEG loss cannot confuse them). */
static const int block_value[6] = {20, 60, 100, 140, 180, 220};

static img *grid_image(void)
{
    img *im = img_new(48, 32, 3);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 48; x++) {
            uint8_t v = (uint8_t)block_value[(y / 16) * 3 + x / 16];
            uint8_t *p = img_px(im, x, y);
            p[0] = p[1] = p[2] = v;
        }
    return im;
}

/* The upright layout for each orientation, from the EXIF specification's description of
 * where the stored 0th row and 0th column go (letters are indices 0..5 = A..F). */
static const struct {
    int cols, rows;
    int cell[6];
} upright[9] = {
    [1] = {3, 2, {0, 1, 2, 3, 4, 5}}, /* A B C / D E F */
    [2] = {3, 2, {2, 1, 0, 5, 4, 3}}, /* mirrored: C B A / F E D */
    [3] = {3, 2, {5, 4, 3, 2, 1, 0}}, /* rotated 180 */
    [4] = {3, 2, {3, 4, 5, 0, 1, 2}}, /* flipped */
    [5] = {2, 3, {0, 3, 1, 4, 2, 5}}, /* transposed: A D / B E / C F */
    [6] = {2, 3, {3, 0, 4, 1, 5, 2}}, /* turned clockwise: D A / E B / F C */
    [7] = {2, 3, {5, 2, 4, 1, 3, 0}}, /* transverse: F C / E B / D A */
    [8] = {2, 3, {2, 5, 1, 4, 0, 3}}, /* turned anticlockwise: C F / B E / A D */
};

static void assert_upright(const img *im, int o)
{
    cr_assert_eq(im->w, upright[o].cols * 16, "orientation %d: width %d", o, im->w);
    cr_assert_eq(im->h, upright[o].rows * 16, "orientation %d: height %d", o, im->h);
    for (int r = 0; r < upright[o].rows; r++)
        for (int c = 0; c < upright[o].cols; c++) {
            int want = block_value[upright[o].cell[r * upright[o].cols + c]];
            int got = img_px(im, c * 16 + 8, r * 16 + 8)[0];
            cr_assert(abs(got - want) <= 6, "orientation %d block (%d,%d): %d, want %d", o, c, r,
                      got, want);
        }
}

Test(decode, jpeg_exif_orientation_all_eight)
{
    img *grid = grid_image();
    err e = {0};
    size_t jlen;
    unsigned char *jpeg = img_encode_jpeg(grid, 95, &jlen, &e);
    cr_assert_not_null(jpeg);
    for (int big = 0; big < 2; big++)
        for (int o = 1; o <= 8; o++) {
            size_t len;
            unsigned char *f = jpeg_with_orientation(jpeg, jlen, o, big, &len);
            img_info info;
            img *im = img_decode(f, len, NULL, &info, &e);
            cr_assert_not_null(im, "%s", e.msg);
            cr_assert_eq(info.orientation, o, "%s-endian EXIF", big ? "big" : "little");
            cr_assert_eq(info.stored_w, 48);
            cr_assert_eq(info.w, im->w);
            assert_upright(im, o);
            img_free(im);

            /* Ignoring the tag gives the stored layout. */
            img_decode_params p = img_decode_default_params();
            p.apply_orientation = false;
            im = img_decode(f, len, &p, &info, &e);
            cr_assert_eq(info.orientation, 1);
            assert_upright(im, 1);
            img_free(im);
            free(f);
        }
    free(jpeg);
    img_free(grid);
}

Test(decode, jpeg_bad_orientation_values_are_ignored)
{
    img *grid = grid_image();
    err e = {0};
    size_t jlen;
    unsigned char *jpeg = img_encode_jpeg(grid, 95, &jlen, &e);
    const int bad[] = {0, 9, 255};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        size_t len;
        unsigned char *f = jpeg_with_orientation(jpeg, jlen, bad[i], false, &len);
        img_info info;
        img *im = img_decode(f, len, NULL, &info, &e);
        cr_assert_not_null(im);
        cr_assert_eq(info.orientation, 1);
        assert_upright(im, 1);
        img_free(im);
        free(f);
    }
    free(jpeg);
    img_free(grid);
}

Test(decode, png_exif_orientation)
{
    img *grid = grid_image();
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    struct spng_ihdr ihdr = {.width = 48, .height = 32, .bit_depth = 8, .color_type = 2};
    spng_set_ihdr(ctx, &ihdr);
    unsigned char tiff[26];
    struct spng_exif ex = {.length = tiff_orientation(tiff, 6), .data = (char *)tiff};
    cr_assert_eq(spng_set_exif(ctx, &ex), 0);
    cr_assert_eq(
        spng_encode_image(ctx, grid->data, 48 * 32 * 3, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE), 0);
    size_t len;
    int r;
    unsigned char *png = spng_get_png_buffer(ctx, &len, &r);
    spng_ctx_free(ctx);
    cr_assert_not_null(png);
    err e = {0};
    img_info info;
    img *im = img_decode(png, len, NULL, &info, &e);
    cr_assert_not_null(im, "%s", e.msg);
    cr_assert_eq(info.orientation, 6);
    assert_upright(im, 6);
    cr_assert_eq(img_probe(png, len, NULL, &info, &e), 0);
    cr_assert_eq(info.w, 32);
    cr_assert_eq(info.h, 48);
    img_free(im);
    free(png);
    img_free(grid);
}

Test(decode, webp_exif_orientation)
{
    img *grid = grid_image();
    uint8_t *webp = NULL;
    size_t wlen = WebPEncodeLosslessRGB(grid->data, 48, 32, (int)grid->stride, &webp);
    cr_assert_gt(wlen, 0);
    unsigned char tiff[26];
    tiff_orientation(tiff, 8);
    WebPData in = {webp, wlen}, exif = {tiff, sizeof tiff}, out = {0};
    WebPMux *mux = WebPMuxCreate(&in, 1);
    cr_assert_not_null(mux);
    cr_assert_eq(WebPMuxSetChunk(mux, "EXIF", &exif, 1), WEBP_MUX_OK);
    cr_assert_eq(WebPMuxAssemble(mux, &out), WEBP_MUX_OK);
    WebPMuxDelete(mux);
    err e = {0};
    img_info info;
    img *im = img_decode(out.bytes, out.size, NULL, &info, &e);
    cr_assert_not_null(im, "%s", e.msg);
    cr_assert_eq(info.format, IMG_FORMAT_WEBP);
    cr_assert_eq(info.orientation, 8);
    assert_upright(im, 8);
    img_free(im);
    WebPDataClear(&out);
    WebPFree(webp);
    img_free(grid);
}

/* ---------------------------------------------------------------- limits */

Test(decode, png_bomb_header_is_refused_before_allocation)
{
    unsigned char h[33];
    size_t n = png_header_only(h, 20000, 20000);
    err e = {0};
    img *im = img_decode(h, n, NULL, NULL, &e);
    cr_assert_null(im);
    cr_assert_eq(e.status, 413);
    cr_assert_str_eq(e.msg, "image too large: 20000×20000 pixels exceeds the 50 megapixel limit");
    img_info info;
    cr_assert_eq(img_probe(h, n, NULL, &info, &e), -1);
    cr_assert_eq(e.status, 413);
}

Test(decode, jpeg_bomb_header_is_refused)
{
    /* A real JPEG whose frame header is rewritten to claim 20000 x 20000. */
    img *small = img_new_zero(16, 16, 3);
    err e = {0};
    size_t len;
    unsigned char *j = img_encode_jpeg(small, 85, &len, &e);
    size_t i = 2;
    while (!(j[i] == 0xFF && j[i + 1] == 0xC0)) i++;
    j[i + 5] = 20000 >> 8, j[i + 6] = 20000 & 0xFF; /* height */
    j[i + 7] = 20000 >> 8, j[i + 8] = 20000 & 0xFF; /* width */
    cr_assert_null(img_decode(j, len, NULL, NULL, &e));
    cr_assert_eq(e.status, 413);
    cr_assert_str_eq(e.msg, "image too large: 20000×20000 pixels exceeds the 50 megapixel limit");
    free(j);
    img_free(small);
}

Test(decode, webp_bomb_header_is_refused)
{
    /* A lossy WebP whose VP8 frame header is rewritten to 16383 x 16383 (268 MP). */
    img *small = img_new_zero(16, 16, 3);
    uint8_t *w = NULL;
    size_t len = WebPEncodeRGB(small->data, 16, 16, (int)small->stride, 80, &w);
    cr_assert_gt(len, 30);
    cr_assert(memcmp(w + 12, "VP8 ", 4) == 0);
    /* Chunk payload: 3-byte frame tag, start code 9d 01 2a, then 14-bit sizes. */
    cr_assert(w[23] == 0x9d && w[24] == 0x01 && w[25] == 0x2a);
    w[26] = 0xFF, w[27] = 0x3F, w[28] = 0xFF, w[29] = 0x3F;
    err e = {0};
    cr_assert_null(img_decode(w, len, NULL, NULL, &e));
    cr_assert_eq(e.status, 413);
    cr_assert_str_eq(e.msg, "image too large: 16383×16383 pixels exceeds the 50 megapixel limit");
    WebPFree(w);
    img_free(small);
}

Test(decode, pixel_limit_is_configurable)
{
    img *im = img_new_zero(40, 30, 3);
    err e = {0};
    size_t len;
    unsigned char *png = img_encode_png(im, 1, &len, &e);
    img_decode_params p = img_decode_default_params();
    p.max_pixels = 1199;
    cr_assert_null(img_decode(png, len, &p, NULL, &e));
    cr_assert_eq(e.status, 413);
    cr_assert_str_eq(e.msg, "image too large: 40×30 pixels exceeds the 1199 pixel limit");
    p.max_pixels = 1200;
    img *ok = img_decode(png, len, &p, NULL, &e);
    cr_assert_not_null(ok);
    img_free(ok);
    free(png);
    img_free(im);
}

/* ---------------------------------------------------------------- broken files */

static void assert_refused(const void *d, size_t n, int status, const char *prefix)
{
    err e = {0};
    img *im = img_decode(d, n, NULL, NULL, &e);
    cr_assert_null(im, "decoded what should be refused (%s)", prefix);
    cr_assert_eq(e.status, status, "status %d: %s", e.status, e.msg);
    cr_assert(strncmp(e.msg, prefix, strlen(prefix)) == 0, "message '%s', want '%s...'", e.msg,
              prefix);
}

Test(decode, truncated_photos)
{
    static const struct {
        const char *name, *msg;
    } t[] = {
        {"dog-bicycle-truck.jpg", "truncated JPEG: the data ends before the image does"},
        {"bedroom-chevron-curtains.jpg", "truncated JPEG: the data ends before the image does"},
        {"bedroom-render.png", "truncated PNG: the data ends before the image does"},
        {"bedroom-wardrobe.webp", "truncated WebP: the data ends before the image does"},
    };
    for (size_t i = 0; i < ARRAY_LEN(t); i++) {
        size_t len;
        unsigned char *d = read_photo(t[i].name, &len);
        assert_refused(d, len / 2, 422, t[i].msg);
        assert_refused(d, len - 1000, 422, t[i].msg);
        free(d);
    }
}

Test(decode, truncated_headers)
{
    size_t len;
    unsigned char *d = read_photo("dog-bicycle-truck.jpg", &len);
    assert_refused(d, 100, 422, "truncated JPEG: the data ends inside its headers");
    assert_refused(d, 3, 422, "truncated JPEG");
    free(d);
    unsigned char h[33];
    png_header_only(h, 10, 10);
    assert_refused(h, 20, 422, "truncated PNG");
    /* A complete header and no image data at all. */
    assert_refused(h, 33, 422, "truncated PNG");
    assert_refused("RIFF\x10\0\0\0WEBPVP8 ", 16, 422, "truncated WebP");
}

Test(decode, empty_png)
{
    unsigned char h[33];
    size_t n = png_header_only(h, 0, 0);
    assert_refused(h, n, 422, "image is empty: 0×0 pixels");
    n = png_header_only(h, 5, 0);
    assert_refused(h, n, 422, "image is empty: 5×0 pixels");
}

Test(decode, not_images)
{
    assert_refused("", 0, 400, "empty image: no bytes");
    assert_refused(NULL, 0, 400, "empty image: no bytes");
    assert_refused("hello, world", 12, 415, "not an image: expected JPEG, PNG or WebP");
    unsigned char noise[4096];
    unsigned s = 12345;
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (unsigned char)((s = s * 1103515245u + 12345u) >> 16);
    noise[0] = 0;
    assert_refused(noise, sizeof noise, 415, "not an image: expected JPEG, PNG or WebP");
    assert_refused("GIF89a\x01\0\x01\0", 10, 415,
                   "unsupported image format GIF: expected JPEG, PNG or WebP");
    assert_refused("\0\0\0\x1c"
                   "ftypheic\0\0\0\0",
                   16, 415, "unsupported image format HEIC");
    /* Right magic, then garbage. */
    unsigned char j[64] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00};
    for (size_t i = 8; i < sizeof j; i++) j[i] = (unsigned char)(i * 37);
    err e = {0};
    cr_assert_null(img_decode(j, sizeof j, NULL, NULL, &e));
    cr_assert_eq(e.status, 422, "%s", e.msg);
}

Test(decode, corrupt_png_crc)
{
    img *im = img_new_zero(8, 8, 3);
    err e = {0};
    size_t len;
    unsigned char *png = img_encode_png(im, 6, &len, &e);
    /* Flip a byte inside the IDAT payload: its CRC no longer matches. */
    size_t i = 8;
    while (memcmp(png + i + 4, "IDAT", 4) != 0)
        i += 12 + ((size_t)png[i] << 24 | png[i + 1] << 16 | png[i + 2] << 8 | png[i + 3]);
    png[i + 9] ^= 0x55;
    assert_refused(png, len, 422, "corrupt PNG: ");
    free(png);
    img_free(im);
}

/* ---------------------------------------------------------------- formats and scaling */

Test(decode, png_pixel_formats_become_rgb)
{
    /* 16-bit grey, palette, grey + alpha, RGBA: all come out as 8-bit RGB, alpha dropped. */
    static const struct {
        int color_type, depth, bytes;
    } f[] = {{0, 16, 2}, {3, 8, 1}, {4, 8, 2}, {6, 8, 4}};
    for (size_t k = 0; k < ARRAY_LEN(f); k++) {
        unsigned char raw[4 * 3 * 4];
        for (int i = 0; i < 12; i++) {
            unsigned char *p = raw + i * f[k].bytes;
            if (f[k].color_type == 0) { /* 16-bit samples in host order for SPNG_FMT_PNG */
                uint16_t v = (uint16_t)(i * 20 << 8 | 0x7F);
                memcpy(p, &v, 2);
            }
            if (f[k].color_type == 3) p[0] = (unsigned char)(i % 3);
            if (f[k].color_type == 4) p[0] = (unsigned char)(i * 20), p[1] = 10;
            if (f[k].color_type == 6) p[0] = (unsigned char)(i * 20), p[1] = 1, p[2] = 2, p[3] = 0;
        }
        spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
        spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
        struct spng_ihdr ihdr = {.width = 4,
                                 .height = 3,
                                 .bit_depth = (uint8_t)f[k].depth,
                                 .color_type = (uint8_t)f[k].color_type};
        spng_set_ihdr(ctx, &ihdr);
        if (f[k].color_type == 3) {
            struct spng_plte plte = {.n_entries = 3};
            plte.entries[1] = (struct spng_plte_entry){200, 100, 50, 255};
            plte.entries[2] = (struct spng_plte_entry){1, 2, 3, 255};
            spng_set_plte(ctx, &plte);
        }
        cr_assert_eq(spng_encode_image(ctx, raw, 12 * (size_t)f[k].bytes, SPNG_FMT_PNG,
                                       SPNG_ENCODE_FINALIZE),
                     0);
        size_t len;
        int r;
        unsigned char *png = spng_get_png_buffer(ctx, &len, &r);
        spng_ctx_free(ctx);
        err e = {0};
        img *im = img_decode(png, len, NULL, NULL, &e);
        cr_assert_not_null(im, "colour type %d: %s", f[k].color_type, e.msg);
        cr_assert_eq(im->channels, 3);
        for (int i = 0; i < 12; i++) {
            const uint8_t *p = img_px(im, i % 4, i / 4);
            uint8_t want[3];
            if (f[k].color_type == 0 || f[k].color_type == 4)
                want[0] = want[1] = want[2] = (uint8_t)(i * 20);
            else if (f[k].color_type == 3)
                memcpy(want, (uint8_t[3][3]){{0, 0, 0}, {200, 100, 50}, {1, 2, 3}}[i % 3], 3);
            else
                want[0] = (uint8_t)(i * 20), want[1] = 1, want[2] = 2;
            cr_assert(memcmp(p, want, 3) == 0, "type %d pixel %d: %d,%d,%d", f[k].color_type, i,
                      p[0], p[1], p[2]);
        }
        img_free(im);
        free(png);
    }
}

Test(decode, grey_jpeg_becomes_rgb)
{
    img *g = img_new(32, 16, 1);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 32; x++) *img_px(g, x, y) = (uint8_t)(x * 8);
    err e = {0};
    size_t len;
    unsigned char *j = img_encode_jpeg(g, 95, &len, &e);
    img *im = img_decode(j, len, NULL, NULL, &e);
    cr_assert_not_null(im, "%s", e.msg);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 32; x++) {
            const uint8_t *p = img_px(im, x, y);
            cr_assert(p[0] == p[1] && p[1] == p[2]);
            cr_assert(abs(p[0] - x * 8) <= 4);
        }
    img_free(im);
    free(j);
    img_free(g);
}

Test(decode, large_jpeg_is_decoded_scaled_for_a_small_target)
{
    img *big = img_new(1600, 1200, 3);
    for (int y = 0; y < 1200; y++)
        for (int x = 0; x < 1600; x++) {
            uint8_t *p = img_px(big, x, y);
            p[0] = (uint8_t)(x / 7), p[1] = (uint8_t)(y / 5), p[2] = 128;
        }
    err e = {0};
    size_t len;
    unsigned char *j = img_encode_jpeg(big, 85, &len, &e);
    img_decode_params p = img_decode_default_params();
    p.fit_w = p.fit_h = 200; /* fitted: 200 x 150; twice that is 400 x 300: 1/4 */
    img_info info;
    img *im = img_decode(j, len, &p, &info, &e);
    cr_assert_not_null(im, "%s", e.msg);
    cr_assert_eq(im->w, 400);
    cr_assert_eq(im->h, 300);
    cr_assert_eq(info.scale, 0.25);
    cr_assert_eq(info.w, 1600);
    cr_assert_eq(info.h, 1200);
    /* The same picture: pixel (x, y) of the scaled decode is the block around
     * (4x + 2, 4y + 2) of the original. */
    const uint8_t *q = img_px(im, 100, 200);
    cr_assert(abs(q[0] - 402 / 7) <= 3 && abs(q[1] - 802 / 5) <= 3, "%d %d", q[0], q[1]);
    img_free(im);

    p.fit_margin = 1.0; /* 200 x 150 itself: 1/8 */
    im = img_decode(j, len, &p, &info, &e);
    cr_assert_eq(im->w, 200);
    cr_assert_eq(info.scale, 0.125);
    img_free(im);

    p.fit_margin = 2.0;
    p.fit_w = p.fit_h = 1000; /* 1000 x 750, twice is more than the photo: full size */
    im = img_decode(j, len, &p, &info, &e);
    cr_assert_eq(im->w, 1600);
    cr_assert_eq(info.scale, 1.0);
    img_free(im);
    free(j);
    img_free(big);
}

Test(decode, scaled_decode_respects_orientation)
{
    /* Stored 1600 x 800 with orientation 6: upright 800 x 1600. Fitted into 100 x 400 it
     * is 100 x 200; twice that, stored, is 400 x 200: decoded at 1/4. Fitting the stored
     * size instead (the bug this guards against) would pick 1/8. */
    img *big = img_new_zero(1600, 800, 3);
    err e = {0};
    size_t len, olen;
    unsigned char *j = img_encode_jpeg(big, 85, &len, &e);
    unsigned char *o = jpeg_with_orientation(j, len, 6, false, &olen);
    img_decode_params p = img_decode_default_params();
    p.fit_w = 100;
    p.fit_h = 400;
    img_info info;
    img *im = img_decode(o, olen, &p, &info, &e);
    cr_assert_not_null(im, "%s", e.msg);
    cr_assert_eq(info.scale, 0.25);
    cr_assert_eq(im->w, 200);
    cr_assert_eq(im->h, 400);
    img_free(im);
    free(o);
    free(j);
    img_free(big);
}

Test(decode, probe_reads_headers_only)
{
    size_t len;
    unsigned char *d = read_photo("bedroom-wardrobe.webp", &len);
    err e = {0};
    img_info info;
    cr_assert_eq(img_probe(d, len, NULL, &info, &e), 0, "%s", e.msg);
    cr_assert_eq(info.format, IMG_FORMAT_WEBP);
    cr_assert_eq(info.w, 1500);
    cr_assert_eq(info.h, 1125);
    free(d);
    d = read_photo("dog-bicycle-truck.jpg", &len);
    /* Half the file: the headers are complete, so probing succeeds. */
    cr_assert_eq(img_probe(d, len / 2, NULL, &info, &e), 0, "%s", e.msg);
    cr_assert_eq(info.w, 768);
    cr_assert_eq(info.h, 576);
    free(d);
    cr_assert_eq(img_probe("nope", 4, NULL, &info, &e), -1);
    cr_assert_eq(e.status, 415);
}
