/* Test helpers: a fresh, empty store per test on the backend named by
 * ARTISTRY_TEST_BACKEND ("sqlite", the default, or "postgresql"). SQLite gets a new
 * temporary directory; PostgreSQL a new database in the cluster at ARTISTRY_TEST_PG_URL,
 * which tests/store/pg_cluster.sh provides (meson runs the _postgresql tests under it). */
#ifndef ARTISTRY_TESTS_STORE_HELPERS_H
#define ARTISTRY_TESTS_STORE_HELPERS_H

#include "store/store.h"

/* Parameters for tests: the cheapest argon2id settings, so tests do not wait on it. */
store_params test_params(void);
/* Opens a store on a new empty database with p (url is filled in). Fails the test when the
 * backend is not available. */
store *test_store_open(store_params *p);
/* Reopens the same database (same url) with p. */
store *test_store_reopen(store_params *p);
/* Closes s and deletes the database. */
void test_store_done(store *s);
/* The backend under test. */
store_dialect test_dialect(void);
/* The current database's URL (valid until test_store_done). */
const char *test_url(void);
/* SQLite: the database file's path; NULL on PostgreSQL. */
const char *test_sqlite_path(void);

#endif
