/* The gateway's route table and its health handlers. */
#include "gateway/gateway_impl.h"

static void health(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    http_res_json(rs, 200, json_pack("{s:s,s:s}", "status", "ok", "service", "Gateway"));
}

/* /health also says which database the gateway uses and whether it answers. */
static void health_db(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    json_t *o = json_pack("{s:s,s:s}", "status", "ok", "service", "Gateway");
    gateway_db_health(o);
    http_res_json(rs, 200, o);
}

static void gateway_fini(void)
{
    gateway_rooms_stop();
    gateway_db_free();
    gateway_upstreams_free();
}

static int gateway_init(http_server *s, err *e)
{
    if (gateway_upstreams_init(e) != 0) return -1;
    if (gateway_db_init(e) != 0) return -1;
    http_route(s, "GET", "/", health, NULL, &(http_route_opts){.summary = "Service status"});
    http_route(s, "GET", "/health", health_db, NULL,
               &(http_route_opts){.summary = "Health check, with the database's"});
    gateway_proxy_routes(s);
    gateway_account_routes(s);
    gateway_design_routes(s);
    gateway_pref_routes(s);
    gateway_workflow_routes(s);
    if (gateway_rooms_init(s, e) != 0) return -1;
    return 0;
}

const http_service gateway_service = {
    .name = "gateway",
    .title = "Artistry Gateway (Optimized)",
    .port = 8000,
    .init = gateway_init,
    .fini = gateway_fini,
};
