/* Private to src/image: what the decoders share. */
#ifndef ARTISTRY_IMAGE_IMPL_H
#define ARTISTRY_IMAGE_IMPL_H

#include "image/image.h"

/* The EXIF orientation (1..8) in an EXIF block: either the payload of a JPEG APP1
 * segment ("Exif\0\0" + TIFF) or a bare TIFF structure (PNG eXIf, most WebP EXIF
 * chunks). 1 when the block has none, or an invalid one, or cannot be parsed. */
int exif_orientation(const uint8_t *data, size_t len);

/* What a walk over a JPEG's marker segments (SOI up to the first SOS) found. */
typedef struct jpeg_markers {
    const uint8_t *exif; /* the first APP1 "Exif\0\0" payload, or NULL */
    size_t exif_len;
    bool has_sof; /* a start-of-frame segment was seen... */
    int sof_w, sof_h;
    bool has_sos;   /* ...and the start of the first scan */
    bool truncated; /* the data ended inside or before those segments */
} jpeg_markers;

void jpeg_scan_markers(const uint8_t *d, size_t n, jpeg_markers *m);

#endif
