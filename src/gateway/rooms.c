/* POST /rooms and GET /rooms/{job_id} (CONTRACT.md §4.7–4.8): a redesign job queued in the
 * database and worked by a background thread: detect → segment → advise → generate /render.
 *
 * Jobs live in the store's `jobs` table, so any number of gateways can share one queue on
 * PostgreSQL: a worker claims the oldest pending job with FOR UPDATE SKIP LOCKED (SQLite
 * serialises writers, which is the same guarantee on one machine). A job cannot run longer
 * than its four upstream calls' time limits, so one still `running` after
 * ROOMS_STALE_SECONDS (default 15 minutes) was left by a gateway that stopped: it is marked
 * failed rather than run twice. The original's result held
 * `output_url`, always null since no service returns one; ours keeps that key and adds the
 * rendered image as raw base64. */
#include "gateway/gateway_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static struct {
    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kick;
    long stale_s;
} rooms = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void wake(void)
{
    pthread_mutex_lock(&rooms.mu);
    rooms.kick = true;
    pthread_cond_signal(&rooms.cv);
    pthread_mutex_unlock(&rooms.mu);
}

static void create(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    json_t *body = http_req_json(rq);
    const char *image = gateway_str(rq, body, "image_b64", HTTP_REQUIRED, NULL);
    const char *prompt = gateway_str(rq, body, "prompt", HTTP_NULLABLE, "");
    json_t *options = http_json_dict(rq, body, "options", HTTP_NULLABLE);
    if (http_req_invalid(rq)) return http_res_invalid(rs, rq);
    store *s = gateway_db(rs);
    if (!s) return;
    char id[37];
    uuid4(id);
    json_t *job = json_pack("{s:s,s:s,s:O}", "image_b64", image, "prompt", prompt ? prompt : "",
                            "options", options ? options : json_object());
    char *text = gateway_dumps(job);
    json_decref(job);
    int64_t now = store_now_us(s);
    store_value args[] = {store_text(id), store_text(text), store_int(now)};
    err e = {0};
    int64_t n = store_exec(s,
                           "INSERT INTO jobs (id, status, request, created_at, updated_at)"
                           " VALUES ($1, 'pending', $2, $3, $3)",
                           args, ARRAY_LEN(args), NULL, &e);
    free(text);
    if (n < 0) return gateway_store_error(rq, rs, &e, "body", body);
    wake();
    http_res_json(rs, 200, json_pack("{s:s}", "job_id", id));
}

static void get(http_req *rq, http_res *rs, void *ud)
{
    (void)ud;
    store *s = gateway_db(rs);
    if (!s) return;
    store_value args[] = {store_text(http_req_param(rq, "job_id"))};
    store_rows *r = NULL;
    err e = {0};
    int64_t n =
        store_exec(s, "SELECT id, status, result, error FROM jobs WHERE id = $1", args, 1, &r, &e);
    if (n < 0) {
        store_rows_free(r);
        return http_res_err(rs, &e);
    }
    if (n == 0) {
        store_rows_free(r);
        return http_res_error(rs, 404, "job not found");
    }
    const char *result = store_rows_text(r, 0, 2);
    json_t *o = json_object();
    json_object_set_new(o, "job_id", json_string(store_rows_text(r, 0, 0)));
    json_object_set_new(o, "status", json_string(store_rows_text(r, 0, 1)));
    json_object_set_new(o, "result", result ? gateway_loads(result) : json_null());
    json_object_set_new(o, "error", gateway_str_or_null(store_rows_text(r, 0, 3)));
    store_rows_free(r);
    http_res_json(rs, 200, o);
}

/* ---------------------------------------------------------------- the worker */

/* One step of a job: the service's answer, or NULL with *error (malloc'ed). */
static json_t *step(upstream u, const char *path, json_t *body, char **error)
{
    err e = {0};
    json_t *out = gateway_call(u, path, body, &e);
    if (!out) *error = xstrdup(e.msg);
    return out;
}

/* Runs one job's pipeline; returns the result object or NULL with *error. */
static json_t *run(json_t *job, char **error)
{
    const char *image = json_string_value(json_object_get(job, "image_b64"));
    json_t *prompt = json_object_get(job, "prompt"), *options = json_object_get(job, "options");
    json_t *req, *det, *seg = NULL, *adv = NULL, *gen = NULL, *result = NULL;

    req = json_pack("{s:s}", "image_b64", image);
    det = step(UPSTREAM_DETECT, "/detect", req, error);
    json_decref(req);
    if (!det) return NULL;
    json_t *bboxes = json_object_get(det, "bboxes");
    req = json_pack("{s:s,s:O}", "image_b64", image, "bboxes", bboxes ? bboxes : json_null());
    seg = step(UPSTREAM_SEGMENT, "/segment", req, error);
    json_decref(req);
    if (!seg) goto done;
    json_t *masks = json_object_get(seg, "masks");
    req = json_pack("{s:O,s:O}", "masks", masks ? masks : json_null(), "prompt", prompt);
    adv = step(UPSTREAM_ADVISE, "/advise", req, error);
    json_decref(req);
    if (!adv) goto done;
    req = json_pack("{s:s,s:O,s:O,s:O}", "image_b64", image, "masks", masks ? masks : json_null(),
                    "prompt", prompt, "options", options);
    gen = step(UPSTREAM_GENERATE, "/render", req, error);
    json_decref(req);
    if (!gen) goto done;
    json_t *rendered = json_object_get(gen, "image_b64");
    if (!json_is_string(rendered)) {
        *error = xstrdup("generate service (/render) returned no image_b64");
        goto done;
    }
    result = json_pack("{s:n,s:O,s:O}", "output_url", "image_b64", rendered, "advise", adv);
done:
    json_decref(det);
    json_decref(seg);
    json_decref(adv);
    json_decref(gen);
    return result;
}

static const char claim_pg[] =
    "UPDATE jobs SET status = 'running', updated_at = $1 WHERE id = (SELECT id FROM jobs"
    " WHERE status = 'pending' ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " RETURNING id, request";
static const char claim_sqlite[] =
    "UPDATE jobs SET status = 'running', updated_at = $1 WHERE id = (SELECT id FROM jobs"
    " WHERE status = 'pending' ORDER BY created_at LIMIT 1) RETURNING id, request";

/* Claims and works one job; false when there was none (or the store is away). */
static bool work_one(void)
{
    store *s = gateway_db(NULL);
    if (!s) return false;
    store_value now[] = {store_int(store_now_us(s))};
    store_rows *r = NULL;
    err e = {0};
    int64_t n = store_exec(s, store_get_dialect(s) == STORE_POSTGRESQL ? claim_pg : claim_sqlite,
                           now, 1, &r, &e);
    if (n <= 0) {
        if (n < 0) log_warn("cannot claim a room job error=\"%s\"", e.msg);
        store_rows_free(r);
        return false;
    }
    char *id = store_rows_dup(r, 0, 0);
    json_t *job = gateway_loads(store_rows_text(r, 0, 1));
    store_rows_free(r);
    log_info("room job started job=%s", id);
    char *error = NULL;
    json_t *result = json_is_object(job) ? run(job, &error) : NULL;
    if (!result && !error) error = xstrdup("the stored request is not a JSON object");
    char *text = result ? gateway_dumps(result) : NULL;
    store_value args[] = {store_text(result ? "done" : "failed"), store_text(text),
                          store_text(error), store_int(store_now_us(s)), store_text(id)};
    if (store_exec(s,
                   "UPDATE jobs SET status = $1, result = $2, error = $3, updated_at = $4"
                   " WHERE id = $5",
                   args, ARRAY_LEN(args), NULL, &e) < 0)
        log_error("cannot record a room job job=%s error=\"%s\"", id, e.msg);
    log_info("room job finished job=%s status=%s%s%s", id, result ? "done" : "failed",
             error ? " error=" : "", error ? error : "");
    free(text);
    free(error);
    free(id);
    json_decref(result);
    json_decref(job);
    return true;
}

static void fail_stale(void)
{
    store *s = gateway_db(NULL);
    if (!s) return;
    int64_t now = store_now_us(s);
    store_value args[] = {store_int(now), store_int(now - (int64_t)rooms.stale_s * 1000000)};
    err e = {0};
    int64_t n = store_exec(s,
                           "UPDATE jobs SET status = 'failed', error = 'interrupted: the gateway"
                           " working on it stopped', updated_at = $1 WHERE status = 'running'"
                           " AND updated_at < $2",
                           args, ARRAY_LEN(args), NULL, &e);
    if (n > 0)
        log_warn("room jobs interrupted by a stopped gateway marked failed count=%lld",
                 (long long)n);
}

static void *worker(void *arg)
{
    (void)arg;
    while (!atomic_load(&rooms.stop)) {
        if (work_one()) continue;
        fail_stale();
        /* idle: wait for a new job here, or poll for other gateways' and a returning store */
        pthread_mutex_lock(&rooms.mu);
        if (!rooms.kick && !atomic_load(&rooms.stop)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 2;
            pthread_cond_timedwait(&rooms.cv, &rooms.mu, &ts);
        }
        rooms.kick = false;
        pthread_mutex_unlock(&rooms.mu);
    }
    return NULL;
}

int gateway_rooms_init(http_server *s, err *e)
{
    bool enabled;
    if (cfg_bool("ROOMS_WORKER", true, &enabled, e) != 0) return -1;
    if (cfg_int("ROOMS_STALE_SECONDS", 900, 60, 7 * 86400, &rooms.stale_s, e) != 0) return -1;
    http_route(
        s, "POST", "/rooms", create, NULL,
        &(http_route_opts){.body = HTTP_BODY_JSON, .summary = "Queue a redesign job for a photo"});
    http_route(s, "GET", "/rooms/{job_id}", get, NULL,
               &(http_route_opts){.summary = "A room job's status and result"});
    if (enabled) {
        atomic_store(&rooms.stop, false);
        rooms.started = pthread_create(&rooms.thread, NULL, worker, NULL) == 0;
    }
    return 0;
}

void gateway_rooms_stop(void)
{
    if (!rooms.started) return;
    atomic_store(&rooms.stop, true);
    wake();
    /* a job in progress finishes its current call first (bounded by the client timeouts) */
    pthread_join(rooms.thread, NULL);
    rooms.started = false;
}
