/* Unit tests for src/cli/options.c: the table options.def makes is one
 * getopt can use for each command, every option is documented, the
 * defaults it shows are the code's, and opt_parse reports what was given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cliopt.h"
#include "diag.h"
#include "cmd_bench.h"
#include "options.h"
#include "serve.h"
#include "units.h"

/* Per command: no option twice, no long name or letter for two options. */
static void test_each_command_unambiguous(void **state)
{
    (void)state;
    for (int c = 0; c < CMD_COUNT; c++) {
        for (size_t i = 0; i < OPT_NROWS; i++) {
            const opt_row_t *a = &opt_rows[i];
            if (!(a->commands & (1u << c)))
                continue;
            for (size_t j = i + 1; j < OPT_NROWS; j++) {
                const opt_row_t *b = &opt_rows[j];
                if (!(b->commands & (1u << c)))
                    continue;
                if (a->id == b->id || strcmp(a->opt->name, b->opt->name) == 0 ||
                    (a->opt->shortname && a->opt->shortname == b->opt->shortname))
                    fail_msg("%s: --%s and --%s clash", opt_commands[c].name, a->opt->name,
                             b->opt->name);
            }
        }
    }
}

/* What the shells and --help need of each entry, and a man page entry for
 * every option a command takes (its own, or its OPT entry's). */
static void test_every_entry_documented(void **state)
{
    (void)state;
    for (size_t i = 0; i < OPT_NROWS; i++) {
        const opt_row_t *r = &opt_rows[i];
        const char *name = r->opt->name;
        if (!r->commands)
            fail_msg("--%s: no command takes it", name);
        if (r->refused)
            continue;
        if (!r->help || !*r->help || r->group == G_NONE)
            fail_msg("--%s: no --help line or heading", name);
        if (r->opt->value == V_WORDS && !r->opt->words)
            fail_msg("--%s: V_WORDS without .words", name);
        if (r->opt->nargs == 2 && (!r->opt->arg || !strchr(r->opt->arg, ' ')))
            fail_msg("--%s: two values need two names", name);
        const opt_row_t *doc = r->man ? r : r->opt;
        if (r->id != OPT_HELP && (!doc->man || doc->sec == M_NONE))
            fail_msg("--%s: no man page entry", name);
    }
}

/* The defaults --help and the man page show are the ones the code sets. */
static void test_defaults_match_the_code(void **state)
{
    (void)state;
    uint64_t v;
    conn_opts_t co;
    conn_opts_init(&co);
    assert_int_equal(parse_duration_ms(opt_row_for(OPT_CONNECT_TIMEOUT, CMD_LISTEN)->dflt, &v), 0);
    assert_int_equal(v, co.net.connect_timeout_ms);
    conn_opts_free(&co);
    ws_cli_opts_t w;
    ws_cli_opts_init(&w);
    assert_int_equal(parse_size(opt_row_for(OPT_MAX_MESSAGE, CMD_WS)->dflt, &v), 0);
    assert_int_equal(v, w.max_message);

    serve_config_t cfg;
    serve_config_defaults(&cfg);
    static const struct {
        opt_id_t id;
        int kind; /* 0 duration (ms), 1 size, 2 number */
        size_t offset;
        size_t width;
    } serve[] = {
#define FIELD(f) offsetof(serve_config_t, f), sizeof(((serve_config_t *)0)->f)
        {OPT_TICK, 0, FIELD(tick_ms)},
        {OPT_KEEPALIVE, 0, FIELD(keepalive_ms)},
        {OPT_RETRY, 2, FIELD(retry_ms)},
        {OPT_HISTORY, 2, FIELD(history)},
        {OPT_MAX_MESSAGE, 1, FIELD(max_message)},
        {OPT_MAX_QUEUE, 1, FIELD(max_queue)},
        {OPT_HEADER_TIMEOUT, 0, FIELD(header_timeout_ms)},
        {OPT_IDLE_TIMEOUT, 0, FIELD(idle_timeout_ms)},
        {OPT_TOKENS, 2, FIELD(tokens)},
        {OPT_FIRST_TOKEN, 3, FIELD(first_token_ns)},
        {OPT_TOKEN_INTERVAL, 3, FIELD(token_interval_ns)},
#undef FIELD
    };
    for (size_t i = 0; i < sizeof(serve) / sizeof(serve[0]); i++) {
        const opt_row_t *r = opt_row_for(serve[i].id, CMD_SERVE);
        int rc = serve[i].kind == 0   ? parse_duration_ms(r->dflt, &v)
                 : serve[i].kind == 1 ? parse_size(r->dflt, &v)
                 : serve[i].kind == 2 ? parse_uint(r->dflt, UINT64_MAX, &v)
                                      : parse_duration_us(r->dflt, &v);
        if (serve[i].kind == 3)
            v *= 1000; /* ns */
        uint64_t code = 0;
        memcpy(&code, (const char *)&cfg + serve[i].offset, serve[i].width);
        if (rc != 0 || v != code)
            fail_msg("serve --%s: options.def says %s, the code %llu", r->opt->name, r->dflt,
                     (unsigned long long)code);
    }

    /* --max-connections follows the machine: its default is a sentence */
    assert_string_equal(opt_row_for(OPT_MAX_CONNECTIONS, CMD_SERVE)->dflt,
                        "what the descriptor limit allows");
    assert_int_equal(cfg.max_connections, serve_default_max_connections());

    /* bench's streams as requests */
    struct bench_args ba;
    char *argv[] = {"bench", NULL};
    assert_int_equal(bench_args_parse(&ba, 1, argv), 1);
    assert_string_equal(opt_row_for(OPT_END_DATA, CMD_BENCH)->dflt, ba.o.end_data);
    assert_int_equal(parse_duration_ms(opt_row_for(OPT_IDLE_TIMEOUT, CMD_BENCH)->dflt, &v), 0);
    assert_int_equal(v, ba.o.idle_timeout_ms);
    conn_opts_free(&ba.co);
}

struct hits {
    opt_hit_t h[8];
    int n;
};

static int collect(void *ud, const opt_hit_t *h)
{
    struct hits *s = ud;
    if (s->n == 8)
        return -1;
    s->h[s->n++] = *h;
    return 0;
}

/* bench's -d: --duration when its value starts with a digit, else --data
 * (streams as requests); the long names are what they say. */
static void test_bench_d_is_duration_or_data(void **state)
{
    (void)state;
    static const struct {
        const char *args[4];
        bool duration, streams;
        const char *data;
    } cases[] = {
        {{"-d", "30s"}, true, false, NULL},
        {{"-d", ".5s"}, true, false, NULL},
        {{"-d", "{\"max_tokens\":20}"}, false, true, "{\"max_tokens\":20}"},
        {{"-d", "@body.json"}, false, true, "@body.json"},
        {{"--data", "5"}, false, true, "5"},
        {{"--duration", "2s", "-d", "x=1"}, true, true, "x=1"},
        {{"--requests", "3"}, false, true, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[8] = {"bench"};
        int argc = 1;
        for (int k = 0; k < 4 && cases[i].args[k]; k++)
            argv[argc++] = (char *)cases[i].args[k];
        argv[argc++] = "http://h/";
        struct bench_args ba;
        diag_level = -1;
        int first = bench_args_parse(&ba, argc, argv);
        diag_level = 0;
        assert_int_equal(first, argc - 1);
        assert_int_equal(ba.o.duration_set, cases[i].duration);
        assert_int_equal(ba.o.streams, cases[i].streams);
        if (cases[i].data)
            assert_string_equal(ba.o.data_arg, cases[i].data);
        else
            assert_null(ba.o.data_arg);
        conn_opts_free(&ba.co);
    }
    /* a value that starts with a digit and is no duration is a bad duration */
    char *bad[] = {"bench", "-d", "10sec", "http://h/", NULL};
    struct bench_args ba;
    diag_level = -2;
    assert_int_equal(bench_args_parse(&ba, 4, bad), OPT_PARSE_ERROR);
    diag_level = 0;
    conn_opts_free(&ba.co);
}

static void test_parse(void **state)
{
    (void)state;
    char *argv[] = {"listen",           "-X", "POST", "--event=a", "-kv", "http://h/",
                    "--max-event-size", "1k", NULL};
    struct hits s = {.n = 0};
    int first = opt_parse(CMD_LISTEN, 8, argv, collect, &s);
    /* getopt moves the operand behind the options */
    assert_int_equal(first, 7);
    assert_string_equal(argv[first], "http://h/");
    assert_int_equal(s.n, 5);
    assert_int_equal(s.h[0].id, OPT_REQUEST);
    assert_string_equal(s.h[0].given, "-X");
    assert_string_equal(s.h[0].arg, "POST");
    assert_int_equal(s.h[1].id, OPT_EVENT);
    assert_string_equal(s.h[1].given, "--event");
    assert_string_equal(s.h[1].arg, "a");
    assert_int_equal(s.h[2].id, OPT_INSECURE);
    assert_null(s.h[2].arg);
    assert_int_equal(s.h[3].id, OPT_VERBOSE);
    assert_int_equal(s.h[4].id, OPT_MAX_EVENT_SIZE);

    /* -d is --data in listen and --duration in bench */
    char *bargv[] = {"bench", "-d", "5s", "ws://h/", NULL};
    s.n = 0;
    assert_int_equal(opt_parse(CMD_BENCH, 4, bargv, collect, &s), 3);
    assert_int_equal(s.h[0].id, OPT_DURATION);

    /* --tls CERT KEY: the next word is the second value */
    char *sargv[] = {"serve", "--tls", "c.pem", "k.pem", "-q", NULL};
    s.n = 0;
    assert_int_equal(opt_parse(CMD_SERVE, 5, sargv, collect, &s), 5);
    assert_int_equal(s.h[0].id, OPT_TLS);
    assert_string_equal(s.h[0].arg, "c.pem");
    assert_string_equal(s.h[0].arg2, "k.pem");
    assert_int_equal(s.h[1].id, OPT_QUIET);
}

static void test_parse_errors(void **state)
{
    (void)state;
    struct hits s = {.n = 0};
    char *unknown[] = {"ws", "--bogus", "ws://h/", NULL};
    assert_int_equal(opt_parse(CMD_WS, 3, unknown, collect, &s), OPT_PARSE_ERROR);
    char *novalue[] = {"listen", "http://h/", "--event", NULL};
    assert_int_equal(opt_parse(CMD_LISTEN, 3, novalue, collect, &s), OPT_PARSE_ERROR);
    char *elsewhere[] = {"serve", "--bearer", "t", NULL}; /* not serve's */
    assert_int_equal(opt_parse(CMD_SERVE, 3, elsewhere, collect, &s), OPT_PARSE_ERROR);
    char *refused[] = {"bench", "--proxy", "http://p/", "ws://h/", NULL};
    assert_int_equal(opt_parse(CMD_BENCH, 4, refused, collect, &s), OPT_PARSE_ERROR);
    char *onevalue[] = {"serve", "--tls", "c.pem", NULL};
    assert_int_equal(opt_parse(CMD_SERVE, 3, onevalue, collect, &s), OPT_PARSE_ERROR);
    assert_int_equal(s.n, 0);
}

/* opt_parse's verdict on argv, and the line it printed on stderr. */
static int parse_err(opt_command_t cmd, char **argv, char *line, size_t n)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    struct hits s = {.n = 0};
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *tmp = tmpfile();
    dup2(fileno(tmp), STDERR_FILENO);
    int rc = opt_parse(cmd, argc, argv, collect, &s);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    line[0] = '\0';
    if (!fgets(line, (int)n, tmp))
        line[0] = '\0';
    line[strcspn(line, "\n")] = '\0';
    fclose(tmp);
    return rc;
}

/* Long options are whole words (no getopt abbreviations), and an unknown
 * one is answered with the closest the command takes, or with the
 * commands that take it. */
static void test_parse_suggestions(void **state)
{
    (void)state;
    char line[256];
    char *rate[] = {"bench", "--rate", "5", "ws://h/", NULL};
    assert_int_equal(parse_err(CMD_BENCH, rate, line, sizeof(line)), OPT_PARSE_ERROR);
    assert_string_equal(line, "evcat: bench: unknown option '--rate'; did you mean '--message-rate'?");
    char *abbrev[] = {"bench", "--conn=5", "ws://h/", NULL};
    assert_int_equal(parse_err(CMD_BENCH, abbrev, line, sizeof(line)), OPT_PARSE_ERROR);
    assert_string_equal(line, "evcat: bench: unknown option '--conn'; did you mean '--connections'?");
    char *abbrev2[] = {"listen", "--max-event", "1k", "http://h/", NULL};
    assert_int_equal(parse_err(CMD_LISTEN, abbrev2, line, sizeof(line)), OPT_PARSE_ERROR);
    assert_string_equal(line,
                        "evcat: listen: unknown option '--max-event'; did you mean '--max-event-size'?");
    char *evnt[] = {"listen", "http://h/", "--evnt", "x", NULL};
    assert_int_equal(parse_err(CMD_LISTEN, evnt, line, sizeof(line)), OPT_PARSE_ERROR);
    assert_string_equal(line, "evcat: listen: unknown option '--evnt'; did you mean '--event'?");
    /* a refused option is never offered: bench takes no --proxy */
    char *prox[] = {"bench", "--prox", "http://p/", "ws://h/", NULL};
    assert_int_equal(parse_err(CMD_BENCH, prox, line, sizeof(line)), OPT_PARSE_ERROR);
    assert_null(strstr(line, "'--proxy'"));
    char *other[] = {"serve", "--bearer", "t", NULL};
    assert_int_equal(parse_err(CMD_SERVE, other, line, sizeof(line)), OPT_PARSE_ERROR);
    assert_string_equal(line, "evcat: serve: unknown option '--bearer' (an option of listen, ws, "
                              "send, replay and bench; see 'evcat serve --help')");
    char *none[] = {"ws", "--bogus", "ws://h/", NULL};
    assert_int_equal(parse_err(CMD_WS, none, line, sizeof(line)), OPT_PARSE_ERROR);
    assert_string_equal(line, "evcat: ws: unknown option '--bogus' (see 'evcat ws --help')");
    char *flagval[] = {"ws", "--binary=yes", "ws://h/", NULL};
    assert_int_equal(parse_err(CMD_WS, flagval, line, sizeof(line)), OPT_PARSE_ERROR);
    assert_string_equal(line, "evcat: ws: --binary takes no value, got '--binary=yes'");
    /* the whole name still works, with its value joined or apart */
    char *whole[] = {"bench", "--connections=5", "--message-rate", "2", "ws://h/", NULL};
    assert_int_equal(parse_err(CMD_BENCH, whole, line, sizeof(line)), 4);
    assert_string_equal(line, "");
}

/* --help: every option of the command, on stdout (here, a file). */
static void test_help(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    opt_help(f, CMD_BENCH);
    fclose(f);
    for (size_t i = 0; i < OPT_NROWS; i++) {
        const opt_row_t *r = &opt_rows[i];
        char name[64];
        snprintf(name, sizeof(name), "--%s", r->opt->name);
        bool listed = strstr(text, name) != NULL;
        if ((r->commands & C_BENCH) && listed == (r->refused != NULL))
            fail_msg("bench --help %s %s", listed ? "lists" : "does not list", name);
    }
    assert_non_null(strstr(text, "(default 10s)")); /* bench's --connect-timeout */
    assert_null(strstr(text, "(default 30s)"));     /* not the others' */
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_command_unambiguous),
        cmocka_unit_test(test_every_entry_documented),
        cmocka_unit_test(test_defaults_match_the_code),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_bench_d_is_duration_or_data),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_suggestions),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
