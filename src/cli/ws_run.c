/* ws_run: the WebSocket session behind evcat ws URL, evcat send URL
 * [MSG...] and evcat listen ws://URL, on ws_command's core, in four modes —
 *   listen  print what arrives (after --on-open messages);
 *   send    send the arguments (or stdin lines with -), optionally wait for
 *           -n replies, close cleanly;
 *   pipe    (ws, stdin not a terminal) each stdin line a message, each
 *           incoming message a stdout line; at EOF close with 1000;
 *   repl    (ws on a terminal) libedit's callback interface on the loop:
 *           history, slash commands, incoming messages above the prompt. */
#include "ws_run.h"

#include "buf.h"
#include "cliopt.h"
#include "diag.h"
#include "exitcode.h"
#include "loop.h"
#include "output.h"
#include "repl_screen.h"
#include "text.h"
#include "ws_client.h"
#include "ws_command.h"
#include "ws_frame.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

#define STDIN_CHUNK   65536
#define QUEUE_PAUSE   (4u << 20) /* stop reading stdin while this much waits to be sent */

enum mode { MODE_LISTEN, MODE_SEND, MODE_PIPE, MODE_REPL };

struct wsrun {
    ws_command_t k;      /* k.count: -n, k.received: what came of it */
    enum mode mode;
    const ws_cli_opts_t *w;
    /* send: messages from argv */
    char **msgs;
    int nmsgs;
    bool from_stdin;     /* send -, pipe, repl */
    bool stdin_eof;
    bool stdin_watched;  /* reading: the fd watched, or stdin_timer armed */
    bool stdin_file;     /* stdin cannot be watched (a regular file): always readable */
    loop_timer_t stdin_timer; /* stdin_file: one chunk a loop round */
    buf_t line;          /* a stdin line being assembled; owned */
    size_t lineno;
    bool sent_all;
    char *history;       /* repl history file; owned */
    bool repl_active;    /* the prompt is up */
    bool in_line_cb;     /* inside on_repl_line */
    bool line_done;      /* a line was accepted: restart libedit's line */
    bool line_fresh;     /* since then, no key: the prompt is empty (libedit's
                          * rl_line_buffer still holds the old line) */
    bool prompted;       /* the prompt went up once */
    bool open_line;      /* a diag line on stderr waits for its newline */
    bool line_full_said; /* the line reached REPL_LINE_MAX: said once a line */
};

static struct wsrun *repl_run; /* libedit's line callback has no user data */
static void on_repl_line(char *line);

#define PROMPT    "> "
#define REPL_HINT "(/help for commands, Ctrl-D to close)"

/* The prompt and the line as libedit has them on the screen now. */
static repl_view_t repl_view(const struct wsrun *R)
{
    int end = R->line_fresh || !rl_line_buffer ? 0 : rl_end;
    int point = rl_point < 0 ? 0 : rl_point < end ? rl_point : end;
    return (repl_view_t){.prompt = PROMPT, .line = end ? rl_line_buffer : "", .end = end,
                         .point = point};
}

/* In the REPL, other output goes above the prompt and the typed line:
 * above_begin clears every row they take (a long line wraps), above_end
 * draws them again ourselves (libedit's own refresh would show a line it
 * has just accepted again, and does not know we moved the cursor) with the
 * cursor where libedit believes it is. */
static void above_begin(struct wsrun *R)
{
    if (R->open_line) { /* the "connected to" line waits for its hint */
        fputs("\n", stderr);
        R->open_line = false;
    }
    if (!R->repl_active)
        return;
    if (R->in_line_cb) {
        /* libedit has moved to a fresh row for the accepted line */
        fputs("\r\033[J", stdout);
    } else {
        repl_view_t v = repl_view(R);
        repl_screen_clear(stdout, &v, repl_screen_width(STDOUT_FILENO));
    }
    fflush(stdout);
}

static void above_end(struct wsrun *R)
{
    if (!R->repl_active || R->in_line_cb)
        return; /* libedit draws the next prompt when the callback returns */
    repl_view_t v = repl_view(R);
    repl_screen_draw(stdout, &v, repl_screen_width(STDOUT_FILENO));
    fflush(stdout);
}

static void emit(void *ud)
{
    struct wsrun *R = ud;
    if (R->mode != MODE_REPL || (!R->repl_active && !R->open_line)) {
        ws_command_flush(&R->k);
        return;
    }
    if (!R->k.out.buf.len)
        return;
    above_begin(R);
    ws_command_flush(&R->k);
    above_end(R);
}

/* Lifecycle and diagnostic lines (stderr) in the REPL: above the prompt
 * too. Until the prompt first goes up, a line is left open: if it is the
 * last before the connection opens ("* connected to URL"), the REPL's hint
 * ends it, so connecting shows one line. */
static void on_diag(void *ud, const char *line)
{
    struct wsrun *R = ud;
    above_begin(R);
    fputs(line, stderr);
    if (!R->repl_active && !R->prompted) {
        R->open_line = true;
        return;
    }
    fputs("\n", stderr);
    above_end(R);
}

static void show_out(struct wsrun *R, ws_type_t type, const void *p, size_t n)
{
    /* In the REPL the typed line is already on the screen. */
    ws_command_message(&R->k, false, type, p, n, 0, 0, !(R->mode == MODE_REPL && type == WS_TEXT));
}

static int send_msg(struct wsrun *R, const char *p, size_t n)
{
    ws_type_t type = R->w->binary ? WS_BINARY : WS_TEXT;
    if (type == WS_TEXT && !utf8_valid(p, n)) {
        diag_warn("message %zu is not valid UTF-8: sent as binary", R->lineno);
        type = WS_BINARY;
    }
    if (ws_client_send(R->k.c, type, p, n) < 0)
        return -1;
    show_out(R, type, p, n);
    return 0;
}

/* Everything we had to send is sent: close unless replies are awaited. */
static void maybe_close(struct wsrun *R)
{
    if (R->mode != MODE_SEND && R->mode != MODE_PIPE)
        return;
    if (R->k.count && R->k.received < R->k.count)
        return;
    if (R->mode == MODE_PIPE && !R->k.count) {
        /* Replies still in flight are waited for (see WSCMD_LINGER_*). */
        ws_command_linger(&R->k);
        return;
    }
    ws_command_close(&R->k, 1000, NULL);
}

/* ---- stdin lines ---- */

static void on_stdin(loop_t *l, int fd, unsigned events, void *ud);

static void on_stdin_timer(loop_t *l, loop_timer_t *t, void *ud)
{
    struct wsrun *R = ud;
    on_stdin(l, STDIN_FILENO, LOOP_READ, R);
    if (R->stdin_watched)
        loop_timer_arm(l, t, 0);
}

/* Stdin is read from the loop, a chunk at a time, never from inside a
 * send: a pipe or terminal when epoll says so, a regular file (which epoll
 * refuses, and which is always readable) one chunk per loop round, so that
 * sending, signals and --timeout go on between chunks. */
static void watch_stdin(struct wsrun *R, bool on)
{
    if ((on && R->stdin_eof) || R->mode == MODE_REPL || on == R->stdin_watched)
        return;
    if (on) {
        if (!R->stdin_file && loop_fd_add(R->k.loop, STDIN_FILENO, LOOP_READ, on_stdin, R) < 0)
            R->stdin_file = true;
        if (R->stdin_file)
            loop_timer_arm(R->k.loop, &R->stdin_timer, 0);
    } else if (R->stdin_file) {
        loop_timer_stop(R->k.loop, &R->stdin_timer);
    } else {
        loop_fd_del(R->k.loop, STDIN_FILENO);
    }
    R->stdin_watched = on;
}

/* A line over --max-message is not sent: it ends the session (exit 2). */
static bool line_too_long(struct wsrun *R, size_t len)
{
    if (len <= R->w->max_message)
        return false;
    diag_error("line %zu of standard input is longer than --max-message (%llu bytes)",
              R->lineno + 1, (unsigned long long)R->w->max_message);
    R->k.forced_code = EXIT_USAGE;
    ws_command_close(&R->k, 1000, NULL);
    return true;
}

/* Sends every whole line held; false when the session is over. */
static bool send_lines(struct wsrun *R)
{
    size_t start = 0;
    bool ok = true;
    for (;;) {
        char *nl = memchr(R->line.p + start, '\n', R->line.len - start);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (R->line.p + start));
        if (len && R->line.p[start + len - 1] == '\r')
            len--;
        if (line_too_long(R, len) || (R->lineno++, send_msg(R, R->line.p + start, len) < 0)) {
            ok = false;
            break;
        }
        start = (size_t)(nl - R->line.p) + 1;
    }
    buf_consume(&R->line, start);
    /* The line still coming is held only up to the bound. */
    if (ok && line_too_long(R, R->line.len))
        ok = false;
    if (!ok) {
        buf_reset(&R->line);
        R->stdin_eof = true; /* nothing more is read */
        watch_stdin(R, false);
    }
    return ok;
}

static void on_stdin(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    struct wsrun *R = ud;
    if (fd >= 0 && !ws_client_is_open(R->k.c)) { /* closing: nothing more goes out */
        watch_stdin(R, false);
        return;
    }
    if (fd >= 0) {
        char chunk[STDIN_CHUNK];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n > 0)
            buf_append(&R->line, chunk, (size_t)n);
        else
            events |= LOOP_HUP;
        if (n == 0 || n < 0)
            R->stdin_eof = true;
    } else if (events & LOOP_HUP) {
        R->stdin_eof = true;
    }
    if (!ws_client_is_open(R->k.c))
        return;
    if (!send_lines(R)) {
        emit(R);
        return;
    }
    if (R->stdin_eof) {
        if (R->line.len) { /* a last line without a newline */
            R->lineno++;
            send_msg(R, R->line.p, R->line.len);
            buf_reset(&R->line);
        }
        watch_stdin(R, false);
        R->sent_all = true;
        maybe_close(R);
    } else if (ws_client_queued(R->k.c) > QUEUE_PAUSE) {
        watch_stdin(R, false);
    }
    emit(R);
}

/* ---- REPL ---- */

static const char repl_help[] =
    "  text           send it as a text message (//text sends /text)\n"
    "  /ping [text]   ping; the pong shows the round-trip time\n"
    "  /close [code [reason]]  close (default 1000) and exit\n"
    "  /binary HEX    send a binary message (e.g. /binary 48 69 or /binary 4869)\n"
    "  /help          this list\n"
    "  /quit          close with 1000 and exit (so does Ctrl-D)\n";

static int parse_hex(const char *s, buf_t *out)
{
    int hi = -1;
    for (; *s; s++) {
        if (*s == ' ' || *s == ':')
            continue;
        int v = hex_value((unsigned char)*s);
        if (v < 0)
            return -1;
        if (hi < 0) {
            hi = v;
        } else {
            buf_putc(out, (char)(hi << 4 | v));
            hi = -1;
        }
    }
    return hi < 0 ? 0 : -1;
}

static void repl_say(struct wsrun *R, const char *text)
{
    buf_puts(&R->k.out.buf, text);
    emit(R);
}

static void repl_command(struct wsrun *R, const char *line)
{
    const char *arg = strchr(line, ' ');
    size_t cmdlen = arg ? (size_t)(arg - line) : strlen(line);
    while (arg && *arg == ' ')
        arg++;
    if (!arg)
        arg = "";
#define IS(name) (cmdlen == sizeof(name) - 1 && memcmp(line, name, cmdlen) == 0)
    if (IS("/ping")) {
        if (strlen(arg) > 125)
            repl_say(R, "! a ping payload is at most 125 bytes\n");
        else if (ws_client_ping(R->k.c, *arg ? arg : NULL, strlen(arg)) < 0)
            repl_say(R, "! not connected\n");
    } else if (IS("/close")) {
        unsigned long code = 1000;
        const char *reason = NULL;
        if (*arg) {
            char *end;
            code = strtoul(arg, &end, 10);
            /* What may go on the wire (RFC 6455 7.4), as the receiver checks. */
            if (end == arg || (*end && *end != ' ') || code > 4999 ||
                !wsf_close_code_valid((uint16_t)code)) {
                repl_say(R, "! /close CODE: 1000-1003, 1007-1014 or 3000-4999\n");
                return;
            }
            while (*end == ' ')
                end++;
            if (*end)
                reason = end;
        }
        ws_command_close(&R->k, (uint16_t)code, reason);
    } else if (IS("/binary")) {
        buf_t b;
        buf_init(&b);
        if (parse_hex(arg, &b) < 0 || b.len == 0)
            repl_say(R, "! /binary takes hex digits, e.g. /binary 48 69\n");
        else if (ws_client_send(R->k.c, WS_BINARY, b.p, b.len) < 0)
            repl_say(R, "! not connected\n");
        else
            ws_command_message(&R->k, false, WS_BINARY, b.p, b.len, 0, 0, true);
        buf_free(&b);
        emit(R);
    } else if (IS("/help")) {
        repl_say(R, repl_help);
    } else if (IS("/quit") || IS("/exit")) {
        ws_command_close(&R->k, 1000, NULL);
    } else {
        repl_say(R, "! unknown command (/help lists them; //text sends /text)\n");
    }
#undef IS
}

static void on_repl_line(char *line)
{
    struct wsrun *R = repl_run;
    if (!line) { /* Ctrl-D */
        fputs("\n", stdout);
        R->repl_active = false;
        rl_callback_handler_remove();
        ws_command_close(&R->k, 1000, NULL);
        return;
    }
    if (*line)
        add_history(line);
    R->in_line_cb = true;
    if (line[0] == '/' && line[1] != '/') {
        repl_command(R, line);
    } else if (*line) {
        const char *text = line[0] == '/' ? line + 1 : line;
        R->lineno++;
        if (send_msg(R, text, strlen(text)) < 0)
            repl_say(R, "! not connected\n");
    }
    R->in_line_cb = false;
    R->line_done = true;
    free(line);
}

/* A typed line holds at most REPL_LINE_MAX bytes. libedit (3.1-20221030)
 * keeps rl_line_buffer pointing at its narrow copy of the line, which it
 * grows by realloc 1 KiB at a time without updating the pointer: once the
 * line passes the first 1 KiB, libedit itself writes through the stale
 * pointer (a 13,000-byte paste aborted in malloc; ASan sees our reads of
 * it go to freed memory). Kept under 1 KiB, the copy never grows: what a
 * key or a paste adds past it is taken off again at once, with a bell and
 * one note a line. Longer messages go through pipe mode or /binary. */
#define REPL_LINE_MAX 1000

static void repl_cap_line(struct wsrun *R)
{
    if (R->line_fresh || rl_end <= REPL_LINE_MAX || !rl_line_buffer)
        return;
    size_t keep = REPL_LINE_MAX; /* not inside a UTF-8 sequence */
    while (keep && ((unsigned char)rl_line_buffer[keep] & 0xC0) == 0x80)
        keep--;
    char *line = xstrndup(rl_line_buffer, keep);
    rl_replace_line(line, 0);
    free(line);
    rl_ding();
    if (!R->line_full_said) {
        R->line_full_said = true;
        repl_say(R, "! a typed line holds at most 1000 bytes (pipe mode takes longer ones)\n");
    }
}

static void on_repl_key(loop_t *l, int fd, unsigned events, void *ud)
{
    (void)l;
    (void)fd;
    (void)events;
    struct wsrun *R = ud;
    /* libedit takes one character per call; a paste or a fast typist leaves
     * more in the terminal, which epoll would not announce again in time. */
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    do {
        R->line_fresh = false;
        rl_callback_read_char();
        repl_cap_line(R);
        if (R->line_done && R->repl_active) {
            /* libedit does not reset its line after an accepted one in
             * callback mode (a redraw shows it again, Ctrl-D edits it):
             * start over with a fresh prompt. */
            R->line_done = false;
            R->line_full_said = false;
            rl_callback_handler_remove();
            rl_callback_handler_install(PROMPT, on_repl_line);
            R->line_fresh = true;
        }
    } while (R->repl_active && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
}

static char *history_path(void)
{
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    buf_t p;
    buf_init(&p);
    if (state && *state)
        buf_printf(&p, "%s/evcat", state);
    else if (home && *home)
        buf_printf(&p, "%s/.local/state/evcat", home);
    else
        return NULL;
    /* mkdir -p, quietly: no history is no reason to fail. */
    for (char *s = p.p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p.p, 0700);
            *s = '/';
        }
    }
    mkdir(p.p, 0700);
    buf_puts(&p, "/history");
    return p.p;
}

static void repl_start(struct wsrun *R)
{
    repl_run = R;
    /* libedit reads and shows multibyte characters by the locale (in "C" it
     * drops them); only the character type, no other category. */
    setlocale(LC_CTYPE, "");
    diag_set_hook(on_diag, R);
    R->history = history_path();
    stifle_history(1000);
    if (R->history)
        read_history(R->history);
}

/* A resized terminal: libedit lays the line out for the new width (ours
 * asks the terminal each time). */
static void on_winch(loop_t *l, int signo, void *ud)
{
    (void)l;
    (void)signo;
    (void)ud;
    rl_resize_terminal();
}

/* The prompt goes up once connected, so lifecycle lines do not land in it. */
static void repl_prompt(struct wsrun *R)
{
    if (R->repl_active)
        return;
    R->repl_active = true;
    R->prompted = true;
    setvbuf(stdin, NULL, _IONBF, 0); /* libedit reads through stdin: no hidden buffer */
    rl_callback_handler_install(PROMPT, on_repl_line);
    /* Terminals send ESC [ A ... for the arrows unless keypad mode is on,
     * which libedit's callback mode never turns on: bind both forms. */
    static const char *const binds[] = {
        "bind '\\e[A' ed-prev-history", "bind '\\e[B' ed-next-history",
        "bind '\\e[C' ed-next-char",    "bind '\\e[D' ed-prev-char",
        "bind '\\e[H' ed-move-to-beg",  "bind '\\e[F' ed-move-to-end",
        "bind '\\e[3~' ed-delete-next-char",
    };
    for (size_t i = 0; i < ARRAY_LEN(binds); i++)
        rl_parse_and_bind(binds[i]);
    loop_fd_add(R->k.loop, STDIN_FILENO, LOOP_READ, on_repl_key, R);
    loop_signal(R->k.loop, SIGWINCH, on_winch, R);
}

static void repl_stop(struct wsrun *R)
{
    loop_fd_del(R->k.loop, STDIN_FILENO);
    if (R->open_line)
        fputs("\n", stderr);
    R->open_line = false;
    diag_set_hook(NULL, NULL);
    if (R->repl_active) {
        R->repl_active = false;
        rl_callback_handler_remove();
        fputs("\r\033[K", stdout);
        fflush(stdout);
    }
    if (R->history) {
        write_history(R->history);
        free(R->history);
    }
    repl_run = NULL;
}

/* ---- ws_command's hooks ---- */

static void on_open(void *ud)
{
    struct wsrun *R = ud;
    if (R->mode == MODE_REPL && !R->prompted) {
        if (R->open_line) { /* "* connected to URL (/help ...)" */
            fputs(diag_color ? " \033[2m" REPL_HINT "\033[0m\n" : " " REPL_HINT "\n", stderr);
            R->open_line = false;
        } else { /* --quiet */
            repl_say(R, "connected " REPL_HINT "\n");
        }
        repl_prompt(R);
    }
    for (size_t i = 0; i < R->w->non_open; i++)
        send_msg(R, R->w->on_open[i], strlen(R->w->on_open[i]));
    if (R->mode == MODE_SEND && !R->from_stdin && !R->sent_all) {
        for (int i = 0; i < R->nmsgs; i++) {
            R->lineno++;
            send_msg(R, R->msgs[i], strlen(R->msgs[i]));
        }
        R->sent_all = true;
        maybe_close(R);
    } else if (R->from_stdin && R->mode != MODE_REPL) {
        if (R->line.len || R->stdin_eof)
            on_stdin(R->k.loop, -1, R->stdin_eof ? LOOP_HUP : 0, R);
        watch_stdin(R, true);
    }
    emit(R);
}

/* The -n-th message: print it now, and close unless there is more to send. */
static void on_message(void *ud, ws_type_t type, const uint8_t *p, size_t n)
{
    (void)type;
    (void)p;
    (void)n;
    struct wsrun *R = ud;
    if (R->k.count && R->k.received == R->k.count) {
        emit(R);
        if (R->mode == MODE_LISTEN || R->sent_all)
            ws_command_close(&R->k, 1000, NULL);
    }
}

static void on_batch(void *ud)
{
    struct wsrun *R = ud;
    if (R->from_stdin && !R->stdin_eof && !R->stdin_watched && ws_client_is_open(R->k.c) &&
        ws_client_queued(R->k.c) < QUEUE_PAUSE / 2)
        watch_stdin(R, true);
}

static void on_interrupted(void *ud)
{
    struct wsrun *R = ud;
    if (R->mode != MODE_REPL || !R->repl_active)
        return;
    /* Like a shell's ^C: the line stays, what follows goes under it. */
    if (!R->in_line_cb) {
        repl_view_t v = repl_view(R);
        repl_screen_leave(stdout, &v, repl_screen_width(STDOUT_FILENO));
    }
    fflush(stdout);
    R->repl_active = false;
    rl_callback_handler_remove();
}

static void on_timeout(void *ud)
{
    struct wsrun *R = ud;
    if (R->k.count && R->k.received < R->k.count) {
        diag_error("--timeout reached after %llu of %llu messages",
                   (unsigned long long)R->k.received, (unsigned long long)R->k.count);
        R->k.forced_code = EXIT_TIMEOUT;
    } else {
        R->k.forced_code = EXIT_OK;
    }
    ws_command_close(&R->k, 1000, NULL);
}

/* ---- running ---- */

int ws_run(int mode_hint, const char *url, conn_opts_t *co, const ws_cli_opts_t *w, uint64_t count,
           uint64_t timeout_ms, char **msgs, int nmsgs)
{
    static const ws_command_ops_t ops = {
        .open = on_open,
        .message = on_message,
        .batch = on_batch,
        .emit = emit,
        .interrupted = on_interrupted,
        .timeout = on_timeout,
    };
    struct wsrun R = {.w = w};
    ws_command_init(&R.k, &ops, &R);
    R.k.count = count;
    R.mode = (enum mode)mode_hint;
    /* send prints replies only with -n: whatever else arrives before the
     * close completes depends on timing, and a script wants the same
     * output each time (--record still keeps it). */
    R.k.quiet_in = R.mode == MODE_SEND && count == 0;
    R.msgs = msgs;
    R.nmsgs = nmsgs;
    if (R.mode == MODE_PIPE && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
        R.mode = MODE_REPL;
    R.from_stdin = R.mode == MODE_PIPE || R.mode == MODE_REPL ||
                   (R.mode == MODE_SEND && nmsgs == 1 && strcmp(msgs[0], "-") == 0);
    static const char *const names[] = {"listen", "send", "ws", "ws"};
    /* A URL ws_client_start will refuse leaves no recording behind, and is
     * reported when the client starts. */
    if (ws_command_record(&R.k, co, names[R.mode], url, false) < 0)
        return EXIT_USAGE;
    buf_init(&R.line);
    loop_timer_init(&R.stdin_timer, on_stdin_timer, &R);
    out_format_t fmt = co->format;
    if (R.mode == MODE_REPL && !co->format_set)
        fmt = OUT_PRETTY;
    ws_command_open(&R.k, STDOUT_FILENO, fmt, co->color, timeout_ms);
    R.k.out.no_time = co->no_time;
    int fl = -1;
    if (R.from_stdin && R.mode != MODE_REPL) {
        fl = fcntl(STDIN_FILENO, F_GETFL);
        if (fl >= 0)
            fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
    }
    if (ws_command_start(&R.k, url, co, w) == 0) {
        if (R.mode == MODE_REPL)
            repl_start(&R);
        loop_run(R.k.loop);
        if (R.mode == MODE_REPL)
            repl_stop(&R);
    }
    watch_stdin(&R, false);
    if (fl >= 0)
        fcntl(STDIN_FILENO, F_SETFL, fl);
    buf_free(&R.line);
    return ws_command_end(&R.k, co);
}
