/* The PostgreSQL backend on libpq: one PGconn per pooled connection, statements with
 * PQexecParams (text parameters except bytea, which goes binary; binary results). */
#include "store/store_impl.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
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
    OID_NAME = 19,
    OID_TEXT = 25,
    OID_JSON = 114,
    OID_UNKNOWN = 705,
    OID_BPCHAR = 1042,
    OID_VARCHAR = 1043,
    OID_JSONB = 3802,
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

/* Results come in binary form: a bytea column is its bytes (in text form the server
 * writes two hex digits a byte and the client decodes them, half the time of a listing of
 * 500 KB images), numbers are big-endian. Only the types the schema and its queries
 * produce are read; any other is an error naming it, never a value misread. */
static uint64_t be(const char *v, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) x = x << 8 | (unsigned char)v[i];
    return x;
}

/* NUMERIC (sum() of BIGINT, decimal literals): int16 ndigits, weight, sign, dscale, then
 * base-10000 digits, the first worth 10000^weight. Written out in decimal for strtod, which
 * rounds once and correctly. */
static double numeric_value(const char *v, size_t n)
{
    if (n < 8) return NAN;
    int nd = (int16_t)be(v, 2), weight = (int16_t)be(v + 2, 2);
    unsigned sign = (unsigned)be(v + 4, 2);
    if (sign == 0xD000) return INFINITY;
    if (sign == 0xF000) return -INFINITY;
    if ((sign != 0 && sign != 0x4000) || nd < 0 || nd > 1000 || n < 8 + 2 * (size_t)nd) return NAN;
    char text[4 * 1000 + 16], *o = text;
    if (sign == 0x4000) *o++ = '-';
    *o++ = '0';
    for (int i = 0; i < nd; i++) {
        unsigned d = (unsigned)be(v + 8 + 2 * i, 2);
        if (d > 9999) return NAN;
        o += sprintf(o, "%04u", d);
    }
    sprintf(o, "e%d", 4 * (weight - nd + 1));
    return strtod(text, NULL);
}

static int binary_value(store_rows *r, Oid type, const char *v, size_t n, store_value *out)
{
    switch (type) {
    case OID_BOOL:
        if (n != 1) return -1;
        *out = store_int(v[0] != 0);
        return 0;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
        if (n != 2 && n != 4 && n != 8) return -1;
        /* sign-extend from the width given */
        *out = store_int((int64_t)(be(v, n) << (64 - 8 * n)) >> (64 - 8 * n));
        return 0;
    case OID_OID:
        if (n != 4) return -1;
        *out = store_int((int64_t)be(v, 4));
        return 0;
    case OID_FLOAT4: {
        if (n != 4) return -1;
        uint32_t u = (uint32_t)be(v, 4);
        float f;
        memcpy(&f, &u, sizeof f);
        *out = store_double(f);
        return 0;
    }
    case OID_FLOAT8: {
        if (n != 8) return -1;
        uint64_t u = be(v, 8);
        double d;
        memcpy(&d, &u, sizeof d);
        *out = store_double(d);
        return 0;
    }
    case OID_NUMERIC:
        *out = store_double(numeric_value(v, n));
        return 0;
    case OID_BYTEA:
        *out = (store_value){.type = STORE_BLOB, .p = store_rows_copy(r, v, n), .len = n};
        return 0;
    case OID_JSONB: /* a version byte, then the text */
        if (n < 1 || v[0] != 1) return -1;
        v++, n--;
        /* fall through */
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_BPCHAR:
    case OID_NAME:
    case OID_JSON:
    case OID_UNKNOWN:
        *out = (store_value){.type = STORE_TEXT, .p = store_rows_copy(r, v, n), .len = n};
        return 0;
    default:
        return -1;
    }
}

static int copy_rows(PGresult *res, store_rows *r, err *e)
{
    int nrows = PQntuples(res), ncols = PQnfields(res);
    for (int i = 0; i < nrows; i++) {
        store_value *row = store_rows_add(r);
        for (int c = 0; c < ncols; c++) {
            if (PQgetisnull(res, i, c)) continue;
            Oid type = PQftype(res, c);
            if (binary_value(r, type, PQgetvalue(res, i, c), (size_t)PQgetlength(res, i, c),
                             &row[c]) != 0) {
                err_set(e, 500, "postgresql: column '%s' has type %u, which the store cannot read",
                        PQfname(res, c), (unsigned)type);
                return -1;
            }
        }
    }
    return 0;
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
    PGresult *res = PQexecParams(c, sql, (int)nparams, types, vals, lens, fmts, 1);
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
            if (copy_rows(res, r, e) != 0) {
                store_rows_free(r);
                result = -1;
            } else {
                *rows = r;
            }
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
