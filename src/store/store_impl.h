/* Private to src/store: the backend table, result building and the pieces shared by the
 * domain files. */
#ifndef ARTISTRY_STORE_IMPL_H
#define ARTISTRY_STORE_IMPL_H

#include "store/store.h"

#include <pthread.h>
#include <sodium.h>

/* Flags a backend's exec reports besides its error. */
enum {
    STORE_F_TRANSIENT = 1, /* the transaction was aborted to resolve a conflict: retry */
    STORE_F_BROKEN = 2,    /* the connection is unusable: discard it */
};

/* One backend. Every slot is required. A connection (void *) is used by one thread at a
 * time; the pool in store.c hands them out. */
typedef struct store_backend {
    const char *name;
    store_dialect dialect;
    /* Opens one connection to s's database: NULL with 503 when unreachable. */
    void *(*connect)(store *s, err *e);
    void (*disconnect)(void *conn);
    /* Whether a pooled connection can be handed out (PostgreSQL re-establishes a dropped
     * one here). */
    bool (*usable)(void *conn);
    /* One statement with $1..$N parameters; fills *rows when asked. Returns rows changed or
     * returned, or -1 with e set and *flags telling whether to retry or discard. */
    int64_t (*exec)(void *conn, const char *sql, const store_value *params, size_t nparams,
                    store_rows **rows, int *flags, err *e);
    /* Several statements without parameters (migrations). */
    int (*script)(void *conn, const char *sql, int *flags, err *e);
    const char *begin_write;
    const char *begin_read;
} store_backend;

extern const store_backend store_sqlite_backend;
extern const store_backend store_pg_backend;

/* Compiled in from src/store/migrations/ by embed_migrations.py. dialect is -1 for a
 * migration both backends share. */
typedef struct store_migration {
    int version;
    const char *name;
    int dialect;
    const char *sql;
} store_migration;

extern const store_migration store_migrations[];
extern const size_t store_migrations_count;

struct store {
    const store_backend *be;
    store_params p;
    char *url;         /* as given */
    char *redacted;    /* password hidden */
    char *sqlite_path; /* SQLite only */
    int schema_version;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    void **idle; /* connections ready for use */
    size_t nidle, nopen;

    /* Password hashing slots (params.pwhash_concurrency). */
    pthread_mutex_t hash_mu;
    pthread_cond_t hash_cv;
    int hash_busy;
    char dummy_hash[crypto_pwhash_STRBYTES]; /* made on first use, under hash_mu: a hash of
                                              * no one's password, to spend equal time */
};

/* ---- result sets (rows.c) */
store_rows *store_rows_new(size_t ncols);
void store_rows_set_name(store_rows *r, size_t col, const char *name);
/* Appends a row of NULL cells and returns them for the backend to fill. */
store_value *store_rows_add(store_rows *r);
/* Copies n bytes plus a NUL into the result's memory. */
void *store_rows_copy(store_rows *r, const void *p, size_t n);

/* ---- design images (designs.c) */

/* One image ready to store: its bytes, the form that gives the sent string back
 * ("text", or "base64:" + the data-URL prefix), and the SHA-256 the bytes are kept under. */
typedef struct store_image {
    const void *data; /* into the sent string, or decoded */
    size_t len;
    char *form;
    unsigned char *decoded; /* owned when the bytes came out of base64 */
    char hash[65];
} store_image;

/* Prepares str (NUL-terminated, as sent). 413 naming field when it is over max_bytes. */
int store_image_prepare(const char *field, const char *str, size_t max_bytes, store_image *im,
                        err *e);
/* The string a client sent, from stored bytes and form (malloc'ed); NULL when either is
 * NULL (no image). */
char *store_image_restore(const char *form, const void *data, size_t len);
void store_image_free(store_image *im);

/* ---- shared helpers (store.c) */
/* Hex SHA-256 of bytes into out[65]. */
void store_sha256_hex(const void *data, size_t len, char out[65]);
/* Runs `fn` with a pooled connection held and hands it back; used by store_exec and the
 * migration runner. */
int store_with_conn(store *s, int (*fn)(store *s, void *conn, void *ctx, err *e), void *ctx,
                    err *e);

/* Argument list helpers for the domain files: ARGS(a, b) expands to an array literal and
 * its length, so calls read store_exec(s, sql, ARGS(store_text(x)), &rows, e). */
#define STORE_ARGS(...)                 \
    (const store_value[]){__VA_ARGS__}, \
        sizeof((const store_value[]){__VA_ARGS__}) / sizeof(store_value)

#endif
