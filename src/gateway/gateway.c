/* The gateway's route table and its health handlers. */
#include "gateway/gateway_impl.h"

static void health(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    http_res_json(rs, 200, json_pack("{s:s,s:s}", "status", "ok", "service", "Gateway"));
}

static int gateway_init(http_server *s, err *e)
{
    if (gateway_upstreams_init(e) != 0) return -1;
    http_route(s, "GET", "/", health, NULL, &(http_route_opts){.summary = "Service status"});
    http_route(s, "GET", "/health", health, NULL, &(http_route_opts){.summary = "Health check"});
    gateway_proxy_routes(s);
    return 0;
}

const http_service gateway_service = {
    .name = "gateway",
    .title = "Artistry Gateway (Optimized)",
    .port = 8000,
    .init = gateway_init,
    .fini = gateway_upstreams_free,
};
