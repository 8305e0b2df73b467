/*
 * test_conformance.c -- every test string of every real vocabulary in
 * ../shared/fixtures/vocab must encode to exactly the ids Hugging Face's
 * tokenizer produced (ggml-vocab-NAME.gguf.inp / .out, no BOS), and decode
 * back to the string. Exits 77 (ctest SKIP) when the fixtures are absent.
 *
 * With --hf DIR the vocabularies are loaded from Hugging Face files instead,
 * DIR/NAME/tokenizer.json (+ tokenizer_config.json) as
 * tools/vocab_to_tokenizer_json.py writes them, and every string must also
 * give the same ids as the GGUF. --metaspace: the files use a Metaspace
 * pre-tokenizer with prepend_scheme "first", which (as in Hugging Face) adds
 * no "▁" to a text that already starts with a space, so those strings are
 * skipped.
 *
 * usage: test_conformance FIXTURE_DIR [--hf DIR [--metaspace]] [NAME ...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stargate.h"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) b[sz] = 0;
    if (n) *n = (size_t)sz;
    return b;
}

/* Check one vocabulary; returns the number of failed strings (-1: cannot run). */
static const char *hf_dir; /* --hf */
static int metaspace;      /* --metaspace */

static int check_vocab(const char *dir, const char *name, int *total)
{
    char p[1024], pi[1100], po[1100], ph[1100];
    snprintf(p, sizeof p, "%s/ggml-vocab-%s.gguf", dir, name);
    snprintf(pi, sizeof pi, "%s.inp", p);
    snprintf(po, sizeof po, "%s.out", p);
    sg_tokenizer *t, *g = NULL;
    sg_error err = {0};
    if (hf_dir) {
        snprintf(ph, sizeof ph, "%s/%s", hf_dir, name);
        if (sg_tokenizer_load(p, &g, &err)) {
            fprintf(stderr, "%s: %s\n", name, err.msg);
            return -1;
        }
    }
    if (sg_tokenizer_load(hf_dir ? ph : p, &t, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        sg_tokenizer_free(g);
        return -1;
    }
    size_t ni;
    char *inp = slurp(pi, &ni), *out = slurp(po, NULL);
    if (!inp || !out) {
        fprintf(stderr, "%s: cannot read .inp/.out\n", name);
        return -1;
    }
    const char *sep = "\n__ggml_vocab_test__\n";
    size_t sl = strlen(sep);
    char *s = inp, *line = out;
    int bad = 0, k = 0, skipped = 0;
    while (*line || s < inp + ni) {
        char *e = strstr(s, sep);
        if (!e) break;
        char *eol = strchr(line, '\n');
        if (!eol) break;
        *eol = 0;
        if (metaspace && e > s && *s == ' ') {
            skipped++;
            k++;
            s = e + sl;
            line = eol + 1;
            continue;
        }
        int32_t *ids;
        size_t n;
        if (sg_tokenize(t, s, (size_t)(e - s), 0, &ids, &n, &err)) {
            fprintf(stderr, "%s #%d: %s\n", name, k, err.msg);
            bad++;
        } else {
            char got[8192];
            size_t o = 0;
            got[0] = 0;
            for (size_t i = 0; i < n && o + 16 < sizeof got; i++) o += (size_t)snprintf(got + o, sizeof got - o, " %d", ids[i]);
            int32_t *gids;
            size_t gn;
            bool same = true; /* --hf: the GGUF gives the same ids */
            if (g && !strcmp(got, line) && !sg_tokenize(g, s, (size_t)(e - s), 0, &gids, &gn, &err)) {
                same = gn == n && (!n || !memcmp(gids, ids, n * sizeof *ids));
                free(gids);
            }
            if (strcmp(got, line)) {
                fprintf(stderr, "%s #%d: '%.*s'\n  want:%s\n  got: %s\n", name, k, (int)(e - s), s, line, got);
                bad++;
            } else if (!same) {
                fprintf(stderr, "%s #%d: tokenizer.json and GGUF ids differ\n", name, k);
                bad++;
            } else {
                char *txt;
                size_t tl;
                if (sg_detokenize(t, ids, n, 0, &txt, &tl, &err) || tl != (size_t)(e - s) || memcmp(txt, s, tl)) {
                    fprintf(stderr, "%s #%d: decode differs\n", name, k);
                    bad++;
                }
                if (txt) free(txt);
            }
            free(ids);
        }
        k++;
        s = e + sl;
        line = eol + 1;
    }
    if (skipped) printf("%-14s %d/%d strings match, %d skipped  (%s%s)\n", name, k - skipped - bad, k - skipped, skipped, hf_dir ? "tokenizer.json, " : "", sg_tokenizer_kind(t));
    else printf("%-14s %d/%d strings match  (%s%s)\n", name, k - bad, k, hf_dir ? "tokenizer.json, " : "", sg_tokenizer_kind(t));
    *total += k - skipped;
    free(inp);
    free(out);
    sg_tokenizer_free(t);
    sg_tokenizer_free(g);
    return bad;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/fixtures/vocab";
    static const char *const all[] = {"gpt-2", "llama-spm", "deepseek-llm", "phi-3", "falcon", "mpt"};
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/ggml-vocab-gpt-2.gguf", dir);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        printf("SKIP: %s not found\n", probe);
        return 77;
    }
    fclose(f);
    int a = 2;
    for (; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a++) {
        if (!strcmp(argv[a], "--hf") && a + 1 < argc) hf_dir = argv[++a];
        else if (!strcmp(argv[a], "--metaspace")) metaspace = 1;
        else {
            fprintf(stderr, "usage: test_conformance FIXTURE_DIR [--hf DIR [--metaspace]] [NAME ...]\n");
            return 2;
        }
    }
    int fails = 0, total = 0;
    int n = argc > a ? argc - a : (int)(sizeof all / sizeof *all);
    for (int i = 0; i < n; i++) {
        int b = check_vocab(dir, argc > a ? argv[i + a] : all[i], &total);
        fails += b < 0 ? 1 : b;
    }
    printf("conformance: %d strings, %d failures\n", total, fails);
    return fails ? 1 : 0;
}
