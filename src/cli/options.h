/* options: the command line's one table (options.def) as data, the option
 * parser every command runs, and each command's --help, all from it. */
#ifndef EVCAT_OPTIONS_H
#define EVCAT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* CMD_LISTEN, ...: the commands, in the order of `evcat --help`. */
typedef enum opt_command {
#define COMMAND(ID, ...) CMD_##ID,
#include "options.def"
    CMD_COUNT
} opt_command_t;

/* C_LISTEN, ...: the commands as bits of a mask. */
enum {
#define COMMAND(ID, ...) C_##ID = 1u << CMD_##ID,
#include "options.def"
};
#define C_ALL     ((1u << CMD_COUNT) - 1)
/* The client commands, which take every connection and output option. */
#define C_CLIENTS (C_LISTEN | C_WS | C_SEND | C_REPLAY)

/* `evcat help COMMAND`, which is not a command of its own. */
#define OPT_HELP_COMMAND_SUMMARY "show help for a command"

/* G_OPTIONS, ...: the headings of --help (0: listed nowhere). */
typedef enum opt_group {
    G_NONE,
#define HELPGROUP(ID, heading) G_##ID,
#include "options.def"
    G_COUNT
} opt_group_t;

/* M_SSE, ...: the man page sections holding option entries (0: none). */
typedef enum opt_mansec {
    M_NONE,
#define MANSEC(ID, title, owner) M_##ID,
#include "options.def"
    M_COUNT
} opt_mansec_t;

/* OPT_HEADER, ...: what opt_parse reports; one per OPT entry. */
typedef enum opt_id {
#define OPT(ID, ...) OPT_##ID,
#include "options.def"
    OPT_NIDS
} opt_id_t;

/* How many entries options.def has, OPT and USE. */
enum {
    OPT_NROWS = 0
#define OPT(...) +1
#define USE(...) +1
#include "options.def"
};

/* How the shells complete a value. */
typedef enum opt_value {
    V_TEXT,   /* anything: nothing to offer */
    V_FILE,   /* a file name */
    V_WORDS,  /* one of .words */
    V_ATFILE, /* text, or @ and a file name */
} opt_value_t;

/* A command's operand, for the completions. */
typedef struct opt_operand {
    const char *desc; /* e.g. "URL (ws or wss)"; NULL ends the list */
    opt_value_t value;
    const char *words; /* V_WORDS, or offered besides text: space-separated */
    bool optional;
    bool repeat; /* this one and all after it */
} opt_operand_t;

#define OPT_MAX_OPERANDS 2

typedef struct opt_command_info {
    const char *name;    /* "listen" */
    const char *summary; /* one line for `evcat --help` */
    const char *intro;   /* --help before the options: usage and what it does */
    const char *outro;   /* --help after them, or NULL */
    opt_operand_t operands[OPT_MAX_OPERANDS];
    bool in_order; /* options end at the first operand */
} opt_command_info_t;

/* One entry of options.def. An OPT entry is also its option's entry in
 * opt_options[]; a USE entry's .opt points there for the names and the
 * value, which it does not repeat. */
typedef struct opt_row {
    opt_id_t id;
    const struct opt_row *opt; /* the option's OPT entry (itself for one) */
    char shortname;            /* OPT only: 0 for none */
    const char *name;          /* OPT only: the long name without "--" */
    const char *arg;           /* OPT only: the value's name, NULL for a flag */
    unsigned commands;         /* C_* mask */
    opt_group_t group;
    const char *help;      /* one line for --help, without the default */
    const char *dflt;      /* the default, or NULL */
    opt_mansec_t sec;      /* M_NONE: documented by the OPT entry */
    const char *man;       /* troff */
    opt_value_t value;     /* OPT only */
    const char *words;     /* V_WORDS; a USE's own, else its OPT's */
    bool repeat;           /* OPT only: may be given more than once */
    int nargs;             /* OPT only: 2 when the next word is a second value */
    const char *conflicts; /* OPT only: other options it excludes (zsh) */
    const char *refused;   /* the commands reject it for this reason */
} opt_row_t;

extern const opt_command_info_t opt_commands[CMD_COUNT];
extern const char *const opt_group_heading[G_COUNT];
extern const char *const opt_mansec_title[M_COUNT];
/* The command whose man page section it is (C_* bit), or 0 for a shared one. */
extern const unsigned opt_mansec_owner[M_COUNT];
/* The OPT entries, indexed by opt_id_t. */
extern const opt_row_t opt_options[OPT_NIDS];
/* Every entry, OPT and USE, in the order of options.def. */
extern const opt_row_t opt_rows[OPT_NROWS];

/* The entry for option id in command cmd, or NULL when cmd does not take
 * it. */
const opt_row_t *opt_row_for(opt_id_t id, opt_command_t cmd);

/* One option as opt_parse found it. */
typedef struct opt_hit {
    opt_id_t id;
    const char *arg;  /* its value (an argv string), or NULL for a flag */
    const char *arg2; /* the second value of a .nargs 2 option */
    char given[40];   /* how the user named it: "-X" or "--request" */
} opt_hit_t;

/* A command's handler of one option: 0 to go on, or -1 after printing the
 * one-line error (the command exits 2). */
typedef int (*opt_handler_t)(void *ud, const opt_hit_t *h);

#define OPT_PARSE_ERROR (-1) /* a usage error was printed: exit 2 */
#define OPT_PARSE_HELP  (-2) /* --help was printed on stdout: exit 0 */

/* Parses a command's options (argv[0] is the command's name), calling fn
 * for each in order. Unknown options, a missing value, a refused option and
 * --help are handled here. Returns the index in argv of the first operand
 * (argc when none), OPT_PARSE_HELP or OPT_PARSE_ERROR. */
int opt_parse(opt_command_t cmd, int argc, char **argv, opt_handler_t fn, void *ud);

/* For a command's handler, on an option options.def gives the command but
 * its code does not handle: reports it and returns -1. */
int opt_unhandled(const char *cmd, const opt_hit_t *h);

/* A command's --help: its intro, its options by heading, its outro. */
void opt_help(FILE *f, opt_command_t cmd);

#endif
