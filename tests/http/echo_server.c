/* A server exercising the HTTP core for the black-box tests and bench/http.sh: JSON and
 * form validation, path and query parameters, a heavy route on the worker pool. It is a
 * test fixture, not a product service.
 *
 *   http-echo-server PORT   (HTTP_* settings from the environment as in the services) */
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void health(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    http_res_json(rs, 200, json_pack("{s:s,s:s}", "status", "ok", "service", "Echo"));
}

/* Mirrors a pydantic model: name: str, count: int = 0, ratio: float = 1.0,
 * flag: bool = False, tags: list[str] = [], meta: dict = {}, note: str | None = None */
static void echo_json(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *b = http_req_json(rq);
    const char *name = http_json_str(rq, b, "name", HTTP_REQUIRED, NULL);
    long count;
    double ratio;
    bool flag;
    http_json_int(rq, b, "count", HTTP_OPTIONAL, 0, &count);
    http_json_num(rq, b, "ratio", HTTP_OPTIONAL, 1.0, &ratio);
    http_json_bool(rq, b, "flag", HTTP_OPTIONAL, false, &flag);
    json_t *tags = http_json_list(rq, b, "tags", HTTP_OPTIONAL, true);
    json_t *meta = http_json_dict(rq, b, "meta", HTTP_OPTIONAL);
    const char *note = http_json_str(rq, b, "note", HTTP_NULLABLE, NULL);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "count", json_integer(count));
    json_object_set_new(o, "ratio", json_real(ratio));
    json_object_set_new(o, "flag", json_boolean(flag));
    json_object_set_new(o, "tags", tags ? json_incref(tags) : json_array());
    json_object_set_new(o, "meta", meta ? json_incref(meta) : json_object());
    json_object_set_new(o, "note", note ? json_string(note) : json_null());
    json_object_set_new(o, "keys", json_integer((json_int_t)json_object_size(b)));
    http_res_json(rs, 200, o);
}

static void echo_any(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *b = http_req_json(rq);
    http_res_json(rs, 200,
                  json_pack("{s:s,s:O}", "type",
                            json_is_array(b)    ? "array"
                            : json_is_object(b) ? "object"
                                                : "scalar",
                            "value", b));
}

static void echo_form(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    const http_part *file = http_form_file(rq, "file", HTTP_REQUIRED);
    long n;
    http_form_int(rq, "n", HTTP_OPTIONAL, 10, &n);
    const char *note = http_form_str(rq, "note", HTTP_OPTIONAL, "");
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    char hex[33];
    hash128_hex(file->data, file->len, hex);
    http_res_json(rs, 200,
                  json_pack("{s:s,s:I,s:s,s:I,s:s}", "filename", file->filename, "size",
                            (json_int_t)file->len, "xxh128", hex, "n", (json_int_t)n, "note",
                            note));
}

static void query(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    long limit, skip;
    http_query_int(rq, "limit", HTTP_OPTIONAL, 10, &limit);
    http_query_int(rq, "skip", HTTP_OPTIONAL, 0, &skip);
    const char *token = http_query_str(rq, "token", HTTP_REQUIRED, NULL);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    http_res_json(rs, 200,
                  json_pack("{s:I,s:I,s:s}", "limit", (json_int_t)limit, "skip", (json_int_t)skip,
                            "token", token));
}

static void item(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    http_res_json(rs, 200, json_pack("{s:s}", "item_id", http_req_param(rq, "item_id")));
}

static void slow(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    long ms;
    http_query_int(rq, "ms", HTTP_OPTIONAL, 100, &ms);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    usleep((useconds_t)ms * 1000);
    http_res_json(rs, 200, json_pack("{s:I}", "slept_ms", (json_int_t)ms));
}

int main(int argc, char **argv)
{
    log_init("echo", LOG_INFO, false);
    http_server_params p = http_server_default_params();
    p.service = "echo";
    p.title = "HTTP core test server";
    p.port = argc > 1 ? atoi(argv[1]) : 0;
    p.host = "127.0.0.1";
    err e = {0};
    if (http_server_params_from_env(&p, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    http_server *s = http_server_new(&p, &e);
    if (!s) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    http_route(s, "GET", "/health", health, NULL, NULL);
    http_route(s, "POST", "/echo/json", echo_json, NULL,
               &(http_route_opts){.body = HTTP_BODY_JSON});
    http_route(s, "POST", "/echo/any", echo_any, NULL,
               &(http_route_opts){.body = HTTP_BODY_JSON_ANY});
    http_route(s, "POST", "/echo/form", echo_form, NULL,
               &(http_route_opts){.body = HTTP_BODY_FORM});
    http_route(s, "POST", "/echo/form-heavy", echo_form, NULL,
               &(http_route_opts){.body = HTTP_BODY_FORM, .heavy = true});
    http_route(s, "GET", "/echo/query", query, NULL, NULL);
    http_route(s, "GET", "/items/{item_id}", item, NULL, NULL);
    http_route(s, "DELETE", "/items/{item_id}", item, NULL, NULL);
    http_route(s, "POST", "/slow", slow, NULL, &(http_route_opts){.heavy = true});
    http_route(s, "POST", "/slow-limited", slow, NULL,
               &(http_route_opts){.heavy = true, .timeout = 0.3});
    int rc = http_server_run(s, &e);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    http_server_free(s);
    return rc ? 1 : 0;
}
