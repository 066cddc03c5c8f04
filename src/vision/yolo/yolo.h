/*
 * yolo — object detection with YOLO models in ONNX: any Ultralytics detection export
 * (YOLOv8, YOLO11; n…x; any input size; fp32 or quantised) and YOLOX. Pre-processing,
 * decoding, per-class NMS and boxes back in photo pixels; class names; the original
 * service's interior filter and names.
 *
 *     yolo_params p = yolo_default_params();
 *     yolo *y = yolo_load("models/yolov8n.onnx", &p, &e);      // shared by threads
 *     img_decode_params dp = img_decode_default_params();
 *     img *photo = img_decode(bytes, len, &dp, NULL, &e);
 *     yolo_input in;
 *     yolo_prepare(y, photo, &in);                              // letterboxed, cacheable
 *     yolo_det *d; int n = yolo_detect(y, &in, 0.25f, 0.45f, &d, NULL, &e);
 *     for (int i = 0; i < n; i++)
 *         printf("%s %.2f %.0f %.0f %.0f %.0f\n", yolo_class_name(y, d[i].cls), d[i].score,
 *                d[i].x1, d[i].y1, d[i].x2, d[i].y2);
 *     free(d); yolo_input_free(&in); img_free(photo); yolo_free(y);
 *
 * Families, told apart by the model's output shape for its input size (anchors = the
 * cells of the stride 8, 16 and 32 grids):
 * - Ultralytics: input RGB / 255, letterboxed (centred, pad 114) to the model's input
 *   size; output [1, 4 + nc, anchors] of cx, cy, w, h in input pixels and class scores.
 *   Candidates are anchors whose best class score is above conf; NMS per class
 *   (torchvision's: IoU > iou suppresses); at most 300 kept, by score. Boxes go back to
 *   the photo as Ultralytics' scale_boxes does, clipped to it.
 * - YOLOX: input BGR 0..255, resized by min(W/w, H/h) into the top-left corner (pad 114)
 *   as YOLOX's own preproc; output [1, anchors, 5 + nc] of grid offsets, log sizes,
 *   objectness and class scores (exports with decode_in_inference, whose boxes are
 *   already in pixels, are recognised by their magnitudes); score = objectness × best
 *   class score.
 * Class names: the model's metadata `names` (a Python dict or list literal, as
 * Ultralytics writes it), else a names file (params.names_path, else coco.names beside
 * the model), else the 80 COCO names when the model has 80 classes, else "class<N>".
 *
 * Threading: a yolo is read-only after loading; yolo_detect may run on any number of
 * threads at once (each takes an engine session from the model's pool).
 */
#ifndef ARTISTRY_YOLO_H
#define ARTISTRY_YOLO_H

#include "core/core.h"
#include "image/image.h"
#include "nn/nn.h"

#include <stdbool.h>

typedef enum yolo_family {
    YOLO_ULTRALYTICS,
    YOLO_YOLOX,
} yolo_family;

typedef struct yolo_params {
    int threads;            /* engine threads per run; 0: $NN_THREADS, else every core */
    nn_precision precision; /* default fp32 */
    const char *names_path; /* a names file (one per line) to use when the model has none */
    int max_det;            /* detections kept after NMS (Ultralytics' max_det, 300) */
} yolo_params;

yolo_params yolo_default_params(void);

typedef struct yolo yolo;

/* Loads a model and works out its family, input size and class names. Returns NULL with
 * e set: 404 missing file, 400 a file that is not ONNX or not a detector we know (the
 * message names the input and output shapes it found). */
yolo *yolo_load(const char *path, const yolo_params *p, err *e);
void yolo_free(yolo *y);

yolo_family yolo_model_family(const yolo *y);
const char *yolo_family_name(yolo_family f); /* "ultralytics", "yolox" */
void yolo_input_size(const yolo *y, int *w, int *h);
int yolo_class_count(const yolo *y);
/* The class's name; lives as long as y. */
const char *yolo_class_name(const yolo *y, int cls);
/* Where the names came from: "metadata", a file path, "coco" or "numbers". */
const char *yolo_names_source(const yolo *y);
/* "fp32", "bf16", or "int8" for a quantised model (ConvInteger, QLinearConv, ...). */
const char *yolo_precision(const yolo *y);
const nn_model *yolo_nn(const yolo *y);

/* The model's input made from a photo: the letterboxed image and how to map back. It
 * depends only on the photo and the model's input size, so it may be cached per photo. */
typedef struct yolo_input {
    img *canvas; /* input-size RGB image (owned) */
    int photo_w, photo_h;
    double scale;     /* model pixels per photo pixel */
    int pad_x, pad_y; /* where the photo starts in the canvas (YOLOX: 0, 0) */
    img_letterbox lb; /* Ultralytics: the letterbox geometry */
    yolo_family family;
} yolo_input;

/* Fills in from photo (RGB). Never fails. */
void yolo_prepare(const yolo *y, const img *photo, yolo_input *in);
/* The float tensor the model reads, 3 x height x width (RGB / 255, or BGR 0..255 for
 * YOLOX), into dst. */
void yolo_tensor(const yolo *y, const yolo_input *in, float *dst);
void yolo_input_free(yolo_input *in);
/* Bytes held by an input (for cache accounting). */
size_t yolo_input_bytes(const yolo_input *in);

typedef struct yolo_det {
    float x1, y1, x2, y2; /* photo pixels, clipped to the photo */
    float score;
    int cls;
} yolo_det;

/* Milliseconds spent in a yolo_detect call, for Server-Timing and benchmarks. */
typedef struct yolo_timing {
    double tensor_ms, infer_ms, post_ms;
} yolo_timing;

/* Runs the model on a prepared input. conf and iou in [0, 1]. Returns the number of
 * detections (sorted by score, highest first) and *out, malloc'ed (free(); NULL when 0);
 * -1 with e set when the engine fails (500, with the engine's message). t may be NULL. */
int yolo_detect(yolo *y, const yolo_input *in, float conf, float iou, yolo_det **out,
                yolo_timing *t, err *e);

/* ---------------------------------------------------------------- building blocks */

/* Candidates of an Ultralytics output [4 + nc, anchors] (channel-major) with best class
 * score > conf, as xyxy boxes in input pixels. Writes at most cap; returns how many it
 * found (which may exceed cap). */
int yolo_decode_ultralytics(const float *out, int nc, int anchors, float conf, yolo_det *dst,
                            int cap);
/* Candidates of a YOLOX output [anchors, 5 + nc] for an input of in_w x in_h, raw grid
 * outputs (decoded = false) or boxes already in pixels (true); score = obj × best class,
 * kept when > conf. Same return as above. */
int yolo_decode_yolox(const float *out, int nc, int in_w, int in_h, bool decoded, float conf,
                      yolo_det *dst, int cap);
/* True when a YOLOX output looks decoded (sizes in pixels rather than log sizes). */
bool yolo_yolox_is_decoded(const float *out, int nc, int anchors);
/* Number of cells of the stride 8, 16 and 32 grids for an input of w x h. */
int yolo_anchor_count(int w, int h);
/* Per-class NMS in place, torchvision's rule: sort by score (descending, stable), keep a
 * box unless a kept box of its class overlaps it with IoU > iou. Keeps at most max_det.
 * Returns the number kept, at the front of d in score order. */
int yolo_nms(yolo_det *d, int n, float iou, int max_det);
float yolo_iou(const yolo_det *a, const yolo_det *b);

/* Class names from Ultralytics' metadata: "{0: 'person', 1: 'bicycle'}" (a Python dict
 * literal with int keys 0..n-1, in any order) or "['person', 'bicycle']". Strings may be
 * single- or double-quoted with Python escapes. Returns the count and *names (one
 * malloc'ed array of n pointers followed by the strings; free(*names)), or -1 with e
 * (400 naming the position). */
int yolo_parse_names(const char *text, size_t len, char ***names, err *e);
/* The 80 COCO class names in model order, as Ultralytics spells them. */
extern const char *const yolo_coco_names[80];

/* The original detect service's interior filter and renames (CONTRACT §5, §11.3):
 * NULL when the raw COCO name is not an interior class, else the name to show
 * ("couch" → "sofa", "bed" → "bed"). */
const char *yolo_interior_label(const char *raw);

#endif
