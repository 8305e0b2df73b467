/*
 * test_template_reasoning.c -- the streaming <think> splitter.
 *
 * Every output is fed whole and then cut at every byte boundary and fed
 * piece by piece (tags split across pieces); the concatenated reasoning and
 * content deltas must always be the same.
 */
#include <stdlib.h>
#include <string.h>

#include "stargate.h"
#include "test.h"

typedef struct acc {
    char r[512], c[512];
    size_t nr, nc;
} acc;

static void add(acc *a, const sg_reasoning_delta *d)
{
    memcpy(a->r + a->nr, d->reasoning, d->reasoning_len);
    a->nr += d->reasoning_len;
    memcpy(a->c + a->nc, d->content, d->content_len);
    a->nc += d->content_len;
    a->r[a->nr] = a->c[a->nc] = 0;
}

/* Split text into pieces of `step` bytes (0: one piece). */
static void run(const char *text, bool inside, size_t step, acc *a)
{
    memset(a, 0, sizeof *a);
    sg_reasoning *r = sg_reasoning_new(inside);
    sg_reasoning_delta d;
    size_t n = strlen(text);
    if (!step) step = n ? n : 1;
    for (size_t i = 0; i < n; i += step) {
        sg_reasoning_feed(r, text + i, i + step <= n ? step : n - i, &d);
        add(a, &d);
    }
    sg_reasoning_finish(r, &d);
    add(a, &d);
    sg_reasoning_free(r);
}

static void check(const char *text, bool inside, const char *want_r, const char *want_c)
{
    size_t n = strlen(text);
    for (size_t step = 0; step <= n; step++) {
        acc a;
        run(text, inside, step, &a);
        CHECK_MSG(!strcmp(a.r, want_r) && !strcmp(a.c, want_c), "[%s] step %zu: reasoning [%s] content [%s]", text, step, a.r, a.c);
    }
}

TEST_MAIN({
    check("<think>\nLet me see.\n</think>\n\nThe answer is 4.", false, "\nLet me see.\n", "The answer is 4.");
    check("  <think>a</think>b", false, "a", "b");
    check("No reasoning at all.", false, "", "No reasoning at all.");
    check("Answer <think>not a block</think>", false, "", "Answer <think>not a block</think>");
    check("<thin", false, "", "<thin");
    check("<think>unfinished", false, "unfinished", "");
    check("<think>ends with a partial </thi", false, "ends with a partial </thi", "");
    check("Okay, 17*23 = 391.\n</think>\n\n**391**", true, "Okay, 17*23 = 391.\n", "**391**");
    check("</think>direct", true, "", "direct");
    check("a < b </ c </think> done </think>", true, "a < b </ c ", "done </think>");
    check("<think></think>", false, "", "");
    check("", false, "", "");
    check("\n\n", false, "", "\n\n");
    check("emoji 🤔 </think> ✓", true, "emoji 🤔 ", "✓");
    CHECK(sg_reasoning_prompt_opens("<｜Assistant｜><think>\n"));
    CHECK(!sg_reasoning_prompt_opens("<think>x</think>answer"));
    CHECK(!sg_reasoning_prompt_opens("<|im_start|>assistant\n"));
    CHECK(sg_reasoning_prompt_opens("<think>a</think>b<think>"));
})
