/*
 * stop.c -- streaming stop strings.
 *
 * Generated text arrives a detokenized piece at a time, and a stop string
 * may be cut across several pieces ("</", "an", "swer>"). The matcher keeps
 * one buffer: the text held back so far followed by the new piece. Each push
 *
 *   1. looks for a complete stop string in the buffer. If several occur, the
 *      one that ends first wins (then the one that starts first): that is the
 *      stop a byte-by-byte stream would have seen first, so the outcome never
 *      depends on how the text was cut into pieces. The text before it is
 *      emitted and the matcher is done.
 *   2. otherwise emits everything except the longest suffix of the buffer
 *      that is a proper prefix of some stop string, and holds that suffix.
 *
 * Held text never contains a complete stop (it would have matched), and a
 * stop can never start inside emitted text (a longer suffix would have been
 * held), so searching only the buffer is enough. The hold is always shorter
 * than the longest stop string.
 *
 * UTF-8: pieces are complete UTF-8 and stop strings are valid UTF-8, so a
 * held suffix that equals a stop prefix starts on a code point. The emit
 * boundary is nonetheless moved back over continuation bytes (10xxxxxx) so
 * that even an invalid stop string can never split a code point.
 *
 * The returned text points into the buffer; it is valid until the next call.
 * The buffer grows to the largest held + piece length seen and stays.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* memmem */
#endif
#include <stdlib.h>
#include <string.h>

#include "stargate.h"

struct sg_stop {
    char **stop;
    size_t *len;
    int *index; /* position of each kept stop in the caller's array */
    int n;
    size_t max_len;
    char *buf;
    size_t cap, held, emitted; /* buf[emitted .. emitted + held) is the hold */
    bool done;
    int which;
};

sg_stop *sg_stop_new(const char *const *stops, int n_stops)
{
    sg_stop *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->which = -1;
    if (n_stops > 0) {
        s->stop = calloc((size_t)n_stops, sizeof *s->stop);
        s->len = calloc((size_t)n_stops, sizeof *s->len);
        s->index = calloc((size_t)n_stops, sizeof *s->index);
        if (!s->stop || !s->len || !s->index) goto oom;
    }
    for (int i = 0; i < n_stops; i++) {
        if (!stops[i] || !stops[i][0]) continue;
        size_t l = strlen(stops[i]);
        if (!(s->stop[s->n] = malloc(l + 1))) goto oom;
        memcpy(s->stop[s->n], stops[i], l + 1);
        s->len[s->n] = l;
        s->index[s->n] = i;
        s->n++;
        if (l > s->max_len) s->max_len = l;
    }
    return s;
oom:
    sg_stop_free(s);
    return NULL;
}

void sg_stop_free(sg_stop *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->stop[i]);
    free(s->stop);
    free(s->len);
    free(s->index);
    free(s->buf);
    free(s);
}

void sg_stop_reset(sg_stop *s)
{
    s->held = s->emitted = 0;
    s->done = false;
    s->which = -1;
}

int sg_stop_which(const sg_stop *s) { return s->which; }

/* Length of the longest suffix of b[0..n) that is a proper prefix of a stop. */
static size_t hold_len(const sg_stop *s, const char *b, size_t n)
{
    size_t most = s->max_len - 1 < n ? s->max_len - 1 : n;
    for (size_t h = most; h > 0; h--)
        for (int i = 0; i < s->n; i++)
            if (s->len[i] > h && !memcmp(b + n - h, s->stop[i], h)) return h;
    return 0;
}

bool sg_stop_push(sg_stop *s, const char *piece, size_t len, const char **out, size_t *out_len)
{
    *out = "";
    *out_len = 0;
    if (s->done) return true;
    if (!piece) len = 0;
    /* drop what was emitted last time, append the piece */
    if (s->emitted) memmove(s->buf, s->buf + s->emitted, s->held);
    s->emitted = 0;
    size_t n = s->held + len;
    if (n > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < n) cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (!nb) { /* cannot hold: emit the piece as is rather than lose it */
            *out = piece ? piece : "";
            *out_len = len;
            return false;
        }
        s->buf = nb;
        s->cap = cap;
    }
    if (len) memcpy(s->buf + s->held, piece, len);

    /* 1. the stop that ends first (then starts first) */
    size_t best_end = (size_t)-1, best_start = 0;
    for (int i = 0; i < s->n; i++) {
        const char *hit = memmem(s->buf, n, s->stop[i], s->len[i]);
        if (!hit) continue;
        size_t st = (size_t)(hit - s->buf), en = st + s->len[i];
        if (en < best_end || (en == best_end && st < best_start)) {
            best_end = en;
            best_start = st;
            s->which = s->index[i];
        }
    }
    if (best_end != (size_t)-1) {
        s->done = true;
        s->held = 0;
        *out = s->buf;
        *out_len = best_start;
        return true;
    }

    /* 2. hold the longest suffix that may still become a stop */
    size_t h = s->n ? hold_len(s, s->buf, n) : 0, e = n - h;
    while (e > 0 && e < n && ((unsigned char)s->buf[e] & 0xC0) == 0x80) e--;
    s->emitted = e;
    s->held = n - e;
    *out = s->buf;
    *out_len = e;
    return false;
}

void sg_stop_flush(sg_stop *s, const char **out, size_t *out_len)
{
    *out = "";
    *out_len = 0;
    if (s->done || !s->held) return;
    if (s->emitted) memmove(s->buf, s->buf + s->emitted, s->held);
    *out = s->buf;
    *out_len = s->held;
    s->emitted = s->held; /* a second flush returns nothing */
    s->held = 0;
}
