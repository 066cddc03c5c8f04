/* A bounded pool of worker threads for heavy handlers. Jobs wait in a ring of fixed
 * capacity; submitting to a full ring fails at once, so callers can answer 503 instead
 * of letting latency grow without bound. */
#include "http/http_impl.h"

#include <pthread.h>
#include <stdlib.h>

struct http_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t *threads;
    int nthreads;
    struct {
        void (*fn)(void *);
        void *arg;
    } * ring;
    int cap, head, count;
    int busy;
    bool stopping;
};

static void *worker_main(void *arg)
{
    http_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->count && !p->stopping) pthread_cond_wait(&p->cv, &p->mu);
        if (!p->count && p->stopping) break;
        void (*fn)(void *) = p->ring[p->head].fn;
        void *a = p->ring[p->head].arg;
        p->head = (p->head + 1) % p->cap;
        p->count--;
        p->busy++;
        pthread_mutex_unlock(&p->mu);
        fn(a);
        pthread_mutex_lock(&p->mu);
        p->busy--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

http_pool *http_pool_new(int threads, int queue)
{
    http_pool *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->nthreads = threads > 0 ? threads : 1;
    /* room for one job per worker plus the waiting queue */
    p->cap = p->nthreads + (queue > 0 ? queue : 0);
    p->ring = xcalloc((size_t)p->cap, sizeof *p->ring);
    p->threads = xcalloc((size_t)p->nthreads, sizeof *p->threads);
    for (int i = 0; i < p->nthreads; i++) pthread_create(&p->threads[i], NULL, worker_main, p);
    return p;
}

bool http_pool_submit(http_pool *p, void (*fn)(void *), void *arg)
{
    pthread_mutex_lock(&p->mu);
    /* busy workers count against capacity: `queue` jobs may wait beyond them */
    bool ok = !p->stopping && p->count + p->busy < p->cap;
    if (ok) {
        int slot = (p->head + p->count) % p->cap;
        p->ring[slot].fn = fn;
        p->ring[slot].arg = arg;
        p->count++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void http_pool_load(http_pool *p, int *busy, int *queued)
{
    pthread_mutex_lock(&p->mu);
    *busy = p->busy;
    *queued = p->count;
    pthread_mutex_unlock(&p->mu);
}

void http_pool_free(http_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->ring);
    free(p->threads);
    free(p);
}
