/* The generic layer on both backends: migrations, statements and values, transactions,
 * the pool under threads, key/value records and the full-text search store.h documents. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t fake_now = 1800000000000000;
static int64_t fake_clock(void)
{
    return fake_now;
}

static int64_t exec_ok(store *s, const char *sql, const store_value *params, size_t n,
                       store_rows **rows)
{
    err e = {0};
    int64_t r = store_exec(s, sql, params, n, rows, &e);
    cr_assert_geq(r, 0, "%s: %d %s", sql, e.status, e.msg);
    return r;
}

#define ARGS(...)                       \
    (const store_value[]){__VA_ARGS__}, \
        sizeof((const store_value[]){__VA_ARGS__}) / sizeof(store_value)

Test(migrations, applied_once_and_recorded)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    cr_assert_eq(store_schema_version(s), 6);
    store_rows *r = NULL;
    cr_assert_eq(
        exec_ok(s, "SELECT version, name FROM schema_migrations ORDER BY version", NULL, 0, &r), 6);
    const char *names[] = {"accounts", "blobs", "designs", "sessions", "catalog", "jobs"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        cr_assert_eq(store_rows_int(r, i, 0), (int64_t)i + 1);
        cr_assert_str_eq(store_rows_text(r, i, 1), names[i]);
    }
    store_rows_free(r);
    const char *tables[] = {"users", "tokens",  "login_failures", "blobs",
                            "kv",    "designs", "sessions",       "catalog_products", "jobs"};
    for (size_t i = 0; i < ARRAY_LEN(tables); i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]);
        exec_ok(s, sql, NULL, 0, &r);
        cr_assert_eq(store_rows_int(r, 0, 0), 0, "%s", tables[i]);
        store_rows_free(r);
    }
    store_close(s);
    /* Opening again applies nothing twice. */
    s = test_store_reopen(&p);
    cr_assert_eq(exec_ok(s, "SELECT version FROM schema_migrations", NULL, 0, NULL), 6);
    cr_assert_eq(store_schema_version(s), 6);
    cr_assert_str_eq(store_backend_name(s),
                     test_dialect() == STORE_SQLITE ? "sqlite" : "postgresql");
    err e = {0};
    cr_assert_eq(store_ping(s, &e), 0, "%s", e.msg);
    test_store_done(s);
}

Test(migrations, refuses_a_newer_schema)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    exec_ok(s, "INSERT INTO schema_migrations VALUES ($1, $2, $3, $4)",
            ARGS(store_int(999), store_text("from_the_future"), store_text("x"), store_int(0)),
            NULL);
    store_close(s);
    err e = {0};
    cr_assert_null(store_open(&p, &e));
    cr_assert_eq(e.status, 500);
    cr_assert(strstr(e.msg, "version 999 (from_the_future), newer than this binary knows (6)"),
              "%s", e.msg);
    test_store_done(NULL);
}

Test(migrations, refuses_an_edited_migration)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    exec_ok(s, "UPDATE schema_migrations SET checksum = $1 WHERE version = 3",
            ARGS(store_text("0")), NULL);
    store_close(s);
    err e = {0};
    cr_assert_null(store_open(&p, &e));
    cr_assert(strstr(e.msg, "migration 0003_designs was edited after it was applied"), "%s", e.msg);
    test_store_done(NULL);
}

Test(open, bad_urls_are_named_and_passwords_hidden)
{
    store_params p = test_params();
    err e = {0};
    p.url = "mysql://root@localhost/x";
    cr_assert_null(store_open(&p, &e));
    cr_assert_eq(e.status, 500);
    cr_assert(strstr(e.msg, "DATABASE_URL: 'mysql://root@localhost/x' is neither"), "%s", e.msg);
    p.url = "postgresql://ann:hunter22@127.0.0.1:1/nothing?password=hunter22";
    p.connect_timeout_s = 2;
    cr_assert_null(store_open(&p, &e));
    cr_assert_eq(e.status, 503, "%d %s", e.status, e.msg);
    cr_assert(strstr(e.msg, "postgresql://ann:***@127.0.0.1:1/nothing?password=***"), "%s", e.msg);
    cr_assert_null(strstr(e.msg, "hunter22"), "%s", e.msg);
}

Test(exec, values_round_trip_and_metacharacters_stay_data)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    const char *blob_type = test_dialect() == STORE_SQLITE ? "BLOB" : "BYTEA";
    char sql[200];
    snprintf(sql, sizeof sql,
             "CREATE TABLE t (k BIGINT PRIMARY KEY, d DOUBLE PRECISION, s TEXT, b %s)", blob_type);
    exec_ok(s, sql, NULL, 0, NULL);
    const char *evil = "'); DROP TABLE t; -- \" \\ $1 ? %s \xe2\x82\xb9 \t\n";
    const unsigned char bytes[] = {0, 1, 2, 0xff, 0, 0x5c, 0x27};
    cr_assert_eq(exec_ok(s, "INSERT INTO t (k, d, s, b) VALUES ($1, $2, $3, $4)",
                         ARGS(store_int(INT64_MAX), store_double(0.1), store_text(evil),
                              store_blob(bytes, sizeof bytes)),
                         NULL),
                 1);
    exec_ok(s, "INSERT INTO t (k, d, s, b) VALUES ($1, $2, $3, $4)",
            ARGS(store_int(-7), store_null(), store_text(NULL), store_null()), NULL);
    store_rows *r = NULL;
    cr_assert_eq(exec_ok(s, "SELECT k, d, s, b FROM t ORDER BY k DESC", NULL, 0, &r), 2);
    cr_assert_eq(store_rows_columns(r), 4);
    cr_assert_str_eq(store_rows_name(r, 2), "s");
    cr_assert_eq(store_rows_cell(r, 0, 0)->type, STORE_INT);
    cr_assert_eq(store_rows_int(r, 0, 0), INT64_MAX);
    cr_assert_str_eq(store_rows_text(r, 0, 0), "9223372036854775807");
    cr_assert_eq(store_rows_cell(r, 0, 1)->type, STORE_DOUBLE);
    cr_assert_eq(store_rows_double(r, 0, 1), 0.1);
    cr_assert_str_eq(store_rows_text(r, 0, 2), evil);
    size_t len = 0;
    const void *b = store_rows_blob(r, 0, 3, &len);
    cr_assert_eq(store_rows_cell(r, 0, 3)->type, STORE_BLOB);
    cr_assert_eq(len, sizeof bytes);
    cr_assert_eq(memcmp(b, bytes, len), 0);
    cr_assert(store_rows_is_null(r, 1, 1));
    cr_assert_null(store_rows_text(r, 1, 2));
    cr_assert_null(store_rows_blob(r, 1, 3, &len));
    cr_assert_eq(store_rows_int(r, 1, 0), -7);
    store_rows_free(r);
    /* The table is still there and still holds both rows: nothing was executed. */
    cr_assert_eq(
        exec_ok(s, "UPDATE t SET d = $1 WHERE k < $2", ARGS(store_double(2.5), store_int(0)), NULL),
        1);
    cr_assert_eq(
        exec_ok(s, "DELETE FROM t WHERE k = $1 RETURNING s", ARGS(store_int(INT64_MAX)), &r), 1);
    cr_assert_str_eq(store_rows_text(r, 0, 0), evil);
    store_rows_free(r);
    test_store_done(s);
}

/* What aggregates, literals and comparisons give on each backend: PostgreSQL answers
 * NUMERIC for sum() of BIGINT and for 1.25, BOOLEAN for a comparison, REAL and SMALLINT for
 * those casts, all read back as numbers here. */
Test(exec, computed_columns_read_as_numbers)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    exec_ok(s, "CREATE TABLE g (k BIGINT, d DOUBLE PRECISION)", NULL, 0, NULL);
    const int64_t ks[] = {-5, 12, 4000000000000};
    for (size_t i = 0; i < ARRAY_LEN(ks); i++)
        exec_ok(s, "INSERT INTO g (k, d) VALUES ($1, $2)",
                ARGS(store_int(ks[i]), store_double((double)ks[i] / 8)), NULL);
    store_rows *r = NULL;
    cr_assert_eq(exec_ok(s,
                         "SELECT count(*), sum(k), min(d), max(k) > 0, -3, 1.25, 'lit', "
                         "CAST(0.5 AS REAL), CAST(-2 AS SMALLINT), sum(k) - sum(k) - 0.001 "
                         "FROM g",
                         NULL, 0, &r),
                 1);
    cr_assert_eq(store_rows_int(r, 0, 0), 3);
    cr_assert_eq(store_rows_int(r, 0, 1), 4000000000007);
    cr_assert_eq(store_rows_double(r, 0, 2), -0.625);
    cr_assert_eq(store_rows_int(r, 0, 3), 1);
    cr_assert_eq(store_rows_int(r, 0, 4), -3);
    cr_assert_eq(store_rows_double(r, 0, 5), 1.25);
    cr_assert_str_eq(store_rows_text(r, 0, 6), "lit");
    cr_assert_eq(store_rows_double(r, 0, 7), 0.5);
    cr_assert_eq(store_rows_int(r, 0, 8), -2);
    cr_assert_eq(store_rows_double(r, 0, 9), -0.001);
    store_rows_free(r);
    test_store_done(s);
}

Test(exec, errors_have_statuses)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    exec_ok(s, "CREATE TABLE u (k TEXT PRIMARY KEY, n BIGINT NOT NULL)", NULL, 0, NULL);
    exec_ok(s, "INSERT INTO u VALUES ($1, 1)", ARGS(store_text("a")), NULL);
    err e = {0};
    cr_assert_eq(store_exec(s, "INSERT INTO u VALUES ($1, 1)", ARGS(store_text("a")), NULL, &e),
                 -1);
    cr_assert_eq(e.status, 409, "%d %s", e.status, e.msg);
    cr_assert_eq(store_exec(s, "INSERT INTO u VALUES ($1, NULL)", ARGS(store_text("b")), NULL, &e),
                 -1);
    cr_assert_eq(e.status, 422, "%d %s", e.status, e.msg);
    cr_assert_eq(store_exec(s, "SELEC 1", NULL, 0, NULL, &e), -1);
    cr_assert_eq(e.status, 500);
    cr_assert_eq(store_exec(s, "SELECT $1, $2", ARGS(store_int(1)), NULL, &e), -1);
    cr_assert_eq(e.status, 500, "%d %s", e.status, e.msg);
    /* The pool is still healthy after errors. */
    cr_assert_eq(exec_ok(s, "SELECT k FROM u", NULL, 0, NULL), 1);
    test_store_done(s);
}

static int insert_then(store_tx *tx, void *ctx, err *e)
{
    int *outcome = ctx;
    if (store_tx_exec(tx, "INSERT INTO c (k) VALUES ($1)", ARGS(store_int(*outcome)), NULL, e) < 0)
        return -1;
    if (*outcome < 0) {
        err_set(e, 418, "changed my mind");
        return -1;
    }
    return 0;
}

Test(tx, commit_and_rollback)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    exec_ok(s, "CREATE TABLE c (k BIGINT PRIMARY KEY)", NULL, 0, NULL);
    err e = {0};
    int keep = 1, drop = -1;
    cr_assert_eq(store_transact(s, STORE_TX_WRITE, insert_then, &keep, &e), 0, "%s", e.msg);
    cr_assert_eq(store_transact(s, STORE_TX_WRITE, insert_then, &drop, &e), -1);
    cr_assert_eq(e.status, 418);
    cr_assert_str_eq(e.msg, "changed my mind");
    store_rows *r = NULL;
    cr_assert_eq(exec_ok(s, "SELECT k FROM c", NULL, 0, &r), 1);
    cr_assert_eq(store_rows_int(r, 0, 0), 1);
    store_rows_free(r);
    test_store_done(s);
}

typedef struct counter_job {
    store *s;
    int n;
} counter_job;

static void *bump(void *arg)
{
    counter_job *j = arg;
    for (int i = 0; i < j->n; i++) {
        err e = {0};
        int64_t r = store_exec(j->s, "UPDATE n SET v = v + 1 WHERE k = 1", NULL, 0, NULL, &e);
        if (r != 1) return (void *)(intptr_t)(e.status ? e.status : 1);
    }
    return NULL;
}

Test(pool, threads_share_it_without_losing_updates, .timeout = 60)
{
    store_params p = test_params();
    p.pool_size = 3; /* fewer connections than threads: they wait their turn */
    store *s = test_store_open(&p);
    exec_ok(s, "CREATE TABLE n (k BIGINT PRIMARY KEY, v BIGINT NOT NULL)", NULL, 0, NULL);
    exec_ok(s, "INSERT INTO n VALUES (1, 0)", NULL, 0, NULL);
    pthread_t th[8];
    counter_job j = {.s = s, .n = 100};
    for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, bump, &j);
    for (int i = 0; i < 8; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        cr_assert_null(rc, "thread %d failed with %d", i, (int)(intptr_t)rc);
    }
    store_rows *r = NULL;
    exec_ok(s, "SELECT v FROM n", NULL, 0, &r);
    cr_assert_eq(store_rows_int(r, 0, 0), 800);
    store_rows_free(r);
    test_store_done(s);
}

Test(kv, put_get_replace_expire_delete)
{
    store_params p = test_params();
    p.clock_us = fake_clock;
    store *s = test_store_open(&p);
    err e = {0};
    const char v1[] = {'a', 0, 'b'};
    cr_assert_eq(store_kv_put(s, "cache", "k1", v1, sizeof v1, 0, &e), 0, "%s", e.msg);
    size_t len = 0;
    char *got = store_kv_get(s, "cache", "k1", &len, &e);
    cr_assert_not_null(got, "%s", e.msg);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(got, v1, 3), 0);
    free(got);
    cr_assert_null(store_kv_get(s, "other", "k1", &len, &e));
    cr_assert_eq(e.status, 404);
    cr_assert_eq(store_kv_put(s, "cache", "k1", "new", 3, 10, &e), 0, "%s", e.msg);
    got = store_kv_get(s, "cache", "k1", &len, &e);
    cr_assert_str_eq(got, "new");
    free(got);
    fake_now += 11 * 1000000;
    cr_assert_null(store_kv_get(s, "cache", "k1", &len, &e));
    cr_assert_eq(e.status, 404);
    cr_assert_eq(store_kv_put(s, "cache", "k2", "x", 1, 0, &e), 0);
    cr_assert_eq(store_kv_delete(s, "cache", "k2", &e), 0);
    cr_assert_eq(store_kv_delete(s, "cache", "k2", &e), 0);
    cr_assert_null(store_kv_get(s, "cache", "k2", &len, &e));
    test_store_done(s);
}

/* The products table with full-text search that store.h tells the catalog to build. */
static const char *const fts_schema_sqlite[] = {
    "CREATE TABLE products (id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT)",
    "CREATE VIRTUAL TABLE products_fts USING fts5(name, description, content='products',"
    " content_rowid='rowid')",
    "CREATE TRIGGER products_ai AFTER INSERT ON products BEGIN INSERT INTO products_fts(rowid,"
    " name, description) VALUES (new.rowid, new.name, new.description); END",
    NULL};
static const char *const fts_schema_pg[] = {
    "CREATE TABLE products (id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT,"
    " search tsvector GENERATED ALWAYS AS (to_tsvector('english', name || ' ' ||"
    " coalesce(description, ''))) STORED)",
    "CREATE INDEX products_search ON products USING gin (search)", NULL};
static const char fts_query_sqlite[] =
    "SELECT p.id, bm25(products_fts) AS rank FROM products_fts"
    " JOIN products p ON p.rowid = products_fts.rowid"
    " WHERE products_fts MATCH '\"' || replace($1, '\"', '\"\"') || '\"' ORDER BY rank LIMIT $2";
static const char fts_query_pg[] = "SELECT p.id, -ts_rank(search, q) AS rank"
                                   " FROM products p, websearch_to_tsquery('english', $1) q"
                                   " WHERE search @@ q ORDER BY rank LIMIT $2";

Test(fts, products_search_on_both_backends)
{
    store_params p = test_params();
    store *s = test_store_open(&p);
    bool lite = store_get_dialect(s) == STORE_SQLITE;
    for (const char *const *q = lite ? fts_schema_sqlite : fts_schema_pg; *q; q++)
        exec_ok(s, *q, NULL, 0, NULL);
    const char *rows[][3] = {
        {"p1", "Velvet sofa", "A deep green sofa with a sofa bed inside"},
        {"p2", "Oak table", "Solid oak dining table"},
        {"p3", "Linen curtains", "Curtains for a sofa corner"},
    };
    for (size_t i = 0; i < ARRAY_LEN(rows); i++)
        exec_ok(s, "INSERT INTO products (id, name, description) VALUES ($1, $2, $3)",
                ARGS(store_text(rows[i][0]), store_text(rows[i][1]), store_text(rows[i][2])), NULL);
    store_rows *r = NULL;
    const char *sql = lite ? fts_query_sqlite : fts_query_pg;
    cr_assert_eq(exec_ok(s, sql, ARGS(store_text("sofa"), store_int(10)), &r), 2);
    cr_assert_str_eq(store_rows_text(r, 0, 0), "p1"); /* three mentions beat one */
    cr_assert_str_eq(store_rows_text(r, 1, 0), "p3");
    cr_assert_lt(store_rows_double(r, 0, 1), store_rows_double(r, 1, 1));
    store_rows_free(r);
    /* User text with query syntax is searched for, not interpreted. */
    cr_assert_eq(exec_ok(s, sql, ARGS(store_text("oak\" OR \"sofa"), store_int(10)), &r), 0);
    store_rows_free(r);
    test_store_done(s);
}
