/*
 * fuzz_deploy.c -- libFuzzer target for deployment profiles (src/deploy):
 * the input is parsed as a profile; an accepted profile must answer its
 * lookups and compose its system message. The input is also run, as user
 * text, through a fixed profile's policy and through sg_redact_pii, whose
 * output must stay valid UTF-8 when the input is.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deploy.h"

static const char fixed_profile[] =
    "{\"id\":\"fz\",\"name\":\"Fuzz\",\"language\":\"fr\",\"system_prompt\":\"Bonjour.\","
    "\"policy\":{\"refusal\":\"Non.\",\"keywords\":[\"explosif\",\"bombe artisanale\",\"\xd9\x82\xd9\x86\xd8\xa8\xd9\x84\xd8\xa9\"],"
    "\"patterns\":[\"fabriqu\\\\w*\\\\s+(?:une|des)\\\\s+bombes?\",\"(a|aa)+b\",\"\\\\bmal(?:ware|veillant)\\\\b\"]}}";

static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], len, cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (n - i < len) return false;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sg_deploy_set *fixed;
    if (!fixed) {
        sg_error e;
        if (sg_deploy_parse("fixed.json", fixed_profile, strlen(fixed_profile), &fixed, &e) != SG_OK) abort();
    }
    sg_error err;
    sg_deploy_set *s = NULL;
    if (sg_deploy_parse("fuzz.json", (const char *)data, size, &s, &err) == SG_OK) {
        if (sg_deploy_count(s) != 1) abort();
        const sg_deployment *d = sg_deploy_at(s, 0);
        if (!d || sg_deploy_find(s, d->id) != d || sg_deploy_find(s, d->model_alias) != d) abort();
        if (!d->name || !d->language || !d->locale || !d->dir || !d->refusal || !d->ui.greeting || !d->ui.reasoning)
            abort();
        if (strcmp(d->dir, "ltr") != 0 && strcmp(d->dir, "rtl") != 0) abort();
        if (d->temperature < 0 || d->temperature > 2 || d->top_p <= 0 || d->top_p > 1 || d->min_p < 0 ||
            d->min_p >= 1 || d->top_k < 0 || d->max_tokens < 0 || d->retention_days < 0)
            abort();
        char *m = sg_deploy_system_message(d);
        if (!m || strncmp(m, d->system_prompt, strlen(d->system_prompt)) != 0) abort();
        free(m);
        int rule = -2;
        bool r = sg_deploy_refuses(d, d->refusal, strlen(d->refusal), &rule);
        if (r ? (rule < 0 || rule >= sg_deploy_rule_count(d)) : rule != -1) abort();
        if (r && !sg_deploy_rule_text(d, rule, NULL)) abort();
        (void)sg_deploy_refuses(d, "", 0, NULL);
    } else if (err.code == SG_OK || !err.msg[0] || strncmp(err.msg, "fuzz.json: ", 11) != 0) {
        abort(); /* every failure says so, naming the file */
    }
    sg_deploy_free(s);

    int rule;
    bool r = sg_deploy_refuses(sg_deploy_at(fixed, 0), (const char *)data, size, &rule);
    if (r != (rule >= 0)) abort();

    char *red = sg_redact_pii((const char *)data, size);
    if (!red) abort();
    size_t rn = strlen(red);
    if (rn > size + size / 6 + 7) abort();
    if (utf8_ok(data, size) && memchr(data, 0, size) == NULL && !utf8_ok((const unsigned char *)red, rn)) abort();
    free(red);
    return 0;
}
