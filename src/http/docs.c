/* Routes every service has: /docs, /redoc, /docs/oauth2-redirect and /openapi.json
 * generated from the route table, and /metrics. */
#include "http/http_impl.h"

#include <stdlib.h>
#include <string.h>

static bool builtin(const char *pattern)
{
    static const char *const names[] = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc",
                                        "/metrics"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(pattern, names[i]) == 0) return true;
    return false;
}

static void openapi(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    http_server *s = ud;
    json_t *paths = json_object();
    for (size_t i = 0; i < s->nroutes; i++) {
        const char *pattern = http_router_pattern(s->router, i);
        if (builtin(pattern)) continue;
        const route_entry *r = &s->routes[i];
        json_t *item = json_object_get(paths, pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, pattern, item);
        }
        char method[12];
        snprintf(method, sizeof method, "%s", http_router_method(s->router, i));
        for (char *c = method; *c; c++) *c = (char)(*c | 0x20);
        if (json_object_get(item, method)) continue; /* first registered wins */
        json_t *op = json_object();
        json_object_set_new(op, "summary", json_string(r->summary ? r->summary : pattern));
        char opid[256];
        snprintf(opid, sizeof opid, "%s%s", method, pattern);
        for (char *c = opid; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
                *c = '_';
        json_object_set_new(op, "operationId", json_string(opid));
        json_t *params = json_array();
        for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
            const char *end = strchr(p, '}');
            if (!end) break;
            json_array_append_new(params, json_pack("{s:s%,s:s,s:b,s:{s:s}}", "name", p + 1,
                                                    (size_t)(end - p - 1), "in", "path", "required",
                                                    1, "schema", "type", "string"));
        }
        if (json_array_size(params))
            json_object_set_new(op, "parameters", params);
        else
            json_decref(params);
        const char *media = r->opts.body == HTTP_BODY_FORM   ? "multipart/form-data"
                            : r->opts.body == HTTP_BODY_NONE ? NULL
                                                             : "application/json";
        if (media)
            json_object_set_new(
                op, "requestBody",
                json_pack("{s:{s:{s:{}}},s:b}", "content", media, "schema", "required", 1));
        json_object_set_new(op, "responses",
                            json_pack("{s:{s:s},s:{s:s}}", "200", "description",
                                      "Successful Response", "422", "description",
                                      "Validation Error"));
        json_object_set_new(item, method, op);
    }
    json_t *doc =
        json_pack("{s:s,s:{s:s,s:s},s:o}", "openapi", "3.1.0", "info", "title", s->p.title,
                  "version", s->p.version ? s->p.version : "0.1.0", "paths", paths);
    http_res_json(rs, 200, doc);
}

static void html_escape(http_strbuf *b, const char *t)
{
    for (; *t; t++) {
        switch (*t) {
        case '<':
            http_strbuf_append(b, "&lt;", 4);
            break;
        case '>':
            http_strbuf_append(b, "&gt;", 4);
            break;
        case '&':
            http_strbuf_append(b, "&amp;", 5);
            break;
        case '"':
            http_strbuf_append(b, "&quot;", 6);
            break;
        default:
            http_strbuf_append(b, t, 1);
        }
    }
}

static void docs_page(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    http_server *s = ud;
    http_strbuf b = {0};
    http_strbuf_printf(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
    html_escape(&b, s->p.title);
    http_strbuf_printf(&b, " - API</title><style>body{font-family:sans-serif;margin:2em;max-width:"
                           "60em}td{padding:.25em 1em .25em 0}code{font-size:1.05em}</style>"
                           "</head><body><h1>");
    html_escape(&b, s->p.title);
    http_strbuf_printf(&b, "</h1><p>The machine-readable description is at <a "
                           "href=\"/openapi.json\">/openapi.json</a>.</p>\n<table>\n");
    for (size_t i = 0; i < s->nroutes; i++) {
        const char *pattern = http_router_pattern(s->router, i);
        http_strbuf_printf(&b, "<tr><td><code>%s</code></td><td><code>",
                           http_router_method(s->router, i));
        html_escape(&b, pattern);
        http_strbuf_printf(&b, "</code></td><td>");
        html_escape(&b, s->routes[i].summary ? s->routes[i].summary : "");
        http_strbuf_printf(&b, "</td></tr>\n");
    }
    http_strbuf_printf(&b, "</table></body></html>\n");
    http_res_take(rs, 200, "text/html; charset=utf-8", b.data, b.len);
}

static void oauth2_redirect(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    static const char page[] = "<!doctype html><html><head><title>OAuth2 redirect</title></head>"
                               "<body><p>No OAuth2 flow is configured for this API.</p>"
                               "</body></html>\n";
    http_res_bytes(rs, 200, "text/html; charset=utf-8", page, sizeof page - 1);
}

static void metrics(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    http_server *s = ud;
    http_strbuf b = {0};
    http_metrics_render(s->metrics, s, &b);
    for (int i = 0; i < s->nextra; i++) s->extra_metrics[i].fn(&b, s->extra_metrics[i].ud);
    http_res_take(rs, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
}

void http_register_builtin_routes(http_server *s)
{
    http_route(s, "GET", "/openapi.json", openapi, s,
               &(http_route_opts){.summary = "OpenAPI description of this service"});
    http_route(s, "GET", "/docs", docs_page, s, &(http_route_opts){.summary = "This page"});
    http_route(s, "GET", "/docs/oauth2-redirect", oauth2_redirect, s, NULL);
    http_route(s, "GET", "/redoc", docs_page, s, NULL);
    http_route(s, "GET", "/metrics", metrics, s,
               &(http_route_opts){.summary = "Prometheus metrics"});
}
