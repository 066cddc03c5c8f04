/* The PostgreSQL backend on libpq: one PGconn per pooled connection, statements with
 * PQexecParams (text parameters except bytea, which goes binary; text results). */
#include "store/store_impl.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs from pg_type.h (stable since PostgreSQL 7). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_NUMERIC = 1700,
};

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* libpq's messages end with a newline and may run over several lines; keep the first. */
static void set_msg(err *e, int status, const char *prefix, const char *msg)
{
    size_t n = msg ? strcspn(msg, "\n") : 0;
    err_set(e, status, "%s%.*s", prefix, (int)n, msg ? msg : "");
}

static void *pg_connect(store *s, err *e)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d",
             s->p.connect_timeout_s > 0 ? s->p.connect_timeout_s : 5);
    /* Keywords before dbname are defaults the URI may override; those after it are ours. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", "client_encoding", NULL};
    const char *vals[] = {timeout, "artistry", s->url, "UTF8", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c) {
        err_set(e, 503, "cannot connect to PostgreSQL at %s: out of memory", s->redacted);
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        char prefix[600];
        snprintf(prefix, sizeof prefix, "cannot connect to PostgreSQL at %s: ", s->redacted);
        set_msg(e, 503, prefix, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    return c;
}

static void pg_disconnect(void *conn)
{
    PQfinish(conn);
}

static bool pg_usable(void *conn)
{
    PGconn *c = conn;
    if (PQstatus(c) != CONNECTION_OK) {
        PQreset(c);
        if (PQstatus(c) != CONNECTION_OK) return false;
    }
    return PQtransactionStatus(c) == PQTRANS_IDLE;
}

/* Maps a failed result to our statuses by SQLSTATE class (Appendix A of the manual). */
static void fail(PGconn *c, PGresult *res, int *flags, err *e)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg) msg = PQerrorMessage(c);
    if (PQstatus(c) == CONNECTION_BAD || !state) {
        *flags |= STORE_F_BROKEN;
        set_msg(e, 503, "lost the PostgreSQL connection: ", msg);
        return;
    }
    if (!strcmp(state, "23505") || !strcmp(state, "23503")) {
        set_msg(e, 409, "", msg);
    } else if (!strncmp(state, "23", 2) || !strncmp(state, "22", 2)) {
        set_msg(e, 422, "the database refused the value: ", msg);
    } else if (!strcmp(state, "40001") || !strcmp(state, "40P01")) {
        *flags |= STORE_F_TRANSIENT;
        set_msg(e, 503, "the database aborted the transaction: ", msg);
    } else if (!strcmp(state, "08P01")) {
        /* A protocol violation is a statement we built wrong (parameter count); the server
         * answers it and the connection stays good. */
        set_msg(e, 500, "postgresql: ", msg);
    } else if (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3)) {
        *flags |= STORE_F_BROKEN;
        set_msg(e, 503, "lost the PostgreSQL connection: ", msg);
    } else if (!strncmp(state, "53", 2) || !strcmp(state, "55P03") || !strcmp(state, "57014")) {
        set_msg(e, 503, "the database is busy: ", msg);
    } else if (!strcmp(state, "54000")) {
        set_msg(e, 413, "the value is too large for the database: ", msg);
    } else {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "postgresql %s: ", state);
        set_msg(e, 500, prefix, msg);
    }
}

/* A bytea column in text form. The server writes hex ("\\x" then two digits a byte,
 * bytea_output's default); decoded here by table, as PQunescapeBytea's loop took a
 * quarter of a listing of 500 KB images. The older escape form goes to libpq. */
static store_value bytea_value(store_rows *r, const char *v, size_t n)
{
    static const signed char hex[256] = {
        ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
        ['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14,
        ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
        ['F'] = 16,
    }; /* digit + 1; 0 is not a digit */
    if (n >= 2 && v[0] == '\\' && v[1] == 'x' && n % 2 == 0) {
        size_t len = (n - 2) / 2;
        unsigned char *b = xmalloc(len ? len : 1);
        bool ok = true;
        for (size_t i = 0; i < len; i++) {
            int hi = hex[(unsigned char)v[2 + 2 * i]], lo = hex[(unsigned char)v[3 + 2 * i]];
            ok &= hi && lo;
            b[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
        }
        if (ok) {
            store_value out = {.type = STORE_BLOB, .p = store_rows_copy(r, b, len), .len = len};
            free(b);
            return out;
        }
        free(b);
    }
    size_t len = 0;
    unsigned char *b = PQunescapeBytea((const unsigned char *)v, &len);
    store_value out = {.type = STORE_BLOB, .p = store_rows_copy(r, b, len), .len = len};
    PQfreemem(b);
    return out;
}

static void copy_rows(PGresult *res, store_rows *r)
{
    int nrows = PQntuples(res), ncols = PQnfields(res);
    for (int i = 0; i < nrows; i++) {
        store_value *row = store_rows_add(r);
        for (int c = 0; c < ncols; c++) {
            if (PQgetisnull(res, i, c)) continue;
            const char *v = PQgetvalue(res, i, c);
            size_t n = (size_t)PQgetlength(res, i, c);
            switch (PQftype(res, c)) {
            case OID_BOOL:
                row[c] = store_int(v[0] == 't');
                break;
            case OID_INT2:
            case OID_INT4:
            case OID_INT8:
            case OID_OID:
                row[c] = store_int(strtoll(v, NULL, 10));
                break;
            case OID_FLOAT4:
            case OID_FLOAT8:
            case OID_NUMERIC:
                row[c] = store_double(strtod(v, NULL));
                break;
            case OID_BYTEA:
                row[c] = bytea_value(r, v, n);
                break;
            default:
                row[c] = (store_value){.type = STORE_TEXT, .p = store_rows_copy(r, v, n), .len = n};
                break;
            }
        }
    }
}

static int64_t pg_exec(void *conn, const char *sql, const store_value *params, size_t nparams,
                       store_rows **rows, int *flags, err *e)
{
    PGconn *c = conn;
    if (nparams > 65535) {
        err_set(e, 500, "too many parameters (%zu)", nparams);
        return -1;
    }
    size_t n = nparams ? nparams : 1;
    Oid *types = xcalloc(n, sizeof *types);
    const char **vals = xcalloc(n, sizeof *vals);
    int *lens = xcalloc(n, sizeof *lens);
    int *fmts = xcalloc(n, sizeof *fmts);
    char(*num)[32] = xcalloc(n, sizeof *num);
    int64_t result = -1;
    for (size_t i = 0; i < nparams; i++) {
        const store_value *v = &params[i];
        switch (v->type) {
        case STORE_INT:
            snprintf(num[i], sizeof num[i], "%" PRId64, v->i);
            vals[i] = num[i];
            types[i] = OID_INT8;
            break;
        case STORE_DOUBLE:
            snprintf(num[i], sizeof num[i], "%.17g", v->d);
            vals[i] = num[i];
            types[i] = OID_FLOAT8;
            break;
        case STORE_TEXT:
            vals[i] = v->p;
            break; /* type inferred from the statement */
        case STORE_BLOB:
            if (v->len > 0x7fffffff) {
                err_set(e, 413, "parameter $%zu: %zu bytes is too large for PostgreSQL", i + 1,
                        v->len);
                goto out;
            }
            vals[i] = v->p;
            lens[i] = (int)v->len;
            fmts[i] = 1;
            types[i] = OID_BYTEA;
            break;
        default:
            vals[i] = NULL;
            break;
        }
    }
    PGresult *res = PQexecParams(c, sql, (int)nparams, types, vals, lens, fmts, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK) {
        result = strtoll(PQcmdTuples(res), NULL, 10);
        if (rows) *rows = store_rows_new(0);
    } else if (st == PGRES_TUPLES_OK) {
        result = PQntuples(res);
        if (rows) {
            store_rows *r = store_rows_new((size_t)PQnfields(res));
            for (int col = 0; col < PQnfields(res); col++)
                store_rows_set_name(r, (size_t)col, PQfname(res, col));
            copy_rows(res, r);
            *rows = r;
        }
    } else {
        fail(c, res, flags, e);
    }
    PQclear(res);
out:
    free(types);
    free(vals);
    free(lens);
    free(fmts);
    free(num);
    return result;
}

static int pg_script(void *conn, const char *sql, int *flags, err *e)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        fail(conn, res, flags, e);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

const store_backend store_pg_backend = {
    .name = "postgresql",
    .dialect = STORE_POSTGRESQL,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .usable = pg_usable,
    .exec = pg_exec,
    .script = pg_script,
    .begin_write = "BEGIN",
    .begin_read = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
};
