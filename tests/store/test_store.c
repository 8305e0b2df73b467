/*
 * test_store.c -- the deployment store (src/store) end to end, on SQLite in a
 * temporary directory, or on PostgreSQL when given a URL:
 *
 *   test_store                 SQLite: every function, migrations, secure delete
 *   test_store postgresql://.. the same functions on PostgreSQL (pg_test.sh)
 *
 * Both runs also check concurrency: threads with their own store handles
 * (and threads sharing one) append messages to one conversation and take
 * the same key's per-minute limit at once; no message and no count is lost.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../unit/test.h"
#include "store/store.h"

static const char *g_url; /* the store under test */
static bool g_pg;

static sg_store *open_store(void)
{
    sg_store *s = NULL;
    sg_error err = {0};
    sg_status st = sg_store_open(g_url, &s, &err);
    CHECK_MSG(st == SG_OK, "open %s: %s", g_url, err.msg);
    if (st) exit(1);
    return s;
}

static bool audit_has(sg_store *s, const char *action, const char *target)
{
    sg_audit *a;
    int n;
    sg_error err = {0};
    if (sg_store_audit_list(s, 1000, &a, &n, &err)) return false;
    bool found = false;
    for (int i = 0; i < n; i++)
        if (!strcmp(a[i].action, action) && (!target || (a[i].target && !strcmp(a[i].target, target)))) found = true;
    sg_audit_list_free(a, n);
    return found;
}

/* ------------------------------------------------ tenants and users */

static void test_accounts(sg_store *s)
{
    sg_error err = {0};
    int64_t id = 0, id2 = 0;
    CHECK(sg_store_tenant_create(s, "acme", "fr-public", &id, &err) == SG_OK && id > 0);
    CHECK(sg_store_tenant_create(s, "beta", NULL, &id2, &err) == SG_OK && id2 > id);
    CHECK(sg_store_tenant_create(s, "acme", NULL, NULL, &err) == SG_ERR_INVALID);
    CHECK(strstr(err.msg, "already exists") != NULL);
    CHECK(sg_store_tenant_create(s, "bad name", NULL, NULL, &err) == SG_ERR_INVALID);
    CHECK(sg_store_tenant_create(s, "", NULL, NULL, &err) == SG_ERR_INVALID);
    CHECK(sg_store_tenant_create(s, "ok", "bad/deployment", NULL, &err) == SG_ERR_INVALID);

    sg_tenant t;
    CHECK(sg_store_tenant_get(s, "acme", &t, &err) == SG_OK);
    CHECK(t.id == id && !strcmp(t.name, "acme") && t.deployment && !strcmp(t.deployment, "fr-public") && !t.disabled);
    CHECK(t.created_at > 1600000000);
    sg_tenant_free(&t);
    CHECK(sg_store_tenant_get_id(s, id2, &t, &err) == SG_OK && !strcmp(t.name, "beta") && t.deployment == NULL);
    sg_tenant_free(&t);
    CHECK(sg_store_tenant_get(s, "nope", &t, &err) == SG_ERR_MISSING);
    CHECK(sg_store_tenant_get_id(s, 999999, &t, &err) == SG_ERR_MISSING);

    CHECK(sg_store_tenant_set_deployment(s, "beta", "de-public", &err) == SG_OK);
    CHECK(sg_store_tenant_set_deployment(s, "nope", "x", &err) == SG_ERR_MISSING);
    CHECK(sg_store_tenant_set_disabled(s, "beta", true, &err) == SG_OK);
    CHECK(sg_store_tenant_set_disabled(s, "nope", true, &err) == SG_ERR_MISSING);
    sg_tenant *tl;
    int n;
    CHECK(sg_store_tenant_list(s, &tl, &n, &err) == SG_OK && n == 2);
    if (n == 2) {
        CHECK(!strcmp(tl[0].name, "acme") && !tl[0].disabled);
        CHECK(!strcmp(tl[1].name, "beta") && tl[1].disabled && !strcmp(tl[1].deployment, "de-public"));
    }
    sg_tenant_list_free(tl, n);
    CHECK(sg_store_tenant_set_disabled(s, "beta", false, &err) == SG_OK);

    int64_t ua, ub, uc;
    CHECK(sg_store_user_create(s, "acme", "alice", &ua, &err) == SG_OK);
    CHECK(sg_store_user_create(s, "acme", "bob", &ub, &err) == SG_OK && ub != ua);
    CHECK(sg_store_user_create(s, "beta", "alice", &uc, &err) == SG_OK && uc != ua); /* names are per tenant */
    CHECK(sg_store_user_create(s, "acme", "alice", NULL, &err) == SG_ERR_INVALID);
    CHECK(sg_store_user_create(s, "nope", "x", NULL, &err) == SG_ERR_MISSING);
    CHECK(sg_store_user_create(s, "acme", "x y", NULL, &err) == SG_ERR_INVALID);
    sg_user u;
    CHECK(sg_store_user_get(s, "acme", "bob", &u, &err) == SG_OK && u.id == ub && u.tenant_id == id);
    sg_user_free(&u);
    CHECK(sg_store_user_get(s, "beta", "bob", &u, &err) == SG_ERR_MISSING);
    sg_user *ul;
    CHECK(sg_store_user_list(s, "acme", &ul, &n, &err) == SG_OK && n == 2);
    if (n == 2) CHECK(!strcmp(ul[0].name, "alice") && !strcmp(ul[1].name, "bob"));
    sg_user_list_free(ul, n);
    CHECK(sg_store_user_list(s, "nope", &ul, &n, &err) == SG_ERR_MISSING);
    CHECK(sg_store_user_set_disabled(s, "acme", "bob", true, &err) == SG_OK);
    CHECK(sg_store_user_get(s, "acme", "bob", &u, &err) == SG_OK && u.disabled);
    sg_user_free(&u);
    CHECK(sg_store_user_set_disabled(s, "acme", "bob", false, &err) == SG_OK);
    CHECK(sg_store_user_set_disabled(s, "acme", "nobody", true, &err) == SG_ERR_MISSING);

    CHECK(audit_has(s, "tenant.create", "acme"));
    CHECK(audit_has(s, "tenant.disable", "beta"));
    CHECK(audit_has(s, "tenant.set_deployment", "beta"));
    CHECK(audit_has(s, "user.create", NULL));
    CHECK(audit_has(s, "user.disable", NULL));
}

/* ---------------------------------------------------------------- keys */

static bool key_ok(sg_store *s, const char *key)
{
    sg_key_info k;
    sg_error err = {0};
    sg_status st = sg_store_key_verify(s, key, &k, &err);
    if (st == SG_OK) sg_key_info_free(&k);
    return st == SG_OK;
}

static void test_keys(sg_store *s)
{
    sg_error err = {0};
    bool yes = true;
    CHECK(sg_store_has_keys(s, &yes, &err) == SG_OK && !yes);

    char key[SG_KEY_MAX];
    sg_key_info info;
    sg_key_limits lim = {5, 1000};
    CHECK(sg_store_key_create(s, "acme", "alice", &lim, key, &info, &err) == SG_OK);
    CHECK_MSG(strlen(key) == 62 && !strncmp(key, "sk-sg-", 6) && key[18] == '_', "key %s", key);
    for (int i = 6; i < 18; i++) CHECK((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f'));
    for (int i = 19; i < 62; i++)
        CHECK((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') ||
              key[i] == '-' || key[i] == '_');
    CHECK(!strncmp(info.prefix, key, 18) && strlen(info.prefix) == 18);
    CHECK(!strcmp(info.tenant, "acme") && !strcmp(info.user, "alice") && info.lim.rpm == 5 &&
          info.lim.tokens_per_day == 1000 && !info.revoked && !info.disabled);
    CHECK(sg_store_has_keys(s, &yes, &err) == SG_OK && yes);

    sg_key_info v;
    CHECK(sg_store_key_verify(s, key, &v, &err) == SG_OK);
    CHECK(v.id == info.id && v.user_id == info.user_id && !strcmp(v.tenant, "acme") && v.lim.rpm == 5);
    CHECK(v.last_used_at > 0);
    sg_key_info_free(&v);

    /* wrong secret, wrong prefix, malformed */
    char bad[SG_KEY_MAX];
    strcpy(bad, key);
    bad[40] = bad[40] == 'A' ? 'B' : 'A';
    CHECK(!key_ok(s, bad));
    strcpy(bad, key);
    bad[10] = bad[10] == '0' ? '1' : '0';
    CHECK(!key_ok(s, bad));
    CHECK(!key_ok(s, "sk-sg-"));
    CHECK(!key_ok(s, ""));
    CHECK(!key_ok(s, info.prefix));
    strcpy(bad, key);
    bad[61] = 0;
    CHECK(!key_ok(s, bad));
    CHECK(sg_store_key_verify(s, bad, &v, &err) == SG_ERR_MISSING);

    /* the tenant's default user */
    char key2[SG_KEY_MAX];
    sg_key_info info2;
    CHECK(sg_store_key_create(s, "acme", NULL, NULL, key2, &info2, &err) == SG_OK);
    CHECK(!strcmp(info2.user, "default") && info2.lim.rpm == 0 && info2.lim.tokens_per_day == 0);
    CHECK(strcmp(key, key2) != 0 && strcmp(info.prefix, info2.prefix) != 0);
    CHECK(key_ok(s, key2));
    char key3[SG_KEY_MAX];
    CHECK(sg_store_key_create(s, "acme", NULL, NULL, key3, NULL, &err) == SG_OK); /* default exists now */
    CHECK(sg_store_key_create(s, "nope", NULL, NULL, key3, NULL, &err) == SG_ERR_MISSING);
    CHECK(sg_store_key_create(s, "acme", "ghost", NULL, key3, NULL, &err) == SG_ERR_MISSING);
    sg_key_limits neg = {-1, 0};
    CHECK(sg_store_key_create(s, "acme", "alice", &neg, key3, NULL, &err) == SG_ERR_INVALID);

    /* revoke by prefix and by id */
    CHECK(sg_store_key_revoke(s, info2.prefix, &err) == SG_OK);
    CHECK(!key_ok(s, key2));
    CHECK(audit_has(s, "key.revoke", info2.prefix));
    char idtext[32];
    CHECK(sg_store_key_create(s, "acme", "bob", NULL, key3, &v, &err) == SG_OK);
    CHECK(key_ok(s, key3));
    snprintf(idtext, sizeof idtext, "%lld", (long long)v.id);
    CHECK(sg_store_key_revoke(s, idtext, &err) == SG_OK);
    CHECK(!key_ok(s, key3));
    sg_key_info_free(&v);
    CHECK(sg_store_key_revoke(s, "sk-sg-000000000000", &err) == SG_ERR_MISSING);
    CHECK(sg_store_key_revoke(s, "999999", &err) == SG_ERR_MISSING);
    CHECK(sg_store_key_revoke(s, "junk", &err) == SG_ERR_INVALID);

    /* disabled tenant, disabled user */
    char kb[SG_KEY_MAX];
    CHECK(sg_store_key_create(s, "beta", "alice", NULL, kb, NULL, &err) == SG_OK);
    CHECK(key_ok(s, kb));
    CHECK(sg_store_tenant_set_disabled(s, "beta", true, &err) == SG_OK);
    CHECK(!key_ok(s, kb));
    CHECK(sg_store_tenant_set_disabled(s, "beta", false, &err) == SG_OK);
    CHECK(key_ok(s, kb));
    CHECK(sg_store_user_set_disabled(s, "beta", "alice", true, &err) == SG_OK);
    CHECK(!key_ok(s, kb));
    CHECK(sg_store_user_set_disabled(s, "beta", "alice", false, &err) == SG_OK);
    CHECK(key_ok(s, kb));

    sg_key_info *kl;
    int n;
    CHECK(sg_store_key_list(s, "acme", &kl, &n, &err) == SG_OK && n == 4);
    int revoked = 0;
    for (int i = 0; i < n; i++) revoked += kl[i].revoked;
    CHECK(revoked == 2);
    sg_key_list_free(kl, n);
    CHECK(sg_store_key_list(s, NULL, &kl, &n, &err) == SG_OK && n == 5);
    sg_key_list_free(kl, n);
    CHECK(sg_store_key_list(s, "nope", &kl, &n, &err) == SG_ERR_MISSING);
    CHECK(audit_has(s, "key.create", info.prefix));

    /* ----- limits: 5 requests per minute */
    int64_t t0 = 1800000000 - 1800000000 % 60 + 10; /* 10 s into a minute */
    int ra = -1;
    for (int i = 0; i < 5; i++) CHECK(sg_store_limit_take(s, &info, t0 + i, &ra, &err) == SG_OK);
    CHECK(sg_store_limit_take(s, &info, t0 + 5, &ra, &err) == SG_ERR_INVALID);
    CHECK_MSG(ra == 45, "retry_after %d", ra);
    CHECK(ra >= 1 && ra <= 60);
    CHECK(sg_store_limit_take(s, &info, t0 + 49, &ra, &err) == SG_ERR_INVALID && ra == 1);
    CHECK(sg_store_limit_take(s, &info, t0 + 50, &ra, &err) == SG_OK); /* the next minute */
    /* tokens per day: 1000 */
    int64_t day_end = t0 - t0 % 86400 + 86400;
    CHECK(sg_store_usage_add(s, &info, "fr-public", 400, 300, t0, &err) == SG_OK);
    CHECK(sg_store_limit_take(s, &info, t0 + 120, &ra, &err) == SG_OK);
    CHECK(sg_store_usage_add(s, &info, "fr-public", 200, 100, t0 + 120, &err) == SG_OK);
    CHECK(sg_store_limit_take(s, &info, t0 + 180, &ra, &err) == SG_ERR_INVALID);
    CHECK_MSG(ra == (int)(day_end - (t0 + 180)), "retry_after %d", ra);
    CHECK(sg_store_limit_take(s, &info, day_end + 5, &ra, &err) == SG_OK); /* a new UTC day */
    CHECK(sg_store_usage_add(s, &info, NULL, 1, 1, day_end + 5, &err) == SG_OK);
    CHECK(sg_store_usage_add(s, &info, "x", -1, 1, day_end + 5, &err) == SG_ERR_INVALID);
    /* unlimited key */
    for (int i = 0; i < 20; i++) CHECK(sg_store_limit_take(s, &info2, t0, &ra, &err) == SG_OK);

    sg_key_info_free(&info);
    sg_key_info_free(&info2);
}

/* ---------------------------------------------- conversations, messages */

static void test_conversations(sg_store *s)
{
    sg_error err = {0};
    sg_user a, b;
    CHECK(sg_store_user_get(s, "acme", "alice", &a, &err) == SG_OK);
    CHECK(sg_store_user_get(s, "acme", "bob", &b, &err) == SG_OK);
    char c1[SG_CONV_ID_MAX], c2[SG_CONV_ID_MAX], cb[SG_CONV_ID_MAX];
    CHECK(sg_store_conv_create(s, a.id, "fr-public", "Recette", c1, &err) == SG_OK);
    CHECK(strlen(c1) == 34 && !strncmp(c1, "c_", 2));
    CHECK(sg_store_conv_create(s, a.id, "fr-public", NULL, c2, &err) == SG_OK && strcmp(c1, c2));
    CHECK(sg_store_conv_create(s, b.id, "fr-public", "bob's", cb, &err) == SG_OK);
    CHECK(sg_store_conv_create(s, 999999, "fr-public", "x", cb + 0, &err) == SG_ERR_MISSING);

    int64_t m1, m2, m3;
    CHECK(sg_store_msg_add(s, a.id, c1, "user", "Bonjour, une recette ?", NULL, SG_MSG_COMPLETE, &m1, &err) == SG_OK);
    CHECK(sg_store_msg_add(s, a.id, c1, "assistant", "", NULL, SG_MSG_STREAMING, &m2, &err) == SG_OK && m2 > m1);
    CHECK(sg_store_msg_finish(s, a.id, m2, "Une tarte.", "penser", SG_MSG_COMPLETE, &err) == SG_OK);
    CHECK(sg_store_msg_add(s, a.id, c1, "robot", "x", NULL, SG_MSG_COMPLETE, &m3, &err) == SG_ERR_INVALID);
    CHECK(sg_store_msg_add(s, a.id, c1, "user", "x", NULL, (sg_msg_status)7, &m3, &err) == SG_ERR_INVALID);

    /* user B sees nothing of A's */
    sg_conv cv;
    sg_msg *msgs;
    int n;
    CHECK(sg_store_conv_get(s, b.id, c1, &cv, &msgs, &n, &err) == SG_ERR_MISSING);
    CHECK(sg_store_conv_get(s, b.id, c1, &cv, NULL, NULL, &err) == SG_ERR_MISSING);
    CHECK(sg_store_conv_rename(s, b.id, c1, "stolen", &err) == SG_ERR_MISSING);
    CHECK(sg_store_conv_delete(s, b.id, c1, &err) == SG_ERR_MISSING);
    CHECK(sg_store_msg_add(s, b.id, c1, "user", "intrusion", NULL, SG_MSG_COMPLETE, &m3, &err) == SG_ERR_MISSING);
    CHECK(sg_store_msg_finish(s, b.id, m1, "changed", NULL, SG_MSG_COMPLETE, &err) == SG_ERR_MISSING);
    sg_conv *cl;
    CHECK(sg_store_conv_list(s, b.id, &cl, &n, &err) == SG_OK && n == 1);
    if (n == 1) CHECK(!strcmp(cl[0].id, cb));
    sg_conv_list_free(cl, n);
    CHECK(sg_store_conv_get(s, a.id, "c_0000", &cv, NULL, NULL, &err) == SG_ERR_MISSING);

    /* A's view is intact */
    CHECK(sg_store_conv_get(s, a.id, c1, &cv, &msgs, &n, &err) == SG_OK && n == 2);
    CHECK(!strcmp(cv.id, c1) && cv.user_id == a.id && !strcmp(cv.title, "Recette") && !strcmp(cv.deployment, "fr-public"));
    if (n == 2) {
        CHECK(!strcmp(msgs[0].role, "user") && !strcmp(msgs[0].content, "Bonjour, une recette ?") && !msgs[0].reasoning);
        CHECK(!strcmp(msgs[1].role, "assistant") && !strcmp(msgs[1].content, "Une tarte.") &&
              !strcmp(msgs[1].reasoning, "penser") && msgs[1].status == SG_MSG_COMPLETE);
    }
    sg_msg_list_free(msgs, n);
    sg_conv_free(&cv);
    CHECK(sg_store_conv_rename(s, a.id, c1, "Tartes", &err) == SG_OK);
    CHECK(sg_store_conv_get(s, a.id, c1, &cv, NULL, NULL, &err) == SG_OK && !strcmp(cv.title, "Tartes"));
    sg_conv_free(&cv);
    CHECK(sg_store_conv_list(s, a.id, &cl, &n, &err) == SG_OK && n == 2);
    sg_conv_list_free(cl, n);
    CHECK(sg_store_msg_add(s, a.id, c2, "user", "second", NULL, SG_MSG_COMPLETE, &m3, &err) == SG_OK);
    CHECK(sg_store_conv_delete(s, a.id, c2, &err) == SG_OK);
    CHECK(sg_store_conv_get(s, a.id, c2, &cv, NULL, NULL, &err) == SG_ERR_MISSING);
    CHECK(sg_store_msg_finish(s, a.id, m3, "gone", NULL, SG_MSG_COMPLETE, &err) == SG_ERR_MISSING);
    CHECK(sg_store_conv_delete(s, a.id, c2, &err) == SG_ERR_MISSING);
    CHECK(sg_store_conv_list(s, a.id, &cl, &n, &err) == SG_OK && n == 1);
    sg_conv_list_free(cl, n);

    /* ----- instances and the interrupted sweep */
    int64_t now = (int64_t)time(NULL);
    int64_t dead, live;
    CHECK(sg_store_instance_register(s, now - 100, &dead, &err) == SG_OK);
    CHECK(sg_store_instance_register(s, now - 100, &live, &err) == SG_OK && live != dead);
    CHECK(sg_store_instance_heartbeat(s, live, now, &err) == SG_OK);
    int64_t md, ml;
    sg_store_set_instance(s, dead);
    CHECK(sg_store_msg_add(s, a.id, c1, "assistant", "half an ans", NULL, SG_MSG_STREAMING, &md, &err) == SG_OK);
    sg_store_set_instance(s, live);
    CHECK(sg_store_msg_add(s, a.id, c1, "assistant", "still going", NULL, SG_MSG_STREAMING, &ml, &err) == SG_OK);
    int marked = -1;
    CHECK(sg_store_sweep_interrupted(s, now, 30, &marked, &err) == SG_OK && marked == 1);
    CHECK(sg_store_conv_get(s, a.id, c1, &cv, &msgs, &n, &err) == SG_OK && n == 4);
    for (int i = 0; i < n; i++) {
        if (msgs[i].id == md) CHECK(msgs[i].status == SG_MSG_INTERRUPTED && !strcmp(msgs[i].content, "half an ans"));
        if (msgs[i].id == ml) CHECK(msgs[i].status == SG_MSG_STREAMING);
    }
    sg_msg_list_free(msgs, n);
    sg_conv_free(&cv);
    CHECK(sg_store_sweep_interrupted(s, now, 30, &marked, &err) == SG_OK && marked == 0);
    /* a paused instance that heartbeats again after the sweep is alive again */
    CHECK(sg_store_instance_heartbeat(s, dead, now, &err) == SG_OK);
    sg_store_set_instance(s, dead);
    CHECK(sg_store_msg_add(s, a.id, c1, "assistant", "resumed", NULL, SG_MSG_STREAMING, &m3, &err) == SG_OK);
    CHECK(sg_store_sweep_interrupted(s, now + 5, 30, &marked, &err) == SG_OK && marked == 0);
    CHECK(sg_store_msg_finish(s, a.id, m3, "resumed, done", NULL, SG_MSG_COMPLETE, &err) == SG_OK);
    sg_store_set_instance(s, live);
    CHECK(sg_store_instance_heartbeat(s, 0, now, &err) == SG_ERR_INVALID);
    CHECK(sg_store_msg_finish(s, a.id, ml, "done now", NULL, SG_MSG_COMPLETE, &err) == SG_OK);
    /* a graceful end interrupts what the instance still had streaming */
    CHECK(sg_store_msg_add(s, a.id, c1, "assistant", "cut", NULL, SG_MSG_STREAMING, &m3, &err) == SG_OK);
    CHECK(sg_store_instance_end(s, live, &err) == SG_OK);
    CHECK(sg_store_conv_get(s, a.id, c1, &cv, &msgs, &n, &err) == SG_OK && n == 6);
    if (n == 6) CHECK(msgs[5].id == m3 && msgs[5].status == SG_MSG_INTERRUPTED && msgs[3].status == SG_MSG_COMPLETE);
    sg_msg_list_free(msgs, n);
    sg_conv_free(&cv);
    sg_store_set_instance(s, 0);
    sg_user_free(&a);
    sg_user_free(&b);
}

/* -------------------------------------------------------------- rights */

static void test_rights(sg_store *s)
{
    sg_error err = {0};
    sg_user a, b;
    CHECK(sg_store_user_get(s, "acme", "alice", &a, &err) == SG_OK);
    CHECK(sg_store_user_get(s, "acme", "bob", &b, &err) == SG_OK);

    char *json = NULL;
    CHECK(sg_store_user_export(s, a.id, "test:dpo", &json, &err) == SG_OK && json);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    CHECK(root != NULL);
    if (root) {
        cJSON *user = cJSON_GetObjectItem(root, "user");
        CHECK(user && !strcmp(cJSON_GetObjectItem(user, "name")->valuestring, "alice"));
        CHECK(!strcmp(cJSON_GetObjectItem(root, "tenant")->valuestring, "acme"));
        cJSON *keys = cJSON_GetObjectItem(root, "keys");
        CHECK(cJSON_IsArray(keys) && cJSON_GetArraySize(keys) == 1);
        cJSON *k0 = cJSON_GetArrayItem(keys, 0);
        CHECK(k0 && cJSON_GetObjectItem(k0, "prefix") && strlen(cJSON_GetObjectItem(k0, "prefix")->valuestring) == 18);
        CHECK(k0 && !cJSON_GetObjectItem(k0, "hash"));
        cJSON *convs = cJSON_GetObjectItem(root, "conversations");
        CHECK(cJSON_IsArray(convs) && cJSON_GetArraySize(convs) == 1);
        cJSON *c0 = cJSON_GetArrayItem(convs, 0);
        cJSON *msgs = c0 ? cJSON_GetObjectItem(c0, "messages") : NULL;
        CHECK(c0 && !strcmp(cJSON_GetObjectItem(c0, "title")->valuestring, "Tartes"));
        CHECK(cJSON_IsArray(msgs) && cJSON_GetArraySize(msgs) == 6);
        cJSON *m1 = cJSON_GetArrayItem(msgs, 1);
        CHECK(m1 && !strcmp(cJSON_GetObjectItem(m1, "content")->valuestring, "Une tarte.") &&
              !strcmp(cJSON_GetObjectItem(m1, "reasoning")->valuestring, "penser") &&
              !strcmp(cJSON_GetObjectItem(m1, "status")->valuestring, "complete"));
        cJSON *m2 = cJSON_GetArrayItem(msgs, 2);
        CHECK(m2 && !strcmp(cJSON_GetObjectItem(m2, "status")->valuestring, "interrupted"));
        cJSON *usage = cJSON_GetObjectItem(root, "usage");
        CHECK(cJSON_IsArray(usage) && cJSON_GetArraySize(usage) == 2);
        cJSON *u0 = cJSON_GetArrayItem(usage, 0);
        CHECK(u0 && !strcmp(cJSON_GetObjectItem(u0, "day")->valuestring, "2027-01-15"));
        CHECK(u0 && cJSON_GetObjectItem(u0, "prompt_tokens")->valuedouble == 600 &&
              cJSON_GetObjectItem(u0, "completion_tokens")->valuedouble == 400 &&
              cJSON_GetObjectItem(u0, "requests")->valuedouble == 2);
        CHECK(strstr(json, "bob's") == NULL); /* nothing of another user */
    }
    cJSON_Delete(root);
    free(json);
    char target[48];
    snprintf(target, sizeof target, "user:%lld", (long long)a.id);
    CHECK(audit_has(s, "user.export", target));
    CHECK(sg_store_user_export(s, 999999, "x", &json, &err) == SG_ERR_MISSING);

    /* retention: only the named deployment, only old conversations */
    char old1[SG_CONV_ID_MAX], other[SG_CONV_ID_MAX];
    int64_t mid;
    CHECK(sg_store_conv_create(s, b.id, "de-ret", "old", old1, &err) == SG_OK);
    CHECK(sg_store_msg_add(s, b.id, old1, "user", "alt", NULL, SG_MSG_COMPLETE, &mid, &err) == SG_OK);
    CHECK(sg_store_conv_create(s, b.id, "de-keep", "other", other, &err) == SG_OK);
    int nd = -1;
    int64_t now = (int64_t)time(NULL);
    CHECK(sg_store_retention_sweep(s, "de-ret", now - 3600, &nd, &err) == SG_OK && nd == 0); /* too recent */
    CHECK(sg_store_retention_sweep(s, "de-ret", now + 10, &nd, &err) == SG_OK && nd == 1);
    sg_conv cv;
    CHECK(sg_store_conv_get(s, b.id, old1, &cv, NULL, NULL, &err) == SG_ERR_MISSING);
    CHECK(sg_store_conv_get(s, b.id, other, &cv, NULL, NULL, &err) == SG_OK);
    sg_conv_free(&cv);
    CHECK(sg_store_msg_finish(s, b.id, mid, "x", NULL, SG_MSG_COMPLETE, &err) == SG_ERR_MISSING);
    CHECK(audit_has(s, "retention.sweep", "deployment:de-ret"));
    CHECK(sg_store_retention_sweep(s, NULL, now, &nd, &err) == SG_ERR_INVALID);

    /* erase bob: conversations, usage, keys, the user */
    char kb[SG_KEY_MAX];
    sg_key_info ki;
    CHECK(sg_store_key_create(s, "acme", "bob", NULL, kb, &ki, &err) == SG_OK);
    CHECK(sg_store_usage_add(s, &ki, "fr-public", 3, 4, now, &err) == SG_OK);
    CHECK(sg_store_limit_take(s, &ki, now, NULL, &err) == SG_OK);
    CHECK(sg_store_user_erase(s, b.id, "test:dpo", &err) == SG_OK);
    CHECK(!key_ok(s, kb));
    sg_user u;
    CHECK(sg_store_user_get(s, "acme", "bob", &u, &err) == SG_ERR_MISSING);
    sg_conv *cl;
    int n;
    CHECK(sg_store_conv_list(s, b.id, &cl, &n, &err) == SG_OK && n == 0);
    sg_conv_list_free(cl, n);
    CHECK(sg_store_conv_get(s, b.id, other, &cv, NULL, NULL, &err) == SG_ERR_MISSING);
    sg_key_info *kl;
    CHECK(sg_store_key_list(s, "acme", &kl, &n, &err) == SG_OK);
    for (int i = 0; i < n; i++) CHECK(kl[i].user_id != b.id);
    sg_key_list_free(kl, n);
    snprintf(target, sizeof target, "user:%lld", (long long)b.id);
    CHECK(audit_has(s, "user.erase", target));
    CHECK(sg_store_user_erase(s, b.id, "x", &err) == SG_ERR_MISSING);
    sg_key_info_free(&ki);

    /* the audit log: newest first, no personal content in erasure entries */
    CHECK(sg_store_audit(s, "test", "custom.action", "t", "d", &err) == SG_OK);
    CHECK(sg_store_audit(s, "test", "", "t", "d", &err) == SG_ERR_INVALID);
    sg_audit *al;
    CHECK(sg_store_audit_list(s, 3, &al, &n, &err) == SG_OK && n == 3);
    if (n == 3) {
        CHECK(!strcmp(al[0].action, "custom.action") && !strcmp(al[0].actor, "test") && al[0].at > 0);
        CHECK(al[0].id > al[1].id && al[1].id > al[2].id);
    }
    sg_audit_list_free(al, n);
    CHECK(sg_store_audit_list(s, 1000, &al, &n, &err) == SG_OK && n > 10);
    for (int i = 0; i < n; i++)
        if (!strcmp(al[i].action, "user.erase")) {
            CHECK(!strstr(al[i].target, "bob") && (!al[i].detail || !strstr(al[i].detail, "bob")));
            CHECK(!strcmp(al[i].actor, "test:dpo"));
        }
    sg_audit_list_free(al, n);
    sg_user_free(&a);
    sg_user_free(&b);
}

/* --------------------------------------------------------- concurrency */

#define CONC_THREADS 4
#define CONC_MSGS 40
#define CONC_TAKES 40

typedef struct conc_arg {
    sg_store *s; /* shared handle, or NULL: open its own */
    int64_t user_id;
    const char *conv;
    sg_key_info *key;
    int64_t now;
    int allowed, failed;
} conc_arg;

static void *conc_worker(void *p)
{
    conc_arg *a = p;
    sg_store *s = a->s;
    sg_error err = {0};
    if (!s && sg_store_open(g_url, &s, &err)) {
        a->failed = 1000;
        return NULL;
    }
    for (int i = 0; i < CONC_MSGS; i++) {
        char text[64];
        snprintf(text, sizeof text, "m%d", i);
        int64_t id;
        if (sg_store_msg_add(s, a->user_id, a->conv, "user", text, NULL, SG_MSG_COMPLETE, &id, &err)) {
            fprintf(stderr, "msg_add: %s\n", err.msg);
            a->failed++;
        }
        int ra;
        sg_status st = sg_store_limit_take(s, a->key, a->now, &ra, &err);
        if (st == SG_OK) a->allowed++;
        else if (st != SG_ERR_INVALID) {
            fprintf(stderr, "limit_take: %s\n", err.msg);
            a->failed++;
        }
    }
    if (!a->s) sg_store_close(s);
    return NULL;
}

static void test_concurrency(sg_store *s)
{
    sg_error err = {0};
    CHECK(sg_store_tenant_create(s, "conc", NULL, NULL, &err) == SG_OK);
    CHECK(sg_store_user_create(s, "conc", "u", NULL, &err) == SG_OK);
    sg_user u;
    CHECK(sg_store_user_get(s, "conc", "u", &u, &err) == SG_OK);
    char conv[SG_CONV_ID_MAX];
    CHECK(sg_store_conv_create(s, u.id, "d", "race", conv, &err) == SG_OK);
    char key[SG_KEY_MAX];
    sg_key_info k;
    sg_key_limits lim = {100, 0};
    CHECK(sg_store_key_create(s, "conc", "u", &lim, key, &k, &err) == SG_OK);
    pthread_t th[CONC_THREADS];
    conc_arg args[CONC_THREADS];
    int64_t now = 1900000000 - 1900000000 % 60;
    for (int i = 0; i < CONC_THREADS; i++) {
        /* two threads with their own handles (own connections), two sharing one */
        args[i] = (conc_arg){i < 2 ? NULL : s, u.id, conv, &k, now, 0, 0};
        pthread_create(&th[i], NULL, conc_worker, &args[i]);
    }
    int allowed = 0, failed = 0;
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(th[i], NULL);
        allowed += args[i].allowed;
        failed += args[i].failed;
    }
    CHECK_MSG(failed == 0, "%d failures", failed);
    CHECK_MSG(allowed == 100, "%d requests allowed at rpm 100 (of %d)", allowed, CONC_THREADS * CONC_TAKES);
    sg_conv cv;
    sg_msg *msgs;
    int n = 0;
    CHECK(sg_store_conv_get(s, u.id, conv, &cv, &msgs, &n, &err) == SG_OK);
    CHECK_MSG(n == CONC_THREADS * CONC_MSGS, "%d messages", n);
    sg_msg_list_free(msgs, n);
    sg_conv_free(&cv);
    sg_key_info_free(&k);
    sg_user_free(&u);
}

/* ---------------------------------------------------------- migrations */

static void set_version_raw(int v)
{
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d", v);
    if (g_pg) {
        PGconn *c = PQconnectdb(g_url);
        PGresult *r = PQexec(c, sql);
        CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *db;
        CHECK(sqlite3_open(g_url, &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(db);
    }
}

static void test_migrations(void)
{
    sg_store *s = open_store();
    int v = sg_store_schema_version(s);
    CHECK(v >= 1);
    CHECK(!strcmp(sg_store_backend(s), g_pg ? "postgresql" : "sqlite"));
    sg_store_close(s);
    s = open_store();
    CHECK(sg_store_schema_version(s) == v);
    sg_tenant t;
    sg_error err = {0};
    CHECK(sg_store_tenant_get(s, "acme", &t, &err) == SG_OK); /* data kept */
    sg_tenant_free(&t);
    sg_store_close(s);

    set_version_raw(v + 50);
    s = NULL;
    CHECK(sg_store_open(g_url, &s, &err) == SG_ERR_UNSUPPORTED && s == NULL);
    CHECK_MSG(strstr(err.msg, "newer") && strstr(err.msg, "upgrade stargate"), "%s", err.msg);
    set_version_raw(v);
    s = open_store();
    CHECK(sg_store_schema_version(s) == v);
    sg_store_close(s);

    CHECK(sg_store_open("", &s, &err) == SG_ERR_INVALID);
    CHECK(sg_store_open("/etc/passwd/store.db", &s, &err) == SG_ERR_IO); /* a file is in the way */
}

/* ---------------------------------------------- secure delete (SQLite) */

static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    bool found = false;
    if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
        found = memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
    free(buf);
    fclose(f);
    return found;
}

static void checkpoint(const char *path)
{
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
}

static bool db_files_have(const char *path, const char *marker)
{
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    return file_has(path, marker) || file_has(wal, marker);
}

static void test_secure_delete(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/secure.db", dir);
    const char *saved = g_url;
    g_url = path;
    sg_error err = {0};
    sg_store *s = open_store();
    static const char M1[] = "SGMARKER-conversation-7f3a9c1e-ce-texte-doit-disparaitre";
    static const char M2[] = "SGMARKER-erasure-51b2d0aa-this-text-must-be-gone";
    CHECK(sg_store_tenant_create(s, "t", NULL, NULL, &err) == SG_OK);
    int64_t u1, u2;
    CHECK(sg_store_user_create(s, "t", "one", &u1, &err) == SG_OK);
    CHECK(sg_store_user_create(s, "t", "two", &u2, &err) == SG_OK);
    char c1[SG_CONV_ID_MAX], c2[SG_CONV_ID_MAX], keep[SG_CONV_ID_MAX];
    int64_t mid;
    CHECK(sg_store_conv_create(s, u1, "d", M1, c1, &err) == SG_OK);
    CHECK(sg_store_msg_add(s, u1, c1, "user", M1, M1, SG_MSG_COMPLETE, &mid, &err) == SG_OK);
    CHECK(sg_store_conv_create(s, u1, "d", "kept", keep, &err) == SG_OK);
    CHECK(sg_store_msg_add(s, u1, keep, "user", "this one stays", NULL, SG_MSG_COMPLETE, &mid, &err) == SG_OK);
    CHECK(sg_store_conv_create(s, u2, "d", M2, c2, &err) == SG_OK);
    CHECK(sg_store_msg_add(s, u2, c2, "user", M2, NULL, SG_MSG_COMPLETE, &mid, &err) == SG_OK);
    sg_store_close(s);
    checkpoint(path);
    /* the control: the markers are in the file before deletion */
    CHECK(db_files_have(path, M1));
    CHECK(db_files_have(path, M2));

    s = open_store();
    CHECK(sg_store_conv_delete(s, u1, c1, &err) == SG_OK);
    sg_store_close(s);
    checkpoint(path);
    CHECK_MSG(!db_files_have(path, M1), "deleted conversation still readable in %s", path);
    CHECK(db_files_have(path, M2));
    CHECK(db_files_have(path, "this one stays"));

    s = open_store();
    CHECK(sg_store_user_erase(s, u2, "test", &err) == SG_OK);
    sg_store_close(s);
    checkpoint(path);
    CHECK_MSG(!db_files_have(path, M2), "erased user's text still readable in %s", path);
    CHECK(db_files_have(path, "this one stays"));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 077) == 0); /* 0600 */
    g_url = saved;
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/sg-store-test-XXXXXX";
    char path[4096];
    if (argc > 1) {
        g_url = argv[1];
        g_pg = true;
    } else {
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
        snprintf(path, sizeof path, "%s/store.db", dir);
        g_url = path;
    }
    sg_store *s = open_store();
    test_accounts(s);
    test_keys(s);
    test_conversations(s);
    test_rights(s);
    test_concurrency(s);
    sg_store_close(s);
    test_migrations();
    if (!g_pg) {
        test_secure_delete(dir);
        rm_rf(dir);
    }
    printf("test_store (%s): %d passed, %d failed\n", g_pg ? "postgresql" : "sqlite", sg_test_pass, sg_test_fail);
    return sg_test_fail ? 1 : 0;
}
