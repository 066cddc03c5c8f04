/* Drawing: rectangles as OpenCV draws them, text with FreeType, box labels as Ultralytics
 * draws them, translucent mask overlays. */
#include "image/image.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#define DEFAULT_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

/* ---------------------------------------------------------------- pixels */

static void put(img *im, int x, int y, img_rgb c)
{
    uint8_t *p = img_px(im, x, y);
    if (im->channels == 1) {
        p[0] = (uint8_t)((c.r * 9798 + c.g * 19235 + c.b * 3735 + (1 << 14)) >> 15);
        return;
    }
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
    if (im->channels == 4) p[3] = 255;
}

/* Corners may come in any order. */
static void order(int *a, int *b)
{
    if (*a > *b) {
        int t = *a;
        *a = *b;
        *b = t;
    }
}

void img_fill_rect(img *im, int x1, int y1, int x2, int y2, img_rgb color)
{
    order(&x1, &x2);
    order(&y1, &y2);
    x1 = MAX(x1, 0);
    y1 = MAX(y1, 0);
    x2 = MIN(x2, im->w - 1);
    y2 = MIN(y2, im->h - 1);
    for (int y = y1; y <= y2; y++)
        for (int x = x1; x <= x2; x++) put(im, x, y, color);
}

static void fill_disc(img *im, int cx, int cy, int r, img_rgb color)
{
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++) {
            int x = cx + dx, y = cy + dy;
            if (dx * dx + dy * dy <= r * r && x >= 0 && y >= 0 && x < im->w && y < im->h)
                put(im, x, y, color);
        }
}

void img_draw_rect(img *im, int x1, int y1, int x2, int y2, img_rgb color, int thickness)
{
    if (thickness <= 0) {
        img_fill_rect(im, x1, y1, x2, y2, color);
        return;
    }
    order(&x1, &x2);
    order(&y1, &y2);
    /* OpenCV draws a thick outline as four thick lines with round caps: a band of
     * (thickness + 1) / 2 pixels on each side of the outline, round at the corners
     * (thickness 2 gives 3 pixels, 3 and 4 give 5). */
    int r = thickness == 1 ? 0 : (thickness + 1) / 2;
    img_fill_rect(im, x1, y1 - r, x2, y1 + r, color);
    img_fill_rect(im, x1, y2 - r, x2, y2 + r, color);
    img_fill_rect(im, x1 - r, y1, x1 + r, y2, color);
    img_fill_rect(im, x2 - r, y1, x2 + r, y2, color);
    fill_disc(im, x1, y1, r, color);
    fill_disc(im, x2, y1, r, color);
    fill_disc(im, x1, y2, r, color);
    fill_disc(im, x2, y2, r, color);
}

void img_overlay_mask(img *im, const uint8_t *mask, size_t mask_stride, img_rgb color, float alpha)
{
    assert(im->channels >= 3);
    if (!(alpha >= 0.0f)) alpha = 0.0f;
    if (alpha > 1.0f) alpha = 1.0f;
    /* Every result is one of 256 per channel: tabulate round(p (1 - a) + c a). */
    uint8_t lut[3][256];
    const uint8_t cc[3] = {color.r, color.g, color.b};
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++)
            lut[c][v] = (uint8_t)lrintf((float)v * (1.0f - alpha) + (float)cc[c] * alpha);
    int cn = im->channels;
    for (int y = 0; y < im->h; y++) {
        const uint8_t *m = mask + (size_t)y * mask_stride;
        uint8_t *p = img_px(im, 0, y);
        for (int x = 0; x < im->w; x++, p += cn) {
            if (!m[x]) continue;
            p[0] = lut[0][p[0]];
            p[1] = lut[1][p[1]];
            p[2] = lut[2][p[2]];
        }
    }
}

/* ---------------------------------------------------------------- fonts */

typedef struct glyph {
    int w, h, pitch; /* coverage bitmap, 0..255 */
    int left, top;   /* offset of the bitmap from the pen on the baseline */
    int advance;     /* pixels */
    uint8_t *bits;
} glyph;

/* Printable Latin-1 rendered at load; the rest on demand under the lock, since a
 * FreeType face may not be used by two threads at once. */
#define CACHED(cp) (((cp) >= 0x20 && (cp) < 0x7F) || ((cp) >= 0xA0 && (cp) <= 0xFF))

struct img_font {
    FT_Library lib;
    FT_Face face;
    pthread_mutex_t lock;
    int ascent, descent;
    glyph cache[256];
};

/* Renders cp with the face's current slot; the bitmap stays FreeType's until the next
 * load (callers hold the lock or are the only user). */
static int render(img_font *f, uint32_t cp, glyph *g)
{
    if (FT_Load_Char(f->face, cp, FT_LOAD_RENDER) != 0) return -1;
    FT_GlyphSlot s = f->face->glyph;
    if (s->bitmap.pixel_mode != FT_PIXEL_MODE_GRAY && s->bitmap.rows && s->bitmap.width) return -1;
    g->w = (int)s->bitmap.width;
    g->h = (int)s->bitmap.rows;
    g->pitch = s->bitmap.pitch;
    g->left = s->bitmap_left;
    g->top = s->bitmap_top;
    g->advance = (int)((s->advance.x + 32) >> 6);
    g->bits = s->bitmap.buffer;
    return 0;
}

img_font *img_font_load(const char *path, int pixel_height, err *e)
{
    if (!path) path = cfg_str("ARTISTRY_FONT", DEFAULT_FONT);
    img_font *f = xcalloc(1, sizeof *f);
    if (FT_Init_FreeType(&f->lib) != 0) {
        err_set(e, 500, "FreeType cannot start");
        free(f);
        return NULL;
    }
    if (FT_New_Face(f->lib, path, 0, &f->face) != 0) {
        err_set(e, 500, "font %s cannot be read (Debian package fonts-dejavu-core)", path);
        FT_Done_FreeType(f->lib);
        free(f);
        return NULL;
    }
    FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)(pixel_height > 0 ? pixel_height : 16));
    f->ascent = (int)((f->face->size->metrics.ascender + 63) >> 6);
    f->descent = (int)((-f->face->size->metrics.descender + 63) >> 6);
    pthread_mutex_init(&f->lock, NULL);
    for (uint32_t cp = 0; cp < 256; cp++) {
        glyph g;
        if (!CACHED(cp) || render(f, cp, &g) != 0) continue;
        size_t bytes = (size_t)g.w * (size_t)g.h;
        uint8_t *copy = xmalloc(bytes ? bytes : 1);
        for (int y = 0; y < g.h; y++)
            memcpy(copy + (size_t)y * (size_t)g.w, g.bits + (ptrdiff_t)y * g.pitch, (size_t)g.w);
        g.bits = copy;
        g.pitch = g.w;
        f->cache[cp] = g;
    }
    return f;
}

void img_font_free(img_font *f)
{
    if (!f) return;
    for (int i = 0; i < 256; i++) free(f->cache[i].bits);
    pthread_mutex_destroy(&f->lock);
    FT_Done_Face(f->face);
    FT_Done_FreeType(f->lib);
    free(f);
}

/* The next code point of a UTF-8 string; malformed sequences give '?' and advance one
 * byte. */
static uint32_t next_cp(const char **s)
{
    const uint8_t *p = (const uint8_t *)*s;
    uint32_t c = p[0];
    int n = c < 0x80             ? 0
            : (c & 0xE0) == 0xC0 ? 1
            : (c & 0xF0) == 0xE0 ? 2
            : (c & 0xF8) == 0xF0 ? 3
                                 : -1;
    if (n < 0) {
        (*s)++;
        return '?';
    }
    c = n == 0 ? c : n == 1 ? c & 0x1F : n == 2 ? c & 0x0F : c & 0x07;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            (*s)++;
            return '?';
        }
        c = (c << 6) | (p[i] & 0x3F);
    }
    *s += n + 1;
    return c;
}

static void blit(img *im, const glyph *g, int x0, int y0, img_rgb c)
{
    const uint8_t cc[3] = {c.r, c.g, c.b};
    uint8_t gray = (uint8_t)((c.r * 9798 + c.g * 19235 + c.b * 3735 + (1 << 14)) >> 15);
    for (int y = 0; y < g->h; y++) {
        int py = y0 + y;
        if (py < 0 || py >= im->h) continue;
        const uint8_t *a = g->bits + (ptrdiff_t)y * g->pitch;
        for (int x = 0; x < g->w; x++) {
            int px = x0 + x;
            if (px < 0 || px >= im->w || !a[x]) continue;
            uint8_t *p = img_px(im, px, py);
            int k = a[x];
            if (im->channels == 1) {
                p[0] = (uint8_t)((gray * k + p[0] * (255 - k) + 127) / 255);
                continue;
            }
            for (int ch = 0; ch < 3; ch++)
                p[ch] = (uint8_t)((cc[ch] * k + p[ch] * (255 - k) + 127) / 255);
        }
    }
}

/* Walks the string; draws when im is not NULL; returns the advance width. */
static int run_text(img *im, img_font *f, int x, int y, const char *s, img_rgb c)
{
    int pen = x;
    while (*s) {
        uint32_t cp = next_cp(&s);
        if (cp < 256 && f->cache[cp].bits) {
            const glyph *g = &f->cache[cp];
            if (im) blit(im, g, pen + g->left, y - g->top, c);
            pen += g->advance;
            continue;
        }
        pthread_mutex_lock(&f->lock);
        glyph g;
        if (render(f, cp, &g) == 0 || render(f, '?', &g) == 0) {
            if (im) blit(im, &g, pen + g.left, y - g.top, c);
            pen += g.advance;
        }
        pthread_mutex_unlock(&f->lock);
    }
    return pen - x;
}

void img_text_size(img_font *f, const char *utf8, int *w, int *ascent, int *descent)
{
    int adv = run_text(NULL, f, 0, 0, utf8, IMG_RGB(0, 0, 0));
    if (w) *w = adv;
    if (ascent) *ascent = f->ascent;
    if (descent) *descent = f->descent;
}

void img_draw_text(img *im, img_font *f, int x, int y, const char *utf8, img_rgb color)
{
    run_text(im, f, x, y, utf8, color);
}

void img_draw_label(img *im, img_font *f, int x, int y, const char *utf8, img_rgb bg, img_rgb fg)
{
    int tw, asc, desc;
    img_text_size(f, utf8, &tw, &asc, &desc);
    int lw = tw + 2, lh = asc + desc + 2; /* one pixel of margin all round */
    /* Ultralytics: above the box when there is room, otherwise inside it; moved left
     * rather than running off the right edge. */
    bool outside = y >= lh;
    if (x > im->w - lw) x = im->w - lw;
    if (x < 0) x = 0;
    int top = outside ? y - lh : y;
    img_fill_rect(im, x, top, x + lw - 1, top + lh - 1, bg);
    img_draw_text(im, f, x + 1, top + 1 + asc, utf8, fg);
}
