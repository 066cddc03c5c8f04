/* The gateway's database: opened at start-up, reopened on demand when it was unreachable,
 * and the helpers the account, design and preference routes share (bearer tokens, store
 * errors as HTTP answers, strings that can be stored). */
#include "gateway/gateway_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static store *db;
static store_params params;
static double next_try;       /* earliest time to try opening again */
static char last_error[512];  /* why the last open failed */
static bool trust_forwarded;  /* TRUST_X_FORWARDED_FOR */
static char public_base[512]; /* PUBLIC_BASE_URL without a trailing slash */

/* Tries to open the store; 0, or -1 with e (503 unreachable, other: configuration). */
static int try_open(err *e)
{
    store *s = store_open(&params, e);
    if (!s) {
        snprintf(last_error, sizeof last_error, "%s", e->msg);
        next_try = now_s() + 2;
        return -1;
    }
    db = s;
    return 0;
}

int gateway_db_init(err *e)
{
    params = store_default_params();
    if (store_params_from_env(&params, e) != 0) return -1;
    if (cfg_bool("TRUST_X_FORWARDED_FOR", false, &trust_forwarded, e) != 0) return -1;
    const char *base = cfg_str("PUBLIC_BASE_URL", "http://localhost:5173");
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') n--;
    /* Share links embed this base unencoded (as the original did), so it must need no
     * encoding: a plain http(s) origin with an optional path. */
    bool ok = n < sizeof public_base &&
              (strncmp(base, "http://", 7) == 0 || strncmp(base, "https://", 8) == 0);
    for (size_t i = 0; ok && i < n; i++)
        ok = base[i] > ' ' && base[i] < 0x7f && !strchr("?#&\"'<>\\ %", base[i]);
    if (!ok || n <= 8) {
        err_set(e, 500, "PUBLIC_BASE_URL: '%s' is not an http:// or https:// URL without a query",
                base);
        return -1;
    }
    snprintf(public_base, sizeof public_base, "%.*s", (int)n, base);
    if (try_open(e) == 0) return 0;
    if (e->status != 503) return -1; /* a wrong URL or schema is configuration: refuse */
    log_warn("database unreachable at start-up; store routes answer 503 until it is back "
             "error=\"%s\"",
             e->msg);
    err_clear(e);
    return 0;
}

void gateway_db_free(void)
{
    pthread_mutex_lock(&mu);
    store_close(db);
    db = NULL;
    pthread_mutex_unlock(&mu);
}

store *gateway_db(http_res *rs)
{
    pthread_mutex_lock(&mu);
    store *s = db;
    if (!s && now_s() >= next_try) {
        err e = {0};
        if (try_open(&e) == 0) {
            s = db;
            log_info("database reachable again backend=%s", store_backend_name(s));
        }
    }
    char why[sizeof last_error];
    snprintf(why, sizeof why, "%s", last_error);
    pthread_mutex_unlock(&mu);
    if (!s && rs) http_res_error(rs, 503, "Database unreachable: %s", why);
    return s;
}

const char *gateway_public_base(void)
{
    return public_base;
}

void gateway_db_health(json_t *o)
{
    store *s = gateway_db(NULL);
    json_t *d = json_object();
    if (!s) {
        json_object_set_new(d, "backend",
                            json_string(params.url && !strncmp(params.url, "postgres", 8)
                                            ? "postgresql"
                                            : "sqlite"));
        json_object_set_new(d, "reachable", json_false());
        pthread_mutex_lock(&mu);
        json_object_set_new(d, "error", json_string(last_error));
        pthread_mutex_unlock(&mu);
    } else {
        err e = {0};
        bool up = store_ping(s, &e) == 0;
        json_object_set_new(d, "backend", json_string(store_backend_name(s)));
        json_object_set_new(d, "reachable", json_boolean(up));
        json_object_set_new(d, "schema_version", json_integer(store_schema_version(s)));
        if (!up) json_object_set_new(d, "error", json_string(e.msg));
    }
    json_object_set_new(o, "database", d);
}

/* ---------------------------------------------------------------- answers */

/* pydantic's error type for the message of one of our 422s. */
static const char *error_type(const char *msg)
{
    if (strncmp(msg, "String should have at least", 27) == 0) return "string_too_short";
    if (strncmp(msg, "String should have at most", 26) == 0) return "string_too_long";
    if (strncmp(msg, "Input should be greater than or equal", 37) == 0) return "greater_than_equal";
    if (strncmp(msg, "Input should be less than or equal", 34) == 0) return "less_than_equal";
    return "value_error";
}

void gateway_store_error(http_req *rq, http_res *rs, const err *e, const char *loc0, json_t *body)
{
    /* The store's 422 messages name their field first ("email: ..."): answer in FastAPI's
     * validation shape with that field as the location. */
    const char *colon = e->status == 422 ? strstr(e->msg, ": ") : NULL;
    if (colon && colon - e->msg < 64 && !memchr(e->msg, ' ', (size_t)(colon - e->msg))) {
        char field[64];
        snprintf(field, sizeof field, "%.*s", (int)(colon - e->msg), e->msg);
        json_t *input = NULL;
        if (body) input = json_object_get(body, field);
        if (!input && strcmp(loc0, "query") == 0) {
            const char *q = http_req_query(rq, field);
            input = q ? json_string(q) : NULL;
        } else if (input) {
            json_incref(input);
        }
        http_req_error(rq, error_type(colon + 2), colon + 2, loc0, field, input);
        json_decref(input);
        http_res_invalid(rs, rq);
        return;
    }
    http_res_err(rs, e);
}

int gateway_auth(http_req *rq, http_res *rs, store *s, bool required, store_user *u)
{
    memset(u, 0, sizeof *u);
    const char *token = http_req_bearer(rq);
    if (!token) {
        if (!required) return 0;
        http_res_error(rs, 401, "Not authenticated");
        http_res_header(rs, "WWW-Authenticate", "Bearer");
        return -1;
    }
    err e = {0};
    if (store_token_verify(s, token, u, &e) != 0) {
        http_res_err(rs, &e);
        if (e.status == 401) http_res_header(rs, "WWW-Authenticate", "Bearer");
        return -1;
    }
    return 1;
}

const char *gateway_client(http_req *rq)
{
    const char *fwd = trust_forwarded ? http_req_header(rq, "X-Forwarded-For") : NULL;
    if (!fwd || !*fwd) return http_req_client(rq);
    /* The last hop is the one our proxy added; anything before it the client could write. */
    const char *last = strrchr(fwd, ',');
    last = last ? last + 1 : fwd;
    while (*last == ' ') last++;
    return *last ? arena_strdup(http_req_arena(rq), last) : http_req_client(rq);
}

const char *gateway_str(http_req *rq, json_t *obj, const char *key, int flags, const char *def)
{
    const char *v = http_json_str(rq, obj, key, flags, def);
    json_t *j = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (v && json_is_string(j) && json_string_length(j) != strlen(v)) {
        http_req_error(rq, "value_error", "Value error, the string holds a NUL character", "body",
                       key, j);
        return def;
    }
    return v;
}

char *gateway_dumps(const json_t *v)
{
    if (!v) return NULL;
    size_t len;
    return http_json_dumps(v, &len);
}

json_t *gateway_loads(const char *text)
{
    if (!text) return json_null();
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    return v ? v : json_string(text);
}

json_t *gateway_time(int64_t us)
{
    char iso[32];
    store_time_iso(us, iso);
    return json_string(iso);
}

json_t *gateway_str_or_null(const char *s)
{
    return s ? http_json_stringn(s, strlen(s)) : json_null();
}
