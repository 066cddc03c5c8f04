/* UTF-8, character classes and the string map shared by the tokenizers. */
#include "text_impl.h"

#include <stdlib.h>
#include <string.h>

bool text_in(const text_range *r, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

size_t text_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3F);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are not characters. */
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return len;
}

size_t text_utf8_put(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

char *text_utf8_clean(const char *s, size_t len)
{
    char *out = xmalloc(3 * len + 1), *o = out;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = text_utf8_next((const unsigned char *)s + i, len - i, &cp);
        if (cp == 0xFFFD && l == 1)
            o += text_utf8_put(0xFFFD, o);
        else
            memcpy(o, s + i, l), o += l;
        i += l;
    }
    *o = 0;
    return out;
}

static size_t slot(const text_map *m, const char *key, size_t len)
{
    size_t i = (size_t)hash64(key, len) & (m->cap - 1);
    while (m->keys[i] && (strlen(m->keys[i]) != len || memcmp(m->keys[i], key, len) != 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

void text_map_put(text_map *m, const char *key, size_t len, int32_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        text_map big = {xcalloc(m->cap ? m->cap * 2 : 1024, sizeof(char *)), NULL,
                        m->cap ? m->cap * 2 : 1024, 0};
        big.vals = xcalloc(big.cap, sizeof(int32_t));
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t j = slot(&big, m->keys[i], strlen(m->keys[i]));
                big.keys[j] = m->keys[i];
                big.vals[j] = m->vals[i];
                big.n++;
            }
        free(m->keys);
        free(m->vals);
        *m = big;
    }
    size_t i = slot(m, key, len);
    if (!m->keys[i]) {
        m->keys[i] = xstrndup(key, len);
        m->n++;
    }
    m->vals[i] = val;
}

int32_t text_map_get(const text_map *m, const char *key, size_t len)
{
    if (!m->cap) return -1;
    size_t i = slot(m, key, len);
    return m->keys[i] ? m->vals[i] : -1;
}

void text_map_free(text_map *m)
{
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
