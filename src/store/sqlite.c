/* The SQLite backend: one sqlite3 handle per pooled connection, WAL journal (readers never
 * wait for the writer), a busy timeout for writers waiting on each other, foreign keys on. */
#include "store/store_impl.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static bool broken_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
        return true;
    default:
        return false;
    }
}

/* Maps an SQLite result code to our statuses (see store_exec in store.h). */
static void fail(sqlite3 *db, int rc, int *flags, err *e)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
            rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            err_set(e, 409, "%s", msg);
        else
            err_set(e, 422, "the database refused the value: %s", msg);
        break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        err_set(e, 503, "the database is busy: %s", msg);
        break;
    case SQLITE_TOOBIG:
        err_set(e, 413, "the value is too large for the database: %s", msg);
        break;
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        err_set(e, 422, "the database refused the value: %s", msg);
        break;
    default:
        err_set(e, broken_code(rc) ? 503 : 500, "sqlite: %s", msg);
        if (broken_code(rc)) *flags |= STORE_F_BROKEN;
        break;
    }
}

static void *sq_connect(store *s, err *e)
{
    sqlite3 *db = NULL;
    int rc =
        sqlite3_open_v2(s->sqlite_path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err_set(e, 503, "cannot open the SQLite database %s: %s", s->sqlite_path,
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, s->p.busy_timeout_ms);
    char *msg = NULL;
    const char *setup = s->p.sqlite_sync_full
                            ? "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"
                            : "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;";
    rc = sqlite3_exec(db, setup, NULL, NULL, &msg);
    /* WAL is a property of the file, set once and kept; asking again costs nothing. */
    sqlite3_stmt *st = NULL;
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        const unsigned char *mode = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
        if (rc == SQLITE_ROW && mode && strcmp((const char *)mode, "wal") == 0) {
            rc = SQLITE_OK;
        } else if (rc == SQLITE_ROW) {
            err_set(e, 503, "SQLite database %s refused WAL mode (journal mode %s)", s->sqlite_path,
                    mode ? (const char *)mode : "?");
            sqlite3_finalize(st);
            sqlite3_close(db);
            return NULL;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        err_set(e, 503, "cannot set up the SQLite database %s: %s", s->sqlite_path,
                msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static void sq_disconnect(void *conn)
{
    sqlite3_close_v2(conn);
}

static bool sq_usable(void *conn)
{
    return conn != NULL;
}

static int bind_all(sqlite3_stmt *st, const store_value *params, size_t n, err *e)
{
    int want = sqlite3_bind_parameter_count(st);
    if ((size_t)want != n) {
        err_set(e, 500, "statement takes %d parameters, %zu given", want, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "$%zu", i + 1);
        int idx = sqlite3_bind_parameter_index(st, name);
        if (idx == 0) {
            err_set(e, 500, "statement does not use parameter %s (write $1..$N)", name);
            return -1;
        }
        const store_value *v = &params[i];
        int rc;
        switch (v->type) {
        case STORE_INT:
            rc = sqlite3_bind_int64(st, idx, v->i);
            break;
        case STORE_DOUBLE:
            rc = sqlite3_bind_double(st, idx, v->d);
            break;
        case STORE_TEXT:
            rc = sqlite3_bind_text64(st, idx, v->p, v->len, SQLITE_STATIC, SQLITE_UTF8);
            break;
        case STORE_BLOB:
            rc = sqlite3_bind_blob64(st, idx, v->p, v->len, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(st, idx);
            break;
        }
        if (rc != SQLITE_OK) {
            err_set(e, rc == SQLITE_TOOBIG ? 413 : 500, "binding %s: %s", name, sqlite3_errstr(rc));
            return -1;
        }
    }
    return 0;
}

static void copy_row(sqlite3_stmt *st, store_rows *r, int ncols)
{
    store_value *row = store_rows_add(r);
    for (int c = 0; c < ncols; c++) {
        switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER:
            row[c] = store_int(sqlite3_column_int64(st, c));
            break;
        case SQLITE_FLOAT:
            row[c] = store_double(sqlite3_column_double(st, c));
            break;
        case SQLITE_TEXT: {
            const void *p = sqlite3_column_text(st, c);
            size_t n = (size_t)sqlite3_column_bytes(st, c);
            row[c] = (store_value){.type = STORE_TEXT, .p = store_rows_copy(r, p, n), .len = n};
            break;
        }
        case SQLITE_BLOB: {
            const void *p = sqlite3_column_blob(st, c);
            size_t n = (size_t)sqlite3_column_bytes(st, c);
            row[c] = (store_value){.type = STORE_BLOB, .p = store_rows_copy(r, p, n), .len = n};
            break;
        }
        default:
            break;
        }
    }
}

static int64_t sq_exec(void *conn, const char *sql, const store_value *params, size_t nparams,
                       store_rows **rows, int *flags, err *e)
{
    sqlite3 *db = conn;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
    if (rc != SQLITE_OK) {
        fail(db, rc, flags, e);
        return -1;
    }
    if (!st) {
        err_set(e, 500, "empty statement");
        return -1;
    }
    while (tail && (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == ';')) tail++;
    if (tail && *tail) {
        sqlite3_finalize(st);
        err_set(e, 500, "store_exec runs one statement; found more after the first");
        return -1;
    }
    if (bind_all(st, params, nparams, e) != 0) {
        sqlite3_finalize(st);
        return -1;
    }
    int ncols = sqlite3_column_count(st);
    store_rows *r = NULL;
    if (rows) {
        r = store_rows_new((size_t)ncols);
        for (int c = 0; c < ncols; c++)
            store_rows_set_name(r, (size_t)c, sqlite3_column_name(st, c));
    }
    int64_t nrows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        nrows++;
        if (r) copy_row(st, r, ncols);
    }
    if (rc != SQLITE_DONE) {
        fail(db, rc, flags, e);
        sqlite3_finalize(st);
        store_rows_free(r);
        return -1;
    }
    sqlite3_finalize(st);
    if (rows) *rows = r;
    return ncols > 0 ? nrows : (int64_t)sqlite3_changes64(db);
}

static int sq_script(void *conn, const char *sql, int *flags, err *e)
{
    char *msg = NULL;
    int rc = sqlite3_exec(conn, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK) return 0;
    sqlite3_free(msg); /* the same text stays in sqlite3_errmsg for fail() */
    fail(conn, rc, flags, e);
    return -1;
}

const store_backend store_sqlite_backend = {
    .name = "sqlite",
    .dialect = STORE_SQLITE,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .usable = sq_usable,
    .exec = sq_exec,
    .script = sq_script,
    .begin_write = "BEGIN IMMEDIATE",
    .begin_read = "BEGIN",
};
