/*
 * deploy.h -- deployment profiles: one localized assistant per file.
 *
 * A deployment directory holds one JSON file per deployment (format in
 * docs/DEPLOYMENTS.md): id, display name, language/locale/script direction,
 * system prompt and cultural/legal guidance in that language, the model, the
 * default sampling, a content policy (refused topics as keyword lists and
 * PCRE2 regular expressions, with the refusal text in the deployment's
 * language), whether logs redact personal data, a retention period, and the
 * web chat's interface strings in that language.
 *
 * Profiles are validated when loaded; every error names the file and the
 * field ("deployments/fr.json: policy.patterns[2]: ...").
 *
 * Thread safety: a loaded sg_deploy_set is immutable and may be read from any
 * number of threads (matching uses per-call PCRE2 match data).
 */
#ifndef SG_DEPLOY_H
#define SG_DEPLOY_H

#include <stdbool.h>
#include <stddef.h>

#include "stargate.h"

typedef struct sg_deploy_set sg_deploy_set;

typedef struct sg_deploy_ui {
    /* web chat strings in the deployment's language (defaults: English) */
    const char *greeting;     /* shown in an empty conversation     */
    const char *placeholder;  /* message box placeholder            */
    const char *send, *stop, *new_chat, *export_data, *delete_chat, *reasoning;
} sg_deploy_ui;

typedef struct sg_deployment {
    const char *id;           /* [a-z0-9-]{1,32}, e.g. "fr"                           */
    const char *name;         /* display name, e.g. "Assistant France"                */
    const char *language;     /* BCP 47 language, e.g. "fr"                           */
    const char *locale;       /* e.g. "fr-FR"                                         */
    const char *dir;          /* "ltr" or "rtl"                                       */
    const char *model;        /* model name or path given to sg_resolve_model; NULL:
                                 the server's default model                            */
    const char *model_alias;  /* the `model` API id that selects it: "stargate-<id>"
                                 unless set                                            */
    const char *system_prompt;
    const char *guidance;     /* appended to the system prompt; may be NULL            */
    /* default sampling (a request's own fields override them) */
    float temperature, top_p, min_p;
    int top_k, max_tokens;    /* max_tokens 0: up to the context                       */
    const char *refusal;      /* answer when the policy refuses                        */
    bool redact_logs;         /* logs show [email] / [phone] instead of personal data  */
    int retention_days;       /* 0: keep until deleted                                 */
    sg_deploy_ui ui;
} sg_deployment;

/* Load every *.json in dir (sorted by file name). Fails on the first invalid
 * profile, on duplicate ids or model aliases, or when the directory has none. */
sg_status sg_deploy_load_dir(const char *dir, sg_deploy_set **out, sg_error *err);
/* One profile from a buffer (name is used in error messages). */
sg_status sg_deploy_parse(const char *name, const char *json, size_t len, sg_deploy_set **out, sg_error *err);
void sg_deploy_free(sg_deploy_set *s);

int sg_deploy_count(const sg_deploy_set *s);
const sg_deployment *sg_deploy_at(const sg_deploy_set *s, int i);
/* By id ("fr") or model alias ("stargate-fr"); NULL when unknown. */
const sg_deployment *sg_deploy_find(const sg_deploy_set *s, const char *id_or_alias);

/* The system message: system prompt, then a blank line and the guidance.
 * Malloc'd. */
char *sg_deploy_system_message(const sg_deployment *d);
/* Does the policy refuse this user text? Keywords match case-insensitively
 * on word boundaries (Unicode-aware), patterns are PCRE2 (UTF, caseless).
 * *rule (may be NULL) receives the matching rule's index for the audit
 * (-1 when none). A rule that cannot finish within PCRE2's match limit
 * refuses (fails closed). */
bool sg_deploy_refuses(const sg_deployment *d, const char *text, size_t len, int *rule);
/* The policy's rules, numbered as sg_deploy_refuses reports them: the
 * keywords first (policy.keywords[0..]), then the patterns. rule_text gives
 * the keyword or pattern as written (NULL when rule is out of range) and
 * sets *is_keyword (may be NULL). For the audit log. */
int sg_deploy_rule_count(const sg_deployment *d);
const char *sg_deploy_rule_text(const sg_deployment *d, int rule, bool *is_keyword);
/* Copy of text with e-mail addresses replaced by "[email]" and phone numbers
 * by "[phone]" (malloc'd; NULL when out of memory). Used for logs when
 * redact_logs is set. Linear time; the exact rules (what counts as a phone
 * number, what is left alone: years, dates, amounts, IP addresses) are in
 * src/deploy/redact.c and docs/DEPLOYMENTS.md. */
char *sg_redact_pii(const char *text, size_t len);

#endif
