/*
 * db_pg.c -- the PostgreSQL backend of the store (libpq).
 *
 * Every statement goes through PQexecParams with its values bound
 * separately (text format). The store writes its SQL with `?` placeholders;
 * they are rewritten here to `$1..$n`. Only the constant SQL text of the
 * store is rewritten; values never become SQL. A unique violation (SQLSTATE
 * 23505) maps to SG_ERR_INVALID like SQLite's constraint errors.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

struct db_conn {
    PGconn *pg;
};

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* One line of libpq's message (they end in newlines). */
static void one_line(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
    for (char *p = dst; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    size_t n = strlen(dst);
    while (n && dst[n - 1] == ' ') dst[--n] = 0;
}

static sg_status pg_connect(const char *url, db_conn **out, sg_error *err)
{
    db_conn *c = calloc(1, sizeof *c);
    if (!c) return sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
    c->pg = PQconnectdb(url);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        char m[400];
        one_line(m, sizeof m, c->pg ? PQerrorMessage(c->pg) : "out of memory");
        sg_fail(err, SG_ERR_IO, "store: cannot connect to PostgreSQL: %s", m);
        PQfinish(c->pg);
        free(c);
        return SG_ERR_IO;
    }
    PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
    PGresult *r = PQexecParams(c->pg, "SET TIME ZONE 'UTC'", 0, NULL, NULL, NULL, NULL, 0);
    PQclear(r);
    *out = c;
    return SG_OK;
}

static void pg_disconnect(db_conn *c)
{
    if (!c) return;
    PQfinish(c->pg);
    free(c);
}

static bool pg_healthy(db_conn *c)
{
    if (PQstatus(c->pg) == CONNECTION_OK) return true;
    PQreset(c->pg);
    return PQstatus(c->pg) == CONNECTION_OK;
}

/* "? ... ?" -> "$1 ... $n" (the store's SQL has no '?' inside literals). */
static char *rewrite(const char *sql)
{
    size_t q = 0, len = strlen(sql);
    for (const char *p = sql; *p; p++) q += *p == '?';
    char *out = malloc(len + q * 4 + 1);
    if (!out) return NULL;
    char *o = out;
    int k = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '?') o += sprintf(o, "$%d", ++k);
        else *o++ = *p;
    }
    *o = 0;
    return out;
}

static sg_status pg_exec(db_conn *c, const char *sql, int n, const db_arg *args, db_res *res, sg_error *err)
{
    if (res) memset(res, 0, sizeof *res);
    if (n > 64) return sg_fail(err, SG_ERR_INVALID, "store: too many parameters");
    char *q = rewrite(sql);
    if (!q) return sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
    char nums[64][24];
    const char *vals[64];
    for (int i = 0; i < n; i++) {
        if (args[i].t == DB_INT) {
            snprintf(nums[i], sizeof nums[i], "%" PRId64, args[i].i);
            vals[i] = nums[i];
        } else if (args[i].t == DB_TEXT) {
            vals[i] = args[i].s;
        } else {
            vals[i] = NULL;
        }
    }
    PGresult *r = PQexecParams(c->pg, q, n, NULL, n ? vals : NULL, NULL, NULL, 0);
    free(q);
    if (!r) return sg_fail(err, SG_ERR_NOMEM, "store: PostgreSQL: out of memory");
    ExecStatusType es = PQresultStatus(r);
    if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        char m[400];
        one_line(m, sizeof m, PQresultErrorMessage(r));
        sg_status code = state && !strncmp(state, "23", 2) ? SG_ERR_INVALID : SG_ERR_IO;
        PQclear(r);
        return sg_fail(err, code, "store: PostgreSQL: %s", m);
    }
    if (res) {
        const char *ct = PQcmdTuples(r);
        res->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
        if (es == PGRES_TUPLES_OK) {
            int nr = PQntuples(r), nc = PQnfields(r);
            res->nc = nc;
            size_t cells = (size_t)nr * (size_t)nc;
            res->cells = calloc(cells ? cells : 1, sizeof *res->cells);
            if (!res->cells) {
                PQclear(r);
                return sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
            }
            res->nr = nr;
            for (int i = 0; i < nr; i++)
                for (int j = 0; j < nc; j++) {
                    if (PQgetisnull(r, i, j)) continue;
                    char *v = strdup(PQgetvalue(r, i, j));
                    if (!v) {
                        PQclear(r);
                        db_res_free(res);
                        return sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
                    }
                    res->cells[(size_t)i * (size_t)nc + (size_t)j] = v;
                }
        }
    }
    PQclear(r);
    return SG_OK;
}

const db_ops db_pg_ops = {
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .healthy = pg_healthy,
    .begin_sql = "BEGIN",
};
