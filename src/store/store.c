/*
 * store.c -- opening a store, its connection pool, and the small helpers
 * the other files of the store share (results, transactions, names).
 *
 * The pool: SQLite uses one connection (SQLite serialises writers anyway,
 * and one connection keeps transactions simple); PostgreSQL opens up to
 * DB_POOL_MAX connections as threads need them. A thread takes a
 * connection, runs its statements, and gives it back; a thread that finds
 * every connection busy waits on the pool's condition variable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pull/pull.h"
#include "store/db.h"

const char *sg_store_default_path(char *buf, size_t cap)
{
    char home[3800];
    if (cache_home(home, sizeof home, NULL) != SG_OK) snprintf(home, sizeof home, ".");
    int w = snprintf(buf, cap, "%s/stargate.db", home);
    if (w < 0 || (size_t)w >= cap) {
        if (cap) buf[0] = 0;
    }
    return buf;
}

int64_t store_now(void)
{
    return (int64_t)time(NULL);
}

bool store_valid_name(const char *s)
{
    if (!s) return false;
    size_t n = strlen(s);
    if (n < 1 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '_' || ch == '-';
        if (!ok) return false;
    }
    return true;
}

void db_res_free(db_res *r)
{
    if (!r || !r->cells) return;
    size_t n = (size_t)r->nr * (size_t)r->nc;
    for (size_t i = 0; i < n; i++) free(r->cells[i]);
    free(r->cells);
    r->cells = NULL;
    r->nr = 0;
}

const char *db_cell(const db_res *r, int row, int col)
{
    if (row < 0 || row >= r->nr || col < 0 || col >= r->nc) return NULL;
    return r->cells[(size_t)row * (size_t)r->nc + (size_t)col];
}

int64_t db_i64(const db_res *r, int row, int col)
{
    const char *c = db_cell(r, row, col);
    return c ? strtoll(c, NULL, 10) : 0;
}

char *db_dup(const db_res *r, int row, int col, bool *oom)
{
    const char *c = db_cell(r, row, col);
    if (!c) return NULL;
    char *d = strdup(c);
    if (!d) *oom = true;
    return d;
}

sg_status db_take(sg_store *s, db_conn **c, sg_error *err)
{
    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (int i = 0; i < s->n_conns; i++)
            if (!s->busy[i]) {
                s->busy[i] = true;
                *c = s->conns[i];
                pthread_mutex_unlock(&s->mu);
                if (!s->ops->healthy(*c)) {
                    db_give(s, *c);
                    return sg_fail(err, SG_ERR_IO, "store: the database connection is lost");
                }
                return SG_OK;
            }
        if (s->n_conns < s->pool_max) {
            db_conn *n = NULL;
            sg_status st = s->ops->connect(s->url, &n, err);
            if (st) {
                pthread_mutex_unlock(&s->mu);
                return st;
            }
            s->conns[s->n_conns] = n;
            s->busy[s->n_conns] = true;
            s->n_conns++;
            *c = n;
            pthread_mutex_unlock(&s->mu);
            return SG_OK;
        }
        pthread_cond_wait(&s->cv, &s->mu);
    }
}

void db_give(sg_store *s, db_conn *c)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_conns; i++)
        if (s->conns[i] == c) s->busy[i] = false;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

sg_status db_exec(sg_store *s, db_conn *c, const char *sql, int n, const db_arg *args, db_res *res, sg_error *err)
{
    return s->ops->exec(c, sql, n, args, res, err);
}

sg_status db_begin(sg_store *s, db_conn *c, sg_error *err)
{
    return s->ops->exec(c, s->ops->begin_sql, 0, NULL, NULL, err);
}

sg_status db_commit(sg_store *s, db_conn *c, sg_error *err)
{
    return s->ops->exec(c, "COMMIT", 0, NULL, NULL, err);
}

void db_rollback(sg_store *s, db_conn *c)
{
    s->ops->exec(c, "ROLLBACK", 0, NULL, NULL, NULL);
}

sg_status db_run(sg_store *s, const char *sql, int n, const db_arg *args, db_res *res, sg_error *err)
{
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    st = db_exec(s, c, sql, n, args, res, err);
    db_give(s, c);
    return st;
}

static bool has_prefix(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

sg_status sg_store_open(const char *url, sg_store **out, sg_error *err)
{
    *out = NULL;
    if (!url || !*url) return sg_fail(err, SG_ERR_INVALID, "store: empty database URL");
    sg_store *s = calloc(1, sizeof *s);
    if (!s) return sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
    if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
        s->kind = DB_PG;
        s->ops = &db_pg_ops;
        s->pool_max = DB_POOL_MAX;
    } else {
        if (has_prefix(url, "sqlite:")) url += strlen("sqlite:");
        if (!*url) {
            free(s);
            return sg_fail(err, SG_ERR_INVALID, "store: empty SQLite path");
        }
        s->kind = DB_SQLITE;
        s->ops = &db_sqlite_ops;
        s->pool_max = 1;
    }
    s->url = strdup(url);
    if (!s->url) {
        free(s);
        return sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    snprintf(s->actor, sizeof s->actor, "admin");
    sg_status st = store_migrate(s, err);
    if (st) {
        sg_store_close(s);
        return st;
    }
    *out = s;
    return SG_OK;
}

void sg_store_close(sg_store *s)
{
    if (!s) return;
    for (int i = 0; i < s->n_conns; i++) s->ops->disconnect(s->conns[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->url);
    free(s);
}

const char *sg_store_backend(const sg_store *s)
{
    return s->kind == DB_PG ? "postgresql" : "sqlite";
}

int sg_store_schema_version(sg_store *s)
{
    return s->version;
}

void sg_store_set_instance(sg_store *s, int64_t instance_id)
{
    pthread_mutex_lock(&s->mu);
    s->instance_id = instance_id;
    pthread_mutex_unlock(&s->mu);
}

void sg_store_set_actor(sg_store *s, const char *actor)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->actor, sizeof s->actor, "%s", actor && *actor ? actor : "admin");
    pthread_mutex_unlock(&s->mu);
}

void store_actor(sg_store *s, char *out, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    snprintf(out, cap, "%s", s->actor);
    pthread_mutex_unlock(&s->mu);
}
