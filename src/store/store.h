/*
 * store — persistence behind one interface, on SQLite (the embedded default) or
 * PostgreSQL, chosen by DATABASE_URL:
 *
 *     sqlite:///abs/path/artistry.db    everything after "sqlite://" is the file path
 *     sqlite://var/artistry.db          (so three slashes make it absolute)
 *     postgresql://user:pw@host:5432/db any libpq connection URI (postgres:// too)
 *
 * Unset, it is sqlite://$ARTISTRY_DATA_DIR/artistry.db with ARTISTRY_DATA_DIR defaulting
 * to ./var (created, mode 0700; the database file is created 0600).
 *
 *     store_params p = store_default_params();
 *     if (store_params_from_env(&p, &e) != 0) ...       // DATABASE_URL and the limits below
 *     store *s = store_open(&p, &e);                      // connects and migrates
 *     store_auth a;
 *     if (store_user_signup(s, "Ann@Example.com", "correct horse", "Ann", &a, &e) != 0)
 *         answer(e.status, e.msg);                        // 422, 400, 503 ...
 *     printf("%s\n", a.token);                            // shown once, stored as a hash
 *     store_auth_clear(&a);
 *     store_close(s);
 *
 * A store is shared by all threads of a process: every call checks a connection out of a
 * small pool (DATABASE_POOL_SIZE) and puts it back before returning.
 *
 * Errors follow core's convention: -1 or NULL with `e` filled, e->status being what a
 * service answers with — 400/401/403/404/409/413/422/429 for the caller's mistakes (the
 * messages of the original API where it had one), 503 when the database is unreachable
 * or stays busy, 500 for our own bugs.
 *
 * Schema: numbered migrations in src/store/migrations/ are compiled into the binary and
 * applied in order by store_open, each recorded with a checksum in schema_migrations.
 * `NNNN_name.sql` is used by both backends; where the dialects differ a migration is a
 * pair `NNNN_name.sqlite.sql` + `NNNN_name.postgresql.sql`. Applied migrations are never
 * edited (store_open refuses a database whose recorded checksum differs): add a new one.
 *
 * Extending the store (e.g. the commerce catalog with full-text search):
 *  1. Add the next migration pair, e.g. 0005_products.sqlite.sql with
 *       CREATE TABLE products (id TEXT PRIMARY KEY, name TEXT NOT NULL, ...);
 *       CREATE VIRTUAL TABLE products_fts USING fts5(name, description,
 *                                                  content='products', content_rowid='rowid');
 *     plus the three triggers that keep an external-content FTS5 table in step, and
 *     0005_products.postgresql.sql with
 *       CREATE TABLE products (..., search tsvector GENERATED ALWAYS AS
 *         (to_tsvector('english', name || ' ' || coalesce(description, ''))) STORED);
 *       CREATE INDEX products_search ON products USING gin (search);
 *     and list both in src/store/meson.build.
 *  2. Query with store_exec / store_transact, choosing the SQL by store_dialect():
 *       sqlite:     SELECT p.*, bm25(products_fts) AS rank FROM products_fts
 *                   JOIN products p ON p.rowid = products_fts.rowid
 *                   WHERE products_fts MATCH $1 ORDER BY rank LIMIT $2
 *       postgresql: SELECT p.*, -ts_rank(search, q) AS rank
 *                   FROM products p, websearch_to_tsquery('english', $1) q
 *                   WHERE search @@ q ORDER BY rank LIMIT $2
 *     (both give "lower rank is better"). tests/store/test_generic.c runs exactly these
 *     on both backends. FTS5 MATCH has its own query syntax: quote user text as
 *     '"' || replace($1, '"', '""') || '"' to search for it literally.
 *  3. Put the domain functions in their own module (catalog), built on the calls below;
 *     this header keeps only what the gateway's accounts and designs need.
 *
 * SQL given to store_exec uses PostgreSQL's $1..$N placeholders on both backends (SQLite
 * binds them by name), values are always bound, never spliced into the text. Portable SQL
 * here means: TEXT, BIGINT, DOUBLE PRECISION; INSERT ... ON CONFLICT ... DO UPDATE with
 * `excluded.`; RETURNING; LIMIT/OFFSET; no dialect functions (times come from C as
 * microseconds since the epoch).
 */
#ifndef ARTISTRY_STORE_H
#define ARTISTRY_STORE_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;

typedef enum store_dialect { STORE_SQLITE, STORE_POSTGRESQL } store_dialect;

typedef struct store_params {
    const char *url;       /* NULL: sqlite://<data_dir>/artistry.db */
    const char *data_dir;  /* ARTISTRY_DATA_DIR, default "./var" */
    int pool_size;         /* DATABASE_POOL_SIZE: connections kept, default 4 */
    int busy_timeout_ms;   /* DATABASE_BUSY_TIMEOUT_MS: SQLite lock wait, also the wait for
                            * a free pooled connection; default 5000 */
    int connect_timeout_s; /* PostgreSQL connect timeout, default 5 */
    bool sqlite_sync_full; /* SQLITE_SYNCHRONOUS=full (default) or normal: with full every
                            * acknowledged commit survives a power cut, not only a crash */
    /* Passwords: argon2id via crypto_pwhash_str. PASSWORD_HASH_OPSLIMIT / _MEMLIMIT default
     * to libsodium's INTERACTIVE level (2 passes, 64 MiB); PASSWORD_HASH_CONCURRENCY (default
     * the number of CPUs) bounds how many hashes run at once so a burst of logins cannot
     * take opslimit x memlimit x clients of memory. */
    unsigned long long pwhash_opslimit;
    size_t pwhash_memlimit;
    int pwhash_concurrency;
    int64_t token_ttl_s; /* AUTH_TOKEN_TTL_S, default 30 days */
    /* Failed logins: after LOGIN_MAX_FAILURES_PER_EMAIL (default 5) failures for one email,
     * or LOGIN_MAX_FAILURES_PER_ADDRESS (default 20) from one client address, within
     * LOGIN_FAILURE_WINDOW_S (default 900), logins for it are refused with 429 until the
     * window that began with the first failure ends. */
    int login_max_per_email;
    int login_max_per_addr;
    int64_t login_window_s;
    size_t image_max_bytes; /* DESIGN_IMAGE_MAX_BYTES: one image as sent, default 10 MiB */
    /* Wall clock in microseconds since the epoch; NULL is the real one. Tests only. */
    int64_t (*clock_us)(void);
} store_params;

store_params store_default_params(void);
/* Reads the variables named above into p (DATABASE_URL into p->url, pointing into the
 * environment). A malformed value is an error naming the variable. Returns 0 or -1. */
int store_params_from_env(store_params *p, err *e);

/* Opens the database named by p->url, creating the SQLite file and its directory when
 * missing, and applies pending migrations. Fails with 503 when the database cannot be
 * reached, 500 when its schema is newer than this binary or a migration fails (nothing of
 * a failed migration stays). */
store *store_open(const store_params *p, err *e);
void store_close(store *s);

store_dialect store_get_dialect(const store *s);
/* "sqlite" or "postgresql". */
const char *store_backend_name(const store *s);
/* The URL with any password replaced by "***", for logs and /health. */
const char *store_url_redacted(const store *s);
/* Highest applied migration version. */
int store_schema_version(const store *s);
/* Round trip to the database: 0, or -1 with 503 saying why it is unreachable. */
int store_ping(store *s, err *e);

/* Current time as the store sees it (params.clock_us), microseconds since the epoch. */
int64_t store_now_us(const store *s);
/* Naive ISO-8601 UTC of a store timestamp, as the API prints times. */
void store_time_iso(int64_t us, char out[32]);

/* ================================================================= generic access */

typedef enum store_type { STORE_NULL, STORE_INT, STORE_DOUBLE, STORE_TEXT, STORE_BLOB } store_type;

/* A bound parameter or a result cell. TEXT is NUL-terminated UTF-8 (len excludes the NUL);
 * BLOB is len bytes. Parameters only borrow their pointers for the call. */
typedef struct store_value {
    store_type type;
    int64_t i;
    double d;
    const void *p;
    size_t len;
} store_value;

store_value store_null(void);
store_value store_int(int64_t v);
store_value store_double(double v);
/* NULL s gives a SQL NULL. */
store_value store_text(const char *s);
store_value store_blob(const void *p, size_t len);

/* The rows a statement returned, copied out of the connection: valid until
 * store_rows_free, independent of the store. Cells of a PostgreSQL numeric column come
 * back as DOUBLE, booleans as INT 0/1, bytea as BLOB, everything else not integral or
 * floating as TEXT. */
typedef struct store_rows store_rows;

size_t store_rows_count(const store_rows *r);
size_t store_rows_columns(const store_rows *r);
const char *store_rows_name(const store_rows *r, size_t col);
const store_value *store_rows_cell(const store_rows *r, size_t row, size_t col);
bool store_rows_is_null(const store_rows *r, size_t row, size_t col);
/* Converting getters: an INT read as text is its decimal form, a TEXT read as int is
 * parsed (0 when it is not a number), NULL reads as 0 / NULL. */
int64_t store_rows_int(const store_rows *r, size_t row, size_t col);
double store_rows_double(const store_rows *r, size_t row, size_t col);
/* Borrowed, NULL for SQL NULL; a BLOB cell is returned as is (NUL-terminated). */
const char *store_rows_text(const store_rows *r, size_t row, size_t col);
/* malloc'ed copy of store_rows_text, or NULL. */
char *store_rows_dup(const store_rows *r, size_t row, size_t col);
const void *store_rows_blob(const store_rows *r, size_t row, size_t col, size_t *len);
void store_rows_free(store_rows *r);

/* Runs one statement in autocommit mode. When rows is not NULL the statement's result is
 * stored there (the caller frees it, also on an empty result). Returns the number of rows
 * changed (INSERT/UPDATE/DELETE) or returned (SELECT, ... RETURNING), or -1: 409 for a
 * unique or foreign-key violation, 422 for a value the database refuses (bad UTF-8, out of
 * range), 503 unreachable or busy, 500 anything else (message from the database). */
int64_t store_exec(store *s, const char *sql, const store_value *params, size_t nparams,
                   store_rows **rows, err *e);

typedef struct store_tx store_tx;
typedef int (*store_tx_fn)(store_tx *tx, void *ctx, err *e);

enum {
    STORE_TX_WRITE = 0,    /* SQLite BEGIN IMMEDIATE; PostgreSQL READ COMMITTED */
    STORE_TX_READONLY = 1, /* one consistent snapshot: SQLite deferred, PostgreSQL
                            * REPEATABLE READ READ ONLY */
};

/* Runs fn(tx, ctx, e) inside one transaction on one connection: commits when fn returns 0,
 * rolls back when it returns -1 (its error stands). When PostgreSQL aborts the transaction
 * to resolve a conflict (serialization failure, deadlock) fn runs again, up to 3 times in
 * all, so fn must not change anything outside the database. Returns 0 or -1. */
int store_transact(store *s, int flags, store_tx_fn fn, void *ctx, err *e);
/* store_exec inside the transaction. */
int64_t store_tx_exec(store_tx *tx, const char *sql, const store_value *params, size_t nparams,
                      store_rows **rows, err *e);
store_dialect store_tx_dialect(const store_tx *tx);
store *store_tx_store(const store_tx *tx);

/* Longest text kept as a key (session ids, key/value namespace + key): PostgreSQL cannot
 * index much longer ones, so both backends refuse them with 422. */
enum { STORE_KEY_MAX = 256 };

/* Key/value records in namespaces, for small state other modules keep (caches, job
 * payloads, settings). ttl_s <= 0: no expiry. Values are bytes. Expired records read as
 * absent until a put replaces them or store_kv_delete removes them. */
int store_kv_put(store *s, const char *ns, const char *key, const void *value, size_t len,
                 int64_t ttl_s, err *e);
/* malloc'ed copy (NUL-terminated, not counted in *len), or NULL with 404 when absent or
 * expired, other statuses on failure. */
void *store_kv_get(store *s, const char *ns, const char *key, size_t *len, err *e);
/* 0 when deleted or absent, -1 on failure. */
int store_kv_delete(store *s, const char *ns, const char *key, err *e);

/* ================================================================= accounts */

enum { STORE_ID_LEN = 37, STORE_TOKEN_LEN = 44 };

typedef struct store_user {
    char id[STORE_ID_LEN]; /* uuid4 */
    char *email;           /* normalised */
    char *name;
    int64_t created_at; /* microseconds since the epoch */
    int64_t designs_count;
} store_user;

typedef struct store_auth {
    store_user user;
    char token[STORE_TOKEN_LEN]; /* 43 chars: 32 random bytes in unpadded base64url */
    int64_t expires_at;
} store_auth;

void store_user_clear(store_user *u);
/* Also wipes the token from memory. */
void store_auth_clear(store_auth *a);

/* Normalises an email (trims spaces, lower-cases ASCII) into out and checks its form:
 * one '@', a local part of 1-64 allowed characters without leading, trailing or double
 * dots, a domain of at least two labels; at most 254 bytes. Returns 0, or -1 with 422
 * "value is not a valid email address: ..." saying what is wrong. */
int store_email_normalize(const char *email, char out[255], err *e);
/* A password of at least 8 characters (UTF-8 code points) and at most 1024 bytes: 0 or
 * -1 with 422. */
int store_password_check(const char *password, err *e);
/* A name of 1-256 characters: 0 or -1 with 422. */
int store_name_check(const char *name, err *e);

/* Creates an account and a first token. 422 for a bad email, password or name; 400
 * "Email already registered" when the normalised email exists; 503 when unreachable. */
int store_user_signup(store *s, const char *email, const char *password, const char *name,
                      store_auth *out, err *e);
/* Checks the password and issues a new token. client is the caller's address (may be
 * NULL). 401 "Invalid email or password" for an unknown email or a wrong password (the
 * same time is spent on both); 429 while the email or the address is over its failure
 * limit, with *retry_after_s (may be NULL) set to the seconds until the window ends;
 * 422 for an email or password too long to be one. */
int store_user_login(store *s, const char *email, const char *password, const char *client,
                     store_auth *out, int64_t *retry_after_s, err *e);
/* Looks a token up: 401 "Invalid token" (malformed or unknown), "Token expired", "User
 * not found". */
int store_token_verify(store *s, const char *token, store_user *out, err *e);
/* 0 when found, -1 with 404 "User not found". */
int store_user_get(store *s, const char *user_id, store_user *out, err *e);

/* ================================================================= designs */

/* Which request shape a design came from: the script schema of POST /designs/save, the
 * frontend's shape of the same route, or the legacy POST /api/designs. */
typedef enum store_design_kind {
    STORE_DESIGN_SCRIPT,
    STORE_DESIGN_APP,
    STORE_DESIGN_LEGACY,
} store_design_kind;

/* One saved design. Every pointer may be NULL (absent). Images are strings exactly as sent
 * (raw base64, a data: URL or any text); the store keeps each distinct image once, by the
 * SHA-256 of its bytes, decoding base64 when re-encoding gives the same text back. JSON
 * fields hold JSON text, stored and returned byte for byte. */
typedef struct store_design {
    char id[STORE_ID_LEN];
    store_design_kind kind;
    char *user_id; /* owner; NULL for a guest design */
    char *original_image, *generated_image, *segmented_image;
    char *budget, *design_tips;
    bool has_total_cost;
    int64_t total_cost_inr;
    char *detected_objects; /* JSON */
    char *metadata;         /* JSON */
    char *extra;            /* JSON object: fields of the app and legacy shapes */
    /* Filled by reads; ignored by save. */
    int64_t created_at, views, shares;
    char *created_by; /* owner's name, NULL for guests */
} store_design;

void store_design_clear(store_design *d);
void store_designs_free(store_design *list, size_t n);
const char *store_design_kind_name(store_design_kind k);

/* Saves d under a new uuid4, written to d->id with the time to d->created_at (its counters
 * and created_by are ignored). 404 "User not found" when d->user_id names no account; 413
 * when an image is larger than DESIGN_IMAGE_MAX_BYTES. The owner's designs_count goes up in
 * the same transaction. */
int store_design_save(store *s, store_design *d, err *e);
/* Reads one design: 404 "Design not found". */
int store_design_get(store *s, const char *id, store_design *out, err *e);
/* Counts a view and returns the design as it was before it (the original API's order). */
int store_design_view(store *s, const char *id, store_design *out, err *e);
/* Counts a share; *shares (may be NULL) gets the new count. 404 "Design not found". */
int store_design_share(store *s, const char *id, int64_t *shares, err *e);
/* A user's designs, newest first: skip, then at most limit (1-100, else 422). *out is a
 * malloc'ed array of *n designs (free with store_designs_free); *total counts them all. */
int store_design_list(store *s, const char *user_id, int64_t limit, int64_t skip,
                      store_design **out, size_t *n, int64_t *total, err *e);
/* Deletes a design owned by user_id, releasing images no other design uses. 404 "Design
 * not found"; 403 "Not authorized to delete this design" when someone else (or nobody:
 * guest designs cannot be deleted) owns it. */
int store_design_delete(store *s, const char *id, const char *user_id, err *e);
/* Images kept and their bytes in all (for tests and metrics). */
int store_blob_stats(store *s, int64_t *count, int64_t *bytes, err *e);

/* ================================================================= preferences */

typedef struct store_prefs {
    char *session_id;
    char *budget_range;
    char *design_tips;
    char *item_replacement; /* JSON array */
    int64_t created_at, updated_at;
} store_prefs;

void store_prefs_clear(store_prefs *p);
/* Inserts or replaces the preferences of p->session_id (at most STORE_KEY_MAX bytes, else
 * 422). */
int store_prefs_put(store *s, const store_prefs *p, err *e);
/* 404 "Session not found". */
int store_prefs_get(store *s, const char *session_id, store_prefs *out, err *e);

#endif
