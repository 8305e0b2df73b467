/*
 * test_stop.c -- the streaming stop-string matcher.
 *
 * Each case feeds a list of pieces and checks the concatenated emitted text,
 * whether a stop was found and which. Cases: no stop, a stop inside one
 * piece, across 2 and 3+ pieces, at the very start, overlapping prefixes
 * ("abab" in "abaabab"), several stop strings (first to end wins), a false
 * start that must be released, UTF-8 text, flush, reset. Then an invariance
 * property: for random texts cut at random places, the output equals the
 * one-piece output and the byte-by-byte output.
 */
#include <stdint.h>

#include "stargate.h"
#include "test.h"

typedef struct result {
    char text[512];
    size_t len;
    bool stopped;
    int which;
    size_t max_step; /* largest text emitted by one call (for hold checks) */
} result;

/* Feed pieces (NULL-terminated), then flush unless stopped. */
static result run(const char *const *stops, int n_stops, const char *const *pieces)
{
    result r;
    memset(&r, 0, sizeof r);
    sg_stop *s = sg_stop_new(stops, n_stops);
    const char *out;
    size_t n;
    for (int i = 0; pieces[i]; i++) {
        bool st = sg_stop_push(s, pieces[i], strlen(pieces[i]), &out, &n);
        memcpy(r.text + r.len, out, n);
        r.len += n;
        if (st) {
            r.stopped = true;
            break;
        }
    }
    if (!r.stopped) {
        sg_stop_flush(s, &out, &n);
        memcpy(r.text + r.len, out, n);
        r.len += n;
    }
    r.text[r.len] = 0;
    r.which = sg_stop_which(s);
    sg_stop_free(s);
    return r;
}

#define PIECES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define STOPS(...) ((const char *const[]){__VA_ARGS__}), (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static void check(result r, const char *want, bool stopped, int which)
{
    CHECK_MSG(!strcmp(r.text, want), "got \"%s\", want \"%s\"", r.text, want);
    CHECK_MSG(r.stopped == stopped, "stopped %d, want %d (text \"%s\")", r.stopped, stopped, want);
    CHECK_MSG(r.which == which, "which %d, want %d (text \"%s\")", r.which, which, want);
}

static void test_cases(void)
{
    check(run(STOPS("STOP"), PIECES("hello", " world")), "hello world", false, -1);
    check(run(STOPS("STOP"), PIECES("abcSTOPdef")), "abc", true, 0);
    check(run(STOPS("STOP"), PIECES("abcST", "OPdef")), "abc", true, 0);
    check(run(STOPS("</answer>"), PIECES("x = 1", "</", "ans", "wer", ">", "more")), "x = 1", true, 0);
    check(run(STOPS("STOP"), PIECES("S", "T", "O", "P")), "", true, 0);
    check(run(STOPS("STOP"), PIECES("STOP right away")), "", true, 0);
    check(run(STOPS("abab"), PIECES("abaabab")), "aba", true, 0);
    check(run(STOPS("abab"), PIECES("a", "b", "a", "a", "b", "a", "b", "zz")), "aba", true, 0);
    check(run(STOPS("abab"), PIECES("ab", "aab", "ab")), "aba", true, 0);
    /* a false start is released, and flushed at the end */
    check(run(STOPS("STOP"), PIECES("ST", "ORE", "S")), "STORES", false, -1);
    check(run(STOPS("STOP"), PIECES("the end ST")), "the end ST", false, -1);
    /* several stops: the one that ends first wins */
    check(run(STOPS("abcdef", "bcd"), PIECES("xabcdefy")), "xa", true, 1);
    check(run(STOPS("bc", "abc"), PIECES("xabcy")), "x", true, 1); /* same end: earlier start */
    check(run(STOPS("\n\n", "User:"), PIECES("Hi.", "\nUs", "er: ", "bye")), "Hi.\n", true, 1);
    /* empty stop strings are ignored; no stops at all */
    check(run(STOPS("", "Z"), PIECES("abc", "Zd")), "abc", true, 1);
    check(run(NULL, 0, PIECES("abc", "def")), "abcdef", false, -1);
    /* UTF-8: multibyte text and stop strings */
    check(run(STOPS("ende\xc2\xb7"), PIECES("gr\xc3\xbc\xc3\x9f ", "en", "de\xc2", "\xb7!")), "gr\xc3\xbc\xc3\x9f ",
          true, 0);
    check(run(STOPS("\xe2\x80\x94stop"), PIECES("caf\xc3\xa9 \xe2\x80\x94", "sto", "x")),
          "caf\xc3\xa9 \xe2\x80\x94stox", false, -1);
}

/* The held part is released as soon as it can no longer start a stop, and
 * nothing is emitted twice or lost; after a stop, pushes emit nothing. */
static void test_streaming(void)
{
    const char *stops[] = {"<|end|>"};
    sg_stop *s = sg_stop_new(stops, 1);
    const char *out;
    size_t n;
    CHECK(!sg_stop_push(s, "Hello <|", 8, &out, &n));
    CHECK(n == 6 && !memcmp(out, "Hello ", 6)); /* "<|" held */
    CHECK(!sg_stop_push(s, "en", 2, &out, &n));
    CHECK(n == 0);
    CHECK(!sg_stop_push(s, "x", 1, &out, &n));
    CHECK(n == 5 && !memcmp(out, "<|enx", 5));
    CHECK(!sg_stop_push(s, " <|end", 6, &out, &n));
    CHECK(n == 1 && out[0] == ' ');
    CHECK(sg_stop_push(s, "|> tail", 7, &out, &n));
    CHECK(n == 0);
    CHECK(sg_stop_push(s, "more", 4, &out, &n) && n == 0);
    sg_stop_flush(s, &out, &n);
    CHECK(n == 0);
    sg_stop_reset(s);
    CHECK(sg_stop_which(s) == -1);
    CHECK(!sg_stop_push(s, "again <", 7, &out, &n));
    CHECK(n == 6);
    sg_stop_flush(s, &out, &n);
    CHECK(n == 1 && out[0] == '<');
    sg_stop_flush(s, &out, &n);
    CHECK(n == 0);
    CHECK(!sg_stop_push(s, NULL, 0, &out, &n) && n == 0);
    sg_stop_free(s);
}

/* Random texts over a small alphabet, cut at random: the outcome is the same
 * as for one piece and for single bytes, and equals a direct search. */
static void test_invariance(void)
{
    const char *stops[] = {"aab", "ba", "abba", "cc"};
    unsigned long long st = 77;
    int ok = 1, ok_ref = 1;
    for (int trial = 0; trial < 3000; trial++) {
        char text[64];
        int len = 1 + (int)(sg_test_rng(&st) % 40);
        for (int i = 0; i < len; i++) text[i] = "abc"[sg_test_rng(&st) % (trial % 2 ? 3 : 2)];
        text[len] = 0;
        /* reference: the stop with the smallest end, then smallest start */
        size_t best_end = SIZE_MAX, best_start = 0;
        for (int k = 0; k < 4; k++) {
            const char *h = strstr(text, stops[k]);
            if (!h) continue;
            size_t a = (size_t)(h - text), e = a + strlen(stops[k]);
            if (e < best_end || (e == best_end && a < best_start)) best_end = e, best_start = a;
        }
        char want[64];
        size_t wl = best_end == SIZE_MAX ? (size_t)len : best_start;
        memcpy(want, text, wl);
        want[wl] = 0;
        /* three cuttings */
        for (int mode = 0; mode < 3; mode++) {
            char buf[64][64];
            const char *pieces[65];
            int np = 0, i = 0;
            while (i < len) {
                int m = mode == 0 ? len : mode == 1 ? 1 : 1 + (int)(sg_test_rng(&st) % 5);
                if (i + m > len) m = len - i;
                memcpy(buf[np], text + i, (size_t)m);
                buf[np][m] = 0;
                pieces[np] = buf[np];
                np++;
                i += m;
            }
            pieces[np] = NULL;
            result r = run(stops, 4, pieces);
            ok &= r.stopped == (best_end != SIZE_MAX);
            ok_ref &= !strcmp(r.text, want);
        }
    }
    CHECK(ok);
    CHECK(ok_ref);
}

TEST_MAIN({
    test_cases();
    test_streaming();
    test_invariance();
})
