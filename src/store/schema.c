/*
 * schema.c -- the store's schema and its versioned migrations.
 *
 * Migrations are numbered steps; each runs in one transaction that also
 * records the new version in schema_version, so a store is always at a
 * whole version. Opening runs the missing steps. A store whose version is
 * newer than this binary knows is refused with a clear error (an older
 * stargate must not write into a schema it does not understand).
 *
 * The SQL is shared by both engines; the only difference is the type of an
 * auto-numbered key, written @ID@ in the steps below and replaced per engine
 * (constant text; nothing from input enters the DDL).
 *
 * Tables (version 1):
 *   tenants       one per organisation of a deployment; name unique
 *   users         belong to one tenant; name unique within it
 *   api_keys      prefix (public, unique) + BLAKE2b-256 hash of the key,
 *                 owner, limits, revoked, created_at, last_used_at
 *   rate_buckets  requests per key per minute (rpm limits, shared by replicas)
 *   usage_daily   tokens and requests per key, user, deployment, UTC day
 *   conversations id "c_" + 32 hex, owner, deployment, title, times
 *   messages      role, content, reasoning, status, instance_id, created_at
 *   instances     running servers and their heartbeat
 *   audit_log     who did what to which, when
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

static const char *const MIGRATION_1[] = {
    "CREATE TABLE tenants (id @ID@, name TEXT NOT NULL UNIQUE, deployment TEXT, "
    "disabled INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL)",
    "CREATE TABLE users (id @ID@, tenant_id BIGINT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL, "
    "disabled INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, UNIQUE (tenant_id, name))",
    "CREATE TABLE api_keys (id @ID@, prefix TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, "
    "tenant_id BIGINT NOT NULL REFERENCES tenants(id), user_id BIGINT NOT NULL REFERENCES users(id), "
    "rpm INTEGER NOT NULL DEFAULT 0, tokens_per_day BIGINT NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0, "
    "created_at BIGINT NOT NULL, last_used_at BIGINT NOT NULL DEFAULT 0)",
    "CREATE INDEX api_keys_user ON api_keys (user_id)",
    "CREATE TABLE rate_buckets (key_id BIGINT NOT NULL REFERENCES api_keys(id), minute BIGINT NOT NULL, "
    "n INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (key_id, minute))",
    "CREATE TABLE usage_daily (key_id BIGINT NOT NULL REFERENCES api_keys(id), "
    "user_id BIGINT NOT NULL REFERENCES users(id), deployment TEXT NOT NULL, day BIGINT NOT NULL, "
    "prompt_tokens BIGINT NOT NULL DEFAULT 0, completion_tokens BIGINT NOT NULL DEFAULT 0, "
    "requests BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (key_id, user_id, deployment, day))",
    "CREATE INDEX usage_daily_user ON usage_daily (user_id)",
    "CREATE TABLE conversations (id TEXT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id), "
    "deployment TEXT, title TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
    "CREATE INDEX conversations_user ON conversations (user_id, updated_at)",
    "CREATE INDEX conversations_deployment ON conversations (deployment, updated_at)",
    "CREATE TABLE instances (id @ID@, started_at BIGINT NOT NULL, heartbeat BIGINT NOT NULL)",
    "CREATE TABLE messages (id @ID@, conv_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, "
    "role TEXT NOT NULL, content TEXT NOT NULL, reasoning TEXT, status INTEGER NOT NULL DEFAULT 0, "
    "instance_id BIGINT, created_at BIGINT NOT NULL)",
    "CREATE INDEX messages_conv ON messages (conv_id, id)",
    "CREATE INDEX messages_status ON messages (status)",
    "CREATE TABLE audit_log (id @ID@, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, "
    "target TEXT, detail TEXT)",
    NULL,
};

/* The steps in order: STEPS[v - 1] brings a store from version v - 1 to v. */
static const char *const *const STEPS[] = {MIGRATION_1};
_Static_assert(sizeof STEPS / sizeof STEPS[0] == STORE_SCHEMA_VERSION, "one step per schema version");

/* The DDL with @ID@ replaced by the engine's auto-numbered key type. */
static char *ddl_for(db_kind kind, const char *sql)
{
    const char *id = kind == DB_PG ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";
    size_t n = strlen(sql) + 1;
    for (const char *p = strstr(sql, "@ID@"); p; p = strstr(p + 4, "@ID@")) n += strlen(id);
    char *out = malloc(n);
    if (!out) return NULL;
    char *o = out;
    const char *p = sql;
    for (const char *q; (q = strstr(p, "@ID@")); p = q + 4) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, id, strlen(id));
        o += strlen(id);
    }
    strcpy(o, p);
    return out;
}

static sg_status read_version(sg_store *s, db_conn *c, int *v, sg_error *err)
{
    db_res r;
    sg_status st = db_exec(s, c, "SELECT max(version) FROM schema_version", 0, NULL, &r, err);
    if (st) return st;
    *v = r.nr > 0 && db_cell(&r, 0, 0) ? (int)db_i64(&r, 0, 0) : 0;
    db_res_free(&r);
    return SG_OK;
}

static sg_status too_new(sg_store *s, int v, sg_error *err)
{
    return sg_fail(err, SG_ERR_UNSUPPORTED,
                   "store %s has schema version %d, newer than this stargate knows (%d): upgrade stargate",
                   s->kind == DB_PG ? "(PostgreSQL)" : s->url, v, STORE_SCHEMA_VERSION);
}

/* One step inside a transaction; re-reads the version first so that two
 * processes migrating at once do each step once. */
static sg_status run_step(sg_store *s, db_conn *c, int to, sg_error *err)
{
    sg_status st = db_begin(s, c, err);
    if (st) return st;
    int v = 0;
    st = read_version(s, c, &v, err);
    if (!st && v > STORE_SCHEMA_VERSION) st = too_new(s, v, err);
    if (!st && v >= to) {
        db_rollback(s, c);
        return SG_OK;
    }
    for (const char *const *q = STEPS[to - 1]; !st && *q; q++) {
        char *ddl = ddl_for(s->kind, *q);
        if (!ddl) st = sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
        else st = db_exec(s, c, ddl, 0, NULL, NULL, err);
        free(ddl);
    }
    if (!st) st = db_exec(s, c, "DELETE FROM schema_version", 0, NULL, NULL, err);
    if (!st) st = db_exec(s, c, "INSERT INTO schema_version (version) VALUES (?)", 1, (db_arg[]){A_I(to)}, NULL, err);
    if (!st) st = db_commit(s, c, err);
    if (st) db_rollback(s, c);
    return st;
}

sg_status store_migrate(sg_store *s, sg_error *err)
{
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    /* replicas starting together migrate one at a time */
    if (s->kind == DB_PG) st = db_exec(s, c, "SELECT pg_advisory_lock(7418880001)", 0, NULL, NULL, err);
    if (!st)
        st = db_exec(s, c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", 0, NULL, NULL,
                     err);
    int v = 0;
    if (!st) st = read_version(s, c, &v, err);
    if (!st && v > STORE_SCHEMA_VERSION) st = too_new(s, v, err);
    for (int to = v + 1; !st && to <= STORE_SCHEMA_VERSION; to++) st = run_step(s, c, to, err);
    if (!st) st = read_version(s, c, &s->version, err);
    if (s->kind == DB_PG) db_exec(s, c, "SELECT pg_advisory_unlock(7418880001)", 0, NULL, NULL, NULL);
    db_give(s, c);
    return st;
}
