/* EXIF orientation (libexif) and the JPEG marker walk that finds the EXIF block. */
#include "image/image_impl.h"

#include <libexif/exif-data.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t exif_header[6] = {'E', 'x', 'i', 'f', 0, 0};

int exif_orientation(const uint8_t *data, size_t len)
{
    if (!data || len < 8 || len > (1u << 24)) return 1;
    /* libexif wants the "Exif\0\0" header in front of the TIFF structure; PNG eXIf and
     * most WebP EXIF chunks are the bare TIFF. */
    uint8_t *owned = NULL;
    if (len < sizeof exif_header || memcmp(data, exif_header, sizeof exif_header) != 0) {
        owned = xmalloc(len + sizeof exif_header);
        memcpy(owned, exif_header, sizeof exif_header);
        memcpy(owned + sizeof exif_header, data, len);
        data = owned;
        len += sizeof exif_header;
    }
    int o = 1;
    ExifData *ed = exif_data_new();
    if (ed) {
        /* Read what is there; "following the specification" would make libexif add and
         * rewrite entries, which is not what a reader wants. */
        exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
        exif_data_load_data(ed, data, (unsigned int)len);
        ExifEntry *en = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
        if (en && en->format == EXIF_FORMAT_SHORT && en->components >= 1 && en->data &&
            en->size >= 2) {
            int v = exif_get_short(en->data, exif_data_get_byte_order(ed));
            if (v >= 1 && v <= 8) o = v;
        }
        exif_data_unref(ed);
    }
    free(owned);
    return o;
}

/* Start-of-frame markers carry the size: C0..CF except DHT (C4), JPG (C8), DAC (CC). */
static bool is_sof(uint8_t m)
{
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

void jpeg_scan_markers(const uint8_t *d, size_t n, jpeg_markers *m)
{
    memset(m, 0, sizeof *m);
    if (n < 2 || d[0] != 0xFF || d[1] != 0xD8) {
        m->truncated = n < 2;
        return;
    }
    size_t pos = 2;
    for (;;) {
        /* A marker is 0xFF (possibly repeated as fill) and a code. */
        while (pos < n && d[pos] == 0xFF) pos++;
        if (pos >= n) {
            m->truncated = true;
            return;
        }
        uint8_t code = d[pos++];
        if (code == 0x01 || (code >= 0xD0 && code <= 0xD7)) continue; /* no length */
        if (code == 0xD9) return;                                     /* EOI */
        if (pos + 2 > n) {
            m->truncated = true;
            return;
        }
        size_t seg = ((size_t)d[pos] << 8) | d[pos + 1];
        if (seg < 2) return; /* not a JPEG segment: libjpeg will say what is wrong */
        if (pos + seg > n) {
            m->truncated = true;
            return;
        }
        const uint8_t *body = d + pos + 2;
        size_t blen = seg - 2;
        if (code == 0xE1 && !m->exif && blen >= sizeof exif_header &&
            memcmp(body, exif_header, sizeof exif_header) == 0) {
            m->exif = body;
            m->exif_len = blen;
        } else if (is_sof(code) && blen >= 5 && !m->has_sof) {
            m->has_sof = true;
            m->sof_h = (body[1] << 8) | body[2];
            m->sof_w = (body[3] << 8) | body[4];
        } else if (code == 0xDA) {
            m->has_sos = true;
            return;
        }
        pos += seg;
    }
}
