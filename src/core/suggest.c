/* suggest: the closest names to a word (see suggest.h). */
#include "suggest.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NO_MATCH 1000

static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

size_t suggest_distance(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen > SUGGEST_WORD_MAX || blen > SUGGEST_WORD_MAX)
        return SUGGEST_WORD_MAX + 1;
    /* Three rows of the edit matrix: i-2, i-1 and i. */
    size_t rows[3][SUGGEST_WORD_MAX + 1];
    for (size_t j = 0; j <= blen; j++)
        rows[0][j] = j;
    for (size_t i = 1; i <= alen; i++) {
        size_t *cur = rows[i % 3], *prev = rows[(i - 1) % 3], *prev2 = rows[(i - 2 + 3) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t cost = fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1;
            size_t best = prev[j] + 1;                /* deletion */
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;                /* insertion */
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;            /* substitution */
            if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
                fold(a[i - 2]) == fold(b[j - 1]) && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;              /* transposition */
            cur[j] = best;
        }
    }
    return rows[alen % 3][blen];
}

/* s[0..n) lower-cased without '-' and '_' into out (SUGGEST_WORD_MAX + 1). */
static size_t squash(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '-' && s[i] != '_')
            out[k++] = fold(s[i]);
    out[k] = '\0';
    return k;
}

static bool starts_with(const char *s, size_t sn, const char *p, size_t pn)
{
    if (pn > sn)
        return false;
    for (size_t i = 0; i < pn; i++)
        if (fold(s[i]) != fold(p[i]))
            return false;
    return true;
}

static bool contains(const char *s, size_t sn, const char *p, size_t pn)
{
    for (size_t i = 0; i + pn <= sn; i++)
        if (starts_with(s + i, sn - i, p, pn))
            return true;
    return false;
}

/* How far name is from word, lower is closer: 0 the same but for case, '-'
 * and '_'; 10 + the difference in length when one starts with the other or
 * the word is inside the name; 100 + 10 per edit; NO_MATCH. */
static int score(const char *word, size_t wl, const char *name)
{
    size_t nl = strlen(name);
    if (wl == 0 || wl > SUGGEST_WORD_MAX || nl > SUGGEST_WORD_MAX)
        return NO_MATCH;
    char sw[SUGGEST_WORD_MAX + 1], sn[SUGGEST_WORD_MAX + 1];
    size_t swl = squash(word, wl, sw), snl = squash(name, nl, sn);
    if (swl > 0 && swl == snl && memcmp(sw, sn, swl) == 0)
        return 0;
    if ((wl >= 2 && starts_with(name, nl, word, wl)) || (nl >= 3 && starts_with(word, wl, name, nl)) ||
        (wl >= 3 && contains(name, nl, word, wl)))
        return 10 + (int)(nl > wl ? nl - wl : wl - nl);
    size_t limit = wl <= 2 ? 0 : wl <= 4 ? 1 : wl <= 8 ? 2 : 3;
    size_t d = suggest_distance(word, wl, name, nl);
    if (d <= limit)
        return 100 + 10 * (int)d;
    /* A slip in an abbreviation (--pign for --ping-interval): one edit
     * from the name's start, ranked with a whole name two edits away. */
    if (wl >= 4 && nl > wl && suggest_distance(word, wl, name, wl) <= 1)
        return 120;
    return NO_MATCH;
}

size_t suggest(const char *word, size_t len, const suggest_cand_t *cands, size_t n,
               const char *out[SUGGEST_MAX])
{
    int best = NO_MATCH;
    size_t nbest = 0, nletter = 0;
    const char *by_letter = NULL;
    for (size_t i = 0; i < n; i++) {
        int t = score(word, len, cands[i].name);
        if (t > best || t == NO_MATCH)
            continue;
        if (t < best) {
            best = t;
            nbest = nletter = 0;
        }
        if (nbest < SUGGEST_MAX)
            out[nbest] = cands[i].name;
        nbest++;
        if (cands[i].letter && len && fold(cands[i].letter) == fold(word[0])) {
            nletter++;
            by_letter = cands[i].name;
        }
    }
    if (nbest > 1 && nletter == 1) {
        out[0] = by_letter;
        return 1;
    }
    return nbest < SUGGEST_MAX ? nbest : SUGGEST_MAX;
}

void suggest_list(char *out, size_t outlen, const char *prefix, const char *const *names, size_t k)
{
    size_t used = 0;
    if (outlen == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < k && used < outlen; i++) {
        const char *sep = i == 0 ? "" : i + 1 == k ? " or " : ", ";
        int w = snprintf(out + used, outlen - used, "%s'%s%s'", sep, prefix, names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}
