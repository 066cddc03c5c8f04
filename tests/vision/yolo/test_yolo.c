/* vision/yolo: decoding both heads, NMS against a plain reference, class names, the
 * interior filter, and loading the shared models (family, input size, names, precision). */
#include "vision/yolo/yolo.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *shared_model(const char *name)
{
    const char *shared = getenv("ARTISTRY_SHARED");
    if (shared && *shared) return xasprintf("%s/models/%s", shared, name);
    return xasprintf("%s/../shared/models/%s", ARTISTRY_SOURCE_ROOT, name);
}

Test(yolo, anchor_counts)
{
    cr_assert_eq(yolo_anchor_count(640, 640), 8400);
    cr_assert_eq(yolo_anchor_count(416, 416), 3549);
    cr_assert_eq(yolo_anchor_count(320, 320), 2100);
    cr_assert_eq(yolo_anchor_count(640, 480), 80 * 60 + 40 * 30 + 20 * 15);
}

/* [4 + nc, anchors], channel-major, as Ultralytics exports it. */
Test(yolo, decode_ultralytics)
{
    enum { NC = 3, A = 4 };
    float out[(4 + NC) * A] = {0};
    float box[A][4] = {{100, 50, 20, 10}, {10, 10, 4, 4}, {300, 200, 60, 40}, {5, 5, 2, 2}};
    float cls[A][NC] = {
        {0.1f, 0.8f, 0.2f}, {0.3f, 0.3f, 0.1f}, {0.2f, 0.2f, 0.25f}, {0.9f, 0.0f, 0.0f}};
    for (int a = 0; a < A; a++) {
        for (int k = 0; k < 4; k++) out[k * A + a] = box[a][k];
        for (int c = 0; c < NC; c++) out[(4 + c) * A + a] = cls[a][c];
    }
    yolo_det d[A];
    int n = yolo_decode_ultralytics(out, NC, A, 0.25f, d, A);
    cr_assert_eq(n, 3, "anchor 2's best (0.25) is not above 0.25");
    cr_assert_eq(d[0].cls, 1);
    cr_assert_float_eq(d[0].score, 0.8f, 0);
    cr_assert_float_eq(d[0].x1, 90, 0);
    cr_assert_float_eq(d[0].y1, 45, 0);
    cr_assert_float_eq(d[0].x2, 110, 0);
    cr_assert_float_eq(d[0].y2, 55, 0);
    cr_assert_eq(d[1].cls, 0, "equal scores: the first class wins");
    cr_assert_eq(d[2].cls, 0);
    cr_assert_float_eq(d[2].x1, 4, 0);
    /* cap: counts every candidate, writes only cap */
    cr_assert_eq(yolo_decode_ultralytics(out, NC, A, 0.0f, d, 1), 4);
}

Test(yolo, decode_yolox_grid)
{
    /* 32x32 input: grids 4x4 (stride 8), 2x2 (16), 1x1 (32): 21 anchors. */
    enum { NC = 2, A = 21, R = 5 + NC };
    float out[A * R];
    memset(out, 0, sizeof out);
    int a = 16 + 1; /* stride 16, gx = 1, gy = 0 */
    float *p = out + a * R;
    p[0] = 0.5f;
    p[1] = 0.5f;
    p[2] = logf(2.0f);
    p[3] = 0.0f;
    p[4] = 0.9f;
    p[5] = 0.2f;
    p[6] = 0.5f;
    cr_assert(!yolo_yolox_is_decoded(out, NC, A));
    yolo_det d[A];
    int n = yolo_decode_yolox(out, NC, 32, 32, false, 0.3f, d, A);
    cr_assert_eq(n, 1);
    cr_assert_eq(d[0].cls, 1);
    cr_assert_float_eq(d[0].score, 0.45f, 1e-6);
    /* cx = (0.5 + 1) * 16 = 24, cy = 8, w = 2 * 16, h = 16 */
    cr_assert_float_eq(d[0].x1, 8, 1e-4);
    cr_assert_float_eq(d[0].y1, 0, 1e-4);
    cr_assert_float_eq(d[0].x2, 40, 1e-4);
    cr_assert_float_eq(d[0].y2, 16, 1e-4);

    /* Already decoded: pixel boxes pass through. */
    for (int i = 0; i < A; i++) out[i * R] = 100.0f + (float)i;
    cr_assert(yolo_yolox_is_decoded(out, NC, A));
    n = yolo_decode_yolox(out, NC, 32, 32, true, 0.3f, d, A);
    cr_assert_eq(n, 1);
    cr_assert_float_eq(d[0].x1, 117 - logf(2.0f) / 2, 1e-4);
}

Test(yolo, iou)
{
    yolo_det a = {0, 0, 10, 10, 1, 0}, b = {5, 0, 15, 10, 1, 0}, c = {20, 20, 30, 30, 1, 0};
    cr_assert_float_eq(yolo_iou(&a, &b), 50.0f / 150.0f, 1e-7);
    cr_assert_float_eq(yolo_iou(&a, &a), 1.0f, 0);
    cr_assert_float_eq(yolo_iou(&a, &c), 0.0f, 0);
}

Test(yolo, nms_rules)
{
    yolo_det d[] = {
        {0, 0, 10, 10, 0.5f, 0}, /* overlaps the 0.9 box of its class: IoU 0.667 */
        {0, 0, 10, 15, 0.9f, 0},   {0, 0, 10, 10, 0.7f, 1}, /* same place, other class: kept */
        {5, 0, 15, 10, 0.6f, 1},                            /* IoU 1/3 with the 0.7 box */
        {50, 50, 60, 60, 0.6f, 0},
    };
    yolo_det a[5];
    memcpy(a, d, sizeof d);
    int n = yolo_nms(a, 5, 0.5f, 300);
    cr_assert_eq(n, 4);
    cr_assert_float_eq(a[0].score, 0.9f, 0);
    cr_assert_float_eq(a[1].score, 0.7f, 0);
    cr_assert_eq(a[2].cls, 1, "equal scores keep their input order");
    cr_assert_eq(a[3].cls, 0);
    /* IoU exactly at the threshold does not suppress (torchvision: IoU > threshold) */
    memcpy(a, d, sizeof d);
    n = yolo_nms(a + 2, 2, 50.0f / 150.0f, 300);
    cr_assert_eq(n, 2);
    memcpy(a, d, sizeof d);
    cr_assert_eq(yolo_nms(a, 5, 0.5f, 2), 2);
    cr_assert_eq(yolo_nms(a, 0, 0.5f, 300), 0);
}

/* torchvision's algorithm written plainly: sort, then each kept box suppresses the
 * later ones of its class above the threshold. */
static int reference_nms(const yolo_det *in, int n, float iou, yolo_det *out)
{
    int *order = malloc((size_t)n * sizeof *order);
    bool *dead = calloc((size_t)n, 1);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && in[order[j]].score > in[order[j - 1]].score; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (dead[i]) continue;
        const yolo_det *a = &in[order[i]];
        out[k++] = *a;
        for (int j = i + 1; j < n; j++) {
            const yolo_det *b = &in[order[j]];
            if (b->cls != a->cls) continue;
            float iw = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
            float ih = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
            if (iw <= 0 || ih <= 0) continue;
            float inter = iw * ih;
            float u = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
            if (inter / u > iou) dead[j] = true;
        }
    }
    free(order);
    free(dead);
    return k;
}

Test(yolo, nms_matches_reference_on_random_boxes)
{
    srand(7);
    for (int round = 0; round < 200; round++) {
        int n = 1 + rand() % 120;
        yolo_det *d = malloc((size_t)n * sizeof *d), *ref = malloc((size_t)n * sizeof *ref);
        for (int i = 0; i < n; i++) {
            float x = (float)(rand() % 200), y = (float)(rand() % 200);
            d[i] = (yolo_det){x,
                              y,
                              x + 5 + (float)(rand() % 80),
                              y + 5 + (float)(rand() % 80),
                              (float)(rand() % 1000) / 1000.0f,
                              rand() % 3};
        }
        float iou = (float)(rand() % 100) / 100.0f;
        int nr = reference_nms(d, n, iou, ref);
        int k = yolo_nms(d, n, iou, 300);
        cr_assert_eq(k, nr, "round %d: %d kept, reference %d", round, k, nr);
        for (int i = 0; i < k; i++) {
            cr_assert_float_eq(d[i].score, ref[i].score, 0);
            cr_assert_float_eq(d[i].x1, ref[i].x1, 0);
            cr_assert_eq(d[i].cls, ref[i].cls);
        }
        free(d);
        free(ref);
    }
}

Test(yolo, names_dict_as_ultralytics_writes_it)
{
    const char *text = "{0: 'person', 2: \"it's\", 1: 'dining table', 3: 'caf\\xe9 \\u00e9\\\\'}";
    char **names;
    err e = {0};
    int n = yolo_parse_names(text, strlen(text), &names, &e);
    cr_assert_eq(n, 4, "%s", e.msg);
    cr_assert_str_eq(names[0], "person");
    cr_assert_str_eq(names[1], "dining table");
    cr_assert_str_eq(names[2], "it's");
    cr_assert_str_eq(names[3], "caf\xc3\xa9 \xc3\xa9\\");
    free(names);
}

Test(yolo, names_list)
{
    char **names;
    err e = {0};
    const char *text = "  ['a', 'b',]  ";
    cr_assert_eq(yolo_parse_names(text, strlen(text), &names, &e), 2, "%s", e.msg);
    cr_assert_str_eq(names[1], "b");
    free(names);
}

Test(yolo, names_errors)
{
    const char *bad[] = {
        "",
        "{",
        "{0: 'a'",
        "{0: 'a', 2: 'b'}",
        "{0: 'a', 0: 'b'}",
        "{0: 'a'} x",
        "{0 'a'}",
        "{0: a}",
        "{0: 'a\\q'}",
        "{0: 'a\\x4'}",
        "{0: 'a\\x00'}",
        "{0: 'abc}",
        "{-1: 'a'}",
        "{99999999999: 'a'}",
        "{}",
        "{0: 'a' 1: 'b'}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char **names = (char **)1;
        err e = {0};
        cr_assert_eq(yolo_parse_names(bad[i], strlen(bad[i]), &names, &e), -1, "accepted '%s'",
                     bad[i]);
        cr_assert_eq(e.status, 400);
        cr_assert(strstr(e.msg, "class names"), "%s", e.msg);
        cr_assert_null(names);
    }
}

Test(yolo, interior_filter_and_renames)
{
    /* CONTRACT §5: 47 COCO names pass, 33 do not. */
    int pass = 0;
    for (int i = 0; i < 80; i++) pass += yolo_interior_label(yolo_coco_names[i]) != NULL;
    cr_assert_eq(pass, 47);
    cr_assert_null(yolo_interior_label("toilet"));
    cr_assert_null(yolo_interior_label("dog"));
    cr_assert_null(yolo_interior_label("truck"));
    cr_assert_str_eq(yolo_interior_label("bed"), "bed");
    cr_assert_str_eq(yolo_interior_label("couch"), "sofa");
    cr_assert_str_eq(yolo_interior_label("dining table"), "table");
    cr_assert_str_eq(yolo_interior_label("potted plant"), "plant");
    cr_assert_str_eq(yolo_interior_label("tv"), "television");
    cr_assert_str_eq(yolo_interior_label("cell phone"), "phone");
    cr_assert_str_eq(yolo_interior_label("remote"), "remote control");
    /* names a model trained on them could give */
    cr_assert_str_eq(yolo_interior_label("lamp"), "lamp");
    cr_assert_str_eq(yolo_interior_label("window"), "window");
}

Test(yolo, loads_the_shared_models)
{
    struct {
        const char *file, *family, *precision, *names;
        int w, h;
    } cases[] = {
        {"yolov8n.onnx", "ultralytics", "fp32", "metadata", 640, 640},
        {"yolov8n-int8.onnx", "ultralytics", "int8", "metadata", 640, 640},
        {"yolo11n-int8-320.onnx", "ultralytics", "int8", "metadata", 320, 320},
        {"yolox-nano.onnx", "yolox", "fp32", "coco.names", 416, 416},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = shared_model(cases[i].file);
        err e = {0};
        yolo *y = yolo_load(path, NULL, &e);
        cr_assert_not_null(y, "%s: %s", path, e.msg);
        int w, h;
        yolo_input_size(y, &w, &h);
        cr_assert_eq(w, cases[i].w);
        cr_assert_eq(h, cases[i].h);
        cr_assert_str_eq(yolo_family_name(yolo_model_family(y)), cases[i].family);
        cr_assert_str_eq(yolo_precision(y), cases[i].precision, "%s", cases[i].file);
        cr_assert(strstr(yolo_names_source(y), cases[i].names), "%s: names from %s", cases[i].file,
                  yolo_names_source(y));
        cr_assert_eq(yolo_class_count(y), 80);
        cr_assert_str_eq(yolo_class_name(y, 57), "couch");
        cr_assert_str_eq(yolo_class_name(y, 80), "?");
        yolo_free(y);
        free(path);
    }
}

Test(yolo, refuses_what_is_not_a_detector)
{
    err e = {0};
    cr_assert_null(yolo_load("/nonexistent/model.onnx", NULL, &e));
    cr_assert_eq(e.status, 404);
    char path[] = "/tmp/yolo-test-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(write(fd, "not a model", 11) == 11);
    close(fd);
    cr_assert_null(yolo_load(path, NULL, &e));
    cr_assert_eq(e.status, 400);
    unlink(path);
}

Test(yolo, letterbox_geometry_and_mapping)
{
    char *path = shared_model("yolov8n.onnx");
    err e = {0};
    yolo *y = yolo_load(path, NULL, &e);
    cr_assert_not_null(y, "%s", e.msg);
    img *photo = img_new_zero(768, 576, 3);
    yolo_input in;
    yolo_prepare(y, photo, &in);
    cr_assert_eq(in.canvas->w, 640);
    cr_assert_eq(in.canvas->h, 640);
    cr_assert_eq(in.pad_x, 0);
    cr_assert_eq(in.pad_y, 80);
    cr_assert_eq(img_px(in.canvas, 0, 0)[0], 114, "padding is 114");
    cr_assert_eq(img_px(in.canvas, 320, 320)[0], 0, "the photo is inside");
    yolo_input_free(&in);
    yolo_free(y);
    free(path);

    /* YOLOX: scaled into the top-left corner, 416 x int(576 * 416 / 768) = 312 rows */
    path = shared_model("yolox-nano.onnx");
    y = yolo_load(path, NULL, &e);
    cr_assert_not_null(y, "%s", e.msg);
    yolo_prepare(y, photo, &in);
    cr_assert_eq(in.canvas->w, 416);
    cr_assert_eq(in.pad_x, 0);
    cr_assert_eq(in.pad_y, 0);
    cr_assert_float_eq(in.scale, 416.0 / 768.0, 1e-12);
    cr_assert_eq(img_px(in.canvas, 10, 311)[0], 0);
    cr_assert_eq(img_px(in.canvas, 10, 312)[0], 114);
    yolo_input_free(&in);
    yolo_free(y);
    free(path);
    img_free(photo);
}
