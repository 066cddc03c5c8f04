/* Helpers shared by the image tests: the shared photos, and small files built by hand. */
#ifndef ARTISTRY_TESTS_IMAGE_HELPERS_H
#define ARTISTRY_TESTS_IMAGE_HELPERS_H

#include "image/image.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shared test data: $ARTISTRY_SHARED, else <repo>/../shared. */
static inline unsigned char *read_photo(const char *name, size_t *len)
{
    const char *dir = getenv("ARTISTRY_SHARED");
    char path[1024];
    if (dir && *dir)
        snprintf(path, sizeof path, "%s/data/photos/%s", dir, name);
    else
        snprintf(path, sizeof path, "%s/../shared/data/photos/%s", ARTISTRY_SOURCE_ROOT, name);
    err e = {0};
    unsigned char *d = (unsigned char *)file_read(path, len, &e);
    cr_assert_not_null(d, "%s (set ARTISTRY_SHARED to the shared folder)", e.msg);
    return d;
}

/* A shared photo decoded with the default parameters. */
static inline img *decode_photo(const char *name)
{
    size_t len;
    unsigned char *d = read_photo(name, &len);
    err e = {0};
    img *im = img_decode(d, len, NULL, NULL, &e);
    cr_assert_not_null(im, "%s: %s", name, e.msg);
    free(d);
    return im;
}

/* CRC-32 as PNG chunks use it (bitwise; the tests build a handful of chunks). */
static inline uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

static inline void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A PNG signature and IHDR chunk (8-bit RGB) declaring w x h, with a valid CRC, followed
 * by nothing: the header of a decompression bomb. Returns the length (33). */
static inline size_t png_header_only(unsigned char out[33], uint32_t w, uint32_t h)
{
    memcpy(out, "\x89PNG\r\n\x1a\n", 8);
    put_be32(out + 8, 13);
    memcpy(out + 12, "IHDR", 4);
    put_be32(out + 16, w);
    put_be32(out + 20, h);
    out[24] = 8; /* bit depth */
    out[25] = 2; /* truecolour */
    out[26] = out[27] = out[28] = 0;
    put_be32(out + 29, crc32_png(out + 12, 17));
    return 33;
}

/* An EXIF APP1 segment ("Exif\0\0" + TIFF with one IFD0 entry: Orientation = o), in
 * little- or big-endian TIFF byte order, inserted after the SOI of a JPEG. Returns a
 * malloc'ed file. */
static inline unsigned char *jpeg_with_orientation(const unsigned char *jpeg, size_t len, int o,
                                                   bool big_endian, size_t *out_len)
{
    unsigned char tiff[26];
    size_t t = 0;
#define P16(v)                                                 \
    do {                                                       \
        unsigned v_ = (v);                                     \
        tiff[t++] = big_endian ? (v_ >> 8) & 0xFF : v_ & 0xFF; \
        tiff[t++] = big_endian ? v_ & 0xFF : (v_ >> 8) & 0xFF; \
    } while (0)
#define P32(v)                            \
    do {                                  \
        unsigned long w_ = (v);           \
        if (big_endian) {                 \
            P16((unsigned)(w_ >> 16));    \
            P16((unsigned)(w_ & 0xFFFF)); \
        } else {                          \
            P16((unsigned)(w_ & 0xFFFF)); \
            P16((unsigned)(w_ >> 16));    \
        }                                 \
    } while (0)
    tiff[t++] = big_endian ? 'M' : 'I';
    tiff[t++] = big_endian ? 'M' : 'I';
    P16(42);
    P32(8);      /* IFD0 at offset 8 */
    P16(1);      /* one entry */
    P16(0x0112); /* Orientation */
    P16(3);      /* SHORT */
    P32(1);      /* count */
    P16((unsigned)o);
    P16(0); /* value padding */
    P32(0); /* no next IFD */
#undef P16
#undef P32
    size_t seg = 2 + 6 + t;
    unsigned char *out = malloc(len + 2 + seg);
    memcpy(out, jpeg, 2); /* SOI */
    out[2] = 0xFF;
    out[3] = 0xE1;
    out[4] = (unsigned char)(seg >> 8);
    out[5] = (unsigned char)seg;
    memcpy(out + 6, "Exif\0\0", 6);
    memcpy(out + 12, tiff, t);
    memcpy(out + 12 + t, jpeg + 2, len - 2);
    *out_len = len + 2 + seg;
    return out;
}

/* A TIFF block (no "Exif" header) with Orientation = o, little-endian, for PNG eXIf and
 * WebP EXIF chunks. Writes 26 bytes. */
static inline size_t tiff_orientation(unsigned char out[26], int o)
{
    static const unsigned char base[26] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3,
                                           0,   1,   0,  0, 0, 0, 0, 0, 0, 0, 0,    0,    0};
    memcpy(out, base, 26);
    out[18] = (unsigned char)o;
    return 26;
}

/* Mean absolute difference of two images of equal shape. */
static inline double mean_abs_diff(const img *a, const img *b)
{
    cr_assert_eq(a->w, b->w);
    cr_assert_eq(a->h, b->h);
    cr_assert_eq(a->channels, b->channels);
    double s = 0;
    for (int y = 0; y < a->h; y++)
        for (int x = 0; x < a->w * a->channels; x++)
            s += abs((int)img_px(a, 0, y)[x] - (int)img_px(b, 0, y)[x]);
    return s / ((double)a->w * a->h * a->channels);
}

#endif
