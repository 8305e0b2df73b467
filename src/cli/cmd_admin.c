/*
 * cmd_admin.c -- `stargate admin`: tenants, users, API keys, conversations,
 * people's rights (export, erase), retention and the audit log of a
 * deployment store (src/store). Parsing and printing only.
 *
 * A key is printed once, alone on stdout's first line, by `key create`;
 * nothing else ever prints a key or its hash (lists show the prefix).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "store/store.h"

static const char ADMIN_USAGE[] =
    "usage: stargate admin [--db URL] COMMAND ...\n"
    "Manage a deployment store: tenants, users, API keys, conversations, rights.\n"
    "  --db URL   SQLite file (default $STARGATE_HOME/stargate.db) or postgresql://...\n"
    "  --json     JSON output for the listing commands\n"
    "\n"
    "  tenant create NAME [--deployment ID]   a tenant, optionally with its default deployment\n"
    "  tenant list                            tenants, their deployment and status\n"
    "  tenant disable|enable NAME             a disabled tenant's keys stop working\n"
    "  tenant set-deployment NAME ID          the tenant's default deployment ('-' clears it)\n"
    "  user create --tenant T NAME            a user in tenant T\n"
    "  user list --tenant T                   users of tenant T\n"
    "  user disable|enable --tenant T NAME    a disabled user's keys stop working\n"
    "  key create --tenant T [--user U] [--rpm N] [--tokens-per-day N]\n"
    "                                         a new API key (user U, default user 'default');\n"
    "                                         the key alone on stdout's first line, shown only once\n"
    "  key list [--tenant T]                  keys by prefix, owner, limits, status, last use\n"
    "  key revoke PREFIX_OR_ID                revoke a key (sk-sg-xxxxxxxxxxxx or its id)\n"
    "  conversations --tenant T --user U      a user's conversations\n"
    "  conversation show|delete --tenant T --user U ID\n"
    "                                         read (messages, --json) or delete one of them\n"
    "  export --tenant T --user U [-o FILE]   everything stored about a user, as JSON\n"
    "  erase --tenant T --user U              delete a user with their conversations, usage, keys\n"
    "  audit [--limit N]                      the audit log, newest first (default 50)\n"
    "  sweep --deployment ID --days N         delete the deployment's conversations not updated\n"
    "                                         for N days (retention by hand)\n"
    "  migrate                                open the store (applying migrations), print its version\n"
    "Names are 1..64 characters of [A-Za-z0-9._-]. Exports, erasures and every change are audited.\n";

typedef struct admin_opts {
    const char *db, *tenant, *user, *deployment, *out;
    int rpm, limit, days;
    long long tokens_per_day;
    bool json, has_days;
    const char *pos[8];
    int npos;
} admin_opts;

static int parse(int argc, char **argv, admin_opts *o)
{
    memset(o, 0, sizeof *o);
    o->limit = 50;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) o->json = true;
        else if (!strcmp(a, "--db") || !strcmp(a, "--tenant") || !strcmp(a, "--user") || !strcmp(a, "--deployment") ||
                 !strcmp(a, "-o") || !strcmp(a, "--output")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v) return 2;
            if (!strcmp(a, "--db")) o->db = v;
            else if (!strcmp(a, "--tenant")) o->tenant = v;
            else if (!strcmp(a, "--user")) o->user = v;
            else if (!strcmp(a, "--deployment")) o->deployment = v;
            else o->out = v;
        } else if (!strcmp(a, "--rpm") || !strcmp(a, "--limit") || !strcmp(a, "--days")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v) return 2;
            int *dst = !strcmp(a, "--rpm") ? &o->rpm : !strcmp(a, "--limit") ? &o->limit : &o->days;
            if (!cli_int(a, v, !strcmp(a, "--limit") ? 1 : 0, 100000000, dst)) return 2;
            if (!strcmp(a, "--days")) o->has_days = true;
        } else if (!strcmp(a, "--tokens-per-day")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v) return 2;
            char *end;
            errno = 0;
            o->tokens_per_day = strtoll(v, &end, 10);
            if (errno || end == v || *end || o->tokens_per_day < 0) {
                cli_error("option --tokens-per-day: '%s' is not a non-negative integer", v);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            cli_error("unknown option '%s' (stargate admin --help)", a);
            return 2;
        } else {
            if (o->npos == (int)(sizeof o->pos / sizeof o->pos[0])) {
                cli_error("too many arguments (stargate admin --help)");
                return 2;
            }
            o->pos[o->npos++] = a;
        }
    }
    return 0;
}

static void fmt_time(int64_t t, char out[24])
{
    if (t <= 0) {
        snprintf(out, 24, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int print_json(cJSON *v)
{
    char *s = v ? cJSON_Print(v) : NULL;
    cJSON_Delete(v);
    if (!s) return cli_error("out of memory");
    puts(s);
    free(s);
    return 0;
}

static int wrong_args(const char *usage)
{
    cli_error("usage: stargate admin %s", usage);
    return 2;
}

/* 0 when v is set, else one error line naming the option and the usage (2) */
static int need(const char *v, const char *opt, const char *usage)
{
    if (v) return 0;
    cli_error("%s is required (usage: stargate admin %s)", opt, usage);
    return 2;
}

/* ------------------------------------------------------------ tenants */

static int tenant_cmd(sg_store *s, admin_opts *o)
{
    sg_error err = {0};
    const char *sub = o->npos > 1 ? o->pos[1] : "";
    if (!strcmp(sub, "create")) {
        if (o->npos != 3) return wrong_args("tenant create NAME [--deployment ID]");
        int64_t id;
        if (sg_store_tenant_create(s, o->pos[2], o->deployment, &id, &err)) return cli_error_from(&err);
        printf("created tenant %s (id %" PRId64 ")\n", o->pos[2], id);
        return 0;
    }
    if (!strcmp(sub, "list")) {
        sg_tenant *t;
        int n;
        if (sg_store_tenant_list(s, &t, &n, &err)) return cli_error_from(&err);
        if (o->json) {
            cJSON *arr = cJSON_CreateArray();
            for (int i = 0; arr && i < n; i++) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddItemToArray(arr, x);
                cJSON_AddNumberToObject(x, "id", (double)t[i].id);
                cJSON_AddStringToObject(x, "name", t[i].name);
                if (t[i].deployment) cJSON_AddStringToObject(x, "deployment", t[i].deployment);
                else cJSON_AddNullToObject(x, "deployment");
                cJSON_AddBoolToObject(x, "disabled", t[i].disabled);
                cJSON_AddNumberToObject(x, "created_at", (double)t[i].created_at);
            }
            sg_tenant_list_free(t, n);
            return print_json(arr);
        }
        printf("%-24s  %-20s  %-8s  %s\n", "TENANT", "DEPLOYMENT", "STATUS", "CREATED");
        for (int i = 0; i < n; i++) {
            char c[24];
            fmt_time(t[i].created_at, c);
            printf("%-24s  %-20s  %-8s  %s\n", t[i].name, t[i].deployment ? t[i].deployment : "-",
                   t[i].disabled ? "disabled" : "active", c);
        }
        sg_tenant_list_free(t, n);
        return 0;
    }
    if (!strcmp(sub, "disable") || !strcmp(sub, "enable")) {
        if (o->npos != 3) return wrong_args("tenant disable|enable NAME");
        bool off = !strcmp(sub, "disable");
        if (sg_store_tenant_set_disabled(s, o->pos[2], off, &err)) return cli_error_from(&err);
        printf("tenant %s %s\n", o->pos[2], off ? "disabled" : "enabled");
        return 0;
    }
    if (!strcmp(sub, "set-deployment")) {
        if (o->npos != 4) return wrong_args("tenant set-deployment NAME ID");
        const char *d = strcmp(o->pos[3], "-") ? o->pos[3] : NULL;
        if (sg_store_tenant_set_deployment(s, o->pos[2], d, &err)) return cli_error_from(&err);
        printf("tenant %s: deployment %s\n", o->pos[2], d ? d : "cleared");
        return 0;
    }
    cli_error("unknown 'tenant %s' (create, list, disable, enable, set-deployment)", sub);
    return 2;
}

/* -------------------------------------------------------------- users */

static int user_cmd(sg_store *s, admin_opts *o)
{
    sg_error err = {0};
    const char *sub = o->npos > 1 ? o->pos[1] : "";
    if (!strcmp(sub, "create")) {
        if (need(o->tenant, "--tenant", "user create --tenant T NAME")) return 2;
        if (o->npos != 3) return wrong_args("user create --tenant T NAME");
        int64_t id;
        if (sg_store_user_create(s, o->tenant, o->pos[2], &id, &err)) return cli_error_from(&err);
        printf("created user %s in tenant %s (id %" PRId64 ")\n", o->pos[2], o->tenant, id);
        return 0;
    }
    if (!strcmp(sub, "list")) {
        if (need(o->tenant, "--tenant", "user list --tenant T")) return 2;
        if (o->npos != 2) return wrong_args("user list --tenant T");
        sg_user *u;
        int n;
        if (sg_store_user_list(s, o->tenant, &u, &n, &err)) return cli_error_from(&err);
        if (o->json) {
            cJSON *arr = cJSON_CreateArray();
            for (int i = 0; arr && i < n; i++) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddItemToArray(arr, x);
                cJSON_AddNumberToObject(x, "id", (double)u[i].id);
                cJSON_AddStringToObject(x, "name", u[i].name);
                cJSON_AddStringToObject(x, "tenant", o->tenant);
                cJSON_AddBoolToObject(x, "disabled", u[i].disabled);
                cJSON_AddNumberToObject(x, "created_at", (double)u[i].created_at);
            }
            sg_user_list_free(u, n);
            return print_json(arr);
        }
        printf("%-8s  %-24s  %-8s  %s\n", "ID", "USER", "STATUS", "CREATED");
        for (int i = 0; i < n; i++) {
            char c[24];
            fmt_time(u[i].created_at, c);
            printf("%-8" PRId64 "  %-24s  %-8s  %s\n", u[i].id, u[i].name, u[i].disabled ? "disabled" : "active", c);
        }
        sg_user_list_free(u, n);
        return 0;
    }
    if (!strcmp(sub, "disable") || !strcmp(sub, "enable")) {
        if (need(o->tenant, "--tenant", "user disable|enable --tenant T NAME")) return 2;
        if (o->npos != 3) return wrong_args("user disable|enable --tenant T NAME");
        bool off = !strcmp(sub, "disable");
        if (sg_store_user_set_disabled(s, o->tenant, o->pos[2], off, &err)) return cli_error_from(&err);
        printf("user %s of tenant %s %s\n", o->pos[2], o->tenant, off ? "disabled" : "enabled");
        return 0;
    }
    cli_error("unknown 'user %s' (create, list, disable, enable)", sub);
    return 2;
}

/* --------------------------------------------------------------- keys */

static const char *key_status(const sg_key_info *k)
{
    return k->revoked ? "revoked" : k->disabled ? "disabled" : "active";
}

static int key_cmd(sg_store *s, admin_opts *o)
{
    sg_error err = {0};
    const char *sub = o->npos > 1 ? o->pos[1] : "";
    if (!strcmp(sub, "create")) {
        if (need(o->tenant, "--tenant", "key create --tenant T [--user U] [--rpm N] [--tokens-per-day N]")) return 2;
        if (o->npos != 2) return wrong_args("key create --tenant T [--user U] [--rpm N] [--tokens-per-day N]");
        sg_key_limits lim = {o->rpm, o->tokens_per_day};
        char key[SG_KEY_MAX];
        sg_key_info k;
        if (sg_store_key_create(s, o->tenant, o->user, &lim, key, &k, &err)) return cli_error_from(&err);
        printf("%s\n", key);
        fflush(stdout);
        memset(key, 0, sizeof key);
        fprintf(stderr,
                "stargate: created key %s (id %" PRId64 ") for user %s of tenant %s; the key above is shown only "
                "once: store it now\n",
                k.prefix, k.id, k.user, k.tenant);
        sg_key_info_free(&k);
        return 0;
    }
    if (!strcmp(sub, "list")) {
        if (o->npos != 2) return wrong_args("key list [--tenant T]");
        sg_key_info *k;
        int n;
        if (sg_store_key_list(s, o->tenant, &k, &n, &err)) return cli_error_from(&err);
        if (o->json) {
            cJSON *arr = cJSON_CreateArray();
            for (int i = 0; arr && i < n; i++) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddItemToArray(arr, x);
                cJSON_AddNumberToObject(x, "id", (double)k[i].id);
                cJSON_AddStringToObject(x, "prefix", k[i].prefix);
                cJSON_AddStringToObject(x, "tenant", k[i].tenant);
                cJSON_AddStringToObject(x, "user", k[i].user);
                cJSON_AddStringToObject(x, "status", key_status(&k[i]));
                cJSON_AddNumberToObject(x, "rpm", k[i].lim.rpm);
                cJSON_AddNumberToObject(x, "tokens_per_day", (double)k[i].lim.tokens_per_day);
                cJSON_AddNumberToObject(x, "created_at", (double)k[i].created_at);
                cJSON_AddNumberToObject(x, "last_used_at", (double)k[i].last_used_at);
            }
            sg_key_list_free(k, n);
            return print_json(arr);
        }
        printf("%-6s  %-18s  %-16s  %-16s  %-8s  %6s  %14s  %-20s  %s\n", "ID", "PREFIX", "TENANT", "USER", "STATUS",
               "RPM", "TOKENS/DAY", "CREATED", "LAST USED");
        for (int i = 0; i < n; i++) {
            char c[24], u[24];
            fmt_time(k[i].created_at, c);
            fmt_time(k[i].last_used_at, u);
            printf("%-6" PRId64 "  %-18s  %-16s  %-16s  %-8s  %6d  %14" PRId64 "  %-20s  %s\n", k[i].id, k[i].prefix,
                   k[i].tenant, k[i].user, key_status(&k[i]), k[i].lim.rpm, k[i].lim.tokens_per_day, c, u);
        }
        sg_key_list_free(k, n);
        return 0;
    }
    if (!strcmp(sub, "revoke")) {
        if (o->npos != 3) return wrong_args("key revoke PREFIX_OR_ID");
        if (sg_store_key_revoke(s, o->pos[2], &err)) return cli_error_from(&err);
        printf("revoked key %.18s\n", o->pos[2]);
        return 0;
    }
    cli_error("unknown 'key %s' (create, list, revoke)", sub);
    return 2;
}

/* ------------------------------------------- conversations and rights */

static int find_user(sg_store *s, admin_opts *o, const char *usage, sg_user *u)
{
    if (!o->tenant || !o->user || o->npos != 1) return wrong_args(usage);
    sg_error err = {0};
    if (sg_store_user_get(s, o->tenant, o->user, u, &err)) return cli_error_from(&err);
    return 0;
}

static int conversations_cmd(sg_store *s, admin_opts *o)
{
    sg_user u;
    int rc = find_user(s, o, "conversations --tenant T --user U", &u);
    if (rc) return rc;
    sg_error err = {0};
    sg_conv *c;
    int n;
    if (sg_store_conv_list(s, u.id, &c, &n, &err)) {
        sg_user_free(&u);
        return cli_error_from(&err);
    }
    sg_user_free(&u);
    if (o->json) {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; arr && i < n; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, x);
            cJSON_AddStringToObject(x, "id", c[i].id);
            if (c[i].deployment) cJSON_AddStringToObject(x, "deployment", c[i].deployment);
            else cJSON_AddNullToObject(x, "deployment");
            if (c[i].title) cJSON_AddStringToObject(x, "title", c[i].title);
            else cJSON_AddNullToObject(x, "title");
            cJSON_AddNumberToObject(x, "created_at", (double)c[i].created_at);
            cJSON_AddNumberToObject(x, "updated_at", (double)c[i].updated_at);
        }
        sg_conv_list_free(c, n);
        return print_json(arr);
    }
    printf("%-34s  %-20s  %-20s  %s\n", "ID", "DEPLOYMENT", "UPDATED", "TITLE");
    for (int i = 0; i < n; i++) {
        char t[24];
        fmt_time(c[i].updated_at, t);
        printf("%-34s  %-20s  %-20s  %s\n", c[i].id, c[i].deployment ? c[i].deployment : "-", t,
               c[i].title ? c[i].title : "");
    }
    sg_conv_list_free(c, n);
    return 0;
}

/* conversation show|delete --tenant T --user U ID */
static int conversation_cmd(sg_store *s, admin_opts *o)
{
    static const char usage[] = "conversation show|delete --tenant T --user U ID";
    if (o->npos != 3 || (strcmp(o->pos[1], "show") && strcmp(o->pos[1], "delete")) || !o->tenant || !o->user)
        return wrong_args(usage);
    sg_user u;
    sg_error err = {0};
    if (sg_store_user_get(s, o->tenant, o->user, &u, &err)) return cli_error_from(&err);
    const char *id = o->pos[2];
    if (!strcmp(o->pos[1], "delete")) {
        sg_status st = sg_store_conv_delete(s, u.id, id, &err);
        sg_user_free(&u);
        if (st) return cli_error_from(&err);
        printf("deleted conversation %s of user %s (tenant %s)\n", id, o->user, o->tenant);
        return 0;
    }
    sg_conv c;
    sg_msg *m;
    int n;
    sg_status st = sg_store_conv_get(s, u.id, id, &c, &m, &n, &err);
    sg_user_free(&u);
    if (st) return cli_error_from(&err);
    static const char *const status[] = {"complete", "streaming", "interrupted"};
    if (o->json) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", c.id);
        if (c.deployment) cJSON_AddStringToObject(x, "deployment", c.deployment);
        else cJSON_AddNullToObject(x, "deployment");
        cJSON_AddStringToObject(x, "title", c.title ? c.title : "");
        cJSON_AddNumberToObject(x, "created_at", (double)c.created_at);
        cJSON_AddNumberToObject(x, "updated_at", (double)c.updated_at);
        cJSON *arr = cJSON_AddArrayToObject(x, "messages");
        for (int i = 0; arr && i < n; i++) {
            cJSON *y = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, y);
            cJSON_AddStringToObject(y, "role", m[i].role);
            cJSON_AddStringToObject(y, "content", m[i].content ? m[i].content : "");
            if (m[i].reasoning) cJSON_AddStringToObject(y, "reasoning_content", m[i].reasoning);
            cJSON_AddStringToObject(y, "status", status[m[i].status]);
            cJSON_AddNumberToObject(y, "created_at", (double)m[i].created_at);
        }
        sg_msg_list_free(m, n);
        sg_conv_free(&c);
        return print_json(x);
    }
    printf("conversation %s (%s) %s\n", c.id, c.deployment ? c.deployment : "-", c.title ? c.title : "");
    for (int i = 0; i < n; i++) {
        char t[24];
        fmt_time(m[i].created_at, t);
        printf("\n[%s] %s%s%s\n%s\n", t, m[i].role, m[i].status == SG_MSG_COMPLETE ? "" : " - ",
               m[i].status == SG_MSG_COMPLETE ? "" : status[m[i].status], m[i].content ? m[i].content : "");
    }
    sg_msg_list_free(m, n);
    sg_conv_free(&c);
    return 0;
}

static void actor_name(char *out, size_t cap)
{
    const char *u = getenv("USER");
    snprintf(out, cap, "admin:%s", u && *u ? u : "cli");
}

static int export_cmd(sg_store *s, admin_opts *o)
{
    sg_user u;
    int rc = find_user(s, o, "export --tenant T --user U [-o FILE]", &u);
    if (rc) return rc;
    char actor[96];
    actor_name(actor, sizeof actor);
    sg_error err = {0};
    char *json;
    sg_status st = sg_store_user_export(s, u.id, actor, &json, &err);
    sg_user_free(&u);
    if (st) return cli_error_from(&err);
    if (!o->out || !strcmp(o->out, "-")) {
        puts(json);
        free(json);
        return 0;
    }
    int fd = open(o->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        free(json);
        return cli_error("cannot write %s: %s", o->out, strerror(errno));
    }
    bool ok = fputs(json, f) >= 0 && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    free(json);
    if (!ok) return cli_error("cannot write %s: %s", o->out, strerror(errno));
    fprintf(stderr, "stargate: exported user %s of tenant %s to %s\n", o->user, o->tenant, o->out);
    return 0;
}

static int erase_cmd(sg_store *s, admin_opts *o)
{
    sg_user u;
    int rc = find_user(s, o, "erase --tenant T --user U", &u);
    if (rc) return rc;
    char actor[96];
    actor_name(actor, sizeof actor);
    sg_error err = {0};
    sg_status st = sg_store_user_erase(s, u.id, actor, &err);
    sg_user_free(&u);
    if (st) return cli_error_from(&err);
    printf("erased user %s of tenant %s (conversations, messages, usage, keys)\n", o->user, o->tenant);
    return 0;
}

static int audit_cmd(sg_store *s, admin_opts *o)
{
    if (o->npos != 1) return wrong_args("audit [--limit N]");
    sg_error err = {0};
    sg_audit *a;
    int n;
    if (sg_store_audit_list(s, o->limit, &a, &n, &err)) return cli_error_from(&err);
    if (o->json) {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; arr && i < n; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddItemToArray(arr, x);
            cJSON_AddNumberToObject(x, "id", (double)a[i].id);
            cJSON_AddNumberToObject(x, "at", (double)a[i].at);
            cJSON_AddStringToObject(x, "actor", a[i].actor ? a[i].actor : "");
            cJSON_AddStringToObject(x, "action", a[i].action ? a[i].action : "");
            if (a[i].target) cJSON_AddStringToObject(x, "target", a[i].target);
            else cJSON_AddNullToObject(x, "target");
            if (a[i].detail) cJSON_AddStringToObject(x, "detail", a[i].detail);
            else cJSON_AddNullToObject(x, "detail");
        }
        sg_audit_list_free(a, n);
        return print_json(arr);
    }
    printf("%-20s  %-16s  %-22s  %-24s  %s\n", "AT", "ACTOR", "ACTION", "TARGET", "DETAIL");
    for (int i = 0; i < n; i++) {
        char t[24];
        fmt_time(a[i].at, t);
        printf("%-20s  %-16s  %-22s  %-24s  %s\n", t, a[i].actor ? a[i].actor : "", a[i].action ? a[i].action : "",
               a[i].target ? a[i].target : "-", a[i].detail ? a[i].detail : "");
    }
    sg_audit_list_free(a, n);
    return 0;
}

static int sweep_cmd(sg_store *s, admin_opts *o)
{
    if (o->npos != 1 || !o->deployment || !o->has_days) return wrong_args("sweep --deployment ID --days N");
    int64_t cutoff = (int64_t)time(NULL) - (int64_t)o->days * 86400;
    sg_error err = {0};
    int n = 0;
    if (sg_store_retention_sweep(s, o->deployment, cutoff, &n, &err)) return cli_error_from(&err);
    printf("deleted %d conversation%s of deployment %s not updated for %d days\n", n, n == 1 ? "" : "s",
           o->deployment, o->days);
    return 0;
}

int cmd_admin(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(ADMIN_USAGE, stdout);
            return 0;
        }
    admin_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    if (o.npos == 0) {
        fputs(ADMIN_USAGE, stderr);
        return 2;
    }
    const char *cmd = o.pos[0];
    static const char *const known[] = {"tenant", "user", "key", "conversations", "conversation", "export", "erase",
                                        "audit", "sweep", "migrate", NULL};
    bool ok = false;
    for (int i = 0; known[i]; i++) ok = ok || !strcmp(cmd, known[i]);
    if (!ok) {
        cli_error("unknown admin command '%s' (stargate admin --help)", cmd);
        return 2;
    }
    char path[4096];
    const char *url = o.db ? o.db : sg_store_default_path(path, sizeof path);
    sg_store *s;
    sg_error err = {0};
    if (sg_store_open(url, &s, &err)) return cli_error_from(&err);
    char actor[96];
    actor_name(actor, sizeof actor);
    sg_store_set_actor(s, actor);
    if (!strcmp(cmd, "tenant")) rc = tenant_cmd(s, &o);
    else if (!strcmp(cmd, "user")) rc = user_cmd(s, &o);
    else if (!strcmp(cmd, "key")) rc = key_cmd(s, &o);
    else if (!strcmp(cmd, "conversations")) rc = conversations_cmd(s, &o);
    else if (!strcmp(cmd, "conversation")) rc = conversation_cmd(s, &o);
    else if (!strcmp(cmd, "export")) rc = export_cmd(s, &o);
    else if (!strcmp(cmd, "erase")) rc = erase_cmd(s, &o);
    else if (!strcmp(cmd, "audit")) rc = audit_cmd(s, &o);
    else if (!strcmp(cmd, "sweep")) rc = sweep_cmd(s, &o);
    else {
        if (o.npos != 1) rc = wrong_args("migrate");
        else
            printf("schema version %d (%s%s%s)\n", sg_store_schema_version(s), sg_store_backend(s),
                   strcmp(sg_store_backend(s), "sqlite") ? "" : ": ", strcmp(sg_store_backend(s), "sqlite") ? "" : url);
    }
    sg_store_close(s);
    return rc;
}
