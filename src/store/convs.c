/*
 * convs.c -- conversations and messages, server instances and the sweep of
 * interrupted answers, and people's rights (export, erase, retention).
 *
 * Ownership: every statement on a conversation or a message carries the
 * owner's user id in its WHERE clause, so a row of another user is simply
 * not found (SG_ERR_MISSING), exactly as a row that does not exist.
 *
 * A message being generated is written first with status STREAMING and the
 * id of the server instance generating it; sg_store_msg_finish writes the
 * final text. When a server dies, its heartbeat stops and the sweep marks
 * its streaming messages INTERRUPTED (never those of a live replica).
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/db.h"

static sg_status oom(sg_error *err)
{
    return sg_fail(err, SG_ERR_NOMEM, "store: out of memory");
}

static sg_status no_conv(sg_error *err, const char *id)
{
    return sg_fail(err, SG_ERR_MISSING, "no conversation '%.40s'", id ? id : "");
}

/* ----------------------------------------------------- conversations */

#define CONV_COLS "id, user_id, deployment, title, created_at, updated_at"

static bool fill_conv(const db_res *r, int i, sg_conv *c)
{
    bool bad = false;
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", db_cell(r, i, 0) ? db_cell(r, i, 0) : "");
    c->user_id = db_i64(r, i, 1);
    c->deployment = db_dup(r, i, 2, &bad);
    c->title = db_dup(r, i, 3, &bad);
    c->created_at = db_i64(r, i, 4);
    c->updated_at = db_i64(r, i, 5);
    return !bad;
}

void sg_conv_free(sg_conv *c)
{
    if (!c) return;
    free(c->deployment);
    free(c->title);
    c->deployment = c->title = NULL;
}

void sg_conv_list_free(sg_conv *c, int n)
{
    if (!c) return;
    for (int i = 0; i < n; i++) sg_conv_free(&c[i]);
    free(c);
}

void sg_msg_list_free(sg_msg *m, int n)
{
    if (!m) return;
    for (int i = 0; i < n; i++) {
        free(m[i].role);
        free(m[i].content);
        free(m[i].reasoning);
    }
    free(m);
}

sg_status sg_store_conv_create(sg_store *s, int64_t user_id, const char *deployment, const char *title,
                               char id_out[SG_CONV_ID_MAX], sg_error *err)
{
    if (sodium_init() < 0) return sg_fail(err, SG_ERR_IO, "store: libsodium failed to initialise");
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    char id[SG_CONV_ID_MAX] = "c_";
    sodium_bin2hex(id + 2, sizeof id - 2, rnd, sizeof rnd);
    int64_t now = store_now();
    db_res r;
    sg_status st = db_run(s, "SELECT id FROM users WHERE id = ?", 1, (db_arg[]){A_I(user_id)}, &r, err);
    if (st) return st;
    bool exists = r.nr > 0;
    db_res_free(&r);
    if (!exists) return sg_fail(err, SG_ERR_MISSING, "no user with id %" PRId64, user_id);
    db_arg a[] = {A_S(id), A_I(user_id), A_S(deployment), A_S(title), A_I(now), A_I(now)};
    st = db_run(s, "INSERT INTO conversations (" CONV_COLS ") VALUES (?, ?, ?, ?, ?, ?)", 6, a, NULL, err);
    if (st) return st;
    memcpy(id_out, id, SG_CONV_ID_MAX);
    return SG_OK;
}

sg_status sg_store_conv_list(sg_store *s, int64_t user_id, sg_conv **out, int *n, sg_error *err)
{
    *out = NULL;
    *n = 0;
    db_res r;
    sg_status st = db_run(s, "SELECT " CONV_COLS " FROM conversations WHERE user_id = ? ORDER BY updated_at DESC, "
                          "created_at DESC, id DESC",
                          1, (db_arg[]){A_I(user_id)}, &r, err);
    if (st) return st;
    sg_conv *c = calloc(r.nr ? (size_t)r.nr : 1, sizeof *c);
    bool ok = c != NULL;
    for (int i = 0; ok && i < r.nr; i++) ok = fill_conv(&r, i, &c[i]);
    int nr = r.nr;
    db_res_free(&r);
    if (!ok) {
        sg_conv_list_free(c, nr);
        return oom(err);
    }
    *out = c;
    *n = nr;
    return SG_OK;
}

sg_status sg_store_conv_get(sg_store *s, int64_t user_id, const char *conv_id, sg_conv *out, sg_msg **msgs,
                            int *n_msgs, sg_error *err)
{
    memset(out, 0, sizeof *out);
    if (msgs) *msgs = NULL;
    if (n_msgs) *n_msgs = 0;
    if (!conv_id) return no_conv(err, "");
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    db_res r, m = {0};
    st = db_exec(s, c, "SELECT " CONV_COLS " FROM conversations WHERE id = ? AND user_id = ?", 2,
                 (db_arg[]){A_S(conv_id), A_I(user_id)}, &r, err);
    if (!st && r.nr == 0) {
        db_res_free(&r);
        st = no_conv(err, conv_id);
    }
    if (!st && msgs)
        st = db_exec(s, c, "SELECT id, role, content, reasoning, status, created_at FROM messages WHERE conv_id = ? "
                     "ORDER BY id",
                     1, (db_arg[]){A_S(conv_id)}, &m, err);
    db_give(s, c);
    if (st) {
        db_res_free(&r);
        return st;
    }
    bool ok = fill_conv(&r, 0, out);
    db_res_free(&r);
    if (ok && msgs) {
        sg_msg *v = calloc(m.nr ? (size_t)m.nr : 1, sizeof *v);
        ok = v != NULL;
        bool bad = false;
        for (int i = 0; ok && i < m.nr; i++) {
            v[i].id = db_i64(&m, i, 0);
            v[i].role = db_dup(&m, i, 1, &bad);
            v[i].content = db_dup(&m, i, 2, &bad);
            v[i].reasoning = db_dup(&m, i, 3, &bad);
            v[i].status = (sg_msg_status)db_i64(&m, i, 4);
            v[i].created_at = db_i64(&m, i, 5);
        }
        if (bad) {
            sg_msg_list_free(v, m.nr);
            ok = false;
        } else if (ok) {
            *msgs = v;
            if (n_msgs) *n_msgs = m.nr;
        }
    }
    db_res_free(&m);
    if (!ok) {
        sg_conv_free(out);
        return oom(err);
    }
    return SG_OK;
}

sg_status sg_store_conv_rename(sg_store *s, int64_t user_id, const char *conv_id, const char *title, sg_error *err)
{
    if (!conv_id) return no_conv(err, "");
    db_res r;
    sg_status st = db_run(s, "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ? AND user_id = ?", 4,
                          (db_arg[]){A_S(title), A_I(store_now()), A_S(conv_id), A_I(user_id)}, &r, err);
    if (st) return st;
    bool found = r.changes > 0;
    db_res_free(&r);
    return found ? SG_OK : no_conv(err, conv_id);
}

sg_status sg_store_conv_delete(sg_store *s, int64_t user_id, const char *conv_id, sg_error *err)
{
    if (!conv_id) return no_conv(err, "");
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    st = db_begin(s, c, err);
    if (!st) {
        db_arg a[] = {A_S(conv_id), A_I(user_id)};
        st = db_exec(s, c, "DELETE FROM messages WHERE conv_id IN (SELECT id FROM conversations WHERE id = ? AND "
                     "user_id = ?)",
                     2, a, NULL, err);
        db_res r;
        if (!st) st = db_exec(s, c, "DELETE FROM conversations WHERE id = ? AND user_id = ?", 2, a, &r, err);
        if (!st) {
            bool found = r.changes > 0;
            db_res_free(&r);
            if (!found) st = no_conv(err, conv_id);
        }
        if (!st) st = db_commit(s, c, err);
        if (st) db_rollback(s, c);
    }
    db_give(s, c);
    return st;
}

/* ---------------------------------------------------------- messages */

static bool valid_role(const char *r)
{
    return r && (!strcmp(r, "system") || !strcmp(r, "user") || !strcmp(r, "assistant") || !strcmp(r, "tool"));
}

sg_status sg_store_msg_add(sg_store *s, int64_t user_id, const char *conv_id, const char *role,
                           const char *content, const char *reasoning, sg_msg_status status, int64_t *msg_id,
                           sg_error *err)
{
    if (!conv_id) return no_conv(err, "");
    if (!valid_role(role))
        return sg_fail(err, SG_ERR_INVALID, "message role '%.20s' is not system, user, assistant or tool",
                       role ? role : "");
    if (status < SG_MSG_COMPLETE || status > SG_MSG_INTERRUPTED)
        return sg_fail(err, SG_ERR_INVALID, "message status %d is not 0, 1 or 2", (int)status);
    pthread_mutex_lock(&s->mu);
    int64_t inst = s->instance_id;
    pthread_mutex_unlock(&s->mu);
    int64_t now = store_now();
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    st = db_begin(s, c, err);
    if (!st) {
        db_res r;
        /* the owner check and the lock on the conversation row in one step */
        st = db_exec(s, c, "UPDATE conversations SET updated_at = ? WHERE id = ? AND user_id = ?", 3,
                     (db_arg[]){A_I(now), A_S(conv_id), A_I(user_id)}, &r, err);
        if (!st) {
            bool found = r.changes > 0;
            db_res_free(&r);
            if (!found) st = no_conv(err, conv_id);
        }
        if (!st) {
            db_arg a[] = {A_S(conv_id), A_S(role), A_S(content ? content : ""), A_S(reasoning), A_I(status),
                          status == SG_MSG_STREAMING && inst ? A_I(inst) : A_NULL, A_I(now)};
            st = db_exec(s, c, "INSERT INTO messages (conv_id, role, content, reasoning, status, instance_id, "
                         "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                         7, a, &r, err);
            if (!st) {
                if (msg_id) *msg_id = db_i64(&r, 0, 0);
                db_res_free(&r);
            }
        }
        if (!st) st = db_commit(s, c, err);
        if (st) db_rollback(s, c);
    }
    db_give(s, c);
    return st;
}

sg_status sg_store_msg_finish(sg_store *s, int64_t user_id, int64_t msg_id, const char *content,
                              const char *reasoning, sg_msg_status status, sg_error *err)
{
    if (status < SG_MSG_COMPLETE || status > SG_MSG_INTERRUPTED)
        return sg_fail(err, SG_ERR_INVALID, "message status %d is not 0, 1 or 2", (int)status);
    db_res r;
    sg_status st = db_run(s,
                          "UPDATE messages SET content = ?, reasoning = ?, status = ? WHERE id = ? AND conv_id IN "
                          "(SELECT id FROM conversations WHERE user_id = ?)",
                          5, (db_arg[]){A_S(content ? content : ""), A_S(reasoning), A_I(status), A_I(msg_id), A_I(user_id)},
                          &r, err);
    if (st) return st;
    bool found = r.changes > 0;
    db_res_free(&r);
    return found ? SG_OK : sg_fail(err, SG_ERR_MISSING, "no message %" PRId64, msg_id);
}

/* --------------------------------------------------------- instances */

sg_status sg_store_instance_register(sg_store *s, int64_t now, int64_t *instance_id, sg_error *err)
{
    db_res r;
    sg_status st = db_run(s, "INSERT INTO instances (started_at, heartbeat) VALUES (?, ?) RETURNING id", 2,
                          (db_arg[]){A_I(now), A_I(now)}, &r, err);
    if (st) return st;
    *instance_id = db_i64(&r, 0, 0);
    db_res_free(&r);
    return SG_OK;
}

sg_status sg_store_instance_heartbeat(sg_store *s, int64_t instance_id, int64_t now, sg_error *err)
{
    if (instance_id <= 0) return sg_fail(err, SG_ERR_INVALID, "no instance id");
    /* an instance swept as stale (a server paused longer than the stale time)
     * comes back with its id: its interrupted answers stay interrupted */
    return db_run(s,
                  "INSERT INTO instances (id, started_at, heartbeat) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                  "heartbeat = excluded.heartbeat",
                  3, (db_arg[]){A_I(instance_id), A_I(now), A_I(now)}, NULL, err);
}

sg_status sg_store_instance_end(sg_store *s, int64_t instance_id, sg_error *err)
{
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    st = db_begin(s, c, err);
    if (!st) {
        st = db_exec(s, c, "UPDATE messages SET status = 2 WHERE status = 1 AND instance_id = ?", 1,
                     (db_arg[]){A_I(instance_id)}, NULL, err);
        if (!st)
            st = db_exec(s, c, "DELETE FROM instances WHERE id = ?", 1, (db_arg[]){A_I(instance_id)}, NULL, err);
        if (!st) st = db_commit(s, c, err);
        if (st) db_rollback(s, c);
    }
    db_give(s, c);
    return st;
}

sg_status sg_store_sweep_interrupted(sg_store *s, int64_t now, int stale, int *n_marked, sg_error *err)
{
    if (n_marked) *n_marked = 0;
    if (stale < 1) return sg_fail(err, SG_ERR_INVALID, "stale must be >= 1 second");
    int64_t cutoff = now - stale;
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    st = db_begin(s, c, err);
    if (!st) {
        db_res r;
        /* streaming messages of instances that stopped heartbeating (or ended,
         * or were never registered: those once they are older than stale) */
        st = db_exec(s, c,
                     "UPDATE messages SET status = 2 WHERE status = 1 AND ((instance_id IS NULL AND created_at < ?) OR "
                     "(instance_id IS NOT NULL AND instance_id NOT IN (SELECT id FROM instances WHERE heartbeat >= ?)))",
                     2, (db_arg[]){A_I(cutoff), A_I(cutoff)}, &r, err);
        if (!st) {
            if (n_marked) *n_marked = (int)r.changes;
            db_res_free(&r);
            st = db_exec(s, c, "DELETE FROM instances WHERE heartbeat < ?", 1, (db_arg[]){A_I(cutoff)}, NULL, err);
        }
        if (!st) st = db_commit(s, c, err);
        if (st) db_rollback(s, c);
    }
    db_give(s, c);
    return st;
}

/* ---------------------------------------------------- people's rights */

static void day_text(int64_t day, char out[16])
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static cJSON *str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Adds rows of r as objects with the given field names; types: 's' string,
 * 'i' integer, 'd' UTC day, 'b' boolean. */
static bool add_rows(cJSON *arr, const db_res *r, const char *const *names, const char *types)
{
    for (int i = 0; i < r->nr; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return false;
        }
        for (int j = 0; names[j]; j++) {
            cJSON *v;
            if (types[j] == 's') v = str_or_null(db_cell(r, i, j));
            else if (types[j] == 'b') v = cJSON_CreateBool(db_i64(r, i, j) != 0);
            else if (types[j] == 'd') {
                char d[16];
                day_text(db_i64(r, i, j), d);
                v = cJSON_CreateString(d);
            } else v = cJSON_CreateNumber((double)db_i64(r, i, j));
            if (!v || !cJSON_AddItemToObject(o, names[j], v)) {
                cJSON_Delete(v);
                return false;
            }
        }
    }
    return true;
}

static const char *status_name(int64_t st)
{
    return st == SG_MSG_STREAMING ? "streaming" : st == SG_MSG_INTERRUPTED ? "interrupted" : "complete";
}

static sg_status export_on(sg_store *s, db_conn *c, int64_t user_id, cJSON *root, sg_error *err)
{
    db_res r;
    sg_status st = db_exec(s, c,
                           "SELECT u.id, u.name, u.disabled, u.created_at, t.name FROM users u JOIN tenants t ON "
                           "t.id = u.tenant_id WHERE u.id = ?",
                           1, (db_arg[]){A_I(user_id)}, &r, err);
    if (st) return st;
    if (r.nr == 0) {
        db_res_free(&r);
        return sg_fail(err, SG_ERR_MISSING, "no user with id %" PRId64, user_id);
    }
    cJSON *user = cJSON_AddObjectToObject(root, "user");
    bool ok = user && cJSON_AddNumberToObject(user, "id", (double)db_i64(&r, 0, 0)) &&
              cJSON_AddStringToObject(user, "name", db_cell(&r, 0, 1)) &&
              cJSON_AddBoolToObject(user, "disabled", db_i64(&r, 0, 2) != 0) &&
              cJSON_AddNumberToObject(user, "created_at", (double)db_i64(&r, 0, 3)) &&
              cJSON_AddStringToObject(root, "tenant", db_cell(&r, 0, 4));
    db_res_free(&r);
    if (!ok) return oom(err);

    static const char *const key_names[] = {"prefix", "created_at", "last_used_at", "revoked", "rpm",
                                            "tokens_per_day", NULL};
    st = db_exec(s, c, "SELECT prefix, created_at, last_used_at, revoked, rpm, tokens_per_day FROM api_keys "
                 "WHERE user_id = ? ORDER BY id",
                 1, (db_arg[]){A_I(user_id)}, &r, err);
    if (st) return st;
    cJSON *keys = cJSON_AddArrayToObject(root, "keys");
    ok = keys && add_rows(keys, &r, key_names, "siibii");
    db_res_free(&r);
    if (!ok) return oom(err);

    st = db_exec(s, c, "SELECT id, deployment, title, created_at, updated_at FROM conversations WHERE user_id = ? "
                 "ORDER BY created_at, id",
                 1, (db_arg[]){A_I(user_id)}, &r, err);
    if (st) return st;
    cJSON *convs = cJSON_AddArrayToObject(root, "conversations");
    static const char *const conv_names[] = {"id", "deployment", "title", "created_at", "updated_at", NULL};
    ok = convs && add_rows(convs, &r, conv_names, "sssii");
    for (int i = 0; ok && i < r.nr; i++) {
        db_res m;
        st = db_exec(s, c, "SELECT role, content, reasoning, status, created_at FROM messages WHERE conv_id = ? "
                     "ORDER BY id",
                     1, (db_arg[]){A_S(db_cell(&r, i, 0))}, &m, err);
        if (st) break;
        cJSON *arr = cJSON_AddArrayToObject(cJSON_GetArrayItem(convs, i), "messages");
        for (int j = 0; ok && arr && j < m.nr; j++) {
            cJSON *o = cJSON_CreateObject();
            ok = o && cJSON_AddItemToArray(arr, o);
            if (!ok) {
                cJSON_Delete(o);
                break;
            }
            cJSON *rs = str_or_null(db_cell(&m, j, 2));
            ok = cJSON_AddStringToObject(o, "role", db_cell(&m, j, 0)) &&
                 cJSON_AddStringToObject(o, "content", db_cell(&m, j, 1) ? db_cell(&m, j, 1) : "") && rs &&
                 cJSON_AddItemToObject(o, "reasoning", rs) &&
                 cJSON_AddStringToObject(o, "status", status_name(db_i64(&m, j, 3))) &&
                 cJSON_AddNumberToObject(o, "created_at", (double)db_i64(&m, j, 4));
        }
        if (!arr) ok = false;
        db_res_free(&m);
    }
    db_res_free(&r);
    if (st) return st;
    if (!ok) return oom(err);

    st = db_exec(s, c, "SELECT day, deployment, SUM(prompt_tokens), SUM(completion_tokens), SUM(requests) FROM "
                 "usage_daily WHERE user_id = ? GROUP BY day, deployment ORDER BY day, deployment",
                 1, (db_arg[]){A_I(user_id)}, &r, err);
    if (st) return st;
    cJSON *usage = cJSON_AddArrayToObject(root, "usage");
    static const char *const usage_names[] = {"day", "deployment", "prompt_tokens", "completion_tokens", "requests",
                                              NULL};
    ok = usage && add_rows(usage, &r, usage_names, "dsiii");
    db_res_free(&r);
    return ok ? SG_OK : oom(err);
}

sg_status sg_store_user_export(sg_store *s, int64_t user_id, const char *actor, char **json, sg_error *err)
{
    *json = NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root) return oom(err);
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) {
        cJSON_Delete(root);
        return st;
    }
    /* one transaction: a consistent snapshot, and the audit entry with it */
    st = db_begin(s, c, err);
    if (!st) {
        st = export_on(s, c, user_id, root, err);
        char target[48];
        snprintf(target, sizeof target, "user:%" PRId64, user_id);
        if (!st) st = store_audit_on(s, c, actor, "user.export", target, NULL, err);
        if (!st) st = db_commit(s, c, err);
        if (st) db_rollback(s, c);
    }
    db_give(s, c);
    if (!st) {
        *json = cJSON_Print(root);
        if (!*json) st = oom(err);
    }
    cJSON_Delete(root);
    return st;
}

sg_status sg_store_user_erase(sg_store *s, int64_t user_id, const char *actor, sg_error *err)
{
    static const char *const steps[] = {
        "DELETE FROM messages WHERE conv_id IN (SELECT id FROM conversations WHERE user_id = ?)",
        "DELETE FROM conversations WHERE user_id = ?",
        "DELETE FROM usage_daily WHERE user_id = ? OR key_id IN (SELECT id FROM api_keys WHERE user_id = ?)",
        "DELETE FROM rate_buckets WHERE key_id IN (SELECT id FROM api_keys WHERE user_id = ?)",
        "DELETE FROM api_keys WHERE user_id = ?",
        NULL,
    };
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    st = db_begin(s, c, err);
    if (!st) {
        db_res r;
        int64_t tid = 0;
        st = db_exec(s, c, "SELECT tenant_id FROM users WHERE id = ?", 1, (db_arg[]){A_I(user_id)}, &r, err);
        if (!st) {
            if (r.nr == 0) st = sg_fail(err, SG_ERR_MISSING, "no user with id %" PRId64, user_id);
            else tid = db_i64(&r, 0, 0);
            db_res_free(&r);
        }
        for (int i = 0; !st && steps[i]; i++) {
            int np = (int)(strchr(steps[i], '?') != strrchr(steps[i], '?')) + 1;
            st = db_exec(s, c, steps[i], np, (db_arg[]){A_I(user_id), A_I(user_id)}, NULL, err);
        }
        if (!st) st = db_exec(s, c, "DELETE FROM users WHERE id = ?", 1, (db_arg[]){A_I(user_id)}, NULL, err);
        char target[48], detail[48];
        snprintf(target, sizeof target, "user:%" PRId64, user_id);
        snprintf(detail, sizeof detail, "tenant:%" PRId64, tid);
        if (!st) st = store_audit_on(s, c, actor, "user.erase", target, detail, err);
        if (!st) st = db_commit(s, c, err);
        if (st) db_rollback(s, c);
    }
    db_give(s, c);
    return st;
}

sg_status sg_store_retention_sweep(sg_store *s, const char *deployment, int64_t cutoff, int *n_deleted,
                                   sg_error *err)
{
    if (n_deleted) *n_deleted = 0;
    if (!deployment || !*deployment) return sg_fail(err, SG_ERR_INVALID, "retention sweep: no deployment");
    db_conn *c;
    sg_status st = db_take(s, &c, err);
    if (st) return st;
    st = db_begin(s, c, err);
    if (!st) {
        db_arg a[] = {A_S(deployment), A_I(cutoff)};
        st = db_exec(s, c, "DELETE FROM messages WHERE conv_id IN (SELECT id FROM conversations WHERE deployment = ? "
                     "AND updated_at < ?)",
                     2, a, NULL, err);
        db_res r;
        int64_t n = 0;
        if (!st) st = db_exec(s, c, "DELETE FROM conversations WHERE deployment = ? AND updated_at < ?", 2, a, &r, err);
        if (!st) {
            n = r.changes;
            db_res_free(&r);
        }
        if (!st && n > 0) {
            char target[100], detail[100];
            snprintf(target, sizeof target, "deployment:%.80s", deployment);
            snprintf(detail, sizeof detail, "%" PRId64 " conversations not updated since %" PRId64, n, cutoff);
            st = store_audit_on(s, c, NULL, "retention.sweep", target, detail, err);
        }
        if (!st) st = db_commit(s, c, err);
        if (st) db_rollback(s, c);
        if (!st && n_deleted) *n_deleted = (int)n;
    }
    db_give(s, c);
    return st;
}
