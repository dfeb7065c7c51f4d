/* msg: every line evcat writes to stderr goes through here (curl's
 * tool_msgs idea): errors always, lifecycle notes unless --quiet, verbose
 * detail with -v. stdout is for messages only. */
#ifndef EVCAT_MSG_H
#define EVCAT_MSG_H

#include "util.h"

/* 0 = normal, -1 = quiet (errors only), 1.. = verbose levels. */
extern int msg_level;
/* Colour on stderr (set by --color and the terminal). */
extern bool msg_color;

/* "evcat: <text>" — always printed. */
void msg_error(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* "evcat: warning: <text>" — unless quiet. */
void msg_warn(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* "* <text>" — lifecycle (connected, reconnecting, closed), unless quiet. */
void msg_info(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* "> " / "< " / "* " detail lines, only with -v (level >= 1). */
void msg_verbose(const char *fmt, ...) ATTR_PRINTF(1, 2);

#endif
