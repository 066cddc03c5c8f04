/* The encodings a mask leaves the service in: JSON booleans (the original's default, a
 * lot of text, written here with memcpy from a pattern rather than a JSON value per
 * pixel) and COCO's compressed run-length encoding. */
#include "segment/segment_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* "true," and "false," repeated: a run of equal pixels is one or a few memcpy calls. */
#define PATTERN_TOKENS 512
static char true_pattern[5 * PATTERN_TOKENS], false_pattern[6 * PATTERN_TOKENS];
static pthread_once_t patterns_once = PTHREAD_ONCE_INIT;

static void patterns_init(void)
{
    for (int i = 0; i < PATTERN_TOKENS; i++) {
        memcpy(true_pattern + 5 * i, "true,", 5);
        memcpy(false_pattern + 6 * i, "false,", 6);
    }
}

static size_t count_set(const uint8_t *m, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += m[i] != 0;
    return c;
}

size_t segment_bool_masks_size(uint8_t *const *masks, int n, int w, int h)
{
    size_t px = (size_t)w * (size_t)h;
    /* Per mask: "[" + h rows of "[" ... "]" joined by "," + "]", w - 1 commas per row,
     * 4 bytes per true and 5 per false; masks joined by ",", the list in "[" "]". */
    size_t per_mask_frame = 2 + 2 * (size_t)h + ((size_t)h - 1) + ((size_t)w - 1) * (size_t)h;
    size_t total = 2 + (n > 0 ? (size_t)n - 1 : 0);
    for (int i = 0; i < n; i++) {
        size_t t = count_set(masks[i], px);
        total += per_mask_frame + 4 * t + 5 * (px - t);
    }
    return total;
}

size_t segment_bool_masks_max(int n, int w, int h)
{
    size_t px = (size_t)w * (size_t)h;
    return 2 + (size_t)n * (3 + 3 * (size_t)h + 6 * px);
}

static char *write_run(char *p, bool set, size_t len)
{
    const char *pat = set ? true_pattern : false_pattern;
    size_t tok = set ? 5 : 6;
    while (len > 0) {
        size_t k = len < PATTERN_TOKENS ? len : PATTERN_TOKENS;
        memcpy(p, pat, k * tok);
        p += k * tok;
        len -= k;
    }
    return p;
}

char *segment_bool_masks_write(char *out, uint8_t *const *masks, int n, int w, int h)
{
    pthread_once(&patterns_once, patterns_init);
    char *p = out;
    *p++ = '[';
    for (int i = 0; i < n; i++) {
        if (i) *p++ = ',';
        *p++ = '[';
        for (int y = 0; y < h; y++) {
            const uint8_t *row = masks[i] + (size_t)y * (size_t)w;
            if (y) *p++ = ',';
            *p++ = '[';
            for (int x = 0; x < w;) {
                bool set = row[x] != 0;
                int end = x + 1;
                while (end < w && (row[end] != 0) == set) end++;
                p = write_run(p, set, (size_t)(end - x));
                x = end;
            }
            p[-1] = ']'; /* the row's last comma */
        }
        *p++ = ']';
    }
    *p++ = ']';
    return p;
}

/* One count as COCO writes it: 5 bits per character, low bits first, a continuation
 * flag (0x20) while more follow, sign-extended on the last, offset by '0'. */
static void rle_put(http_strbuf *b, long x)
{
    for (;;) {
        char c = (char)(x & 0x1f);
        x >>= 5; /* arithmetic: a negative difference ends at -1 */
        bool more = (c & 0x10) ? x != -1 : x != 0;
        if (more) c |= 0x20;
        c = (char)(c + '0');
        http_strbuf_append(b, &c, 1);
        if (!more) break;
    }
}

char *segment_rle_encode(const uint8_t *mask, int w, int h, size_t *len)
{
    http_strbuf b = {0};
    long prev2 = 0, prev1 = 0; /* the counts two and one before */
    long count = 0, index = 0;
    bool cur = false; /* runs start with zeros */
    for (int x = 0; x < w; x++) {
        for (int y = 0; y < h; y++) {
            bool v = mask[(size_t)y * (size_t)w + (size_t)x] != 0;
            if (v != cur) {
                rle_put(&b, index > 2 ? count - prev2 : count);
                prev2 = prev1;
                prev1 = count;
                index++;
                count = 0;
                cur = v;
            }
            count++;
        }
    }
    rle_put(&b, index > 2 ? count - prev2 : count);
    http_strbuf_append(&b, "", 1);
    if (len) *len = b.len - 1;
    return b.data;
}

void segment_append(http_strbuf *b, const char *s)
{
    http_strbuf_append(b, s, strlen(s));
}

void segment_append_json_string(http_strbuf *b, const char *s, size_t n)
{
    http_strbuf_append(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '"' && c != '\\' && c >= 0x20) continue;
        http_strbuf_append(b, s + start, i - start);
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else
            snprintf(esc, sizeof esc, "\\u%04x", c);
        segment_append(b, esc);
        start = i + 1;
    }
    http_strbuf_append(b, s + start, n - start);
    http_strbuf_append(b, "\"", 1);
}
