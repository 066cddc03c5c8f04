/* The client against an in-process server: keep-alive reuse, JSON helpers, timeouts and
 * which requests are retried. */
#include "http/http.h"

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

static http_server *srv;
static atomic_int hits;

static void hello(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    atomic_fetch_add(&hits, 1);
    json_t *b = http_req_json(rq);
    http_res_json(rs, 200, json_pack("{s:s,s:O}", "method", http_req_method(rq), "echo",
                                     b ? b : json_null()));
}

static void slow(http_req *rq, http_res *rs, void *ud)
{
    (void)rq;
    (void)ud;
    atomic_fetch_add(&hits, 1);
    usleep(400000);
    http_res_text(rs, 200, "late");
}

static void setup(void)
{
    log_set_level(LOG_WARN);
    http_server_params p = http_server_default_params();
    p.port = 0;
    p.host = "127.0.0.1";
    p.access_log = false;
    err e = {0};
    srv = http_server_new(&p, &e);
    cr_assert_not_null(srv);
    http_route(srv, "GET", "/hello", hello, NULL, NULL);
    http_route(srv, "POST", "/hello", hello, NULL, &(http_route_opts){.body = HTTP_BODY_JSON});
    http_route(srv, "GET", "/slow", slow, NULL, NULL);
    http_route(srv, "POST", "/slow", slow, NULL, NULL);
    cr_assert_eq(http_server_start(srv, &e), 0, "%s", e.msg);
    atomic_store(&hits, 0);
}

static void teardown(void)
{
    http_server_free(srv);
}

static http_client *client(double timeout, int retries)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/", http_server_port(srv));
    http_client_params cp = http_client_default_params();
    cp.timeout = timeout;
    cp.retries = retries;
    return http_client_new(base, &cp);
}

TestSuite(client, .init = setup, .fini = teardown);

Test(client, keep_alive_connection_is_reused)
{
    http_client *c = client(5, 0);
    for (int i = 0; i < 50; i++) {
        http_response r;
        err e = {0};
        cr_assert_eq(http_client_request(c, "GET", "/hello", NULL, NULL, NULL, 0, &r, &e), 0,
                     "%s", e.msg);
        cr_assert_eq(r.status, 200);
        cr_assert(strstr(r.body, "\"method\":\"GET\"") != NULL);
        http_response_free(&r);
    }
    cr_assert_eq(http_client_connects(c), 1, "opened %ld connections for 50 sequential requests",
                 http_client_connects(c));
    http_client_free(c);
}

Test(client, json_round_trip_and_status)
{
    http_client *c = client(5, 0);
    json_t *body = json_pack("{s:s,s:f}", "a", "é", "x", 0.5);
    json_t *out;
    long status;
    err e = {0};
    cr_assert_eq(http_client_json(c, "POST", "/hello", body, &status, &out, &e), 0, "%s", e.msg);
    cr_assert_eq(status, 200);
    cr_assert_str_eq(json_string_value(json_object_get(out, "method")), "POST");
    cr_assert(json_equal(json_object_get(out, "echo"), body));
    json_decref(out);
    cr_assert_eq(http_client_json(c, "GET", "/missing", NULL, &status, &out, &e), 0);
    cr_assert_eq(status, 404);
    cr_assert_str_eq(json_string_value(json_object_get(out, "detail")), "Not Found");
    json_decref(out);
    json_decref(body);
    http_client_free(c);
}

Test(client, timeouts_retry_only_idempotent_requests)
{
    http_client *c = client(0.1, 2);
    http_response r;
    err e = {0};
    cr_assert_eq(http_client_request(c, "POST", "/slow", NULL, NULL, "", 0, &r, &e), -1);
    cr_assert_eq(e.status, 504, "%d %s", e.status, e.msg);
    usleep(500000);
    cr_assert_eq(atomic_load(&hits), 1, "POST was sent %d times", atomic_load(&hits));
    atomic_store(&hits, 0);
    cr_assert_eq(http_client_request(c, "GET", "/slow", NULL, NULL, NULL, 0, &r, &e), -1);
    usleep(500000);
    cr_assert_eq(atomic_load(&hits), 3, "GET was sent %d times", atomic_load(&hits));
    http_client_free(c);
}

Test(client, unreachable_upstream_is_502)
{
    http_client_params cp = http_client_default_params();
    cp.retries = 0;
    http_client *c = http_client_new("http://127.0.0.1:1", &cp);
    http_response r;
    err e = {0};
    cr_assert_eq(http_client_request(c, "GET", "/", NULL, NULL, NULL, 0, &r, &e), -1);
    cr_assert_eq(e.status, 502);
    cr_assert(strstr(e.msg, "127.0.0.1:1") != NULL, "%s", e.msg);
    http_client_free(c);
}
