/* exitcode: evcat's exit codes (evcat(1), EXIT STATUS). */
#ifndef EVCAT_EXITCODE_H
#define EVCAT_EXITCODE_H

enum evcat_exit {
    EXIT_OK = 0,          /* count reached, clean end, close 1000/1001, 204 */
    EXIT_FAIL = 1,        /* connection, TLS or protocol error; a limit exceeded */
    EXIT_USAGE = 2,       /* bad option, bad URL, unreadable file */
    EXIT_CHECK = 3,       /* bench --assert or replay --expect failed */
    EXIT_TIMEOUT = 4,     /* --timeout before --count */
    EXIT_INTERRUPTED = 130,
};

#endif
