/* The commerce proxies (CONTRACT.md §4.9–4.12): the body goes to the commerce service
 * unchanged and its answer comes back unchanged, status included. The original turned
 * every upstream answer other than 2xx into a 500 and demanded an object where commerce
 * wants an array (batch-match); here a 4xx from commerce reaches the client as it is, and
 * batch-match takes the array. */
#include "gateway/gateway_impl.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static void forward(http_res *rs, const char *method, const char *path, const void *body,
                    size_t len)
{
    http_response r;
    err e = {0};
    const char *hdrs[] = {"Accept: application/json", NULL};
    if (http_client_request(gateway_upstream(UPSTREAM_COMMERCE), method, path, hdrs,
                            body ? "application/json" : NULL, body, len, &r, &e) != 0) {
        http_res_error(rs, e.status, "Commerce service error: %s", e.msg);
        return;
    }
    if (r.status >= 500) {
        http_res_error(rs, 502, "Commerce service error: it answered HTTP %ld", r.status);
        http_response_free(&r);
        return;
    }
    http_res_take(rs, (int)r.status, r.content_type ? r.content_type : "application/json", r.body,
                  r.len);
    r.body = NULL;
    http_response_free(&r);
}

static void forward_body(http_req *rq, http_res *rs, void *ud)
{
    const char *path = ud;
    size_t len;
    char *text = http_json_dumps(http_req_json(rq), &len);
    forward(rs, "POST", path, text, len);
    free(text);
}

static void products(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    const char *budget = http_query_str(rq, "budget", HTTP_OPTIONAL, NULL);
    char *cat = curl_easy_escape(NULL, http_req_param(rq, "category"), 0);
    char *bud = budget ? curl_easy_escape(NULL, budget, 0) : NULL;
    char *path = bud ? xasprintf("/commerce/products/%s?budget=%s", cat, bud)
                     : xasprintf("/commerce/products/%s", cat);
    forward(rs, "GET", path, NULL, 0);
    free(path);
    curl_free(cat);
    curl_free(bud);
}

void gateway_proxy_routes(http_server *s)
{
    http_route(s, "POST", "/commerce/match-products", forward_body, "/commerce/match-products",
               &(http_route_opts){.body = HTTP_BODY_JSON,
                                  .summary = "Match catalog products (commerce service)"});
    http_route(s, "POST", "/commerce/batch-match", forward_body, "/commerce/batch-match",
               &(http_route_opts){.body = HTTP_BODY_JSON_ANY,
                                  .summary = "Match products for a list of items"});
    http_route(s, "GET", "/commerce/products/{category}", products, NULL,
               &(http_route_opts){.summary = "Products of a category, optionally by budget"});
    http_route(s, "POST", "/commerce/generate-affiliate-links", forward_body,
               "/commerce/generate-affiliate-links",
               &(http_route_opts){.body = HTTP_BODY_JSON, .summary = "Affiliate links"});
}
