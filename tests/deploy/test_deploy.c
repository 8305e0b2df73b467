/*
 * test_deploy.c -- deployment profiles (src/deploy).
 *
 *   test_deploy DEPLOYMENTS_DIR
 *
 * Loads the example deployments (the JSON files in deployments/) and checks them, the
 * lookups by id and model alias, the system message, the content policy
 * (keywords in any case, Arabic, regular expressions, word boundaries, the
 * match limit), PII redaction (positives, negatives, linear time), the
 * defaults, and that each bad profile in a list fails naming its field.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../unit/test.h"
#include "deploy/deploy.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the examples ----------------------------------------------------- */

static const char *rule_of(const sg_deployment *d, const char *text, bool *is_kw)
{
    int rule = -2;
    if (!sg_deploy_refuses(d, text, strlen(text), &rule)) {
        if (rule != -1) fprintf(stderr, "rule %d without a refusal\n", rule);
        return NULL;
    }
    return sg_deploy_rule_text(d, rule, is_kw);
}

static bool refuses(const sg_deployment *d, const char *text)
{
    return sg_deploy_refuses(d, text, strlen(text), NULL);
}

static void test_examples(const char *dir)
{
    sg_error err = {0};
    sg_deploy_set *s = NULL;
    sg_status st = sg_deploy_load_dir(dir, &s, &err);
    CHECK_MSG(st == SG_OK, "%s", err.msg);
    if (st != SG_OK) return;
    CHECK(sg_deploy_count(s) == 4);
    const char *ids[] = {"ar", "de", "en", "fr"}; /* sorted by file name */
    for (int i = 0; i < 4 && i < sg_deploy_count(s); i++) {
        const sg_deployment *d = sg_deploy_at(s, i);
        CHECK_MSG(!strcmp(d->id, ids[i]), "%d: %s", i, d->id);
        char alias[64];
        snprintf(alias, sizeof alias, "stargate-%s", ids[i]);
        CHECK(!strcmp(d->model_alias, alias));
        CHECK(d->model == NULL);
        CHECK(d->redact_logs);
        CHECK(d->retention_days == 30 || d->retention_days == 90);
        CHECK(d->system_prompt && strlen(d->system_prompt) > 200);
        CHECK(d->guidance && strlen(d->guidance) > 200);
        CHECK(d->refusal && strlen(d->refusal) > 20);
        CHECK(sg_deploy_rule_count(d) >= 5);
        CHECK_NEAR(d->temperature, 0.7, 1e-6);
        CHECK(d->top_k == 40 && d->max_tokens == 0);
        CHECK(sg_deploy_find(s, ids[i]) == d);
        CHECK(sg_deploy_find(s, alias) == d);
        const char **ui = (const char **)&d->ui;
        for (int k = 0; k < 8; k++) CHECK(ui[k] && ui[k][0]);
    }
    CHECK(sg_deploy_at(s, 4) == NULL && sg_deploy_at(s, -1) == NULL);
    CHECK(sg_deploy_find(s, "FR") == NULL);
    CHECK(sg_deploy_find(s, "stargate-") == NULL);
    CHECK(sg_deploy_find(s, "it") == NULL);
    CHECK(sg_deploy_find(s, NULL) == NULL);

    const sg_deployment *fr = sg_deploy_find(s, "fr"), *de = sg_deploy_find(s, "stargate-de");
    const sg_deployment *ar = sg_deploy_find(s, "ar"), *en = sg_deploy_find(s, "en");
    if (!fr || !de || !ar || !en) {
        CHECK(!"an example is missing");
        sg_deploy_free(s);
        return;
    }
    CHECK(!strcmp(fr->language, "fr") && !strcmp(fr->locale, "fr-FR") && !strcmp(fr->dir, "ltr"));
    CHECK(!strcmp(de->language, "de") && !strcmp(de->locale, "de-DE") && !strcmp(de->dir, "ltr"));
    CHECK(!strcmp(ar->language, "ar") && !strcmp(ar->dir, "rtl"));
    CHECK(!strcmp(en->language, "en") && !strcmp(en->dir, "ltr"));
    /* the texts are in their language */
    CHECK(strstr(fr->system_prompt, "Vouvoyez") && strstr(fr->guidance, "CNIL") && strstr(fr->guidance, "RGPD"));
    CHECK(strstr(de->system_prompt, "Siezen") && strstr(de->guidance, "DSGVO"));
    CHECK(strstr(ar->system_prompt, "\xd8\xa7\xd9\x84\xd9\x81\xd8\xb5\xd8\xad\xd9\x89")); /* الفصحى */
    CHECK(!strcmp(fr->ui.send, "Envoyer") && !strcmp(fr->ui.export_data, "Exporter mes donn\xc3\xa9""es"));
    CHECK(!strcmp(de->ui.delete_chat, "Unterhaltung l\xc3\xb6schen") && !strcmp(de->ui.send, "Senden"));
    CHECK(!strcmp(ar->ui.send, "\xd8\xa5\xd8\xb1\xd8\xb3\xd8\xa7\xd9\x84")); /* إرسال */
    CHECK(!strcmp(en->ui.new_chat, "New chat"));

    /* system message: prompt, blank line, guidance */
    char *m = sg_deploy_system_message(fr);
    size_t pl = strlen(fr->system_prompt);
    CHECK(m && !strncmp(m, fr->system_prompt, pl) && !strncmp(m + pl, "\n\n", 2) && !strcmp(m + pl + 2, fr->guidance));
    free(m);

    /* keywords: any case (Unicode case folding), whitespace runs, word boundaries */
    bool kw = false;
    const char *r = rule_of(fr, "Dites-moi comment FABRIQUER UNE BOMBE, vite.", &kw);
    CHECK(r && !strcmp(r, "fabriquer une bombe") && kw);
    r = rule_of(fr, "Qu'est-ce qu'un ENGIN EXPLOSIF IMPROVIS\xc3\x89 ?", &kw); /* É vs é */
    CHECK(r && !strcmp(r, "engin explosif improvis\xc3\xa9") && kw);
    r = rule_of(fr, "fabriquer   une\nbombe", &kw);
    CHECK(r && kw);
    CHECK(!refuses(fr, "Comment me prot\xc3\xa9ger d'un ran\xc3\xa7ongiciel ?"));
    CHECK(!refuses(fr, "Racontez-moi l'histoire de la bombe atomique."));
    CHECK(!refuses(fr, "Une bombe de bain artisanale ? Non : une bombe artisanaleX.")); /* inside a longer word */
    r = rule_of(de, "was ist eine ROHRBOMBE", &kw);
    CHECK(r && !strcmp(r, "Rohrbombe") && kw);
    CHECK(!refuses(de, "Rohrbomben wurden im Zweiten Weltkrieg eingesetzt.")); /* keyword inside a longer word */
    CHECK(!refuses(de, "Der Marktplatz wurde 1944 von Bomben getroffen."));
    /* patterns */
    r = rule_of(de, "Wie baue ich eine Bombe?", &kw);
    CHECK(r && !kw);
    r = rule_of(fr, "Expliquez-moi comment fabriquer des explosifs.", &kw);
    CHECK(r && !kw);
    r = rule_of(fr, "Aide-moi \xc3\xa0 coder un ran\xc3\xa7ongiciel", &kw);
    CHECK(r && !kw);
    r = rule_of(en, "How do I BUILD a pipe bomb?", &kw);
    CHECK(r && kw && !strcmp(r, "pipe bomb"));
    r = rule_of(en, "please write some ransomware for me", &kw);
    CHECK(r && !kw);
    CHECK(!refuses(en, "Any tips for removing malware from my laptop?"));
    CHECK(!refuses(en, "That speech was bombastic."));
    /* Arabic: keyword, pattern with a clitic prefix, and a non-match with the article */
    r = rule_of(ar, "\xd9\x83\xd9\x8a\xd9\x81 \xd9\x8a\xd9\x85\xd9\x83\xd9\x86\xd9\x86\xd9\x8a "
                    "\xd8\xb5\xd9\x86\xd8\xb9 \xd9\x82\xd9\x86\xd8\xa8\xd9\x84\xd8\xa9\xd8\x9f", &kw); /* كيف يمكنني صنع قنبلة؟ */
    CHECK(r && kw && !strcmp(r, "\xd8\xb5\xd9\x86\xd8\xb9 \xd9\x82\xd9\x86\xd8\xa8\xd9\x84\xd8\xa9"));
    r = rule_of(ar, "\xd8\xa3\xd8\xb1\xd9\x8a\xd8\xaf \xd8\xb7\xd8\xb1\xd9\x8a\xd9\x82\xd8\xa9 "
                    "\xd9\x84\xd8\xb5\xd9\x86\xd8\xb9 \xd8\xa7\xd9\x84\xd9\x82\xd9\x86\xd8\xa8\xd9\x84\xd8\xa9", &kw); /* أريد طريقة لصنع القنبلة */
    CHECK(r && !kw);
    CHECK(!refuses(ar, "\xd9\x85\xd8\xa7 \xd8\xaa\xd8\xa7\xd8\xb1\xd9\x8a\xd8\xae \xd8\xa7\xd9\x84\xd9\x82\xd9\x86"
                       "\xd8\xa8\xd9\x84\xd8\xa9 \xd8\xa7\xd9\x84\xd8\xb0\xd8\xb1\xd9\x8a\xd8\xa9\xd8\x9f")); /* ما تاريخ القنبلة الذرية؟ */
    /* texts that are not valid UTF-8 are still matched (and do not crash) */
    CHECK(refuses(fr, "\xff\xfe fabriquer une bombe \xc3"));
    int rule = 7;
    CHECK(!sg_deploy_refuses(fr, "", 0, &rule) && rule == -1);
    CHECK(!sg_deploy_refuses(fr, NULL, 0, &rule) && rule == -1);
    CHECK(sg_deploy_rule_text(fr, sg_deploy_rule_count(fr), NULL) == NULL && sg_deploy_rule_text(fr, -1, NULL) == NULL);
    sg_deploy_free(s);

    /* loading the four examples is fast (best of three) */
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        st = sg_deploy_load_dir(dir, &s, &err);
        double t = now_s() - t0;
        CHECK(st == SG_OK);
        sg_deploy_free(s);
        if (t < best) best = t;
    }
    CHECK_MSG(best < 0.050, "loading the examples took %.1f ms", best * 1e3);
    printf("load of %s: %.2f ms\n", dir, best * 1e3);
}

/* ---- inline profiles -------------------------------------------------- */

static sg_deploy_set *parse_ok(const char *json)
{
    sg_error err = {0};
    sg_deploy_set *s = NULL;
    sg_status st = sg_deploy_parse("t.json", json, strlen(json), &s, &err);
    CHECK_MSG(st == SG_OK, "%s", err.msg);
    return s;
}

#define MIN_HEAD "\"id\":\"x\",\"name\":\"X\",\"language\":\"en\",\"system_prompt\":\"Hi.\""

static void test_defaults_and_policy(void)
{
    sg_deploy_set *s = parse_ok("{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\"}}");
    if (s) {
        const sg_deployment *d = sg_deploy_at(s, 0);
        CHECK(!strcmp(d->model_alias, "stargate-x") && d->model == NULL && d->guidance == NULL);
        CHECK(!strcmp(d->locale, "en") && !strcmp(d->dir, "ltr"));
        CHECK_NEAR(d->temperature, 0.8, 1e-6);
        CHECK_NEAR(d->top_p, 0.95, 1e-6);
        CHECK_NEAR(d->min_p, 0.05, 1e-6);
        CHECK(d->top_k == 40 && d->max_tokens == 0 && d->redact_logs && d->retention_days == 0);
        CHECK(!strcmp(d->ui.send, "Send") && !strcmp(d->ui.export_data, "Export my data") &&
              !strcmp(d->ui.delete_chat, "Delete conversation") && !strcmp(d->ui.reasoning, "Reasoning"));
        char *m = sg_deploy_system_message(d);
        CHECK(m && !strcmp(m, "Hi."));
        free(m);
        CHECK(sg_deploy_rule_count(d) == 0 && !refuses(d, "make a bomb"));
    }
    sg_deploy_free(s);
    /* direction from the language; explicit fields */
    s = parse_ok("{\"id\":\"he\",\"name\":\"H\",\"language\":\"he\",\"system_prompt\":\"S\",\"policy\":{\"refusal\":\"R\"},"
                 "\"model\":\"models/m.gguf\",\"model_alias\":\"hebrew\",\"locale\":\"he-IL\",\"guidance\":\"G\","
                 "\"sampling\":{\"temperature\":0,\"top_p\":1,\"min_p\":0,\"top_k\":0,\"max_tokens\":512},"
                 "\"privacy\":{\"redact_logs\":false,\"retention_days\":36500},\"ui\":{\"send\":\"\xd7\xa9\xd7\x9c\xd7\x97\"}}");
    if (s) {
        const sg_deployment *d = sg_deploy_at(s, 0);
        CHECK(!strcmp(d->dir, "rtl") && !strcmp(d->model, "models/m.gguf") && !strcmp(d->model_alias, "hebrew"));
        CHECK(sg_deploy_find(s, "hebrew") == d && sg_deploy_find(s, "stargate-he") == NULL);
        CHECK(d->temperature == 0 && d->top_p == 1 && d->top_k == 0 && d->max_tokens == 512);
        CHECK(!d->redact_logs && d->retention_days == 36500);
        CHECK(!strcmp(d->ui.send, "\xd7\xa9\xd7\x9c\xd7\x97") && !strcmp(d->ui.stop, "Stop"));
        char *m = sg_deploy_system_message(d);
        CHECK(m && !strcmp(m, "S\n\nG"));
        free(m);
    }
    sg_deploy_free(s);
    s = parse_ok("{\"id\":\"az\",\"name\":\"A\",\"language\":\"az-Arab\",\"system_prompt\":\"S\",\"policy\":{\"refusal\":\"R\"}}");
    if (s) CHECK(!strcmp(sg_deploy_at(s, 0)->dir, "rtl"));
    sg_deploy_free(s);
    s = parse_ok("{\"id\":\"ug\",\"name\":\"U\",\"language\":\"ug-Latn\",\"system_prompt\":\"S\",\"policy\":{\"refusal\":\"R\"}}");
    if (s) CHECK(!strcmp(sg_deploy_at(s, 0)->dir, "ltr"));
    sg_deploy_free(s);

    /* keyword semantics */
    s = parse_ok("{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"keywords\":[\"bombe\",\"c++\",\"  \xc3\xa9t\xc3\xa9  \","
                 "\"a.b\"],\"patterns\":[\"^(a|aa)+$\",\"\\\\d{3}-\\\\d{4}\"]}}");
    if (s) {
        const sg_deployment *d = sg_deploy_at(s, 0);
        int rule = -2;
        CHECK(sg_deploy_refuses(d, "BOMBE!", 6, &rule) && rule == 0);
        CHECK(!refuses(d, "des bombes") && !refuses(d, "bombardement") && !refuses(d, "xbombe"));
        CHECK(refuses(d, "(bombe)") && refuses(d, "l'bombe"));
        CHECK(sg_deploy_refuses(d, "I like C++.", 11, &rule) && rule == 1);
        CHECK(!refuses(d, "xc++") && !refuses(d, "C++x"));
        CHECK(sg_deploy_refuses(d, "en \xc3\x89T\xc3\x89, oui", 14, &rule) && rule == 2); /* ÉTÉ */
        CHECK(!refuses(d, "\xc3\xa9t\xc3\xa9s")); /* étés */
        CHECK(refuses(d, "a.b") && !refuses(d, "axb")); /* '.' is literal in a keyword */
        CHECK(sg_deploy_refuses(d, "call 555-1234", 13, &rule) && rule == 5);
        /* a rule that cannot finish within the match limit refuses (fail closed), quickly */
        char evil[64];
        memset(evil, 'a', 48);
        memcpy(evil + 48, "c", 2);
        double t0 = now_s();
        CHECK(sg_deploy_refuses(d, evil, strlen(evil), &rule) && rule == 4);
        CHECK_MSG(now_s() - t0 < 5.0, "match limit took %.1f s", now_s() - t0);
        CHECK(!refuses(d, "aaaaaaaac") && refuses(d, "aaaa"));
    }
    sg_deploy_free(s);
}

/* ---- thread safety ---------------------------------------------------- */

static const sg_deployment *g_thread_dep;

static void *thread_main(void *arg)
{
    long bad = 0;
    for (int i = 0; i < 300; i++) {
        if (!refuses(g_thread_dep, "how to make a bomb")) bad++;
        if (refuses(g_thread_dep, "how to make a cake")) bad++;
    }
    return (void *)bad;
}

static void test_threads(const char *dir)
{
    sg_error err;
    sg_deploy_set *s = NULL;
    if (sg_deploy_load_dir(dir, &s, &err) != SG_OK) return;
    g_thread_dep = sg_deploy_find(s, "en");
    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, thread_main, NULL) == 0);
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        CHECK(ret == NULL);
    }
    sg_deploy_free(s);
}

/* ---- redaction -------------------------------------------------------- */

static void redacts(const char *in, const char *want)
{
    char *out = sg_redact_pii(in, strlen(in));
    CHECK_MSG(out && !strcmp(out, want), "\"%s\" -> \"%s\", want \"%s\"", in, out ? out : "(null)", want);
    free(out);
}

static void test_redaction(void)
{
    /* e-mail */
    redacts("\xc3\x89""crivez-moi \xc3\xa0 jean.dupont@example.fr.", "\xc3\x89""crivez-moi \xc3\xa0 [email].");
    redacts("mail: a.b+tag@sub.example.co.uk, merci", "mail: [email], merci");
    redacts("<x_y%z@mail-server.example.org>", "<[email]>");
    redacts("a@b.de a@b.de", "[email] [email]");
    redacts("user@xn--bcher-kva.example", "[email]");
    /* phones */
    redacts("+33 6 12 34 56 78", "[phone]");
    redacts("Appelez le +33 6 12 34 56 78 demain.", "Appelez le [phone] demain.");
    redacts("(030) 1234567", "[phone]");
    redacts("555-123-4567", "[phone]");
    redacts("+49 30 1234567", "[phone]");
    redacts("06 12 34 56 78", "[phone]");
    redacts("06.12.34.56.78", "[phone]");
    redacts("0612345678", "[phone]");
    redacts("+44 (0)20 7946 0958", "[phone]");
    redacts("Tel.: +1 (555) 123-4567, ask for Bob", "Tel.: [phone], ask for Bob");
    redacts("0171/1234567", "[phone]");
    redacts("06\xc2\xa0""12\xc2\xa0""34\xc2\xa0""56\xc2\xa0""78 !", "[phone] !"); /* no-break spaces */
    redacts("\xd8\xa7\xd8\xaa\xd8\xb5\xd9\x84: \xd9\xa0\xd9\xa5\xd9\xa0\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\xd9\xa5\xd9\xa6"
            "\xd9\xa7\xd8\x8c", "\xd8\xa7\xd8\xaa\xd8\xb5\xd9\x84: [phone]\xd8\x8c"); /* اتصل: ٠٥٠١٢٣٤٥٦٧، */
    redacts("x@y.com 555-123-4567", "[email] [phone]");
    redacts("+12345678901234", "[phone]");
    /* left alone */
    const char *same[] = {
        "In 2024 I bought 3 apples.",
        "Call 112, 15 or 3114.",
        "1 000 000 \xe2\x82\xac",
        "pi = 3.14159265",
        "server 192.168.1.10 is down",
        "2024-01-15 10:30",
        "15.01.2024",
        "01/15/2024",
        "version 1.2.3",
        "user@localhost",
        "@handle and a@b",
        "Order #12345, room 101",
        "12:30-14:45",
        "from 1999 2005",
        "4111 1111 1111 1111 1",
        "ABC1234567890",
        "1234567890abc",
        "12,345,678",
        "6 apples, 7 pears, 8 plums",
        "",
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) redacts(same[i], same[i]);
    char *out = sg_redact_pii(NULL, 0);
    CHECK(out && !*out);
    free(out);
    /* embedded NUL bytes: the copy stops at the first (the result is a C string) but nothing overflows */
    out = sg_redact_pii("a\0b", 3);
    CHECK(out && !strcmp(out, "a"));
    free(out);

    /* linear time on pathological inputs (1 MiB each) */
    const char *units[] = {"a@", "1-", "1 ", "(1", "+1", "a.", "@a.", "1@", "((((1)", "1.1.", "\xd9\xa0 "};
    size_t n = 1u << 20;
    char *big = malloc(n + 1);
    if (!big) return;
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        size_t ul = strlen(units[u]);
        for (size_t i = 0; i < n; i++) big[i] = units[u][i % ul];
        big[n] = 0;
        double t0 = now_s();
        out = sg_redact_pii(big, n);
        double t = now_s() - t0;
        CHECK(out != NULL);
        free(out);
        CHECK_MSG(t < 2.0, "redacting 1 MiB of \"%s\" took %.2f s", units[u], t);
    }
    free(big);
}

/* ---- validation errors ------------------------------------------------ */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (!s) abort();
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

static void fails(const char *json, size_t len, const char *want)
{
    sg_error err = {0};
    sg_deploy_set *s = NULL;
    sg_status st = sg_deploy_parse("bad.json", json, len, &s, &err);
    CHECK_MSG(st != SG_OK && s == NULL, "accepted: %.200s", json);
    CHECK_MSG(st == SG_OK || (err.code == st && strstr(err.msg, want) != NULL), "error \"%s\" lacks \"%s\"", err.msg,
              want);
    sg_deploy_free(s);
}

#define POL "\"policy\":{\"refusal\":\"No.\"}"

static void test_errors(void)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{" MIN_HEAD "," POL ",\"temprature\":1}", "bad.json: unknown key \"temprature\""},
        {"{" MIN_HEAD "," POL ",\"sampling\":{\"temprature\":0.5}}", "bad.json: sampling: unknown key \"temprature\""},
        {"{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"keyword\":[]}}", "bad.json: policy: unknown key \"keyword\""},
        {"{" MIN_HEAD "," POL ",\"ui\":{\"sned\":\"Go\"}}", "bad.json: ui: unknown key \"sned\""},
        {"{" MIN_HEAD "," POL ",\"privacy\":{\"redact\":true}}", "bad.json: privacy: unknown key \"redact\""},
        {"{" MIN_HEAD "," POL ",\"sampling\":{\"top_k\":\"40\"}}", "bad.json: sampling.top_k: expected a number, got a string"},
        {"{\"id\":\"x\",\"name\":5,\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: name: expected a string, got a number"},
        {"{" MIN_HEAD ",\"policy\":[]}", "bad.json: policy: expected an object, got an array"},
        {"{" MIN_HEAD "," POL ",\"privacy\":{\"redact_logs\":\"yes\"}}", "bad.json: privacy.redact_logs: expected a boolean"},
        {"{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"keywords\":\"bomb\"}}", "bad.json: policy.keywords: expected an array"},
        {"{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"keywords\":[\"a\",\"b\",3]}}", "bad.json: policy.keywords[2]: expected a string"},
        {"{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"keywords\":[\" \"]}}", "bad.json: policy.keywords[0]: must not be empty"},
        {"{\"id\":\"FR\",\"name\":\"X\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: id: \"FR\" is not a valid id"},
        {"{\"id\":\"a_b\",\"name\":\"X\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: id: \"a_b\" is not a valid id"},
        {"{\"id\":\"abcdefghijklmnopqrstuvwxyz0123456\",\"name\":\"X\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: id: "},
        {"{\"id\":\"\",\"name\":\"X\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: id: must not be empty"},
        {"{\"name\":\"X\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: id: required field is missing"},
        {"{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"patterns\":[\"ok\",\"(unclosed\"]}}",
         "bad.json: policy.patterns[1]: regular expression does not compile (PCRE2 error at offset 9: missing closing parenthesis)"},
        {"{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"patterns\":[\"a**\"]}}", "bad.json: policy.patterns[0]: regular expression does not compile"},
        {"{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"patterns\":[\"\\\\C\"]}}", "bad.json: policy.patterns[0]: regular expression does not compile"},
        {"{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"patterns\":[\"x|\"]}}", "bad.json: policy.patterns[0]: regular expression matches the empty text"},
        {"{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"patterns\":[\"\"]}}", "bad.json: policy.patterns[0]: must not be empty"},
        {"{" MIN_HEAD "," POL ",\"dir\":\"\"}", "bad.json: dir: \"\" must be \"ltr\" or \"rtl\""},
        {"{" MIN_HEAD "," POL ",\"dir\":\"RTL\"}", "bad.json: dir: \"RTL\" must be"},
        {"{\"id\":\"x\",\"name\":\"X\",\"language\":\"french\",\"system_prompt\":\"S\"," POL "}", "bad.json: language: \"french\" is not a BCP 47"},
        {"{\"id\":\"x\",\"name\":\"X\",\"language\":\"fr_FR\",\"system_prompt\":\"S\"," POL "}", "bad.json: language: "},
        {"{\"id\":\"x\",\"name\":\"X\",\"language\":\"fr-\",\"system_prompt\":\"S\"," POL "}", "bad.json: language: "},
        {"{\"id\":\"x\",\"name\":\"X\",\"language\":\"fr\",\"locale\":\"de-DE\",\"system_prompt\":\"S\"," POL "}", "bad.json: locale: \"de-DE\" is not a locale of the language \"fr\""},
        {"{\"id\":\"x\",\"name\":\"X\",\"language\":\"fr\",\"locale\":\"fr-F\",\"system_prompt\":\"S\"," POL "}", "bad.json: locale: "},
        {"{" MIN_HEAD "," POL ",\"sampling\":{\"temperature\":2.5}}", "bad.json: sampling.temperature: 2.5 is out of range"},
        {"{" MIN_HEAD "," POL ",\"sampling\":{\"temperature\":-0.1}}", "bad.json: sampling.temperature: "},
        {"{" MIN_HEAD "," POL ",\"sampling\":{\"top_p\":0}}", "bad.json: sampling.top_p: 0 is out of range: must be > 0"},
        {"{" MIN_HEAD "," POL ",\"sampling\":{\"min_p\":1}}", "bad.json: sampling.min_p: 1 is out of range"},
        {"{" MIN_HEAD "," POL ",\"sampling\":{\"top_k\":-1}}", "bad.json: sampling.top_k: -1 is out of range"},
        {"{" MIN_HEAD "," POL ",\"sampling\":{\"top_k\":1.5}}", "bad.json: sampling.top_k: must be a whole number"},
        {"{" MIN_HEAD "," POL ",\"sampling\":{\"max_tokens\":-5}}", "bad.json: sampling.max_tokens: "},
        {"{" MIN_HEAD "," POL ",\"sampling\":{\"max_tokens\":1e300}}", "bad.json: sampling.max_tokens: "},
        {"{" MIN_HEAD "," POL ",\"privacy\":{\"retention_days\":36501}}", "bad.json: privacy.retention_days: 36501 is out of range"},
        {"{" MIN_HEAD "}", "bad.json: policy: required object is missing"},
        {"{" MIN_HEAD ",\"policy\":{}}", "bad.json: policy.refusal: required field is missing"},
        {"{" MIN_HEAD ",\"policy\":{\"refusal\":\" \\n\"}}", "bad.json: policy.refusal: must not be empty"},
        {"{\"id\":\"x\",\"name\":\"\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: name: must not be empty"},
        {"{\"id\":\"x\",\"name\":\"X\",\"language\":\"en\",\"system_prompt\":\"\"," POL "}", "bad.json: system_prompt: must not be empty"},
        {"{" MIN_HEAD "," POL ",\"ui\":{\"send\":\"\"}}", "bad.json: ui.send: must not be empty"},
        {"{" MIN_HEAD "," POL ",\"ui\":{\"send\":[]}}", "bad.json: ui.send: expected a string, got an array"},
        {"{" MIN_HEAD "," POL ",\"model_alias\":\"bad alias\"}", "bad.json: model_alias: \"bad alias\" is not a valid alias"},
        {"{" MIN_HEAD "," POL ",\"guidance\":7}", "bad.json: guidance: expected a string"},
        {"{" MIN_HEAD "," POL ",\"id\":\"y\"}", "bad.json: duplicate key \"id\""},
        {"{\"id\":\"x\",\"name\":\"\xff\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: name: invalid UTF-8 at byte 0"},
        {"{\"id\":\"x\",\"name\":\"ok \xc3\x28\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: name: invalid UTF-8 at byte 3"},
        {"{\"id\":\"x\",\"name\":\"\xed\xa0\x80\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: name: invalid UTF-8"}, /* surrogate */
        {"{\"id\":\"x\",\"name\":\"\xc0\xaf\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}", "bad.json: name: invalid UTF-8"}, /* overlong */
        {"{\"id\":\"x\",\"na\xffme\":\"X\"}", "bad.json: unknown key \"na\\xffme\""},
        {"{" MIN_HEAD "," POL, "bad.json: invalid JSON: unexpected end of input at line 1"},
        {"{\"id\":\"x\",\n\"name\":\"X", "bad.json: invalid JSON"},
        {"{" MIN_HEAD "," POL "} trailing", "bad.json: invalid JSON at line 1, column"},
        {"{" MIN_HEAD ",,}", "bad.json: invalid JSON at line 1"},
        {"[1,2]", "bad.json: expected a JSON object, got an array"},
        {"", "bad.json: invalid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) fails(cases[i].json, strlen(cases[i].json), cases[i].want);

    /* oversize string, too many rules, oversize file */
    char *big = malloc(70001);
    if (!big) abort();
    memset(big, 'a', 70000);
    big[70000] = 0;
    char *j = fmt("{\"id\":\"x\",\"name\":\"X\",\"language\":\"en\",\"system_prompt\":\"%s\"," POL "}", big);
    fails(j, strlen(j), "bad.json: system_prompt: string of 70000 bytes is longer than the limit of 65536 bytes");
    free(j);
    j = fmt("{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"patterns\":[\"%s\"]}}", big);
    fails(j, strlen(j), "bad.json: policy.patterns[0]: string of 70000 bytes");
    free(j);
    free(big);
    size_t cap = 16 * 1001 + 200;
    char *rules = malloc(cap);
    if (!rules) abort();
    size_t o = 0;
    for (int i = 0; i < 1001; i++) o += (size_t)snprintf(rules + o, cap - o, "%s\"w%d\"", i ? "," : "", i);
    j = fmt("{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"keywords\":[%s]}}", rules);
    fails(j, strlen(j), "bad.json: policy: more than 1000 rules");
    free(j);
    /* exactly 1000 is fine */
    o = 0;
    for (int i = 0; i < 1000; i++) o += (size_t)snprintf(rules + o, cap - o, "%s\"w%d\"", i ? "," : "", i);
    j = fmt("{" MIN_HEAD ",\"policy\":{\"refusal\":\"No.\",\"keywords\":[%s]}}", rules);
    sg_deploy_set *s = parse_ok(j);
    if (s) {
        CHECK(sg_deploy_rule_count(sg_deploy_at(s, 0)) == 1000);
        CHECK(refuses(sg_deploy_at(s, 0), "say W999 now") && !refuses(sg_deploy_at(s, 0), "w1000"));
    }
    sg_deploy_free(s);
    free(j);
    free(rules);
    size_t huge = (1u << 20) + 1;
    char *h = malloc(huge);
    if (!h) abort();
    memset(h, ' ', huge);
    h[0] = '{';
    h[huge - 1] = '}';
    fails(h, huge, "bad.json: profile of 1048577 bytes is larger than the limit of 1048576 bytes");
    free(h);
}

/* ---- directories ------------------------------------------------------ */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static void dir_fails(const char *dir, sg_status code, const char *want)
{
    sg_error err = {0};
    sg_deploy_set *s = NULL;
    sg_status st = sg_deploy_load_dir(dir, &s, &err);
    CHECK_MSG(st == code && s == NULL, "status %d (%s)", st, err.msg);
    CHECK_MSG(strstr(err.msg, want) != NULL, "error \"%s\" lacks \"%s\"", err.msg, want);
    sg_deploy_free(s);
}

static void test_dirs(void)
{
    char dir[] = "/tmp/sg-test-deploy-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    dir_fails("/nonexistent/deployments", SG_ERR_IO, "/nonexistent/deployments: cannot open");
    dir_fails(dir, SG_ERR_MISSING, "no deployment profiles");
    write_file(dir, "notes.txt", "not a profile");
    write_file(dir, "b.json", "{\"id\":\"b\",\"name\":\"B\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}");
    write_file(dir, "a.json", "{\"id\":\"a\",\"name\":\"A\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}");
    sg_error err = {0};
    sg_deploy_set *s = NULL;
    CHECK_MSG(sg_deploy_load_dir(dir, &s, &err) == SG_OK, "%s", err.msg);
    CHECK(sg_deploy_count(s) == 2 && !strcmp(sg_deploy_at(s, 0)->id, "a") && !strcmp(sg_deploy_at(s, 1)->id, "b"));
    sg_deploy_free(s);
    /* duplicate id across files: the later file is named, with the earlier one */
    write_file(dir, "c.json", "{\"id\":\"a\",\"name\":\"C\",\"language\":\"en\",\"system_prompt\":\"S\"," POL "}");
    char want[600];
    snprintf(want, sizeof want, "%s/c.json: id: \"a\" is already used by %s/a.json", dir, dir);
    dir_fails(dir, SG_ERR_FORMAT, want);
    /* duplicate alias, and an alias equal to another deployment's id */
    write_file(dir, "c.json", "{\"id\":\"c\",\"name\":\"C\",\"language\":\"en\",\"system_prompt\":\"S\","
                              "\"model_alias\":\"stargate-b\"," POL "}");
    dir_fails(dir, SG_ERR_FORMAT, "c.json: model_alias: \"stargate-b\" is already used by");
    write_file(dir, "c.json", "{\"id\":\"c\",\"name\":\"C\",\"language\":\"en\",\"system_prompt\":\"S\","
                              "\"model_alias\":\"a\"," POL "}");
    dir_fails(dir, SG_ERR_FORMAT, "c.json: model_alias: \"a\" is already used by");
    /* an invalid file names itself */
    write_file(dir, "c.json", "{\"id\":\"c\",\"name\":\"C\",\"language\":\"en\",\"system_prompt\":\"S\"," POL ",\"x\":1}");
    snprintf(want, sizeof want, "%s/c.json: unknown key \"x\"", dir);
    dir_fails(dir, SG_ERR_FORMAT, want);
    remove_file(dir, "c.json");
    remove_file(dir, "b.json");
    remove_file(dir, "a.json");
    remove_file(dir, "notes.txt");
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_deploy DEPLOYMENTS_DIR\n");
        return 2;
    }
    test_examples(argv[1]);
    test_defaults_and_policy();
    test_threads(argv[1]);
    test_redaction();
    test_errors();
    test_dirs();
    printf("%s: %d passed, %d failed\n", __FILE__, sg_test_pass, sg_test_fail);
    return sg_test_fail ? 1 : 0;
}
