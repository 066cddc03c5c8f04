/* From raw model outputs to boxes: the Ultralytics and YOLOX heads, and NMS. */
#include "vision/yolo/yolo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A stride-2 convolution with padding 1 gives ceil(n / 2); the heads sit after 3, 4 and 5
 * of them. */
int yolo_anchor_count(int w, int h)
{
    int n = 0;
    for (int s = 1; s <= 5; s++) {
        w = (w + 1) / 2;
        h = (h + 1) / 2;
        if (s >= 3) n += w * h;
    }
    return n;
}

static void put(yolo_det *dst, int cap, int n, float cx, float cy, float w, float h, float score,
                int cls)
{
    if (n >= cap) return;
    /* Ultralytics' xywh2xyxy: centre minus half the size, in float. */
    float hw = w / 2, hh = h / 2;
    dst[n] = (yolo_det){cx - hw, cy - hh, cx + hw, cy + hh, score, cls};
}

int yolo_decode_ultralytics(const float *out, int nc, int anchors, float conf, yolo_det *dst,
                            int cap)
{
    if (nc <= 0 || anchors <= 0) return 0;
    /* Rows are classes: walk them in memory order, keeping each anchor's best. The first
     * of equal scores wins, as torch.max does. */
    float *best = xmalloc((size_t)anchors * sizeof *best);
    int *arg = xcalloc((size_t)anchors, sizeof *arg);
    memcpy(best, out + (size_t)4 * (size_t)anchors, (size_t)anchors * sizeof *best);
    for (int c = 1; c < nc; c++) {
        const float *row = out + (size_t)(4 + c) * (size_t)anchors;
        for (int a = 0; a < anchors; a++)
            if (row[a] > best[a]) {
                best[a] = row[a];
                arg[a] = c;
            }
    }
    int n = 0;
    for (int a = 0; a < anchors; a++) {
        if (!(best[a] > conf)) continue;
        put(dst, cap, n++, out[a], out[(size_t)anchors + a], out[(size_t)2 * anchors + a],
            out[(size_t)3 * anchors + a], best[a], arg[a]);
    }
    free(best);
    free(arg);
    return n;
}

bool yolo_yolox_is_decoded(const float *out, int nc, int anchors)
{
    /* Raw x offsets are fractions of a cell (|dx| around 0.5); decoded centres are pixels
     * spread over the whole input (mean about half its width). */
    double sum = 0;
    for (int a = 0; a < anchors; a++) sum += fabs(out[(size_t)a * (size_t)(5 + nc)]);
    return anchors > 0 && sum / anchors > 4.0;
}

int yolo_decode_yolox(const float *out, int nc, int in_w, int in_h, bool decoded, float conf,
                      yolo_det *dst, int cap)
{
    int n = 0, a = 0;
    size_t row = (size_t)(5 + nc);
    int gw = in_w, gh = in_h;
    for (int s = 1; s <= 5; s++) {
        gw = (gw + 1) / 2;
        gh = (gh + 1) / 2;
        if (s < 3) continue;
        float stride = (float)(1 << s);
        for (int gy = 0; gy < gh; gy++)
            for (int gx = 0; gx < gw; gx++, a++) {
                const float *p = out + (size_t)a * row;
                float bc = p[5];
                int arg = 0;
                for (int c = 1; c < nc; c++)
                    if (p[5 + c] > bc) {
                        bc = p[5 + c];
                        arg = c;
                    }
                float score = p[4] * bc;
                if (!(score > conf)) continue;
                float cx = p[0], cy = p[1], w = p[2], h = p[3];
                if (!decoded) {
                    cx = (cx + (float)gx) * stride;
                    cy = (cy + (float)gy) * stride;
                    w = expf(w) * stride;
                    h = expf(h) * stride;
                }
                put(dst, cap, n++, cx, cy, w, h, score, arg);
            }
    }
    return n;
}

float yolo_iou(const yolo_det *a, const yolo_det *b)
{
    float iw = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
    float ih = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
    if (!(iw > 0) || !(ih > 0)) return 0;
    float inter = iw * ih;
    float area_a = (a->x2 - a->x1) * (a->y2 - a->y1);
    float area_b = (b->x2 - b->x1) * (b->y2 - b->y1);
    return inter / (area_a + area_b - inter);
}

typedef struct ranked {
    float score;
    int index;
} ranked;

static int by_score(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

int yolo_nms(yolo_det *d, int n, float iou, int max_det)
{
    if (n <= 0 || max_det <= 0) return 0;
    ranked *order = xmalloc((size_t)n * sizeof *order);
    for (int i = 0; i < n; i++) order[i] = (ranked){d[i].score, i};
    qsort(order, (size_t)n, sizeof *order, by_score);
    yolo_det *sorted = xmalloc((size_t)n * sizeof *sorted);
    for (int i = 0; i < n; i++) sorted[i] = d[order[i].index];
    free(order);
    /* Greedy in score order; a box is compared only with the kept boxes of its class.
     * Stopping at max_det gives what torchvision's NMS followed by [:max_det] gives. */
    int kept = 0;
    for (int i = 0; i < n && kept < max_det; i++) {
        bool keep = true;
        for (int k = 0; k < kept && keep; k++)
            if (d[k].cls == sorted[i].cls && yolo_iou(&d[k], &sorted[i]) > iou) keep = false;
        if (keep) d[kept++] = sorted[i];
    }
    free(sorted);
    return kept;
}
