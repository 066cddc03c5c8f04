/*
 * http — the server every service runs on (libmicrohttpd) and the client the gateway
 * calls its upstreams with (libcurl). It reproduces the framework behaviour of the
 * original FastAPI services (CONTRACT.md §2): exact routes with path parameters, the 307
 * trailing-slash redirect, 405 with Allow, FastAPI-shaped error bodies, pydantic-style
 * validation errors, CORS, /docs and /openapi.json.
 *
 *     static void hello(http_req *rq, http_res *rs, void *ud)
 *     {
 *         const char *name = http_json_str(rq, http_req_json(rq), "name", HTTP_REQUIRED, NULL);
 *         if (http_req_invalid(rq)) return http_res_invalid(rs, rq);   // 422, FastAPI shape
 *         json_t *o = json_object();
 *         json_object_set_new(o, "hello", json_string(name));
 *         http_res_json(rs, 200, o);                                   // takes o
 *     }
 *
 *     http_server_params p = http_server_default_params();
 *     p.service = "demo"; p.title = "Demo"; p.port = 8080;
 *     http_server *s = http_server_new(&p, &e);
 *     http_route(s, "POST", "/hello", hello, NULL,
 *                &(http_route_opts){.body = HTTP_BODY_JSON, .summary = "Say hello"});
 *     http_server_run(s, &e);            // until SIGTERM/SIGINT, then drains in-flight work
 *     http_server_free(s);
 *
 * Threads: handlers run on the server's HTTP threads, or, for routes marked `.heavy`, on
 * a bounded worker pool; when the pool's queue is full the server answers 503 with
 * Retry-After itself. A handler owns nothing of the request: everything it reads lives
 * until the response is sent. Memory a handler allocates with http_req_arena() lives as
 * long.
 */
#ifndef ARTISTRY_HTTP_H
#define ARTISTRY_HTTP_H

#include "core/core.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct http_server http_server;
typedef struct http_req http_req;
typedef struct http_res http_res;

/* ---------------------------------------------------------------- server */

typedef struct http_server_params {
    const char *service; /* short name for logs and metrics: "detect" */
    const char *title;   /* FastAPI title, shown by /docs and /openapi.json */
    const char *version; /* API version for /openapi.json */
    const char *host;    /* bind address; NULL = all interfaces */
    int port;
    int threads;              /* HTTP threads (libmicrohttpd thread pool) */
    int workers;              /* worker threads for heavy routes */
    int queue;                /* heavy requests waiting beyond the busy workers */
    size_t queue_bytes;       /* request bodies heavy requests may hold at once */
    size_t max_body;          /* whole request body, bytes (413 above) */
    size_t max_part;          /* one multipart part, bytes (413 above) */
    double request_timeout;   /* seconds a heavy request may take in all (504 after) */
    double idle_timeout;      /* seconds an idle or stalled connection is kept */
    double shutdown_timeout;  /* seconds in-flight work may take after SIGTERM */
    const char *cors_origins; /* comma-separated allowed origins */
    bool access_log;
} http_server_params;

/* Defaults: threads 2, workers = cores, queue 64, queue_bytes 256 MiB, max_body 32 MiB,
 * max_part 25 MiB, request_timeout 120 s, idle_timeout 30 s, shutdown_timeout 10 s, CORS
 * origins http://localhost:5173 and http://127.0.0.1:5173, access log on. */
http_server_params http_server_default_params(void);

/* Reads the HTTP_* / CORS_ORIGINS settings from the environment over p (HTTP_THREADS,
 * HTTP_WORKERS, HTTP_QUEUE, HTTP_QUEUE_BYTES, HTTP_MAX_BODY, HTTP_MAX_PART,
 * HTTP_REQUEST_TIMEOUT, HTTP_IDLE_TIMEOUT, HTTP_SHUTDOWN_TIMEOUT, CORS_ORIGINS, ACCESS_LOG). -1 on
 * a bad value, naming the variable. */
int http_server_params_from_env(http_server_params *p, err *e);

http_server *http_server_new(const http_server_params *p, err *e);
/* Binds, serves until SIGTERM/SIGINT (or http_server_stop), then stops accepting and lets
 * in-flight requests finish up to shutdown_timeout. Returns 0, or -1 when it could not
 * bind. */
int http_server_run(http_server *s, err *e);
/* Non-blocking start and stop for tests and embedding. */
int http_server_start(http_server *s, err *e);
int http_server_port(const http_server *s);
void http_server_stop(http_server *s);
void http_server_free(http_server *s);

typedef enum http_body {
    HTTP_BODY_NONE,     /* body ignored */
    HTTP_BODY_JSON,     /* a JSON object (a pydantic model or a dict parameter) */
    HTTP_BODY_JSON_ANY, /* any JSON value (e.g. a List[Model] parameter takes an array) */
    HTTP_BODY_FORM,     /* multipart/form-data or application/x-www-form-urlencoded */
} http_body;

typedef void (*http_handler)(http_req *rq, http_res *rs, void *ud);

typedef struct http_route_opts {
    const char *summary; /* one line for /docs */
    http_body body;
    bool heavy;      /* run on the worker pool (model inference, hashing...) */
    double timeout;  /* seconds; 0 = the server's request_timeout */
    size_t max_body; /* bytes; 0 = the server's max_body */
} http_route_opts;

/* Registers a route. `pattern` is an exact path whose segments may be parameters:
 * "/rooms/{job_id}". When two routes share method and path the first registered wins.
 * opts may be NULL (no body, light, no summary). */
void http_route(http_server *s, const char *method, const char *pattern, http_handler h, void *ud,
                const http_route_opts *opts);

/* Extra lines for /metrics: fn appends Prometheus text to *buf (a growable string). */
typedef struct http_strbuf {
    char *data;
    size_t len, cap;
} http_strbuf;
void http_strbuf_printf(http_strbuf *b, const char *fmt, ...) AR_PRINTF(2, 3);
void http_strbuf_append(http_strbuf *b, const char *s, size_t n);
typedef void (*http_metrics_fn)(http_strbuf *out, void *ud);
void http_server_metrics(http_server *s, http_metrics_fn fn, void *ud);

/* A service: what `artistry serve <name>` runs. Each service module exports one. */
typedef struct http_service {
    const char *name;  /* "gateway": also the log name and the <name>.env config file */
    const char *title; /* the original's FastAPI title */
    int port;          /* default port */
    /* Reads configuration, prepares state and registers routes. -1 with e refuses to start
     * (bad configuration); a missing model is not a reason to refuse: answer 503 instead. */
    int (*init)(http_server *s, err *e);
    /* Releases what init made, after the server stopped. May be NULL. */
    void (*fini)(void);
} http_service;

/* ---------------------------------------------------------------- request */

const char *http_req_method(const http_req *rq);
const char *http_req_path(const http_req *rq);
/* The value of a path parameter of the matched route, or NULL. */
const char *http_req_param(const http_req *rq, const char *name);
/* The first query value of name (percent-decoded), or NULL. */
const char *http_req_query(const http_req *rq, const char *name);
/* A request header (case-insensitive), or NULL. */
const char *http_req_header(const http_req *rq, const char *name);
const void *http_req_body(const http_req *rq, size_t *len);
/* The parsed JSON body of an HTTP_BODY_JSON(_ANY) route (never NULL there). */
json_t *http_req_json(const http_req *rq);
const char *http_req_id(const http_req *rq);
const char *http_req_client(const http_req *rq);
/* The bearer token of an Authorization header, or NULL. */
const char *http_req_bearer(const http_req *rq);
arena *http_req_arena(http_req *rq);
/* True once the request's time limit has passed: long handlers may check and give up. */
bool http_req_expired(const http_req *rq);

/* Multipart / urlencoded form data of an HTTP_BODY_FORM route. */
typedef struct http_part {
    const char *name;
    const char *filename;     /* NULL for plain fields */
    const char *content_type; /* NULL when the part did not say */
    const unsigned char *data;
    size_t len;
} http_part;

const http_part *http_req_part(const http_req *rq, const char *name);
size_t http_req_parts(const http_req *rq, const http_part **parts);

/* ---------------------------------------------------------------- validation */

/* Getters that validate as pydantic v2 does in lax mode and record a FastAPI-shaped
 * error (type, loc, msg, input) in the request when the value is missing or wrong.
 * After reading every field, a handler checks http_req_invalid() and answers with
 * http_res_invalid(). Location prefixes: JSON fields "body", query "query", form
 * fields and files "body", path parameters "path". */
enum {
    HTTP_OPTIONAL = 0,
    HTTP_REQUIRED = 1,
    HTTP_NULLABLE = 2, /* an explicit null is accepted (and yields the NULL / default) */
};

/* str: rejects numbers and other non-strings. Returns def when absent (or null). */
const char *http_json_str(http_req *rq, json_t *obj, const char *key, int flags, const char *def);
/* int: accepts 25000, 25000.0 and "25000"; rejects 25000.5 and bools. */
bool http_json_int(http_req *rq, json_t *obj, const char *key, int flags, long def, long *out);
/* float: accepts ints, floats and numeric strings. Rejects NaN/inf only when finite is set. */
bool http_json_num(http_req *rq, json_t *obj, const char *key, int flags, double def, double *out);
bool http_json_bool(http_req *rq, json_t *obj, const char *key, int flags, bool def, bool *out);
/* list: returns the array (borrowed) or NULL. With strings set, every item must be a str. */
json_t *http_json_list(http_req *rq, json_t *obj, const char *key, int flags, bool strings);
/* dict: returns the object (borrowed) or NULL. */
json_t *http_json_dict(http_req *rq, json_t *obj, const char *key, int flags);
/* Any JSON value present (borrowed), or NULL. */
json_t *http_json_any(http_req *rq, json_t *obj, const char *key, int flags);

const char *http_query_str(http_req *rq, const char *key, int flags, const char *def);
bool http_query_int(http_req *rq, const char *key, int flags, long def, long *out);
bool http_query_num(http_req *rq, const char *key, int flags, double def, double *out);
bool http_query_bool(http_req *rq, const char *key, int flags, bool def, bool *out);

const char *http_form_str(http_req *rq, const char *key, int flags, const char *def);
bool http_form_int(http_req *rq, const char *key, int flags, long def, long *out);
bool http_form_num(http_req *rq, const char *key, int flags, double def, double *out);
bool http_form_bool(http_req *rq, const char *key, int flags, bool def, bool *out);
/* A file part; missing → 422 loc ["body", key]. */
const http_part *http_form_file(http_req *rq, const char *key, int flags);

/* Records an error of our own (e.g. a range check): type is a pydantic-like type name,
 * loc0 "body"/"query"/"path", loc1 the field (NULL for none), input borrowed (may be NULL). */
void http_req_error(http_req *rq, const char *type, const char *msg, const char *loc0,
                    const char *loc1, json_t *input);
bool http_req_invalid(const http_req *rq);

/* ---------------------------------------------------------------- response */

/* Sends obj (taken) as compact JSON in the Python encoding: insertion order, raw UTF-8,
 * floats in their shortest round-trip form ("20.0", "0.1"). */
void http_res_json(http_res *rs, int status, json_t *obj);
/* {"detail": message} */
void http_res_error(http_res *rs, int status, const char *fmt, ...) AR_PRINTF(3, 4);
/* The 422 body of the errors recorded in rq. */
void http_res_invalid(http_res *rs, http_req *rq);
/* Answers with the status and message of an err. */
void http_res_err(http_res *rs, const err *e);
/* Copies the bytes. */
void http_res_bytes(http_res *rs, int status, const char *content_type, const void *data,
                    size_t len);
/* Takes ownership of a malloc'ed buffer. */
void http_res_take(http_res *rs, int status, const char *content_type, void *data, size_t len);
void http_res_text(http_res *rs, int status, const char *text);
void http_res_header(http_res *rs, const char *name, const char *value);

/* ---------------------------------------------------------------- JSON helpers */

/* Compact Python-style JSON (see http_res_json). Returns a malloc'ed string. */
char *http_json_dumps(const json_t *v, size_t *len);
/* json_stringn, faster for long ASCII text (base64 images); NULL where s is not UTF-8,
 * as json_stringn. */
json_t *http_json_stringn(const char *s, size_t n);
/* Shortest text that reads back as x, Python repr style: "20.0", "0.1", "1e-05". */
void http_format_double(double x, char out[32]);

/* ---------------------------------------------------------------- building blocks */

/* Route matching, exposed for tests and fuzzing. */
typedef struct http_router http_router;
typedef enum http_match_kind {
    HTTP_MATCH_FOUND,    /* *route_index set; params filled */
    HTTP_MATCH_REDIRECT, /* the path with its trailing slash toggled matches: 307 */
    HTTP_MATCH_METHOD,   /* the path matches but not the method: 405, allow filled */
    HTTP_MATCH_NONE,     /* 404 */
} http_match_kind;

typedef struct http_match {
    http_match_kind kind;
    int route; /* index in registration order */
    int nparams;
    struct {
        const char *name;
        const char *value; /* points into a copy owned by the match */
        size_t len;
    } params[8];
    char allow[96];      /* "GET, POST" */
    char redirect[1024]; /* the toggled path */
} http_match;

http_router *http_router_new(void);
void http_router_free(http_router *r);
/* Returns -1 for a malformed pattern (must start with '/', parameters whole segments). */
int http_router_add(http_router *r, const char *method, const char *pattern);
void http_router_match(const http_router *r, const char *method, const char *path, http_match *m);
size_t http_router_count(const http_router *r);
const char *http_router_method(const http_router *r, size_t i);
const char *http_router_pattern(const http_router *r, size_t i);

/* Parses a multipart/form-data body. `content_type` is the whole header value (the
 * boundary is read from it). Parts point into body. Limits: each part ≤ max_part bytes
 * (413), at most max_parts parts. Returns the number of parts, or -1 with e (400 for
 * malformed bodies, 413 for limits). *parts is malloc'ed. */
int http_multipart_parse(const char *content_type, const unsigned char *body, size_t len,
                         size_t max_part, size_t max_parts, http_part **parts, err *e);
/* Frees what http_multipart_parse returned (not the body). */
void http_multipart_free(http_part *parts, int n);
/* Parses a=b&c=d (application/x-www-form-urlencoded or a query string), percent- and
 * plus-decoding into a (the strings live in a). Returns the number of pairs. */
typedef struct http_kv {
    const char *key, *value;
    size_t value_len;
} http_kv;
int http_urlencoded_parse(arena *a, const char *text, size_t len, http_kv **out);

/* ---------------------------------------------------------------- client */

/* An HTTP client for one upstream (base URL), safe to share between threads. It keeps
 * keep-alive connections in a pool: at most max_total requests in flight (callers wait
 * beyond that, up to the connect timeout) and at most max_idle idle connections kept.
 * Connection failures and timeouts are retried (retries times, with back-off) only for
 * idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS). */
typedef struct http_client http_client;

typedef struct http_client_params {
    double connect_timeout; /* seconds, default 5 */
    double timeout;         /* seconds for the whole exchange, default 30 */
    int max_idle;           /* default 20 */
    int max_total;          /* default 50 */
    int retries;            /* default 2 */
} http_client_params;

http_client_params http_client_default_params(void);
http_client *http_client_new(const char *base_url, const http_client_params *p);
void http_client_free(http_client *c);
const char *http_client_base(const http_client *c);

typedef struct http_response {
    long status;
    char *body; /* malloc'ed, NUL-terminated */
    size_t len;
    char *content_type; /* malloc'ed or NULL */
} http_response;

void http_response_free(http_response *r);

/* Sends one request to base_url + path. headers: NULL-terminated "Name: value" lines or
 * NULL. Returns 0 when an HTTP answer came back (any status), -1 with e (502/504) when
 * none did. */
int http_client_request(http_client *c, const char *method, const char *path,
                        const char *const *headers, const char *content_type, const void *body,
                        size_t len, http_response *out, err *e);
/* JSON in and out: body may be NULL; *out receives the parsed answer (NULL when it was
 * not JSON). Returns 0 when an answer came back, -1 otherwise. */
int http_client_json(http_client *c, const char *method, const char *path, const json_t *body,
                     long *status, json_t **out, err *e);
/* Number of TCP connections this client opened so far (to test keep-alive reuse). */
long http_client_connects(http_client *c);

#endif
