/* evcat: command table and process-wide setup (git.c's idea): the command
 * name picks a cmd_<name>() (options.def lists them), which parses its own
 * options and returns the exit code; main checks that stdout was really
 * written before exiting. */
#include "commands.h"
#include "exitcode.h"
#include "diag.h"
#include "clock.h"
#include "options.h"
#include "suggest.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <histedit.h>
#include <wslay/wslay.h>
#include <zlib.h>

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

/* The commands of options.def, in its order. */
static const struct command commands[] = {
#define COMMAND(ID, cmdname, cmdfn, cmdsummary, ...) {cmdname, cmdfn, cmdsummary},
#include "options.def"
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: evcat COMMAND [OPTIONS] [ARGS]\n\n"
               "A command-line client, server and load tester for Server-Sent Events and\nWebSocket.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-8s %s\n", "help", OPT_HELP_COMMAND_SUMMARY);
    fprintf(f, "\nRun 'evcat help COMMAND' or 'evcat COMMAND --help' for its options;\n"
               "'man evcat' for the whole manual. 'evcat --version' prints library versions.\n");
}

static void version(void)
{
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    printf("evcat %s\n", EVCAT_VERSION);
    printf("libcurl %s (%s%s%s)\n", cv->version, cv->ssl_version ? cv->ssl_version : "no TLS",
           (cv->features & CURL_VERSION_HTTP2) ? ", HTTP/2" : "",
           (cv->features & CURL_VERSION_IPV6) ? ", IPv6" : "");
    printf("OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("cJSON %s\n", cJSON_Version());
#ifdef EVCAT_WSLAY_PKG_VERSION
    printf("wslay %s (Debian package at build time)\n", EVCAT_WSLAY_PKG_VERSION);
#else
    printf("wslay %s (header at build time)\n", WSLAY_VERSION);
#endif
    printf("libedit API %d.%d\n", LIBEDIT_MAJOR, LIBEDIT_MINOR);
    printf("zlib %s\n", zlibVersion());
}

static const struct command *find(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* An unknown command: the closest names, else where to look. */
static const struct command *find(const char *name);

/* An option where the command should be: evcat's own (--version, --help),
 * one of a command given after it (evcat -v listen URL), or neither. */
static void report_option_first(int argc, char **argv)
{
    const char *word = argv[1];
    for (int i = 2; i < argc; i++) {
        if (find(argv[i])) {
            diag_error("'%s' goes after the command: 'evcat %s %s ...' (see 'evcat %s --help')",
                       word, argv[i], word, argv[i]);
            return;
        }
    }
    static const suggest_cand_t own[] = {{"version", 'V'}, {"help", 'h'}};
    const char *close[SUGGEST_MAX];
    size_t k = strncmp(word, "--", 2) == 0 ? suggest(word + 2, strlen(word + 2), own, 2, close) : 0;
    if (k == 1)
        diag_error("unknown option '%s'; did you mean '--%s'?", word, close[0]);
    else
        diag_error("unknown option '%s': a command comes first (see 'evcat --help')", word);
}

static void report_unknown(const char *name)
{
    if (strstr(name, "://") || strcmp(name, "-") == 0) {
        diag_error("'%s' is not a command: the command comes first, e.g. 'evcat listen %s' (see "
                   "'evcat --help')",
                   name, name);
        return;
    }
    suggest_cand_t cands[ARRAY_LEN(commands) + 1];
    for (size_t i = 0; i < ARRAY_LEN(commands); i++)
        cands[i] = (suggest_cand_t){commands[i].name, 0};
    cands[ARRAY_LEN(commands)] = (suggest_cand_t){"help", 0};
    const char *close[SUGGEST_MAX];
    size_t k = suggest(name, strlen(name), cands, ARRAY_LEN(cands), close);
    if (k == 0) {
        diag_error("unknown command '%s' (see 'evcat --help')", name);
        return;
    }
    char list[128];
    suggest_list(list, sizeof(list), "", close, k);
    diag_error("unknown command '%s'; did you mean %s?", name, list);
}

/* stdout may be a file on a full disk or a closed pipe: a command that
 * "succeeded" without its output reaching stdout has not succeeded. */
static int check_stdout(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno != EPIPE)
            diag_error("writing to standard output failed: %s", strerror(errno));
        return rc == EXIT_OK ? EXIT_FAIL : rc;
    }
    return rc;
}

int main(int argc, char **argv)
{
    /* A closed stdout pipe (| head) is reported through write errors, not death. */
    signal(SIGPIPE, SIG_IGN);
    /* Reconnect jitter only needs to differ between processes. */
    srandom((unsigned)(real_ns() ^ ((uint64_t)getpid() << 16)));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        diag_error("libcurl failed to initialise");
        return EXIT_FAIL;
    }

    int rc;
    if (argc < 2) {
        usage(stderr);
        rc = EXIT_USAGE;
    } else if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        version();
        rc = EXIT_OK;
    } else if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        rc = EXIT_OK;
    } else if (strcmp(argv[1], "help") == 0) {
        /* help help, help --help: help is a command, its help is the list */
        if (argc < 3 || strcmp(argv[2], "help") == 0 || strcmp(argv[2], "--help") == 0 ||
            strcmp(argv[2], "-h") == 0) {
            usage(stdout);
            rc = EXIT_OK;
        } else if (find(argv[2])) {
            char *hargv[] = {argv[2], "--help", NULL};
            rc = find(argv[2])->fn(2, hargv);
        } else {
            report_unknown(argv[2]);
            rc = EXIT_USAGE;
        }
    } else {
        const struct command *c = find(argv[1]);
        if (!c && argv[1][0] == '-' && argv[1][1]) {
            report_option_first(argc, argv);
            rc = EXIT_USAGE;
        } else if (!c) {
            report_unknown(argv[1]);
            rc = EXIT_USAGE;
        } else {
            rc = c->fn(argc - 1, argv + 1);
        }
    }
    rc = check_stdout(rc);
    curl_global_cleanup();
    return rc;
}
