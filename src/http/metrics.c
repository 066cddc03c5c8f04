/* Prometheus metrics: request counts per route, method and status; latency histograms per
 * route and method; requests in flight; process memory. */
#include "http/http_impl.h"

#include <stdlib.h>
#include <string.h>

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,    1,     2.5,  5,     10,   30};
#define NB ARRAY_LEN(buckets)

typedef struct series {
    int route;
    char method[12];
    int status;
    uint64_t count;
} series;

typedef struct hist {
    int route;
    char method[12];
    uint64_t bucket[NB + 1]; /* the last is +Inf */
    double sum;
    uint64_t count;
} hist;

struct http_metrics {
    pthread_mutex_t mu;
    series *series;
    size_t nseries, cap_series;
    hist *hists;
    size_t nhists, cap_hists;
};

http_metrics *http_metrics_new(size_t hint)
{
    http_metrics *m = xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->cap_series = m->cap_hists = hint ? hint : 16;
    m->series = xcalloc(m->cap_series, sizeof *m->series);
    m->hists = xcalloc(m->cap_hists, sizeof *m->hists);
    return m;
}

void http_metrics_free(http_metrics *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m->series);
    free(m->hists);
    free(m);
}

void http_metrics_observe(http_metrics *m, int route, const char *method, int status,
                          double seconds)
{
    char meth[12];
    snprintf(meth, sizeof meth, "%s", route >= 0 ? method : "other");
    if (route < 0) {
        /* unmatched requests: keep the method only when it is a known one */
        static const char *const known[] = {"GET",   "POST", "PUT",    "DELETE",
                                            "PATCH", "HEAD", "OPTIONS"};
        for (size_t i = 0; i < ARRAY_LEN(known); i++)
            if (strcmp(method, known[i]) == 0) snprintf(meth, sizeof meth, "%s", method);
    }
    pthread_mutex_lock(&m->mu);
    series *s = NULL;
    for (size_t i = 0; i < m->nseries; i++)
        if (m->series[i].route == route && m->series[i].status == status &&
            strcmp(m->series[i].method, meth) == 0) {
            s = &m->series[i];
            break;
        }
    if (!s) {
        if (m->nseries == m->cap_series) {
            m->cap_series *= 2;
            m->series = xrealloc(m->series, m->cap_series * sizeof *m->series);
        }
        s = &m->series[m->nseries++];
        memset(s, 0, sizeof *s);
        s->route = route;
        s->status = status;
        memcpy(s->method, meth, sizeof meth);
    }
    s->count++;
    hist *h = NULL;
    for (size_t i = 0; i < m->nhists; i++)
        if (m->hists[i].route == route && strcmp(m->hists[i].method, meth) == 0) {
            h = &m->hists[i];
            break;
        }
    if (!h) {
        if (m->nhists == m->cap_hists) {
            m->cap_hists *= 2;
            m->hists = xrealloc(m->hists, m->cap_hists * sizeof *m->hists);
        }
        h = &m->hists[m->nhists++];
        memset(h, 0, sizeof *h);
        h->route = route;
        memcpy(h->method, meth, sizeof meth);
    }
    size_t b = 0;
    while (b < NB && seconds > buckets[b]) b++;
    h->bucket[b]++;
    h->sum += seconds;
    h->count++;
    pthread_mutex_unlock(&m->mu);
}

static const char *route_label(http_server *s, int route)
{
    return route >= 0 ? http_router_pattern(s->router, (size_t)route) : "unmatched";
}

void http_metrics_render(http_metrics *m, http_server *s, http_strbuf *out)
{
    const char *svc = s->p.service;
    pthread_mutex_lock(&m->mu);
    http_strbuf_printf(out, "# HELP artistry_http_requests_total HTTP requests answered.\n"
                            "# TYPE artistry_http_requests_total counter\n");
    for (size_t i = 0; i < m->nseries; i++) {
        const series *x = &m->series[i];
        http_strbuf_printf(out,
                           "artistry_http_requests_total{service=\"%s\",route=\"%s\",method=\"%s\","
                           "status=\"%d\"} %llu\n",
                           svc, route_label(s, x->route), x->method, x->status,
                           (unsigned long long)x->count);
    }
    http_strbuf_printf(out, "# HELP artistry_http_request_duration_seconds Time from request "
                            "headers to response.\n"
                            "# TYPE artistry_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->nhists; i++) {
        const hist *h = &m->hists[i];
        const char *route = route_label(s, h->route);
        uint64_t cum = 0;
        for (size_t b = 0; b <= NB; b++) {
            cum += h->bucket[b];
            char le[32];
            if (b < NB)
                http_format_double(buckets[b], le);
            else
                snprintf(le, sizeof le, "+Inf");
            http_strbuf_printf(out,
                               "artistry_http_request_duration_seconds_bucket{service=\"%s\","
                               "route=\"%s\",method=\"%s\",le=\"%s\"} %llu\n",
                               svc, route, h->method, le, (unsigned long long)cum);
        }
        http_strbuf_printf(out,
                           "artistry_http_request_duration_seconds_sum{service=\"%s\",route=\"%s\","
                           "method=\"%s\"} %.6f\n"
                           "artistry_http_request_duration_seconds_count{service=\"%s\","
                           "route=\"%s\",method=\"%s\"} %llu\n",
                           svc, route, h->method, h->sum, svc, route, h->method,
                           (unsigned long long)h->count);
    }
    pthread_mutex_unlock(&m->mu);
    int busy = 0, queued = 0;
    if (s->pool) http_pool_load(s->pool, &busy, &queued);
    http_strbuf_printf(
        out,
        "# HELP artistry_http_requests_in_flight Requests being received, "
        "processed or sent.\n# TYPE artistry_http_requests_in_flight gauge\n"
        "artistry_http_requests_in_flight{service=\"%s\"} %d\n"
        "# HELP artistry_worker_busy Worker threads running a heavy request.\n"
        "# TYPE artistry_worker_busy gauge\nartistry_worker_busy{service=\"%s\"} %d\n"
        "# HELP artistry_worker_queued Heavy requests waiting for a worker.\n"
        "# TYPE artistry_worker_queued gauge\n"
        "artistry_worker_queued{service=\"%s\"} %d\n"
        "# HELP process_resident_memory_bytes Resident set size.\n"
        "# TYPE process_resident_memory_bytes gauge\n"
        "process_resident_memory_bytes %zu\n"
        "# HELP process_peak_resident_memory_bytes Peak resident set size.\n"
        "# TYPE process_peak_resident_memory_bytes gauge\n"
        "process_peak_resident_memory_bytes %zu\n"
        "# HELP process_uptime_seconds Seconds since the server started.\n"
        "# TYPE process_uptime_seconds gauge\nprocess_uptime_seconds %.3f\n",
        svc, atomic_load(&s->inflight), svc, busy, svc, queued, proc_rss_bytes(),
        proc_peak_rss_bytes(), now_s() - s->started);
}
