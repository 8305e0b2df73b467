/*
 * deploy.c -- deployment profiles: JSON parsing, strict validation, lookups,
 * system message composition and the content policy (PCRE2).
 *
 * A profile is parsed with cJSON and checked field by field; every error
 * names the file and the field path ("fr.json: policy.patterns[2]: ...").
 * Unknown keys are errors so that a typo never silently drops a setting.
 * The parsed cJSON tree stays alive with the deployment: the public string
 * fields point into it. Policy rules are compiled once at load (JIT when the
 * CPU has it); matching creates its own match data per call, so a loaded set
 * is read-only and may be shared by any number of threads.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "deploy/deploy.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/file.h"

#define DP_MAX_FILE (1u << 20)      /* a profile file: 1 MiB               */
#define DP_MAX_STRING (64u << 10)   /* one string value: 64 KiB            */
#define DP_MAX_RULES 1000           /* keywords + patterns                 */
#define DP_MAX_RETENTION 36500      /* days (100 years)                    */
#define DP_MATCH_LIMIT 2000000      /* PCRE2 backtracking steps per rule   */
#define DP_DEPTH_LIMIT 100000

typedef struct dp_rule {
    pcre2_code *re;
    const char *src; /* the keyword or pattern as written (points into the cJSON tree) */
} dp_rule;

typedef struct dp_item {
    sg_deployment d; /* first member: a const sg_deployment * from a set is a dp_item * */
    cJSON *root;
    char *alias;     /* owned default alias "stargate-<id>" (NULL when set in the file) */
    char *file;      /* name used in messages                                           */
    dp_rule *rules;  /* keywords first, then patterns                                   */
    int n_rules, n_keywords;
    pcre2_match_context *mctx; /* limits; read-only after load                      */
} dp_item;

struct sg_deploy_set {
    dp_item **items;
    int n, cap;
};

/* ---- error helpers ---------------------------------------------------- */

typedef struct dp_ctx {
    const char *file;
    sg_error *err;
} dp_ctx;

static sg_status dp_fail(dp_ctx *c, sg_status code, const char *path, const char *fmt, ...) SG_PRINTF(4, 5);

static sg_status dp_fail(dp_ctx *c, sg_status code, const char *path, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && *path) return sg_fail(c->err, code, "%s: %s: %s", c->file, path, msg);
    return sg_fail(c->err, code, "%s: %s", c->file, msg);
}

/* A key or value quoted for an error message: printable ASCII as is, other
 * bytes as \xNN, at most about 40 characters. */
static void dp_quote(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 8 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (i >= 40) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
            out[o++] = (char)ch;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        }
    }
    out[o] = 0;
}

static const char *dp_type_name(const cJSON *v)
{
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "an invalid value";
}

/* ---- UTF-8 ------------------------------------------------------------ */

static size_t dp_utf8_check(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (len - i < n) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += n;
    }
    return len;
}

/* ---- BCP 47 ----------------------------------------------------------- */

static bool dp_all(const char *s, size_t n, int (*pred)(int))
{
    for (size_t i = 0; i < n; i++)
        if (!pred((unsigned char)s[i])) return false;
    return true;
}
static int dp_isalpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int dp_isdigit(int c) { return c >= '0' && c <= '9'; }
static int dp_isalnum(int c) { return dp_isalpha(c) || dp_isdigit(c); }

static bool dp_bcp47_ok(const char *tag)
{
    size_t total = strlen(tag);
    if (total == 0 || total > 64) return false;
    /* subtags */
    const char *sub[40];
    size_t len[40];
    int n = 0;
    for (const char *p = tag;;) {
        const char *e = strchr(p, '-');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l < 1 || l > 8 || !dp_all(p, l, dp_isalnum) || n == 40) return false;
        sub[n] = p, len[n++] = l;
        if (!e) break;
        p = e + 1;
    }
    int i = 0;
    if (!(len[0] >= 2 && len[0] <= 3 && dp_all(sub[0], len[0], dp_isalpha))) return false;
    i = 1;
    for (int k = 0; k < 3 && i < n && len[i] == 3 && dp_all(sub[i], 3, dp_isalpha); k++) i++; /* extlang */
    if (i < n && len[i] == 4 && dp_all(sub[i], 4, dp_isalpha)) i++;                             /* script  */
    if (i < n && ((len[i] == 2 && dp_all(sub[i], 2, dp_isalpha)) || (len[i] == 3 && dp_all(sub[i], 3, dp_isdigit))))
        i++;                                                                                    /* region  */
    while (i < n && (len[i] >= 5 || (len[i] == 4 && dp_isdigit((unsigned char)sub[i][0])))) i++; /* variants */
    while (i < n && len[i] == 1 && sub[i][0] != 'x' && sub[i][0] != 'X') {                    /* extensions */
        int k = i + 1;
        while (k < n && len[k] >= 2) k++;
        if (k == i + 1) return false;
        i = k;
    }
    if (i < n && len[i] == 1 && (sub[i][0] == 'x' || sub[i][0] == 'X')) { /* private use */
        if (i + 1 == n) return false;
        i = n;
    }
    return i == n;
}

/* Script direction when the profile does not say: right-to-left for the
 * languages usually written in Arabic, Hebrew or Thaana script, unless the
 * tag names another script. */
static const char *dp_default_dir(const char *lang)
{
    static const char *const rtl[] = {"ar", "he", "iw", "fa", "ur", "ps", "yi", "dv", "ckb", "sd", "ug", "syr", "arc"};
    const char *dash = strchr(lang, '-');
    size_t pl = dash ? (size_t)(dash - lang) : strlen(lang);
    bool is_rtl = false;
    for (size_t k = 0; k < sizeof rtl / sizeof *rtl; k++)
        if (strlen(rtl[k]) == pl && strncasecmp(rtl[k], lang, pl) == 0) is_rtl = true;
    for (const char *p = dash; p; p = strchr(p + 1, '-')) {
        const char *q = strchr(p + 1, '-');
        size_t l = q ? (size_t)(q - p - 1) : strlen(p + 1);
        if (l == 4) {
            if (!strncasecmp(p + 1, "Arab", 4) || !strncasecmp(p + 1, "Hebr", 4) || !strncasecmp(p + 1, "Thaa", 4) ||
                !strncasecmp(p + 1, "Syrc", 4))
                is_rtl = true;
            else
                is_rtl = false;
            break;
        }
    }
    return is_rtl ? "rtl" : "ltr";
}

/* ---- field access ----------------------------------------------------- */

/* Checks that every key of obj is one of keys[] (n <= 32) and appears once. */
static sg_status dp_check_keys(dp_ctx *c, const cJSON *obj, const char *path, const char *const *keys, int n)
{
    uint32_t seen = 0;
    for (const cJSON *it = obj->child; it; it = it->next) {
        char q[200];
        dp_quote(it->string ? it->string : "", q, sizeof q);
        int k = 0;
        while (k < n && (!it->string || strcmp(it->string, keys[k]) != 0)) k++;
        if (k == n) {
            char known[300];
            size_t o = 0;
            known[0] = 0;
            for (int j = 0; j < n && o < sizeof known; j++)
                o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", j ? ", " : "", keys[j]);
            return dp_fail(c, SG_ERR_FORMAT, path, "unknown key \"%s\" (expected one of: %s)", q, known);
        }
        if (seen & (1u << k)) return dp_fail(c, SG_ERR_FORMAT, path, "duplicate key \"%s\"", q);
        seen |= 1u << k;
    }
    return SG_OK;
}

static void dp_join(char *out, size_t cap, const char *parent, const char *key)
{
    if (parent && *parent)
        snprintf(out, cap, "%s.%s", parent, key);
    else
        snprintf(out, cap, "%s", key);
}

/* A string value: present or not (*out NULL), null counts as absent when
 * optional. Checks type, UTF-8, size, and non-emptiness when asked. */
static sg_status dp_string(dp_ctx *c, const cJSON *obj, const char *parent, const char *key, bool required,
                           bool nonempty, const char **out)
{
    char path[160];
    dp_join(path, sizeof path, parent, key);
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || (!required && cJSON_IsNull(v))) {
        if (required) return dp_fail(c, SG_ERR_MISSING, path, "required field is missing");
        return SG_OK;
    }
    if (!cJSON_IsString(v) || !v->valuestring)
        return dp_fail(c, SG_ERR_FORMAT, path, "expected a string, got %s", dp_type_name(v));
    size_t len = strlen(v->valuestring);
    if (len > DP_MAX_STRING)
        return dp_fail(c, SG_ERR_FORMAT, path, "string of %zu bytes is longer than the limit of %u bytes", len,
                       DP_MAX_STRING);
    size_t bad = dp_utf8_check(v->valuestring, len);
    if (bad != len) return dp_fail(c, SG_ERR_FORMAT, path, "invalid UTF-8 at byte %zu", bad);
    if (nonempty) {
        size_t k = 0;
        while (k < len && strchr(" \t\r\n", v->valuestring[k])) k++;
        if (k == len) return dp_fail(c, SG_ERR_FORMAT, path, "must not be empty");
    }
    *out = v->valuestring;
    return SG_OK;
}

/* A number in [lo, hi]; lo_open/hi_open exclude the bound; integer asks for
 * a whole number. Absent: *out untouched. */
static sg_status dp_number(dp_ctx *c, const cJSON *obj, const char *parent, const char *key, double lo, bool lo_open,
                           double hi, bool hi_open, bool integer, double *out)
{
    char path[160];
    dp_join(path, sizeof path, parent, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return SG_OK;
    if (!cJSON_IsNumber(v)) return dp_fail(c, SG_ERR_FORMAT, path, "expected a number, got %s", dp_type_name(v));
    double x = v->valuedouble;
    if (!isfinite(x)) return dp_fail(c, SG_ERR_FORMAT, path, "must be a finite number");
    if (integer && x != floor(x)) return dp_fail(c, SG_ERR_FORMAT, path, "must be a whole number, got %g", x);
    if ((lo_open ? x <= lo : x < lo) || (hi_open ? x >= hi : x > hi))
        return dp_fail(c, SG_ERR_FORMAT, path, "%g is out of range: must be %s%g and %s%g", x, lo_open ? "> " : ">= ",
                       lo, hi_open ? "< " : "<= ", hi);
    *out = x;
    return SG_OK;
}

static sg_status dp_object(dp_ctx *c, const cJSON *obj, const char *key, bool required, const cJSON **out)
{
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) {
        if (required) return dp_fail(c, SG_ERR_MISSING, key, "required object is missing");
        return SG_OK;
    }
    if (!cJSON_IsObject(v)) return dp_fail(c, SG_ERR_FORMAT, key, "expected an object, got %s", dp_type_name(v));
    *out = v;
    return SG_OK;
}

/* ---- policy rules ----------------------------------------------------- */

static sg_status dp_compile(dp_ctx *c, const char *path, const char *pattern, size_t len, pcre2_code **out)
{
    int ec;
    PCRE2_SIZE off;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, opts, &ec, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[200];
        if (pcre2_get_error_message(ec, msg, sizeof msg) < 0) snprintf((char *)msg, sizeof msg, "error %d", ec);
        return dp_fail(c, SG_ERR_FORMAT, path, "regular expression does not compile (PCRE2 error at offset %zu: %s)",
                       (size_t)off, (const char *)msg);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT the interpreter runs it */
    /* A rule that matches the empty text would refuse every message. */
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) {
        pcre2_code_free(re);
        return dp_fail(c, SG_ERR_NOMEM, path, "out of memory");
    }
    int rc = pcre2_match(re, (PCRE2_SPTR) "", 0, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    if (rc >= 0) {
        pcre2_code_free(re);
        return dp_fail(c, SG_ERR_FORMAT, path, "regular expression matches the empty text (it would refuse everything)");
    }
    *out = re;
    return SG_OK;
}

/* Keyword -> (?<!\w)kw(?!\w): ASCII punctuation escaped, whitespace runs as
 * \s+, other bytes (letters, UTF-8) literal. Caller frees. */
static char *dp_keyword_pattern(const char *kw, size_t *plen)
{
    size_t n = strlen(kw);
    while (n && strchr(" \t\r\n", kw[n - 1])) n--;
    size_t i = 0;
    while (i < n && strchr(" \t\r\n", kw[i])) i++;
    char *p = malloc(2 * (n - i) + 32);
    if (!p) return NULL;
    size_t o = 0;
    memcpy(p, "(?<!\\w)", 7);
    o = 7;
    while (i < n) {
        unsigned char ch = (unsigned char)kw[i];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
            while (i < n && strchr(" \t\r\n", kw[i])) i++;
            memcpy(p + o, "\\s+", 3);
            o += 3;
            continue;
        }
        if (ch < 0x80 && !dp_isalnum(ch)) p[o++] = '\\';
        p[o++] = (char)ch;
        i++;
    }
    memcpy(p + o, "(?!\\w)", 6);
    o += 6;
    p[o] = 0;
    *plen = o;
    return p;
}

static sg_status dp_rules(dp_ctx *c, dp_item *it, const cJSON *policy)
{
    const cJSON *kw = cJSON_GetObjectItemCaseSensitive(policy, "keywords");
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(policy, "patterns");
    if (kw && !cJSON_IsArray(kw))
        return dp_fail(c, SG_ERR_FORMAT, "policy.keywords", "expected an array of strings, got %s", dp_type_name(kw));
    if (pt && !cJSON_IsArray(pt))
        return dp_fail(c, SG_ERR_FORMAT, "policy.patterns", "expected an array of strings, got %s", dp_type_name(pt));
    /* count without cJSON_GetArraySize's int overflow concerns, stopping early */
    int nk = 0, np = 0;
    for (const cJSON *e = kw ? kw->child : NULL; e && nk <= DP_MAX_RULES; e = e->next) nk++;
    for (const cJSON *e = pt ? pt->child : NULL; e && np <= DP_MAX_RULES; e = e->next) np++;
    if (nk + np > DP_MAX_RULES)
        return dp_fail(c, SG_ERR_FORMAT, "policy", "more than %d rules (keywords + patterns)", DP_MAX_RULES);
    it->rules = calloc((size_t)(nk + np) + 1, sizeof *it->rules);
    if (!it->rules) return dp_fail(c, SG_ERR_NOMEM, "policy", "out of memory");
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *arr = pass == 0 ? kw : pt;
        const char *what = pass == 0 ? "keywords" : "patterns";
        int idx = 0;
        for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next, idx++) {
            char path[64];
            snprintf(path, sizeof path, "policy.%s[%d]", what, idx);
            if (!cJSON_IsString(e) || !e->valuestring)
                return dp_fail(c, SG_ERR_FORMAT, path, "expected a string, got %s", dp_type_name(e));
            size_t len = strlen(e->valuestring);
            if (len > DP_MAX_STRING)
                return dp_fail(c, SG_ERR_FORMAT, path, "string of %zu bytes is longer than the limit of %u bytes", len,
                               DP_MAX_STRING);
            size_t bad = dp_utf8_check(e->valuestring, len);
            if (bad != len) return dp_fail(c, SG_ERR_FORMAT, path, "invalid UTF-8 at byte %zu", bad);
            size_t k = 0;
            while (k < len && strchr(" \t\r\n", e->valuestring[k])) k++;
            if (k == len) return dp_fail(c, SG_ERR_FORMAT, path, "must not be empty");
            pcre2_code *re = NULL;
            sg_status st;
            if (pass == 0) {
                size_t plen;
                char *p = dp_keyword_pattern(e->valuestring, &plen);
                if (!p) return dp_fail(c, SG_ERR_NOMEM, path, "out of memory");
                st = dp_compile(c, path, p, plen, &re);
                free(p);
            } else {
                st = dp_compile(c, path, e->valuestring, len, &re);
            }
            if (st != SG_OK) return st;
            it->rules[it->n_rules].re = re;
            it->rules[it->n_rules].src = e->valuestring;
            it->n_rules++;
        }
        if (pass == 0) it->n_keywords = it->n_rules;
    }
    it->mctx = pcre2_match_context_create(NULL);
    if (!it->mctx) return dp_fail(c, SG_ERR_NOMEM, "policy", "out of memory");
    pcre2_set_match_limit(it->mctx, DP_MATCH_LIMIT);
    pcre2_set_depth_limit(it->mctx, DP_DEPTH_LIMIT);
    return SG_OK;
}

/* ---- one profile ------------------------------------------------------ */

static void dp_item_free(dp_item *it)
{
    if (!it) return;
    for (int i = 0; i < it->n_rules; i++) pcre2_code_free(it->rules[i].re);
    free(it->rules);
    if (it->mctx) pcre2_match_context_free(it->mctx);
    cJSON_Delete(it->root);
    free(it->alias);
    free(it->file);
    free(it);
}

static bool dp_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || dp_isdigit((unsigned char)s[i]) || s[i] == '-')) return false;
    return true;
}

static bool dp_alias_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!dp_isalnum((unsigned char)s[i]) && !strchr("-._:/", s[i])) return false;
    return true;
}

static sg_status dp_parse_root(dp_ctx *c, dp_item *it, const cJSON *root)
{
    static const char *const top_keys[] = {"id",       "name",     "language", "locale", "dir",     "model",
                                           "model_alias", "system_prompt", "guidance", "sampling", "policy",
                                           "privacy",  "ui"};
    static const char *const sampling_keys[] = {"temperature", "top_p", "min_p", "top_k", "max_tokens"};
    static const char *const policy_keys[] = {"refusal", "keywords", "patterns"};
    static const char *const privacy_keys[] = {"redact_logs", "retention_days"};
    static const char *const ui_keys[] = {"greeting", "placeholder", "send",        "stop",
                                          "new_chat", "export_data", "delete_chat", "reasoning"};
    sg_deployment *d = &it->d;
    sg_status st;
    if (!cJSON_IsObject(root)) return dp_fail(c, SG_ERR_FORMAT, NULL, "expected a JSON object, got %s", dp_type_name(root));
    if ((st = dp_check_keys(c, root, "", top_keys, (int)(sizeof top_keys / sizeof *top_keys)))) return st;

    if ((st = dp_string(c, root, "", "id", true, true, &d->id))) return st;
    if (!dp_id_ok(d->id)) {
        char q[200];
        dp_quote(d->id, q, sizeof q);
        return dp_fail(c, SG_ERR_FORMAT, "id", "\"%s\" is not a valid id (1 to 32 of a-z, 0-9 and -)", q);
    }
    if ((st = dp_string(c, root, "", "name", true, true, &d->name))) return st;
    if ((st = dp_string(c, root, "", "language", true, true, &d->language))) return st;
    if (!dp_bcp47_ok(d->language)) {
        char q[200];
        dp_quote(d->language, q, sizeof q);
        return dp_fail(c, SG_ERR_FORMAT, "language", "\"%s\" is not a BCP 47 language tag (e.g. \"fr\", \"zh-Hant\")", q);
    }
    if ((st = dp_string(c, root, "", "locale", false, true, &d->locale))) return st;
    if (d->locale) {
        char q[200];
        dp_quote(d->locale, q, sizeof q);
        if (!dp_bcp47_ok(d->locale))
            return dp_fail(c, SG_ERR_FORMAT, "locale", "\"%s\" is not a BCP 47 tag (e.g. \"fr-FR\")", q);
        size_t pl = strcspn(d->language, "-");
        if (strcspn(d->locale, "-") != pl || strncasecmp(d->locale, d->language, pl) != 0)
            return dp_fail(c, SG_ERR_FORMAT, "locale", "\"%s\" is not a locale of the language \"%s\"", q, d->language);
    } else {
        d->locale = d->language;
    }
    if ((st = dp_string(c, root, "", "dir", false, false, &d->dir))) return st;
    if (d->dir) {
        if (strcmp(d->dir, "ltr") != 0 && strcmp(d->dir, "rtl") != 0) {
            char q[200];
            dp_quote(d->dir, q, sizeof q);
            return dp_fail(c, SG_ERR_FORMAT, "dir", "\"%s\" must be \"ltr\" or \"rtl\"", q);
        }
    } else {
        d->dir = dp_default_dir(d->language);
    }
    if ((st = dp_string(c, root, "", "model", false, true, &d->model))) return st;
    if ((st = dp_string(c, root, "", "model_alias", false, true, &d->model_alias))) return st;
    if (d->model_alias) {
        if (!dp_alias_ok(d->model_alias)) {
            char q[200];
            dp_quote(d->model_alias, q, sizeof q);
            return dp_fail(c, SG_ERR_FORMAT, "model_alias",
                           "\"%s\" is not a valid alias (1 to 64 of A-Z, a-z, 0-9 and - . _ : /)", q);
        }
    } else {
        size_t n = strlen(d->id) + sizeof "stargate-";
        it->alias = malloc(n);
        if (!it->alias) return dp_fail(c, SG_ERR_NOMEM, NULL, "out of memory");
        snprintf(it->alias, n, "stargate-%s", d->id);
        d->model_alias = it->alias;
    }
    if ((st = dp_string(c, root, "", "system_prompt", true, true, &d->system_prompt))) return st;
    if ((st = dp_string(c, root, "", "guidance", false, true, &d->guidance))) return st;

    /* sampling: the defaults are the sampler's own (sg_sampler_default_params) */
    double temperature = 0.8, top_p = 0.95, min_p = 0.05, top_k = 40, max_tokens = 0;
    const cJSON *o;
    if ((st = dp_object(c, root, "sampling", false, &o))) return st;
    if (o) {
        if ((st = dp_check_keys(c, o, "sampling", sampling_keys, 5))) return st;
        if ((st = dp_number(c, o, "sampling", "temperature", 0, false, 2, false, false, &temperature))) return st;
        if ((st = dp_number(c, o, "sampling", "top_p", 0, true, 1, false, false, &top_p))) return st;
        if ((st = dp_number(c, o, "sampling", "min_p", 0, false, 1, true, false, &min_p))) return st;
        if ((st = dp_number(c, o, "sampling", "top_k", 0, false, 1e9, false, true, &top_k))) return st;
        if ((st = dp_number(c, o, "sampling", "max_tokens", 0, false, 1e9, false, true, &max_tokens))) return st;
    }
    d->temperature = (float)temperature, d->top_p = (float)top_p, d->min_p = (float)min_p;
    d->top_k = (int)top_k, d->max_tokens = (int)max_tokens;

    if ((st = dp_object(c, root, "policy", true, &o))) return st;
    if ((st = dp_check_keys(c, o, "policy", policy_keys, 3))) return st;
    if ((st = dp_string(c, o, "policy", "refusal", true, true, &d->refusal))) return st;
    if ((st = dp_rules(c, it, o))) return st;

    d->redact_logs = true;
    d->retention_days = 0;
    if ((st = dp_object(c, root, "privacy", false, &o))) return st;
    if (o) {
        if ((st = dp_check_keys(c, o, "privacy", privacy_keys, 2))) return st;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "redact_logs");
        if (v) {
            if (!cJSON_IsBool(v))
                return dp_fail(c, SG_ERR_FORMAT, "privacy.redact_logs", "expected a boolean, got %s", dp_type_name(v));
            d->redact_logs = cJSON_IsTrue(v);
        }
        double days = 0;
        if ((st = dp_number(c, o, "privacy", "retention_days", 0, false, DP_MAX_RETENTION, false, true, &days))) return st;
        d->retention_days = (int)days;
    }

    d->ui = (sg_deploy_ui){
        .greeting = "How can I help you today?",
        .placeholder = "Write a message\xe2\x80\xa6",
        .send = "Send",
        .stop = "Stop",
        .new_chat = "New chat",
        .export_data = "Export my data",
        .delete_chat = "Delete conversation",
        .reasoning = "Reasoning",
    };
    if ((st = dp_object(c, root, "ui", false, &o))) return st;
    if (o) {
        if ((st = dp_check_keys(c, o, "ui", ui_keys, 8))) return st;
        const char **slots[] = {&d->ui.greeting, &d->ui.placeholder, &d->ui.send,        &d->ui.stop,
                                &d->ui.new_chat, &d->ui.export_data, &d->ui.delete_chat, &d->ui.reasoning};
        for (int k = 0; k < 8; k++) {
            const char *s;
            if ((st = dp_string(c, o, "ui", ui_keys[k], false, true, &s))) return st;
            if (s) *slots[k] = s;
        }
    }
    return SG_OK;
}

/* Does the text end inside a string or an open object/array? (for the message) */
static bool dp_truncated(const char *s, size_t n)
{
    long depth = 0;
    bool in_str = false, any = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true, any = true;
        } else if (ch == '{' || ch == '[') {
            depth++, any = true;
        } else if (ch == '}' || ch == ']') {
            depth--;
        } else if (!strchr(" \t\r\n", ch)) {
            any = true;
        }
    }
    return in_str || depth > 0 || !any;
}

static sg_status dp_parse_item(const char *name, const char *json, size_t len, dp_item **out, sg_error *err)
{
    *out = NULL;
    dp_ctx c = {name ? name : "(profile)", err};
    if (len > DP_MAX_FILE)
        return dp_fail(&c, SG_ERR_FORMAT, NULL, "profile of %zu bytes is larger than the limit of %u bytes", len,
                       DP_MAX_FILE);
    /* a NUL-terminated copy: cJSON never reads past it */
    char *buf = malloc(len + 1);
    if (!buf) return dp_fail(&c, SG_ERR_NOMEM, NULL, "out of memory");
    if (len) memcpy(buf, json, len);
    buf[len] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    size_t at = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : len;
    if (root) {
        while (at < len && strchr(" \t\r\n", buf[at]) && buf[at]) at++;
    }
    if (!root || at < len) {
        bool trailing = root != NULL, truncated = !root && dp_truncated(buf, len);
        if (truncated) at = len;
        size_t line = 1, col = 1;
        for (size_t k = 0; k < at; k++) {
            if (buf[k] == '\n')
                line++, col = 1;
            else
                col++;
        }
        free(buf);
        cJSON_Delete(root);
        if (truncated)
            return dp_fail(&c, SG_ERR_FORMAT, NULL, "invalid JSON: unexpected end of input at line %zu, column %zu", line,
                           col);
        return dp_fail(&c, SG_ERR_FORMAT, NULL, "invalid JSON at line %zu, column %zu%s", line, col,
                       trailing ? " (data after the object)" : "");
    }
    free(buf);
    dp_item *it = calloc(1, sizeof *it);
    if (!it) {
        cJSON_Delete(root);
        return dp_fail(&c, SG_ERR_NOMEM, NULL, "out of memory");
    }
    it->root = root;
    it->file = strdup(c.file);
    if (!it->file) {
        dp_item_free(it);
        return dp_fail(&c, SG_ERR_NOMEM, NULL, "out of memory");
    }
    sg_status st = dp_parse_root(&c, it, root);
    if (st != SG_OK) {
        dp_item_free(it);
        return st;
    }
    *out = it;
    return SG_OK;
}

/* ---- sets ------------------------------------------------------------- */

static sg_status dp_set_add(sg_deploy_set *s, dp_item *it, sg_error *err)
{
    for (int i = 0; i < s->n; i++) {
        const sg_deployment *a = &s->items[i]->d, *b = &it->d;
        const char *what = NULL, *key = NULL;
        if (!strcmp(a->id, b->id))
            what = "id", key = b->id;
        else if (!strcmp(a->model_alias, b->model_alias))
            what = "model_alias", key = b->model_alias;
        else if (!strcmp(a->id, b->model_alias))
            what = "model_alias", key = b->model_alias;
        else if (!strcmp(a->model_alias, b->id))
            what = "id", key = b->id;
        if (what)
            return sg_fail(err, SG_ERR_FORMAT, "%s: %s: \"%s\" is already used by %s (id \"%s\")", it->file, what, key,
                           s->items[i]->file, a->id);
    }
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        dp_item **ni = realloc(s->items, (size_t)cap * sizeof *ni);
        if (!ni) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", it->file);
        s->items = ni, s->cap = cap;
    }
    s->items[s->n++] = it;
    return SG_OK;
}

sg_status sg_deploy_parse(const char *name, const char *json, size_t len, sg_deploy_set **out, sg_error *err)
{
    *out = NULL;
    if (!json && len) return sg_fail(err, SG_ERR_INVALID, "%s: no data", name ? name : "(profile)");
    dp_item *it;
    sg_status st = dp_parse_item(name, json ? json : "", len, &it, err);
    if (st != SG_OK) return st;
    sg_deploy_set *s = calloc(1, sizeof *s);
    if (!s || (st = dp_set_add(s, it, err)) != SG_OK) {
        dp_item_free(it);
        free(s);
        return st != SG_OK ? st : sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", name ? name : "(profile)");
    }
    *out = s;
    return SG_OK;
}

static int dp_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads at most DP_MAX_FILE + 1 bytes so an oversized file is reported, not loaded. */
static sg_status dp_read_file(const char *path, char **out, size_t *len, sg_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return sg_fail(err, SG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(DP_MAX_FILE + 2);
    if (!buf) {
        fclose(fp);
        return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, DP_MAX_FILE + 1, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return sg_fail(err, SG_ERR_IO, "%s: read error", path);
    }
    if (n > DP_MAX_FILE) {
        free(buf);
        return sg_fail(err, SG_ERR_FORMAT, "%s: profile is larger than the limit of %u bytes", path, DP_MAX_FILE);
    }
    buf[n] = 0;
    *out = buf, *len = n;
    return SG_OK;
}

sg_status sg_deploy_load_dir(const char *dir, sg_deploy_set **out, sg_error *err)
{
    *out = NULL;
    DIR *dh = opendir(dir);
    if (!dh) return sg_fail(err, SG_ERR_IO, "%s: cannot open the deployments directory: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0;
    sg_status st = SG_OK;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") != 0) continue;
        if (n == cap) {
            int nc = cap ? cap * 2 : 16;
            char **nn = realloc(names, (size_t)nc * sizeof *nn);
            if (!nn) {
                st = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            names = nn, cap = nc;
        }
        if (!(names[n] = strdup(de->d_name))) {
            st = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        n++;
    }
    closedir(dh);
    sg_deploy_set *s = NULL;
    if (st == SG_OK && n == 0) st = sg_fail(err, SG_ERR_MISSING, "%s: no deployment profiles (*.json)", dir);
    if (st == SG_OK) {
        qsort(names, (size_t)n, sizeof *names, dp_cmp_names);
        s = calloc(1, sizeof *s);
        if (!s) st = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", dir);
    }
    for (int i = 0; st == SG_OK && i < n; i++) {
        char *path = sg_path_join(dir, names[i]);
        if (!path) {
            st = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        char *buf = NULL;
        size_t len = 0;
        dp_item *it = NULL;
        st = dp_read_file(path, &buf, &len, err);
        if (st == SG_OK) st = dp_parse_item(path, buf, len, &it, err);
        if (st == SG_OK && (st = dp_set_add(s, it, err)) != SG_OK) dp_item_free(it);
        free(buf);
        free(path);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (st != SG_OK) {
        sg_deploy_free(s);
        return st;
    }
    *out = s;
    return SG_OK;
}

void sg_deploy_free(sg_deploy_set *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) dp_item_free(s->items[i]);
    free(s->items);
    free(s);
}

int sg_deploy_count(const sg_deploy_set *s)
{
    return s ? s->n : 0;
}

const sg_deployment *sg_deploy_at(const sg_deploy_set *s, int i)
{
    if (!s || i < 0 || i >= s->n) return NULL;
    return &s->items[i]->d;
}

const sg_deployment *sg_deploy_find(const sg_deploy_set *s, const char *id_or_alias)
{
    if (!s || !id_or_alias) return NULL;
    for (int i = 0; i < s->n; i++) {
        const sg_deployment *d = &s->items[i]->d;
        if (!strcmp(d->id, id_or_alias) || !strcmp(d->model_alias, id_or_alias)) return d;
    }
    return NULL;
}

char *sg_deploy_system_message(const sg_deployment *d)
{
    if (!d || !d->system_prompt) return NULL;
    size_t a = strlen(d->system_prompt), b = d->guidance ? strlen(d->guidance) : 0;
    char *m = malloc(a + b + 3);
    if (!m) return NULL;
    memcpy(m, d->system_prompt, a);
    if (b) {
        memcpy(m + a, "\n\n", 2);
        memcpy(m + a + 2, d->guidance, b);
        a += 2 + b;
    }
    m[a] = 0;
    return m;
}

/* ---- policy ----------------------------------------------------------- */

bool sg_deploy_refuses(const sg_deployment *d, const char *text, size_t len, int *rule)
{
    if (rule) *rule = -1;
    if (!d) return false;
    const dp_item *it = (const dp_item *)d;
    if (it->n_rules == 0) return false;
    if (!text) text = "", len = 0;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) { /* fail closed: a policy that cannot run refuses */
        if (rule) *rule = 0;
        return true;
    }
    bool refused = false;
    for (int i = 0; i < it->n_rules && !refused; i++) {
        int rc = pcre2_match(it->rules[i].re, (PCRE2_SPTR)text, len, 0, 0, md, it->mctx);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the JIT's machine stack is small: run the interpreter */
            rc = pcre2_match(it->rules[i].re, (PCRE2_SPTR)text, len, 0, PCRE2_NO_JIT, md, it->mctx);
        /* a match, or a rule that could not finish (match/depth/heap limit): refuse */
        if (rc != PCRE2_ERROR_NOMATCH) {
            refused = true;
            if (rule) *rule = i;
        }
    }
    pcre2_match_data_free(md);
    return refused;
}

int sg_deploy_rule_count(const sg_deployment *d)
{
    return d ? ((const dp_item *)d)->n_rules : 0;
}

const char *sg_deploy_rule_text(const sg_deployment *d, int rule, bool *is_keyword)
{
    if (!d) return NULL;
    const dp_item *it = (const dp_item *)d;
    if (rule < 0 || rule >= it->n_rules) return NULL;
    if (is_keyword) *is_keyword = rule < it->n_keywords;
    return it->rules[rule].src;
}
