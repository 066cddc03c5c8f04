/* The store itself: configuration, the connection pool, statements and transactions, and
 * the migration runner. Domain operations live in accounts.c, designs.c and prefs.c. */
#include "store/store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct store_tx {
    store *s;
    void *conn;
    int flags; /* STORE_F_* seen so far */
};

/* ---------------------------------------------------------------- parameters */

store_params store_default_params(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return (store_params){
        .url = NULL,
        .data_dir = "./var",
        .pool_size = 4,
        .busy_timeout_ms = 5000,
        .connect_timeout_s = 5,
        .sqlite_sync_full = true,
        .pwhash_opslimit = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
        .pwhash_memlimit = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
        .pwhash_concurrency = ncpu > 0 ? (int)MIN(ncpu, 64) : 2,
        .token_ttl_s = 30 * 24 * 3600,
        .login_max_per_email = 5,
        .login_max_per_addr = 20,
        .login_window_s = 900,
        .image_max_bytes = 10u << 20,
        .clock_us = NULL,
    };
}

int store_params_from_env(store_params *p, err *e)
{
    long v;
    p->url = cfg_str("DATABASE_URL", p->url);
    p->data_dir = cfg_str("ARTISTRY_DATA_DIR", p->data_dir);
    if (cfg_int("DATABASE_POOL_SIZE", p->pool_size, 1, 256, &v, e) != 0) return -1;
    p->pool_size = (int)v;
    if (cfg_int("DATABASE_BUSY_TIMEOUT_MS", p->busy_timeout_ms, 0, 600000, &v, e) != 0) return -1;
    p->busy_timeout_ms = (int)v;
    const char *sync = cfg_str("SQLITE_SYNCHRONOUS", NULL);
    if (sync) {
        if (strcasecmp(sync, "full") == 0)
            p->sqlite_sync_full = true;
        else if (strcasecmp(sync, "normal") == 0)
            p->sqlite_sync_full = false;
        else {
            err_set(e, 500, "SQLITE_SYNCHRONOUS: '%s' is neither full nor normal", sync);
            return -1;
        }
    }
    if (cfg_int("PASSWORD_HASH_OPSLIMIT", (long)p->pwhash_opslimit,
                crypto_pwhash_argon2id_OPSLIMIT_MIN, 64, &v, e) != 0)
        return -1;
    p->pwhash_opslimit = (unsigned long long)v;
    if (cfg_size("PASSWORD_HASH_MEMLIMIT", p->pwhash_memlimit, crypto_pwhash_argon2id_MEMLIMIT_MIN,
                 (size_t)4 << 30, &p->pwhash_memlimit, e) != 0)
        return -1;
    if (cfg_int("PASSWORD_HASH_CONCURRENCY", p->pwhash_concurrency, 1, 256, &v, e) != 0) return -1;
    p->pwhash_concurrency = (int)v;
    if (cfg_int("AUTH_TOKEN_TTL_S", (long)p->token_ttl_s, 1, 10L * 365 * 24 * 3600, &v, e) != 0)
        return -1;
    p->token_ttl_s = v;
    if (cfg_int("LOGIN_MAX_FAILURES_PER_EMAIL", p->login_max_per_email, 1, 1000000, &v, e) != 0)
        return -1;
    p->login_max_per_email = (int)v;
    if (cfg_int("LOGIN_MAX_FAILURES_PER_ADDRESS", p->login_max_per_addr, 1, 1000000, &v, e) != 0)
        return -1;
    p->login_max_per_addr = (int)v;
    if (cfg_int("LOGIN_FAILURE_WINDOW_S", (long)p->login_window_s, 1, 30L * 24 * 3600, &v, e) != 0)
        return -1;
    p->login_window_s = v;
    if (cfg_size("DESIGN_IMAGE_MAX_BYTES", p->image_max_bytes, 1024, (size_t)1 << 30,
                 &p->image_max_bytes, e) != 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- small helpers */

static int64_t real_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t store_now_us(const store *s)
{
    return s && s->p.clock_us ? s->p.clock_us() : real_clock_us();
}

void store_time_iso(int64_t us, char out[32])
{
    /* Whole seconds and the fraction apart, so no precision is lost in a double. */
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    iso8601_utc((double)secs, out);
    int64_t frac = us - secs * 1000000;
    size_t n = strlen(out);
    if (frac && n + 8 <= 32) snprintf(out + n, 32 - n, ".%06lld", (long long)frac);
}

void store_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* Hides the password of a connection URI: the userinfo's ":secret@" and any
 * "password=" query parameter. */
static char *redact_url(const char *url)
{
    char *out = xstrdup(url);
    char *auth = strstr(out, "://");
    if (auth) {
        auth += 3;
        char *end = auth + strcspn(auth, "/?#");
        char *at = memchr(auth, '@', (size_t)(end - auth));
        char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            char *r = xasprintf("%.*s:***%s", (int)(colon - out), out, at);
            free(out);
            out = r;
        }
    }
    char *pw = strstr(out, "password=");
    if (pw) {
        char *val = pw + 9;
        char *end = val + strcspn(val, "&#");
        char *r = xasprintf("%.*s***%s", (int)(val - out), out, end);
        free(out);
        out = r;
    }
    return out;
}

/* mkdir -p with mode 0700 for the directories we create. */
static int make_dirs(const char *dir, err *e)
{
    char *p = xstrdup(dir);
    for (char *q = p + 1;; q++) {
        if (*q == '/' || *q == '\0') {
            char c = *q;
            *q = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                err_set(e, 500, "cannot create the data directory %s: %s", p, strerror(errno));
                free(p);
                return -1;
            }
            *q = c;
            if (c == '\0') break;
        }
    }
    free(p);
    return 0;
}

/* Creates the SQLite file (and its directory) readable by us alone: it holds password
 * hashes. SQLite gives its -wal and -shm files the database file's permissions. */
static int prepare_sqlite_path(const char *path, err *e)
{
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        char *dir = xstrndup(path, (size_t)(slash - path));
        int rc = make_dirs(dir, e);
        free(dir);
        if (rc != 0) return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        err_set(e, 503, "cannot open the database file %s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* ---------------------------------------------------------------- the pool */

static void *pool_get(store *s, err *e)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += s->p.busy_timeout_ms / 1000;
    deadline.tv_nsec += (long)(s->p.busy_timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->nidle > 0) {
            void *c = s->idle[--s->nidle];
            pthread_mutex_unlock(&s->mu);
            if (s->be->usable(c)) return c;
            s->be->disconnect(c);
            pthread_mutex_lock(&s->mu);
            s->nopen--;
            continue;
        }
        if (s->nopen < (size_t)s->p.pool_size) {
            s->nopen++;
            pthread_mutex_unlock(&s->mu);
            void *c = s->be->connect(s, e);
            if (c) return c;
            pthread_mutex_lock(&s->mu);
            s->nopen--;
            pthread_cond_signal(&s->cv);
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == ETIMEDOUT && s->nidle == 0 &&
            s->nopen >= (size_t)s->p.pool_size) {
            pthread_mutex_unlock(&s->mu);
            err_set(e, 503, "the database is busy: all %d connections stayed in use for %d ms",
                    s->p.pool_size, s->p.busy_timeout_ms);
            return NULL;
        }
    }
}

static void pool_put(store *s, void *c, bool broken)
{
    if (broken) {
        s->be->disconnect(c);
        pthread_mutex_lock(&s->mu);
        s->nopen--;
    } else {
        pthread_mutex_lock(&s->mu);
        s->idle[s->nidle++] = c;
    }
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int store_with_conn(store *s, int (*fn)(store *s, void *conn, void *ctx, err *e), void *ctx, err *e)
{
    void *c = pool_get(s, e);
    if (!c) return -1;
    int rc = fn(s, c, ctx, e);
    pool_put(s, c, rc != 0 && e && e->status == 503);
    return rc;
}

/* ---------------------------------------------------------------- statements */

int64_t store_tx_exec(store_tx *tx, const char *sql, const store_value *params, size_t nparams,
                      store_rows **rows, err *e)
{
    int flags = 0;
    if (rows) *rows = NULL;
    int64_t n = tx->s->be->exec(tx->conn, sql, params, nparams, rows, &flags, e);
    tx->flags |= flags;
    return n;
}

static int tx_script(store_tx *tx, const char *sql, err *e)
{
    int flags = 0;
    int rc = tx->s->be->script(tx->conn, sql, &flags, e);
    tx->flags |= flags;
    return rc;
}

store_dialect store_tx_dialect(const store_tx *tx)
{
    return tx->s->be->dialect;
}

store *store_tx_store(const store_tx *tx)
{
    return tx->s;
}

int64_t store_exec(store *s, const char *sql, const store_value *params, size_t nparams,
                   store_rows **rows, err *e)
{
    if (rows) *rows = NULL;
    store_tx tx = {.s = s, .conn = pool_get(s, e)};
    if (!tx.conn) return -1;
    int64_t n = store_tx_exec(&tx, sql, params, nparams, rows, e);
    pool_put(s, tx.conn, tx.flags & STORE_F_BROKEN);
    return n;
}

int store_transact(store *s, int flags, store_tx_fn fn, void *ctx, err *e)
{
    err local;
    if (!e) e = &local;
    for (int attempt = 1;; attempt++) {
        store_tx tx = {.s = s, .conn = pool_get(s, e)};
        if (!tx.conn) return -1;
        const char *begin = flags & STORE_TX_READONLY ? s->be->begin_read : s->be->begin_write;
        int rc = tx_script(&tx, begin, e);
        bool began = rc == 0;
        if (rc == 0) rc = fn(&tx, ctx, e);
        if (rc == 0) rc = tx_script(&tx, "COMMIT", e);
        if (rc != 0 && began) {
            err keep = *e;
            if (tx_script(&tx, "ROLLBACK", NULL) != 0) tx.flags |= STORE_F_BROKEN;
            *e = keep;
        }
        pool_put(s, tx.conn, tx.flags & STORE_F_BROKEN);
        if (rc == 0) return 0;
        if (!(tx.flags & STORE_F_TRANSIENT) || attempt >= 3) return -1;
        log_info("store: transaction retried after a conflict attempt=%d reason=\"%s\"", attempt,
                 e->msg);
        err_clear(e);
    }
}

int store_ping(store *s, err *e)
{
    store_rows *r = NULL;
    int64_t n = store_exec(s, "SELECT 1", NULL, 0, &r, e);
    bool ok = n == 1 && store_rows_int(r, 0, 0) == 1;
    store_rows_free(r);
    if (n < 0) {
        err_prefix(e, "%s database %s is unreachable: ", s->be->name, s->redacted);
        e->status = 503;
    } else if (!ok) {
        err_set(e, 503, "%s database %s gave a wrong answer to SELECT 1", s->be->name, s->redacted);
    }
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------------- migrations */

/* Any constant will do: it names the lock that serialises migrations between processes
 * starting together against one PostgreSQL database. */
#define MIGRATION_LOCK_KEY "7269701120512"

static int migrate(store_tx *tx, void *ctx, err *e)
{
    (void)ctx;
    store *s = tx->s;
    if (s->be->dialect == STORE_POSTGRESQL &&
        store_tx_exec(tx, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK_KEY ")", NULL, 0, NULL,
                      e) < 0)
        return -1;
    if (tx_script(tx,
                  "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                  " name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                  e) != 0)
        return -1;
    store_rows *done = NULL;
    if (store_tx_exec(tx, "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
                      NULL, 0, &done, e) < 0)
        return -1;

    /* Ours for this backend, in order (the generator guarantees ascending versions). */
    const store_migration **mine = xcalloc(store_migrations_count + 1, sizeof *mine);
    size_t n = 0;
    for (size_t i = 0; i < store_migrations_count; i++) {
        const store_migration *m = &store_migrations[i];
        if (m->dialect < 0 || m->dialect == (int)s->be->dialect) mine[n++] = m;
    }
    int latest = n ? mine[n - 1]->version : 0;

    int rc = 0;
    for (size_t r = 0; r < store_rows_count(done) && rc == 0; r++) {
        int v = (int)store_rows_int(done, r, 0);
        const store_migration *m = NULL;
        for (size_t i = 0; i < n; i++)
            if (mine[i]->version == v) m = mine[i];
        char sum[65];
        if (!m) {
            err_set(e, 500,
                    "the database schema is at version %d (%s), newer than this binary knows "
                    "(%d): run the newer binary or restore a matching backup",
                    v, store_rows_text(done, r, 1), latest);
            rc = -1;
            break;
        }
        store_sha256_hex(m->sql, strlen(m->sql), sum);
        if (strcmp(sum, store_rows_text(done, r, 2)) != 0) {
            err_set(e, 500,
                    "migration %04d_%s was edited after it was applied to this database: "
                    "restore its text and add a new migration instead",
                    v, m->name);
            rc = -1;
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        bool applied = false;
        for (size_t r = 0; r < store_rows_count(done); r++)
            if (store_rows_int(done, r, 0) == mine[i]->version) applied = true;
        if (applied) continue;
        char sum[65];
        store_sha256_hex(mine[i]->sql, strlen(mine[i]->sql), sum);
        if (tx_script(tx, mine[i]->sql, e) != 0) {
            err_prefix(e, "migration %04d_%s: ", mine[i]->version, mine[i]->name);
            e->status = 500;
            rc = -1;
            break;
        }
        if (store_tx_exec(tx,
                          "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
                          " VALUES ($1, $2, $3, $4)",
                          STORE_ARGS(store_int(mine[i]->version), store_text(mine[i]->name),
                                     store_text(sum), store_int(store_now_us(s))),
                          NULL, e) < 0) {
            rc = -1;
            break;
        }
        log_info("store: applied migration version=%d name=%s backend=%s", mine[i]->version,
                 mine[i]->name, s->be->name);
    }
    store_rows_free(done);
    free(mine);
    if (rc == 0) s->schema_version = latest;
    return rc;
}

/* ---------------------------------------------------------------- open and close */

store *store_open(const store_params *params, err *e)
{
    if (sodium_init() < 0) {
        err_set(e, 500, "libsodium failed to initialise");
        return NULL;
    }
    store *s = xcalloc(1, sizeof *s);
    s->p = *params;
    if (s->p.pool_size < 1) s->p.pool_size = 1;
    if (s->p.pwhash_concurrency < 1) s->p.pwhash_concurrency = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->hash_mu, NULL);
    pthread_cond_init(&s->hash_cv, NULL);
    s->idle = xcalloc((size_t)s->p.pool_size, sizeof(void *));

    const char *url = s->p.url;
    char *def = NULL;
    if (!url || !*url) {
        const char *dir = s->p.data_dir && *s->p.data_dir ? s->p.data_dir : "./var";
        if (make_dirs(dir, e) != 0) goto fail;
        url = def = xasprintf("sqlite://%s/artistry.db", dir);
    }
    s->url = xstrdup(url);
    free(def);
    s->redacted = redact_url(s->url);
    s->p.url = s->url;
    s->p.data_dir = NULL; /* not ours to keep */

    if (strncmp(s->url, "sqlite://", 9) == 0) {
        s->be = &store_sqlite_backend;
        s->sqlite_path = xstrdup(s->url + 9);
        if (!*s->sqlite_path) {
            err_set(e, 500, "DATABASE_URL: sqlite:// needs a file path, e.g. sqlite:///var/a.db");
            goto fail;
        }
        if (prepare_sqlite_path(s->sqlite_path, e) != 0) goto fail;
    } else if (strncmp(s->url, "postgresql://", 13) == 0 ||
               strncmp(s->url, "postgres://", 11) == 0) {
        s->be = &store_pg_backend;
    } else {
        err_set(e, 500, "DATABASE_URL: '%s' is neither sqlite://PATH nor postgresql://USER@HOST/DB",
                s->redacted);
        goto fail;
    }
    if (store_transact(s, STORE_TX_WRITE, migrate, NULL, e) != 0) {
        if (e && e->status != 503) err_prefix(e, "%s database %s: ", s->be->name, s->redacted);
        goto fail;
    }
    log_info("store: open backend=%s url=%s schema=%d pool=%d", s->be->name, s->redacted,
             s->schema_version, s->p.pool_size);
    return s;
fail:
    store_close(s);
    return NULL;
}

void store_close(store *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    /* Every connection must be back: closing with calls in flight is our bug. */
    while (s->nidle) s->be->disconnect(s->idle[--s->nidle]);
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->hash_mu);
    pthread_cond_destroy(&s->hash_cv);
    sodium_memzero(s->dummy_hash, sizeof s->dummy_hash);
    free(s->idle);
    free(s->url);
    free(s->redacted);
    free(s->sqlite_path);
    free(s);
}

store_dialect store_get_dialect(const store *s)
{
    return s->be->dialect;
}

const char *store_backend_name(const store *s)
{
    return s->be->name;
}

const char *store_url_redacted(const store *s)
{
    return s->redacted;
}

int store_schema_version(const store *s)
{
    return s->schema_version;
}
