/* Base64, standard alphabet (RFC 4648 section 4).
 *
 * Written here rather than over libsodium's codec, which is constant-time for keys and
 * tokens and so moves bulk data at ~200 MB/s: 1.6 ms for a detect answer's 358 KB JPEG,
 * and most of a design listing's time. Bulk data here is photos the client sent or will
 * see, so a table lookup per character is fine; secrets keep libsodium's codec where
 * they are made (store/accounts.c). */
#include "core/core.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Two characters for each 12 bits: half the lookups of one per 6 (a design listing
 * encodes megabytes). */
static char pairs[4096][2];

static void pairs_init(void)
{
    for (int i = 0; i < 4096; i++) {
        pairs[i][0] = alphabet[i >> 6];
        pairs[i][1] = alphabet[i & 63];
    }
}

char *b64_encode(const void *data, size_t len, size_t *out_len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, pairs_init);
    const unsigned char *p = data;
    size_t n = (len + 2) / 3 * 4;
    char *s = xmalloc(n + 1), *o = s;
    size_t i = 0;
    for (; i + 3 <= len; i += 3, o += 4) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        memcpy(o, pairs[v >> 12], 2);
        memcpy(o + 2, pairs[v & 0xfff], 2);
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
        o[0] = alphabet[v >> 18];
        o[1] = alphabet[v >> 12 & 63];
        o[2] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        o[3] = '=';
        o += 4;
    }
    *o = '\0';
    if (out_len) *out_len = n;
    return s;
}

size_t b64_decoded_max(size_t text_len)
{
    return text_len / 4 * 3 + 3;
}

enum { SKIP = -1, PAD = -2, BAD = -3 };

/* Each byte's 6-bit value, or what it is instead. */
static int8_t value[256];

static void value_init(void)
{
    for (int c = 0; c < 256; c++) value[c] = BAD;
    for (int i = 0; i < 64; i++) value[(unsigned char)alphabet[i]] = (int8_t)i;
    value[' '] = value['\t'] = value['\r'] = value['\n'] = SKIP;
    value['='] = PAD;
}

/* Describes why text is not base64, naming the first offending byte. */
static void explain(const char *text, size_t len, err *e)
{
    if (len >= 5 && strncmp(text, "data:", 5) == 0) {
        err_set(e, 400,
                "invalid base64: found a 'data:' URL prefix; send the raw base64 text "
                "without 'data:...;base64,'");
        return;
    }
    size_t sig = 0, pad = 0;
    int last = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        int v = value[c];
        if (v == SKIP) continue;
        if (v == PAD) {
            pad++;
            continue;
        }
        if (pad) {
            err_set(e, 400, "invalid base64: padding '=' is followed by more data at offset %zu",
                    i);
            return;
        }
        if (v == BAD) {
            if (c >= 0x20 && c < 0x7f)
                err_set(e, 400, "invalid base64: character '%c' at offset %zu", c, i);
            else
                err_set(e, 400, "invalid base64: byte 0x%02x at offset %zu", c, i);
            return;
        }
        sig++;
        last = v;
    }
    if (sig % 4 == 1)
        err_set(e, 400,
                "invalid base64: the input ends in the middle of a group (%zu "
                "characters, a truncated upload?)",
                sig);
    else if (pad && (sig % 4 == 0 || sig % 4 + pad != 4))
        err_set(e, 400, "invalid base64: %zu '=' at the end where %zu belong", pad,
                sig % 4 ? 4 - sig % 4 : 0);
    else
        err_set(e, 400,
                "invalid base64: the last character ('%c') sets bits past the end of the "
                "data (not canonical base64)",
                alphabet[last]);
}

unsigned char *b64_decode(const char *text, size_t len, size_t *out_len, err *e)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, value_init);
    const unsigned char *s = (const unsigned char *)text;
    unsigned char *out = xmalloc(b64_decoded_max(len) + 1), *o = out;
    uint32_t acc = 0; /* the last k characters' bits */
    int k = 0;
    size_t i = 0;
    while (i < len) {
        /* Whole groups of four between whitespace, the usual case, without a branch per
         * character. */
        if (k == 0)
            for (; i + 4 <= len; i += 4, o += 3) {
                int a = value[s[i]], b = value[s[i + 1]], c = value[s[i + 2]], d = value[s[i + 3]];
                if ((a | b | c | d) < 0) break;
                uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
                o[0] = (unsigned char)(v >> 16);
                o[1] = (unsigned char)(v >> 8);
                o[2] = (unsigned char)v;
            }
        if (i == len) break;
        int v = value[s[i]];
        if (v == PAD || v == BAD) break;
        i++;
        if (v == SKIP) continue;
        acc = acc << 6 | (uint32_t)v;
        if (++k == 4) {
            o[0] = (unsigned char)(acc >> 16);
            o[1] = (unsigned char)(acc >> 8);
            o[2] = (unsigned char)acc;
            o += 3;
            acc = 0;
            k = 0;
        }
    }
    /* The end: optional padding that completes the last group exactly, whitespace, and
     * nothing else; the bits a short group does not use must be zero (canonical form). */
    size_t pad = 0;
    bool ok = true;
    for (; i < len && ok; i++) {
        int v = value[s[i]];
        if (v == PAD)
            pad++;
        else if (v != SKIP)
            ok = false;
    }
    if (k == 1 || (pad && (k == 0 || (size_t)(4 - k) != pad))) ok = false;
    if (ok && k == 2) {
        ok = (acc & 0xf) == 0;
        *o++ = (unsigned char)(acc >> 4);
    } else if (ok && k == 3) {
        ok = (acc & 0x3) == 0;
        *o++ = (unsigned char)(acc >> 10);
        *o++ = (unsigned char)(acc >> 2);
    }
    if (!ok) {
        free(out);
        explain(text, len, e);
        return NULL;
    }
    *o = '\0';
    if (out_len) *out_len = (size_t)(o - out);
    return out;
}
