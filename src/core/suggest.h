/* suggest: "did you mean" — the names closest to a word that matched none
 * (a command, an option, a URL scheme), for a usage error that teaches. Pure
 * text, no I/O.
 *
 * A name is close when, compared without regard to ASCII case:
 *   1. it is the word once '-' and '_' are ignored (--last_event_id,
 *      --lastEventId for --last-event-id);
 *   2. one starts with the other (--conn, --timeouts), or the word (3 bytes
 *      or more) is part of the name (--rate in --message-rate);
 *   3. its Damerau-Levenshtein distance to the word (adjacent transpositions
 *      count one edit: the optimal-string-alignment form) is at most 1 for a
 *      word of 3-4 bytes, 2 for 5-8 and 3 for longer ones (--evnt,
 *      lisen, bnech); never for 1-2 bytes; or, for a word of 4 bytes or
 *      more, 1 to the name's start as long as the word (--pign for
 *      --ping-interval), ranked as 2 edits.
 * Only the best of these are kept, in the candidates' order: rule 1 before 2
 * before 3; under rule 2 the nearest in length (--publ: --publish, not
 * --publish-rate); under rule 3 the fewest edits. When several tie and exactly one has
 * the word's first letter as its one-letter form (-r for --message-rate:
 * `--rate`), that one is the suggestion. */
#ifndef EVCAT_SUGGEST_H
#define EVCAT_SUGGEST_H

#include <stddef.h>

#define SUGGEST_MAX      3  /* names one message offers */
#define SUGGEST_WORD_MAX 64 /* longer words (and names) are never close */

typedef struct suggest_cand {
    const char *name;
    char letter; /* its one-letter form (an option's short name), or 0 */
} suggest_cand_t;

/* The names of cands[0..n) closest to word[0..len): up to SUGGEST_MAX of
 * them in out, their count returned (0: nothing is close). */
size_t suggest(const char *word, size_t len, const suggest_cand_t *cands, size_t n,
               const char *out[SUGGEST_MAX]);

/* The Damerau-Levenshtein (optimal string alignment) distance between a and
 * b, ASCII case ignored; SUGGEST_WORD_MAX + 1 when either is longer than
 * SUGGEST_WORD_MAX. */
size_t suggest_distance(const char *a, size_t alen, const char *b, size_t blen);

/* "'A'", "'A' or 'B'", "'A', 'B' or 'C'" with each name after prefix
 * ("--"), into out (always terminated). */
void suggest_list(char *out, size_t outlen, const char *prefix, const char *const *names,
                  size_t k);

#endif
