#include "helpers.h"

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char url[512], sqlite_dir[256], sqlite_path[300], pg_db[64], pg_admin[512];

store_dialect test_dialect(void)
{
    const char *b = getenv("ARTISTRY_TEST_BACKEND");
    return b && strcmp(b, "postgresql") == 0 ? STORE_POSTGRESQL : STORE_SQLITE;
}

store_params test_params(void)
{
    store_params p = store_default_params();
    p.pwhash_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    p.pwhash_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
    return p;
}

static void pg_admin_exec(const char *sql)
{
    PGconn *c = PQconnectdb(pg_admin);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "cannot reach the test cluster %s: %s", pg_admin,
                 PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

store *test_store_open(store_params *p)
{
    if (test_dialect() == STORE_POSTGRESQL) {
        const char *base = getenv("ARTISTRY_TEST_PG_URL");
        cr_assert(base && *base,
                  "ARTISTRY_TEST_PG_URL is not set: run under tests/store/pg_cluster.sh run --");
        snprintf(pg_admin, sizeof pg_admin, "%s", base);
        unsigned char r[8];
        random_bytes(r, sizeof r);
        snprintf(pg_db, sizeof pg_db, "t_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
                 r[4], r[5], r[6], r[7]);
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", pg_db);
        pg_admin_exec(sql);
        const char *slash = strrchr(base, '/');
        cr_assert(slash && slash > base + 13, "ARTISTRY_TEST_PG_URL needs a /database part");
        snprintf(url, sizeof url, "%.*s/%s", (int)(slash - base), base, pg_db);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(sqlite_dir, sizeof sqlite_dir, "%s/artistry-store-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        cr_assert(mkdtemp(sqlite_dir), "mkdtemp failed");
        snprintf(sqlite_path, sizeof sqlite_path, "%s/db/artistry.db", sqlite_dir);
        snprintf(url, sizeof url, "sqlite://%s", sqlite_path);
    }
    return test_store_reopen(p);
}

store *test_store_reopen(store_params *p)
{
    p->url = url;
    err e = {0};
    store *s = store_open(p, &e);
    cr_assert(s, "store_open(%s): %d %s", url, e.status, e.msg);
    return s;
}

void test_store_done(store *s)
{
    store_close(s);
    if (test_dialect() == STORE_POSTGRESQL) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", pg_db);
        pg_admin_exec(sql);
    } else if (sqlite_dir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", sqlite_dir);
        cr_assert_eq(system(cmd), 0);
        sqlite_dir[0] = '\0';
    }
}

const char *test_url(void)
{
    return url;
}

const char *test_sqlite_path(void)
{
    return test_dialect() == STORE_SQLITE ? sqlite_path : NULL;
}
