/*
 * reasoning.c -- streaming split of model output into reasoning and answer.
 *
 * Reasoning models (DeepSeek-R1 and its distills, QwQ, Qwen3) write their
 * chain of thought between <think> and </think>, then the answer. A server
 * streams both as they are decoded, so the splitter works piece by piece:
 * a piece may end in the middle of a tag ("</thi"), and such a tail is held
 * back until the next piece shows whether it is a tag.
 *
 * States:
 *   START      nothing but whitespace seen; waiting for "<think>" (then
 *              REASONING) or anything else (then CONTENT, tags and all)
 *   REASONING  text is reasoning until "</think>"
 *   AFTER      just after </think>: whitespace is dropped
 *   CONTENT    everything is answer
 * A splitter made with in_reasoning starts in REASONING: templates such as
 * R1-distill's end the generation prompt with "<think>\n".
 */
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

static const char OPEN[] = "<think>", CLOSE[] = "</think>";

enum { ST_START, ST_REASONING, ST_AFTER, ST_CONTENT };

struct sg_reasoning {
    int state;
    sbuf hold;   /* text not yet classified */
    sbuf rout, cout;
};

sg_reasoning *sg_reasoning_new(bool in_reasoning)
{
    sg_reasoning *r = sg_xcalloc(1, sizeof *r);
    r->state = in_reasoning ? ST_REASONING : ST_START;
    return r;
}

void sg_reasoning_free(sg_reasoning *r)
{
    if (!r) return;
    sb_free(&r->hold);
    sb_free(&r->rout);
    sb_free(&r->cout);
    free(r);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Length of the longest suffix of s[0..n) that is a proper prefix of tag. */
static size_t partial_tag(const char *s, size_t n, const char *tag)
{
    size_t tl = strlen(tag);
    for (size_t k = tl - 1; k > 0; k--)
        if (k <= n && !memcmp(s + n - k, tag, k)) return k;
    return 0;
}

/* Move what can be classified from hold to the outputs. */
static void drain(sg_reasoning *r)
{
    for (;;) {
        char *h = r->hold.p ? r->hold.p : "";
        size_t n = r->hold.n, used = 0;
        bool progress = false;
        if (r->state == ST_START) {
            size_t i = 0;
            while (i < n && is_ws(h[i])) i++;
            size_t rest = n - i, ol = sizeof OPEN - 1;
            if (rest >= ol && !memcmp(h + i, OPEN, ol)) {
                used = i + ol;
                r->state = ST_REASONING;
                progress = true;
            } else if (rest < ol && !memcmp(h + i, OPEN, rest)) {
                return; /* maybe the start of <think>: wait */
            } else {
                r->state = ST_CONTENT;
                progress = true;
            }
        } else if (r->state == ST_REASONING) {
            const char *c = memmem(h, n, CLOSE, sizeof CLOSE - 1);
            if (c) {
                sb_put(&r->rout, h, (size_t)(c - h));
                used = (size_t)(c - h) + sizeof CLOSE - 1;
                r->state = ST_AFTER;
                progress = true;
            } else {
                size_t keep = partial_tag(h, n, CLOSE);
                sb_put(&r->rout, h, n - keep);
                used = n - keep;
            }
        } else if (r->state == ST_AFTER) {
            while (used < n && is_ws(h[used])) used++;
            if (used < n) {
                r->state = ST_CONTENT;
                progress = true;
            }
        } else {
            sb_put(&r->cout, h, n);
            used = n;
        }
        if (used) {
            memmove(r->hold.p, r->hold.p + used, n - used);
            r->hold.n = n - used;
            r->hold.p[r->hold.n] = 0;
        }
        if (!progress) return;
    }
}

static void give(sg_reasoning *r, sg_reasoning_delta *d)
{
    d->reasoning = r->rout.p ? r->rout.p : "";
    d->reasoning_len = r->rout.n;
    d->content = r->cout.p ? r->cout.p : "";
    d->content_len = r->cout.n;
}

void sg_reasoning_feed(sg_reasoning *r, const char *piece, size_t n, sg_reasoning_delta *d)
{
    r->rout.n = r->cout.n = 0;
    if (n) sb_put(&r->hold, piece, n);
    drain(r);
    give(r, d);
}

void sg_reasoning_finish(sg_reasoning *r, sg_reasoning_delta *d)
{
    r->rout.n = r->cout.n = 0;
    drain(r);
    if (r->hold.n) {
        if (r->state == ST_REASONING) sb_put(&r->rout, r->hold.p, r->hold.n);
        else if (r->state != ST_AFTER) sb_put(&r->cout, r->hold.p, r->hold.n);
        r->hold.n = 0;
    }
    give(r, d);
}

bool sg_reasoning_prompt_opens(const char *prompt)
{
    const char *open = NULL, *close = NULL, *p;
    for (p = prompt; (p = strstr(p, OPEN)); p++) open = p;
    for (p = prompt; (p = strstr(p, CLOSE)); p++) close = p;
    return open && (!close || close < open);
}
