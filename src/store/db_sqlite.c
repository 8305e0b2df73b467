/*
 * db_sqlite.c -- the SQLite backend of the store.
 *
 * The database is a local file in WAL mode with secure_delete on (deleted
 * rows are overwritten with zeros, in the main file and in the WAL), foreign
 * keys on, and a busy timeout so that several processes (a server and the
 * admin command) can share it. The file is created 0600: it holds key hashes
 * and people's conversations.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pull/pull.h"
#include "store/db.h"

struct db_conn {
    sqlite3 *db;
};

static sg_status sq_fail(sqlite3 *db, sg_error *err, const char *what)
{
    return sg_fail(err, SG_ERR_IO, "store: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static sg_status sq_connect(const char *path, db_conn **out, sg_error *err)
{
    sg_status st = cache_mkdirs_for(path, err);
    if (st) return st;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return sg_fail(err, SG_ERR_IO, "store: cannot open %s: %s", path, strerror(errno));
    close(fd);
    db_conn *c = calloc(1, sizeof *c);
    if (!c) return sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        sg_fail(err, SG_ERR_IO, "store: cannot open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return SG_ERR_IO;
    }
    sqlite3_busy_timeout(c->db, 10000);
    static const char *const pragmas[] = {
        "PRAGMA journal_mode=WAL", "PRAGMA secure_delete=ON", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL",
    };
    for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++) {
        char *msg = NULL;
        if (sqlite3_exec(c->db, pragmas[i], NULL, NULL, &msg) != SQLITE_OK) {
            sg_fail(err, SG_ERR_IO, "store: %s: %s: %s", path, pragmas[i], msg ? msg : "failed");
            sqlite3_free(msg);
            sqlite3_close(c->db);
            free(c);
            return SG_ERR_IO;
        }
    }
    *out = c;
    return SG_OK;
}

static void sq_disconnect(db_conn *c)
{
    if (!c) return;
    sqlite3_close(c->db);
    free(c);
}

static bool sq_healthy(db_conn *c)
{
    return c && c->db;
}

/* Appends one row of text cells to res (grows the array). */
static bool push_row(db_res *res, sqlite3_stmt *st, int nc)
{
    size_t need = (size_t)(res->nr + 1) * (size_t)nc;
    char **cells = realloc(res->cells, (need ? need : 1) * sizeof *cells);
    if (!cells) return false;
    res->cells = cells;
    for (int i = 0; i < nc; i++) {
        char **slot = &cells[(size_t)res->nr * (size_t)nc + (size_t)i];
        const unsigned char *t = sqlite3_column_text(st, i);
        if (!t) {
            *slot = NULL;
            continue;
        }
        int len = sqlite3_column_bytes(st, i);
        *slot = malloc((size_t)len + 1);
        if (!*slot) {
            for (int j = 0; j < i; j++) free(cells[(size_t)res->nr * (size_t)nc + (size_t)j]);
            return false;
        }
        memcpy(*slot, t, (size_t)len);
        (*slot)[len] = 0;
    }
    res->nr++;
    return true;
}

static sg_status sq_exec(db_conn *c, const char *sql, int n, const db_arg *args, db_res *res, sg_error *err)
{
    sqlite3_stmt *st = NULL;
    if (res) memset(res, 0, sizeof *res);
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) return sq_fail(c->db, err, "prepare");
    for (int i = 0; i < n; i++) {
        int rc;
        switch (args[i].t) {
        case DB_INT: rc = sqlite3_bind_int64(st, i + 1, args[i].i); break;
        case DB_TEXT: rc = sqlite3_bind_text(st, i + 1, args[i].s, -1, SQLITE_STATIC); break;
        default: rc = sqlite3_bind_null(st, i + 1); break;
        }
        if (rc != SQLITE_OK) {
            sg_status e = sq_fail(c->db, err, "bind");
            sqlite3_finalize(st);
            return e;
        }
    }
    int nc = sqlite3_column_count(st);
    if (res) res->nc = nc;
    sg_status ret = SG_OK;
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            if (res && nc > 0 && !push_row(res, st, nc)) {
                ret = sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
                break;
            }
            continue;
        }
        if (rc == SQLITE_DONE) break;
        if (rc == SQLITE_CONSTRAINT || sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_UNIQUE)
            ret = sg_fail(err, SG_ERR_INVALID, "store: %s", sqlite3_errmsg(c->db));
        else ret = sq_fail(c->db, err, "step");
        break;
    }
    if (res) res->changes = sqlite3_changes(c->db);
    sqlite3_finalize(st);
    if (ret && res) db_res_free(res);
    return ret;
}

const db_ops db_sqlite_ops = {
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .healthy = sq_healthy,
    .begin_sql = "BEGIN IMMEDIATE",
};
