/* Unit tests for src/core/suggest.c: the distance, which names are close
 * and which are not, the tie-break on the one-letter form, and the list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "suggest.h"

static size_t dist(const char *a, const char *b)
{
    return suggest_distance(a, strlen(a), b, strlen(b));
}

static void test_distance(void **state)
{
    (void)state;
    assert_int_equal(dist("", ""), 0);
    assert_int_equal(dist("", "abc"), 3);
    assert_int_equal(dist("abc", ""), 3);
    assert_int_equal(dist("listen", "listen"), 0);
    assert_int_equal(dist("lisen", "listen"), 1);   /* a deletion */
    assert_int_equal(dist("listenn", "listen"), 1); /* an insertion */
    assert_int_equal(dist("lusten", "listen"), 1);  /* a substitution */
    assert_int_equal(dist("lsiten", "listen"), 1);  /* a transposition: one edit */
    assert_int_equal(dist("LISTEN", "listen"), 0);  /* ASCII case ignored */
    assert_int_equal(dist("kitten", "sitting"), 3);
    assert_int_equal(dist("ca", "abc"), 3);         /* optimal string alignment, not full DL */
    char longw[SUGGEST_WORD_MAX + 2];
    memset(longw, 'a', sizeof(longw) - 1);
    longw[sizeof(longw) - 1] = '\0';
    assert_int_equal(dist(longw, "a"), SUGGEST_WORD_MAX + 1);
}

static const suggest_cand_t commands[] = {
    {"listen", 0}, {"ws", 0}, {"send", 0}, {"replay", 0}, {"bench", 0}, {"serve", 0}, {"help", 0},
};

/* The one suggestion for word, or NULL when there is none or several. */
static const char *one(const char *word, const suggest_cand_t *c, size_t n)
{
    const char *out[SUGGEST_MAX];
    size_t k = suggest(word, strlen(word), c, n, out);
    return k == 1 ? out[0] : NULL;
}

#define NCMD (sizeof(commands) / sizeof(commands[0]))

static void test_commands(void **state)
{
    (void)state;
    assert_string_equal(one("lisen", commands, NCMD), "listen");
    assert_string_equal(one("bnech", commands, NCMD), "bench");
    assert_string_equal(one("server", commands, NCMD), "serve"); /* a name inside the word */
    assert_string_equal(one("sned", commands, NCMD), "send");
    assert_string_equal(one("Replay", commands, NCMD), "replay");
    assert_string_equal(one("wss", commands, NCMD), "ws");
    const char *out[SUGGEST_MAX];
    /* nothing close: nothing offered */
    assert_int_equal(suggest("frobnicate", 10, commands, NCMD, out), 0);
    assert_int_equal(suggest("x", 1, commands, NCMD, out), 0);
    assert_int_equal(suggest("", 0, commands, NCMD, out), 0);
    assert_int_equal(suggest("zz", 2, commands, NCMD, out), 0); /* 1-2 bytes: no edits */
}

static const suggest_cand_t bench_opts[] = {
    {"connections", 'c'}, {"connect-rate", 0}, {"duration", 'd'}, {"threads", 't'},
    {"message-rate", 'r'}, {"size", 0}, {"publish", 0}, {"publish-rate", 0}, {"json", 0},
    {"assert", 0}, {"insecure", 'k'},
};
#define NBENCH (sizeof(bench_opts) / sizeof(bench_opts[0]))

static void test_options(void **state)
{
    (void)state;
    /* --rate is inside three names; -r is --message-rate's letter */
    assert_string_equal(one("rate", bench_opts, NBENCH), "message-rate");
    /* an abbreviation: two names start with it, -c is --connections' */
    assert_string_equal(one("conn", bench_opts, NBENCH), "connections");
    assert_string_equal(one("dur", bench_opts, NBENCH), "duration");
    assert_string_equal(one("threds", bench_opts, NBENCH), "threads");
    assert_string_equal(one("jsn", bench_opts, NBENCH), "json");
    assert_string_equal(one("inseucre", bench_opts, NBENCH), "insecure");
    assert_string_equal(one("message_rate", bench_opts, NBENCH), "message-rate");
    assert_string_equal(one("messageRate", bench_opts, NBENCH), "message-rate");
    assert_string_equal(one("publish-rates", bench_opts, NBENCH), "publish-rate");

    /* under rule 2, the nearest in length */
    assert_string_equal(one("publ", bench_opts, NBENCH), "publish");

    /* ties without a letter to break them: all of them, in table order, at
     * most SUGGEST_MAX */
    static const suggest_cand_t rates[] = {
        {"connect-rate", 0}, {"message-rate", 'm'}, {"publish-rate", 0}, {"arrival-rate", 0}};
    const char *out[SUGGEST_MAX];
    assert_int_equal(suggest("rate", 4, rates, 4, out), 3);
    assert_string_equal(out[0], "connect-rate");
    assert_string_equal(out[1], "message-rate");
    assert_string_equal(out[2], "publish-rate");

    /* a slip in an abbreviation */
    static const suggest_cand_t ws_opts[] = {{"ping-interval", 0}, {"on-open", 0}, {"origin", 0}};
    assert_string_equal(one("pign", ws_opts, 3), "ping-interval");

    /* not close */
    assert_int_equal(suggest("bogus", 5, bench_opts, NBENCH, out), 0);
    assert_int_equal(suggest("count", 5, bench_opts, NBENCH, out), 0);
}

static void test_list(void **state)
{
    (void)state;
    const char *names[] = {"a", "bb", "c"};
    char buf[64];
    suggest_list(buf, sizeof(buf), "--", names, 1);
    assert_string_equal(buf, "'--a'");
    suggest_list(buf, sizeof(buf), "", names, 2);
    assert_string_equal(buf, "'a' or 'bb'");
    suggest_list(buf, sizeof(buf), "--", names, 3);
    assert_string_equal(buf, "'--a', '--bb' or '--c'");
    suggest_list(buf, 6, "--", names, 3); /* cut short, still terminated */
    assert_int_equal(strlen(buf), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
