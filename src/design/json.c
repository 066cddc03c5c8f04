/* JSON the way the original's Python wrote it, and request fields checked the way its
 * pydantic models did. jansson prints reals with %.17g (12.199999999999999), which no
 * client of the original ever saw, so the writer here is our own. */
#include "design/design.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- numbers */

void design_format_real(double x, char out[32])
{
    if (!isfinite(x)) {
        snprintf(out, 32, "null");
        return;
    }
    if (x == 0) {
        snprintf(out, 32, signbit(x) ? "-0.0" : "0.0");
        return;
    }
    /* Shortest digit string that reads back as x: the same digits Python's repr picks. */
    char sci[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, x);
        if (strtod(sci, NULL) == x) break;
    }
    /* sci is "-d.ddde+XX": split into sign, digits and decimal exponent. */
    const char *p = sci;
    bool neg = *p == '-';
    if (neg) p++;
    char digits[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    int exp10 = atoi(p + 1);

    char *o = out;
    if (neg) *o++ = '-';
    if (exp10 < -4 || exp10 >= 16) {
        /* Python's repr switches to exponent form outside [1e-4, 1e16). */
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, nd - 1);
            o += nd - 1;
        }
        snprintf(o, 12, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
        return;
    }
    if (exp10 < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -exp10 - 1; i++) *o++ = '0';
        memcpy(o, digits, nd);
        o += nd;
    } else {
        size_t ip = (size_t)exp10 + 1; /* digits before the point */
        for (size_t i = 0; i < ip; i++) *o++ = i < nd ? digits[i] : '0';
        *o++ = '.';
        if (nd > ip) {
            memcpy(o, digits + ip, nd - ip);
            o += nd - ip;
        } else {
            *o++ = '0';
        }
    }
    *o = 0;
}

double design_round(double x, int ndigits)
{
    if (!isfinite(x)) return x;
    /* glibc's printf rounds the exact binary value, ties to even: CPython's round(). */
    char buf[400];
    snprintf(buf, sizeof buf, "%.*f", ndigits, x);
    return strtod(buf, NULL);
}

/* ---------------------------------------------------------------- writer */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n + 1) cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void put_string(sbuf *b, const char *s, size_t len)
{
    sb_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (esc) {
            sb_put(b, s + i - run, run);
            run = 0;
            sb_str(b, esc);
        } else {
            run++;
        }
    }
    sb_put(b, s + len - run, run);
    sb_put(b, "\"", 1);
}

static void put_value(sbuf *b, const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        sb_put(b, "{", 1);
        const char *k;
        json_t *x;
        bool first = true;
        json_object_foreach((json_t *)v, k, x) {
            if (!first) sb_put(b, ",", 1);
            first = false;
            put_string(b, k, strlen(k));
            sb_put(b, ":", 1);
            put_value(b, x);
        }
        sb_put(b, "}", 1);
        break;
    }
    case JSON_ARRAY:
        sb_put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) sb_put(b, ",", 1);
            put_value(b, json_array_get(v, i));
        }
        sb_put(b, "]", 1);
        break;
    case JSON_STRING: put_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        sb_str(b, num);
        break;
    case JSON_REAL:
        design_format_real(json_real_value(v), num);
        sb_str(b, num);
        break;
    case JSON_TRUE: sb_str(b, "true"); break;
    case JSON_FALSE: sb_str(b, "false"); break;
    case JSON_NULL: sb_str(b, "null"); break;
    }
}

char *design_json_dumps(const json_t *v)
{
    sbuf b = {0};
    if (v) put_value(&b, v);
    else sb_str(&b, "null");
    return b.p;
}

/* ---------------------------------------------------------------- request fields */

static const char *type_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

int design_body_object(const json_t *body, err *e)
{
    if (body && json_is_object(body)) return 0;
    err_set(e, 422, "body: Input should be a valid dictionary, got %s",
            body ? type_word(body) : "no body");
    return -1;
}

/* Shared front half of every field check: presence and null. Returns 1 when the caller
 * should go on checking the value, 0 when absent/null and allowed, -1 on error. */
static int field_get(const json_t *o, const char *key, int flags, const json_t **v, err *e)
{
    *v = json_object_get(o, key);
    if (!*v) {
        if (flags & DESIGN_REQUIRED) {
            err_set(e, 422, "body.%s: Field required", key);
            return -1;
        }
        return 0;
    }
    if (json_is_null(*v)) {
        if (flags & DESIGN_NULLABLE) return 0;
        err_set(e, 422, "body.%s: Input should not be null", key);
        return -1;
    }
    return 1;
}

int design_field_str(const json_t *o, const char *key, int flags, const char **out, err *e)
{
    const json_t *v;
    *out = NULL;
    int r = field_get(o, key, flags, &v, e);
    if (r <= 0) return r;
    if (!json_is_string(v)) {
        err_set(e, 422, "body.%s: Input should be a valid string, got %s", key, type_word(v));
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int design_field_str_list(const json_t *o, const char *key, int flags, const json_t **out,
                          err *e)
{
    const json_t *v;
    *out = NULL;
    int r = field_get(o, key, flags, &v, e);
    if (r <= 0) return r;
    if (!json_is_array(v)) {
        err_set(e, 422, "body.%s: Input should be a valid list, got %s", key, type_word(v));
        return -1;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *x = json_array_get(v, i);
        if (!json_is_string(x)) {
            err_set(e, 422, "body.%s.%zu: Input should be a valid string, got %s", key, i,
                    type_word(x));
            return -1;
        }
    }
    *out = v;
    return 0;
}

int design_field_object(const json_t *o, const char *key, int flags, const json_t **out,
                        err *e)
{
    const json_t *v;
    *out = NULL;
    int r = field_get(o, key, flags, &v, e);
    if (r <= 0) return r;
    if (!json_is_object(v)) {
        err_set(e, 422, "body.%s: Input should be a valid dictionary, got %s", key,
                type_word(v));
        return -1;
    }
    *out = v;
    return 0;
}

int design_field_int(const json_t *o, const char *key, int flags, long *out, bool *present,
                     err *e)
{
    const json_t *v;
    *present = false;
    int r = field_get(o, key, flags, &v, e);
    if (r <= 0) return r;
    if (json_is_integer(v)) {
        *out = (long)json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || fabs(d) > 9e15) {
            err_set(e, 422, "body.%s: Input should be a valid integer, got a number with a "
                            "fractional part",
                    key);
            return -1;
        }
        *out = (long)d;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        while (*s == ' ' || *s == '\t') s++;
        long x = strtol(s, &end, 10);
        while (*end == ' ' || *end == '\t') end++;
        if (end == s || *end) {
            err_set(e, 422, "body.%s: Input should be a valid integer, unable to parse string "
                            "as an integer",
                    key);
            return -1;
        }
        *out = x;
    } else {
        err_set(e, 422, "body.%s: Input should be a valid integer, got %s", key, type_word(v));
        return -1;
    }
    *present = true;
    return 0;
}
