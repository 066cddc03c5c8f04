/* JSON text as Python's json.dumps(separators=(",", ":"), ensure_ascii=False) writes it:
 * keys in insertion order, raw UTF-8, and floats in repr's shortest round-trip form. */
#include "http/http.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_strbuf_append(http_strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void http_strbuf_printf(http_strbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        http_strbuf_append(b, small, (size_t)n);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    http_strbuf_append(b, big, (size_t)n);
    free(big);
}

void http_format_double(double x, char out[32])
{
    if (!isfinite(x)) {
        snprintf(out, 32, "%s", isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (x == 0) {
        snprintf(out, 32, "%s", signbit(x) ? "-0.0" : "0.0");
        return;
    }
    /* shortest %.{p}e that reads back exactly */
    char sci[40];
    for (int p = 0; p < 17; p++) {
        snprintf(sci, sizeof sci, "%.*e", p, x);
        if (strtod(sci, NULL) == x) break;
    }
    /* split "-d.ddde±XX" into sign, digits and exponent */
    const char *s = sci;
    bool neg = *s == '-';
    if (neg) s++;
    char digits[24];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.') digits[nd++] = *s;
    digits[nd] = '\0';
    int exp = atoi(s + 1);
    char *o = out;
    if (neg) *o++ = '-';
    if (exp >= -4 && exp < 16) { /* repr uses fixed notation in this range */
        if (exp < 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -exp - 1; i++) *o++ = '0';
            memcpy(o, digits, (size_t)nd);
            o += nd;
        } else {
            for (int i = 0; i <= exp; i++) *o++ = i < nd ? digits[i] : '0';
            *o++ = '.';
            if (nd > exp + 1) {
                memcpy(o, digits + exp + 1, (size_t)(nd - exp - 1));
                o += nd - exp - 1;
            } else {
                *o++ = '0';
            }
        }
        *o = '\0';
    } else {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(nd - 1));
            o += nd - 1;
        }
        snprintf(o, (size_t)(out + 32 - o), "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    }
}

static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* How many bytes from s on go out as they are. Blocks of 32 are tested without a branch
 * per byte (the compiler vectorises them): a design listing is megabytes of base64. */
static size_t plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        unsigned any = 0;
        for (int k = 0; k < 32; k++) any |= needs_escape(s[i + k]);
        if (any) break;
    }
    while (i < n && !needs_escape(s[i])) i++;
    return i;
}

static void dump_string(http_strbuf *b, const char *s, size_t n)
{
    http_strbuf_append(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        size_t run = plain_run((const unsigned char *)s + i, n - i);
        http_strbuf_append(b, s + i, run);
        i += run;
        if (i == n) break;
        unsigned char c = (unsigned char)s[i++];
        char u[8];
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                                      : NULL;
        if (!esc) {
            snprintf(u, sizeof u, "\\u%04x", c);
            esc = u;
        }
        http_strbuf_append(b, esc, strlen(esc));
    }
    http_strbuf_append(b, "\"", 1);
}

/* A JSON string of n bytes of s, checked as UTF-8 by jansson unless it is plain ASCII,
 * which is tested in blocks as above (jansson's check is a call per byte). */
json_t *http_json_stringn(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        unsigned high = 0;
        for (int k = 0; k < 32; k++) high |= u[i + k] >= 0x80 || u[i + k] == 0;
        if (high) break;
    }
    while (i < n && u[i] && u[i] < 0x80) i++;
    return i == n ? json_stringn_nocheck(s, n) : json_stringn(s, n);
}

static void dump(http_strbuf *b, const json_t *v)
{
    char num[40];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        http_strbuf_append(b, "{", 1);
        const char *key;
        json_t *val;
        bool first = true;
        json_object_foreach((json_t *)v, key, val)
        {
            if (!first) http_strbuf_append(b, ",", 1);
            first = false;
            dump_string(b, key, strlen(key));
            http_strbuf_append(b, ":", 1);
            dump(b, val);
        }
        http_strbuf_append(b, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        http_strbuf_append(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) http_strbuf_append(b, ",", 1);
            dump(b, json_array_get(v, i));
        }
        http_strbuf_append(b, "]", 1);
        break;
    }
    case JSON_STRING:
        dump_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        http_strbuf_append(b, num, strlen(num));
        break;
    case JSON_REAL: {
        double x = json_real_value(v);
        if (!isfinite(x)) { /* Starlette refuses NaN; we send null rather than fail */
            http_strbuf_append(b, "null", 4);
        } else {
            http_format_double(x, num);
            http_strbuf_append(b, num, strlen(num));
        }
        break;
    }
    case JSON_TRUE:
        http_strbuf_append(b, "true", 4);
        break;
    case JSON_FALSE:
        http_strbuf_append(b, "false", 5);
        break;
    case JSON_NULL:
        http_strbuf_append(b, "null", 4);
        break;
    }
}

char *http_json_dumps(const json_t *v, size_t *len)
{
    http_strbuf b = {0};
    if (v)
        dump(&b, v);
    else
        http_strbuf_append(&b, "null", 4);
    if (len) *len = b.len;
    return b.data;
}
