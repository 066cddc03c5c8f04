/* Class names: Ultralytics' `names` metadata (a Python literal), the COCO table, and the
 * original detect service's interior filter. */
#include "vision/yolo/yolo.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Enough for any detector (Open Images has 601 classes, LVIS 1203). */
#define MAX_CLASSES 100000

typedef struct cursor {
    const char *s, *end, *start;
    err *e;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->s < c->end && isspace((unsigned char)*c->s)) c->s++;
}

static bool fail(cursor *c, const char *what)
{
    err_set(c->e, 400, "class names: %s at offset %zu", what, (size_t)(c->s - c->start));
    return false;
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static bool hex_digits(cursor *c, int count, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < count; i++) {
        if (c->s >= c->end || !isxdigit((unsigned char)*c->s)) return fail(c, "bad escape");
        char ch = *c->s++;
        *v = *v * 16 + (uint32_t)(isdigit((unsigned char)ch) ? ch - '0' : (tolower(ch) - 'a' + 10));
    }
    return true;
}

/* A Python str literal (no prefixes, no triple quotes) into out, which has room for the
 * literal's length: no escape expands beyond the characters it is written with. */
static bool parse_string(cursor *c, char *out, size_t *len)
{
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"')) return fail(c, "expected a string");
    char q = *c->s++;
    size_t n = 0;
    for (;;) {
        if (c->s >= c->end || *c->s == '\n') return fail(c, "unterminated string");
        char ch = *c->s++;
        if (ch == q) break;
        if (ch != '\\') {
            out[n++] = ch;
            continue;
        }
        if (c->s >= c->end) return fail(c, "unterminated string");
        char x = *c->s++;
        uint32_t cp;
        switch (x) {
        case '\\':
            out[n++] = '\\';
            break;
        case '\'':
            out[n++] = '\'';
            break;
        case '"':
            out[n++] = '"';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 'x':
        case 'u':
        case 'U':
            if (!hex_digits(c, x == 'x' ? 2 : x == 'u' ? 4 : 8, &cp)) return false;
            if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
                return fail(c, "bad character escape");
            put_utf8(out, &n, cp);
            break;
        default:
            return fail(c, "unknown escape");
        }
    }
    out[n] = 0;
    *len = n;
    return true;
}

static bool parse_key(cursor *c, long *key)
{
    if (c->s >= c->end || !isdigit((unsigned char)*c->s)) return fail(c, "expected a class number");
    long v = 0;
    while (c->s < c->end && isdigit((unsigned char)*c->s)) {
        v = v * 10 + (*c->s++ - '0');
        if (v >= MAX_CLASSES) return fail(c, "class number too large");
    }
    *key = v;
    return true;
}

int yolo_parse_names(const char *text, size_t len, char ***names, err *e)
{
    *names = NULL;
    cursor c = {text, text + len, text, e};
    skip_ws(&c);
    if (c.s >= c.end || (*c.s != '{' && *c.s != '[')) {
        fail(&c, "expected '{' or '['");
        return -1;
    }
    bool dict = *c.s++ == '{';
    char close = dict ? '}' : ']';
    /* Strings are unescaped into one buffer as long as the text; slots index it. */
    char *buf = xmalloc(len + 1);
    size_t used = 0;
    size_t cap = 16;
    long *slot = xmalloc(cap * sizeof *slot);
    for (size_t i = 0; i < cap; i++) slot[i] = -1;
    long count = 0, max_key = -1;
    skip_ws(&c);
    while (c.s < c.end && *c.s != close) {
        long key = count;
        if (dict) {
            if (!parse_key(&c, &key)) goto fail;
            skip_ws(&c);
            if (c.s >= c.end || *c.s++ != ':') {
                c.s--;
                fail(&c, "expected ':'");
                goto fail;
            }
            skip_ws(&c);
        } else if (count >= MAX_CLASSES) {
            fail(&c, "too many classes");
            goto fail;
        }
        if ((size_t)key >= cap) {
            size_t ncap = cap;
            while ((size_t)key >= ncap) ncap *= 2;
            slot = xrealloc(slot, ncap * sizeof *slot);
            for (size_t i = cap; i < ncap; i++) slot[i] = -1;
            cap = ncap;
        }
        if (slot[key] >= 0) {
            fail(&c, "class number listed twice");
            goto fail;
        }
        size_t n;
        if (!parse_string(&c, buf + used, &n)) goto fail;
        slot[key] = (long)used;
        used += n + 1;
        count++;
        max_key = MAX(max_key, key);
        skip_ws(&c);
        if (c.s < c.end && *c.s == ',') {
            c.s++;
            skip_ws(&c);
        } else if (c.s < c.end && *c.s != close) {
            fail(&c, "expected ',' or the end");
            goto fail;
        }
    }
    if (c.s >= c.end) {
        fail(&c, "unterminated literal");
        goto fail;
    }
    c.s++;
    skip_ws(&c);
    if (c.s != c.end) {
        fail(&c, "text after the literal");
        goto fail;
    }
    if (count == 0 || max_key + 1 != count) {
        err_set(e, 400, "class names: numbers must run 0..%ld without gaps", count - 1);
        goto fail;
    }
    char **out = xmalloc((size_t)count * sizeof(char *) + used);
    char *strings = (char *)(out + count);
    memcpy(strings, buf, used);
    for (long i = 0; i < count; i++) out[i] = strings + slot[i];
    free(buf);
    free(slot);
    *names = out;
    return (int)count;
fail:
    free(buf);
    free(slot);
    return -1;
}

const char *const yolo_coco_names[80] = {
    "person",        "bicycle",      "car",
    "motorcycle",    "airplane",     "bus",
    "train",         "truck",        "boat",
    "traffic light", "fire hydrant", "stop sign",
    "parking meter", "bench",        "bird",
    "cat",           "dog",          "horse",
    "sheep",         "cow",          "elephant",
    "bear",          "zebra",        "giraffe",
    "backpack",      "umbrella",     "handbag",
    "tie",           "suitcase",     "frisbee",
    "skis",          "snowboard",    "sports ball",
    "kite",          "baseball bat", "baseball glove",
    "skateboard",    "surfboard",    "tennis racket",
    "bottle",        "wine glass",   "cup",
    "fork",          "knife",        "spoon",
    "bowl",          "banana",       "apple",
    "sandwich",      "orange",       "broccoli",
    "carrot",        "hot dog",      "pizza",
    "donut",         "cake",         "chair",
    "couch",         "potted plant", "bed",
    "dining table",  "toilet",       "tv",
    "laptop",        "mouse",        "remote",
    "keyboard",      "cell phone",   "microwave",
    "oven",          "toaster",      "sink",
    "refrigerator",  "book",         "clock",
    "vase",          "scissors",     "teddy bear",
    "hair drier",    "toothbrush",
};

/* The original's INTERIOR_CLASSES (71 names; the last 24 never come out of a COCO model
 * but would from a model trained on them) and its renames. */
static const char *const interior[] = {
    "person",      "bench",         "backpack",     "umbrella",       "handbag",
    "tie",         "suitcase",      "frisbee",      "skis",           "snowboard",
    "sports ball", "kite",          "baseball bat", "baseball glove", "skateboard",
    "surfboard",   "tennis racket", "bottle",       "wine glass",     "cup",
    "fork",        "knife",         "spoon",        "bowl",           "chair",
    "couch",       "potted plant",  "bed",          "dining table",   "tv",
    "laptop",      "mouse",         "remote",       "keyboard",       "cell phone",
    "microwave",   "oven",          "toaster",      "sink",           "refrigerator",
    "book",        "clock",         "vase",         "scissors",       "teddy bear",
    "hair drier",  "toothbrush",    "blanket",      "blinds",         "cabinet",
    "ceiling",     "chandelier",    "curtain",      "desk",           "dishwasher",
    "door",        "dresser",       "floor",        "frame",          "lamp",
    "light",       "monitor",       "pen",          "pencil",         "picture",
    "pillow",      "shelf",         "sofa",         "towel",          "wall",
    "window",
};

static const char *const renames[][2] = {
    {"couch", "sofa"},    {"dining table", "table"}, {"potted plant", "plant"},
    {"tv", "television"}, {"cell phone", "phone"},   {"remote", "remote control"},
};

const char *yolo_interior_label(const char *raw)
{
    for (size_t i = 0; i < ARRAY_LEN(interior); i++) {
        if (strcmp(raw, interior[i]) != 0) continue;
        for (size_t r = 0; r < ARRAY_LEN(renames); r++)
            if (strcmp(raw, renames[r][0]) == 0) return renames[r][1];
        return interior[i];
    }
    return NULL;
}
