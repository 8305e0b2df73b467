/*
 * store.h -- the deployment store: tenants, users, API keys, usage and
 * limits, conversations and messages, the audit log, people's rights.
 *
 * One schema, two backends behind the same functions:
 *   - SQLite (default): a local file in WAL mode, secure_delete on, so that
 *     deleted rows are overwritten in the database file.
 *   - PostgreSQL through libpq ("postgresql://..." or "postgres://..." URL),
 *     so that several server replicas share one store.
 * Versioned migrations (table schema_version) are applied on open.
 * Every statement uses bound parameters; no SQL is built from input.
 *
 * Thread safety: one sg_store may be used from any number of threads at once
 * (the backends serialise or pool connections internally).
 *
 * Ownership rule: every function that reads or changes a conversation or a
 * message takes the owning user's id and behaves as if the row did not exist
 * (SG_ERR_MISSING) when the row belongs to someone else. Tenant isolation
 * follows: users belong to exactly one tenant.
 *
 * Times are Unix seconds (int64_t). Strings returned inside structs are
 * malloc'd and freed with the matching *_free function.
 */
#ifndef SG_STORE_H
#define SG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stargate.h"

typedef struct sg_store sg_store;

/* The default store when no --db is given: $STARGATE_HOME/stargate.db
 * (STARGATE_HOME defaults to ~/.cache/stargate). Writes into buf. */
const char *sg_store_default_path(char *buf, size_t cap);

/* url: "postgresql://..." / "postgres://..." for PostgreSQL, otherwise a
 * SQLite file path (an optional "sqlite:" prefix is accepted). Creates the
 * SQLite file and applies migrations as needed. */
sg_status sg_store_open(const char *url, sg_store **out, sg_error *err);
void sg_store_close(sg_store *s);
const char *sg_store_backend(const sg_store *s); /* "sqlite" or "postgresql" */
int sg_store_schema_version(sg_store *s);

/* ------------------------------------------------------------- tenants */

typedef struct sg_tenant {
    int64_t id;
    char *name;       /* unique, 1..64 chars [A-Za-z0-9._-] */
    char *deployment; /* default deployment id; may be NULL  */
    bool disabled;
    int64_t created_at;
} sg_tenant;

sg_status sg_store_tenant_create(sg_store *s, const char *name, const char *deployment, int64_t *id,
                                 sg_error *err); /* SG_ERR_INVALID if it exists */
sg_status sg_store_tenant_get(sg_store *s, const char *name, sg_tenant *out, sg_error *err);
sg_status sg_store_tenant_get_id(sg_store *s, int64_t id, sg_tenant *out, sg_error *err);
sg_status sg_store_tenant_list(sg_store *s, sg_tenant **out, int *n, sg_error *err);
sg_status sg_store_tenant_set_disabled(sg_store *s, const char *name, bool disabled, sg_error *err);
sg_status sg_store_tenant_set_deployment(sg_store *s, const char *name, const char *deployment, sg_error *err);
void sg_tenant_free(sg_tenant *t);                /* the strings inside */
void sg_tenant_list_free(sg_tenant *t, int n);    /* strings and array  */

/* --------------------------------------------------------------- users */

typedef struct sg_user {
    int64_t id, tenant_id;
    char *name; /* unique within the tenant */
    bool disabled;
    int64_t created_at;
} sg_user;

sg_status sg_store_user_create(sg_store *s, const char *tenant, const char *name, int64_t *id, sg_error *err);
sg_status sg_store_user_get(sg_store *s, const char *tenant, const char *name, sg_user *out, sg_error *err);
sg_status sg_store_user_list(sg_store *s, const char *tenant, sg_user **out, int *n, sg_error *err);
sg_status sg_store_user_set_disabled(sg_store *s, const char *tenant, const char *name, bool disabled,
                                     sg_error *err);
void sg_user_free(sg_user *u);
void sg_user_list_free(sg_user *u, int n);

/* ---------------------------------------------------------------- keys */

/* "sk-sg-" + 12 lowercase hex (public lookup prefix) + "_" + 43 base64url
 * chars (32 random bytes): 256 secret bits. Only a hash of the secret is
 * stored; the key is returned once, by sg_store_key_create. */
#define SG_KEY_MAX 80

typedef struct sg_key_limits {
    int rpm;                 /* requests per minute, 0: unlimited */
    int64_t tokens_per_day;  /* prompt + completion tokens per UTC day, 0: unlimited */
} sg_key_limits;

typedef struct sg_key_info {
    int64_t id;
    char *prefix;            /* "sk-sg-xxxxxxxxxxxx", safe to show and log */
    int64_t tenant_id, user_id;
    char *tenant, *user;     /* names */
    bool revoked;            /* the key itself */
    bool disabled;           /* its tenant or user is disabled */
    sg_key_limits lim;
    int64_t created_at, last_used_at;
} sg_key_info;

/* user NULL: the tenant's user "default" (created when missing). */
sg_status sg_store_key_create(sg_store *s, const char *tenant, const char *user, const sg_key_limits *lim,
                              char key_out[SG_KEY_MAX], sg_key_info *info, sg_error *err);
sg_status sg_store_key_list(sg_store *s, const char *tenant /* NULL: all */, sg_key_info **out, int *n,
                            sg_error *err);
/* by prefix ("sk-sg-xxxxxxxxxxxx") or numeric id as text */
sg_status sg_store_key_revoke(sg_store *s, const char *which, sg_error *err);
/* The presented key: SG_OK and *out filled when it matches an active key
 * (not revoked, tenant and user enabled); SG_ERR_MISSING otherwise. The
 * hash comparison is constant-time (sodium_memcmp). */
sg_status sg_store_key_verify(sg_store *s, const char *presented, sg_key_info *out, sg_error *err);
/* Is there any key at all (revoked included)? Decides whether auth is on. */
sg_status sg_store_has_keys(sg_store *s, bool *yes, sg_error *err);
void sg_key_info_free(sg_key_info *k);
void sg_key_list_free(sg_key_info *k, int n);

/* ------------------------------------------------------ usage and limits */

/* Before a request: counts it against the key's requests-per-minute and
 * checks its tokens of the current UTC day. SG_OK: allowed (and counted).
 * SG_ERR_INVALID with *retry_after (seconds, >= 1) when a limit is reached.
 * The counters live in the store, so replicas share them. */
sg_status sg_store_limit_take(sg_store *s, const sg_key_info *k, int64_t now, int *retry_after, sg_error *err);
/* After a request: tokens used (per key, user, deployment and day). */
sg_status sg_store_usage_add(sg_store *s, const sg_key_info *k, const char *deployment, int prompt_tokens,
                             int completion_tokens, int64_t now, sg_error *err);

/* ------------------------------------------------ conversations, messages */

#define SG_CONV_ID_MAX 40 /* "c_" + 32 hex: 128 random bits, unguessable */

typedef struct sg_conv {
    char id[SG_CONV_ID_MAX];
    int64_t user_id;
    char *deployment;
    char *title;
    int64_t created_at, updated_at;
} sg_conv;

typedef enum sg_msg_status { SG_MSG_COMPLETE = 0, SG_MSG_STREAMING = 1, SG_MSG_INTERRUPTED = 2 } sg_msg_status;

typedef struct sg_msg {
    int64_t id;
    char *role;      /* system, user, assistant */
    char *content;
    char *reasoning; /* may be NULL */
    sg_msg_status status;
    int64_t created_at;
} sg_msg;

sg_status sg_store_conv_create(sg_store *s, int64_t user_id, const char *deployment, const char *title,
                               char id_out[SG_CONV_ID_MAX], sg_error *err);
/* newest first */
sg_status sg_store_conv_list(sg_store *s, int64_t user_id, sg_conv **out, int *n, sg_error *err);
/* msgs in order; msgs may be NULL to fetch only the header */
sg_status sg_store_conv_get(sg_store *s, int64_t user_id, const char *conv_id, sg_conv *out, sg_msg **msgs,
                            int *n_msgs, sg_error *err);
sg_status sg_store_conv_rename(sg_store *s, int64_t user_id, const char *conv_id, const char *title, sg_error *err);
sg_status sg_store_conv_delete(sg_store *s, int64_t user_id, const char *conv_id, sg_error *err);
void sg_conv_free(sg_conv *c);
void sg_conv_list_free(sg_conv *c, int n);
void sg_msg_list_free(sg_msg *m, int n);

/* Append a message (commits before returning: once SG_OK is returned the
 * message survives a crash). status SG_MSG_STREAMING marks an answer being
 * generated by this server instance (see sg_store_instance_*). */
sg_status sg_store_msg_add(sg_store *s, int64_t user_id, const char *conv_id, const char *role,
                           const char *content, const char *reasoning, sg_msg_status status, int64_t *msg_id,
                           sg_error *err);
/* Final text and status of a streaming message. */
sg_status sg_store_msg_finish(sg_store *s, int64_t user_id, int64_t msg_id, const char *content,
                              const char *reasoning, sg_msg_status status, sg_error *err);

/* Server instances: each running server registers, heartbeats every few
 * seconds, and its STREAMING messages are attached to it. The sweep marks
 * INTERRUPTED the streaming messages of instances whose heartbeat is older
 * than `stale` seconds (a crashed or killed server), never those of live
 * replicas. A server calls it at start-up and periodically. A heartbeat of
 * an instance already swept (a server paused past the stale time) registers
 * it again under the same id; sg_store_instance_end marks its remaining
 * streaming messages INTERRUPTED and removes it. */
sg_status sg_store_instance_register(sg_store *s, int64_t now, int64_t *instance_id, sg_error *err);
sg_status sg_store_instance_heartbeat(sg_store *s, int64_t instance_id, int64_t now, sg_error *err);
sg_status sg_store_instance_end(sg_store *s, int64_t instance_id, sg_error *err);
sg_status sg_store_sweep_interrupted(sg_store *s, int64_t now, int stale, int *n_marked, sg_error *err);
/* The instance that later sg_store_msg_add(..., SG_MSG_STREAMING, ...) calls
 * on this handle attach to (set once after register). */
void sg_store_set_instance(sg_store *s, int64_t instance_id);

/* ------------------------------------------------------ people's rights */

/* Everything stored about a user as one JSON document (malloc'd):
 * {"user":{...},"tenant":"...","keys":[{prefix,created_at,...}],
 *  "conversations":[{id,deployment,title,created_at,updated_at,
 *                    "messages":[{role,content,reasoning,status,created_at}]}],
 *  "usage":[{day,deployment,prompt_tokens,completion_tokens,requests}]}
 * Key hashes are never exported. Writes an audit entry. */
sg_status sg_store_user_export(sg_store *s, int64_t user_id, const char *actor, char **json, sg_error *err);
/* Erase the user: conversations, messages, usage, keys and the user row.
 * Writes an audit entry that names no personal content. */
sg_status sg_store_user_erase(sg_store *s, int64_t user_id, const char *actor, sg_error *err);
/* Delete conversations of a deployment not updated since `cutoff`. */
sg_status sg_store_retention_sweep(sg_store *s, const char *deployment, int64_t cutoff, int *n_deleted,
                                   sg_error *err);

/* ------------------------------------------------------------ audit log */

typedef struct sg_audit {
    int64_t id, at;
    char *actor, *action, *target, *detail;
} sg_audit;

sg_status sg_store_audit(sg_store *s, const char *actor, const char *action, const char *target,
                         const char *detail, sg_error *err);
/* newest first; limit <= 0: 100 */
sg_status sg_store_audit_list(sg_store *s, int limit, sg_audit **out, int *n, sg_error *err);
/* Added: the actor named in the audit entries the store writes itself (every
 * tenant, user and key change, retention sweeps, and exports/erasures called
 * with actor NULL). Default "admin"; a server sets e.g. "server". */
void sg_store_set_actor(sg_store *s, const char *actor);
void sg_audit_list_free(sg_audit *a, int n);

#endif
