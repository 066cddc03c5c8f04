/* Private to src/gateway: the route groups and the upstream clients they share. */
#ifndef ARTISTRY_GATEWAY_IMPL_H
#define ARTISTRY_GATEWAY_IMPL_H

#include "gateway/gateway.h"
#include "store/store.h"

typedef enum upstream {
    UPSTREAM_DETECT,
    UPSTREAM_SEGMENT,
    UPSTREAM_ADVISE,
    UPSTREAM_GENERATE,
    UPSTREAM_COMMERCE,
    UPSTREAM_COUNT
} upstream;

/* scheme://host[:port] of url into out; -1 when url is not http(s). */
int gateway_base_url(const char *url, char *out, size_t cap);
int gateway_upstreams_init(err *e);
void gateway_upstreams_free(void);
http_client *gateway_upstream(upstream u);
/* POSTs body (JSON) to a service's path. Returns its JSON object (new reference), or NULL
 * with e naming the service and path: an upstream 4xx keeps its status (the client's input
 * was at fault), a 5xx or an answer that is not an object is 502, no answer 502/504. */
json_t *gateway_call(upstream u, const char *path, json_t *body, err *e);

/* Route groups, each registered by gateway_init. */
void gateway_proxy_routes(http_server *s);
void gateway_account_routes(http_server *s);
void gateway_design_routes(http_server *s);
void gateway_pref_routes(http_server *s);
void gateway_workflow_routes(http_server *s);
/* /rooms routes and the background worker of room jobs (ROOMS_WORKER, default on). */
int gateway_rooms_init(http_server *s, err *e);
void gateway_rooms_stop(void);

/* ---- the database (db.c) */

/* Reads DATABASE_URL and the store's settings, PUBLIC_BASE_URL and TRUST_X_FORWARDED_FOR,
 * and opens the store. An unreachable database is not fatal (the store routes answer 503
 * and it is tried again); a malformed setting or an incompatible schema is. */
int gateway_db_init(err *e);
void gateway_db_free(void);
/* The open store, opening it first when it was unreachable (at most every 2 s). NULL when
 * it still is, having answered 503 "Database unreachable: ..." on rs (when rs is set). */
store *gateway_db(http_res *rs);
/* Adds {"database":{"backend","reachable",...}} to a health answer. */
void gateway_db_health(json_t *o);
/* PUBLIC_BASE_URL without its trailing slash: share links are <base>/designs/<id>. */
const char *gateway_public_base(void);
/* Answers a store error: 422s naming a field become FastAPI validation errors located at
 * [loc0, field] (input taken from body when given), the rest {"detail": msg}. */
void gateway_store_error(http_req *rq, http_res *rs, const err *e, const char *loc0, json_t *body);
/* The caller's account from its bearer token: 1 with *u filled (store_user_clear it), 0 for
 * no token when not required, -1 after answering 401 (none when required, or invalid). */
int gateway_auth(http_req *rq, http_res *rs, store *s, bool required, store_user *u);
/* The client address login failures are counted against: the peer, or with
 * TRUST_X_FORWARDED_FOR the last X-Forwarded-For hop. */
const char *gateway_client(http_req *rq);
/* http_json_str that also refuses strings with a NUL character, which no database column
 * can keep. */
const char *gateway_str(http_req *rq, json_t *obj, const char *key, int flags, const char *def);
/* Compact JSON text (malloc'ed) of v, or NULL for NULL. */
char *gateway_dumps(const json_t *v);
/* Parses stored JSON text (new reference; null for NULL). */
json_t *gateway_loads(const char *text);
/* A store timestamp as the API's naive ISO-8601 string. */
json_t *gateway_time(int64_t us);
json_t *gateway_str_or_null(const char *s);

#endif
