/*
 * redact.c -- sg_redact_pii: e-mail addresses and phone numbers out of log text.
 *
 * Two left-to-right passes, each linear in the input (every byte is looked
 * at a bounded number of times; no backtracking):
 *
 * 1. E-mail: at each '@', the local part is the run of ASCII letters, digits,
 *    ". _ % + -" or non-ASCII bytes just before it (leading dots dropped), the
 *    domain the run of ASCII letters, digits, '-' and '.' just after it
 *    (trailing '.'/'-' dropped, so a sentence's full stop stays). It is an
 *    address when the local part is not empty and the domain has at least two
 *    non-empty labels whose last one (the TLD) is 2+ letters or "xn--...".
 *    The whole address becomes "[email]".
 *
 * 2. Phone: a candidate starts at '+', '(' or a digit that does not follow a
 *    letter, digit, '_' or a digit plus '.', ',', ':', '-' or '/', and is a
 *    run of digit groups: optional '+', then groups of digits or "(digits)"
 *    separated by one of space, no-break space (U+00A0, U+202F), '-', '.',
 *    '/' (nothing needed around a parenthesised group). Digits are ASCII,
 *    Arabic-Indic (U+0660..0669) or Extended Arabic-Indic (U+06F0..06F9).
 *    It must not be followed by an ASCII letter, '_', '@', or '.'/',' plus a
 *    digit. With D its number of digits, it is a phone number when
 *    7 <= D <= 15 and one of:
 *      - it starts with '+' or has a parenthesised group;
 *      - it is one group of 10+ digits;
 *      - it has several groups and is none of: a date (its first three groups
 *        are yyyy-m-d or d-m-yyyy with one separator '-', '.' or '/'), an
 *        IPv4 address (four groups of 1-3 digits split by '.'), a decimal
 *        number (two groups split by '.'), a thousands-grouped number (first
 *        group 1-3 digits not starting with 0, the others exactly 3, split by
 *        spaces or '.'), or two years ("1999 2005").
 *    The candidate becomes "[phone]". So "+33 6 12 34 56 78", "(030) 1234567",
 *    "555-123-4567", "06 12 34 56 78" and "0612345678" are redacted; years,
 *    "3 apples", "1 000 000", "3.14159265", "2024-01-15 10:30" and
 *    192.168.1.10 are not. Limits: runs of 7+ digits in space-separated
 *    groups in running text may be taken for a phone number (over-redaction
 *    is the safe side for logs); numbers written with other digits or
 *    separators, and 16+ digit numbers (card numbers), are left alone.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deploy.h"

static bool rd_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool rd_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool rd_local(unsigned char c)
{
    return rd_alnum(c) || c >= 0x80 || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
static bool rd_domain(unsigned char c)
{
    return rd_alnum(c) || c == '-' || c == '.';
}

static bool rd_domain_ok(const unsigned char *d, size_t n)
{
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && d[i] != '.') continue;
        if (i == start) return false; /* empty label */
        labels++;
        if (i == n) { /* the TLD */
            size_t l = n - start;
            if (l >= 4 && !strncasecmp((const char *)d + start, "xn--", 4)) return labels >= 2;
            if (l < 2) return false;
            for (size_t k = start; k < n; k++)
                if (!rd_alpha(d[k])) return false;
        }
        start = i + 1;
    }
    return labels >= 2;
}

static void rd_put(char *out, size_t *o, const char *s, size_t n)
{
    memcpy(out + *o, s, n);
    *o += n;
}

/* out must hold (n / 6 + 1) * 7 + n bytes: the shortest address (6 bytes) becomes 7 */
static size_t rd_emails(const unsigned char *s, size_t n, char *out)
{
    size_t i = 0, o = 0, mark = 0;
    while (i < n) {
        if (s[i] == '@') {
            size_t l = i;
            while (l > mark && rd_local(s[l - 1])) l--;
            while (l < i && s[l] == '.') l++;
            size_t r = i + 1;
            while (r < n && rd_domain(s[r])) r++;
            while (r > i + 1 && (s[r - 1] == '.' || s[r - 1] == '-')) r--;
            if (l < i && rd_domain_ok(s + i + 1, r - i - 1)) {
                o -= i - l; /* the local part was copied verbatim: take it back */
                rd_put(out, &o, "[email]", 7);
                i = mark = r;
                continue;
            }
        }
        out[o++] = (char)s[i++];
    }
    return o;
}

/* Length of the digit at s[i] (ASCII, Arabic-Indic, Extended Arabic-Indic), 0 if none. */
static size_t rd_digit(const unsigned char *s, size_t n, size_t i)
{
    if (i >= n) return 0;
    if (s[i] >= '0' && s[i] <= '9') return 1;
    if (i + 1 < n && s[i] == 0xd9 && s[i + 1] >= 0xa0 && s[i + 1] <= 0xa9) return 2;
    if (i + 1 < n && s[i] == 0xdb && s[i + 1] >= 0xb0 && s[i + 1] <= 0xb9) return 2;
    return 0;
}

/* Digit ending just before s[i]? */
static bool rd_digit_before(const unsigned char *s, size_t i)
{
    if (i >= 1 && s[i - 1] >= '0' && s[i - 1] <= '9') return true;
    if (i >= 2 && ((s[i - 2] == 0xd9 && s[i - 1] >= 0xa0 && s[i - 1] <= 0xa9) ||
                   (s[i - 2] == 0xdb && s[i - 1] >= 0xb0 && s[i - 1] <= 0xb9)))
        return true;
    return false;
}

enum { SEP_NONE = 0, SEP_SPACE, SEP_DASH, SEP_DOT, SEP_SLASH };

/* Separator at s[i]: its kind, *len its bytes; SEP_NONE when none. */
static int rd_sep(const unsigned char *s, size_t n, size_t i, size_t *len)
{
    *len = 1;
    if (i >= n) return SEP_NONE;
    switch (s[i]) {
    case ' ': return SEP_SPACE;
    case '-': return SEP_DASH;
    case '.': return SEP_DOT;
    case '/': return SEP_SLASH;
    }
    if (i + 1 < n && s[i] == 0xc2 && s[i + 1] == 0xa0) return *len = 2, SEP_SPACE;
    if (i + 2 < n && s[i] == 0xe2 && s[i + 1] == 0x80 && s[i + 2] == 0xaf) return *len = 3, SEP_SPACE;
    return SEP_NONE;
}

static bool rd_group_start(const unsigned char *s, size_t n, size_t i)
{
    return rd_digit(s, n, i) || (i < n && s[i] == '(' && rd_digit(s, n, i + 1));
}

#define RD_MAXG 16

typedef struct rd_cand {
    size_t end;
    bool plus, paren;
    int groups, digits;
    int glen[RD_MAXG];     /* digits per group (first RD_MAXG groups)          */
    int sep[RD_MAXG];      /* separator after group k                          */
    size_t gpos[RD_MAXG];  /* byte offset of group k's first digit             */
} rd_cand;

/* Scans the candidate at s[i] (a group start or '+' + group start). */
static void rd_scan(const unsigned char *s, size_t n, size_t i, rd_cand *c)
{
    memset(c, 0, sizeof *c);
    size_t j = i;
    if (s[j] == '+') c->plus = true, j++;
    for (;;) {
        int gd = 0;
        bool par = false;
        if (s[j] == '(') {
            size_t k = j + 1, dl;
            while ((dl = rd_digit(s, n, k)) != 0) k += dl, gd++;
            if (k >= n || s[k] != ')') break; /* "(123" is not a group: stop before it */
            if (c->groups < RD_MAXG) c->gpos[c->groups] = j + 1;
            j = k + 1, par = true, c->paren = true;
        } else {
            size_t dl;
            if (c->groups < RD_MAXG) c->gpos[c->groups] = j;
            while ((dl = rd_digit(s, n, j)) != 0) j += dl, gd++;
        }
        if (c->groups < RD_MAXG) c->glen[c->groups] = gd;
        c->groups++;
        c->digits += gd;
        c->end = j;
        if (c->digits > 1000) break; /* far too long anyway; keeps the counts small */
        size_t sl;
        int sep = rd_sep(s, n, j, &sl);
        if (sep == SEP_SPACE || sep == SEP_DASH || sep == SEP_DOT || sep == SEP_SLASH) {
            if (rd_group_start(s, n, j + sl)) {
                if (c->groups <= RD_MAXG) c->sep[c->groups - 1] = sep;
                j += sl;
                continue;
            }
        }
        /* no separator needed next to a parenthesised group */
        if ((par && rd_digit(s, n, j)) || (j < n && s[j] == '(' && rd_digit(s, n, j + 1))) continue;
        break;
    }
}

static bool rd_is_phone(const unsigned char *s, size_t n, const rd_cand *c)
{
    size_t e = c->end;
    if (e < n && (rd_alnum(s[e]) || s[e] == '_' || s[e] == '@')) return false;
    if (e + 1 < n && (s[e] == '.' || s[e] == ',') && rd_digit(s, n, e + 1)) return false;
    if (c->digits < 7 || c->digits > 15) return false;
    if (c->plus || c->paren) return true;
    if (c->groups == 1) return c->digits >= 10;
    int g = c->groups; /* <= 15 here, so glen/sep are complete */
    const int *L = c->glen, *S = c->sep;
    bool one_sep = true;
    for (int k = 1; k < g - 1; k++)
        if (S[k] != S[0]) one_sep = false;
    if (g >= 3 && S[0] == S[1] && (S[0] == SEP_DASH || S[0] == SEP_DOT || S[0] == SEP_SLASH) &&
        ((L[0] == 4 && L[1] <= 2 && L[2] <= 2) || (L[0] <= 2 && L[1] <= 2 && L[2] == 4)))
        return false; /* date */
    if (g == 4 && one_sep && S[0] == SEP_DOT && L[0] <= 3 && L[1] <= 3 && L[2] <= 3 && L[3] <= 3) return false; /* IPv4 */
    if (g == 2 && S[0] == SEP_DOT) return false; /* decimal */
    if (one_sep && (S[0] == SEP_SPACE || S[0] == SEP_DOT) && L[0] <= 3 && s[c->gpos[0]] != '0') {
        bool thousands = true;
        for (int k = 1; k < g; k++)
            if (L[k] != 3) thousands = false;
        if (thousands) return false;
    }
    if (g == 2 && S[0] == SEP_SPACE && L[0] == 4 && L[1] == 4 && (s[c->gpos[0]] == '1' || s[c->gpos[0]] == '2') &&
        (s[c->gpos[1]] == '1' || s[c->gpos[1]] == '2'))
        return false; /* "1999 2005": two years */
    return true;
}

static size_t rd_phones(const unsigned char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        bool start = false;
        if (rd_group_start(s, n, i) || (s[i] == '+' && rd_group_start(s, n, i + 1))) {
            start = true;
            if (i > 0) {
                unsigned char p = s[i - 1];
                if (rd_alnum(p) || p == '_' || rd_digit_before(s, i)) start = false;
                if ((p == '.' || p == ',' || p == ':' || p == '-' || p == '/') && rd_digit_before(s, i - 1))
                    start = false;
            }
        }
        if (!start) {
            out[o++] = (char)s[i++];
            continue;
        }
        rd_cand c;
        rd_scan(s, n, i, &c);
        if (c.end <= i) { /* "+" or "(" alone */
            out[o++] = (char)s[i++];
            continue;
        }
        if (rd_is_phone(s, n, &c)) {
            rd_put(out, &o, "[phone]", 7);
        } else {
            rd_put(out, &o, (const char *)s + i, c.end - i);
        }
        i = c.end;
    }
    return o;
}

char *sg_redact_pii(const char *text, size_t len)
{
    if (!text) text = "", len = 0;
    if (len > (SIZE_MAX - 16) / 3) return NULL;
    size_t cap = len + len / 6 * 7 + 16;
    char *a = malloc(cap);
    if (!a) return NULL;
    size_t an = rd_emails((const unsigned char *)text, len, a);
    char *b = malloc(an + 1); /* "[phone]" is never longer than the 7+ digits it replaces */
    if (!b) {
        free(a);
        return NULL;
    }
    size_t bn = rd_phones((const unsigned char *)a, an, b);
    b[bn] = 0;
    free(a);
    return b;
}
