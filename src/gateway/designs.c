/* Saved designs (CONTRACT.md §4.6, §4.16–4.20, "Our decisions" 3). A bearer token makes
 * its user the owner of what is saved and is required to list or delete; without one a
 * save is a guest design, shareable by id and owned by no one. */
#include "gateway/gateway_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- documents */

/* A design as the list routes return it: the original's document keys, images under the
 * names they were sent with, the fields of the other shapes after them. */
static json_t *design_doc(const store_design *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "_id", json_string(d->id));
    json_object_set_new(o, "user_id", gateway_str_or_null(d->user_id));
    switch (d->kind) {
    case STORE_DESIGN_SCRIPT:
        json_object_set_new(o, "original_image_b64", gateway_str_or_null(d->original_image));
        json_object_set_new(o, "generated_image_b64", gateway_str_or_null(d->generated_image));
        break;
    case STORE_DESIGN_APP:
        json_object_set_new(o, "original_image", gateway_str_or_null(d->original_image));
        json_object_set_new(o, "generated_image", gateway_str_or_null(d->generated_image));
        break;
    case STORE_DESIGN_LEGACY:
        json_object_set_new(o, "original_image", gateway_str_or_null(d->original_image));
        json_object_set_new(o, "segmented_image", gateway_str_or_null(d->segmented_image));
        json_object_set_new(o, "generated_image", gateway_str_or_null(d->generated_image));
        break;
    }
    json_object_set_new(o, "detected_objects", gateway_loads(d->detected_objects));
    json_object_set_new(o, "budget", gateway_str_or_null(d->budget));
    json_object_set_new(o, "design_tips", gateway_str_or_null(d->design_tips));
    json_object_set_new(o, "total_cost_inr",
                        d->has_total_cost ? json_integer(d->total_cost_inr) : json_null());
    json_object_set_new(o, "metadata", d->metadata ? gateway_loads(d->metadata) : json_object());
    json_t *extra = d->extra ? gateway_loads(d->extra) : NULL;
    const char *k;
    json_t *v;
    if (json_is_object(extra)) {
        json_object_foreach(extra, k, v)
        {
            if (!json_object_get(o, k)) json_object_set(o, k, v);
        }
    }
    json_decref(extra);
    json_object_set_new(o, "created_at", gateway_time(d->created_at));
    json_object_set_new(o, "views", json_integer(d->views));
    json_object_set_new(o, "shares", json_integer(d->shares));
    return o;
}

static char *share_link(http_req *rq, const char *id)
{
    return arena_sprintf(http_req_arena(rq), "%s/designs/%s", gateway_public_base(), id);
}

/* ---------------------------------------------------------------- save */

static const char *const app_keys[] = {"original_image", "generated_image", "design_name",
                                       "room_type",      "suggestions",     "cost_estimate"};

static bool app_shape(json_t *body)
{
    if (json_object_get(body, "original_image_b64") || json_object_get(body, "generated_image_b64"))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(app_keys); i++)
        if (json_object_get(body, app_keys[i])) return true;
    return false;
}

/* JSON text of a value, kept with the request. */
static char *dumps(http_req *rq, const json_t *v)
{
    char *t = gateway_dumps(v);
    char *r = t ? arena_strdup(http_req_arena(rq), t) : NULL;
    free(t);
    return r;
}

/* The script schema of §4.16: every field but metadata required. */
static void read_script(http_req *rq, json_t *body, store_design *d)
{
    d->kind = STORE_DESIGN_SCRIPT;
    gateway_str(rq, body, "user_id", HTTP_REQUIRED, NULL);
    d->original_image = (char *)gateway_str(rq, body, "original_image_b64", HTTP_REQUIRED, NULL);
    d->generated_image = (char *)gateway_str(rq, body, "generated_image_b64", HTTP_REQUIRED, NULL);
    json_t *objs = http_json_list(rq, body, "detected_objects", HTTP_REQUIRED, false);
    d->budget = (char *)gateway_str(rq, body, "budget", HTTP_REQUIRED, NULL);
    d->design_tips = (char *)gateway_str(rq, body, "design_tips", HTTP_REQUIRED, NULL);
    long cost = 0;
    d->has_total_cost = http_json_int(rq, body, "total_cost_inr", HTTP_REQUIRED, 0, &cost);
    d->total_cost_inr = cost;
    json_t *meta = http_json_dict(rq, body, "metadata", HTTP_OPTIONAL);
    d->detected_objects = dumps(rq, objs);
    d->metadata = meta ? dumps(rq, meta) : (char *)"{}";
}

/* The frontend's shape (§3.1 #14): everything optional. Its cost estimate and suggestions
 * also fill the script fields they mean, when they have that form. */
static void read_app(http_req *rq, json_t *body, store_design *d)
{
    d->kind = STORE_DESIGN_APP;
    const int opt = HTTP_OPTIONAL | HTTP_NULLABLE;
    gateway_str(rq, body, "user_id", opt, NULL);
    gateway_str(rq, body, "design_name", opt, NULL);
    gateway_str(rq, body, "room_type", opt, NULL);
    d->original_image = (char *)gateway_str(rq, body, "original_image", opt, NULL);
    d->generated_image = (char *)gateway_str(rq, body, "generated_image", opt, NULL);
    json_t *objs = http_json_list(rq, body, "detected_objects", opt, false);
    if (objs) d->detected_objects = dumps(rq, objs);
    json_t *extra = json_object();
    for (size_t i = 2; i < ARRAY_LEN(app_keys); i++) {
        json_t *v = json_object_get(body, app_keys[i]);
        if (v) json_object_set(extra, app_keys[i], v);
    }
    d->extra = dumps(rq, extra);
    json_decref(extra);
    json_t *cost = json_object_get(body, "cost_estimate");
    json_t *total = json_object_get(cost, "total_cost_inr");
    if (json_is_integer(total)) {
        d->has_total_cost = true;
        d->total_cost_inr = json_integer_value(total);
    }
    json_t *tier = json_object_get(cost, "budget_tier");
    if (json_is_string(tier)) d->budget = (char *)json_string_value(tier);
    json_t *tips = json_object_get(body, "suggestions");
    if (json_is_string(tips)) d->design_tips = (char *)json_string_value(tips);
}

/* Saves d for the token's user (or as a guest) and answers; -1 when it answered an error. */
static int save_design(http_req *rq, http_res *rs, json_t *body, store_design *d)
{
    if (http_req_invalid(rq)) {
        http_res_invalid(rs, rq);
        return -1;
    }
    store *s = gateway_db(rs);
    if (!s) return -1;
    store_user u;
    int who = gateway_auth(rq, rs, s, false, &u);
    if (who < 0) return -1;
    d->user_id = who ? u.id : NULL;
    err e = {0};
    int rc = store_design_save(s, d, &e);
    store_user_clear(&u);
    d->user_id = NULL;
    if (rc != 0) {
        gateway_store_error(rq, rs, &e, "body", body);
        return -1;
    }
    log_info("design saved id=%s kind=%s owner=%s", d->id, store_design_kind_name(d->kind),
             who ? "user" : "guest");
    return 0;
}

static void save(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *body = http_req_json(rq);
    store_design d = {0};
    if (app_shape(body))
        read_app(rq, body, &d);
    else
        read_script(rq, body, &d);
    if (save_design(rq, rs, body, &d) != 0) return;
    json_t *o = json_object();
    json_object_set_new(o, "design_id", json_string(d.id));
    json_object_set_new(o, "message", json_string("Design saved successfully"));
    json_object_set_new(o, "shareable_link", json_string(share_link(rq, d.id)));
    json_object_set_new(o, "saved_at", gateway_time(d.created_at));
    http_res_json(rs, 200, o);
}

/* The legacy save of §4.6, camelCase and all optional. */
static void save_legacy(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *body = http_req_json(rq);
    const int opt = HTTP_OPTIONAL | HTTP_NULLABLE;
    store_design d = {.kind = STORE_DESIGN_LEGACY};
    d.original_image = (char *)gateway_str(rq, body, "originalImage", opt, NULL);
    json_t *objs = http_json_list(rq, body, "detectedObjects", opt, true);
    d.segmented_image = (char *)gateway_str(rq, body, "segmentedImage", opt, NULL);
    json_t *advice = http_json_list(rq, body, "advice", opt, true);
    d.generated_image = (char *)gateway_str(rq, body, "generatedImage", opt, NULL);
    const char *prompt = gateway_str(rq, body, "prompt", opt, NULL);
    const char *timestamp = gateway_str(rq, body, "timestamp", opt, NULL);
    if (objs) d.detected_objects = dumps(rq, objs);
    json_t *extra = json_object();
    json_object_set(extra, "advice", advice ? advice : json_null());
    json_object_set_new(extra, "prompt", gateway_str_or_null(prompt));
    json_object_set_new(extra, "timestamp", gateway_str_or_null(timestamp));
    d.extra = dumps(rq, extra);
    json_decref(extra);
    if (save_design(rq, rs, body, &d) != 0) return;
    http_res_json(rs, 200,
                  json_pack("{s:s,s:s,s:s}", "status", "ok", "message", "Design saved successfully",
                            "id", d.id));
}

/* ---------------------------------------------------------------- lists */

/* limit 1–100 (default 10) and skip >= 0 from the query, validated as FastAPI would. */
static bool page(http_req *rq, long *limit, long *skip, bool with_skip)
{
    http_query_int(rq, "limit", HTTP_OPTIONAL, 10, limit);
    if (with_skip) http_query_int(rq, "skip", HTTP_OPTIONAL, 0, skip);
    if (http_req_invalid(rq)) return false;
    if (*limit < 1 || *limit > 100) {
        json_t *in = json_string(http_req_query(rq, "limit"));
        http_req_error(rq, *limit < 1 ? "greater_than_equal" : "less_than_equal",
                       *limit < 1 ? "Input should be greater than or equal to 1"
                                  : "Input should be less than or equal to 100",
                       "query", "limit", in);
        json_decref(in);
    }
    if (with_skip && *skip < 0) {
        json_t *in = json_string(http_req_query(rq, "skip"));
        http_req_error(rq, "greater_than_equal", "Input should be greater than or equal to 0",
                       "query", "skip", in);
        json_decref(in);
    }
    return !http_req_invalid(rq);
}

/* The designs of user_id for its owner; NULL after answering an error. */
static json_t *owner_designs(http_req *rq, http_res *rs, const char *user_id, long limit, long skip,
                             int64_t *total)
{
    store *s = gateway_db(rs);
    if (!s) return NULL;
    store_user u;
    if (gateway_auth(rq, rs, s, true, &u) < 0) return NULL;
    const char *who = user_id && *user_id ? user_id : u.id;
    if (strcmp(who, u.id) != 0) {
        store_user_clear(&u);
        http_res_error(rs, 403, "Not authorized to view these designs");
        return NULL;
    }
    store_design *list;
    size_t n;
    err e = {0};
    int rc = store_design_list(s, u.id, limit, skip, &list, &n, total, &e);
    store_user_clear(&u);
    if (rc != 0) {
        gateway_store_error(rq, rs, &e, "query", NULL);
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, design_doc(&list[i]));
    store_designs_free(list, n);
    return arr;
}

static void list_user(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    long limit, skip;
    if (!page(rq, &limit, &skip, true)) return http_res_invalid(rs, rq);
    int64_t total = 0;
    json_t *arr = owner_designs(rq, rs, http_req_param(rq, "user_id"), limit, skip, &total);
    if (!arr) return;
    json_t *o = json_object();
    json_object_set_new(o, "designs", arr);
    json_object_set_new(o, "total_count", json_integer(total));
    json_object_set_new(o, "page", json_integer(skip / limit + 1));
    json_object_set_new(o, "page_size", json_integer(limit));
    http_res_json(rs, 200, o);
}

/* What the frontend calls (§3.1 #16): the caller's own designs, newest first. */
static void list_mine(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    long limit, skip = 0;
    const char *user_id = http_query_str(rq, "user_id", HTTP_OPTIONAL, NULL);
    if (!page(rq, &limit, &skip, false)) return http_res_invalid(rs, rq);
    int64_t total = 0;
    json_t *arr = owner_designs(rq, rs, user_id, limit, 0, &total);
    if (!arr) return;
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer((json_int_t)json_array_size(arr)));
    json_object_set_new(o, "designs", arr);
    json_object_set_new(o, "total_count", json_integer(total));
    http_res_json(rs, 200, o);
}

/* ---------------------------------------------------------------- sharing and deleting */

static void view(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    store *s = gateway_db(rs);
    if (!s) return;
    store_design d;
    err e = {0};
    if (store_design_view(s, http_req_param(rq, "design_id"), &d, &e) != 0)
        return http_res_err(rs, &e);
    json_t *o = json_object();
    json_object_set_new(o, "design_id", json_string(d.id));
    json_object_set_new(o, "generated_image", gateway_str_or_null(d.generated_image));
    json_object_set_new(o, "original_image", gateway_str_or_null(d.original_image));
    json_object_set_new(o, "budget", gateway_str_or_null(d.budget));
    json_object_set_new(o, "design_tips", gateway_str_or_null(d.design_tips));
    json_object_set_new(o, "total_cost_inr",
                        d.has_total_cost ? json_integer(d.total_cost_inr) : json_null());
    json_object_set_new(o, "created_at", gateway_time(d.created_at));
    json_object_set_new(o, "created_by", json_string(d.created_by ? d.created_by : "Anonymous"));
    json_object_set_new(o, "views", json_integer(d.views));
    json_object_set_new(o, "shares", json_integer(d.shares));
    store_design_clear(&d);
    http_res_json(rs, 200, o);
}

static void share(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *body = http_req_json(rq);
    const char *id = gateway_str(rq, body, "design_id", HTTP_REQUIRED, NULL);
    const char *platform = gateway_str(rq, body, "platform", HTTP_REQUIRED, NULL);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    store *s = gateway_db(rs);
    if (!s) return;
    err e = {0};
    if (store_design_share(s, id, NULL, &e) != 0) return http_res_err(rs, &e);
    /* As the original builds them: the link goes in unencoded (PUBLIC_BASE_URL is checked
     * at start-up to need no encoding, and ids are uuids). */
    const char *link = share_link(rq, id);
    arena *a = http_req_arena(rq);
    json_t *opts = json_object();
    json_object_set_new(opts, "link", json_string(link));
    json_object_set_new(
        opts, "whatsapp",
        json_string(arena_sprintf(
            a, "https://wa.me/?text=Check%%20out%%20my%%20room%%20redesign!%%20%s", link)));
    json_object_set_new(
        opts, "facebook",
        json_string(arena_sprintf(a, "https://www.facebook.com/sharer/sharer.php?u=%s", link)));
    json_object_set_new(
        opts, "twitter",
        json_string(arena_sprintf(a,
                                  "https://twitter.com/intent/"
                                  "tweet?url=%s&text=Check%%20out%%20my%%20AI%%20room%%20redesign!",
                                  link)));
    json_object_set_new(
        opts, "pinterest",
        json_string(arena_sprintf(a, "https://pinterest.com/pin/create/button/?url=%s", link)));
    json_object_set_new(opts, "linkedin",
                        json_string(arena_sprintf(
                            a, "https://www.linkedin.com/sharing/share-offsite/?url=%s", link)));
    json_t *url = json_object_get(opts, platform);
    json_t *o = json_object();
    json_object_set_new(o, "design_id", json_string(id));
    json_object_set_new(o, "platform", json_string(platform));
    json_object_set(o, "share_url", url ? url : json_object_get(opts, "link"));
    json_object_set_new(o, "all_share_options", opts);
    json_object_set_new(o, "message", json_string("Share link ready"));
    http_res_json(rs, 200, o);
}

static void delete_design(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    store *s = gateway_db(rs);
    if (!s) return;
    store_user u;
    if (gateway_auth(rq, rs, s, true, &u) < 0) return;
    err e = {0};
    int rc = store_design_delete(s, http_req_param(rq, "design_id"), u.id, &e);
    store_user_clear(&u);
    if (rc != 0) return http_res_err(rs, &e);
    http_res_json(rs, 200, json_pack("{s:s}", "message", "Design deleted successfully"));
}

void gateway_design_routes(http_server *s)
{
    http_route(
        s, "POST", "/api/designs", save_legacy, NULL,
        &(http_route_opts){.body = HTTP_BODY_JSON, .summary = "Save a design (legacy shape)"});
    http_route(s, "POST", "/designs/save", save, NULL,
               &(http_route_opts){.body = HTTP_BODY_JSON,
                                  .summary = "Save a design (script or frontend shape)"});
    http_route(s, "GET", "/designs/user/{user_id}", list_user, NULL,
               &(http_route_opts){.summary = "A user's designs, newest first (owner's token)"});
    http_route(s, "GET", "/designs/list", list_mine, NULL,
               &(http_route_opts){.summary = "The caller's designs (owner's token)"});
    http_route(s, "GET", "/designs/share/{design_id}", view, NULL,
               &(http_route_opts){.summary = "A shared design; counts a view"});
    http_route(
        s, "POST", "/designs/share", share, NULL,
        &(http_route_opts){.body = HTTP_BODY_JSON, .summary = "Share links; counts a share"});
    http_route(s, "DELETE", "/designs/{design_id}", delete_design, NULL,
               &(http_route_opts){.summary = "Delete a design (owner's token)"});
}
