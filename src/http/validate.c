/* Field validation with pydantic v2's lax-mode rules and FastAPI's 422 error shape:
 * {"detail":[{"type":…,"loc":["body","field"],"msg":…,"input":…}, …]}. */
#include "http/http_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void add_error(http_req *rq, const char *type, const char *msg, const char *loc0,
                      const char *loc1, long index, json_t *input)
{
    if (!rq->errors) rq->errors = json_array();
    json_t *loc = json_array();
    json_array_append_new(loc, json_string(loc0));
    if (loc1) json_array_append_new(loc, json_string(loc1));
    if (index >= 0) json_array_append_new(loc, json_integer(index));
    json_t *e = json_object();
    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "loc", loc);
    json_object_set_new(e, "msg", json_string(msg));
    json_object_set(e, "input", input ? input : json_null());
    json_array_append_new(rq->errors, e);
}

void http_req_error(http_req *rq, const char *type, const char *msg, const char *loc0,
                    const char *loc1, json_t *input)
{
    add_error(rq, type, msg, loc0, loc1, -1, input);
}

bool http_req_invalid(const http_req *rq)
{
    return rq->errors && json_array_size(rq->errors) > 0;
}

void http_res_invalid(http_res *rs, http_req *rq)
{
    json_t *body = json_object();
    json_object_set(body, "detail", rq->errors ? rq->errors : json_array());
    http_res_json(rs, 422, body);
}

/* Looks key up in obj. Returns the value, or NULL when absent (recording "missing" when
 * required) or null (recording an error unless nullable). *absent tells which. */
static json_t *lookup(http_req *rq, json_t *obj, const char *key, int flags, const char *type,
                      const char *type_msg, bool *absent)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    *absent = v == NULL || json_is_null(v);
    if (!v) {
        if (flags & HTTP_REQUIRED) add_error(rq, "missing", "Field required", "body", key, -1, obj);
        return NULL;
    }
    if (json_is_null(v)) {
        if (!(flags & HTTP_NULLABLE)) add_error(rq, type, type_msg, "body", key, -1, v);
        return NULL;
    }
    return v;
}

/* ---- scalar parsing shared by JSON strings, query and form values */

static bool parse_long(const char *s, long *out)
{
    while (*s == ' ' || *s == '\t') s++;
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || errno == ERANGE) return false;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) return false;
    *out = x;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t') s++;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || errno == ERANGE) return false;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) return false;
    *out = x;
    return true;
}

#define MSG_STR        "Input should be a valid string"
#define MSG_INT        "Input should be a valid integer"
#define MSG_INT_PARSE  "Input should be a valid integer, unable to parse string as an integer"
#define MSG_INT_FRAC   "Input should be a valid integer, got a number with a fractional part"
#define MSG_NUM        "Input should be a valid number"
#define MSG_NUM_PARSE  "Input should be a valid number, unable to parse string as a number"
#define MSG_BOOL       "Input should be a valid boolean"
#define MSG_BOOL_PARSE "Input should be a valid boolean, unable to interpret input"
#define MSG_LIST       "Input should be a valid list"
#define MSG_DICT       "Input should be a valid dictionary"

/* ---- JSON body fields */

const char *http_json_str(http_req *rq, json_t *obj, const char *key, int flags, const char *def)
{
    bool absent;
    json_t *v = lookup(rq, obj, key, flags, "string_type", MSG_STR, &absent);
    if (!v) return def;
    if (!json_is_string(v)) {
        add_error(rq, "string_type", MSG_STR, "body", key, -1, v);
        return def;
    }
    return json_string_value(v);
}

bool http_json_int(http_req *rq, json_t *obj, const char *key, int flags, long def, long *out)
{
    bool absent;
    *out = def;
    json_t *v = lookup(rq, obj, key, flags, "int_type", MSG_INT, &absent);
    if (!v) return false;
    if (json_is_integer(v)) {
        *out = (long)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (x != floor(x) || !isfinite(x) || fabs(x) > 9.2e18) {
            add_error(rq, "int_from_float", MSG_INT_FRAC, "body", key, -1, v);
            return false;
        }
        *out = (long)x;
        return true;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_string(v)) {
        if (parse_long(json_string_value(v), out)) return true;
        add_error(rq, "int_parsing", MSG_INT_PARSE, "body", key, -1, v);
        *out = def;
        return false;
    }
    add_error(rq, "int_type", MSG_INT, "body", key, -1, v);
    return false;
}

bool http_json_num(http_req *rq, json_t *obj, const char *key, int flags, double def, double *out)
{
    bool absent;
    *out = def;
    json_t *v = lookup(rq, obj, key, flags, "float_type", MSG_NUM, &absent);
    if (!v) return false;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_string(v)) {
        if (parse_double(json_string_value(v), out)) return true;
        add_error(rq, "float_parsing", MSG_NUM_PARSE, "body", key, -1, v);
        *out = def;
        return false;
    }
    add_error(rq, "float_type", MSG_NUM, "body", key, -1, v);
    return false;
}

bool http_json_bool(http_req *rq, json_t *obj, const char *key, int flags, bool def, bool *out)
{
    bool absent;
    *out = def;
    json_t *v = lookup(rq, obj, key, flags, "bool_type", MSG_BOOL, &absent);
    if (!v) return false;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = json_integer_value(v) == 1;
        return true;
    }
    if (json_is_string(v) && parse_bool(json_string_value(v), out)) return true;
    add_error(rq, json_is_string(v) || json_is_number(v) ? "bool_parsing" : "bool_type",
              json_is_string(v) || json_is_number(v) ? MSG_BOOL_PARSE : MSG_BOOL, "body", key, -1,
              v);
    *out = def;
    return false;
}

json_t *http_json_list(http_req *rq, json_t *obj, const char *key, int flags, bool strings)
{
    bool absent;
    json_t *v = lookup(rq, obj, key, flags, "list_type", MSG_LIST, &absent);
    if (!v) return NULL;
    if (!json_is_array(v)) {
        add_error(rq, "list_type", MSG_LIST, "body", key, -1, v);
        return NULL;
    }
    if (strings) {
        bool ok = true;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!json_is_string(json_array_get(v, i))) {
                add_error(rq, "string_type", MSG_STR, "body", key, (long)i, json_array_get(v, i));
                ok = false;
            }
        if (!ok) return NULL;
    }
    return v;
}

json_t *http_json_dict(http_req *rq, json_t *obj, const char *key, int flags)
{
    bool absent;
    json_t *v = lookup(rq, obj, key, flags, "dict_type", MSG_DICT, &absent);
    if (!v) return NULL;
    if (!json_is_object(v)) {
        add_error(rq, "dict_type", MSG_DICT, "body", key, -1, v);
        return NULL;
    }
    return v;
}

json_t *http_json_any(http_req *rq, json_t *obj, const char *key, int flags)
{
    bool absent;
    return lookup(rq, obj, key, flags | HTTP_NULLABLE, "missing", "Field required", &absent);
}

/* ---- query and form values: strings parsed with the same rules */

static const char *query_text(http_req *rq, const char *key, int flags)
{
    const char *v = http_req_query(rq, key);
    if (!v && (flags & HTTP_REQUIRED))
        add_error(rq, "missing", "Field required", "query", key, -1, NULL);
    return v;
}

/* Form part data is not NUL-terminated: copy it into the arena first. */
static const char *form_text(http_req *rq, const char *key, int flags)
{
    const http_part *p = http_req_part(rq, key);
    if (!p || p->filename) {
        if (flags & HTTP_REQUIRED)
            add_error(rq, "missing", "Field required", "body", key, -1, NULL);
        return NULL;
    }
    return arena_strndup(rq->arena, (const char *)p->data, p->len);
}

static const char *get_text(http_req *rq, const char *loc0, const char *key, int flags)
{
    return strcmp(loc0, "query") == 0 ? query_text(rq, key, flags) : form_text(rq, key, flags);
}

static bool text_int(http_req *rq, const char *loc0, const char *key, int flags, long def,
                     long *out)
{
    *out = def;
    const char *v = get_text(rq, loc0, key, flags);
    if (!v) return false;
    if (parse_long(v, out)) return true;
    double d;
    json_t *in = json_string(v);
    if (parse_double(v, &d) && d != floor(d))
        add_error(rq, "int_from_float", MSG_INT_FRAC, loc0, key, -1, in);
    else
        add_error(rq, "int_parsing", MSG_INT_PARSE, loc0, key, -1, in);
    json_decref(in);
    *out = def;
    return false;
}

static bool text_num(http_req *rq, const char *loc0, const char *key, int flags, double def,
                     double *out)
{
    *out = def;
    const char *v = get_text(rq, loc0, key, flags);
    if (!v) return false;
    if (parse_double(v, out)) return true;
    json_t *in = json_string(v);
    add_error(rq, "float_parsing", MSG_NUM_PARSE, loc0, key, -1, in);
    json_decref(in);
    *out = def;
    return false;
}

static bool text_bool(http_req *rq, const char *loc0, const char *key, int flags, bool def,
                      bool *out)
{
    *out = def;
    const char *v = get_text(rq, loc0, key, flags);
    if (!v) return false;
    if (parse_bool(v, out)) return true;
    json_t *in = json_string(v);
    add_error(rq, "bool_parsing", MSG_BOOL_PARSE, loc0, key, -1, in);
    json_decref(in);
    *out = def;
    return false;
}

const char *http_query_str(http_req *rq, const char *key, int flags, const char *def)
{
    const char *v = query_text(rq, key, flags);
    return v ? v : def;
}

bool http_query_int(http_req *rq, const char *key, int flags, long def, long *out)
{
    return text_int(rq, "query", key, flags, def, out);
}

bool http_query_num(http_req *rq, const char *key, int flags, double def, double *out)
{
    return text_num(rq, "query", key, flags, def, out);
}

bool http_query_bool(http_req *rq, const char *key, int flags, bool def, bool *out)
{
    return text_bool(rq, "query", key, flags, def, out);
}

const char *http_form_str(http_req *rq, const char *key, int flags, const char *def)
{
    const char *v = form_text(rq, key, flags);
    return v ? v : def;
}

bool http_form_int(http_req *rq, const char *key, int flags, long def, long *out)
{
    return text_int(rq, "body", key, flags, def, out);
}

bool http_form_num(http_req *rq, const char *key, int flags, double def, double *out)
{
    return text_num(rq, "body", key, flags, def, out);
}

bool http_form_bool(http_req *rq, const char *key, int flags, bool def, bool *out)
{
    return text_bool(rq, "body", key, flags, def, out);
}

const http_part *http_form_file(http_req *rq, const char *key, int flags)
{
    const http_part *p = http_req_part(rq, key);
    if (!p) {
        if (flags & HTTP_REQUIRED)
            add_error(rq, "missing", "Field required", "body", key, -1, NULL);
        return NULL;
    }
    if (!p->filename) {
        add_error(rq, "value_error", "Expected UploadFile, received: <class 'str'>", "body", key,
                  -1, NULL);
        return NULL;
    }
    return p;
}
