/* evcat: exit codes (SPEC.md "Exit codes") and the command entry points. */
#ifndef EVCAT_H
#define EVCAT_H

enum evcat_exit {
    EXIT_OK = 0,          /* count reached, clean end, close 1000/1001, 204 */
    EXIT_FAIL = 1,        /* connection, TLS or protocol error; a limit exceeded */
    EXIT_USAGE = 2,       /* bad option, bad URL, unreadable file */
    EXIT_CHECK = 3,       /* bench --assert or replay --expect failed */
    EXIT_TIMEOUT = 4,     /* --timeout before --count */
    EXIT_INTERRUPTED = 130,
};

/* Each command parses its own argv (argv[0] is the command name) and returns
 * an exit code; none of them calls exit(). */
int cmd_listen(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_ws(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
