/* Accounts (CONTRACT.md §4.13–4.15 and "Our decisions" 2): signup and login answer the
 * original's AuthToken plus `token` and `created_at`; verify works as GET ?token= and as
 * POST {token}. Hashing is slow on purpose, so signup and login run on the worker pool. */
#include "gateway/gateway_impl.h"

#include <inttypes.h>
#include <stdio.h>

static json_t *auth_token(const store_auth *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "access_token", json_string(a->token));
    json_object_set_new(o, "token_type", json_string("bearer"));
    json_object_set_new(o, "user_id", json_string(a->user.id));
    json_object_set_new(o, "email", json_string(a->user.email));
    json_object_set_new(o, "name", json_string(a->user.name));
    json_object_set_new(o, "token", json_string(a->token));
    json_object_set_new(o, "created_at", gateway_time(a->user.created_at));
    return o;
}

static void signup(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *body = http_req_json(rq);
    const char *email = gateway_str(rq, body, "email", HTTP_REQUIRED, NULL);
    const char *password = gateway_str(rq, body, "password", HTTP_REQUIRED, NULL);
    const char *name = gateway_str(rq, body, "name", HTTP_REQUIRED, NULL);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    store *s = gateway_db(rs);
    if (!s) return;
    store_auth a;
    err e = {0};
    if (store_user_signup(s, email, password, name, &a, &e) != 0)
        return gateway_store_error(rq, rs, &e, "body", body);
    log_info("signup user=%s", a.user.id);
    http_res_json(rs, 200, auth_token(&a));
    store_auth_clear(&a);
}

static void login(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *body = http_req_json(rq);
    const char *email = gateway_str(rq, body, "email", HTTP_REQUIRED, NULL);
    const char *password = gateway_str(rq, body, "password", HTTP_REQUIRED, NULL);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    store *s = gateway_db(rs);
    if (!s) return;
    store_auth a;
    err e = {0};
    int64_t wait = 0;
    const char *client = gateway_client(rq);
    if (store_user_login(s, email, password, client, &a, &wait, &e) != 0) {
        if (e.status == 401 || e.status == 429)
            log_info("login refused status=%d client=%s", e.status, client);
        gateway_store_error(rq, rs, &e, "body", body);
        if (e.status == 429) {
            char secs[24];
            snprintf(secs, sizeof secs, "%" PRId64, wait);
            http_res_header(rs, "Retry-After", secs);
        }
        return;
    }
    http_res_json(rs, 200, auth_token(&a));
    store_auth_clear(&a);
}

static void verify_token(http_res *rs, const char *token)
{
    store *s = gateway_db(rs);
    if (!s) return;
    store_user u;
    err e = {0};
    if (store_token_verify(s, token, &u, &e) != 0) return http_res_err(rs, &e);
    json_t *o = json_object();
    json_object_set_new(o, "valid", json_true());
    json_object_set_new(o, "user_id", json_string(u.id));
    json_object_set_new(o, "email", json_string(u.email));
    json_object_set_new(o, "name", json_string(u.name));
    http_res_json(rs, 200, o);
    store_user_clear(&u);
}

static void verify_get(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    const char *token = http_query_str(rq, "token", HTTP_REQUIRED, NULL);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    verify_token(rs, token);
}

static void verify_post(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    const char *token = gateway_str(rq, http_req_json(rq), "token", HTTP_REQUIRED, NULL);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    verify_token(rs, token);
}

void gateway_account_routes(http_server *s)
{
    http_route(s, "POST", "/auth/signup", signup, NULL,
               &(http_route_opts){.body = HTTP_BODY_JSON,
                                  .heavy = true,
                                  .summary = "Create an account and a first token"});
    http_route(s, "POST", "/auth/login", login, NULL,
               &(http_route_opts){
                   .body = HTTP_BODY_JSON, .heavy = true, .summary = "Log in: a new bearer token"});
    http_route(s, "GET", "/auth/verify", verify_get, NULL,
               &(http_route_opts){.summary = "Check a token (?token=)"});
    http_route(s, "POST", "/auth/verify", verify_post, NULL,
               &(http_route_opts){.body = HTTP_BODY_JSON, .summary = "Check a token ({token})"});
}
