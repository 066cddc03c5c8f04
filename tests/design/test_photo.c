/* Photo analysis on synthetic images whose answer is known: lighting from luminance and
 * colour temperature, palette colours within ΔE 10 of the colours painted. */
#include "design/design.h"
#include "golden.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static design_kb *kb;

static void setup(void)
{
    err e = {0};
    kb = design_kb_load(golden_source_path("data"), &e);
    cr_assert_not_null(kb, "%s", e.msg);
}

static void teardown(void)
{
    design_kb_free(kb);
}

typedef struct img {
    uint8_t *px;
    int w, h;
} img;

static img img_new(int w, int h)
{
    img m = {calloc((size_t)w * h, 3), w, h};
    return m;
}

static design_pixels view(const img *m)
{
    return (design_pixels){m->px, m->w, m->h, (size_t)m->w * 3};
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* A room-like gradient: each row is the light colour scaled from 15 % to 100 %. */
static img lit_scene(const int light[3], int w, int h)
{
    img m = img_new(w, h);
    for (int y = 0; y < h; y++) {
        double k = 0.15 + 0.85 * y / (h - 1);
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) m.px[(y * w + x) * 3 + c] = clamp8((int)(light[c] * k));
    }
    return m;
}

Test(lighting, black_image_is_dim, .init = setup, .fini = teardown)
{
    img m = img_new(64, 48);
    design_pixels p = view(&m);
    design_lighting l;
    err e = {0};
    cr_assert_eq(design_analyze_lighting(&p, &l, &e), 0, "%s", e.msg);
    cr_assert_eq(l.kind, DESIGN_LIGHT_DIM);
    cr_assert_float_eq(l.mean_luminance, 0.0, 1e-9);
    cr_assert_float_eq(l.dark_fraction, 1.0, 1e-9);
    free(m.px);
}

Test(lighting, neutral_daylight_is_natural, .init = setup, .fini = teardown)
{
    const int white[3] = {250, 250, 250}; /* sRGB white is D65: about 6500 K */
    img m = lit_scene(white, 200, 150);
    design_pixels p = view(&m);
    design_lighting l;
    err e = {0};
    cr_assert_eq(design_analyze_lighting(&p, &l, &e), 0);
    cr_assert_eq(l.kind, DESIGN_LIGHT_NATURAL, "got %s at %.0f K", design_lighting_name(l.kind),
                 l.cct_kelvin);
    cr_assert(l.cct_kelvin > 6000 && l.cct_kelvin < 7000, "%.0f K", l.cct_kelvin);
    free(m.px);
}

Test(lighting, tungsten_is_artificial, .init = setup, .fini = teardown)
{
    const int tungsten[3] = {255, 169, 87}; /* a white wall under 2700 K light */
    img m = lit_scene(tungsten, 200, 150);
    design_pixels p = view(&m);
    design_lighting l;
    err e = {0};
    cr_assert_eq(design_analyze_lighting(&p, &l, &e), 0);
    cr_assert_eq(l.kind, DESIGN_LIGHT_ARTIFICIAL, "got %s at %.0f K", design_lighting_name(l.kind),
                 l.cct_kelvin);
    cr_assert(l.cct_kelvin > 2300 && l.cct_kelvin < 3300, "%.0f K", l.cct_kelvin);
    free(m.px);
}

Test(lighting, half_daylight_half_lamp_is_mixed, .init = setup, .fini = teardown)
{
    const int white[3] = {250, 250, 250}, tungsten[3] = {255, 169, 87};
    img a = lit_scene(white, 100, 150), b = lit_scene(tungsten, 100, 150);
    img m = img_new(200, 150);
    for (int y = 0; y < 150; y++) {
        memcpy(m.px + (size_t)y * 600, a.px + (size_t)y * 300, 300);
        memcpy(m.px + (size_t)y * 600 + 300, b.px + (size_t)y * 300, 300);
    }
    design_pixels p = view(&m);
    design_lighting l;
    err e = {0};
    cr_assert_eq(design_analyze_lighting(&p, &l, &e), 0);
    cr_assert_eq(l.kind, DESIGN_LIGHT_MIXED, "got %s at %.0f K", design_lighting_name(l.kind),
                 l.cct_kelvin);
    free(a.px);
    free(b.px);
    free(m.px);
}

Test(lighting, empty_image_is_an_error)
{
    design_pixels p = {NULL, 0, 0, 0};
    design_lighting l;
    err e = {0};
    cr_assert_eq(design_analyze_lighting(&p, &l, &e), -1);
    cr_assert_eq(e.status, 422);
}

/* Blocks of known colours with ±8 uniform noise per channel; shares 50/30/20 %. */
Test(palette, colours_within_delta_e_10, .init = setup, .fini = teardown)
{
    static const uint8_t truth[3][3] = {{214, 195, 160}, {116, 80, 47}, {63, 122, 58}};
    static const char *const names[3] = {"beige", "brown", "green"};
    const int w = 300, h = 200;
    img m = img_new(w, h);
    uint32_t s = 7;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int b = x < 150 ? 0 : x < 240 ? 1 : 2;
            for (int c = 0; c < 3; c++)
                m.px[(y * w + x) * 3 + c] = clamp8(truth[b][c] + (int)(lcg(&s) % 17) - 8);
        }
    design_pixels p = view(&m);
    design_color pal[8];
    err e = {0};
    int n = design_palette(kb, &p, 8, pal, &e);
    cr_assert_gt(n, 0, "%s", e.msg);
    double tl[3][3];
    for (int t = 0; t < 3; t++) design_rgb_to_lab(truth[t], tl[t]);
    /* Every palette colour is one of the painted colours... */
    for (int i = 0; i < n; i++) {
        double best = INFINITY;
        for (int t = 0; t < 3; t++) best = fmin(best, design_delta_e(pal[i].lab, tl[t]));
        cr_assert_lt(best, 10.0, "palette colour %d is ΔE %.1f from every painted colour", i, best);
    }
    /* ...every painted colour is in the palette, with its share and its name. */
    const double share[3] = {0.5, 0.3, 0.2};
    for (int t = 0; t < 3; t++) {
        double got = 0;
        bool named = false;
        for (int i = 0; i < n; i++)
            if (design_delta_e(pal[i].lab, tl[t]) < 10) {
                got += pal[i].share;
                named = named || strcmp(pal[i].name, names[t]) == 0;
            }
        cr_assert_float_eq(got, share[t], 0.02, "colour %d share %.3f", t, got);
        cr_assert(named, "colour %d not named %s", t, names[t]);
    }
    /* Sorted by share, largest first; shares add up to one. */
    double sum = 0;
    for (int i = 0; i < n; i++) {
        sum += pal[i].share;
        if (i) cr_assert_geq(pal[i - 1].share, pal[i].share);
    }
    cr_assert_float_eq(sum, 1.0, 1e-9);
    free(m.px);
}

Test(palette, flat_image_gives_one_colour, .init = setup, .fini = teardown)
{
    img m = img_new(40, 30);
    memset(m.px, 128, 40 * 30 * 3);
    design_pixels p = view(&m);
    design_color pal[8];
    err e = {0};
    cr_assert_eq(design_palette(kb, &p, 8, pal, &e), 1);
    cr_assert_float_eq(pal[0].share, 1.0, 1e-9);
    cr_assert_eq(pal[0].rgb[0], 128);
    cr_assert_eq(design_palette(kb, &p, 0, pal, &e), -1);
    free(m.px);
}

Test(vision, photo_adds_analysis_and_room_size, .init = setup, .fini = teardown)
{
    const int white[3] = {250, 250, 250};
    img m = lit_scene(white, 100, 100);
    design_pixels p = view(&m);
    err e = {0};
    /* A bed box covering 64 % of the frame: a small room. */
    const char *dd = "{\"objects\":[\"bed\",\"book\"],\"bounding_boxes\":[{\"x1\":10,\"y1\":10,"
                     "\"x2\":90,\"y2\":90},{\"x1\":0,\"y1\":0,\"x2\":100,\"y2\":100}]}";
    json_t *r = design_vision_analyze(kb, dd, &p, &e);
    cr_assert_not_null(r, "%s", e.msg);
    cr_assert_str_eq(json_string_value(json_object_get(r, "room_type")), "bedroom");
    cr_assert_str_eq(json_string_value(json_object_get(r, "lighting")), "natural");
    cr_assert_str_eq(json_string_value(json_object_get(r, "room_size")), "small");
    json_t *a = json_object_get(r, "analysis");
    cr_assert_not_null(a);
    double cov =
        json_real_value(json_object_get(json_object_get(a, "room_size"), "furniture_coverage"));
    cr_assert_float_eq(cov, 0.64, 0.02); /* the book is not furniture */
    const char *keys[] = {"lighting", "palette", "room_type", "room_size"};
    for (int i = 0; i < 4; i++)
        cr_assert(json_is_string(json_object_get(json_object_get(a, keys[i]), "derived_from")),
                  "%s says how it was derived", keys[i]);
    json_decref(r);
    /* Without boxes the size is the default, and says so. */
    r = design_vision_analyze(kb, "{\"objects\":[\"sofa\"]}", &p, &e);
    cr_assert_str_eq(json_string_value(json_object_get(r, "room_type")), "living room");
    cr_assert_str_eq(json_string_value(json_object_get(r, "room_size")), "medium");
    json_decref(r);
    /* Unparsable detection data counts as no objects, as in the original. */
    r = design_vision_analyze(kb, "{not json", NULL, &e);
    cr_assert_str_eq(json_string_value(json_object_get(r, "room_type")), "bedroom");
    cr_assert_eq(json_object_size(r), 4);
    json_decref(r);
    free(m.px);
}
