/* Design preferences of the enhanced workflow (CONTRACT.md §4.3–4.4), now always kept:
 * the original dropped them silently without MongoDB. */
#include "gateway/gateway_impl.h"

#include <stdlib.h>

static void collect(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *body = http_req_json(rq);
    const char *budget = gateway_str(rq, body, "budget_range", HTTP_REQUIRED, NULL);
    const char *tips = gateway_str(rq, body, "design_tips", HTTP_REQUIRED, NULL);
    json_t *items = http_json_list(rq, body, "item_replacement", HTTP_REQUIRED, true);
    const char *session = gateway_str(rq, body, "session_id", HTTP_OPTIONAL | HTTP_NULLABLE, NULL);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    store *s = gateway_db(rs);
    if (!s) return;
    char fresh[37];
    if (!session) {
        uuid4(fresh);
        session = fresh;
    }
    char *items_json = gateway_dumps(items);
    store_prefs p = {.session_id = (char *)session,
                     .budget_range = (char *)budget,
                     .design_tips = (char *)tips,
                     .item_replacement = items_json};
    err e = {0};
    int rc = store_prefs_put(s, &p, &e);
    free(items_json);
    if (rc != 0) return gateway_store_error(rq, rs, &e, "body", body);
    json_t *o = json_object();
    json_object_set_new(o, "session_id", json_string(session));
    json_object_set_new(o, "preferences_saved", json_true());
    json_object_set_new(o, "budget", json_string(budget));
    json_object_set(o, "items_selected", items);
    json_object_set_new(o, "design_tips", json_string(tips));
    http_res_json(rs, 200, o);
}

static void get_prefs(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    store *s = gateway_db(rs);
    if (!s) return;
    store_prefs p;
    err e = {0};
    if (store_prefs_get(s, http_req_param(rq, "session_id"), &p, &e) != 0)
        return http_res_err(rs, &e);
    json_t *o = json_object();
    json_object_set_new(o, "session_id", json_string(p.session_id));
    json_object_set_new(o, "budget_range", json_string(p.budget_range ? p.budget_range : "medium"));
    json_object_set_new(o, "design_tips", json_string(p.design_tips ? p.design_tips : ""));
    json_t *items = p.item_replacement ? gateway_loads(p.item_replacement) : json_array();
    json_object_set_new(o, "item_replacement", items);
    store_prefs_clear(&p);
    http_res_json(rs, 200, o);
}

void gateway_pref_routes(http_server *s)
{
    http_route(s, "POST", "/api/collect-preferences", collect, NULL,
               &(http_route_opts){.body = HTTP_BODY_JSON, .summary = "Save workflow preferences"});
    http_route(s, "GET", "/api/preferences/{session_id}", get_prefs, NULL,
               &(http_route_opts){.summary = "Preferences of a session"});
}
