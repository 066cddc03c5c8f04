/* The HTTP client on libcurl. Each upstream gets a pool of easy handles; a handle keeps
 * its keep-alive connection between requests, so a handle taken from the idle list
 * usually sends on a warm connection. The pool bounds both the handles in use (callers
 * wait for one) and the idle ones kept. */
#include "http/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct http_client {
    char *base;
    http_client_params p;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    CURL **idle;
    int nidle;
    int total; /* handles in use plus idle */
    atomic_long connects;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

http_client_params http_client_default_params(void)
{
    return (http_client_params){
        .connect_timeout = 5, .timeout = 30, .max_idle = 20, .max_total = 50, .retries = 2};
}

http_client *http_client_new(const char *base_url, const http_client_params *p)
{
    pthread_once(&curl_once, curl_init_once);
    http_client *c = xcalloc(1, sizeof *c);
    c->p = p ? *p : http_client_default_params();
    if (c->p.max_total < 1) c->p.max_total = 1;
    if (c->p.max_idle > c->p.max_total) c->p.max_idle = c->p.max_total;
    size_t n = strlen(base_url);
    while (n && base_url[n - 1] == '/') n--; /* paths start with '/' */
    c->base = xstrndup(base_url, n);
    c->idle = xcalloc((size_t)c->p.max_total, sizeof *c->idle);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    return c;
}

void http_client_free(http_client *c)
{
    if (!c) return;
    for (int i = 0; i < c->nidle; i++) curl_easy_cleanup(c->idle[i]);
    free(c->idle);
    free(c->base);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

const char *http_client_base(const http_client *c)
{
    return c->base;
}

long http_client_connects(http_client *c)
{
    return atomic_load(&c->connects);
}

void http_response_free(http_response *r)
{
    if (!r) return;
    free(r->body);
    free(r->content_type);
    memset(r, 0, sizeof *r);
}

static CURL *acquire(http_client *c, err *e)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long ns = (long)(c->p.connect_timeout * 1e9);
    until.tv_sec += ns / 1000000000;
    until.tv_nsec += ns % 1000000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&c->mu);
    CURL *h = NULL;
    for (;;) {
        if (c->nidle) {
            h = c->idle[--c->nidle];
            break;
        }
        if (c->total < c->p.max_total) {
            c->total++;
            pthread_mutex_unlock(&c->mu);
            h = curl_easy_init();
            if (!h) {
                pthread_mutex_lock(&c->mu);
                c->total--;
                pthread_cond_signal(&c->cv);
                break;
            }
            return h;
        }
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) != 0) break;
    }
    pthread_mutex_unlock(&c->mu);
    if (!h) err_set(e, 503, "%s: all %d connections are busy", c->base, c->p.max_total);
    return h;
}

static void release(http_client *c, CURL *h, bool keep)
{
    pthread_mutex_lock(&c->mu);
    if (keep && c->nidle < c->p.max_idle) {
        c->idle[c->nidle++] = h;
        h = NULL;
    } else {
        c->total--;
    }
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (h) curl_easy_cleanup(h);
}

typedef struct sink {
    char *data;
    size_t len, cap, limit;
    bool overflow;
} sink;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    if (s->len + n > s->limit) {
        s->overflow = true;
        return 0;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + n + 1) cap *= 2;
        s->data = xrealloc(s->data, cap);
        s->cap = cap;
    }
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

static bool idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
           !strcmp(m, "OPTIONS");
}

static bool retryable(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
           rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_COULDNT_RESOLVE_HOST;
}

int http_client_request(http_client *c, const char *method, const char *path,
                        const char *const *headers, const char *content_type, const void *body,
                        size_t len, http_response *out, err *e)
{
    memset(out, 0, sizeof *out);
    char *url = xasprintf("%s%s", c->base, path ? path : "");
    int attempts = idempotent(method) ? c->p.retries + 1 : 1;
    CURLcode rc = CURLE_OK;
    char errbuf[CURL_ERROR_SIZE];
    for (int attempt = 0; attempt < attempts; attempt++) {
        if (attempt) usleep((useconds_t)(100000u << (attempt - 1)));
        CURL *h = acquire(c, e);
        if (!h) {
            free(url);
            return -1;
        }
        curl_easy_reset(h); /* keeps the connection cache */
        struct curl_slist *hl = NULL;
        for (const char *const *hp = headers; hp && *hp; hp++) hl = curl_slist_append(hl, *hp);
        char ct[256];
        if (content_type) {
            snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
            hl = curl_slist_append(hl, ct);
        }
        hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */
        sink s = {.limit = (size_t)1 << 30};
        errbuf[0] = '\0';
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (!strcmp(method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        if (body || len) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->p.connect_timeout * 1000));
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(c->p.timeout * 1000));
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L);
        rc = curl_easy_perform(h);
        long nconn = 0;
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn);
        atomic_fetch_add(&c->connects, nconn);
        curl_slist_free_all(hl);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
            const char *t = NULL;
            curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &t);
            out->content_type = t ? xstrdup(t) : NULL;
            out->body = s.data ? s.data : xstrdup("");
            out->len = s.len;
            release(c, h, true);
            free(url);
            return 0;
        }
        free(s.data);
        release(c, h, false);
        if (s.overflow) break;
        if (!retryable(rc)) break;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT)
        err_set(e, 504, "%s did not answer within %.0f s", url, c->p.timeout);
    else
        err_set(e, 502, "cannot reach %s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    free(url);
    return -1;
}

int http_client_json(http_client *c, const char *method, const char *path, const json_t *body,
                     long *status, json_t **out, err *e)
{
    size_t len = 0;
    char *text = body ? http_json_dumps(body, &len) : NULL;
    const char *hdrs[] = {"Accept: application/json", NULL};
    http_response r;
    int rc = http_client_request(c, method, path, hdrs, body ? "application/json" : NULL, text, len,
                                 &r, e);
    free(text);
    *out = NULL;
    if (rc != 0) return -1;
    if (status) *status = r.status;
    *out = json_loadb(r.body, r.len, JSON_DECODE_ANY, NULL);
    http_response_free(&r);
    return 0;
}
