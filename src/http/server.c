/* The HTTP server on libmicrohttpd.
 *
 * libmicrohttpd calls `on_request` several times per request: once when the headers are
 * in, once per piece of body, and once more when the body is complete. We copy headers
 * and query at the first call, accumulate the body within the route's limit, and at the
 * last call route, parse, validate and run the handler. Heavy routes run on the worker
 * pool: the connection is suspended, the worker prepares the response and resumes it,
 * and libmicrohttpd calls us once more to send it. A request object is shared by the
 * connection and a worker through a reference count, so a request that outlives its time
 * limit (answered 504 by the watchdog) is freed by whichever lets go last. */
#include "http/http_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

http_server_params http_server_default_params(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return (http_server_params){
        .service = "artistry",
        .title = "Artistry",
        .version = ARTISTRY_VERSION,
        .port = 8000,
        .threads = 2,
        .workers = cores > 0 ? (int)cores : 2,
        /* Enough that a burst of 50 photos waits its turn rather than being turned
         * away; what bounds memory is queue_bytes, and a request that waits past its
         * time limit is answered 504. */
        .queue = 64,
        .queue_bytes = 256u << 20,
        .max_body = 32u << 20,
        .max_part = 25u << 20,
        .request_timeout = 120,
        .idle_timeout = 30,
        .shutdown_timeout = 10,
        .cors_origins = "http://localhost:5173,http://127.0.0.1:5173",
        .access_log = true,
    };
}

int http_server_params_from_env(http_server_params *p, err *e)
{
    long v;
    double d;
    size_t z;
    bool b;
    if (cfg_int("HTTP_THREADS", p->threads, 1, 256, &v, e)) return -1;
    p->threads = (int)v;
    if (cfg_int("HTTP_WORKERS", p->workers, 1, 256, &v, e)) return -1;
    p->workers = (int)v;
    if (cfg_int("HTTP_QUEUE", p->queue, 0, 100000, &v, e)) return -1;
    p->queue = (int)v;
    if (cfg_size("HTTP_QUEUE_BYTES", p->queue_bytes, 0, (size_t)1 << 40, &z, e)) return -1;
    p->queue_bytes = z;
    if (cfg_size("HTTP_MAX_BODY", p->max_body, 1024, (size_t)1 << 34, &z, e)) return -1;
    p->max_body = z;
    if (cfg_size("HTTP_MAX_PART", p->max_part, 1024, (size_t)1 << 34, &z, e)) return -1;
    p->max_part = z;
    if (cfg_double("HTTP_REQUEST_TIMEOUT", p->request_timeout, 0.001, 86400, &d, e)) return -1;
    p->request_timeout = d;
    if (cfg_double("HTTP_IDLE_TIMEOUT", p->idle_timeout, 1, 86400, &d, e)) return -1;
    p->idle_timeout = d;
    if (cfg_double("HTTP_SHUTDOWN_TIMEOUT", p->shutdown_timeout, 0, 3600, &d, e)) return -1;
    p->shutdown_timeout = d;
    if (cfg_bool("ACCESS_LOG", p->access_log, &b, e)) return -1;
    p->access_log = b;
    p->cors_origins = cfg_str("CORS_ORIGINS", p->cors_origins);
    return 0;
}

/* ---------------------------------------------------------------- construction */

http_server *http_server_new(const http_server_params *p, err *e)
{
    if (p->port < 0 || p->port > 65535) {
        err_set(e, 500, "port %d is outside 0..65535", p->port);
        return NULL;
    }
    http_server *s = xcalloc(1, sizeof *s);
    s->p = *p;
    const char **strs[] = {&s->p.service, &s->p.title, &s->p.version, &s->p.host,
                           &s->p.cors_origins};
    for (size_t i = 0; i < ARRAY_LEN(strs); i++)
        if (*strs[i]) *strs[i] = s->params_strings[i] = xstrdup(*strs[i]);
    if (s->p.cors_origins) {
        char *list = xstrdup(s->p.cors_origins), *save = NULL;
        for (char *tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            s->origins = xrealloc(s->origins, (size_t)(s->norigins + 1) * sizeof *s->origins);
            s->origins[s->norigins++] = xstrdup(tok);
        }
        free(list);
    }
    s->router = http_router_new();
    s->metrics = http_metrics_new(32);
    pthread_mutex_init(&s->jobs_mu, NULL);
    pthread_cond_init(&s->jobs_cv, NULL);
    http_register_builtin_routes(s);
    return s;
}

void http_route(http_server *s, const char *method, const char *pattern, http_handler h, void *ud,
                const http_route_opts *opts)
{
    if (http_router_add(s->router, method, pattern) != 0) {
        /* a malformed pattern is our own bug, caught the first time the service starts */
        log_error("invalid route pattern method=%s pattern=%s", method, pattern);
        abort();
    }
    if (s->nroutes == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->routes = xrealloc(s->routes, s->cap * sizeof *s->routes);
    }
    route_entry *r = &s->routes[s->nroutes++];
    memset(r, 0, sizeof *r);
    r->handler = h;
    r->ud = ud;
    if (opts) r->opts = *opts;
    r->summary = opts && opts->summary ? xstrdup(opts->summary) : NULL;
    r->opts.summary = r->summary;
}

void http_server_metrics(http_server *s, http_metrics_fn fn, void *ud)
{
    if (s->nextra < (int)ARRAY_LEN(s->extra_metrics)) {
        s->extra_metrics[s->nextra].fn = fn;
        s->extra_metrics[s->nextra].ud = ud;
        s->nextra++;
    }
}

int http_server_port(const http_server *s)
{
    return s->port;
}

/* ---------------------------------------------------------------- responses */

void http_res_reset(http_res *rs)
{
    free(rs->content_type);
    free(rs->body);
    for (int i = 0; i < rs->nheaders; i++) {
        free(rs->headers[i].name);
        free(rs->headers[i].value);
    }
    memset(rs, 0, sizeof *rs);
}

void http_res_take(http_res *rs, int status, const char *content_type, void *data, size_t len)
{
    free(rs->content_type);
    free(rs->body);
    rs->status = status;
    rs->content_type = content_type ? xstrdup(content_type) : NULL;
    rs->body = data;
    rs->len = len;
    rs->set = true;
}

void http_res_bytes(http_res *rs, int status, const char *content_type, const void *data,
                    size_t len)
{
    void *copy = xmalloc(len ? len : 1);
    if (len) memcpy(copy, data, len);
    http_res_take(rs, status, content_type, copy, len);
}

void http_res_text(http_res *rs, int status, const char *text)
{
    http_res_bytes(rs, status, "text/plain; charset=utf-8", text, strlen(text));
}

void http_res_json(http_res *rs, int status, json_t *obj)
{
    size_t len;
    char *text = http_json_dumps(obj, &len);
    json_decref(obj);
    http_res_take(rs, status, "application/json", text, len);
}

void http_res_error(http_res *rs, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    http_res_json(rs, status, json_pack("{s:s}", "detail", msg));
}

void http_res_err(http_res *rs, const err *e)
{
    int status = e->status >= 400 && e->status <= 599 ? e->status : 500;
    http_res_error(rs, status, "%s", e->msg[0] ? e->msg : "Internal Server Error");
}

void http_res_header(http_res *rs, const char *name, const char *value)
{
    for (int i = 0; i < rs->nheaders; i++)
        if (strcasecmp(rs->headers[i].name, name) == 0) {
            free(rs->headers[i].value);
            rs->headers[i].value = xstrdup(value);
            return;
        }
    if (rs->nheaders == (int)ARRAY_LEN(rs->headers)) return;
    rs->headers[rs->nheaders].name = xstrdup(name);
    rs->headers[rs->nheaders].value = xstrdup(value);
    rs->nheaders++;
}

/* ---------------------------------------------------------------- request accessors */

const char *http_req_method(const http_req *rq)
{
    return rq->method;
}

const char *http_req_path(const http_req *rq)
{
    return rq->path;
}

const char *http_req_param(const http_req *rq, const char *name)
{
    for (int i = 0; i < rq->match.nparams; i++)
        if (strcmp(rq->match.params[i].name, name) == 0) return rq->match.params[i].value;
    return NULL;
}

const char *http_req_query(const http_req *rq, const char *name)
{
    for (int i = 0; i < rq->nquery; i++)
        if (strcmp(rq->query[i].key, name) == 0) return rq->query[i].value;
    return NULL;
}

const char *http_req_header(const http_req *rq, const char *name)
{
    for (int i = 0; i < rq->nheaders; i++)
        if (strcasecmp(rq->headers[i].key, name) == 0) return rq->headers[i].value;
    return NULL;
}

const void *http_req_body(const http_req *rq, size_t *len)
{
    if (len) *len = rq->len;
    return rq->body;
}

json_t *http_req_json(const http_req *rq)
{
    return rq->json;
}

const char *http_req_id(const http_req *rq)
{
    return rq->rid;
}

const char *http_req_client(const http_req *rq)
{
    return rq->client;
}

const char *http_req_bearer(const http_req *rq)
{
    const char *h = http_req_header(rq, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return NULL;
    h += 7;
    while (*h == ' ') h++;
    return *h ? h : NULL;
}

arena *http_req_arena(http_req *rq)
{
    return rq->arena;
}

bool http_req_expired(const http_req *rq)
{
    return atomic_load(&rq->timed_out) || now_s() > rq->deadline;
}

const http_part *http_req_part(const http_req *rq, const char *name)
{
    for (int i = 0; i < rq->nparts; i++)
        if (strcmp(rq->parts[i].name, name) == 0) return &rq->parts[i];
    return NULL;
}

size_t http_req_parts(const http_req *rq, const http_part **parts)
{
    *parts = rq->parts;
    return (size_t)rq->nparts;
}

/* ---------------------------------------------------------------- request lifetime */

static enum MHD_Result copy_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    http_req *rq = cls;
    bool header = kind == MHD_HEADER_KIND;
    http_kv **arr = header ? &rq->headers : &rq->query;
    int *n = header ? &rq->nheaders : &rq->nquery;
    if (*n % 16 == 0) {
        http_kv *grown = arena_alloc(rq->arena, (size_t)(*n + 16) * sizeof **arr);
        if (*n) memcpy(grown, *arr, (size_t)*n * sizeof **arr);
        *arr = grown;
    }
    (*arr)[*n].key = arena_strdup(rq->arena, key);
    (*arr)[*n].value = arena_strdup(rq->arena, value ? value : "");
    (*arr)[*n].value_len = value ? strlen(value) : 0;
    (*n)++;
    return MHD_YES;
}

static void make_request_id(http_req *rq)
{
    const char *given = http_req_header(rq, "X-Request-ID");
    if (given) {
        size_t n = strlen(given);
        bool ok = n > 0 && n < sizeof rq->rid;
        for (size_t i = 0; ok && i < n; i++) {
            char c = given[i];
            ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 c == '-' || c == '_' || c == '.';
        }
        if (ok) {
            memcpy(rq->rid, given, n + 1);
            return;
        }
    }
    unsigned char b[8];
    random_bytes(b, sizeof b);
    for (int i = 0; i < 8; i++) snprintf(rq->rid + 2 * i, 3, "%02x", b[i]);
}

static void client_address(http_req *rq, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(rq->client, sizeof rq->client, "unknown");
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, rq->client,
                  sizeof rq->client);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, rq->client,
                  sizeof rq->client);
}

static http_req *req_new(http_server *s, struct MHD_Connection *c, const char *method,
                         const char *url)
{
    arena *a = arena_new(8192);
    http_req *rq = arena_calloc(a, 1, sizeof *rq);
    rq->arena = a;
    rq->srv = s;
    rq->conn = c;
    rq->method = arena_strdup(a, method);
    rq->path = arena_strdup(a, url);
    rq->t0 = now_s();
    rq->route = -1;
    atomic_init(&rq->refs, 1);
    MHD_get_connection_values(c, MHD_HEADER_KIND, copy_value, rq);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, copy_value, rq);
    make_request_id(rq);
    client_address(rq, c);
    return rq;
}

static void req_unref(http_req *rq)
{
    if (atomic_fetch_sub(&rq->refs, 1) != 1) return;
    http_res_reset(&rq->res);
    free(rq->body);
    json_decref(rq->json);
    json_decref(rq->errors);
    if (rq->parts_malloced) http_multipart_free(rq->parts, rq->nparts);
    arena_free(rq->arena);
}

/* ---------------------------------------------------------------- CORS */

static const char *allowed_origin(const http_req *rq)
{
    const char *origin = http_req_header(rq, "Origin");
    if (!origin) return NULL;
    for (int i = 0; i < rq->srv->norigins; i++)
        if (strcmp(rq->srv->origins[i], "*") == 0 || strcmp(rq->srv->origins[i], origin) == 0)
            return origin;
    return NULL;
}

static bool is_preflight(const http_req *rq)
{
    return strcmp(rq->method, "OPTIONS") == 0 && http_req_header(rq, "Origin") &&
           http_req_header(rq, "Access-Control-Request-Method");
}

/* Starlette's CORSMiddleware preflight answer. */
static void preflight(http_req *rq, http_res *rs)
{
    const char *origin = allowed_origin(rq);
    if (!origin) {
        http_res_text(rs, 400, "Disallowed CORS origin");
        return;
    }
    http_res_text(rs, 200, "OK");
    http_res_header(rs, "Access-Control-Allow-Methods",
                    "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
    http_res_header(rs, "Access-Control-Max-Age", "600");
    const char *hdrs = http_req_header(rq, "Access-Control-Request-Headers");
    if (hdrs) http_res_header(rs, "Access-Control-Allow-Headers", hdrs);
}

/* ---------------------------------------------------------------- sending */

static enum MHD_Result send_response(http_req *rq)
{
    http_res *rs = &rq->res;
    if (!rs->set) http_res_text(rs, 500, "Internal Server Error");
    struct MHD_Response *r =
        MHD_create_response_from_buffer(rs->len, rs->body, MHD_RESPMEM_MUST_FREE);
    rs->body = NULL; /* libmicrohttpd frees it */
    if (!r) return MHD_NO;
    if (rs->content_type) MHD_add_response_header(r, "Content-Type", rs->content_type);
    for (int i = 0; i < rs->nheaders; i++)
        MHD_add_response_header(r, rs->headers[i].name, rs->headers[i].value);
    MHD_add_response_header(r, "X-Request-ID", rq->rid);
    const char *origin = allowed_origin(rq);
    if (origin) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(r, "Access-Control-Allow-Credentials", "true");
        MHD_add_response_header(r, "Vary", "Origin");
    }
    if (atomic_load(&rq->srv->draining)) MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ok = MHD_queue_response(rq->conn, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    rq->state = REQ_SENT;
    return ok;
}

/* ---------------------------------------------------------------- dispatch */

static bool is_json_content_type(const char *ct)
{
    if (!ct || !*ct) return true; /* FastAPI parses a body without Content-Type as JSON */
    const char *semi = strchr(ct, ';');
    size_t n = semi ? (size_t)(semi - ct) : strlen(ct);
    while (n && ct[n - 1] == ' ') n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0) return true;
    /* "*" "/" "*+json" */
    const char *slash = memchr(ct, '/', n);
    return slash && n >= 5 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* Parses the body as the route declares; on failure writes the 422 and returns false. */
static bool parse_body(http_req *rq, const route_entry *r, http_res *rs)
{
    const char *ct = http_req_header(rq, "Content-Type");
    if (r->opts.body == HTTP_BODY_JSON || r->opts.body == HTTP_BODY_JSON_ANY) {
        bool want_object = r->opts.body == HTTP_BODY_JSON;
        if (!is_json_content_type(ct) || rq->len == 0) {
            /* FastAPI: a missing or non-JSON body fails the model's validation */
            if (rq->len == 0 && is_json_content_type(ct))
                http_req_error(rq, "missing", "Field required", "body", NULL, NULL);
            else
                http_req_error(rq, want_object ? "model_attributes_type" : "json_type",
                               want_object ? "Input should be a valid dictionary or object to "
                                             "extract fields from (the body must be JSON with "
                                             "Content-Type: application/json)"
                                           : "Input should be JSON",
                               "body", NULL, NULL);
            http_res_invalid(rs, rq);
            return false;
        }
        json_error_t je;
        rq->json =
            json_loadb((const char *)rq->body, rq->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!rq->json) {
            json_t *err = json_pack("{s:s,s:[s,i],s:s,s:{},s:{s:s}}", "type", "json_invalid", "loc",
                                    "body", (int)je.position, "msg", "JSON decode error", "input",
                                    "ctx", "error", je.text);
            if (!rq->errors) rq->errors = json_array();
            json_array_append_new(rq->errors, err);
            http_res_invalid(rs, rq);
            return false;
        }
        if (want_object && !json_is_object(rq->json)) {
            http_req_error(rq, "model_attributes_type",
                           "Input should be a valid dictionary or object to extract fields from",
                           "body", NULL, rq->json);
            http_res_invalid(rs, rq);
            return false;
        }
        return true;
    }
    if (r->opts.body == HTTP_BODY_FORM && ct) {
        if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
            err e = {0};
            int n = http_multipart_parse(ct, rq->body, rq->len, rq->srv->p.max_part, 256,
                                         &rq->parts, &e);
            if (n < 0) {
                http_res_err(rs, &e);
                return false;
            }
            rq->nparts = n;
            rq->parts_malloced = true;
        } else if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
            http_kv *kv;
            int n = http_urlencoded_parse(rq->arena, (const char *)rq->body, rq->len, &kv);
            rq->parts = arena_calloc(rq->arena, (size_t)(n ? n : 1), sizeof *rq->parts);
            for (int i = 0; i < n; i++) {
                rq->parts[i].name = kv[i].key;
                rq->parts[i].data = (const unsigned char *)kv[i].value;
                rq->parts[i].len = kv[i].value_len;
            }
            rq->nparts = n;
        }
    }
    return true;
}

static void run_handler(http_req *rq, http_res *rs)
{
    const route_entry *r = &rq->srv->routes[rq->route];
    log_set_request_id(rq->rid);
    r->handler(rq, rs, r->ud);
    if (!rs->set) {
        log_error("handler set no response method=%s path=%s", rq->method, rq->path);
        http_res_text(rs, 500, "Internal Server Error");
    }
    log_set_request_id(NULL);
}

/* ---- heavy requests: worker pool, watchdog */

static void job_track(http_server *s, http_req *rq, bool add)
{
    pthread_mutex_lock(&s->jobs_mu);
    if (add) {
        rq->job_prev = NULL;
        rq->job_next = s->jobs;
        if (s->jobs) s->jobs->job_prev = rq;
        s->jobs = rq;
        pthread_cond_signal(&s->jobs_cv);
    } else {
        if (rq->job_prev)
            rq->job_prev->job_next = rq->job_next;
        else if (s->jobs == rq)
            s->jobs = rq->job_next;
        if (rq->job_next) rq->job_next->job_prev = rq->job_prev;
        rq->job_next = rq->job_prev = NULL;
    }
    pthread_mutex_unlock(&s->jobs_mu);
}

/* Exactly one of the worker and the watchdog gets to complete a job. */
static bool job_claim(http_req *rq)
{
    bool expected = false;
    return atomic_compare_exchange_strong(&rq->finished, &expected, true);
}

/* 503 with Retry-After for a heavy request turned away; why names the limit reached. */
static void busy(http_server *s, http_res *rs, const char *why, ...) AR_PRINTF(3, 4);
static void busy(http_server *s, http_res *rs, const char *why, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, why);
    vsnprintf(reason, sizeof reason, why, ap);
    va_end(ap);
    http_res_error(rs, 503, "the %s service is busy (%s); retry in a moment", s->p.service, reason);
    http_res_header(rs, "Retry-After", "1");
}

static void job_run(void *arg)
{
    http_req *rq = arg;
    http_server *s = rq->srv;
    /* the handler writes a private response: rq->res belongs to whoever claims the job */
    http_res res = {0};
    if (!atomic_load(&rq->timed_out)) run_handler(rq, &res);
    atomic_fetch_sub(&s->job_bytes, rq->job_bytes);
    job_track(s, rq, false);
    if (job_claim(rq)) {
        http_res_reset(&rq->res);
        rq->res = res;
        rq->state = REQ_READY;
        MHD_resume_connection(rq->conn);
    } else {
        http_res_reset(&res);
    }
    req_unref(rq);
}

static void *watchdog_main(void *arg)
{
    http_server *s = arg;
    pthread_mutex_lock(&s->jobs_mu);
    while (s->watchdog_running) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->jobs_cv, &s->jobs_mu, &ts);
        double t = now_s();
        for (http_req *rq = s->jobs; rq; rq = rq->job_next) {
            if (t <= rq->deadline || atomic_load(&rq->timed_out)) continue;
            atomic_store(&rq->timed_out, true);
            if (!job_claim(rq)) continue;
            http_res_reset(&rq->res);
            http_res_error(&rq->res, 504, "the request took longer than its %.0f s limit",
                           rq->deadline - rq->t0);
            rq->state = REQ_READY;
            MHD_resume_connection(rq->conn);
        }
    }
    pthread_mutex_unlock(&s->jobs_mu);
    return NULL;
}

static enum MHD_Result dispatch(http_req *rq)
{
    http_server *s = rq->srv;
    http_res *rs = &rq->res;
    if (rq->too_large) {
        http_res_error(rs, 413, "request body is larger than the %zu byte limit", rq->max_body);
        return send_response(rq);
    }
    if (is_preflight(rq)) {
        preflight(rq, rs);
        return send_response(rq);
    }
    switch (rq->match.kind) {
    case HTTP_MATCH_NONE:
        http_res_error(rs, 404, "Not Found");
        return send_response(rq);
    case HTTP_MATCH_METHOD:
        http_res_error(rs, 405, "Method Not Allowed");
        http_res_header(rs, "Allow", rq->match.allow);
        return send_response(rq);
    case HTTP_MATCH_REDIRECT: {
        http_strbuf loc = {0};
        const char *host = http_req_header(rq, "Host");
        if (host) http_strbuf_printf(&loc, "http://%s", host);
        http_strbuf_append(&loc, rq->match.redirect, strlen(rq->match.redirect));
        for (int i = 0; i < rq->nquery; i++) {
            http_strbuf_append(&loc, i ? "&" : "?", 1);
            for (int k = 0; k < 2; k++) {
                const char *t = k ? rq->query[i].value : rq->query[i].key;
                size_t n = k ? rq->query[i].value_len : strlen(t);
                if (k) http_strbuf_append(&loc, "=", 1);
                for (size_t j = 0; j < n; j++) {
                    unsigned char c = (unsigned char)t[j];
                    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || strchr("-._~", c))
                        http_strbuf_append(&loc, (const char *)&c, 1);
                    else
                        http_strbuf_printf(&loc, "%%%02X", c);
                }
            }
        }
        http_res_bytes(rs, 307, NULL, "", 0);
        http_res_header(rs, "Location", loc.data);
        free(loc.data);
        return send_response(rq);
    }
    case HTTP_MATCH_FOUND:
        break;
    }
    const route_entry *r = &s->routes[rq->route];
    if (!parse_body(rq, r, rs)) return send_response(rq);
    if (!r->opts.heavy) {
        run_handler(rq, rs);
        return send_response(rq);
    }
    double limit = r->opts.timeout > 0 ? r->opts.timeout : s->p.request_timeout;
    rq->deadline = rq->t0 + limit;
    /* The bodies of admitted heavy requests are held until their handler has run; past
     * queue_bytes a new one is turned away, unless nothing else is held (one request
     * within max_body is always served). */
    size_t held = atomic_fetch_add(&s->job_bytes, rq->len);
    if (held > 0 && held + rq->len > s->p.queue_bytes) {
        atomic_fetch_sub(&s->job_bytes, rq->len);
        busy(s, rs,
             "%.0f MB of uploads are waiting or in progress, the limit is "
             "HTTP_QUEUE_BYTES=%.0f MB",
             (double)held / (1 << 20), (double)s->p.queue_bytes / (1 << 20));
        return send_response(rq);
    }
    rq->job_bytes = rq->len;
    atomic_fetch_add(&rq->refs, 1); /* the worker's */
    rq->state = REQ_QUEUED;
    MHD_suspend_connection(rq->conn);
    job_track(s, rq, true);
    if (!http_pool_submit(s->pool, job_run, rq)) {
        job_track(s, rq, false);
        atomic_fetch_sub(&s->job_bytes, rq->job_bytes);
        atomic_fetch_sub(&rq->refs, 1);
        atomic_store(&rq->finished, true);
        busy(s, rs, "%d requests in progress and %d waiting", s->p.workers, s->p.queue);
        rq->state = REQ_READY;
        MHD_resume_connection(rq->conn);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    http_server *s = cls;
    http_req *rq = *con_cls;
    if (!rq) {
        rq = req_new(s, c, method, url);
        *con_cls = rq;
        atomic_fetch_add(&s->inflight, 1);
        http_router_match(s->router, rq->method, rq->path, &rq->match);
        /* the match's parameter values point into the path: copy them */
        for (int i = 0; i < rq->match.nparams; i++)
            rq->match.params[i].value =
                arena_strndup(rq->arena, rq->match.params[i].value, rq->match.params[i].len);
        rq->route = rq->match.kind == HTTP_MATCH_FOUND ? rq->match.route : -1;
        rq->max_body = s->p.max_body;
        if (rq->route >= 0 && s->routes[rq->route].opts.max_body)
            rq->max_body = s->routes[rq->route].opts.max_body;
        const char *cl = http_req_header(rq, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > rq->max_body) {
            rq->too_large = true;
            return dispatch(rq); /* answer 413 before reading the body */
        }
        rq->deadline = rq->t0 + s->p.request_timeout;
        return MHD_YES;
    }
    if (rq->state == REQ_READY) return send_response(rq);
    if (rq->state != REQ_RECEIVING) return MHD_YES;
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (rq->too_large || rq->len + n > rq->max_body) {
            rq->too_large = true;
            rq->discarded += n;
            /* a client that keeps sending far beyond the limit is cut off */
            return rq->discarded > 4 * rq->max_body + (1u << 20) ? MHD_NO : MHD_YES;
        }
        if (rq->len + n + 1 > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 16384;
            while (cap < rq->len + n + 1) cap *= 2;
            if (cap > rq->max_body + 1) cap = rq->max_body + 1;
            rq->body = xrealloc(rq->body, cap);
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, upload_data, n);
        rq->len += n;
        rq->body[rq->len] = '\0';
        return MHD_YES;
    }
    return dispatch(rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    http_server *s = cls;
    http_req *rq = *con_cls;
    if (!rq) return;
    *con_cls = NULL;
    double dt = now_s() - rq->t0;
    int status = rq->state == REQ_SENT ? rq->res.status : 499;
    http_metrics_observe(s->metrics, rq->route, rq->method, status, dt);
    if (s->p.access_log) {
        log_set_request_id(rq->rid);
        const char *route =
            rq->route >= 0 ? http_router_pattern(s->router, (size_t)rq->route) : "-";
        log_info("request method=%s path=%s route=%s status=%d ms=%.2f in=%zu out=%zu client=%s%s",
                 rq->method, rq->path, route, status, dt * 1e3, rq->len + rq->discarded,
                 rq->res.len, rq->client,
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
        log_set_request_id(NULL);
    }
    if (rq->state == REQ_QUEUED) {
        /* the client went away while a worker holds the request: let the worker finish */
        atomic_store(&rq->timed_out, true);
    }
    req_unref(rq);
    atomic_fetch_sub(&s->inflight, 1);
}

/* ---------------------------------------------------------------- run and stop */

/* libmicrohttpd's own error messages; its format strings are its own. */
AR_PRINTF(2, 0) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
    log_debug("libmicrohttpd: %s", msg);
}

int http_server_start(http_server *s, err *e)
{
    struct sockaddr_in6 a6 = {0};
    struct sockaddr_in a4 = {0};
    const struct sockaddr *addr = NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (s->p.host && *s->p.host) {
        if (inet_pton(AF_INET, s->p.host, &a4.sin_addr) == 1) {
            a4.sin_family = AF_INET;
            a4.sin_port = htons((uint16_t)s->p.port);
            addr = (const struct sockaddr *)&a4;
        } else if (inet_pton(AF_INET6, s->p.host, &a6.sin6_addr) == 1) {
            a6.sin6_family = AF_INET6;
            a6.sin6_port = htons((uint16_t)s->p.port);
            addr = (const struct sockaddr *)&a6;
            flags |= MHD_USE_IPv6;
        } else {
            err_set(e, 500, "HOST: '%s' is not an IPv4 or IPv6 address", s->p.host);
            return -1;
        }
    }
    s->pool = http_pool_new(s->p.workers, s->p.queue);
    s->watchdog_running = true;
    pthread_create(&s->watchdog, NULL, watchdog_main, s);
    s->started = now_s();
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_THREAD_POOL_SIZE, s->p.threads > 1 ? s->p.threads : 0, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)(s->p.idle_timeout + 0.5), NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 4096, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {addr ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, 0, (void *)addr},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(flags, (uint16_t)s->p.port, NULL, NULL, on_request, s,
                                 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!s->daemon) {
        err_set(e, 500, "cannot listen on %s:%d (is the port in use?)", s->p.host ? s->p.host : "*",
                s->p.port);
        http_server_stop(s);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->p.port;
    return 0;
}

void http_server_stop(http_server *s)
{
    if (s->daemon) {
        /* stop accepting, then let the requests in flight finish up to the deadline */
        atomic_store(&s->draining, true);
        MHD_socket fd = MHD_quiesce_daemon(s->daemon);
        if (fd != MHD_INVALID_SOCKET) close(fd);
        double deadline = now_s() + s->p.shutdown_timeout;
        while (atomic_load(&s->inflight) > 0 && now_s() < deadline) usleep(10000);
        int left = atomic_load(&s->inflight);
        if (left > 0) {
            log_warn("shutdown deadline passed requests_abandoned=%d", left);
            /* answer jobs still running so no suspended connection outlives the daemon */
            pthread_mutex_lock(&s->jobs_mu);
            for (http_req *rq = s->jobs; rq; rq = rq->job_next) {
                atomic_store(&rq->timed_out, true);
                if (!job_claim(rq)) continue;
                http_res_reset(&rq->res);
                http_res_error(&rq->res, 503, "the %s service is shutting down", s->p.service);
                rq->state = REQ_READY;
                MHD_resume_connection(rq->conn);
            }
            pthread_mutex_unlock(&s->jobs_mu);
            usleep(100000);
        }
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
    }
    if (s->watchdog_running) {
        pthread_mutex_lock(&s->jobs_mu);
        s->watchdog_running = false;
        pthread_cond_signal(&s->jobs_cv);
        pthread_mutex_unlock(&s->jobs_mu);
        pthread_join(s->watchdog, NULL);
    }
    http_pool_free(s->pool);
    s->pool = NULL;
}

int http_server_run(http_server *s, err *e)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* every thread started from here inherits the mask; only this one takes the signals */
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);
    if (http_server_start(s, e) != 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    log_info("listening service=%s host=%s port=%d threads=%d workers=%d queue=%d", s->p.service,
             s->p.host ? s->p.host : "*", s->port, s->p.threads, s->p.workers, s->p.queue);
    while (!atomic_load(&s->stop)) {
        struct timespec ts = {0, 200 * 1000000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("shutting down signal=%s in_flight=%d", sig == SIGTERM ? "TERM" : "INT",
                     atomic_load(&s->inflight));
            break;
        }
    }
    http_server_stop(s);
    log_info("stopped service=%s", s->p.service);
    /* The mask stays: a second SIGTERM during the drain must not kill us on the way out. */
    return 0;
}

void http_server_free(http_server *s)
{
    if (!s) return;
    http_server_stop(s);
    for (size_t i = 0; i < s->nroutes; i++) free(s->routes[i].summary);
    free(s->routes);
    http_router_free(s->router);
    http_metrics_free(s->metrics);
    for (int i = 0; i < s->norigins; i++) free(s->origins[i]);
    free(s->origins);
    for (size_t i = 0; i < ARRAY_LEN(s->params_strings); i++) free(s->params_strings[i]);
    pthread_mutex_destroy(&s->jobs_mu);
    pthread_cond_destroy(&s->jobs_cv);
    free(s);
}
