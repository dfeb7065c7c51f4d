/* repl_screen: where the REPL's prompt and typed line sit on the terminal,
 * so that other output can go above them: clear every row they occupy
 * (a long line wraps over several), print, draw them again with the cursor
 * where it was. The layout follows libedit's: a character that reaches the
 * right margin moves the cursor to the next row, a tab runs to the next
 * multiple of 8 columns, a control character shows as ^X. */
#ifndef EVCAT_REPL_SCREEN_H
#define EVCAT_REPL_SCREEN_H

#include <stdio.h>

typedef struct {
    const char *prompt; /* printable ASCII */
    const char *line;   /* the typed text (not NUL-terminated) */
    int end;            /* its length in bytes */
    int point;          /* the cursor's byte offset in it */
} repl_view_t;

/* The terminal's width in columns (TIOCGWINSZ on fd; 80 when unknown). */
int repl_screen_width(int fd);

/* With the cursor where V left it on a terminal WIDTH columns wide: go to
 * the first column of the prompt's first row and clear to the end of the
 * screen. */
void repl_screen_clear(FILE *f, const repl_view_t *v, int width);

/* From the first column of an empty row: draw prompt and line, and put the
 * cursor at V's point. */
void repl_screen_draw(FILE *f, const repl_view_t *v, int width);

/* From where V left the cursor: to the first column of the row under the
 * line's last, leaving prompt and line on the screen (Ctrl-C). */
void repl_screen_leave(FILE *f, const repl_view_t *v, int width);

/* The row (from the prompt's, 0 first) and column of byte offset AT of V's
 * line; for tests. */
void repl_screen_pos(const repl_view_t *v, int at, int width, int *row, int *col);

#endif
