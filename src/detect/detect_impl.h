/* Private to src/detect: the service's settings, its model and its photo cache. */
#ifndef ARTISTRY_DETECT_IMPL_H
#define ARTISTRY_DETECT_IMPL_H

#include "detect/detect.h"
#include "image/image.h"
#include "vision/yolo/yolo.h"

typedef struct detect_cfg {
    const char *model_path;
    yolo_params yolo;
    bool preload;
    bool interior; /* the original's class filter and renames */
    double conf, iou;
    long cache_entries;
    size_t cache_bytes;
} detect_cfg;

extern detect_cfg detect_conf;

/* Time spent per step of one request, in ms; shown in Server-Timing and the log. */
typedef struct detect_timing {
    double decode, prep, tensor, infer, post, annotate, total;
    bool cached;
} detect_timing;

/* A decoded photo and the model input made from it, shared through the cache. */
typedef struct detect_photo {
    img *photo;
    yolo_input in;
    /* The annotated image last made for this photo, and a hash of the detections it
     * shows: the same photo through the same model gives the same boxes, so repeated
     * uploads skip the drawing and the JPEG encoder. Guarded by mu. */
    pthread_mutex_t mu;
    uint64_t annotated_key;
    char *annotated; /* "data:image/jpeg;base64,..." */
} detect_photo;

/* The model, loading it on first use. NULL with e (503, saying how to get the model). */
yolo *detect_model(err *e);
/* Fills o with the model's state for /health. */
void detect_model_health(json_t *o);

int detect_cache_init(err *e);
void detect_cache_free(void);
/* The photo for these bytes, from the cache or decoded now (and cached). NULL with e (the
 * decoder's 400/413/415/422). Give it back with detect_photo_release. */
detect_photo *detect_photo_get(yolo *y, const void *bytes, size_t len, detect_timing *t, err *e);
void detect_photo_release(detect_photo *p);
void detect_cache_health(json_t *o);
void detect_cache_metrics(http_strbuf *out, void *ud);

/* One detection as the API shows it: the label after the interior filter and renames,
 * coordinates truncated to ints. */
typedef struct detect_shown {
    const char *label;
    int x1, y1, x2, y2;
    float score;
} detect_shown;

/* The data URL of the photo with the boxes and captions drawn (CONTRACT §5: green 2 px
 * boxes, "<label> <score:.2f>" above each), made once per photo and set of boxes.
 * Returns a new JSON string, or NULL with e (500: the encoder failed). */
json_t *detect_annotate(detect_photo *p, const detect_shown *d, int n, err *e);

#endif
