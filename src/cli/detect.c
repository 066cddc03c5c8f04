/* artistry detect: run a YOLO model on photos from the command line, as the detect service
 * would, and optionally keep the model input it saw (for comparisons with other engines). */
#include "cli/cli.h"
#include "image/image.h"
#include "models/models.h"
#include "vision/yolo/yolo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: artistry detect PHOTO... [--model FILE] [--conf X] [--iou X] [--interior]\n"
            "                       [--save-input FILE.npy [--input-only]] [--json]\n"
            "\n"
            "Detects objects in each photo with a YOLO model (default $MODEL_PATH, else\n"
            "$ARTISTRY_MODELS/yolov8n.onnx) and prints one line per detection: label, score\n"
            "and the box in photo pixels (x1 y1 x2 y2). --conf (default 0.25) and --iou\n"
            "(0.45) are the thresholds; --interior applies the detect service's class filter\n"
            "and renames; --save-input writes the model input of the last photo as NumPy\n"
            "(--input-only: and runs nothing);\n"
            "--json prints one JSON object per photo with the letterbox geometry too.\n");
}

static int parse_unit(const char *s, const char *opt, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 1)) {
        fprintf(stderr, "artistry detect: %s: '%s' is not a number in [0, 1]\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

static void print_json(const char *photo, const yolo *y, const yolo_input *in, const yolo_det *d,
                       int n, bool interior)
{
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        const char *label = yolo_class_name(y, d[i].cls);
        if (interior && !(label = yolo_interior_label(label))) continue;
        json_array_append_new(list, json_pack("{s:s,s:i,s:f,s:[f,f,f,f]}", "label", label, "class",
                                              d[i].cls, "score", (double)d[i].score, "box",
                                              (double)d[i].x1, (double)d[i].y1, (double)d[i].x2,
                                              (double)d[i].y2));
    }
    json_t *o =
        json_pack("{s:s,s:i,s:i,s:f,s:[i,i],s:o}", "photo", photo, "width", in->photo_w, "height",
                  in->photo_h, "scale", in->scale, "pad", in->pad_x, in->pad_y, "detections", list);
    char *text = http_json_dumps(o, NULL);
    printf("%s\n", text);
    free(text);
    json_decref(o);
}

static int save_input(const yolo *y, const yolo_input *in, const char *path)
{
    int w, h;
    yolo_input_size(y, &w, &h);
    float *x = xmalloc((size_t)3 * (size_t)w * (size_t)h * sizeof *x);
    yolo_tensor(y, in, x);
    nn_tensor t = {.dtype = NN_F32, .rank = 4, .shape = {1, 3, h, w}, .data = x};
    err e = {0};
    int rc = nn_npy_write(path, &t, &e);
    if (rc != 0) fprintf(stderr, "artistry detect: %s\n", e.msg);
    free(x);
    return rc;
}

int cli_detect(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *model = getenv("MODEL_PATH"), *npy = NULL;
    char *default_model = NULL;
    double conf = 0.25, iou = 0.45;
    bool interior = false, json = false, input_only = false;
    const char **photos = xcalloc((size_t)argc, sizeof *photos);
    int n_photos = 0, rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "--model") == 0 && has)
            model = argv[++i];
        else if (strcmp(a, "--conf") == 0 && has)
            rc = parse_unit(argv[++i], a, &conf);
        else if (strcmp(a, "--iou") == 0 && has)
            rc = parse_unit(argv[++i], a, &iou);
        else if (strcmp(a, "--save-input") == 0 && has)
            npy = argv[++i];
        else if (strcmp(a, "--interior") == 0)
            interior = true;
        else if (strcmp(a, "--json") == 0)
            json = true;
        else if (strcmp(a, "--input-only") == 0)
            input_only = true;
        else if (a[0] == '-') {
            fprintf(stderr, "artistry detect: unknown option '%s'\n\n", a);
            usage(stderr);
            rc = 2;
        } else
            photos[n_photos++] = a;
    }
    if (rc == 0 && n_photos == 0) {
        usage(stderr);
        rc = 2;
    }
    if (rc != 0) {
        free(photos);
        return rc == -1 ? 2 : rc;
    }
    if (!model || !*model) model = default_model = models_path("yolov8n.onnx");
    err e = {0};
    yolo *y = yolo_load(model, NULL, &e);
    if (!y) {
        fprintf(stderr, "artistry detect: %s\n", e.msg);
        free(default_model);
        free(photos);
        return 1;
    }
    for (int p = 0; p < n_photos; p++) {
        size_t len;
        char *bytes = file_read(photos[p], &len, &e);
        img *photo = bytes ? img_decode(bytes, len, NULL, NULL, &e) : NULL;
        free(bytes);
        if (!photo) {
            fprintf(stderr, "artistry detect: %s: %s\n", photos[p], e.msg);
            rc = 1;
            continue;
        }
        yolo_input in;
        yolo_prepare(y, photo, &in);
        yolo_det *d = NULL;
        int n = input_only ? 0 : yolo_detect(y, &in, (float)conf, (float)iou, &d, NULL, &e);
        if (n < 0) {
            fprintf(stderr, "artistry detect: %s: %s\n", photos[p], e.msg);
            rc = 1;
        } else if (json) {
            print_json(photos[p], y, &in, d, n, interior);
        } else if (!input_only) {
            if (n_photos > 1) printf("%s\n", photos[p]);
            for (int i = 0; i < n; i++) {
                const char *label = yolo_class_name(y, d[i].cls);
                if (interior && !(label = yolo_interior_label(label))) continue;
                printf("%-16s %.3f %8.1f %8.1f %8.1f %8.1f\n", label, (double)d[i].score,
                       (double)d[i].x1, (double)d[i].y1, (double)d[i].x2, (double)d[i].y2);
            }
        }
        free(d);
        if (npy && p == n_photos - 1 && save_input(y, &in, npy) != 0) rc = 1;
        yolo_input_free(&in);
        img_free(photo);
    }
    yolo_free(y);
    free(default_model);
    free(photos);
    return rc;
}
