#include "repl_screen.h"

#include <string.h>
#include <sys/ioctl.h>
#include <wchar.h>

int repl_screen_width(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Lay out the prompt and the line up to byte UPTO, writing them to F unless
 * it is NULL; returns the cells used, counted from the prompt's first. */
static long walk(FILE *f, const repl_view_t *v, int upto, int width)
{
    long off = 0;
    for (const char *p = v->prompt; *p; p++, off++)
        if (f)
            fputc(*p, f);
    mbstate_t st;
    memset(&st, 0, sizeof(st));
    for (int i = 0; i < upto && i < v->end;) {
        unsigned char c = (unsigned char)v->line[i];
        if (c == '\t') { /* libedit: spaces up to a multiple of 8 in the row */
            do {
                if (f)
                    fputc(' ', f);
                off++;
            } while ((off % width) & 7);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            if (f) {
                fputc('^', f);
                fputc(c == 0x7f ? '?' : c + '@', f);
            }
            off += 2;
            i++;
        } else if (c < 0x80) {
            if (f)
                fputc(c, f);
            off++;
            i++;
        } else {
            wchar_t wc;
            size_t n = mbrtowc(&wc, v->line + i, (size_t)(v->end - i), &st);
            int w = 1;
            if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
                n = 1;
                memset(&st, 0, sizeof(st));
            } else if ((w = wcwidth(wc)) < 0) {
                w = 1;
            }
            if (f)
                fwrite(v->line + i, 1, n, f);
            off += w;
            i += (int)n;
        }
    }
    return off;
}

void repl_screen_pos(const repl_view_t *v, int at, int width, int *row, int *col)
{
    if (width < 1)
        width = 1;
    long off = walk(NULL, v, at, width);
    /* A character in the last column moves the cursor to the next row
     * (libedit forces that wrap), so offset k * width starts row k. */
    *row = (int)(off / width);
    *col = (int)(off % width);
}

void repl_screen_clear(FILE *f, const repl_view_t *v, int width)
{
    int row, col;
    repl_screen_pos(v, v->point, width, &row, &col);
    if (row > 0)
        fprintf(f, "\033[%dA", row);
    fputs("\r\033[J", f);
}

void repl_screen_draw(FILE *f, const repl_view_t *v, int width)
{
    if (width < 1)
        width = 1;
    long end = walk(f, v, v->end, width);
    if (end > 0 && end % width == 0)
        fputs(" \b", f); /* leave the margin's pending wrap for the next row */
    int erow = (int)(end / width), row, col;
    repl_screen_pos(v, v->point, width, &row, &col);
    if (erow > row)
        fprintf(f, "\033[%dA", erow - row);
    fputc('\r', f);
    if (col > 0)
        fprintf(f, "\033[%dC", col);
}

void repl_screen_leave(FILE *f, const repl_view_t *v, int width)
{
    if (width < 1)
        width = 1;
    long end = walk(NULL, v, v->end, width);
    int erow = (int)(end / width), row, col;
    repl_screen_pos(v, v->point, width, &row, &col);
    if (erow > row)
        fprintf(f, "\033[%dB", erow - row);
    /* ending at the margin, the cursor is on an empty row already */
    fputs(end % width == 0 ? "\r" : "\r\n", f);
}
