/*
 * db.h -- the store's internal backend interface (not public).
 *
 * Two engines sit behind one small vtable: SQLite (db_sqlite.c) and
 * PostgreSQL through libpq (db_pg.c). Every statement the store runs is a
 * constant string with `?` placeholders; the PostgreSQL backend rewrites them
 * to `$1..$n` (the rewrite touches only the constant SQL text, never input)
 * and sends the values separately with PQexecParams. Values travel as text
 * or 64-bit integers; results come back as text cells (NULL for SQL NULL).
 *
 * Connections: a db_conn is one engine connection. The store keeps a small
 * pool (store.c): a caller takes a connection, runs its statements (inside
 * a transaction when it changes several rows), and gives it back. A
 * connection is used by one thread at a time.
 */
#ifndef SG_STORE_DB_H
#define SG_STORE_DB_H

#include <pthread.h>

#include "base/error.h"
#include "store/store.h"

typedef enum db_kind { DB_SQLITE = 0, DB_PG = 1 } db_kind;

typedef enum db_argtype { DB_NULL = 0, DB_INT = 1, DB_TEXT = 2 } db_argtype;

typedef struct db_arg {
    db_argtype t;
    int64_t i;
    const char *s;
} db_arg;

static inline db_arg db_arg_text(const char *s)
{
    return (db_arg){s ? DB_TEXT : DB_NULL, 0, s};
}
#define A_I(x) ((db_arg){DB_INT, (int64_t)(x), NULL})
#define A_S(x) db_arg_text(x)
#define A_NULL ((db_arg){DB_NULL, 0, NULL})

/* A result: nr rows of nc text cells (cells[r * nc + c], NULL = SQL NULL),
 * and the number of rows an INSERT/UPDATE/DELETE changed. */
typedef struct db_res {
    int nr, nc;
    char **cells;
    int64_t changes;
} db_res;

typedef struct db_conn db_conn;

typedef struct db_ops {
    sg_status (*connect)(const char *url, db_conn **out, sg_error *err);
    void (*disconnect)(db_conn *c);
    /* One statement; res may be NULL when the rows are not wanted. */
    sg_status (*exec)(db_conn *c, const char *sql, int n, const db_arg *args, db_res *res, sg_error *err);
    /* Is the connection still usable (reconnects PostgreSQL when not)? */
    bool (*healthy)(db_conn *c);
    const char *begin_sql; /* "BEGIN IMMEDIATE" / "BEGIN" */
} db_ops;

extern const db_ops db_sqlite_ops;
extern const db_ops db_pg_ops;

#define DB_POOL_MAX 8

struct sg_store {
    db_kind kind;
    const db_ops *ops;
    char *url;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    db_conn *conns[DB_POOL_MAX];
    bool busy[DB_POOL_MAX];
    int n_conns, pool_max;
    int version;
    int64_t instance_id; /* under mu */
    char actor[128];     /* under mu */
};

/* ---- store.c: pool, transactions, result helpers */
sg_status db_take(sg_store *s, db_conn **c, sg_error *err);
void db_give(sg_store *s, db_conn *c);
sg_status db_exec(sg_store *s, db_conn *c, const char *sql, int n, const db_arg *args, db_res *res, sg_error *err);
sg_status db_begin(sg_store *s, db_conn *c, sg_error *err);
sg_status db_commit(sg_store *s, db_conn *c, sg_error *err);
void db_rollback(sg_store *s, db_conn *c);
void db_res_free(db_res *r);
const char *db_cell(const db_res *r, int row, int col);
int64_t db_i64(const db_res *r, int row, int col);
/* strdup of a cell, NULL stays NULL; *oom set when a copy fails */
char *db_dup(const db_res *r, int row, int col, bool *oom);
/* One statement on a pooled connection (take, exec, give). */
sg_status db_run(sg_store *s, const char *sql, int n, const db_arg *args, db_res *res, sg_error *err);

/* The actor recorded in audit entries written by the store itself. */
void store_actor(sg_store *s, char *out, size_t cap);
/* Audit on an already-taken connection (inside the caller's transaction). */
sg_status store_audit_on(sg_store *s, db_conn *c, const char *actor, const char *action, const char *target,
                         const char *detail, sg_error *err);

/* ---- schema.c */
sg_status store_migrate(sg_store *s, sg_error *err);
#define STORE_SCHEMA_VERSION 1

/* ---- helpers shared by the files of the store */
int64_t store_now(void);
bool store_valid_name(const char *s);

#endif
