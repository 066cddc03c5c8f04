/* Request fields checked the way the original's pydantic models did, on plain JSON (the
 * http module's getters need a live request; these serve pure functions and tests), and
 * Python's round(). */
#include "design/design.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double design_round(double x, int ndigits)
{
    if (!isfinite(x)) return x;
    /* glibc's printf rounds the exact binary value, ties to even: CPython's round(). */
    char buf[400];
    snprintf(buf, sizeof buf, "%.*f", ndigits, x);
    return strtod(buf, NULL);
}

/* ---------------------------------------------------------------- request fields */

static const char *type_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
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

int design_field_str_list(const json_t *o, const char *key, int flags, const json_t **out, err *e)
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

int design_field_object(const json_t *o, const char *key, int flags, const json_t **out, err *e)
{
    const json_t *v;
    *out = NULL;
    int r = field_get(o, key, flags, &v, e);
    if (r <= 0) return r;
    if (!json_is_object(v)) {
        err_set(e, 422, "body.%s: Input should be a valid dictionary, got %s", key, type_word(v));
        return -1;
    }
    *out = v;
    return 0;
}

int design_field_int(const json_t *o, const char *key, int flags, long *out, bool *present, err *e)
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
            err_set(e, 422,
                    "body.%s: Input should be a valid integer, got a number with a "
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
            err_set(e, 422,
                    "body.%s: Input should be a valid integer, unable to parse string "
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
