/* Request fields checked the way the original's pydantic models did, on plain JSON (the
 * http module's getters need a live request; these serve pure functions and tests), and
 * Python's round(). */
#include "design/design.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---------------------------------------------------------------- service helpers */

void design_http_error(http_req *rq, http_res *rs, const err *e)
{
    /* Our validation messages read "body.field.sub: what is wrong"; FastAPI clients get
     * them in its 422 shape, everything else as {"detail": message}. */
    const char *colon = strstr(e->msg, ": ");
    if (e->status != 422 || strncmp(e->msg, "body", 4) != 0 || !colon) {
        http_res_err(rs, e);
        return;
    }
    char loc1[256] = "";
    if (e->msg[4] == '.')
        snprintf(loc1, sizeof loc1, "%.*s", (int)(colon - e->msg - 5), e->msg + 5);
    const char *msg = colon + 2;
    const char *type = strstr(msg, "Field required")     ? "missing"
                       : strstr(msg, "valid string")     ? "string_type"
                       : strstr(msg, "valid integer")    ? "int_parsing"
                       : strstr(msg, "valid list")       ? "list_type"
                       : strstr(msg, "valid dictionary") ? "dict_type"
                                                         : "value_error";
    http_req_error(rq, type, msg, "body", loc1[0] ? loc1 : NULL, NULL);
    http_res_invalid(rs, rq);
}

const char *design_data_dir(void)
{
    static char dir[4096];
    const char *env = getenv("ARTISTRY_KB_DIR");
    if (env && *env) return env;
    struct stat st;
    if (stat("data/pricing.json", &st) == 0) return "data";
    /* Next to the binary's source tree: build/artistry → data/. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            const char *up[] = {"/../data", "/../share/artistry/data", "/data"};
            for (size_t i = 0; i < ARRAY_LEN(up); i++) {
                snprintf(dir, sizeof dir, "%s%s", exe, up[i]);
                char probe[4200];
                snprintf(probe, sizeof probe, "%s/pricing.json", dir);
                if (stat(probe, &st) == 0) return dir;
            }
        }
    }
    return "data";
}
