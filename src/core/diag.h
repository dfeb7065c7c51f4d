/* diag: every line evcat writes to stderr goes through here (curl's
 * tool_msgs idea): errors always, lifecycle notes unless --quiet, verbose
 * detail with -v. stdout is for messages only. */
#ifndef EVCAT_DIAG_H
#define EVCAT_DIAG_H

#include "buf.h"

/* 0 = normal, -1 = quiet (errors only), 1.. = verbose levels. */
extern int diag_level;
/* Colour on stderr (set by --color and the terminal). */
extern bool diag_color;

/* "evcat: <text>" — always printed. */
void diag_error(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* "evcat: warning: <text>" — unless quiet. */
void diag_warn(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* "* <text>" — lifecycle (connected, reconnecting, closed), unless quiet. */
void diag_info(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* "> " / "< " / "* " detail lines, only with -v (level >= 1). */
void diag_verbose(const char *fmt, ...) ATTR_PRINTF(1, 2);

/* Every line above goes to FN instead of stderr while a hook is set (NULL
 * unsets): LINE is the whole line, colour included, without the newline.
 * The WebSocket REPL sets one to print lines above its prompt. */
typedef void (*diag_hook_fn)(void *ud, const char *line);
void diag_set_hook(diag_hook_fn fn, void *ud);

#endif
