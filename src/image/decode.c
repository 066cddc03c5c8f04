/* Decoding: format by magic bytes, limits before allocation, JPEG (TurboJPEG, scaled),
 * PNG (libspng), WebP (libwebp), then EXIF orientation. */
#include "image/image_impl.h"

#include <assert.h>
#include <spng.h>
#include <stdio.h>
#include <string.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/demux.h>

img_decode_params img_decode_default_params(void)
{
    return (img_decode_params){
        .max_pixels = 50000000, .apply_orientation = true, .fit_margin = 2.0, .threads = true};
}

img_format img_detect_format(const void *data, size_t len)
{
    const uint8_t *d = data;
    if (len >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return IMG_FORMAT_JPEG;
    if (len >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return IMG_FORMAT_PNG;
    if (len >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return IMG_FORMAT_WEBP;
    return IMG_FORMAT_UNKNOWN;
}

const char *img_format_name(img_format f)
{
    switch (f) {
    case IMG_FORMAT_JPEG:
        return "JPEG";
    case IMG_FORMAT_PNG:
        return "PNG";
    case IMG_FORMAT_WEBP:
        return "WebP";
    default:
        return "unknown";
    }
}

/* Formats people upload that we do not read, named so the message says what it got. */
static const char *other_format(const uint8_t *d, size_t n)
{
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) return "GIF";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "BMP";
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0)) return "TIFF";
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        if (memcmp(d + 8, "avif", 4) == 0 || memcmp(d + 8, "avis", 4) == 0) return "AVIF";
        if (memcmp(d + 8, "heic", 4) == 0 || memcmp(d + 8, "heix", 4) == 0 ||
            memcmp(d + 8, "mif1", 4) == 0)
            return "HEIC";
    }
    if (n >= 4 && memcmp(d, "%PDF", 4) == 0) return "PDF";
    return NULL;
}

static int check_size(int w, int h, const img_decode_params *p, err *e)
{
    if (w <= 0 || h <= 0) {
        err_set(e, 422, "image is empty: %d×%d pixels", w, h);
        return -1;
    }
    uint64_t px = (uint64_t)w * (uint64_t)h;
    if (px > p->max_pixels) {
        char limit[48];
        if (p->max_pixels % 1000000 == 0)
            snprintf(limit, sizeof limit, "%llu megapixel",
                     (unsigned long long)(p->max_pixels / 1000000));
        else
            snprintf(limit, sizeof limit, "%llu pixel", (unsigned long long)p->max_pixels);
        err_set(e, 413, "image too large: %d×%d pixels exceeds the %s limit", w, h, limit);
        return -1;
    }
    return 0;
}

static void fill_info(img_info *info, img_format f, int sw, int sh, int orientation)
{
    info->format = f;
    info->stored_w = sw;
    info->stored_h = sh;
    info->orientation = orientation;
    info->w = orientation >= 5 ? sh : sw;
    info->h = orientation >= 5 ? sw : sh;
    info->scale = 1.0;
}

/* Hands back the decoded image upright, freeing the stored-orientation one. */
static img *orient(img *im, int o)
{
    if (o < 2) return im;
    img *r = img_orient(im, o);
    img_free(im);
    return r;
}

/* ---------------------------------------------------------------- JPEG */

/* The smallest TurboJPEG scale (<= 1) that keeps the decoded image at least
 * fit_margin times the size the caller will shrink it to. */
static tjscalingfactor jpeg_pick_scale(int w, int h, int o, const img_decode_params *p)
{
    tjscalingfactor best = {1, 1};
    if (p->fit_w <= 0 || p->fit_h <= 0) return best;
    int uw = o >= 5 ? h : w, uh = o >= 5 ? w : h;
    double f = MIN((double)p->fit_w / uw, (double)p->fit_h / uh);
    double margin = p->fit_margin >= 1.0 ? p->fit_margin : 1.0;
    if (f * margin >= 1.0) return best;
    double need_w = (o >= 5 ? uh : uw) * f * margin, need_h = (o >= 5 ? uw : uh) * f * margin;
    int n = 0;
    tjscalingfactor *sf = tjGetScalingFactors(&n);
    for (int i = 0; sf && i < n; i++) {
        if (sf[i].num > sf[i].denom) continue;
        if (TJSCALED(w, sf[i]) < need_w || TJSCALED(h, sf[i]) < need_h) continue;
        if ((double)sf[i].num / sf[i].denom < (double)best.num / best.denom) best = sf[i];
    }
    return best;
}

static img *jpeg_decode(const uint8_t *d, size_t n, const img_decode_params *p, img_info *info,
                        bool pixels, err *e)
{
    jpeg_markers m;
    jpeg_scan_markers(d, n, &m);
    if (m.truncated && !m.has_sos) {
        err_set(e, 422, "truncated JPEG: the data ends inside its headers");
        return NULL;
    }
    if (!m.has_sof) {
        err_set(e, 422, "corrupt JPEG: no frame header (SOF) before the image data");
        return NULL;
    }
    /* The size the frame header declares is checked before libjpeg sees the file, so a
     * lying header costs nothing. */
    if (check_size(m.sof_w, m.sof_h, p, e) != 0) return NULL;

    tjhandle tj = tjInitDecompress();
    if (!tj) {
        err_set(e, 500, "JPEG decoder: %s", tjGetErrorStr2(NULL));
        return NULL;
    }
    img *im = NULL;
    int w, h, subsamp, cs;
    if (tjDecompressHeader3(tj, d, (unsigned long)n, &w, &h, &subsamp, &cs) != 0) {
        err_set(e, 422, "corrupt JPEG: %s", tjGetErrorStr2(tj));
        goto done;
    }
    if (check_size(w, h, p, e) != 0) goto done;
    if (cs == TJCS_CMYK || cs == TJCS_YCCK) {
        err_set(e, 415, "CMYK JPEG is not supported: save the photo as RGB");
        goto done;
    }
    int o = p->apply_orientation ? exif_orientation(m.exif, m.exif_len) : 1;
    fill_info(info, IMG_FORMAT_JPEG, w, h, o);
    if (!pixels) goto done;

    tjscalingfactor sf = jpeg_pick_scale(w, h, o, p);
    int sw = TJSCALED(w, sf), sh = TJSCALED(h, sf);
    im = img_new(sw, sh, 3);
    /* LIMITSCANS: refuse progressive files with absurd scan counts (a CPU bomb). */
    if (tjDecompress2(tj, d, (unsigned long)n, im->data, sw, (int)im->stride, sh, TJPF_RGB,
                      TJFLAG_LIMITSCANS) != 0) {
        const char *msg = tjGetErrorStr2(tj);
        bool warning = tjGetErrorCode(tj) == TJERR_WARNING;
        /* A warning is a file libjpeg could decode anyway (extraneous bytes, a
         * restart marker out of place): PIL accepts those too. Running out of data is
         * the exception: the rest of the photo would be grey. */
        if (!warning || strstr(msg, "Premature end of JPEG file")) {
            if (warning)
                err_set(e, 422, "truncated JPEG: the data ends before the image does");
            else
                err_set(e, 422, "corrupt JPEG: %s", msg);
            img_free(im);
            im = NULL;
            goto done;
        }
    }
    info->scale = (double)sf.num / sf.denom;
    im = orient(im, o);
done:
    tjDestroy(tj);
    return im;
}

/* ---------------------------------------------------------------- PNG */

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* libspng's codes for running out of data: its I/O end of stream, the end of the
 * buffer, and IDAT data shorter than the image needs. */
static void png_error(int r, err *e)
{
    if (r == SPNG_IO_EOF || r == SPNG_EOF || r == SPNG_EIDAT_TOO_SHORT)
        err_set(e, 422, "truncated PNG: the data ends before the image does");
    else
        err_set(e, 422, "corrupt PNG: %s", spng_strerror(r));
}

static int png_orientation(spng_ctx *ctx)
{
    struct spng_exif ex;
    if (spng_get_exif(ctx, &ex) != 0 || !ex.data) return 1;
    return exif_orientation((const uint8_t *)ex.data, ex.length);
}

static img *png_decode(const uint8_t *d, size_t n, const img_decode_params *p, img_info *info,
                       bool pixels, err *e)
{
    /* The IHDR is read here first so that a 0×0 or 20000×20000 header gets its own
     * message, and nothing is allocated for it. */
    if (n < 33) {
        err_set(e, 422, "truncated PNG: the data ends inside its header");
        return NULL;
    }
    if (be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4) != 0) {
        err_set(e, 422, "corrupt PNG: the first chunk is not IHDR");
        return NULL;
    }
    uint32_t w32 = be32(d + 16), h32 = be32(d + 20);
    if (w32 > INT32_MAX || h32 > INT32_MAX) {
        err_set(e, 422, "corrupt PNG: width or height above 2^31");
        return NULL;
    }
    if (check_size((int)w32, (int)h32, p, e) != 0) return NULL;

    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) {
        err_set(e, 500, "PNG decoder: cannot create a context");
        return NULL;
    }
    img *im = NULL;
    /* Ancillary chunks (text, ICC profiles, EXIF) are kept in memory by libspng: bound
     * them so that a small file cannot make it hold much. */
    spng_set_chunk_limits(ctx, 8u << 20, 32u << 20);
    spng_set_png_buffer(ctx, d, n);
    struct spng_ihdr ihdr;
    int r = spng_get_ihdr(ctx, &ihdr);
    if (r != 0) {
        png_error(r, e);
        goto done;
    }
    int w = (int)ihdr.width, h = (int)ihdr.height;
    int o = 1;
    if (!pixels) {
        /* eXIf before the image data is what libspng can see without decoding. */
        o = p->apply_orientation ? png_orientation(ctx) : 1;
        fill_info(info, IMG_FORMAT_PNG, w, h, o);
        goto done;
    }
    size_t need;
    r = spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &need);
    if (r != 0) {
        png_error(r, e);
        goto done;
    }
    assert(need == (size_t)w * (size_t)h * 3);
    im = img_new(w, h, 3);
    r = spng_decode_image(ctx, im->data, need, SPNG_FMT_RGB8, 0);
    if (r != 0) {
        png_error(r, e);
        img_free(im);
        im = NULL;
        goto done;
    }
    o = p->apply_orientation ? png_orientation(ctx) : 1;
    fill_info(info, IMG_FORMAT_PNG, w, h, o);
    im = orient(im, o);
done:
    spng_ctx_free(ctx);
    return im;
}

/* ---------------------------------------------------------------- WebP */

static const char *webp_status(VP8StatusCode s)
{
    switch (s) {
    case VP8_STATUS_OUT_OF_MEMORY:
        return "out of memory";
    case VP8_STATUS_INVALID_PARAM:
        return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR:
        return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        return "unsupported feature";
    case VP8_STATUS_NOT_ENOUGH_DATA:
        return "not enough data";
    default:
        return "decoding failed";
    }
}

static int webp_orientation(const uint8_t *d, size_t n)
{
    WebPData wd = {d, n};
    WebPDemuxer *dm = WebPDemux(&wd);
    if (!dm) return 1;
    int o = 1;
    if (WebPDemuxGetI(dm, WEBP_FF_FORMAT_FLAGS) & EXIF_FLAG) {
        WebPChunkIterator it;
        if (WebPDemuxGetChunk(dm, "EXIF", 1, &it)) {
            o = exif_orientation(it.chunk.bytes, it.chunk.size);
            WebPDemuxReleaseChunkIterator(&it);
        }
    }
    WebPDemuxDelete(dm);
    return o;
}

static void webp_error(VP8StatusCode s, err *e)
{
    if (s == VP8_STATUS_NOT_ENOUGH_DATA)
        err_set(e, 422, "truncated WebP: the data ends before the image does");
    else
        err_set(e, 422, "corrupt WebP: %s", webp_status(s));
}

static img *webp_decode(const uint8_t *d, size_t n, const img_decode_params *p, img_info *info,
                        bool pixels, err *e)
{
    WebPBitstreamFeatures f;
    VP8StatusCode s = WebPGetFeatures(d, n, &f);
    if (s != VP8_STATUS_OK) {
        webp_error(s, e);
        return NULL;
    }
    if (f.has_animation) {
        err_set(e, 415, "animated WebP is not supported: send a still image");
        return NULL;
    }
    if (check_size(f.width, f.height, p, e) != 0) return NULL;
    int o = p->apply_orientation ? webp_orientation(d, n) : 1;
    fill_info(info, IMG_FORMAT_WEBP, f.width, f.height, o);
    if (!pixels) return NULL;

    img *im = img_new(f.width, f.height, 3);
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg)) {
        img_free(im);
        err_set(e, 500, "WebP decoder: version mismatch");
        return NULL;
    }
    cfg.options.use_threads = p->threads;
    cfg.output.colorspace = MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = im->data;
    cfg.output.u.RGBA.stride = (int)im->stride;
    cfg.output.u.RGBA.size = im->stride * (size_t)im->h;
    s = WebPDecode(d, n, &cfg);
    WebPFreeDecBuffer(&cfg.output);
    if (s != VP8_STATUS_OK) {
        img_free(im);
        webp_error(s, e);
        return NULL;
    }
    return orient(im, o);
}

/* ---------------------------------------------------------------- entry points */

static img *decode(const void *data, size_t len, const img_decode_params *params, img_info *info,
                   bool pixels, err *e)
{
    img_decode_params defaults = img_decode_default_params();
    const img_decode_params *p = params ? params : &defaults;
    img_info scratch;
    if (!info) info = &scratch;
    memset(info, 0, sizeof *info);
    const uint8_t *d = data;
    if (!d || len == 0) {
        err_set(e, 400, "empty image: no bytes");
        return NULL;
    }
    switch (img_detect_format(d, len)) {
    case IMG_FORMAT_JPEG:
        return jpeg_decode(d, len, p, info, pixels, e);
    case IMG_FORMAT_PNG:
        return png_decode(d, len, p, info, pixels, e);
    case IMG_FORMAT_WEBP:
        return webp_decode(d, len, p, info, pixels, e);
    default:
        break;
    }
    const char *other = other_format(d, len);
    if (other)
        err_set(e, 415, "unsupported image format %s: expected JPEG, PNG or WebP", other);
    else
        err_set(e, 415, "not an image: expected JPEG, PNG or WebP");
    return NULL;
}

img *img_decode(const void *data, size_t len, const img_decode_params *params, img_info *info,
                err *e)
{
    return decode(data, len, params, info, true, e);
}

int img_probe(const void *data, size_t len, const img_decode_params *params, img_info *info, err *e)
{
    img_info local;
    if (!info) info = &local;
    err_clear(e);
    decode(data, len, params, info, false, e);
    return info->format == IMG_FORMAT_UNKNOWN ? -1 : 0;
}
