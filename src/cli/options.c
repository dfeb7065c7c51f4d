/* options: options.def expanded into tables, a getopt_long parser built from
 * them for one command at a time, and each command's --help. */
#include "options.h"
#include "diag.h"
#include "suggest.h"

#include <getopt.h>
#include <string.h>

/* getopt_long reports the long option at index i of the command's list as
 * LONG_BASE + i (short options as their letter, found by name). */
#define LONG_BASE 256

#define HELP_COLUMN 30 /* where --help's descriptions start */
#define HELP_WIDTH  80 /* --help lines stay left of this column */

const opt_command_info_t opt_commands[CMD_COUNT] = {
#define COMMAND(ID, cmdname, fn, cmdsummary, ...)                                                  \
    [CMD_##ID] = {.name = cmdname, .summary = cmdsummary, __VA_ARGS__},
#include "options.def"
};

const char *const opt_group_heading[G_COUNT] = {
#define HELPGROUP(ID, heading) [G_##ID] = heading,
#include "options.def"
};

const char *const opt_mansec_title[M_COUNT] = {
#define MANSEC(ID, title, owner) [M_##ID] = title,
#include "options.def"
};

const unsigned opt_mansec_owner[M_COUNT] = {
#define MANSEC(ID, title, owner) [M_##ID] = owner,
#include "options.def"
};

#define ENTRY(ID, sn, ln, ar, cmds, grp, ...)                                                      \
    {                                                                                              \
        .id = OPT_##ID, .opt = &opt_options[OPT_##ID], .shortname = sn, .name = ln, .arg = ar,     \
        .commands = cmds, .group = grp, __VA_ARGS__                                                \
    }

const opt_row_t opt_options[OPT_NIDS] = {
#define OPT(ID, ...) [OPT_##ID] = ENTRY(ID, __VA_ARGS__),
#include "options.def"
};

const opt_row_t opt_rows[OPT_NROWS] = {
#define OPT(ID, ...) ENTRY(ID, __VA_ARGS__),
#define USE(ID, cmds, grp, ...)                                                                    \
    {.id = OPT_##ID, .opt = &opt_options[OPT_##ID], .commands = cmds, .group = grp, __VA_ARGS__},
#include "options.def"
};

const opt_row_t *opt_row_for(opt_id_t id, opt_command_t cmd)
{
    for (size_t i = 0; i < OPT_NROWS; i++)
        if (opt_rows[i].id == id && (opt_rows[i].commands & (1u << cmd)))
            return &opt_rows[i];
    return NULL;
}

/* ---- parsing ---- */

/* What getopt_long needs for one command, built from its rows. */
struct getopt_tables {
    const opt_row_t *rows[OPT_NROWS];
    size_t n;
    struct option longopts[OPT_NROWS + 1];
    char shortopts[2 + 2 * OPT_NROWS + 1];
};

static void build_tables(opt_command_t cmd, struct getopt_tables *t)
{
    size_t k = 0;
    if (opt_commands[cmd].in_order)
        t->shortopts[k++] = '+';
    t->shortopts[k++] = ':'; /* a missing value is ':', not '?' */
    t->n = 0;
    for (size_t i = 0; i < OPT_NROWS; i++) {
        const opt_row_t *r = &opt_rows[i];
        if (!(r->commands & (1u << cmd)))
            continue;
        const opt_row_t *o = r->opt;
        t->rows[t->n] = r;
        t->longopts[t->n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL,
                                            LONG_BASE + (int)t->n};
        if (o->shortname) {
            t->shortopts[k++] = o->shortname;
            if (o->arg)
                t->shortopts[k++] = ':';
        }
        t->n++;
    }
    t->longopts[t->n] = (struct option){NULL, 0, NULL, 0};
    t->shortopts[k] = '\0';
}

static const opt_row_t *find_short(const struct getopt_tables *t, int c)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i]->opt->shortname == c)
            return t->rows[i];
    return NULL;
}

/* The word that named the long option getopt_long just returned (before
 * its value when that was the next word). */
static const char *long_word(char **argv, const opt_row_t *r)
{
    if (r->opt->arg && optind >= 2 && optarg == argv[optind - 1])
        return argv[optind - 2];
    return argv[optind - 1];
}

/* getopt_long takes an unambiguous abbreviation (--conn for --connections)
 * as the option; evcat does not: an abbreviation that works today stops
 * working the day an option with the same start is added, and breaks the
 * scripts that used it. So the word must be the whole name. */
static bool whole_name(const char *word, const char *name)
{
    size_t len = strcspn(word + 2, "=");
    return strncmp(word, "--", 2) == 0 && strlen(name) == len && strncmp(word + 2, name, len) == 0;
}

/* The second value of --tls CERT KEY is the next word, which must be there
 * and not look like an option. */
static int take_second(const char *cmd, const opt_row_t *r, int argc, char **argv, opt_hit_t *h)
{
    if (optind >= argc || argv[optind][0] == '\0' || argv[optind][0] == '-') {
        diag_error("%s: --%s needs two arguments: %s", cmd, r->opt->name, r->opt->arg);
        return -1;
    }
    h->arg2 = argv[optind++];
    return 0;
}

/* The long names cmd takes (refused ones aside) as suggest() candidates;
 * returns how many. */
static size_t own_names(const struct getopt_tables *t, suggest_cand_t *c)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        if (!t->rows[i]->refused)
            c[k++] = (suggest_cand_t){t->rows[i]->opt->name, t->rows[i]->opt->shortname};
    return k;
}

/* The commands other than cmd that take --name[0..len), as "bench" or
 * "listen, ws and send" in out ("" when none). */
static void other_commands(opt_command_t cmd, const char *name, size_t len, char *out, size_t n)
{
    const char *names[CMD_COUNT];
    size_t k = 0;
    for (int c = 0; c < CMD_COUNT; c++) {
        if (c == (int)cmd)
            continue;
        for (size_t i = 0; i < OPT_NROWS; i++) {
            const opt_row_t *r = &opt_rows[i];
            if ((r->commands & (1u << c)) && !r->refused && strlen(r->opt->name) == len &&
                strncmp(r->opt->name, name, len) == 0) {
                names[k++] = opt_commands[c].name;
                break;
            }
        }
    }
    out[0] = '\0';
    for (size_t i = 0, used = 0; i < k && used < n; i++) {
        int w = snprintf(out + used, n - used, "%s%s", i == 0 ? "" : i + 1 == k ? " and " : ", ",
                         names[i]);
        used += w > 0 ? (size_t)w : 0;
    }
}

/* An unknown (or abbreviated) long option --word: the closest names the
 * command takes, else the commands that take it as written, else where to
 * look. */
static void report_unknown_long(opt_command_t cmd, const struct getopt_tables *t, const char *word)
{
    const char *cmdname = opt_commands[cmd].name;
    const char *name = word + 2;
    size_t len = strcspn(name, "=");
    suggest_cand_t cands[OPT_NROWS];
    const char *close[SUGGEST_MAX];
    size_t k = suggest(name, len, cands, own_names(t, cands), close);
    char list[256];
    if (k > 0) {
        suggest_list(list, sizeof(list), "--", close, k);
        diag_error("%s: unknown option '--%.*s'; did you mean %s?", cmdname, (int)len, name, list);
        return;
    }
    other_commands(cmd, name, len, list, sizeof(list));
    if (list[0])
        diag_error("%s: unknown option '--%.*s' (an option of %s; see 'evcat %s --help')", cmdname,
                   (int)len, name, list, cmdname);
    else
        diag_error("%s: unknown option '--%.*s' (see 'evcat %s --help')", cmdname, (int)len, name,
                   cmdname);
}

/* The word getopt_long could not use: the short letter when it was one of a
 * cluster ("-kZ"); a long option ("--bogus"); a flag given a value
 * ("--binary=1"). */
static void report_unknown(opt_command_t cmd, const struct getopt_tables *t, char **argv)
{
    const char *name = opt_commands[cmd].name;
    const char *word = argv[optind - 1];
    if (optopt > 0 && optopt < LONG_BASE && strncmp(word, "--", 2) != 0) {
        diag_error("%s: unknown option '-%c' (see 'evcat %s --help')", name, optopt, name);
        return;
    }
    if (optopt >= LONG_BASE && whole_name(word, t->rows[optopt - LONG_BASE]->opt->name)) {
        diag_error("%s: --%s takes no value, got '%s'", name, t->rows[optopt - LONG_BASE]->opt->name,
                   word);
        return;
    }
    if (strncmp(word, "--", 2) == 0 && word[2]) {
        report_unknown_long(cmd, t, word);
        return;
    }
    diag_error("%s: unknown option '%s' (see 'evcat %s --help')", name, word, name);
}

int opt_parse(opt_command_t cmd, int argc, char **argv, opt_handler_t fn, void *ud)
{
    const char *name = opt_commands[cmd].name;
    struct getopt_tables t;
    build_tables(cmd, &t);
    optind = 0; /* glibc: a full re-initialisation */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, t.shortopts, t.longopts, NULL)) != -1) {
        if (c == ':' && optopt >= LONG_BASE &&
            !whole_name(argv[optind - 1], t.rows[optopt - LONG_BASE]->opt->name)) {
            report_unknown_long(cmd, &t, argv[optind - 1]);
            return OPT_PARSE_ERROR;
        }
        if (c == ':') {
            diag_error("%s: option '%s' needs a value", name, argv[optind - 1]);
            return OPT_PARSE_ERROR;
        }
        const opt_row_t *r = c >= LONG_BASE ? t.rows[c - LONG_BASE] : find_short(&t, c);
        if (c == '?' || !r) {
            report_unknown(cmd, &t, argv);
            return OPT_PARSE_ERROR;
        }
        if (c >= LONG_BASE && !whole_name(long_word(argv, r), r->opt->name)) {
            report_unknown_long(cmd, &t, long_word(argv, r));
            return OPT_PARSE_ERROR;
        }
        if (r->refused) {
            diag_error("%s: --%s is not supported: %s", name, r->opt->name, r->refused);
            return OPT_PARSE_ERROR;
        }
        if (r->id == OPT_HELP) {
            opt_help(stdout, cmd);
            return OPT_PARSE_HELP;
        }
        opt_hit_t h = {.id = r->id, .arg = optarg};
        if (c >= LONG_BASE)
            snprintf(h.given, sizeof(h.given), "--%s", r->opt->name);
        else
            snprintf(h.given, sizeof(h.given), "-%c", c);
        if (r->opt->nargs == 2 && take_second(name, r, argc, argv, &h) < 0)
            return OPT_PARSE_ERROR;
        if (fn(ud, &h) < 0)
            return OPT_PARSE_ERROR;
    }
    return optind;
}

int opt_unhandled(const char *cmd, const opt_hit_t *h)
{
    diag_error("%s: %s is in options.def for this command, but nothing handles it", cmd, h->given);
    return -1;
}

/* ---- --help ---- */

/* Writes text from column col on, breaking lines at spaces before
 * HELP_WIDTH and going on at HELP_COLUMN. */
static void help_wrap(FILE *f, int col, const char *text)
{
    const char *p = text;
    bool first = true;
    while (*p) {
        size_t len = strcspn(p, " ");
        if (!first && col + 1 + (int)len >= HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_COLUMN, "");
            col = HELP_COLUMN;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, len, f);
        col += (int)len;
        first = false;
        p += len;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

static void help_row(FILE *f, const opt_row_t *r)
{
    const opt_row_t *o = r->opt;
    char left[96];
    int n;
    if (o->shortname)
        n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->shortname, o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
    else
        n = snprintf(left, sizeof(left), "      --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
    if (n > HELP_COLUMN - 2)
        fprintf(f, "%s\n%*s", left, HELP_COLUMN, "");
    else
        fprintf(f, "%-*s", HELP_COLUMN, left);
    /* "(default X)", or "(...; default X)" after a closing parenthesis. */
    char text[1024];
    size_t len = strlen(r->help);
    if (!r->dflt)
        snprintf(text, sizeof(text), "%s", r->help);
    else if (len && r->help[len - 1] == ')')
        snprintf(text, sizeof(text), "%.*s; default %s)", (int)len - 1, r->help, r->dflt);
    else
        snprintf(text, sizeof(text), "%s (default %s)", r->help, r->dflt);
    help_wrap(f, HELP_COLUMN, text);
}

void opt_help(FILE *f, opt_command_t cmd)
{
    const opt_command_info_t *c = &opt_commands[cmd];
    fputs(c->intro, f);
    for (int g = G_NONE + 1; g < G_COUNT; g++) {
        bool heading = false;
        for (size_t i = 0; i < OPT_NROWS; i++) {
            const opt_row_t *r = &opt_rows[i];
            if (!(r->commands & (1u << cmd)) || (int)r->group != g || r->refused)
                continue;
            if (!heading)
                fprintf(f, "\n%s:\n", opt_group_heading[g]);
            heading = true;
            help_row(f, r);
        }
    }
    if (c->outro)
        fprintf(f, "\n%s", c->outro);
}
