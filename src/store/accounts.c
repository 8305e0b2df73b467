/*
 * accounts.c -- tenants, users, API keys, usage and limits, the audit log.
 *
 * Keys: "sk-sg-" + 12 lowercase hex (the public prefix, unique, used to find
 * the row) + "_" + base64url of 32 random bytes. The store keeps only the
 * BLAKE2b-256 hash of the whole key (as hex); verification finds the row by
 * prefix and compares hashes with sodium_memcmp, in constant time.
 *
 * Limits live in the database so that replicas sharing a PostgreSQL store
 * share them: requests per minute are a row per key and minute, bumped by
 * a conditional UPDATE (atomic in both engines: the row is locked while it
 * is checked and changed); tokens per day are summed from usage_daily.
 *
 * Every change made here (tenants, users, keys) writes an audit entry in
 * the same transaction, with the actor set by sg_store_set_actor.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"

#define KEY_HEAD "sk-sg-"
#define KEY_PREFIX_LEN 18 /* "sk-sg-" + 12 hex */
#define KEY_SECRET_LEN 43 /* base64url, no padding, of 32 bytes */
#define KEY_LEN (KEY_PREFIX_LEN + 1 + KEY_SECRET_LEN)

static sg_status oom(sg_error *err)
{
    return sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
}

/* ------------------------------------------------------------ audit */

sg_status store_audit_on(sg_store *s, db_conn *c, const char *actor, const char *action, const char *target,
                         const char *detail, sg_error *err)
{
    char who[128];
    if (!actor) {
        store_actor(s, who, sizeof who);
        actor = who;
    }
    db_arg a[] = {A_I(store_now()), A_S(actor), A_S(action), A_S(target), A_S(detail)};
    return db_exec(s, c, "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)", 5, a,
                   NULL, err);
}

sg_status sg_store_audit(sg_store *s, const char *actor, const char *action, const char *target,
                         const char *detail, sg_error *err)
{
    if (!action || !*action) return sg_fail(err, SG_ERR_INVALID, "store: audit entry without an action");
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    st = store_audit_on(s, c, actor, action, target, detail, err);
    db_give(s, c);
    return st;
}

sg_status sg_store_audit_list(sg_store *s, int limit, sg_audit **out, int *n, sg_error *err)
{
    *out = NULL;
    *n = 0;
    if (limit <= 0) limit = 100;
    db_res r;
    sg_status st = db_run(s, "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?", 1,
                          (db_arg[]){A_I(limit)}, &r, err);
    if (st) return st;
    sg_audit *a = calloc(r.nr ? (size_t)r.nr : 1, sizeof *a);
    if (!a) {
        db_res_free(&r);
        return oom(err);
    }
    bool bad = false;
    for (int i = 0; i < r.nr; i++) {
        a[i].id = db_i64(&r, i, 0);
        a[i].at = db_i64(&r, i, 1);
        a[i].actor = db_dup(&r, i, 2, &bad);
        a[i].action = db_dup(&r, i, 3, &bad);
        a[i].target = db_dup(&r, i, 4, &bad);
        a[i].detail = db_dup(&r, i, 5, &bad);
    }
    int nr = r.nr;
    db_res_free(&r);
    if (bad) {
        sg_audit_list_free(a, nr);
        return oom(err);
    }
    *out = a;
    *n = nr;
    return SG_OK;
}

void sg_audit_list_free(sg_audit *a, int n)
{
    if (!a) return;
    for (int i = 0; i < n; i++) {
        free(a[i].actor);
        free(a[i].action);
        free(a[i].target);
        free(a[i].detail);
    }
    free(a);
}

/* One changing statement and its audit entry in one transaction. SG_ERR_MISSING
 * (with `missing` as the message) when the statement changed no row. */
static sg_status change_audited(sg_store *s, const char *sql, int n, const db_arg *args, int64_t *returned_id,
                                const char *action, const char *target, const char *detail, const char *missing,
                                sg_error *err)
{
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    st = db_begin(s, c, err);
    if (st) {
        db_give(s, c);
        return st;
    }
    db_res r;
    st = db_exec(s, c, sql, n, args, &r, err);
    if (!st) {
        if (r.changes == 0) st = sg_fail(err, SG_ERR_MISSING, "%s", missing);
        else if (returned_id) *returned_id = db_i64(&r, 0, 0);
        db_res_free(&r);
    }
    if (!st) st = store_audit_on(s, c, NULL, action, target, detail, err);
    if (!st) st = db_commit(s, c, err);
    if (st) db_rollback(s, c);
    db_give(s, c);
    return st;
}

/* ---------------------------------------------------------- tenants */

#define TENANT_COLS "id, name, deployment, disabled, created_at"

static bool fill_tenant(const db_res *r, int i, sg_tenant *t)
{
    bool bad = false;
    t->id = db_i64(r, i, 0);
    t->name = db_dup(r, i, 1, &bad);
    t->deployment = db_dup(r, i, 2, &bad);
    t->disabled = db_i64(r, i, 3) != 0;
    t->created_at = db_i64(r, i, 4);
    return !bad;
}

void sg_tenant_free(sg_tenant *t)
{
    if (!t) return;
    free(t->name);
    free(t->deployment);
    t->name = t->deployment = NULL;
}

void sg_tenant_list_free(sg_tenant *t, int n)
{
    if (!t) return;
    for (int i = 0; i < n; i++) sg_tenant_free(&t[i]);
    free(t);
}

static sg_status check_deployment(const char *deployment, sg_error *err)
{
    if (deployment && !store_valid_name(deployment))
        return sg_fail(err, SG_ERR_INVALID, "deployment id '%.80s' must be 1..64 characters of [A-Za-z0-9._-]",
                       deployment);
    return SG_OK;
}

sg_status sg_store_tenant_create(sg_store *s, const char *name, const char *deployment, int64_t *id, sg_error *err)
{
    if (!store_valid_name(name))
        return sg_fail(err, SG_ERR_INVALID, "tenant name '%.80s' must be 1..64 characters of [A-Za-z0-9._-]",
                       name ? name : "");
    sg_status st = check_deployment(deployment, err);
    if (st) return st;
    db_arg a[] = {A_S(name), A_S(deployment), A_I(store_now())};
    char detail[160];
    snprintf(detail, sizeof detail, "deployment=%s", deployment ? deployment : "-");
    int64_t nid = 0;
    st = change_audited(s, "INSERT INTO tenants (name, deployment, disabled, created_at) VALUES (?, ?, 0, ?) RETURNING id",
                        3, a, &nid, "tenant.create", name, detail, "tenant not created", err);
    if (st == SG_ERR_INVALID) return sg_fail(err, SG_ERR_INVALID, "tenant '%s' already exists", name);
    if (!st && id) *id = nid;
    return st;
}

static sg_status tenant_get_where(sg_store *s, const char *sql, db_arg a, sg_tenant *out, const char *what,
                                  sg_error *err)
{
    memset(out, 0, sizeof *out);
    db_res r;
    sg_status st = db_run(s, sql, 1, &a, &r, err);
    if (st) return st;
    if (r.nr == 0) st = sg_fail(err, SG_ERR_MISSING, "no tenant %s", what);
    else if (!fill_tenant(&r, 0, out)) {
        sg_tenant_free(out);
        st = oom(err);
    }
    db_res_free(&r);
    return st;
}

sg_status sg_store_tenant_get(sg_store *s, const char *name, sg_tenant *out, sg_error *err)
{
    char what[100];
    snprintf(what, sizeof what, "'%.80s'", name ? name : "");
    if (!name) return sg_fail(err, SG_ERR_INVALID, "no tenant name");
    return tenant_get_where(s, "SELECT " TENANT_COLS " FROM tenants WHERE name = ?", A_S(name), out, what, err);
}

sg_status sg_store_tenant_get_id(sg_store *s, int64_t id, sg_tenant *out, sg_error *err)
{
    char what[40];
    snprintf(what, sizeof what, "with id %" PRId64, id);
    return tenant_get_where(s, "SELECT " TENANT_COLS " FROM tenants WHERE id = ?", A_I(id), out, what, err);
}

sg_status sg_store_tenant_list(sg_store *s, sg_tenant **out, int *n, sg_error *err)
{
    *out = NULL;
    *n = 0;
    db_res r;
    sg_status st = db_run(s, "SELECT " TENANT_COLS " FROM tenants ORDER BY name", 0, NULL, &r, err);
    if (st) return st;
    sg_tenant *t = calloc(r.nr ? (size_t)r.nr : 1, sizeof *t);
    bool ok = t != NULL;
    for (int i = 0; ok && i < r.nr; i++) ok = fill_tenant(&r, i, &t[i]);
    int nr = r.nr;
    db_res_free(&r);
    if (!ok) {
        sg_tenant_list_free(t, nr);
        return oom(err);
    }
    *out = t;
    *n = nr;
    return SG_OK;
}

sg_status sg_store_tenant_set_disabled(sg_store *s, const char *name, bool disabled, sg_error *err)
{
    if (!name) return sg_fail(err, SG_ERR_INVALID, "no tenant name");
    char missing[100];
    snprintf(missing, sizeof missing, "no tenant '%.80s'", name);
    db_arg a[] = {A_I(disabled ? 1 : 0), A_S(name)};
    return change_audited(s, "UPDATE tenants SET disabled = ? WHERE name = ?", 2, a, NULL,
                          disabled ? "tenant.disable" : "tenant.enable", name, NULL, missing, err);
}

sg_status sg_store_tenant_set_deployment(sg_store *s, const char *name, const char *deployment, sg_error *err)
{
    if (!name) return sg_fail(err, SG_ERR_INVALID, "no tenant name");
    sg_status st = check_deployment(deployment, err);
    if (st) return st;
    char missing[100], detail[160];
    snprintf(missing, sizeof missing, "no tenant '%.80s'", name);
    snprintf(detail, sizeof detail, "deployment=%s", deployment ? deployment : "-");
    db_arg a[] = {A_S(deployment), A_S(name)};
    return change_audited(s, "UPDATE tenants SET deployment = ? WHERE name = ?", 2, a, NULL, "tenant.set_deployment",
                          name, detail, missing, err);
}

/* ------------------------------------------------------------ users */

#define USER_COLS "u.id, u.tenant_id, u.name, u.disabled, u.created_at"

static bool fill_user(const db_res *r, int i, sg_user *u)
{
    bool bad = false;
    u->id = db_i64(r, i, 0);
    u->tenant_id = db_i64(r, i, 1);
    u->name = db_dup(r, i, 2, &bad);
    u->disabled = db_i64(r, i, 3) != 0;
    u->created_at = db_i64(r, i, 4);
    return !bad;
}

void sg_user_free(sg_user *u)
{
    if (!u) return;
    free(u->name);
    u->name = NULL;
}

void sg_user_list_free(sg_user *u, int n)
{
    if (!u) return;
    for (int i = 0; i < n; i++) sg_user_free(&u[i]);
    free(u);
}

static sg_status tenant_id_of(sg_store *s, db_conn *c, const char *tenant, int64_t *id, sg_error *err)
{
    if (!tenant) return sg_fail(err, SG_ERR_INVALID, "no tenant name");
    db_res r;
    sg_status st = db_exec(s, c, "SELECT id FROM tenants WHERE name = ?", 1, (db_arg[]){A_S(tenant)}, &r, err);
    if (st) return st;
    if (r.nr == 0) st = sg_fail(err, SG_ERR_MISSING, "no tenant '%.80s'", tenant);
    else *id = db_i64(&r, 0, 0);
    db_res_free(&r);
    return st;
}

sg_status sg_store_user_create(sg_store *s, const char *tenant, const char *name, int64_t *id, sg_error *err)
{
    if (!store_valid_name(name))
        return sg_fail(err, SG_ERR_INVALID, "user name '%.80s' must be 1..64 characters of [A-Za-z0-9._-]",
                       name ? name : "");
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    int64_t tid = 0, uid = 0;
    st = db_begin(s, c, err);
    if (!st) {
        st = tenant_id_of(s, c, tenant, &tid, err);
        db_res r;
        if (!st) {
            st = db_exec(s, c, "INSERT INTO users (tenant_id, name, disabled, created_at) VALUES (?, ?, 0, ?) RETURNING id",
                         3, (db_arg[]){A_I(tid), A_S(name), A_I(store_now())}, &r, err);
            if (st == SG_ERR_INVALID) sg_fail(err, st, "user '%s' already exists in tenant '%s'", name, tenant);
            if (!st) {
                uid = db_i64(&r, 0, 0);
                db_res_free(&r);
            }
        }
        char target[48], detail[120];
        snprintf(target, sizeof target, "user:%" PRId64, uid);
        snprintf(detail, sizeof detail, "tenant=%.80s", tenant);
        if (!st) st = store_audit_on(s, c, NULL, "user.create", target, detail, err);
        if (!st) st = db_commit(s, c, err);
        if (st) db_rollback(s, c);
    }
    db_give(s, c);
    if (!st && id) *id = uid;
    return st;
}

sg_status sg_store_user_get(sg_store *s, const char *tenant, const char *name, sg_user *out, sg_error *err)
{
    memset(out, 0, sizeof *out);
    if (!tenant || !name) return sg_fail(err, SG_ERR_INVALID, "no tenant or user name");
    db_res r;
    sg_status st = db_run(s,
                          "SELECT " USER_COLS " FROM users u JOIN tenants t ON t.id = u.tenant_id "
                          "WHERE t.name = ? AND u.name = ?",
                          2, (db_arg[]){A_S(tenant), A_S(name)}, &r, err);
    if (st) return st;
    if (r.nr == 0) st = sg_fail(err, SG_ERR_MISSING, "no user '%.80s' in tenant '%.80s'", name, tenant);
    else if (!fill_user(&r, 0, out)) {
        sg_user_free(out);
        st = oom(err);
    }
    db_res_free(&r);
    return st;
}

sg_status sg_store_user_list(sg_store *s, const char *tenant, sg_user **out, int *n, sg_error *err)
{
    *out = NULL;
    *n = 0;
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    int64_t tid = 0;
    db_res r = {0};
    st = tenant_id_of(s, c, tenant, &tid, err);
    if (!st)
        st = db_exec(s, c, "SELECT " USER_COLS " FROM users u WHERE u.tenant_id = ? ORDER BY u.name", 1,
                     (db_arg[]){A_I(tid)}, &r, err);
    db_give(s, c);
    if (st) return st;
    sg_user *u = calloc(r.nr ? (size_t)r.nr : 1, sizeof *u);
    bool ok = u != NULL;
    for (int i = 0; ok && i < r.nr; i++) ok = fill_user(&r, i, &u[i]);
    int nr = r.nr;
    db_res_free(&r);
    if (!ok) {
        sg_user_list_free(u, nr);
        return oom(err);
    }
    *out = u;
    *n = nr;
    return SG_OK;
}

sg_status sg_store_user_set_disabled(sg_store *s, const char *tenant, const char *name, bool disabled,
                                     sg_error *err)
{
    sg_user u;
    sg_status st = sg_store_user_get(s, tenant, name, &u, err);
    if (st) return st;
    char missing[200], target[48];
    snprintf(missing, sizeof missing, "no user '%.80s' in tenant '%.80s'", name, tenant);
    snprintf(target, sizeof target, "user:%" PRId64, u.id);
    db_arg a[] = {A_I(disabled ? 1 : 0), A_I(u.id)};
    sg_user_free(&u);
    return change_audited(s, "UPDATE users SET disabled = ? WHERE id = ?", 2, a, NULL,
                          disabled ? "user.disable" : "user.enable", target, NULL, missing, err);
}

/* ------------------------------------------------------------- keys */

#define KEY_COLS                                                                                                    \
    "k.id, k.prefix, k.tenant_id, k.user_id, t.name, u.name, k.revoked, t.disabled, u.disabled, k.rpm, "           \
    "k.tokens_per_day, k.created_at, k.last_used_at, k.hash "                                                       \
    "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.user_id "

static bool fill_key(const db_res *r, int i, sg_key_info *k)
{
    bool bad = false;
    memset(k, 0, sizeof *k);
    k->id = db_i64(r, i, 0);
    k->prefix = db_dup(r, i, 1, &bad);
    k->tenant_id = db_i64(r, i, 2);
    k->user_id = db_i64(r, i, 3);
    k->tenant = db_dup(r, i, 4, &bad);
    k->user = db_dup(r, i, 5, &bad);
    k->revoked = db_i64(r, i, 6) != 0;
    k->disabled = db_i64(r, i, 7) != 0 || db_i64(r, i, 8) != 0;
    k->lim.rpm = (int)db_i64(r, i, 9);
    k->lim.tokens_per_day = db_i64(r, i, 10);
    k->created_at = db_i64(r, i, 11);
    k->last_used_at = db_i64(r, i, 12);
    return !bad;
}

void sg_key_info_free(sg_key_info *k)
{
    if (!k) return;
    free(k->prefix);
    free(k->tenant);
    free(k->user);
    k->prefix = k->tenant = k->user = NULL;
}

void sg_key_list_free(sg_key_info *k, int n)
{
    if (!k) return;
    for (int i = 0; i < n; i++) sg_key_info_free(&k[i]);
    free(k);
}

/* BLAKE2b-256 of the whole key, as 64 hex characters. */
static void key_hash_hex(const char *key, char hex[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)key, strlen(key), NULL, 0);
    sodium_bin2hex(hex, 65, h, sizeof h);
    sodium_memzero(h, sizeof h);
}

static sg_status key_by_id(sg_store *s, int64_t id, sg_key_info *out, sg_error *err)
{
    db_res r;
    sg_status st = db_run(s, "SELECT " KEY_COLS "WHERE k.id = ?", 1, (db_arg[]){A_I(id)}, &r, err);
    if (st) return st;
    if (r.nr == 0) st = sg_fail(err, SG_ERR_MISSING, "no key with id %" PRId64, id);
    else if (!fill_key(&r, 0, out)) {
        sg_key_info_free(out);
        st = oom(err);
    }
    db_res_free(&r);
    return st;
}

sg_status sg_store_key_create(sg_store *s, const char *tenant, const char *user, const sg_key_limits *lim,
                              char key_out[SG_KEY_MAX], sg_key_info *info, sg_error *err)
{
    if (sodium_init() < 0) return sg_fail(err, SG_ERR_IO, "store: libsodium failed to initialise");
    sg_key_limits l = lim ? *lim : (sg_key_limits){0, 0};
    if (l.rpm < 0 || l.tokens_per_day < 0) return sg_fail(err, SG_ERR_INVALID, "key limits must be >= 0");
    if (user && !store_valid_name(user))
        return sg_fail(err, SG_ERR_INVALID, "user name '%.80s' must be 1..64 characters of [A-Za-z0-9._-]", user);
    const char *uname = user ? user : "default";

    /* the key: 6 random bytes of prefix, 32 of secret */
    unsigned char pre[6], sec[32];
    randombytes_buf(pre, sizeof pre);
    randombytes_buf(sec, sizeof sec);
    char key[SG_KEY_MAX], hexpre[13], b64[KEY_SECRET_LEN + 1], hash[65];
    sodium_bin2hex(hexpre, sizeof hexpre, pre, sizeof pre);
    sodium_bin2base64(b64, sizeof b64, sec, sizeof sec, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(key, sizeof key, KEY_HEAD "%s_%s", hexpre, b64);
    char prefix[KEY_PREFIX_LEN + 1];
    memcpy(prefix, key, KEY_PREFIX_LEN);
    prefix[KEY_PREFIX_LEN] = 0;
    key_hash_hex(key, hash);
    sodium_memzero(sec, sizeof sec);
    sodium_memzero(b64, sizeof b64);

    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) {
        sodium_memzero(key, sizeof key);
        return st;
    }
    int64_t tid = 0, uid = 0, kid = 0;
    db_res r;
    st = db_begin(s, c, err);
    if (st) goto out;
    st = tenant_id_of(s, c, tenant, &tid, err);
    if (!st && !user)
        st = db_exec(s, c,
                     "INSERT INTO users (tenant_id, name, disabled, created_at) VALUES (?, 'default', 0, ?) "
                     "ON CONFLICT (tenant_id, name) DO NOTHING",
                     2, (db_arg[]){A_I(tid), A_I(store_now())}, NULL, err);
    if (!st) {
        st = db_exec(s, c, "SELECT id FROM users WHERE tenant_id = ? AND name = ?", 2,
                     (db_arg[]){A_I(tid), A_S(uname)}, &r, err);
        if (!st) {
            if (r.nr == 0) st = sg_fail(err, SG_ERR_MISSING, "no user '%.80s' in tenant '%.80s'", uname, tenant);
            else uid = db_i64(&r, 0, 0);
            db_res_free(&r);
        }
    }
    if (!st) {
        db_arg a[] = {A_S(prefix), A_S(hash), A_I(tid), A_I(uid), A_I(l.rpm), A_I(l.tokens_per_day), A_I(store_now())};
        st = db_exec(s, c,
                     "INSERT INTO api_keys (prefix, hash, tenant_id, user_id, rpm, tokens_per_day, revoked, created_at, "
                     "last_used_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, 0) RETURNING id",
                     7, a, &r, err);
        if (!st) {
            kid = db_i64(&r, 0, 0);
            db_res_free(&r);
        }
    }
    if (!st) {
        char detail[240];
        snprintf(detail, sizeof detail, "tenant=%.80s user:%" PRId64 " rpm=%d tokens_per_day=%" PRId64, tenant, uid,
                 l.rpm, l.tokens_per_day);
        st = store_audit_on(s, c, NULL, "key.create", prefix, detail, err);
    }
    if (!st) st = db_commit(s, c, err);
    if (st) db_rollback(s, c);
out:
    db_give(s, c);
    if (!st && info) st = key_by_id(s, kid, info, err);
    if (!st) memcpy(key_out, key, sizeof key);
    sodium_memzero(key, sizeof key);
    return st;
}

sg_status sg_store_key_list(sg_store *s, const char *tenant, sg_key_info **out, int *n, sg_error *err)
{
    *out = NULL;
    *n = 0;
    db_res r;
    sg_status st;
    if (tenant) {
        sg_tenant t;
        st = sg_store_tenant_get(s, tenant, &t, err);
        if (st) return st;
        sg_tenant_free(&t);
        st = db_run(s, "SELECT " KEY_COLS "WHERE t.name = ? ORDER BY k.id", 1, (db_arg[]){A_S(tenant)}, &r, err);
    } else {
        st = db_run(s, "SELECT " KEY_COLS "ORDER BY k.id", 0, NULL, &r, err);
    }
    if (st) return st;
    sg_key_info *k = calloc(r.nr ? (size_t)r.nr : 1, sizeof *k);
    bool ok = k != NULL;
    for (int i = 0; ok && i < r.nr; i++) ok = fill_key(&r, i, &k[i]);
    int nr = r.nr;
    db_res_free(&r);
    if (!ok) {
        sg_key_list_free(k, nr);
        return oom(err);
    }
    *out = k;
    *n = nr;
    return SG_OK;
}

static bool is_hex_lower(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return false;
    return true;
}

sg_status sg_store_key_revoke(sg_store *s, const char *which, sg_error *err)
{
    if (!which || !*which) return sg_fail(err, SG_ERR_INVALID, "which key? (a prefix sk-sg-... or an id)");
    char prefix[KEY_PREFIX_LEN + 1];
    size_t n = strlen(which);
    if (!strncmp(which, KEY_HEAD, strlen(KEY_HEAD))) {
        /* a prefix, or a whole key (then only its prefix is used) */
        if (n < KEY_PREFIX_LEN || !is_hex_lower(which + 6, 12) || (n > KEY_PREFIX_LEN && which[KEY_PREFIX_LEN] != '_'))
            return sg_fail(err, SG_ERR_INVALID, "'%.24s' is not a key prefix (sk-sg- and 12 hex digits)", which);
        memcpy(prefix, which, KEY_PREFIX_LEN);
        prefix[KEY_PREFIX_LEN] = 0;
        char missing[80];
        snprintf(missing, sizeof missing, "no key %s", prefix);
        return change_audited(s, "UPDATE api_keys SET revoked = 1 WHERE prefix = ?", 1, (db_arg[]){A_S(prefix)},
                              NULL, "key.revoke", prefix, NULL, missing, err);
    }
    char *end;
    long long id = strtoll(which, &end, 10);
    if (*end || id <= 0) return sg_fail(err, SG_ERR_INVALID, "'%.24s' is neither a key prefix nor a key id", which);
    sg_key_info k;
    sg_status st = key_by_id(s, id, &k, err);
    if (st) return st;
    snprintf(prefix, sizeof prefix, "%s", k.prefix);
    sg_key_info_free(&k);
    char missing[80];
    snprintf(missing, sizeof missing, "no key with id %lld", id);
    return change_audited(s, "UPDATE api_keys SET revoked = 1 WHERE id = ?", 1, (db_arg[]){A_I(id)}, NULL,
                          "key.revoke", prefix, NULL, missing, err);
}

sg_status sg_store_key_verify(sg_store *s, const char *presented, sg_key_info *out, sg_error *err)
{
    memset(out, 0, sizeof *out);
    const sg_status no = SG_ERR_MISSING;
    if (!presented || strlen(presented) != KEY_LEN || strncmp(presented, KEY_HEAD, strlen(KEY_HEAD)) ||
        !is_hex_lower(presented + 6, 12) || presented[KEY_PREFIX_LEN] != '_')
        return sg_fail(err, no, "invalid API key");
    char prefix[KEY_PREFIX_LEN + 1];
    memcpy(prefix, presented, KEY_PREFIX_LEN);
    prefix[KEY_PREFIX_LEN] = 0;
    db_res r;
    sg_status st = db_run(s, "SELECT " KEY_COLS "WHERE k.prefix = ?", 1, (db_arg[]){A_S(prefix)}, &r, err);
    if (st) return st;
    char hash[65];
    key_hash_hex(presented, hash);
    unsigned char want[32], got[32];
    size_t wl = 0;
    const char *stored = r.nr ? db_cell(&r, 0, 13) : NULL;
    bool match = stored && sodium_hex2bin(want, sizeof want, stored, strlen(stored), NULL, &wl, NULL) == 0 &&
                 wl == sizeof want && sodium_hex2bin(got, sizeof got, hash, 64, NULL, &wl, NULL) == 0 &&
                 sodium_memcmp(want, got, sizeof want) == 0;
    if (!match) {
        db_res_free(&r);
        return sg_fail(err, no, "invalid API key");
    }
    if (!fill_key(&r, 0, out)) {
        db_res_free(&r);
        sg_key_info_free(out);
        return oom(err);
    }
    db_res_free(&r);
    if (out->revoked || out->disabled) {
        sg_key_info_free(out);
        return sg_fail(err, no, "invalid API key");
    }
    /* last use, at most once a minute per key: a read-only check first */
    int64_t now = store_now();
    if (now - out->last_used_at >= 60) {
        if (db_run(s, "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND last_used_at < ?", 3,
                   (db_arg[]){A_I(now), A_I(out->id), A_I(now - 59)}, NULL, NULL) == SG_OK)
            out->last_used_at = now;
    }
    return SG_OK;
}

sg_status sg_store_has_keys(sg_store *s, bool *yes, sg_error *err)
{
    db_res r;
    sg_status st = db_run(s, "SELECT id FROM api_keys LIMIT 1", 0, NULL, &r, err);
    if (st) return st;
    *yes = r.nr > 0;
    db_res_free(&r);
    return SG_OK;
}

/* ------------------------------------------------- usage and limits */

static int64_t utc_day(int64_t t)
{
    return t >= 0 ? t / 86400 : (t - 86399) / 86400;
}

sg_status sg_store_limit_take(sg_store *s, const sg_key_info *k, int64_t now, int *retry_after, sg_error *err)
{
    if (retry_after) *retry_after = 0;
    if (!k) return sg_fail(err, SG_ERR_INVALID, "no key");
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    if (k->lim.tokens_per_day > 0) {
        db_res r;
        st = db_exec(s, c,
                     "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM usage_daily "
                     "WHERE key_id = ? AND day = ?",
                     2, (db_arg[]){A_I(k->id), A_I(utc_day(now))}, &r, err);
        if (!st) {
            int64_t used = db_i64(&r, 0, 0);
            db_res_free(&r);
            if (used >= k->lim.tokens_per_day) {
                db_give(s, c);
                if (retry_after) *retry_after = (int)((utc_day(now) + 1) * 86400 - now);
                return sg_fail(err, SG_ERR_INVALID, "the key's token quota of the day (%" PRId64 ") is used up",
                               k->lim.tokens_per_day);
            }
        }
    }
    if (!st && k->lim.rpm > 0) {
        int64_t minute = now >= 0 ? now / 60 : (now - 59) / 60;
        db_res r;
        st = db_exec(s, c, "INSERT INTO rate_buckets (key_id, minute, n) VALUES (?, ?, 0) ON CONFLICT (key_id, minute) "
                     "DO NOTHING",
                     2, (db_arg[]){A_I(k->id), A_I(minute)}, &r, err);
        bool fresh = !st && r.changes > 0;
        if (!st) db_res_free(&r);
        if (fresh) /* a new minute: forget the old ones */
            st = db_exec(s, c, "DELETE FROM rate_buckets WHERE key_id = ? AND minute < ?", 2,
                         (db_arg[]){A_I(k->id), A_I(minute - 1)}, NULL, err);
        if (!st) {
            /* atomic: the row is locked while n is checked and bumped */
            st = db_exec(s, c, "UPDATE rate_buckets SET n = n + 1 WHERE key_id = ? AND minute = ? AND n < ?", 3,
                         (db_arg[]){A_I(k->id), A_I(minute), A_I(k->lim.rpm)}, &r, err);
            bool full = !st && r.changes == 0;
            if (!st) db_res_free(&r);
            if (full) {
                db_give(s, c);
                if (retry_after) *retry_after = (int)((minute + 1) * 60 - now);
                return sg_fail(err, SG_ERR_INVALID, "the key's limit of %d requests per minute is reached", k->lim.rpm);
            }
        }
    }
    db_give(s, c);
    return st;
}

sg_status sg_store_usage_add(sg_store *s, const sg_key_info *k, const char *deployment, int prompt_tokens,
                             int completion_tokens, int64_t now, sg_error *err)
{
    if (!k) return sg_fail(err, SG_ERR_INVALID, "no key");
    if (prompt_tokens < 0 || completion_tokens < 0) return sg_fail(err, SG_ERR_INVALID, "negative token counts");
    db_arg a[] = {A_I(k->id),          A_I(k->user_id),         A_S(deployment ? deployment : ""),
                  A_I(utc_day(now)), A_I(prompt_tokens), A_I(completion_tokens)};
    return db_run(s,
                  "INSERT INTO usage_daily (key_id, user_id, deployment, day, prompt_tokens, completion_tokens, "
                  "requests) VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (key_id, user_id, deployment, day) DO UPDATE SET "
                  "prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens, "
                  "completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens, "
                  "requests = usage_daily.requests + 1",
                  6, a, NULL, err);
}
