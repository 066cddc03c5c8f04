/* Edge refinement as the original segment service does it (refine_mask_with_edges):
 * inside a 3x3-dilated band around the photo's Canny edges, a mask pixel survives only
 * where the mask's own Canny edge meets a photo edge; elsewhere the mask is unchanged. */
#include "vision/sam/sam.h"

#include <stdlib.h>

#define CANNY_LOW  50
#define CANNY_HIGH 150
/* Around a mask's non-zero pixels, the widest neighbourhood its Canny looks at: the Sobel
 * reads one pixel around, non-maximum suppression one more. Beyond that the mask is zero
 * and so are its gradients, so cropping there changes nothing. */
#define CROP_MARGIN 3

struct sam_edges {
    img *edges; /* Canny(gray(photo), 50, 150) */
    img *near;  /* dilate(edges, 3x3, 1) */
};

sam_edges *sam_edges_new(const img *photo)
{
    sam_edges *ed = xmalloc(sizeof *ed);
    img *gray = img_to_gray(photo);
    ed->edges = img_canny(gray, CANNY_LOW, CANNY_HIGH, false);
    img_free(gray);
    ed->near = img_dilate(ed->edges, 3, 3, 1);
    return ed;
}

void sam_edges_free(sam_edges *ed)
{
    if (!ed) return;
    img_free(ed->edges);
    img_free(ed->near);
    free(ed);
}

void sam_refine(const sam_edges *ed, uint8_t *mask)
{
    int w = ed->edges->w, h = ed->edges->h;
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = mask + (size_t)y * (size_t)w;
        int first = -1, last = -1;
        for (int x = 0; x < w; x++)
            if (row[x]) {
                first = x;
                break;
            }
        if (first < 0) continue;
        for (int x = w - 1; x >= first; x--)
            if (row[x]) {
                last = x;
                break;
            }
        x0 = MIN(x0, first);
        x1 = MAX(x1, last);
        if (y0 == h) y0 = y;
        y1 = y;
    }
    if (x1 < 0) return; /* an empty mask has no edges and stays empty */
    x0 = MAX(0, x0 - CROP_MARGIN);
    y0 = MAX(0, y0 - CROP_MARGIN);
    x1 = MIN(w - 1, x1 + CROP_MARGIN);
    y1 = MIN(h - 1, y1 + CROP_MARGIN);

    img whole = img_view(mask, w, h, 1, (size_t)w);
    img crop = img_sub(&whole, x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    img *me = img_canny(&crop, CANNY_LOW, CANNY_HIGH, false);
    for (int y = y0; y <= y1; y++) {
        uint8_t *m = mask + (size_t)y * (size_t)w;
        const uint8_t *near = img_px(ed->near, 0, y), *edge = img_px(ed->edges, 0, y);
        const uint8_t *own = img_px(me, 0, y - y0);
        for (int x = x0; x <= x1; x++)
            if (near[x]) m[x] = (own[x - x0] & edge[x]) ? 255 : 0;
    }
    img_free(me);
}
