/* Private to src/http: the server's and request's insides shared by its files. */
#ifndef ARTISTRY_HTTP_IMPL_H
#define ARTISTRY_HTTP_IMPL_H

#include "http/http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- worker pool (pool.c) */
typedef struct http_pool http_pool;
http_pool *http_pool_new(int threads, int queue);
/* false when the queue is full or the pool is stopping */
bool http_pool_submit(http_pool *p, void (*fn)(void *), void *arg);
void http_pool_load(http_pool *p, int *busy, int *queued);
void http_pool_free(http_pool *p);

/* ---- metrics (metrics.c) */
typedef struct http_metrics http_metrics;
http_metrics *http_metrics_new(size_t nroutes_hint);
void http_metrics_free(http_metrics *m);
/* route: index or -1 for requests that matched no route */
void http_metrics_observe(http_metrics *m, int route, const char *method, int status,
                          double seconds);
void http_metrics_render(http_metrics *m, http_server *s, http_strbuf *out);

typedef struct route_entry {
    http_handler handler;
    void *ud;
    http_route_opts opts;
    char *summary;
} route_entry;

struct http_server {
    http_server_params p;
    char *params_strings[5]; /* owned copies of the params' strings */
    char **origins;
    int norigins;
    http_router *router;
    route_entry *routes;
    size_t nroutes, cap;
    struct MHD_Daemon *daemon;
    http_pool *pool;
    http_metrics *metrics;
    struct {
        http_metrics_fn fn;
        void *ud;
    } extra_metrics[8];
    int nextra;
    atomic_int inflight;
    atomic_size_t job_bytes; /* bodies held by admitted heavy requests */
    atomic_bool stop;
    atomic_bool draining;
    int port;
    double started;
    /* heavy jobs with a deadline, watched by the watchdog thread */
    pthread_t watchdog;
    bool watchdog_running;
    pthread_mutex_t jobs_mu;
    pthread_cond_t jobs_cv;
    struct http_req *jobs; /* intrusive list of running heavy requests */
};

typedef enum req_state {
    REQ_RECEIVING,
    REQ_QUEUED, /* handed to the worker pool, connection suspended */
    REQ_READY,  /* response prepared, waiting to be queued on the connection */
    REQ_SENT,
} req_state;

struct http_res {
    int status;
    char *content_type;
    unsigned char *body;
    size_t len;
    struct {
        char *name, *value;
    } headers[8];
    int nheaders;
    bool set;
};

struct http_req {
    http_server *srv;
    struct MHD_Connection *conn;
    arena *arena;
    const char *method;
    const char *path;
    char rid[24];
    char client[64];
    double t0, deadline;
    /* headers and query, copied from libmicrohttpd at the first callback */
    http_kv *headers;
    int nheaders;
    http_kv *query;
    int nquery;
    /* routing */
    http_match match;
    int route;
    size_t max_body;
    /* body */
    unsigned char *body;
    size_t len, cap;
    bool too_large;
    size_t discarded;
    json_t *json;
    http_part *parts;
    int nparts;
    bool parts_malloced; /* parts came from http_multipart_parse */
    json_t *errors;      /* validation errors, FastAPI shape */
    /* response */
    http_res res;
    req_state state;
    atomic_int refs;  /* the connection's, plus the worker's while a job runs */
    size_t job_bytes; /* what this request adds to the server's job_bytes while queued */
    atomic_bool timed_out;
    atomic_bool finished;
    struct http_req *job_next, *job_prev;
};

void http_res_reset(http_res *rs);

/* docs.c: /docs, /redoc, /docs/oauth2-redirect, /openapi.json, /metrics */
void http_register_builtin_routes(http_server *s);

#endif
