/* What the photo itself says: lighting from luminance statistics and the colour
 * temperature of its lit, pale surfaces, and a dominant-colour palette by
 * k-means in CIELAB. Both work on a uniform sample of at most 20,000 pixels, so a 12 MP
 * photo costs about as much as a thumbnail. */
#include "design_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES 20000

/* sRGB 8-bit → linear light, computed once. */
static float srgb_lin[256];
static void init_tables(void)
{
    static bool done;
    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE)) return;
    for (int i = 0; i < 256; i++) {
        double c = i / 255.0;
        srgb_lin[i] = (float)(c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4));
    }
    __atomic_store_n(&done, true, __ATOMIC_RELEASE);
}

static void rgb_to_xyz(const uint8_t rgb[3], double xyz[3])
{
    double r = srgb_lin[rgb[0]], g = srgb_lin[rgb[1]], b = srgb_lin[rgb[2]];
    xyz[0] = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
    xyz[1] = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    xyz[2] = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
}

static double lab_f(double t)
{
    const double d = 6.0 / 29.0;
    return t > d * d * d ? cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
}

static void xyz_to_lab(const double xyz[3], double lab[3])
{
    double fx = lab_f(xyz[0] / 0.95047), fy = lab_f(xyz[1]), fz = lab_f(xyz[2] / 1.08883);
    lab[0] = 116 * fy - 16;
    lab[1] = 500 * (fx - fy);
    lab[2] = 200 * (fy - fz);
}

void design_rgb_to_lab(const uint8_t rgb[3], double lab[3])
{
    init_tables();
    double xyz[3];
    rgb_to_xyz(rgb, xyz);
    xyz_to_lab(xyz, lab);
}

double design_delta_e(const double a[3], const double b[3])
{
    double d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
    return sqrt(d0 * d0 + d1 * d1 + d2 * d2);
}

const char *design_color_name(const design_kb *kb, const double lab[3])
{
    const char *best = NULL;
    double bd = INFINITY;
    for (size_t i = 0; i < kb->ncolors; i++) {
        double d = design_delta_e(lab, kb->colors[i].lab);
        if (d < bd) {
            bd = d;
            best = kb->colors[i].name;
        }
    }
    return best;
}

static int check_pixels(const design_pixels *px, err *e)
{
    if (!px || !px->rgb || px->width <= 0 || px->height <= 0 ||
        px->stride < (size_t)px->width * 3) {
        err_set(e, 422, "the image is empty or its dimensions are inconsistent");
        return -1;
    }
    return 0;
}

/* A uniform grid of at most MAX_SAMPLES pixel positions; returns the count and fills out
 * (which must hold MAX_SAMPLES pointers). */
static size_t sample_grid(const design_pixels *px, const uint8_t **out)
{
    double total = (double)px->width * px->height;
    double step = total > MAX_SAMPLES ? sqrt(total / MAX_SAMPLES) : 1.0;
    size_t n = 0;
    for (double y = step / 2; y < px->height && n < MAX_SAMPLES; y += step)
        for (double x = step / 2; x < px->width && n < MAX_SAMPLES; x += step)
            out[n++] = px->rgb + (size_t)y * px->stride + (size_t)x * 3;
    if (n == 0) out[n++] = px->rgb;
    return n;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* McCamy's cubic approximation of correlated colour temperature from CIE xy. */
static double mccamy(double x, double y)
{
    if (fabs(0.1858 - y) < 1e-9) return 6500;
    double n = (x - 0.3320) / (0.1858 - y);
    double t = 449 * n * n * n + 3525 * n * n + 6823.3 * n + 5520.33;
    return fmin(fmax(t, 1000), 25000);
}

const char *design_lighting_name(design_lighting_kind k)
{
    switch (k) {
    case DESIGN_LIGHT_NATURAL:
        return "natural";
    case DESIGN_LIGHT_ARTIFICIAL:
        return "artificial";
    case DESIGN_LIGHT_MIXED:
        return "mixed";
    case DESIGN_LIGHT_DIM:
        return "dim";
    }
    return "natural";
}

int design_analyze_lighting(const design_pixels *px, design_lighting *out, err *e)
{
    if (check_pixels(px, e)) return -1;
    init_tables();
    const uint8_t **pts = xmalloc(MAX_SAMPLES * sizeof *pts);
    size_t n = sample_grid(px, pts);
    float *ys = xmalloc(n * sizeof *ys), *sorted = xmalloc(n * sizeof *sorted);
    double sum = 0;
    size_t dark = 0;
    for (size_t i = 0; i < n; i++) {
        double xyz[3];
        rgb_to_xyz(pts[i], xyz);
        ys[i] = (float)xyz[1];
        sum += xyz[1];
        if (xyz[1] < 0.05) dark++;
    }
    memcpy(sorted, ys, n * sizeof *ys);
    qsort(sorted, n, sizeof *sorted, cmp_float);
    memset(out, 0, sizeof *out);
    out->mean_luminance = sum / (double)n;
    out->p90_luminance = sorted[(size_t)((double)(n - 1) * 0.9)];
    out->dark_fraction = (double)dark / (double)n;
    /* The band between the median and the 90th percentile: lit surfaces, but not the
     * light sources or windows themselves, which clip to white whatever their colour. */
    double band_lo = sorted[(size_t)((double)(n - 1) * 0.5)];
    double band_hi = sorted[(size_t)((double)(n - 1) * 0.9)];

    /* The illuminant shows on lit surfaces that are pale (walls, ceilings, bedding): their
     * chromaticity is mostly the light's, not the paint's. A white wall under a 2700 K lamp
     * has a chroma near 50, so "pale" is C* <= 55 first, looser only when nothing is that
     * pale. Clipped pixels say nothing about colour and are left out. */
    double sx = 0, sy = 0, sz = 0;
    size_t used = 0, warm = 0, cool = 0;
    static const double max_chroma[3] = {55, 80, 1e9};
    for (int pass = 0; pass < 3 && used == 0; pass++) {
        for (size_t i = 0; i < n; i++) {
            if (ys[i] < band_lo || ys[i] > band_hi || ys[i] < 0.02) continue;
            const uint8_t *p = pts[i];
            if (p[0] >= 250 && p[1] >= 250 && p[2] >= 250) continue;
            double xyz[3], lab[3];
            rgb_to_xyz(p, xyz);
            xyz_to_lab(xyz, lab);
            if (hypot(lab[1], lab[2]) > max_chroma[pass]) continue;
            double s = xyz[0] + xyz[1] + xyz[2];
            if (s <= 0) continue;
            double cct = mccamy(xyz[0] / s, xyz[1] / s);
            if (cct < 3600)
                warm++;
            else if (cct > 4800)
                cool++;
            sx += xyz[0] / xyz[1];
            sy += 1;
            sz += xyz[2] / xyz[1];
            used++;
        }
    }
    if (used) {
        double s = sx + sy + sz;
        out->cct_kelvin = mccamy(sx / s, sy / s);
        out->warm_fraction = (double)warm / (double)used;
        out->cool_fraction = (double)cool / (double)used;
    } else {
        out->cct_kelvin = 6500;
    }

    /* Daylight on pale surfaces reads 5000-6500 K, warm-white lamps 2700-3500 K. The
     * verdict goes by the share of lit surfaces on each side rather than by the mean, so
     * a few saturated yellow or orange objects do not turn a daylit room warm. */
    if (out->mean_luminance < 0.04 && out->p90_luminance < 0.12)
        out->kind = DESIGN_LIGHT_DIM;
    else if (out->cool_fraction >= 0.5 && out->warm_fraction < 0.2)
        out->kind = DESIGN_LIGHT_NATURAL;
    else if (out->warm_fraction >= 0.5 && out->cool_fraction < 0.2)
        out->kind = DESIGN_LIGHT_ARTIFICIAL;
    else
        out->kind = DESIGN_LIGHT_MIXED;
    free(ys);
    free(sorted);
    free(pts);
    return 0;
}

/* xorshift64*: a fixed seed keeps palettes reproducible from run to run. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Clustering distance: lightness counts half, so the shading of one surface (a wall
 * from lit to shadowed) stays one colour while a differently hued accent of similar
 * lightness (a green rug on a brown floor) gets its own cluster. */
#define L_WEIGHT 0.5
static double dist2(const double *a, const double *b)
{
    double d0 = (a[0] - b[0]) * L_WEIGHT, d1 = a[1] - b[1], d2 = a[2] - b[2];
    return d0 * d0 + d1 * d1 + d2 * d2;
}

static int cmp_share(const void *a, const void *b)
{
    const design_color *x = a, *y = b;
    return (x->share < y->share) - (x->share > y->share);
}

int design_palette(const design_kb *kb, const design_pixels *px, int k, design_color *out, err *e)
{
    if (check_pixels(px, e)) return -1;
    if (k < 1 || k > 16) {
        err_set(e, 422, "palette size %d is outside 1..16", k);
        return -1;
    }
    init_tables();
    const uint8_t **pts = xmalloc(MAX_SAMPLES * sizeof *pts);
    size_t n = sample_grid(px, pts);
    double *lab = xmalloc(n * 3 * sizeof *lab), *d2 = xmalloc(n * sizeof *d2);
    int *assign = xmalloc(n * sizeof *assign);
    for (size_t i = 0; i < n; i++) design_rgb_to_lab(pts[i], lab + 3 * i);

    /* k-means++ seeding; stops early when every point already sits on a centre (an
     * image with fewer colours than k). */
    double cent[16][3];
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int kk = 0;
    memcpy(cent[kk++], lab + 3 * (rng_next(&rng) % n), sizeof cent[0]);
    for (size_t i = 0; i < n; i++) d2[i] = dist2(lab + 3 * i, cent[0]);
    while (kk < k) {
        double total = 0;
        for (size_t i = 0; i < n; i++) total += d2[i];
        if (total < 1e-9) break;
        double r = (double)(rng_next(&rng) >> 11) / (double)(1ull << 53) * total;
        size_t pick = n - 1;
        for (size_t i = 0; i < n; i++) {
            r -= d2[i];
            if (r <= 0) {
                pick = i;
                break;
            }
        }
        memcpy(cent[kk++], lab + 3 * pick, sizeof cent[0]);
        for (size_t i = 0; i < n; i++) {
            double d = dist2(lab + 3 * i, cent[kk - 1]);
            if (d < d2[i]) d2[i] = d;
        }
    }

    /* Lloyd iterations until no point changes cluster. */
    double sum[16][3];
    size_t cnt[16];
    for (size_t i = 0; i < n; i++) assign[i] = -1;
    for (int it = 0; it < 50; it++) {
        bool changed = false;
        memset(sum, 0, sizeof sum);
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++) {
            int best = 0;
            double bd = INFINITY;
            for (int c = 0; c < kk; c++) {
                double d = dist2(lab + 3 * i, cent[c]);
                if (d < bd) {
                    bd = d;
                    best = c;
                }
            }
            if (assign[i] != best) changed = true;
            assign[i] = best;
            for (int j = 0; j < 3; j++) sum[best][j] += lab[3 * i + j];
            cnt[best]++;
        }
        for (int c = 0; c < kk; c++)
            if (cnt[c])
                for (int j = 0; j < 3; j++) cent[c][j] = sum[c][j] / (double)cnt[c];
        if (!changed) break;
    }

    /* The sRGB of a cluster is the mean of its members' sRGB, which is what a designer
     * would pick with an eyedropper. */
    double rgbsum[16][3];
    memset(rgbsum, 0, sizeof rgbsum);
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < 3; j++) rgbsum[assign[i]][j] += pts[i][j];
        cnt[assign[i]]++;
    }
    int m = 0;
    for (int c = 0; c < kk; c++) {
        if (!cnt[c]) continue;
        design_color *o = &out[m++];
        memcpy(o->lab, cent[c], sizeof o->lab);
        for (int j = 0; j < 3; j++) o->rgb[j] = (uint8_t)lround(rgbsum[c][j] / (double)cnt[c]);
        o->share = (double)cnt[c] / (double)n;
        o->name = kb ? design_color_name(kb, o->lab) : NULL;
    }
    qsort(out, (size_t)m, sizeof *out, cmp_share);
    free(lab);
    free(d2);
    free(assign);
    free(pts);
    return m;
}
